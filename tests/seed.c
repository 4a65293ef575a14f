/*
 * referd-seed: drives the data layer the way the API and the console do
 * (db_signup, db_event_apply, db_referral_void, db_referral_approve,
 * db_outbox_requeue), so that end-to-end tests of the dispatcher can make
 * rewards without the HTTP API.  Not installed.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sql.h"

#define SEED_MAX_PAIRS	100000	/* pairs one command may create */
#define SEED_MAX_JOBS	32	/* worker processes */
#define SEED_AMOUNT	2500	/* order amount, minor units */

enum pair_kind {
	PAIR_PENDING,		/* signed up, not converted */
	PAIR_REWARDED,		/* converted (rewarded if hold_days = 0) */
	PAIR_HELD,		/* same signup IP: held, then converted */
};

static struct conf	 conf;
static int		 quiet;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: referd-seed -c FILE [-b BASE] [-j JOBS] [-q] COMMAND [ARG...]\n"
	    "Creates and changes referrals through the data layer, as the API\n"
	    "and the console do.  Commands:\n"
	    "  rewarded N       N referrer/referee pairs signed up and converted\n"
	    "                   (rewarded at once if hold_days = 0); prints the\n"
	    "                   referral ids, one a line\n"
	    "  held N           N pairs held for review (same signup IP), then\n"
	    "                   converted; prints the referral ids\n"
	    "  pending N        N pairs signed up, not converted\n"
	    "  convert USER [FP] a qualifying order of USER (paid with payment\n"
	    "                   fingerprint FP)\n"
	    "  refund USER      refund of the converting order of USER\n"
	    "  void ID [REASON] void referral ID (revokes its rewards)\n"
	    "  approve ID       approve held referral ID\n"
	    "  issue ID         reward referral ID if due (the worker's step)\n"
	    "  requeue ID       set dead outbox row ID back to pending\n"
	    "  show ID          referral ID, its rewards and their delivery\n"
	    "Options:\n"
	    "  -c FILE  referd configuration file\n"
	    "  -b BASE  first user id (pairs use BASE+2i and BASE+2i+1);\n"
	    "           default derived from the time and the pid\n"
	    "  -j JOBS  worker processes for the pair commands (default 1)\n"
	    "  -q       print nothing but errors\n");
}

static int
num(const char *s, int64_t *out)
{
	char	*end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	*out = v;
	return 0;
}

static void
order_of(int64_t referee, char *buf, size_t sz)
{
	snprintf(buf, sz, "seed-order-%" PRId64, referee);
}

/* A qualifying order (or its refund) of "referee", as POST /v1/events. */
static enum db_rc
event(struct db *db, int64_t referee, const char *type, const char *fp,
    struct event_out *out)
{
	struct event_in	 ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.id, sizeof(ev.id), "seed-%s-%" PRId64, type, referee);
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	ev.user_id = referee;
	order_of(referee, ev.order_id, sizeof(ev.order_id));
	ev.amount = SEED_AMOUNT;
	snprintf(ev.currency, sizeof(ev.currency), "USD");
	if (fp != NULL)
		snprintf(ev.payment_fp, sizeof(ev.payment_fp), "%s", fp);
	sha256_hex(ev.id, strlen(ev.id), ev.body_sha256);
	return db_event_apply(db, &ev, time(NULL), out);
}

/* One referrer and one referee who used the referrer's code. */
static int
pair(struct db *db, int64_t base, int64_t i, enum pair_kind kind)
{
	struct signup_in in;
	struct signup_out out;
	struct event_out eo;
	int64_t		 referrer = base + 2 * i, referee = referrer + 1;
	enum attr_result want = kind == PAIR_HELD ? ATTR_HELD :
			    ATTR_ATTRIBUTED;
	enum db_rc	 rc;

	memset(&in, 0, sizeof(in));
	in.user_id = referrer;
	if (kind == PAIR_HELD)
		snprintf(in.ip, sizeof(in.ip), "10.%d.%d.%d",
		    (int)((referee >> 16) & 0xff), (int)((referee >> 8) & 0xff),
		    (int)(referee & 0xff));
	if ((rc = db_signup(db, &in, time(NULL), &out)) != DB_OK) {
		fprintf(stderr, "referd-seed: signup of %" PRId64 ": %s\n",
		    referrer, db_rc_name(rc));
		return -1;
	}
	in.user_id = referee;
	in.code_given = 1;
	memcpy(in.code, out.code, sizeof(in.code));
	if ((rc = db_signup(db, &in, time(NULL), &out)) != DB_OK ||
	    out.result != want) {
		fprintf(stderr, "referd-seed: signup of %" PRId64 ": %s, %s "
		    "(%s)\n", referee, db_rc_name(rc),
		    attr_result_name(out.result), rule_name(out.rule));
		return -1;
	}
	if (kind != PAIR_PENDING) {
		if ((rc = event(db, referee, "order.completed", NULL, &eo)) !=
		    DB_OK || eo.outcome != OUT_CONVERTED) {
			fprintf(stderr, "referd-seed: conversion of %" PRId64
			    ": %s, %s\n", referee, db_rc_name(rc),
			    outcome_name(eo.outcome));
			return -1;
		}
	}
	if (!quiet)
		printf("%" PRId64 "\n", out.referral_id);
	return 0;
}

/* Pairs i = job, job + jobs, ... of n. */
static int
pairs_job(int64_t base, int64_t n, int job, int jobs, enum pair_kind kind)
{
	struct db	*db;
	int64_t		 i;
	int		 rc = 0;

	if ((db = db_new(&conf, 0)) == NULL)
		return -1;
	for (i = job; i < n && rc == 0; i += jobs)
		rc = pair(db, base, i, kind);
	db_free(db);
	return rc;
}

