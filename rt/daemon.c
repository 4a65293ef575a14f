/*
 * Running as a daemon, the same way in referd-fcgi and referd-dispatch:
 * a pid file locked for as long as the daemon runs, so that a second
 * one with the same file refuses to start and names the first, and a
 * fork that reports back, so that whoever started the daemon learns
 * whether it came up.  (The log is reopened on SIGHUP by log_reopen().)
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

/*
 * Takes the pid file "path" ("" for none): created if need be and locked
 * (flock) while we run, by us and by our children until they exit or
 * pidfile_forget().  Returns 0, or -1 with "err": the file cannot be
 * opened, or another process holds it ("already running (pid N, path)").
 */
int
pidfile_take(struct pidfile *pf, const char *path, char *err, size_t errsz)
{
	char	 buf[32];
	ssize_t	 r;

	pf->fd = -1;
	snprintf(pf->path, sizeof(pf->path), "%s", path);
	if (path[0] == '\0')
		return 0;
	if ((pf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK) {
			r = read(pf->fd, buf, sizeof(buf) - 1);
			buf[r > 0 ? r : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(err, errsz, "already running (pid %s, %s)",
			    buf[0] != '\0' ? buf : "unknown", path);
		} else
			snprintf(err, errsz, "%s: flock: %s", path,
			    strerror(errno));
		close(pf->fd);
		pf->fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Writes our pid into the pid file we hold (after daemon_start(): the
 * daemon's pid).  Returns 0, or -1 with "err".
 */
int
pidfile_write(struct pidfile *pf, char *err, size_t errsz)
{
	char	 buf[32];
	int	 n;

	if (pf->fd == -1)
		return 0;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pf->fd, 0) == -1 ||
	    pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errsz, "%s: %s", pf->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* In a child that is not the daemon (a worker): lets go of the lock. */
void
pidfile_forget(struct pidfile *pf)
{
	if (pf->fd != -1)
		close(pf->fd);
	pf->fd = -1;
}

/* At exit: removes the pid file we hold and lets go of it. */
void
pidfile_release(struct pidfile *pf)
{
	if (pf->fd == -1)
		return;
	unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}

/*
 * Goes to the background: a new session in "/", standard input (unless
 * "keep_stdin": an inherited socket) and output on /dev/null, and
 * standard error too unless it is the log file (log_to()).  The parent
 * waits until the daemon calls daemon_ready() and exits 0, or exits 1
 * saying where to look if the daemon exits first.  Returns, in the
 * daemon, the descriptor to give daemon_ready(); the parent never
 * returns (nor does anyone if fork fails: exit 1).
 */
int
daemon_start(int keep_stdin)
{
	const char	*where;
	int		 p[2], fd;
	pid_t		 pid;
	ssize_t		 n;
	char		 c;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fprintf(stderr, "%s: fork: %s\n", log_prog(), strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == 1 && c == 'R')
			_exit(0);
		where = log_where();
		fprintf(stderr, "%s: failed to start%s%s\n", log_prog(),
		    where != NULL ? ", see " : "", where != NULL ? where : "");
		_exit(1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") == -1)
		(void)0;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		if (!keep_stdin)
			dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (!log_is_file())
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_detach();
	return p[1];
}

/* Tells the parent of daemon_start() that we are serving ("fd" -1: none). */
void
daemon_ready(int fd)
{
	if (fd == -1)
		return;
	(void)write(fd, "R", 1);
	close(fd);
}
