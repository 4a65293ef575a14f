/*
 * The logger of every binary: one line per message,
 * "2026-12-03T05:21:20Z referd-fcgi[1234] err: message", to standard
 * error (which a log_file may be), or to syslog (log_file = syslog) at
 * the line's priority, so that "journalctl -p err" finds the errors.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "rt.h"

#define LOG_LINE	2048	/* bytes of one line, the rest is cut */
#define LOG_PROG	32	/* bytes of the program name */

struct sev_def {
	const char	*name;		/* as in the line (syslog's names) */
	int		 pri;		/* syslog priority */
	char		 prefix[4];	/* sd-daemon prefix for journald */
};

static const struct sev_def sevs[LOG_SEV__MAX] = {
	[LOG_SEV_ERR] = { "err", LOG_ERR, "<3>" },
	[LOG_SEV_WARN] = { "warning", LOG_WARNING, "<4>" },
	[LOG_SEV_INFO] = { "info", LOG_INFO, "<6>" },
};
_Static_assert(sizeof(sevs) / sizeof(sevs[0]) == LOG_SEV__MAX, "severities");

static char	 prog[LOG_PROG] = "referd";
static int	 use_syslog;	/* log_file = syslog */
static int	 journal;	/* stderr is journald's stream */
static int	 term_fd = -1;	/* stderr as started, for log_fatal() */
static int	 log_elsewhere;	/* the log is not that stderr */
static char	 log_path[CONF_STR]; /* the log file stderr is, or "" */

/*
 * Formats one line (with its newline) into "buf": "t" in seconds since
 * the epoch, UTC.  The message is cut to fit.  Returns its length.
 */
size_t
log_format(char *buf, size_t sz, int64_t t, const char *name, long pid,
    enum log_sev sev, const char *msg)
{
	char		 ts[32];
	int		 n;

	if (sz == 0)
		return 0;
	if ((unsigned int)sev >= LOG_SEV__MAX)
		sev = LOG_SEV_ERR;
	if (clock_rfc3339(ts, sizeof(ts), t) == -1)
		snprintf(ts, sizeof(ts), "%lld", (long long)t);
	n = snprintf(buf, sz, "%s %s[%ld] %s: %s", ts, name, pid,
	    sevs[sev].name, msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sz - 1)
		n = (int)sz - 2 >= 0 ? (int)sz - 2 : 0;
	if (sz >= 2) {
		buf[n++] = '\n';
		buf[n] = '\0';
	} else
		buf[0] = '\0';
	return (size_t)n;
}

