/*
 * bench/floor: the landing page's floor for bench/run.
 *
 * A bare libfcgi program: "workers" processes (from the referd config)
 * share one unix socket and answer every request, in an FCGX_Accept_r
 * loop, with the 302 referd-fcgi gives a valid code: the same headers
 * (Location with ref=CODE, the attribution cookie, a request id, ...) and
 * nothing else: no routing, no code lookup, no click count, no log line,
 * no metrics.  Whatever referd-fcgi spends beyond this, per landing, is
 * its own overhead; the FastCGI protocol and nginx are common to both.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "sql.h"

#define FLOOR_MAX_WORKERS	64
#define FLOOR_BACKLOG		1024

static volatile sig_atomic_t	 stop;

static void
onterm(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: floor -c FILE -s SOCKET [-n WORKERS] [-p PIDFILE]\n"
	    "The landing-page floor of bench/run: WORKERS (default: the\n"
	    "\"workers\" of FILE) libfcgi processes on the unix socket SOCKET\n"
	    "answering every request with the 302 and Set-Cookie referd-fcgi\n"
	    "sends for a valid code, and doing nothing else.  Runs in the\n"
	    "foreground; TERM stops it and its workers.\n");
}

/* One worker: accept, answer, repeat.  Never returns. */
static void
worker(int fd, const struct conf *c)
{
	FCGX_Request	 r;
	char		 head[2048], code[CODE_LEN + 1];
	unsigned long	 seq = 0;
	const char	*uri, *p;
	size_t		 n;
	int		 hn;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, fd, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&r) >= 0) {
		/* The code is the path's last segment, as referd echoes it. */
		uri = FCGX_GetParam("REQUEST_URI", r.envp);
		p = uri != NULL ? strrchr(uri, '/') : NULL;
		p = p != NULL ? p + 1 : "";
		n = strcspn(p, "?#");
		if (n > CODE_LEN)
			n = CODE_LEN;
		memcpy(code, p, n);
		code[n] = '\0';
		hn = snprintf(head, sizeof(head),
		    "Status: 302 Found\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: 0\r\n"
		    "X-Request-Id: f100f100f100f100%08lx\r\n"
		    "Cache-Control: no-store\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "Location: %s?ref=%s\r\n"
		    "Set-Cookie: %s=%s; Max-Age=%ld; Path=/; HttpOnly; "
		    "Secure; SameSite=Lax\r\n\r\n",
		    seq++ & 0xffffffffUL, c->landing_url, code, c->cookie_name,
		    code, c->attribution_window_days * 86400L);
		if (hn > 0 && (size_t)hn < sizeof(head))
			FCGX_PutStr(head, hn, r.out);
		FCGX_Finish_r(&r);
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	static struct conf	 c;
	struct sigaction	 sa;
	const char		*cfile = NULL, *sock = NULL, *pidfile = NULL;
	char			 err[256];
	pid_t			 pids[FLOOR_MAX_WORKERS];
	long			 nw = 0;
	int			 fd, ch, i, rc = 1;
	FILE			*f;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:s:n:p:h")) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'n':
			nw = strtol(optarg, NULL, 10);
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfile == NULL || sock == NULL) {
		usage(stderr);
		return 2;
	}
	if (conf_load(&c, cfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "floor: %s\n", err);
		return 1;
	}
	if (nw == 0)
		nw = c.workers;
	if (nw < 1 || nw > FLOOR_MAX_WORKERS) {
		fprintf(stderr, "floor: workers: 1 to %d\n", FLOOR_MAX_WORKERS);
		return 2;
	}
	unlink(sock);
	if (FCGX_Init() != 0 || (fd = FCGX_OpenSocket(sock, FLOOR_BACKLOG)) < 0) {
		fprintf(stderr, "floor: cannot listen on %s\n", sock);
		return 1;
	}
	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL) {
			fprintf(stderr, "floor: %s: %s\n", pidfile,
			    strerror(errno));
			goto out;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = onterm;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < nw; i++) {
		if ((pids[i] = fork()) == -1) {
			fprintf(stderr, "floor: fork: %s\n", strerror(errno));
			nw = i;
			goto out;
		}
		if (pids[i] == 0)
			worker(fd, &c);
	}
	rc = 0;
	while (!stop)
		pause();
out:
	for (i = 0; i < nw; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	unlink(sock);
	if (pidfile != NULL)
		unlink(pidfile);
	return rc;
}
