/*
 * referd-dispatch: drains the outbox (SPEC.md section 6) and runs the
 * reward worker (section 5).
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

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sql.h"
#include "dispatch.h"

#define OWNER_HOST	32	/* hostname bytes in the lease owner */
#define DB_DOWN_PAUSE	1000	/* ms between tries while the db is away */
#define MAX_WAIT	1000	/* ms: longest sleep of the loop */
#define SETTLE_WAIT	5	/* ms an outcome may wait for company */
#define METRICS_FILE	"dispatch.prom"

enum slot_state {
	SLOT_FREE,
	SLOT_SENDING,		/* transfer in the multi handle */
	SLOT_DONE,		/* outcome known, not yet committed */
};

struct slot {
	enum slot_state	 state;
	CURL		*easy;
	struct curl_slist *hdrs;
	struct outbox_row row;		/* its payload is ours while busy */
	int64_t		 t0;		/* monotonic ms when sent */
	char		 errbuf[CURL_ERROR_SIZE];
	char		 body[DISPATCH_ERR_BODY + 1]; /* start of the answer */
	size_t		 bodylen;
	struct outbox_result res;	/* SLOT_DONE */
};

/* Counters of this process since it started (the metrics file). */
struct counters {
	uint64_t	 attempts;
	uint64_t	 delivered;
	uint64_t	 retried;
	uint64_t	 dead;
	uint64_t	 lease_lost;	/* outcome came after the lease */
	uint64_t	 rewards;	/* referrals rewarded by the worker */
	uint64_t	 db_errors;
};

struct dispatcher {
	const struct conf *conf;
	struct db	*db;
	CURLM		*multi;
	struct slot	*slots;
	size_t		 nslots;
	size_t		 nfree;
	size_t		 nsending;
	struct outbox_row *claimed;	/* db_outbox_claim scratch */
	struct outbox_result *results;	/* db_outbox_settle scratch */
	int64_t		*due;		/* db_rewards_due scratch */
	struct sig_key	 keys[MAX_SECRETS];	/* outbound_secret values */
	size_t		 nkeys;
	char		 owner[64];
	long		 lease;		/* seconds */
	FILE		*log;		/* attempt lines */
	char		 logpath[CONF_STR];
	char		 metrics[PATH_MAX];
	struct counters	 n;
	struct outbox_counts outbox;	/* last db counts, for metrics */
	int		 outbox_ok;	/* "outbox" is fresh */
	int		 drained;	/* last claim got fewer than asked */
	int		 db_ok;
	int		 daemon;	/* stderr is the log */
	int64_t		 next_claim;	/* monotonic ms */
	int64_t		 next_reward;
	int64_t		 next_purge;	/* wall seconds: db_outbox_purge */
	int64_t		 next_settle;
	int64_t		 first_done;	/* when the oldest unsaved outcome came */
	int64_t		 next_metrics;
};

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

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts a log line: UTC time with milliseconds. */
static void
log_stamp(FILE *f)
{
	int64_t		 ms = wall_ms();
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;
	char		 ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%03dZ ", ts, (int)(ms % 1000));
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

/* The URL of a reward type, or NULL if there is none. */
static const char *
reward_url(const struct conf *c, const char *type)
{
	const char	*u = NULL;

	if (strcmp(type, "credit") == 0)
		u = c->reward_url_credit;
	else if (strcmp(type, "coupon") == 0)
		u = c->reward_url_coupon;
	else if (strcmp(type, "points") == 0)
		u = c->reward_url_points;
	return u != NULL && u[0] != '\0' ? u : NULL;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct slot	*s = arg;
	size_t		 n = size * nmemb, room = DISPATCH_ERR_BODY - s->bodylen;

	if (room > 0) {
		if (room > n)
			room = n;
		memcpy(s->body + s->bodylen, p, room);
		s->bodylen += room;
		s->body[s->bodylen] = '\0';
	}
	return n;	/* the rest is read and dropped */
}

/* Options that stay the same for every transfer of a slot. */
static int
slot_init(struct dispatcher *d, struct slot *s)
{
	const struct conf *c = d->conf;
	CURL		*e;

	memset(s, 0, sizeof(*s));
	if ((e = s->easy = curl_easy_init()) == NULL)
		return -1;
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    c->dispatch_connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    c->dispatch_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
	    "referd-dispatch/" PACKAGE_VERSION) != CURLE_OK)
		return -1;
	s->state = SLOT_FREE;
	return 0;
}

