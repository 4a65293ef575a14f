/*
 * referd-fcgi: the supervisor.  It reads the configuration, checks the
 * database once, opens the FastCGI socket (or takes the inherited one on
 * standard input), maps the shared counters and forks "workers" workers,
 * which it starts again when one dies.  SIGTERM lets the workers finish
 * what they hold and exits; SIGHUP re-reads the configuration and
 * replaces the workers: new ones are started on the same socket before
 * the old ones are told to finish, so no request is dropped.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "fcgi.h"

#define PROG	"referd-fcgi"

struct worker {
	pid_t		 pid;		/* 0: none */
	int64_t		 started_ms;
	int64_t		 respawn_ms;	/* when an empty slot may refill */
};

static struct conf	 conf;
static const char	*cfile;
static char		**domains;
static size_t		 ndomains;
static struct worker	 cur[MAX_SLOTS / 2];	/* the current workers */
static pid_t		 old[MAX_SLOTS / 2];	/* replaced, finishing */
static int		 listen_fd = -1;
static char		 sock_path[CONF_STR];	/* ours to unlink, or "" */
static struct metrics	*metrics;
static struct pidfile	 pidf = { -1, "" };
static int		 stopping;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-fcgi -c FILE [-f] [-t]\n"
	    "       referd-fcgi --version | --help\n"
	    "The referd FastCGI application: a supervisor and its workers.\n"
	    "  -c FILE  referd configuration file\n"
	    "  -f       stay in the foreground (systemd, spawn-fcgi, "
	    "mod_fcgid)\n"
	    "  -t       check the configuration and the database, then exit\n"
	    "           0, or 1 with FILE:LINE: message\n"
	    "  --version  print the version\n"
	    "A bad configuration exits 78 (EX_CONFIG).  Started as root it\n"
	    "drops to \"user\" once the socket is bound, or refuses to run.\n"
	    "It listens on the unix socket named by \"listen\", or on the\n"
	    "FastCGI socket inherited as standard input if \"listen\" is "
	    "empty.\n"
	    "Signals: TERM finishes requests and exits, HUP reloads FILE.\n");
}

/* Checks what the FastCGI program needs of a parsed configuration. */
static int
conf_check_fcgi(const struct conf *c, char *err, size_t errsz)
{
	if (!cookie_name_valid(c->cookie_name)) {
		snprintf(err, errsz, "cookie_name: not a cookie name");
		return -1;
	}
	if (!header_value_safe(c->landing_url)) {
		snprintf(err, errsz, "landing_url: spaces or control "
		    "characters");
		return -1;
	}
	if (!header_value_safe(c->base_url)) {
		snprintf(err, errsz, "base_url: spaces or control characters");
		return -1;
	}
	return 0;
}

/*
 * Creates the unix socket "listen": a stale socket file is replaced, a
 * live one (someone accepts on it) is an error.  The file gets
 * socket_mode and socket_owner/socket_group.  Returns the fd or -1.
 */