/* Writes all of "buf" to "fd", whatever the signals. */
static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		if ((w = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

/* Whether standard error is the stream $JOURNAL_STREAM names. */
static int
stderr_is_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/*
 * Names the program in every line (openlog's ident too) and keeps the
 * standard error it was started with, for log_fatal().  Call first.
 */
void
log_setup(const char *name)
{
	snprintf(prog, sizeof(prog), "%s", name);
	journal = stderr_is_journal();
	if (term_fd == -1)
		term_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

/*
 * Sends the log to "dest": "" standard error as it is, "syslog" the
 * system logger (LOG_DAEMON), else the file "dest", appended, which
 * becomes standard error (so that a daemon's stray output lands there
 * too).  Again on SIGHUP reopens the file.  Returns 0, or -1 with "err".
 */
int
log_to(const char *dest, char *err, size_t errsz)
{
	int	 fd;

	if (dest[0] == '\0') {
		log_elsewhere = 0;
		log_path[0] = '\0';
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		if (!use_syslog)
			openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = 1;
		log_elsewhere = 1;
		log_path[0] = '\0';
		return 0;
	}
	if ((fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		snprintf(err, errsz, "%s: %s", dest, strerror(errno));
		return -1;
	}
	if (fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	journal = 0;
	log_elsewhere = 1;
	if (dest != log_path)
		snprintf(log_path, sizeof(log_path), "%s", dest);
	return 0;
}

/*
 * SIGHUP: opens the log file again (rotated away, it is created anew).
 * Nothing to do for standard error or syslog.  Returns 0, or -1 with
 * "err" (the old file stays the log).
 */
int
log_reopen(char *err, size_t errsz)
{
	if (log_path[0] == '\0')
		return 0;
	return log_to(log_path, err, errsz);
}

/* The name of the program in the lines. */
const char *
log_prog(void)
{
	return prog;
}

/* Whether standard error is a log file of log_to(). */
int
log_is_file(void)
{
	return log_path[0] != '\0';
}

/* Where the log goes, for a message: "the system log", a file or NULL. */
const char *
log_where(void)
{
	if (use_syslog)
		return "the system log";
	return log_path[0] != '\0' ? log_path : NULL;
}

/* Whether lines go to syslog. */
int
log_is_syslog(void)
{
	return use_syslog;
}

/*
 * Forgets the standard error the program was started with (a daemon's
 * terminal): log_fatal() then writes to the log only.
 */
void
log_detach(void)
{
	if (term_fd != -1)
		close(term_fd);
	term_fd = -1;
	journal = stderr_is_journal();
}

/* Writes one message at "sev" where the log goes. */
void
log_vmsg(enum log_sev sev, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE], line[LOG_LINE + 128];
	size_t	 n, off = 0;
	int	 e = errno;

	if ((unsigned int)sev >= LOG_SEV__MAX)
		sev = LOG_SEV_ERR;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_syslog) {
		syslog(sevs[sev].pri, "%s", msg);
		errno = e;
		return;
	}
	if (journal) {
		memcpy(line, sevs[sev].prefix, 3);
		off = 3;
	}
	n = log_format(line + off, sizeof(line) - off, clock_now(),
	    prog, (long)getpid(), sev, msg);
	write_all(STDERR_FILENO, line, off + n);
	errno = e;
}

#define LOG_FN(fn, sev)							\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
									\
	va_start(ap, fmt);						\
	log_vmsg(sev, fmt, ap);						\
	va_end(ap);							\
}

LOG_FN(log_err, LOG_SEV_ERR)
LOG_FN(log_warn, LOG_SEV_WARN)
LOG_FN(log_info, LOG_SEV_INFO)

/*
 * A configuration error "err" found at start: with -t ("check") it goes
 * to the standard error and the status is 1 (SPEC 15); otherwise it is a
 * reason not to start (log_fatal) and the status is EX_CONFIG (78), which
 * the units' RestartPreventExitStatus= stops a restart loop on.
 */
int
log_config_error(int check, const char *err)
{
	if (check) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	log_fatal("%s", err);
	return EX_CONFIG;
}

/*
 * A reason not to start: an error in the log, and "prog: message" on the
 * standard error the program was started with if the log is elsewhere,
 * so that whoever started it sees why.
 */
void
log_fatal(const char *fmt, ...)
{
	char	 msg[LOG_LINE];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	if (log_elsewhere && term_fd != -1) {
		char	 line[LOG_LINE + LOG_PROG + 4];

		n = snprintf(line, sizeof(line), "%s: %s\n", prog, msg);
		if (n > 0)
			write_all(term_fd, line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1);
	}
}

/* fopencookie: each whole line written becomes a message. */
struct log_cookie {
	enum log_sev	 sev;
	char		 buf[LOG_LINE];
	size_t		 len;
};

static ssize_t
cookie_write(void *v, const char *data, size_t size)
{
	struct log_cookie	*c = v;
	size_t			 i;

	for (i = 0; i < size; i++) {
		if (data[i] == '\n' || c->len == sizeof(c->buf) - 1) {
			c->buf[c->len] = '\0';
			log_msg(c->sev, "%s", c->buf);
			c->len = 0;
			if (data[i] == '\n')
				continue;
		}
		c->buf[c->len++] = data[i];
	}
	return (ssize_t)size;
}

static int
cookie_close(void *v)
{
	free(v);
	return 0;
}

/*
 * A stream whose lines are messages at "sev" (for code that writes its
 * lines with stdio, such as the dispatcher's attempt lines, when they go
 * to syslog).  The caller fcloses it.  Returns NULL if out of memory.
 */
FILE *
log_stream(enum log_sev sev)
{
	static const cookie_io_functions_t io = {
		.read = NULL, .write = cookie_write, .seek = NULL,
		.close = cookie_close,
	};
	struct log_cookie	*c;
	FILE			*f;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sev = sev;
	if ((f = fopencookie(c, "w", io)) == NULL) {
		free(c);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* log_vmsg() with arguments. */
void
log_msg(enum log_sev sev, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(sev, fmt, ap);
	va_end(ap);
}