/* Logs one attempt: row, key, HTTP status, latency, outcome, error. */
static void
log_attempt(struct dispatcher *d, const struct slot *s, long status,
    int64_t ms, const char *outcome, int64_t next, const char *err)
{
	log_stamp(d->log);
	fprintf(d->log, "attempt row=%" PRId64 " key=%s event=%s "
	    "type=%s try=%" PRId64 " status=%ld ms=%" PRId64 " result=%s",
	    s->row.id, s->row.key, s->row.event, s->row.reward_type,
	    s->row.attempts, status, ms, outcome);
	if (next > 0)
		fprintf(d->log, " next=%" PRId64, next);
	fprintf(d->log, " error=\"%s\"\n", err[0] != '\0' ? err : "");
}

/*
 * Fills the outcome of the slot's attempt from a verdict and logs it.
 * A retryable failure on the last allowed attempt is dead, keeping the
 * error.
 */
static void
slot_finish(struct dispatcher *d, struct slot *s, enum verdict v,
    long status, int64_t retry_after, const char *err)
{
	struct outbox_result *r = &s->res;
	int64_t		 now = wall_ms(), ms = mono_ms() - s->t0;

	memset(r, 0, sizeof(*r));
	r->id = s->row.id;
	r->status = (int)status;
	snprintf(r->err, sizeof(r->err), "%s", err);
	if (v == VERDICT_RETRY &&
	    s->row.attempts >= d->conf->dispatch_max_attempts)
		v = VERDICT_DEAD;
	switch (v) {
	case VERDICT_DELIVERED:
		r->fate = OUTBOX_DELIVERED;
		r->at = now / 1000;
		r->err[0] = '\0';
		break;
	case VERDICT_RETRY:
		r->fate = OUTBOX_RETRY;
		r->at = policy_next_attempt(now, policy_backoff_ms(
		    d->conf->dispatch_backoff_ms,
		    d->conf->dispatch_backoff_max_ms, s->row.attempts,
		    arc4random()), retry_after);
		break;
	default:
		r->fate = OUTBOX_DEAD;
		break;
	}
	log_attempt(d, s, status, ms, policy_verdict_name(v),
	    r->fate == OUTBOX_RETRY ? r->at : 0, r->err);
	d->n.attempts++;
	if (d->nfree + d->nsending == d->nslots)
		d->first_done = mono_ms();
	s->state = SLOT_DONE;
}

/*
 * Sends the row in slot "s": signed POST of its payload to the URL of its
 * reward type.  A row that cannot be sent at all is dead at once.
 */
static void
slot_send(struct dispatcher *d, struct slot *s)
{
	const struct outbox_row *o = &s->row;
	const char	*url = reward_url(d->conf, o->reward_type);
	char		 sig[MAX_SECRETS * (SIG_LEN + 1)], h[512];
	size_t		 k, off;
	size_t		 len = strlen(o->payload);
	int64_t		 ts = wall_ms() / 1000;
	struct curl_slist *l = NULL, *t;
	char		 err[MAX_REASON + 1];
	CURLMcode	 mc;

	s->t0 = mono_ms();
	s->bodylen = 0;
	s->body[0] = '\0';
	s->errbuf[0] = '\0';
	if (url == NULL) {
		snprintf(err, sizeof(err), "no reward_url_%s configured",
		    o->reward_type);
		slot_finish(d, s, VERDICT_DEAD, 0, -1, err);
		return;
	}
	if (!policy_key_valid(o->key)) {
		slot_finish(d, s, VERDICT_DEAD, 0, -1,
		    "idempotency key not header-safe");
		return;
	}
	/* Signed with every outbound_secret (rotation), space-separated. */
	for (k = 0, off = 0; k < d->nkeys; k++) {
		if (k > 0)
			sig[off++] = ' ';
		if (sig_sign(&d->keys[k], o->key, ts, o->payload, len,
		    sig + off) == -1) {
			slot_finish(d, s, VERDICT_RETRY, 0, -1,
			    "signing failed");
			return;
		}
		off += strlen(sig + off);
	}
#define ADD(...) do {							\
	snprintf(h, sizeof(h), __VA_ARGS__);				\
	if ((t = curl_slist_append(l, h)) == NULL)			\
		goto fail;						\
	l = t;								\
} while (0)
	ADD("Content-Type: application/json");
	ADD("Idempotency-Key: %s", o->key);
	/* Standard Webhooks: the id is stable across attempts. */
	ADD("webhook-id: %s", o->key);
	ADD("webhook-timestamp: %" PRId64, ts);
	ADD("webhook-signature: %s", sig);
	ADD("Expect:");
