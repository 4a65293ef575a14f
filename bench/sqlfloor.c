/*
 * bench/sqlfloor: the database floor of bench/run.
 *
 * The work of POST /v1/events or POST /v1/signups done straight on
 * MariaDB, without HTTP: N threads, one connection each, call the very
 * functions the handlers call (db_event_apply, db_signup of libreferd:
 * the same statements, the same transaction, the same retry loop) for
 * DURATION seconds, and print the rate and the latency percentiles.
 *
 *   event:  FIRST.. are referee user ids of pending referrals; each one
 *           gets a qualifying order event, so each transaction records the
 *           event, converts the referral, rewards both sides and writes
 *           two outbox rows (SPEC.md section 5, hold_days = 0).
 *   signup: FIRST.. are new user ids; user N signs up with the code on
 *           line N mod (lines) of CODES, an email, an IPv6 address and a
 *           device fingerprint derived from N, exactly as bench/run's
 *           signup scenario sends them to the API.
 *
 * Output, one line: ops= secs= rps= p50_us= p99_us= errors= unexpected=
 * next= (the first id not used, where the next run should start).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sql.h"

#define SF_MAX_CONNS	256
#define SF_MAX_CODES	1000000

enum mode {
	MODE_EVENT,
	MODE_SIGNUP,
	MODE__MAX
};

static const char *const mode_names[MODE__MAX] = {
	[MODE_EVENT] = "event",
	[MODE_SIGNUP] = "signup",
};
_Static_assert(sizeof(mode_names) / sizeof(mode_names[0]) == MODE__MAX,
    "mode table length");

struct thr {
	pthread_t	 t;
	struct db	*db;
	uint32_t	*lat;		/* microseconds, one per operation */
	size_t		 nlat, caplat;
	unsigned long	 errors;
	unsigned long	 unexpected;	/* not "converted"/"attributed" */
};

static struct conf	 conf;
static enum mode	 mode;
static char		**codes;
static size_t		 ncodes;
static char		**domains;
static size_t		 ndomains;
static int64_t		 next_id;	/* atomic */
static int64_t		 end_id;
static int64_t		 deadline_us;	/* atomic */
static pthread_barrier_t go;

static int64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sqlfloor -c FILE -m event|signup -s FIRST -k COUNT\n"
	    "                [-n CONNS] [-d SECONDS] [-f CODES]\n"
	    "The database floor of bench/run: CONNS connections (default 32)\n"
	    "apply conversion events (referee ids FIRST to FIRST+COUNT-1)\n"
	    "or signups (new user ids from FIRST, codes from the file CODES)\n"
	    "through libreferd for SECONDS (default 10), then print\n"
	    "ops= secs= rps= p50_us= p99_us= errors= unexpected= next=\n");
}

/* One conversion event for referee "id", as bench/lib/events.py signs it. */
static int
one_event(struct db *db, int64_t id, int64_t now)
{
	struct event_in		 in;
	struct event_out	 out;
	char			 body[512];
	enum db_rc		 rc;
	int			 n;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "evt_f_%" PRId64, id);
	snprintf(in.type, sizeof(in.type), "order.completed");
	in.user_id = id;
	snprintf(in.order_id, sizeof(in.order_id), "ord_f_%" PRId64, id);
	in.amount = 2500;
	snprintf(in.currency, sizeof(in.currency), "USD");
	snprintf(in.payment_fp, sizeof(in.payment_fp), "pf_f_%" PRId64, id);
	n = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"type\":\"%s\","
	    "\"user_id\":%" PRId64 ",\"order_id\":\"%s\",\"amount\":\"25.00\","
	    "\"currency\":\"USD\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
	    "\"payment_fingerprint\":\"%s\"}", in.id, in.type, id, in.order_id,
	    in.payment_fp);
	if (sha256_hex(body, (size_t)n, in.body_sha256) == -1)
		return -1;
	rc = db_event_apply(db, &in, now, &out);
	if (rc != DB_OK && rc != DB_DUP)
		return -1;
	return rc == DB_OK && out.outcome == OUT_CONVERTED && out.rewarded ?
	    0 : 1;
}

/* One signup of new user "id", as bench/lib/signup.lua sends it. */
static int
one_signup(struct db *db, int64_t id, int64_t now)
{
	struct signup_in	 in;
	struct signup_out	 out;
	enum db_rc		 rc;

	memset(&in, 0, sizeof(in));
	in.user_id = id;
	in.code_given = 1;
	snprintf(in.code, sizeof(in.code), "%s",
	    codes[(size_t)id % ncodes]);
	snprintf(in.email_domain, sizeof(in.email_domain), "mail.example");
	in.disposable = domain_listed((const char *const *)domains,
	    ndomains, in.email_domain);
	snprintf(in.ip, sizeof(in.ip), "2001:db8::%" PRIx64 ":%" PRIx64,
	    (uint64_t)id >> 16 & 0xffff, (uint64_t)id & 0xffff);
	snprintf(in.device, sizeof(in.device), "dev-%" PRId64, id);
	rc = db_signup(db, &in, now, &out);
	if (rc != DB_OK && rc != DB_DUP)
		return -1;
	return rc == DB_OK && out.result == ATTR_ATTRIBUTED ? 0 : 1;
}

