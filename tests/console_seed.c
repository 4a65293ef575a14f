/*
 * console_seed: writes a known data set for the console's end-to-end
 * tests through the real data layer (db_signup, db_event_apply,
 * db_referral_void, db_clicks_add: the code the API runs).
 *
 * Every user id is BASE + something, so suites that share a database keep
 * to their own rows.  Seeding the same BASE twice changes nothing: signups
 * and events are idempotent, clicks are added only for a new referrer.
 * Prints one line per object for the test scripts:
 *	referrer INDEX USER_ID CODE
 *	referral INDEX KIND REFERRAL_ID REFEREE_ID
 * Outbox rows of "dead" referrals are made dead by the caller (SQL), as a
 * reward endpoint that kept failing would.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql.h"

#define SEED_SPACING	3700	/* seconds between signups: no velocity rule */
#define SEED_AGE	(4 * 86400)	/* the first signup, before now */
#define MAX_KINDS	12	/* referrals of one seeded referrer */

enum kind {
	K_REWARDED,		/* converted and rewarded */
	K_PENDING,		/* attributed, no order yet */
	K_VOIDED,		/* pending, then voided by hand */
	K_HELD_CONVERTED,	/* same IP as the referrer, then an order */
	K_HELD_PENDING,		/* same IP as the referrer */
	K_DEAD,			/* rewarded; its outbox rows to be made dead */
	K__MAX
};

static const char *const kind_names[K__MAX] = {
	[K_REWARDED] = "rewarded",
	[K_PENDING] = "pending",
	[K_VOIDED] = "voided",
	[K_HELD_CONVERTED] = "held_converted",
	[K_HELD_PENDING] = "held_pending",
	[K_DEAD] = "dead",
};

_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == K__MAX,
    "kind names");

struct seed_referrer {
	int64_t		 clicks;
	size_t		 nkinds;
	enum kind	 kinds[MAX_KINDS];
};

/*
 * The full profile: four referrers whose order by conversions is A, B,
 * C, D (9, 6, 4, 1) and whose signups, rates and rewards all differ.
 */
static const struct seed_referrer full[] = {
	{ 120, 10, { K_REWARDED, K_REWARDED, K_REWARDED, K_REWARDED,
	    K_REWARDED, K_REWARDED, K_REWARDED, K_REWARDED, K_REWARDED,
	    K_PENDING } },
	{ 40, 7, { K_REWARDED, K_REWARDED, K_REWARDED, K_REWARDED,
	    K_REWARDED, K_DEAD, K_VOIDED } },
	{ 15, 5, { K_REWARDED, K_REWARDED, K_REWARDED, K_HELD_CONVERTED,
	    K_HELD_PENDING } },
	{ 3, 2, { K_REWARDED, K_PENDING } },
};

/* The small profile: one referrer with one referral of each kind. */
static const struct seed_referrer small[] = {
	{ 7, 7, { K_REWARDED, K_PENDING, K_VOIDED, K_HELD_CONVERTED,
	    K_HELD_PENDING, K_DEAD, K_REWARDED } },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: console_seed -c FILE -b BASE [-s] | --help\n"
	    "Seeds the console test data set through the data layer.\n"
	    "  -c FILE  referd configuration file\n"
	    "  -b BASE  first user id (every id is BASE + n)\n"
	    "  -s       the small profile (one referrer, one referral of\n"
	    "           each kind) instead of the four ranked referrers\n");
}

/* A unique IPv6 address per user, so no IP velocity rule fires. */
static void
user_ip(int64_t user, char *buf, size_t sz)
{
	uint64_t	 u = (uint64_t)user;

	snprintf(buf, sz, "fd00::%x:%x:%x:%x", (unsigned)(u >> 48) & 0xffff,
	    (unsigned)(u >> 32) & 0xffff, (unsigned)(u >> 16) & 0xffff,
	    (unsigned)u & 0xffff);
}

static int
signup(struct db *db, int64_t user, const char *code, const char *ip,
    int64_t now, struct signup_out *out, enum db_rc *rcp)
{
	struct signup_in in;
	enum db_rc	 rc;

	memset(&in, 0, sizeof(in));
	in.user_id = user;
	if (code != NULL) {
		snprintf(in.code, sizeof(in.code), "%s", code);
		in.code_given = 1;
	}
	snprintf(in.email_domain, sizeof(in.email_domain), "example.com");
	snprintf(in.ip, sizeof(in.ip), "%s", ip);
	rc = db_signup(db, &in, now, out);
	if (rcp != NULL)
		*rcp = rc;
	if (rc != DB_OK && rc != DB_DUP) {
		fprintf(stderr, "console_seed: signup %" PRId64 ": %s\n", user,
		    db_rc_name(rc));
		return -1;
	}
	return 0;
}