#undef ADD
	s->hdrs = l;
	if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, l) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)len) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, o->payload) !=
	    CURLE_OK)
		goto fail;
	if ((mc = curl_multi_add_handle(d->multi, s->easy)) != CURLM_OK) {
		log_err("%s: curl_multi_add_handle: %s", __func__,
		    curl_multi_strerror(mc));
		goto fail;
	}
	s->state = SLOT_SENDING;
	d->nsending++;
	return;
fail:
	curl_slist_free_all(l);
	s->hdrs = NULL;
	slot_finish(d, s, VERDICT_RETRY, 0, -1, "could not set up transfer");
}

/* A finished transfer: what did the receiver say? */
static void
slot_done(struct dispatcher *d, struct slot *s, CURLcode cc)
{
	struct curl_header *h;
	long		 status = 0;
	int64_t		 ra = -1;
	enum verdict	 v;
	char		 err[MAX_REASON + 1], clean[MAX_REASON - 64];

	err[0] = '\0';
	if (cc == CURLE_OK)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	v = policy_classify(status, cc == CURLE_OK);
	if (cc != CURLE_OK) {
		policy_sanitize(clean, sizeof(clean), s->errbuf[0] != '\0' ?
		    s->errbuf : curl_easy_strerror(cc), SIZE_MAX);
		snprintf(err, sizeof(err), "%s%s", cc ==
		    CURLE_OPERATION_TIMEDOUT ? "timeout (outcome unknown): " :
		    "", clean);
	} else if (v != VERDICT_DELIVERED) {
		policy_sanitize(clean, sizeof(clean), s->body, s->bodylen);
		snprintf(err, sizeof(err), "HTTP %ld%s%s", status,
		    clean[0] != '\0' ? ": " : "", clean);
		if (v == VERDICT_RETRY && curl_easy_header(s->easy,
		    "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			ra = policy_retry_after(h->value, wall_ms() / 1000);
	}
	curl_multi_remove_handle(d->multi, s->easy);
	d->nsending--;
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	slot_finish(d, s, v, status, ra, err);
}

/* A slot whose outcome is recorded (or given up) becomes free again. */
static void
slot_free(struct dispatcher *d, struct slot *s)
{
	free(s->row.payload);
	s->row.payload = NULL;
	s->state = SLOT_FREE;
	d->nfree++;
}

/*
 * Records the outcomes of every finished transfer in one transaction.  If
 * the database is away they stay in their slots and are tried again; if
 * their lease ran out meanwhile the update is refused row by row and the
 * rows are sent again later, with the same key.
 */
static void
settle(struct dispatcher *d)
{
	struct slot	*map[1024];
	size_t		 i, n = 0;
	enum db_rc	 rc;

	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].state == SLOT_DONE) {
			map[n] = &d->slots[i];
			d->results[n++] = d->slots[i].res;
		}
	if (n == 0)
		return;
	if ((rc = db_outbox_settle(d->db, d->owner, d->results, n)) != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		d->next_settle = mono_ms() + DB_DOWN_PAUSE;
		return;
	}
	d->db_ok = 1;
	for (i = 0; i < n; i++) {
		const struct outbox_result *r = &d->results[i];

		if (!r->kept) {
			d->n.lease_lost++;
			log_stamp(d->log);
			fprintf(d->log, "lease lost row=%" PRId64 " key=%s: "
			    "it will be sent again\n", r->id,
			    map[i]->row.key);
		} else if (r->fate == OUTBOX_DELIVERED)
			d->n.delivered++;
		else if (r->fate == OUTBOX_RETRY)
			d->n.retried++;
		else
			d->n.dead++;
		slot_free(d, map[i]);
	}
}

/* Whether row "id" is already in one of our slots. */
static int
held(const struct dispatcher *d, int64_t id)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++)
		if (d->slots[i].state != SLOT_FREE &&
		    d->slots[i].row.id == id)
			return 1;
	return 0;
}