static void *
run(void *arg)
{
	struct thr	*t = arg;
	int64_t		 id, t0, t1;
	int		 r;

	mysql_thread_init();
	if (db_connect(t->db) == -1)
		fprintf(stderr, "sqlfloor: connect: %s\n", t->db->errmsg);
	pthread_barrier_wait(&go);
	for (;;) {
		t0 = mono_us();
		if (t0 >= __atomic_load_n(&deadline_us, __ATOMIC_RELAXED))
			break;
		id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
		if (id >= end_id)
			break;
		r = mode == MODE_EVENT ? one_event(t->db, id, time(NULL)) :
		    one_signup(t->db, id, time(NULL));
		t1 = mono_us();
		if (r == -1) {
			t->errors++;
			continue;
		}
		if (r == 1)
			t->unexpected++;
		if (t->nlat == t->caplat) {
			size_t	 nc = t->caplat ? t->caplat * 2 : 65536;
			uint32_t *p = realloc(t->lat, nc * sizeof(*p));

			if (p == NULL)
				break;
			t->lat = p;
			t->caplat = nc;
		}
		t->lat[t->nlat++] = (uint32_t)(t1 - t0);
	}
	mysql_thread_end();
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Loads one code per line. */
static int
codes_load(const char *path)
{
	char	 line[64];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "sqlfloor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && ncodes < SF_MAX_CODES) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if ((ncodes & (ncodes - 1)) == 0) {
			char **p = realloc(codes, (ncodes ? ncodes * 2 : 1) *
			    sizeof(*p));

			if (p == NULL)
				break;
			codes = p;
		}
		if ((codes[ncodes] = strdup(line)) == NULL)
			break;
		ncodes++;
	}
	fclose(f);
	return ncodes > 0 ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	struct thr	*th = NULL;
	const char	*cfile = NULL, *cpath = NULL;
	char		 err[256];
	long		 nconn = 32, secs = 10, i;
	int64_t		 first = 0, count = 0, t0, t1;
	uint32_t	*all = NULL;
	size_t		 nall = 0, k;
	unsigned long	 errors = 0, unexpected = 0;
	int		 ch, m = -1, rc = 1;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:m:n:d:s:k:f:h")) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'm':
			for (i = 0; i < MODE__MAX; i++)
				if (strcmp(optarg, mode_names[i]) == 0)
					m = (int)i;
			break;
		case 'n':
			nconn = strtol(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtol(optarg, NULL, 10);
			break;
		case 's':
			first = strtoll(optarg, NULL, 10);
			break;
		case 'k':
			count = strtoll(optarg, NULL, 10);
			break;
		case 'f':
			cpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfile == NULL || m == -1 || nconn < 1 || nconn > SF_MAX_CONNS ||
	    secs < 1 || first < 1 || count < 1 ||
	    (m == MODE_SIGNUP && cpath == NULL)) {
		usage(stderr);
		return 2;
	}
	mode = m;
	if (conf_load(&conf, cfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "sqlfloor: %s\n", err);
		return 1;
	}
	if (mode == MODE_SIGNUP) {
		if (codes_load(cpath) == -1)
			goto out;
		if ((domains = domains_load(conf.disposable_domains_file,
		    &ndomains, err, sizeof(err))) == NULL) {
			fprintf(stderr, "sqlfloor: %s\n", err);
			goto out;
		}
	}
	if (mysql_library_init(0, NULL, NULL) != 0 ||
	    (th = calloc((size_t)nconn, sizeof(*th))) == NULL)
		goto out;
	next_id = first;
	end_id = first + count;
	deadline_us = INT64_MAX;
	pthread_barrier_init(&go, NULL, (unsigned)nconn + 1);
	for (i = 0; i < nconn; i++)
		if ((th[i].db = db_new(&conf, 0)) == NULL)
			goto out;
	for (i = 0; i < nconn; i++)
		if (pthread_create(&th[i].t, NULL, run, &th[i]) != 0) {
			fprintf(stderr, "sqlfloor: cannot start a thread\n");
			exit(1);
		}
	/* Every thread is connected: start the clock. */
	pthread_barrier_wait(&go);
	t0 = mono_us();
	__atomic_store_n(&deadline_us, t0 + secs * 1000000LL, __ATOMIC_SEQ_CST);
	for (i = 0; i < nconn; i++) {
		pthread_join(th[i].t, NULL);
		nall += th[i].nlat;
		errors += th[i].errors;
		unexpected += th[i].unexpected;
	}
	t1 = mono_us();
	if (nall == 0 || (all = malloc(nall * sizeof(*all))) == NULL) {
		fprintf(stderr, "sqlfloor: no operation succeeded\n");
		goto out;
	}
	for (i = 0, k = 0; i < nconn; i++) {
		memcpy(all + k, th[i].lat, th[i].nlat * sizeof(*all));
		k += th[i].nlat;
	}
	qsort(all, nall, sizeof(*all), cmp_u32);
	printf("ops=%zu secs=%.3f rps=%.1f p50_us=%u p99_us=%u errors=%lu "
	    "unexpected=%lu next=%" PRId64 "\n", nall,
	    (double)(t1 - t0) / 1e6, (double)nall * 1e6 / (double)(t1 - t0),
	    all[nall / 2], all[(size_t)((double)nall * 0.99)], errors,
	    unexpected, next_id < end_id ? next_id : end_id);
	if (next_id >= end_id)
		fprintf(stderr, "sqlfloor: the id pool ran out\n");
	rc = 0;
out:
	if (th != NULL)
		for (i = 0; i < nconn; i++) {
			db_free(th[i].db);
			free(th[i].lat);
		}
	free(th);
	free(all);
	for (k = 0; k < ncodes; k++)
		free(codes[k]);
	free(codes);
	if (domains != NULL)
		domains_free(domains, ndomains);
	return rc;
}