static int
order(struct db *db, int64_t user, int64_t now)
{
	struct event_in	 in;
	struct event_out out;
	enum db_rc	 rc;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "cseed-%" PRId64, user);
	snprintf(in.type, sizeof(in.type), "order.completed");
	in.user_id = user;
	snprintf(in.order_id, sizeof(in.order_id), "order-%" PRId64, user);
	in.amount = 2500;
	snprintf(in.currency, sizeof(in.currency), "USD");
	if (sha256_hex(in.id, strlen(in.id), in.body_sha256) == -1)
		return -1;
	rc = db_event_apply(db, &in, now, &out);
	if (rc != DB_OK && rc != DB_DUP) {
		fprintf(stderr, "console_seed: event %s: %s\n", in.id,
		    db_rc_name(rc));
		return -1;
	}
	if (rc == DB_OK && out.outcome != OUT_CONVERTED) {
		fprintf(stderr, "console_seed: event %s: outcome %s (%s)\n",
		    in.id, outcome_name(out.outcome), out.reason);
		return -1;
	}
	return 0;
}

/* Seeds one referral of "kind"; prints it. */
static int
seed_one(struct db *db, size_t idx, enum kind k, int64_t referee,
    const char *code, const char *referrer_ip, int64_t at)
{
	struct signup_out so;
	char		 ip[64];
	int		 held = k == K_HELD_CONVERTED || k == K_HELD_PENDING;
	enum db_rc	 rc;

	if (held)
		snprintf(ip, sizeof(ip), "%s", referrer_ip);
	else
		user_ip(referee, ip, sizeof(ip));
	if (signup(db, referee, code, ip, at, &so, NULL) == -1)
		return -1;
	if (so.referral_id == 0 ||
	    (held && so.result != ATTR_HELD && so.review != RV_HELD)) {
		fprintf(stderr, "console_seed: user %" PRId64 ": attribution "
		    "%s (rule %s), wanted %s\n", referee,
		    attr_result_name(so.result), rule_name(so.rule),
		    kind_names[k]);
		return -1;
	}
	switch (k) {
	case K_REWARDED:
	case K_HELD_CONVERTED:
	case K_DEAD:
		if (order(db, referee, at + 600) == -1)
			return -1;
		break;
	case K_VOIDED:
		rc = db_referral_void(db, so.referral_id,
		    "seed: customer closed the account", "console-seed",
		    at + 600);
		if (rc != DB_OK && rc != DB_NOOP) {
			fprintf(stderr, "console_seed: void %" PRId64 ": %s\n",
			    so.referral_id, db_rc_name(rc));
			return -1;
		}
		break;
	default:
		break;
	}
	printf("referral %zu %s %" PRId64 " %" PRId64 "\n", idx, kind_names[k],
	    so.referral_id, referee);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct seed_referrer *prof = full;
	size_t		 nprof = sizeof(full) / sizeof(full[0]), i, j;
	const char	*cfile = NULL;
	struct conf	 conf;
	struct db	*db = NULL;
	char		 err[512];
	int64_t		 base = 0, now = time(NULL), at;
	int		 ch, rc = 1;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "b:c:hs", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (userid_parse(optarg, strlen(optarg), &base) == -1) {
				fprintf(stderr, "console_seed: bad -b\n");
				return 2;
			}
			break;
		case 'c':
			cfile = optarg;
			break;
		case 's':
			prof = small;
			nprof = sizeof(small) / sizeof(small[0]);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfile == NULL || base == 0 || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load(&conf, cfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "console_seed: %s\n", err);
		return 1;
	}
	if ((db = db_new(&conf, 0)) == NULL) {
		fprintf(stderr, "console_seed: out of memory\n");
		goto out;
	}
	at = now - SEED_AGE;
	for (i = 0; i < nprof; i++) {
		struct signup_out so;
		int64_t		 user = base + (int64_t)i + 1;
		char		 ip[64];
		enum db_rc	 src;

		user_ip(user, ip, sizeof(ip));
		if (signup(db, user, NULL, ip, at, &so, &src) == -1)
			goto out;
		at += SEED_SPACING;
		printf("referrer %zu %" PRId64 " %s\n", i + 1, user, so.code);
		if (src == DB_OK && prof[i].clicks > 0 && db_clicks_add(db,
		    so.code, now, prof[i].clicks) != DB_OK) {
			fprintf(stderr, "console_seed: clicks failed\n");
			goto out;
		}
		for (j = 0; j < prof[i].nkinds; j++) {
			int64_t	 referee = base + (int64_t)(i + 1) * 100 +
				    (int64_t)j + 1;

			if (seed_one(db, i + 1, prof[i].kinds[j], referee,
			    so.code, ip, at) == -1)
				goto out;
			at += SEED_SPACING;
		}
	}
	rc = 0;
out:
	db_free(db);
	return rc;
}