/* Claims as many due rows as there are free slots and sends them. */
static void
claim(struct dispatcher *d)
{
	size_t		 want = d->nfree, n = 0, i, j = 0;
	int64_t		 now = mono_ms();
	enum db_rc	 rc;

	if (want > (size_t)d->conf->dispatch_batch)
		want = (size_t)d->conf->dispatch_batch;
	rc = db_outbox_claim(d->db, d->owner, wall_ms() / 1000, d->lease,
	    d->claimed, want, &n);
	if (rc != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		d->next_claim = now + DB_DOWN_PAUSE;
		return;
	}
	d->db_ok = 1;
	for (i = 0; i < n; i++) {
		struct outbox_row *o = &d->claimed[i];
		struct slot	*s;

		if (held(d, o->id)) {
			/* Only if our own lease ran out under us. */
			log_stamp(d->log);
			fprintf(d->log, "claim row=%" PRId64 " already in "
			    "flight here: skipped\n", o->id);
			continue;
		}
		while (d->slots[j].state != SLOT_FREE)
			j++;
		s = &d->slots[j];
		s->row = *o;
		o->payload = NULL;
		d->nfree--;
		slot_send(d, s);
	}
	outbox_rows_free(d->claimed, n);
	d->drained = n < want;
	d->next_claim = d->drained ? now + d->conf->dispatch_poll_ms : now;
}

/*
 * The reward worker: converted referrals whose hold period has passed and
 * that are not held become rewarded, with their outbox rows, one
 * transaction each (db_reward_issue).  Safe beside other dispatchers: the
 * reward UPDATE is conditional and the referral row is locked.
 */
static void
reward_worker(struct dispatcher *d)
{
	int64_t		 now = wall_ms() / 1000;
	size_t		 n = 0, i;
	enum db_rc	 rc;

	d->next_reward = mono_ms() + d->conf->dispatch_poll_ms;
	if ((rc = db_rewards_due(d->db, now, d->due,
	    (size_t)d->conf->dispatch_batch, &n)) != DB_OK) {
		d->n.db_errors++;
		d->db_ok = 0;
		if (d->conf->dispatch_poll_ms < DB_DOWN_PAUSE)
			d->next_reward = mono_ms() + DB_DOWN_PAUSE;
		return;
	}
	for (i = 0; i < n; i++) {
		rc = db_reward_issue(d->db, d->due[i], now);
		if (rc == DB_OK) {
			d->n.rewards++;
			log_stamp(d->log);
			fprintf(d->log, "rewarded referral=%" PRId64 "\n",
			    d->due[i]);
			d->next_claim = 0;	/* new rows to send */
		} else if (rc != DB_NOOP && rc != DB_NOTFOUND) {
			d->n.db_errors++;
			d->db_ok = 0;
			return;
		}
	}
	/* Delivered rows past retention: one bounded batch a minute. */
	if (now >= d->next_purge) {
		d->next_purge = now + 60;
		if (db_outbox_purge(d->db, now, &n) != DB_OK)
			d->n.db_errors++;
		else if (n > 0) {
			log_stamp(d->log);
			fprintf(d->log, "purged delivered=%zu\n", n);
		}
	}
}

/*
 * Writes the metrics file: Prometheus text, written to a temporary file
 * (created here, mode 0644, so owned by the service user) and renamed so
 * that a reader never sees half of it.  The backlog, due
 * and outbox_dead gauges are the whole outbox (every dispatcher); the
 * rest are this process's.
 */
