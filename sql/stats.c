/*
 * A referrer's counters for GET /v1/referrers/{id}/stats.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

/* Reads row "i" of STMT_STATS_REWARDS into the stats_row "arg". */
static enum db_rc
stats_reward_fetch(struct db *db, enum stmt st, size_t i, void *arg)
{
	struct stats_row	*s = arg;

	return db_fetch(db, st, "ssm", s->rewards[i].type,
	    sizeof(s->rewards[i].type), s->rewards[i].currency,
	    sizeof(s->rewards[i].currency), &s->rewards[i].amount);
}

struct stats_arg {
	int64_t		 user;
	struct stats_row *out;
};

static enum db_rc
stats_fn(struct db *db, void *arg)
{
	struct stats_arg	*a = arg;
	struct stats_row	*s = a->out;
	struct code_row		 c;
	enum db_rc		 rc;

	memset(s, 0, sizeof(*s));
	s->user_id = a->user;
	if ((rc = db_code_by_user_in(db, a->user, &c)) == DB_OK) {
		memcpy(s->code, c.code, sizeof(c.code));
		if ((rc = db_one(db, STMT_STATS_CLICKS, &s->clicks,
		    db_exec(db, STMT_STATS_CLICKS, "s", c.code))) != DB_OK)
			return rc;
	} else if (rc != DB_NOTFOUND)
		return rc;
	if ((rc = db_exec(db, STMT_STATS_COUNTS, "l", a->user)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_STATS_COUNTS, "llllll", &s->signups,
	    &s->pending, &s->converted, &s->rewarded, &s->voided, &s->held);
	db_done(db, STMT_STATS_COUNTS);
	if (rc != DB_OK)
		return rc;
	if (s->code[0] == '\0' && s->signups == 0)
		return DB_NOTFOUND;
	if ((rc = db_exec(db, STMT_STATS_REWARDS, "l", a->user)) != DB_OK)
		return rc;
	return db_rows(db, STMT_STATS_REWARDS, STATS_MAX_REWARDS, &s->rewardsz,
	    stats_reward_fetch, s);
}

/*
 * Reads a referrer's counters.  Returns DB_OK, DB_NOTFOUND (no code and
 * no referrals), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_stats_get(struct db *db, int64_t user, struct stats_row *out)
{
	struct stats_arg	 a = { .user = user, .out = out };

	return db_read(db, stats_fn, &a);
}
