/*
 * referd-dispatch's main: options, the daemon, the attempt log and the
 * event loop that drives the engine (engine.c), the reward worker
 * (reward.c) and the metrics file (metrics.c).  It drains the outbox
 * (SPEC.md section 6) and runs the reward worker (section 5).
 *
 * One process, one thread, one event loop: claim due rows with a lease
 * (db_outbox_claim), POST each with libcurl multi (up to
 * dispatch_concurrency in flight over kept-alive connections), classify
 * the answer (policy.c), and record the outcomes of every transfer that
 * finished in one loop turn with one commit (db_outbox_settle).  A row is
 * leased for longer than a transfer can last, so no lease renewal is
 * needed; a killed dispatcher's rows come back when their lease expires
 * and are sent again with the same Idempotency-Key.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"

static volatile sig_atomic_t	 stop_requests;
static volatile sig_atomic_t	 reopen_log;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-dispatch -c FILE [-f] [-t] [--once]\n"
	    "       referd-dispatch --version | --help\n"
	    "Delivers the outbox: POSTs reward messages to the reward_url_*\n"
	    "of the configuration, retries with backoff, dead-letters, and\n"
	    "rewards converted referrals whose hold period is over.\n"
	    "  -c FILE   referd configuration file (required)\n"
	    "  -f        stay in the foreground (default: daemon, pid in\n"
	    "            dispatch_pid_file, errors in dispatch_log_file)\n"
	    "  --once    deliver what is due now, then exit (cron, tests);\n"
	    "            exits 1 if the database could not be reached\n"
	    "  -t        check the configuration and exit: 0, or 1 with\n"
	    "            FILE:LINE: message\n"
	    "  --version   print the version\n"
	    "  -h, --help  this text\n"
	    "A bad configuration exits 78 (EX_CONFIG).  Started as root it\n"
	    "drops to \"user\" once its log and pid file are open, or\n"
	    "refuses to run.  dispatch_log_file = syslog logs to syslog.\n"
	    "Signals: TERM or INT finishes the transfers in flight (at most\n"
	    "dispatch_timeout_ms), gives back unfinished rows and exits 0;\n"
	    "a second one gives back at once.  HUP reopens the log file.\n"
	    "Metrics: <metrics_dir>/" METRICS_FILE " (Prometheus text),\n"
	    "rewritten every second.\n");
}

static void
on_stop(int sig)
{
	(void)sig;
	stop_requests++;
}

static void
on_hup(int sig)
{
	(void)sig;
	reopen_log = 1;
}

/*
 * Writes one line of the attempt log: UTC time with milliseconds, then
 * the message.  (Lines reach the file at the next fflush.)
 */
void
dispatch_note(struct dispatcher *d, const char *fmt, ...)
{
	char	 ts[40];
	va_list	 ap;

	clock_rfc3339_ms(ts, sizeof(ts), clock_wall_ms());
	fprintf(d->log, "%s ", ts);
	va_start(ap, fmt);
	vfprintf(d->log, fmt, ap);
	va_end(ap);
	fputc('\n', d->log);
}

/*
 * Opens the attempt log (dispatch_log_file, appended; stderr if unset).
 * Returns 0, or -1 with a message on stderr.
 */