static void
metrics_write(struct dispatcher *d)
{
	char		 tmp[PATH_MAX + 32];
	FILE		*f;
	const struct outbox_counts *o = &d->outbox;
	int		 fd, tries;

	d->next_metrics = mono_ms() + DISPATCH_METRICS_MS;
	if (d->metrics[0] == '\0')
		return;
	d->outbox_ok = db_outbox_counts(d->db, wall_ms() / 1000,
	    &d->outbox) == DB_OK;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", d->metrics, (long)getpid());
	/*
	 * A new file, never through a link: the temporary name is easy to
	 * guess, and rename() replaces a link at the final name instead of
	 * following it.  A leftover of an earlier process with our pid is
	 * removed (unlink removes a link, not its target).
	 */
	for (tries = 0; (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1 && errno == EEXIST &&
	    tries < 1; tries++)
		(void)unlink(tmp);
	if (fd == -1 || fchmod(fd, 0644) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		log_err("%s: %s: %s", __func__, tmp, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		return;
	}
#define G(name, help, v) fprintf(f, "# HELP " name " " help "\n"	\
	"# TYPE " name " gauge\n" name " %" PRId64 "\n", (int64_t)(v))
#define C(name, help, v) fprintf(f, "# HELP " name " " help "\n"	\
	"# TYPE " name " counter\n" name " %" PRIu64 "\n", (uint64_t)(v))
	/*
	 * referd-fcgi's /metrics has the referd_outbox_* gauges and appends
	 * this file: everything here is referd_dispatch_*.
	 */
	if (d->outbox_ok) {
		G("referd_dispatch_backlog", "Outbox rows pending or in "
		    "flight (any dispatcher), counted by this one.",
		    o->pending + o->inflight);
		G("referd_dispatch_due", "Pending outbox rows due now.",
		    o->due);
		G("referd_dispatch_outbox_dead", "Outbox rows given up on "
		    "(any dispatcher).", o->dead);
	}
	G("referd_dispatch_inflight", "Transfers in flight in this "
	    "dispatcher.", d->nsending);
	C("referd_dispatch_attempts_total", "Delivery attempts made.",
	    d->n.attempts);
	C("referd_dispatch_delivered_total", "Rows delivered (2xx).",
	    d->n.delivered);
	C("referd_dispatch_retried_total", "Attempts that failed and were "
	    "scheduled again.", d->n.retried);
	C("referd_dispatch_dead_total", "Rows given up on.", d->n.dead);
	C("referd_dispatch_lease_lost_total", "Outcomes that came after "
	    "the row's lease ran out.", d->n.lease_lost);
	C("referd_dispatch_rewards_total", "Referrals rewarded by the "
	    "reward worker.", d->n.rewards);
	C("referd_dispatch_db_errors_total", "Database operations that "
	    "failed.", d->n.db_errors);
	G("referd_dispatch_db_up", "1 if the last database operation "
	    "worked.", d->db_ok);
	G("referd_dispatch_updated_seconds", "When this file was written "
	    "(Unix time).", wall_ms() / 1000);
#undef G
#undef C
	if (fclose(f) != 0 || rename(tmp, d->metrics) == -1) {
		log_err("%s: %s: %s", __func__, d->metrics, strerror(errno));
		unlink(tmp);
	}
}

/*
 * Gives up every busy slot: transfers in flight are aborted, outcomes the
 * database did not take are dropped.  Their rows are released (or come
 * back when their lease expires) and are sent again with the same key.
 */
