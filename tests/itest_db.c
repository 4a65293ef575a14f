/*
 * Integration tests of sql/ on the real MariaDB of the dev stack:
 * concurrency, deadlock retry and a connection killed mid-transaction.
 * Usage: itest_db [-c FILE].  Prints TAP; exits non-zero on any failure.
 * Without -c it reads $REFERD_TEST_CONF; with neither (as in "make check"
 * before a stack is up) it exits 77, automake's SKIP.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sql.h"

#define THREADS	32
#define EXIT_SKIP	77	/* automake's test driver: SKIP */

static struct conf	 conf;
static int		 tests, failures;
static int64_t		 base;		/* user ids of this run */

static void
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	tests++;
	if (!cond)
		failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* One integer from a query on a fresh raw connection. */
static int64_t
q_int(const char *fmt, ...)
{
	char		 q[1024], err[256];
	unsigned int	 e;
	va_list		 ap;
	MYSQL		*my;
	MYSQL_RES	*res;
	MYSQL_ROW	 row;
	int64_t		 v = -1;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	if ((my = db_connect_raw(&conf, 0, &e, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (mysql_query(my, q) == 0 && (res = mysql_store_result(my))) {
		if ((row = mysql_fetch_row(res)) != NULL && row[0])
			v = strtoll(row[0], NULL, 10);
		mysql_free_result(res);
	} else
		fprintf(stderr, "%s: %s\n", q, mysql_error(my));
	mysql_close(my);
	return v;
}

static struct db *
connect_or_die(void)
{
	struct db	*db = db_new(&conf, 0);

	if (db == NULL || db_connect(db) == -1) {
		fprintf(stderr, "cannot connect: %s\n", db ? db->errmsg : "");
		exit(1);
	}
	return db;
}

/* A referrer with a code and a referee attributed to them. */
static int64_t
make_referral(struct db *db, int64_t referrer, int64_t referee)
{
	struct signup_in	 in;
	struct signup_out	 out;
	int64_t			 now = time(NULL);

	memset(&in, 0, sizeof(in));
	in.user_id = referrer;
	if (db_signup(db, &in, now, &out) != DB_OK)
		return -1;
	memset(&in, 0, sizeof(in));
	in.user_id = referee;
	in.code_given = 1;
	memcpy(in.code, out.code, sizeof(in.code));
	if (db_signup(db, &in, now, &out) != DB_OK ||
	    out.result != ATTR_ATTRIBUTED)
		return -1;
	return out.referral_id;
}

struct conv_arg {
	int		 n;
	int64_t		 referee, referral;
	enum db_rc	 rc, rc2;
	struct event_out out;
};

static void *
conv_thread(void *p)
{
	struct conv_arg	*a = p;
	struct db	*db = connect_or_die();
	struct event_in	 ev;
	int64_t		 now = time(NULL);

	memset(&ev, 0, sizeof(ev));
	/* Half send the same event id, half distinct orders. */
	snprintf(ev.id, sizeof(ev.id), "evt_%" PRId64 "_%d", base,
	    a->n % 2 ? 0 : a->n);
	snprintf(ev.type, sizeof(ev.type), "order.completed");
	ev.user_id = a->referee;
	snprintf(ev.order_id, sizeof(ev.order_id), "ord_%d",
	    a->n % 2 ? 0 : a->n);
	ev.amount = 2500;
	snprintf(ev.currency, sizeof(ev.currency), "USD");
	sha256_hex(ev.id, strlen(ev.id), ev.body_sha256);
	a->rc = db_event_apply(db, &ev, now, &a->out);
	a->rc2 = db_reward_issue(db, a->referral, now);
	db_free(db);
	return NULL;
}

static void
test_concurrent_conversion(void)
{
	struct db	*db = connect_or_die();
	struct conv_arg	 a[THREADS];
	pthread_t	 t[THREADS];
	int64_t		 referral;
	int		 i, converted = 0, dups = 0, errors = 0;

	referral = make_referral(db, base + 1, base + 2);
	ok(referral > 0, "setup: referral %" PRId64 " attributed", referral);
	for (i = 0; i < THREADS; i++) {
		a[i] = (struct conv_arg){ .n = i, .referee = base + 2,
		    .referral = referral };
		pthread_create(&t[i], NULL, conv_thread, &a[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (a[i].rc == DB_OK && a[i].out.outcome == OUT_CONVERTED)
			converted++;
		else if (a[i].rc == DB_DUP)
			dups++;
		else if (a[i].rc != DB_OK)
			errors++;
		if (a[i].rc2 != DB_NOOP && a[i].rc2 != DB_OK)
			errors++;
	}
	ok(errors == 0, "32 connections: no errors (%d)", errors);
	ok(converted == 1, "exactly one conversion (%d)", converted);
	ok(dups == THREADS / 2,
	    "repeats of one event id answered duplicate (%d)", dups);
	ok(q_int("SELECT COUNT(*) FROM referrals WHERE id = %" PRId64
	    " AND status = 'rewarded'", referral) == 1, "referral rewarded");
	ok(q_int("SELECT COUNT(*) FROM referral_rewards WHERE referral_id = %"
	    PRId64, referral) == 2, "two reward rows");
	ok(q_int("SELECT COUNT(*) FROM outbox o JOIN referral_rewards r ON "
	    "r.id = o.reward_id WHERE r.referral_id = %" PRId64, referral) == 2,
	    "two outbox rows");
	ok(q_int("SELECT COUNT(*) FROM inbound_events WHERE event_id LIKE "
	    "'evt_%" PRId64 "_%%'", base) == THREADS / 2,
	    "every distinct event recorded once");
	db_free(db);
}

struct attr_arg {
	int64_t		 referee;
	const char	*code;
	enum db_rc	 rc;
	struct signup_out out;
};

static void *
attr_thread(void *p)
{
	struct attr_arg	*a = p;
	struct db	*db = connect_or_die();
	struct signup_in in;

	memset(&in, 0, sizeof(in));
	in.user_id = a->referee;
	in.code_given = 1;
	snprintf(in.code, sizeof(in.code), "%s", a->code);
	a->rc = db_signup(db, &in, time(NULL), &a->out);
	db_free(db);
	return NULL;
}

static void
test_concurrent_attribution(void)
{
	struct db	*db = connect_or_die();
	struct code_row	 c;
	struct attr_arg	 a[THREADS];
	pthread_t	 t[THREADS];
	int		 i, first = 0, same = 1;

	ok(db_code_mint(db, base + 10, time(NULL), &c) == DB_OK,
	    "setup: code %s minted", c.code);
	for (i = 0; i < THREADS; i++) {
		a[i] = (struct attr_arg){ .referee = base + 11,
		    .code = c.code };
		pthread_create(&t[i], NULL, attr_thread, &a[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (a[i].rc == DB_OK)
			first++;
		else if (a[i].rc != DB_DUP)
			same = 0;
	}
	for (i = 1; i < THREADS; i++)
		if (a[i].out.referral_id != a[0].out.referral_id ||
		    strcmp(a[i].out.code, a[0].out.code) != 0)
			same = 0;
	ok(first == 1, "one signup call was first (%d)", first);
	ok(same && a[0].out.referral_id > 0,
	    "every call answered the same referral and code");
	ok(q_int("SELECT COUNT(*) FROM referrals WHERE referee_id = %" PRId64,
	    base + 11) == 1, "one referral row for the referee");
	ok(q_int("SELECT COUNT(*) FROM referral_codes WHERE user_id = %"
	    PRId64, base + 11) == 1, "one code for the referee");
	db_free(db);
}

/* Two transactions locking two rows in opposite order. */
static pthread_barrier_t barrier;

struct lock_arg {
	int64_t		 first, second;
	int		 tries;
	enum db_rc	 rc;
	unsigned long	 retries;
};

static enum db_rc
lock_one(struct db *db, int64_t id)
{
	int64_t		 n[9];
	char		 s[7][256];
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ID_LOCK, "l", id)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_REFERRAL_BY_ID_LOCK, "lllsssssslllls", &n[0],
	    &n[1], &n[2], s[0], sizeof(s[0]), s[1], sizeof(s[1]), s[2],
	    sizeof(s[2]), s[3], sizeof(s[3]), s[4], sizeof(s[4]), s[5],
	    sizeof(s[5]), &n[3], &n[4], &n[5], &n[6], s[6], sizeof(s[6]));
	db_done(db, STMT_REFERRAL_BY_ID_LOCK);
	return rc;
}

static enum db_rc
lock_fn(struct db *db, void *p)
{
	struct lock_arg	*a = p;
	enum db_rc	 rc;

	if ((rc = lock_one(db, a->first)) != DB_OK)
		return rc;
	if (a->tries++ == 0)
		pthread_barrier_wait(&barrier);
	return lock_one(db, a->second);
}

static void *
lock_thread(void *p)
{
	struct lock_arg	*a = p;
	struct db	*db = connect_or_die();

	a->rc = db_txn(db, lock_fn, a);
	a->retries = db->retries;
	db_free(db);
	return NULL;
}

static void
test_deadlock_retry(void)
{
	struct db	*db = connect_or_die();
	struct lock_arg	 a, b;
	pthread_t	 ta, tb;
	int64_t		 r1, r2;

	r1 = make_referral(db, base + 20, base + 21);
	r2 = make_referral(db, base + 22, base + 23);
	pthread_barrier_init(&barrier, NULL, 2);
	a = (struct lock_arg){ .first = r1, .second = r2 };
	b = (struct lock_arg){ .first = r2, .second = r1 };
	pthread_create(&ta, NULL, lock_thread, &a);
	pthread_create(&tb, NULL, lock_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);
	ok(a.rc == DB_OK && b.rc == DB_OK,
	    "both deadlocking transactions succeeded (%s, %s)",
	    db_rc_name(a.rc), db_rc_name(b.rc));
	ok(a.retries + b.retries >= 1, "the deadlock victim was retried "
	    "(%lu replays)", a.retries + b.retries);
	db_free(db);
}

/*
 * Two mints of one user's code: the second request's INSERT waits on the
 * first's uncommitted row and gets a duplicate once it commits.  It must
 * answer with the code that won (DB_DUP), not take the duplicate for a
 * collision of random codes.
 */
struct mint_arg {
	int64_t		 user;
	enum db_rc	 rc;
	struct code_row	 out;
};

static void *
mint_thread(void *p)
{
	struct mint_arg	*a = p;
	struct db	*db = connect_or_die();

	a->rc = db_code_mint(db, a->user, time(NULL), &a->out);
	db_free(db);
	return NULL;
}

static void
test_mint_race(void)
{
	struct mint_arg	 a;
	pthread_t	 t;
	char		 q[256], code[16], err[256];
	unsigned int	 e;
	MYSQL		*my;

	memset(&a, 0, sizeof(a));
	a.user = base + 50;
	snprintf(code, sizeof(code), "M%07d", (int)(base / 100 % 10000000));
	if ((my = db_connect_raw(&conf, 0, &e, err, sizeof(err))) == NULL) {
		ok(0, "mint race: connect: %s", err);
		return;
	}
	snprintf(q, sizeof(q), "INSERT INTO referral_codes (user_id, code, "
	    "created_at) VALUES (%" PRId64 ", '%s', NOW())", a.user, code);
	if (mysql_query(my, "START TRANSACTION") != 0 ||
	    mysql_query(my, q) != 0) {
		ok(0, "mint race: %s", mysql_error(my));
		mysql_close(my);
		return;
	}
	pthread_create(&t, NULL, mint_thread, &a);
	/* Time for the mint to reach our row's lock and wait on it. */
	usleep(500000);
	mysql_query(my, "COMMIT");
	pthread_join(t, NULL);
	mysql_close(my);
	ok(a.rc == DB_DUP && strcmp(a.out.code, code) == 0,
	    "mint race: the loser answers the winner's code (%s %s, want "
	    "duplicate %s)", db_rc_name(a.rc), a.out.code, code);
}

/*
 * A transaction that asks for a replay itself (DB_RETRY) right after a
 * duplicate key error is replayed, not failed for the duplicate.
 */
struct replay_arg {
	int64_t		 user;
	const char	*code;
	int		 calls;
};

static enum db_rc
replay_fn(struct db *db, void *p)
{
	struct replay_arg	*a = p;
	enum db_rc		 rc;

	if (a->calls++ > 0)
		return DB_OK;
	rc = db_exec(db, STMT_CODE_INSERT, "lsl", a->user, a->code,
	    (int64_t)time(NULL));
	return rc == DB_DUP ? DB_RETRY : DB_ERR;
}

static void
test_replay_after_dup(void)
{
	struct db		*db = connect_or_die();
	struct mint_arg		 m;
	struct replay_arg	 a;
	enum db_rc		 rc;

	memset(&m, 0, sizeof(m));
	m.user = base + 51;
	mint_thread(&m);
	a = (struct replay_arg){ .user = m.user, .code = m.out.code };
	rc = db_txn(db, replay_fn, &a);
	ok(m.rc == DB_OK && rc == DB_OK && a.calls == 2,
	    "DB_RETRY after a duplicate key error: replayed once, then ok "
	    "(%s, %d calls)", db_rc_name(rc), a.calls);
	db_free(db);
}

/* A transaction whose connection is killed between two writes. */
struct kill_arg {
	struct db	*db;
	int64_t		 user1, user2;
	char		 code1[CODE_LEN + 1], code2[CODE_LEN + 1];
	int		 tries;
	int		 give_up;	/* replay writes nothing */
	unsigned long	 thread_id;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stage;		/* 1: first write done, 2: killed */
	enum db_rc	 rc;
};

static enum db_rc
kill_fn(struct db *db, void *p)
{
	struct kill_arg	*a = p;
	enum db_rc	 rc;

	if (a->tries++ > 0 && a->give_up)
		return DB_NOOP;
	if ((rc = db_exec(db, STMT_CODE_INSERT, "lsl", a->user1, a->code1,
	    (int64_t)time(NULL))) != DB_OK)
		return rc;
	if (a->tries == 1) {
		pthread_mutex_lock(&a->mu);
		a->thread_id = mysql_thread_id(db->my);
		a->stage = 1;
		pthread_cond_signal(&a->cv);
		while (a->stage != 2)
			pthread_cond_wait(&a->cv, &a->mu);
		pthread_mutex_unlock(&a->mu);
	}
	return db_exec(db, STMT_CODE_INSERT, "lsl", a->user2, a->code2,
	    (int64_t)time(NULL));
}

static void *
kill_thread(void *p)
{
	struct kill_arg	*a = p;

	a->rc = db_txn(a->db, kill_fn, a);
	pthread_mutex_lock(&a->mu);
	if (a->stage == 0)
		a->stage = -1;	/* never reached the kill point */
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void
kill_case(int give_up, int64_t user)
{
	struct kill_arg	 a;
	pthread_t	 t;
	char		 err[256], q[64];
	unsigned int	 e;
	MYSQL		*my;
	int		 killed = 0;
	int64_t		 n1, n2;

	memset(&a, 0, sizeof(a));
	a.db = connect_or_die();
	a.user1 = user;
	a.user2 = user + 1;
	a.give_up = give_up;
	code_mint(a.code1);
	code_mint(a.code2);
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.cv, NULL);
	pthread_create(&t, NULL, kill_thread, &a);
	pthread_mutex_lock(&a.mu);
	while (a.stage == 0)
		pthread_cond_wait(&a.cv, &a.mu);
	if (a.stage == 1 && (my = db_connect_raw(&conf, 0, &e, err, sizeof(err))) != NULL) {
		snprintf(q, sizeof(q), "KILL CONNECTION %lu", a.thread_id);
		killed = mysql_query(my, q) == 0;
		mysql_close(my);
	}
	a.stage = 2;
	pthread_cond_signal(&a.cv);
	pthread_mutex_unlock(&a.mu);
	pthread_join(t, NULL);
	ok(killed, "connection %lu killed in the middle of a transaction",
	    a.thread_id);
	ok(a.db->reconnects >= 1 && a.tries == 2, "reconnected and replayed "
	    "(%lu reconnects, %d runs)", a.db->reconnects, a.tries);
	n1 = q_int("SELECT COUNT(*) FROM referral_codes WHERE user_id = %"
	    PRId64, a.user1);
	n2 = q_int("SELECT COUNT(*) FROM referral_codes WHERE user_id = %"
	    PRId64, a.user2);
	if (give_up)
		ok(a.rc == DB_NOOP && n1 == 0 && n2 == 0, "killed and not "
		    "replayed: none of it is stored (%" PRId64 ", %" PRId64
		    ")", n1, n2);
	else
		ok(a.rc == DB_OK && n1 == 1 && n2 == 1, "killed and replayed: "
		    "all of it is stored, once (%" PRId64 ", %" PRId64 ")",
		    n1, n2);
	pthread_mutex_destroy(&a.mu);
	pthread_cond_destroy(&a.cv);
	db_free(a.db);
}

static void
test_kill_mid_transaction(void)
{
	kill_case(0, base + 30);
	kill_case(1, base + 40);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: itest_db [-c FILE]\n"
	    "Integration tests of the data layer on the MariaDB of FILE (a\n"
	    "running stack's referd.conf): concurrent conversion and\n"
	    "attribution, a forced deadlock replayed, a connection killed in\n"
	    "mid-transaction.  Prints TAP; exits 1 if a test failed.\n"
	    "Without -c, FILE is $REFERD_TEST_CONF; with neither, or if that\n"
	    "file is missing, it exits 77 (skipped).\n");
}

/*
 * No -c: the file $REFERD_TEST_CONF names.  Returns 0 with it loaded, -1
 * (said why) when no database is configured, 2 when the file is bad.
 */
static int
conf_from_env(void)
{
	const char	*path = getenv("REFERD_TEST_CONF");
	char		 err[512];

	if (path == NULL || path[0] == '\0')
		snprintf(err, sizeof(err), "REFERD_TEST_CONF is not set");
	else if (access(path, F_OK) == -1)
		snprintf(err, sizeof(err), "REFERD_TEST_CONF: %s: %s", path,
		    strerror(errno));
	else if (conf_load(&conf, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "itest_db: %s\n", err);
		return 2;
	} else
		return 0;
	fprintf(stderr, "itest_db: SKIP: no database configured (%s).\n"
	    "It needs a running stack: etc/dev/test runs it after "
	    "etc/dev/up.\n"
	    "By hand, with the stack of etc/dev/up:\n"
	    "  make check TESTS=tests/itest_db "
	    "REFERD_TEST_CONF=$REFERD_VAR/referd.conf\n"
	    "  tests/itest_db -c $REFERD_VAR/referd.conf\n", err);
	return -1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char	 err[512];
	int	 c, given = 0;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		switch (c) {
		case 'c':
			if (conf_load(&conf, optarg, err, sizeof(err)) == -1) {
				fprintf(stderr, "itest_db: %s\n", err);
				return 2;
			}
			given = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	if (!given && optind == argc)
		switch (conf_from_env()) {
		case 0:
			break;
		case -1:
			return EXIT_SKIP;
		default:
			return 2;
		}
	if (conf.api_key[0] == '\0' || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* User ids of this run, far from other suites' ranges. */
	base = 9000000000LL + (((int64_t)time(NULL) % 100000) * 1000 +
	    getpid() % 1000) * 100;
	printf("# user ids from %" PRId64 "\n", base);
	test_concurrent_conversion();
	test_concurrent_attribution();
	test_deadlock_retry();
	test_mint_race();
	test_replay_after_dup();
	test_kill_mid_transaction();
	printf("1..%d\n# %d passed, %d failed\n", tests, tests - failures,
	    failures);
	return failures != 0;
}