static int
pairs(int64_t base, int64_t n, int jobs, enum pair_kind kind)
{
	pid_t	 pids[SEED_MAX_JOBS];
	int	 j, st, rc = 0;

	if (jobs <= 1)
		return pairs_job(base, n, 0, 1, kind);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* whole lines from each */
	fflush(stdout);
	for (j = 0; j < jobs; j++) {
		if ((pids[j] = fork()) == -1) {
			perror("referd-seed: fork");
			jobs = j;
			rc = -1;
			break;
		}
		if (pids[j] == 0)
			_exit(pairs_job(base, n, j, jobs, kind) == 0 ? 0 : 1);
	}
	for (j = 0; j < jobs; j++)
		if (waitpid(pids[j], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = -1;
	return rc;
}

static int
show(struct db *db, int64_t id)
{
	struct referral_row r;
	enum db_rc	 rc;
	size_t		 i;

	if ((rc = db_referral_get(db, id, &r)) != DB_OK) {
		fprintf(stderr, "referd-seed: referral %" PRId64 ": %s\n", id,
		    db_rc_name(rc));
		return -1;
	}
	printf("referral %" PRId64 " referrer %" PRId64 " referee %" PRId64
	    " status %s review %s\n", r.id, r.referrer_id, r.referee_id,
	    fsm_state_name(r.status), fsm_review_name(r.review));
	for (i = 0; i < r.rewardsz; i++)
		printf("reward %" PRId64 " role %s user %" PRId64 " status %s "
		    "delivery %s attempts %" PRId64 "\n", r.rewards[i].id,
		    r.rewards[i].role, r.rewards[i].user_id,
		    r.rewards[i].status, r.rewards[i].delivery,
		    r.rewards[i].attempts);
	return 0;
}

/* The commands taking one id; returns the exit status. */
static int
one(struct db *db, const char *cmd, int64_t id, const char *arg)
{
	const char	*op = "referd-seed";
	struct event_out eo;
	enum db_rc	 rc;

	if (strcmp(cmd, "show") == 0)
		return show(db, id) == 0 ? 0 : 1;
	if (strcmp(cmd, "void") == 0)
		rc = db_referral_void(db, id, arg != NULL ? arg : "seed void",
		    op, time(NULL));
	else if (strcmp(cmd, "approve") == 0)
		rc = db_referral_approve(db, id, op, time(NULL));
	else if (strcmp(cmd, "issue") == 0)
		rc = db_reward_issue(db, id, time(NULL));
	else if (strcmp(cmd, "requeue") == 0)
		rc = db_outbox_requeue(db, id, op, time(NULL));
	else if (strcmp(cmd, "convert") == 0) {
		rc = event(db, id, "order.completed", arg, &eo);
		if (rc == DB_OK && !quiet)
			printf("%s %" PRId64 "\n", outcome_name(eo.outcome),
			    eo.referral_id);
	} else if (strcmp(cmd, "refund") == 0) {
		rc = event(db, id, "order.refunded", NULL, &eo);
		if (rc == DB_OK && !quiet)
			printf("%s %" PRId64 "\n", outcome_name(eo.outcome),
			    eo.referral_id);
	} else {
		fprintf(stderr, "referd-seed: unknown command %s\n", cmd);
		return 2;
	}
	if (!quiet && strcmp(cmd, "convert") != 0 &&
	    strcmp(cmd, "refund") != 0)
		printf("%s\n", db_rc_name(rc));
	return rc == DB_OK ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*cfile = NULL, *cmd;
	int64_t		 base, n = 0, jobs = 1;
	struct db	*db;
	char		 err[512];
	int		 ch, rc = 1, have_base = 0;

	while ((ch = getopt_long(argc, argv, "b:c:hj:q", longopts,
	    NULL)) != -1)
		switch (ch) {
		case 'b':
			if (num(optarg, &base) == -1 || base == 0) {
				fprintf(stderr, "referd-seed: bad -b\n");
				return 2;
			}
			have_base = 1;
			break;
		case 'c': cfile = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'j':
			if (num(optarg, &jobs) == -1 || jobs < 1 ||
			    jobs > SEED_MAX_JOBS) {
				fprintf(stderr, "referd-seed: -j wants 1 to "
				    "%d\n", SEED_MAX_JOBS);
				return 2;
			}
			break;
		case 'q': quiet = 1; break;
		default: usage(stderr); return 2;
		}
	argc -= optind;
	argv += optind;
	if (cfile == NULL || argc < 1) {
		usage(stderr);
		return 2;
	}
	if (conf_load(&conf, cfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "referd-seed: %s\n", err);
		return 1;
	}
	if (!have_base)
		base = ((int64_t)time(NULL) * 1000 + getpid() % 1000) * 100000;
	cmd = argv[0];
	if (strcmp(cmd, "rewarded") == 0 || strcmp(cmd, "held") == 0 ||
	    strcmp(cmd, "pending") == 0) {
		if (argc != 2 || num(argv[1], &n) == -1 || n < 1 ||
		    n > SEED_MAX_PAIRS) {
			fprintf(stderr, "referd-seed: %s wants a count of 1 "
			    "to %d\n", cmd, SEED_MAX_PAIRS);
			return 2;
		}
		return pairs(base, n, (int)jobs, cmd[0] == 'r' ?
		    PAIR_REWARDED : cmd[0] == 'h' ? PAIR_HELD :
		    PAIR_PENDING) == 0 ? 0 : 1;
	}
	if (argc < 2 || argc > 3 || num(argv[1], &n) == -1) {
		usage(stderr);
		return 2;
	}
	if ((db = db_new(&conf, 0)) == NULL)
		return 1;
	rc = one(db, cmd, n, argc == 3 ? argv[2] : NULL);
	db_free(db);
	return rc;
}