static void
abandon(struct dispatcher *d)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->state == SLOT_FREE)
			continue;
		if (s->state == SLOT_SENDING) {
			curl_multi_remove_handle(d->multi, s->easy);
			curl_slist_free_all(s->hdrs);
			s->hdrs = NULL;
			d->nsending--;
		}
		log_stamp(d->log);
		fprintf(d->log, "abandoned row=%" PRId64 " key=%s: it will "
		    "be sent again\n", s->row.id, s->row.key);
		slot_free(d, s);
	}
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
	int		 stopping = 0, running, rewarded = 0, left;
	size_t		 ndone;
	CURLMsg		*m;

	while (1) {
		now = mono_ms();
		if (reopen_log) {
			reopen_log = 0;
			if (log_open(d) == 0 && d->log != stderr && d->daemon &&
			    !log_is_syslog())
				dup2(fileno(d->log), STDERR_FILENO);
		}
		if (stop_requests > 0 && !stopping) {
			stopping = 1;
			deadline = now + c->dispatch_timeout_ms + 1000;
			log_stamp(d->log);
			fprintf(d->log, "stopping: %zu in flight\n",
			    d->nsending);
		}
		if (stopping && (stop_requests > 1 || now >= deadline))
			abandon(d);
		if (stopping && d->nfree == d->nslots)
			break;
		if (!stopping && now >= d->next_reward && (!once ||
		    !rewarded)) {
			reward_worker(d);
			rewarded = 1;
		}
		if (!stopping && now >= d->next_claim && (d->nfree >=
		    threshold || d->nfree == d->nslots))
			claim(d);
		curl_multi_perform(d->multi, &running);
		while ((m = curl_multi_info_read(d->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE) {
				struct slot *s;

				curl_easy_getinfo(m->easy_handle,
				    CURLINFO_PRIVATE, (char **)&s);
				slot_done(d, s, m->data.result);
			}
		/*
		 * Outcomes are saved in batches (one commit each): when a
		 * quarter of the slots wait, nothing else is in flight, or
		 * the oldest has waited SETTLE_WAIT ms.
		 */
		now = mono_ms();
		ndone = d->nslots - d->nfree - d->nsending;
		if (ndone > 0 && now >= d->next_settle && (ndone >= threshold ||
		    d->nsending == 0 || stopping ||
		    now - d->first_done >= SETTLE_WAIT)) {
			fflush(d->log);	/* a delivered row is in the log */
			settle(d);
		}
		now = mono_ms();
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
	abandon(d);
	if (db_outbox_release(d->db, d->owner) != DB_OK)
		d->n.db_errors++;
	metrics_write(d);
	log_stamp(d->log);
	fprintf(d->log, "stopped: %" PRIu64 " delivered, %" PRIu64
	    " retried, %" PRIu64 " dead, %" PRIu64 " lease lost\n",
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

/*
 * Takes the pid file: locked while we run, so a second dispatcher with
 * the same file refuses to start.  Returns the fd, or -1.
 */
static int
pidfile_lock(const char *path)
{
	char	 buf[32];
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "referd-dispatch: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		r = read(fd, buf, sizeof(buf) - 1);
		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, "referd-dispatch: already running (pid %s, "
		    "%s)\n", buf, path);
		close(fd);
		return -1;
	}
	return fd;
}

static void
pidfile_write(int fd)
{
	char	 buf[32];
	int	 n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_err("pid file: %s", strerror(errno));
}

/* Detaches from the terminal; stderr goes to the log. */
static int
daemonize(struct dispatcher *d)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1) {
		fprintf(stderr, "referd-dispatch: fork: %s\n",
		    strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	d->daemon = 1;
	setsid();
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (d->log == stderr || log_is_syslog())
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (d->log != stderr && !log_is_syslog())
		dup2(fileno(d->log), STDERR_FILENO);
	log_detach();
	return 0;
}

static int
dispatcher_init(struct dispatcher *d, const struct conf *c)
{
	size_t	 i, n = (size_t)c->dispatch_concurrency;

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
	    (d->multi = curl_multi_init()) == NULL ||
	    (d->slots = calloc(n, sizeof(*d->slots))) == NULL ||
	    (d->claimed = calloc(n, sizeof(*d->claimed))) == NULL ||
	    (d->results = calloc(n, sizeof(*d->results))) == NULL ||
	    (d->due = calloc((size_t)c->dispatch_batch,
	    sizeof(*d->due))) == NULL) {
		fprintf(stderr, "referd-dispatch: out of memory\n");
		return -1;
	}
	d->nslots = n;
	for (i = 0; i < n; i++)
		if (slot_init(d, &d->slots[i]) == -1) {
			fprintf(stderr, "referd-dispatch: curl setup failed\n");
			return -1;
		}
	d->nfree = n;
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)n);
	return 0;
}

static void
dispatcher_free(struct dispatcher *d)
{
	size_t	 i;

	for (i = 0; i < d->nslots; i++) {
		curl_slist_free_all(d->slots[i].hdrs);
		free(d->slots[i].row.payload);
		if (d->slots[i].easy != NULL)
			curl_easy_cleanup(d->slots[i].easy);
	}
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	free(d->slots);
	free(d->claimed);
	free(d->results);
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
	const char	*cfile = NULL;
	char		 err[1024];
	int		 ch, fg = 0, once = 0, check = 0, pidfd = -1, rc = 1;

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
	    sizeof(err)) == -1) {
		if (check) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		log_fatal("%s", err);
		return EX_CONFIG;
	}
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
	if (!once && conf.dispatch_pid_file[0] != '\0' &&
	    (pidfd = pidfile_lock(conf.dispatch_pid_file)) == -1)
		goto out;
	if (!once && !fg) {
		db_free(d.db);	/* no connection across fork */
		if ((d.db = db_new(&conf, 0)) == NULL || daemonize(&d) == -1)
			goto out;
	}
	if (pidfd != -1)
		pidfile_write(pidfd);
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

	log_stamp(d.log);
	fprintf(d.log, "started owner=%s concurrency=%zu lease=%lds "
	    "timeout=%ldms max_attempts=%ld%s\n", d.owner, d.nslots, d.lease,
	    conf.dispatch_timeout_ms, conf.dispatch_max_attempts,
	    once ? " once" : "");
	fflush(d.log);
	rc = run(&d, once);
out:
	dispatcher_free(&d);
	curl_global_cleanup();
	if (pidfd != -1) {
		if (conf.dispatch_pid_file[0] != '\0')
			unlink(conf.dispatch_pid_file);
		close(pidfd);
	}
	return rc;
}