static int
log_open(struct dispatcher *d)
{
	FILE	*f;
	int	 fd;

	if (d->logpath[0] == '\0') {
		d->log = stderr;
		return 0;
	}
	if (strcmp(d->logpath, "syslog") == 0) {
		if (d->log != NULL && d->log != stderr)
			return 0;	/* a SIGHUP: nothing to reopen */
		if (log_to("syslog", NULL, 0) == -1 ||
		    (d->log = log_stream(LOG_SEV_INFO)) == NULL) {
			d->log = stderr;
			log_fatal("syslog: out of memory");
			return -1;
		}
		return 0;
	}
	if ((fd = open(d->logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1 || (f = fdopen(fd, "a")) == NULL) {
		fprintf(stderr, "referd-dispatch: %s: %s\n", d->logpath,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (d->log != NULL && d->log != stderr)
		fclose(d->log);
	d->log = f;
	return 0;
}

/*
 * The event loop.  Returns 0, or 1 if "once" and the database could not
 * be reached.
 */
static int
run(struct dispatcher *d, int once)
{
	const struct conf *c = d->conf;
	size_t		 threshold = d->nslots / 4 > 0 ? d->nslots / 4 : 1;
	int64_t		 now, deadline = 0, wait;
	int		 stopping = 0, rewarded = 0;
	size_t		 ndone;
	char		 err[512];

	while (1) {
		now = clock_mono_ms();
		if (reopen_log) {
			reopen_log = 0;
			if (log_open(d) == 0 && d->daemon &&
			    log_reopen(err, sizeof(err)) == -1)
				log_err("SIGHUP: %s", err);
		}
		if (stop_requests > 0 && !stopping) {
			stopping = 1;
			deadline = now + c->dispatch_timeout_ms + 1000;
			dispatch_note(d, "stopping: %zu in flight",
			    d->nsending);
		}
		if (stopping && (stop_requests > 1 || now >= deadline))
			engine_abandon(d);
		if (stopping && d->nfree == d->nslots)
			break;
		if (!stopping && now >= d->next_reward && (!once ||
		    !rewarded)) {
			reward_worker(d);
			rewarded = 1;
		}
		if (!stopping && now >= d->next_claim && (d->nfree >=
		    threshold || d->nfree == d->nslots))
			engine_claim(d);
		engine_poll(d);
		/*
		 * Outcomes are saved in batches (one commit each): when a
		 * quarter of the slots wait, nothing else is in flight, or
		 * the oldest has waited SETTLE_WAIT ms.
		 */
		now = clock_mono_ms();
		ndone = d->nslots - d->nfree - d->nsending;
		if (ndone > 0 && now >= d->next_settle && (ndone >= threshold ||
		    d->nsending == 0 || stopping ||
		    now - d->first_done >= SETTLE_WAIT)) {
			fflush(d->log);	/* a delivered row is in the log */
			engine_settle(d);
		}
		now = clock_mono_ms();
		if (now >= d->next_metrics)
			metrics_write(d);
		fflush(d->log);
		if (once && ((d->nfree == d->nslots && d->drained) ||
		    (!d->db_ok && d->nsending == 0)))
			break;

		/* Sleep until a socket is ready or something is due. */
		wait = MAX_WAIT;
		if (!stopping && (d->nfree >= threshold ||
		    d->nfree == d->nslots) && d->next_claim - now < wait)
			wait = d->next_claim - now;
		if (!stopping && d->next_reward - now < wait)
			wait = d->next_reward - now;
		if (d->next_metrics - now < wait)
			wait = d->next_metrics - now;
		ndone = d->nslots - d->nfree - d->nsending;
		if (ndone > 0) {
			int64_t	 at = d->first_done + SETTLE_WAIT;

			if (d->next_settle > at)
				at = d->next_settle;
			if (at - now < wait)
				wait = at - now;
		}
		if (stopping && wait > 100)
			wait = 100;
		if (wait < 0)
			wait = 0;
		if (d->nsending > 0 || wait > 0)
			curl_multi_poll(d->multi, NULL, 0, (int)wait, NULL);
	}
	engine_abandon(d);
	if (db_outbox_release(d->db, d->owner) != DB_OK)
		d->n.db_errors++;
	metrics_write(d);
	dispatch_note(d, "stopped: %" PRIu64 " delivered, %" PRIu64
	    " retried, %" PRIu64 " dead, %" PRIu64 " lease lost",
	    d->n.delivered, d->n.retried, d->n.dead, d->n.lease_lost);
	fflush(d->log);
	return once && !d->db_ok ? 1 : 0;
}

/* "host:pid:random", unique among dispatchers, at most 63 bytes. */
static void
make_owner(char *buf, size_t sz)
{
	char	 host[256];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, sz, "%.*s:%ld:%08" PRIx32, OWNER_HOST, host,
	    (long)getpid(),
	    (uint32_t)arc4random());
}

static int
dispatcher_init(struct dispatcher *d, const struct conf *c)
{
	memset(d, 0, sizeof(*d));
	d->conf = c;
	d->db_ok = 1;
	d->lease = policy_lease(c->dispatch_lease_seconds,
	    c->dispatch_timeout_ms);
	{
		const char	*v[MAX_SECRETS];
		size_t		 nk = conf_secrets(c, 1, v), j;

		for (j = 0; j < nk; j++)
			if (sig_key_parse(v[j], &d->keys[j]) == -1) {
				log_fatal("bad outbound_secret");
				return -1;
			}
		d->nkeys = nk;
	}
	if (c->metrics_dir[0] != '\0') {
		if (mkdir(c->metrics_dir, 0755) == -1 && errno != EEXIST)
			fprintf(stderr, "referd-dispatch: %s: %s\n",
			    c->metrics_dir, strerror(errno));
		snprintf(d->metrics, sizeof(d->metrics), "%s/%s",
		    c->metrics_dir, METRICS_FILE);
	}
	if ((d->db = db_new(c, 0)) == NULL ||
	    (d->due = calloc((size_t)c->dispatch_batch,
	    sizeof(*d->due))) == NULL) {
		fprintf(stderr, "referd-dispatch: out of memory\n");
		return -1;
	}
	return engine_init(d);
}

static void
dispatcher_free(struct dispatcher *d)
{
	engine_free(d);
	free(d->due);
	db_free(d->db);
	if (d->log != NULL && d->log != stderr)
		fclose(d->log);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct conf conf;
	struct dispatcher d;
	struct sigaction sa;
	struct proc_user pu;
	struct pidfile	 pidf = { -1, "" };
	const char	*cfile = NULL;
	char		 err[1024];
	int		 ch, fg = 0, once = 0, check = 0, ready = -1, rc = 1;

	log_setup("referd-dispatch");
	while ((ch = getopt_long(argc, argv, "c:fht", longopts, NULL)) != -1)
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'f': fg = 1; break;
		case 'o': once = 1; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("referd-dispatch %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	if (cfile == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load_role(&conf, cfile, CONF_ROLE_DISPATCH, err,
	    sizeof(err)) == -1)
		return log_config_error(check, err);
	if (check) {
		printf("referd-dispatch: %s: configuration ok\n", cfile);
		return 0;
	}
	if (proc_no_dumps(err, sizeof(err)) == -1) {
		log_fatal("%s", err);
		return 1;
	}
	if (proc_priv_plan(conf.user, &pu, err, sizeof(err)) == -1) {
		log_fatal("%s: %s", cfile, err);
		return EX_CONFIG;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "referd-dispatch: curl_global_init failed\n");
		return 1;
	}
	if (dispatcher_init(&d, &conf) == -1)
		goto out;
	snprintf(d.logpath, sizeof(d.logpath), "%s", conf.dispatch_log_file);
	if (log_open(&d) == -1)
		goto out;
	/* Fail where the operator can see it, not in the log. */
	if (db_ping(d.db) != DB_OK) {
		fprintf(stderr, "referd-dispatch: database unavailable: %s\n",
		    d.db->errmsg);
		if (!once && !fg)
			goto out;
	}
	if (!once && pidfile_take(&pidf, conf.dispatch_pid_file, err,
	    sizeof(err)) == -1) {
		log_fatal("dispatch_pid_file: %s", err);
		goto out;
	}
	if (!once && !fg) {
		db_free(d.db);	/* no connection across fork */
		if ((d.db = db_new(&conf, 0)) == NULL)
			goto out;
		/* A daemon's stderr is its log file, as referd-fcgi's. */
		if (d.log != stderr && !log_is_syslog() &&
		    log_to(d.logpath, err, sizeof(err)) == -1) {
			log_fatal("dispatch_log_file: %s", err);
			goto out;
		}
		d.daemon = 1;
		ready = daemon_start(0);
	}
	if (pidfile_write(&pidf, err, sizeof(err)) == -1)
		log_err("pid file: %s", err);
	/* Log and pid file open: root is no longer needed. */
	if (proc_priv_drop(&pu, err, sizeof(err)) == -1) {
		log_err("%s", err);
		goto out;
	}
	make_owner(d.owner, sizeof(d.owner));	/* after fork: our pid */

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	dispatch_note(&d, "started owner=%s concurrency=%zu lease=%lds "
	    "timeout=%ldms max_attempts=%ld%s", d.owner, d.nslots, d.lease,
	    conf.dispatch_timeout_ms, conf.dispatch_max_attempts,
	    once ? " once" : "");
	fflush(d.log);
	daemon_ready(ready);
	rc = run(&d, once);
out:
	dispatcher_free(&d);
	curl_global_cleanup();
	pidfile_release(&pidf);
	return rc;
}
