/*
 * referd-console: the ops console.  Owns the terminal: it is restored on
 * "q", on SIGINT, SIGTERM and SIGHUP (a flag the main loop sees, then
 * endwin) and on a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
 * SIGQUIT: the handler writes the terminal's reset sequences and puts
 * back the termios saved at start, both async-signal-safe, then dies of
 * the same signal).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>
#include <term.h>

#include "console.h"

#define RESET_MAX	256	/* bytes of terminal reset sequences */

static volatile sig_atomic_t	 got_sig;	/* SIGINT, SIGTERM, SIGHUP */
static volatile sig_atomic_t	 curses_on;
static struct termios		 saved_tio;	/* before curses started */
static int			 saved_ok;
static char			 reset_seq[RESET_MAX];
static size_t			 reset_len;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-console -c FILE [-t] [-l LOG]\n"
	    "       referd-console --version | --help\n"
	    "The referd ops console: top referrers, fraud review, outbox and\n"
	    "audit log, live from the database in FILE.\n"
	    "  -c FILE  referd configuration file (console_refresh_ms sets\n"
	    "           the refresh interval)\n"
	    "  -l LOG   append database errors to LOG (default: discarded\n"
	    "           while the screen is up)\n"
	    "  -t       check the configuration and exit: 0, or 1 with\n"
	    "           FILE:LINE: message (a bad one exits 78 otherwise)\n"
	    "  --version  print the version\n"
	    "  -h       this help\n"
	    "Keys: Tab or 1-4 switch screens, ? shows every key, q quits.\n"
	    "Voids, approvals, flags and retries are audit-logged with the\n"
	    "login name of the user running it (its real uid; not $USER).\n");
}

/* Async-signal-safe: leaves the terminal as the shell had it. */
static void
tty_restore(void)
{
	ssize_t	 w;

	if (!curses_on)
		return;
	if (reset_len > 0)
		w = write(STDOUT_FILENO, reset_seq, reset_len);
	(void)w;
	if (saved_ok)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	curses_on = 0;
}

static void
on_stop(int sig)
{
	got_sig = sig;
}

static void
on_crash(int sig)
{
	int	 e = errno;

	tty_restore();
	errno = e;
	/* SA_RESETHAND put back the default action: die of it. */
	raise(sig);
}