static int
listen_unix(const struct conf *c, char *err, size_t errsz)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	mode_t			 um;
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;
	int			 fd = -1, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->listen) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "listen: path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, c->listen, strlen(c->listen));
	if (c->socket_owner[0] != '\0') {
		struct passwd *pw = getpwnam(c->socket_owner);

		if (pw == NULL) {
			snprintf(err, errsz, "socket_owner: no user %s",
			    c->socket_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (c->socket_group[0] != '\0') {
		struct group *gr = getgrnam(c->socket_group);

		if (gr == NULL) {
			snprintf(err, errsz, "socket_group: no group %s",
			    c->socket_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (lstat(c->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "%s: exists and is not a socket",
			    c->listen);
			return -1;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM, 0)) != -1) {
			int live = connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0;

			close(probe);
			if (live) {
				snprintf(err, errsz, "%s: in use by another "
				    "process", c->listen);
				return -1;
			}
		}
		unlink(c->listen);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect before the mode and owner are right. */
	um = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(um);
		snprintf(err, errsz, "%s: %s", c->listen, strerror(errno));
		close(fd);
		return -1;
	}
	umask(um);
	snprintf(sock_path, sizeof(sock_path), "%s", c->listen);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(c->listen, uid, gid) == -1) {
		snprintf(err, errsz, "chown %s: %s", c->listen,
		    strerror(errno));
		goto fail;
	}
	if (chmod(c->listen, (mode_t)c->socket_mode) == -1) {
		snprintf(err, errsz, "chmod %s: %s", c->listen,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, FCGI_BACKLOG) == -1) {
		snprintf(err, errsz, "listen: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(sock_path);
	sock_path[0] = '\0';
	return -1;
}

/* The FastCGI socket a web server passed as standard input. */
static int
listen_inherited(char *err, size_t errsz)
{
	struct stat	 st;
	int		 on = 0;
	socklen_t	 len = sizeof(on);

	if (fstat(STDIN_FILENO, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &on,
	    &len) == -1 || !on) {
		snprintf(err, errsz, "listen is empty and standard input is "
		    "not a listening socket (start it from spawn-fcgi or "
		    "mod_fcgid, or set listen)");
		return -1;
	}
	return STDIN_FILENO;
}

static void
spawn(struct worker *w)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_err("supervisor: fork: %s", strerror(errno));
		w->respawn_ms = clock_mono_ms() + RESPAWN_DELAY_MS;
		return;
	}
	if (pid == 0) {
		pidfile_forget(&pidf);	/* the supervisor's lock */
		worker_main(&conf, listen_fd, metrics,
		    (char *const *)domains, ndomains);
	}
	w->pid = pid;
	w->started_ms = clock_mono_ms();
	w->respawn_ms = 0;
}

/* Starts the workers missing from the current set. */
static void
fill(void)
{
	int64_t	 now = clock_mono_ms();
	long	 i;

	for (i = 0; i < conf.workers; i++)
		if (cur[i].pid == 0 && cur[i].respawn_ms <= now)
			spawn(&cur[i]);
}

/* Collects dead workers; a current one is started again (logged). */
static void
reap(void)
{
	pid_t	 pid;
	int	 status;
	size_t	 i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
			if (old[i] == pid) {
				old[i] = 0;
				break;
			}
		if (i < sizeof(old) / sizeof(old[0]))
			continue;
		for (i = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
			if (cur[i].pid == pid)
				break;
		if (i == sizeof(cur) / sizeof(cur[0]))
			continue;
		cur[i].pid = 0;
		if (stopping)
			continue;
		if (WIFSIGNALED(status))
			log_err("supervisor: worker %ld killed by signal %d "
			    "(%s); starting another", (long)pid,
			    WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			log_err("supervisor: worker %ld exited with status %d; "
			    "starting another", (long)pid,
			    WEXITSTATUS(status));
		metrics_worker_exit(metrics);
		/* One that dies at once would otherwise spin. */
		cur[i].respawn_ms = clock_mono_ms() +
		    (clock_mono_ms() - cur[i].started_ms < 1000 ?
		    RESPAWN_DELAY_MS : 0);
	}
}

/*
 * SIGHUP: re-reads the configuration; if it is good, starts a new set of
 * workers with it and tells the old ones to finish.  A bad file changes
 * nothing.  "listen" and "metrics_dir" need a restart.
 */
static void
reload(void)
{
	struct conf	 nc;
	char		 err[512], **nd;
	size_t		 nn, i, k;

	if (conf_load_role(&nc, cfile, CONF_ROLE_FCGI, err,
	    sizeof(err)) == -1 || conf_check_fcgi(&nc, err, sizeof(err)) == -1) {
		log_err("supervisor: reload: %s; keeping the running "
		    "configuration", err);
		return;
	}
	if ((nd = domains_load(nc.disposable_domains_file, &nn, err,
	    sizeof(err))) == NULL) {
		log_err("supervisor: reload: %s; keeping the running "
		    "configuration", err);
		return;
	}
	if (strcmp(nc.listen, conf.listen) != 0 ||
	    strcmp(nc.metrics_dir, conf.metrics_dir) != 0 ||
	    strcmp(nc.user, conf.user) != 0) {
		log_warn("supervisor: reload: listen, metrics_dir and user "
		    "change only with a restart");
		memcpy(nc.listen, conf.listen, sizeof(nc.listen));
		memcpy(nc.metrics_dir, conf.metrics_dir,
		    sizeof(nc.metrics_dir));
		memcpy(nc.user, conf.user, sizeof(nc.user));
	}
	domains_free(domains, ndomains);
	domains = nd;
	ndomains = nn;
	conf = nc;
	if (log_to(conf.log_file, err, sizeof(err)) == -1)
		log_err("supervisor: reload: log_file: %s", err);
	/* The old set goes on serving until the new one is up. */
	for (i = 0, k = 0; i < sizeof(cur) / sizeof(cur[0]); i++) {
		if (cur[i].pid == 0)
			continue;
		while (k < sizeof(old) / sizeof(old[0]) && old[k] != 0)
			k++;
		if (k < sizeof(old) / sizeof(old[0]))
			old[k] = cur[i].pid;
		cur[i].pid = 0;
		cur[i].respawn_ms = 0;
	}
	fill();
	for (k = 0; k < sizeof(old) / sizeof(old[0]); k++)
		if (old[k] != 0)
			kill(old[k], SIGTERM);
	log_info("supervisor: configuration reloaded, %ld workers",
	    conf.workers);
}

/* SIGTERM: every worker finishes its request; stragglers are killed. */
static void
shutdown_all(sigset_t *set)
{
	struct timespec	 ts = { 0, 100 * 1000000L };
	int64_t		 deadline = clock_mono_ms() + DRAIN_TIMEOUT * 1000;
	size_t		 i, left;

	stopping = 1;
	for (i = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
		if (cur[i].pid != 0)
			kill(cur[i].pid, SIGTERM);
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		if (old[i] != 0)
			kill(old[i], SIGTERM);
	for (;;) {
		reap();
		for (i = 0, left = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
			left += cur[i].pid != 0;
		for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
			left += old[i] != 0;
		if (left == 0)
			break;
		if (clock_mono_ms() > deadline) {
			log_warn("supervisor: %zu workers still busy after %d s; "
			    "killing them", left, DRAIN_TIMEOUT);
			for (i = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
				if (cur[i].pid != 0)
					kill(cur[i].pid, SIGKILL);
			for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
				if (old[i] != 0)
					kill(old[i], SIGKILL);
			deadline = clock_mono_ms() + 5000;
		}
		(void)sigtimedwait(set, NULL, &ts);
	}
}

/*
 * The configuration for -t and for a start: parsed and checked for this
 * binary, its domain list read.  Returns 0, or -1 with "err".
 */
static int
load(char *err, size_t errsz)
{
	char	 msg[512];

	if (conf_load_role(&conf, cfile, CONF_ROLE_FCGI, err, errsz) == -1)
		return -1;
	if (conf_check_fcgi(&conf, msg, sizeof(msg)) == -1) {
		snprintf(err, errsz, "%s: %s", cfile, msg);
		return -1;
	}
	if ((domains = domains_load(conf.disposable_domains_file, &ndomains,
	    msg, sizeof(msg))) == NULL) {
		snprintf(err, errsz, "%s: disposable_domains_file: %s", cfile,
		    msg);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	struct proc_user pu;
	struct db	*db;
	sigset_t	 set;
	char		 err[1024];
	int		 c, fg = 0, check = 0, ready = -1, rc = 1;

	log_setup(PROG);
	while ((c = getopt_long(argc, argv, "c:fht", longopts, NULL)) != -1)
		switch (c) {
		case 'c': cfile = optarg; break;
		case 'f': fg = 1; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf(PROG " %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!check && proc_no_dumps(err, sizeof(err)) == -1) {
		log_fatal("%s", err);
		return 1;
	}
	if (load(err, sizeof(err)) == -1)
		return log_config_error(check, err);
	if (!check && proc_priv_plan(conf.user, &pu, err, sizeof(err)) == -1) {
		log_fatal("%s: %s", cfile, err);
		return EX_CONFIG;
	}
	if (!check && log_to(conf.log_file, err, sizeof(err)) == -1) {
		log_fatal("log_file: %s", err);
		return EX_CONFIG;
	}
	if ((db = db_new(&conf, 0)) == NULL || db_connect(db) == -1) {
		if (check)
			fprintf(stderr, "%s: database unreachable: %s\n", cfile,
			    db != NULL ? db->errmsg : "out of memory");
		else
			log_fatal("database unreachable: %s",
			    db != NULL ? db->errmsg : "out of memory");
		db_free(db);
		return 1;
	}
	/* Every statement of this build against the schema. */
	if (db_prepare_all(db) == -1) {
		if (check)
			fprintf(stderr, "%s: the database schema does not fit "
			    "this build (run referd-migrate): %s\n", cfile,
			    db->errmsg);
		else
			log_fatal("the database schema does not fit this build "
			    "(run referd-migrate): %s", db->errmsg);
		db_free(db);
		return 1;
	}
	db_free(db);
	if (check) {
		printf(PROG ": %s: configuration and database ok\n", cfile);
		return 0;
	}

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);

	listen_fd = conf.listen[0] != '\0' ?
	    listen_unix(&conf, err, sizeof(err)) :
	    listen_inherited(err, sizeof(err));
	if (listen_fd == -1) {
		log_fatal("%s", err);
		return 1;
	}
	if (pidfile_take(&pidf, conf.pid_file, err, sizeof(err)) == -1) {
		log_fatal("pid_file: %s", err);
		goto out;
	}
	/* Every worker polls it; the loser of a race gets EAGAIN. */
	if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) |
	    O_NONBLOCK) == -1) {
		log_fatal("fcntl: %s", strerror(errno));
		goto out;
	}
	if ((metrics = metrics_open(conf.metrics_dir, err, sizeof(err))) ==
	    NULL) {
		log_fatal("metrics_dir: %s", err);
		goto out;
	}
	if (!fg)
		ready = daemon_start(conf.listen[0] == '\0');
	if (pidfile_write(&pidf, err, sizeof(err)) == -1) {
		log_err("pid_file: %s", err);
		goto out;
	}
	/* Bound, logging, pid written: root is no longer needed. */
	if (proc_priv_drop(&pu, err, sizeof(err)) == -1) {
		log_err("%s", err);
		goto out;
	}
	log_info("supervisor: started, %ld workers on %s%s%s", conf.workers,
	    conf.listen[0] != '\0' ? conf.listen : "the inherited socket",
	    pu.drop ? " as " : "", pu.drop ? pu.name : "");
	/* Ready: the socket listens, and workers must not hold the pipe. */
	daemon_ready(ready);
	fill();
	for (;;) {
		struct timespec	 ts = { 0, 250 * 1000000L };
		int		 sig;

		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			reload();
		reap();
		fill();
	}
	log_info("supervisor: stopping");
	shutdown_all(&set);
	pidfile_release(&pidf);
	log_info("supervisor: stopped");
	rc = 0;
out:
	pidfile_release(&pidf);
	if (sock_path[0] != '\0')
		unlink(sock_path);
	metrics_close(metrics);
	domains_free(domains, ndomains);
	return rc;
}