static int
signals_init(void)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	static const int crashes[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
	    SIGABRT, SIGQUIT };
	struct sigaction sa;
	size_t		 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	/* A query in progress finishes; the loop sees the flag within
	 * CON_INPUT_MS, as get_wch's wait is never restarted. */
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (sigaction(stops[i], &sa, NULL) == -1)
			return -1;
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++)
		if (sigaction(crashes[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

/* Appends terminfo capability "cap" to the crash reset sequence. */
static void
reset_add(const char *cap)
{
	char	*s = tigetstr(cap);
	size_t	 n;

	if (s == NULL || s == (char *)-1)
		return;
	n = strlen(s);
	if (reset_len + n < sizeof(reset_seq)) {
		memcpy(reset_seq + reset_len, s, n);
		reset_len += n;
	}
}

static void
curses_end(void)
{
	if (curses_on) {
		endwin();
		curses_on = 0;
	}
}

static int
curses_start(struct con *c)
{
	if (tcgetattr(STDIN_FILENO, &saved_tio) == 0)
		saved_ok = 1;
	if (newterm(NULL, stdout, stdin) == NULL)
		return -1;
	curses_on = 1;
	/* What the crash handler writes: attributes, cursor, keypad, screen. */
	reset_add("sgr0");
	reset_add("cnorm");
	reset_add("rmkx");
	reset_add("rmcup");
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	set_escdelay(CON_ESCDELAY);
	leaveok(stdscr, FALSE);
	draw_init(c);
	return 0;
}

/*
 * The operator's name for the audit log: the login name of the real uid
 * (never $USER or $LOGNAME, which whoever runs it sets as they like), or
 * "uid:N" if the uid has no passwd entry.
 */
static void
operator_name(char *buf, size_t sz)
{
	uid_t		 uid = getuid();
	struct passwd	*pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		snprintf(buf, sz, "%s", pw->pw_name);
	else
		snprintf(buf, sz, "uid:%lu", (unsigned long)uid);
}

static int
alloc_rows(struct con *c)
{
	size_t	 i;

	c->referrers = calloc(CON_MAX_ROWS, sizeof(*c->referrers));
	c->referrals = calloc(CON_MAX_ROWS, sizeof(*c->referrals));
	c->fraud = calloc(CON_MAX_ROWS, sizeof(*c->fraud));
	c->dead = calloc(CON_MAX_ROWS, sizeof(*c->dead));
	c->audit = calloc(CON_MAX_ROWS, sizeof(*c->audit));
	if (c->referrers == NULL || c->referrals == NULL || c->fraud == NULL ||
	    c->dead == NULL || c->audit == NULL)
		return -1;
	for (i = 0; i < SCR__MAX; i++)
		if ((c->lists[i].vis = calloc(CON_MAX_ROWS,
		    sizeof(size_t))) == NULL)
			return -1;
	return 0;
}

static void
free_rows(struct con *c)
{
	size_t	 i;

	free(c->referrers);
	free(c->referrals);
	free(c->fraud);
	free(c->dead);
	free(c->audit);
	for (i = 0; i < SCR__MAX; i++)
		free(c->lists[i].vis);
}

/* Reads keys and reloads every console_refresh_ms until "q" or a signal. */
static void
run(struct con *c)
{
	long	 every = c->conf->console_refresh_ms;

	c->next_load_ms = 0;
	c->dirty = 1;
	while (!c->quit && !got_sig) {
		int64_t	 now = clock_mono_ms(), wait;
		wint_t	 wc;
		int	 r;

		if (now >= c->next_load_ms) {
			screen_load(c);
			c->next_load_ms = clock_mono_ms() + every;
		}
		if (c->msg[0] != '\0' &&
		    clock_now() - c->msg_at >= CON_MSG_SECONDS) {
			c->msg[0] = '\0';
			c->dirty = 1;
		}
		if (c->dirty)
			draw_frame(c);
		wait = c->next_load_ms - clock_mono_ms();
		if (wait > CON_INPUT_MS)
			wait = CON_INPUT_MS;
		if (wait < 0)
			wait = 0;
		timeout((int)wait);
		if ((r = get_wch(&wc)) == ERR)
			continue;
		if (r == KEY_CODE_YES && wc == KEY_RESIZE) {
			c->dirty = 1;
			continue;
		}
		cmd_key(c, r == KEY_CODE_YES ? (int)wc | CON_FKEY : (int)wc);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct conf	 conf;
	struct con	 c;
	const char	*cfile = NULL, *logfile = NULL;
	char		 err[512];
	int		 ch, rc = 1, errfd = -1, fd, check = 0;

	setlocale(LC_ALL, "");
	log_setup("referd-console");
	while ((ch = getopt_long(argc, argv, "c:hl:t", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'l':
			logfile = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("referd-console %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	if (conf_load_role(&conf, cfile, CONF_ROLE_CONSOLE, err,
	    sizeof(err)) == -1) {
		if (check) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		fprintf(stderr, "referd-console: %s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		printf("referd-console: %s: configuration ok\n", cfile);
		return 0;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "referd-console: needs a terminal\n");
		return 1;
	}
	c.conf = &conf;
	operator_name(c.operator, sizeof(c.operator));
	if (alloc_rows(&c) == -1 || (c.db = db_new(&conf, 0)) == NULL) {
		fprintf(stderr, "referd-console: out of memory\n");
		goto out;
	}
	/* The data layer logs to stderr, which would scribble on the screen. */
	fd = logfile != NULL ? open(logfile, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600) : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "referd-console: %s: %s\n", logfile != NULL ?
		    logfile : "/dev/null", strerror(errno));
		goto out;
	}
	errfd = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (signals_init() == -1 || curses_start(&c) == -1) {
		dup2(errfd, STDERR_FILENO);
		fprintf(stderr, "referd-console: cannot start the terminal\n");
		goto out;
	}
	atexit(curses_end);
	run(&c);
	curses_end();
	rc = got_sig ? 128 + got_sig : 0;
out:
	if (errfd != -1) {
		dup2(errfd, STDERR_FILENO);
		close(errfd);
	}
	db_free(c.db);
	free_rows(&c);
	return rc;
}
