/*
 * The ops console's read queries.  Writes (void, approve, flag, retry) are
 * not here: the console calls the same operations as the API (ops.c,
 * outbox.c), so an act in the console and one over HTTP are the same.
 *
 * Every list function fills a caller-owned array of at most "max" rows and
 * sets *n; it runs through db_read() and so is replayed from the start on
 * a lost connection.
 */
#include "config.h"

#include <string.h>

#include "sql.h"

struct list_arg {
	int64_t		 user;
	const char	*code;
	void		*rows;
	size_t		 max, *n, *held;
};

/* Reads one referrer row of STMT_CON_TOP or STMT_CON_FIND. */
static enum db_rc
referrer_fetch(struct db *db, enum stmt s, struct con_referrer *r)
{
	memset(r, 0, sizeof(*r));
	return db_fetch(db, s, "lslllll", &r->user_id, r->code,
	    sizeof(r->code), &r->clicks, &r->signups, &r->conversions,
	    &r->held, &r->voided);
}

/* Adds the issued referrer rewards by type to rows already read. */
static enum db_rc
referrer_rewards(struct db *db, struct con_referrer *rows, size_t n)
{
	enum db_rc	 rc = DB_OK;
	size_t		 i;

	for (i = 0; i < n; i++) {
		struct con_referrer *r = &rows[i];

		if ((rc = db_exec(db, STMT_STATS_REWARDS, "l",
		    r->user_id)) != DB_OK)
			return rc;
		while (r->rewardsz < CON_MAX_REWARD_TYPES) {
			size_t	 k = r->rewardsz;

			rc = db_fetch(db, STMT_STATS_REWARDS, "ssm",
			    r->rewards[k].type, sizeof(r->rewards[k].type),
			    r->rewards[k].currency,
			    sizeof(r->rewards[k].currency),
			    &r->rewards[k].amount);
			if (rc != DB_OK)
				break;
			r->rewardsz++;
		}
		db_done(db, STMT_STATS_REWARDS);
		if (rc != DB_OK && rc != DB_NOTFOUND)
			return rc;
		rc = DB_OK;
	}
	return rc;
}

static enum db_rc
referrers_fn(struct db *db, void *arg)
{
	struct list_arg		*a = arg;
	struct con_referrer	*rows = a->rows;
	enum stmt		 s;
	enum db_rc		 rc;

	*a->n = 0;
	if (a->code != NULL) {
		s = STMT_CON_FIND;
		rc = db_exec(db, s, "lsl", a->user, a->code, (int64_t)a->max);
	} else {
		s = STMT_CON_TOP;
		rc = db_exec(db, s, "l", (int64_t)a->max);
	}
	if (rc != DB_OK)
		return rc;
	while (*a->n < a->max &&
	    (rc = referrer_fetch(db, s, &rows[*a->n])) == DB_OK)
		(*a->n)++;
	db_done(db, s);
	if (rc != DB_OK && rc != DB_NOTFOUND)
		return rc;
	return referrer_rewards(db, rows, *a->n);
}

/*
 * Lists the top referrers by conversions (converted or rewarded), then
 * signups, then user id, with their clicks, counts and issued rewards by
 * type.  Returns DB_OK, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_referrers_top(struct db *db, struct con_referrer *rows, size_t max,
    size_t *n)
{
	struct list_arg	 a = { .rows = rows, .max = max, .n = n };

	return db_read(db, referrers_fn, &a);
}

/*
 * Finds referrers whose user id is "user" or whose code is "code" (either
 * may match nothing: pass 0 or ""), with the columns of db_referrers_top.
 * A user with a code but no referrals is found too.
 */
enum db_rc
db_referrers_find(struct db *db, int64_t user, const char *code,
    struct con_referrer *rows, size_t max, size_t *n)
{
	struct list_arg	 a = { .user = user, .code = code, .rows = rows,
			      .max = max, .n = n };

	return db_read(db, referrers_fn, &a);
}

/*
 * The state of a listed referral from its database names (a flag's
 * LEFT JOIN gives none: pending, none, with referral_id 0).
 */
static void
list_pos(const char *status, const char *review, enum ref_state *st,
    enum ref_review *rv)
{
	if (fsm_state_parse(status, st) == -1)
		*st = RS_PENDING;
	if (fsm_review_parse(review, rv) == -1)
		*rv = RV_NONE;
}

static enum db_rc
referral_row(struct db *db, enum stmt s, size_t i, void *arg)
{
	struct con_referral	*r = (struct con_referral *)arg + i;
	char			 status[16], review[16];
	enum db_rc		 rc;

	memset(r, 0, sizeof(*r));
	rc = db_fetch(db, s, "llsssllllsmms", &r->id, &r->referee_id, status,
	    sizeof(status), review, sizeof(review), r->review_rule,
	    sizeof(r->review_rule), &r->created_at, &r->converted_at,
	    &r->rewarded_at, &r->voided_at, r->void_reason,
	    sizeof(r->void_reason), &r->issued, &r->revoked, r->currency,
	    sizeof(r->currency));
	list_pos(status, review, &r->status, &r->review);
	return rc;
}

static enum db_rc
referrals_fn(struct db *db, void *arg)
{
	struct list_arg		*a = arg;
	enum db_rc		 rc;

	*a->n = 0;
	if ((rc = db_exec(db, STMT_CON_REFERRALS, "ll", a->user,
	    (int64_t)a->max)) != DB_OK)
		return rc;
	return db_rows(db, STMT_CON_REFERRALS, a->max, a->n, referral_row,
	    a->rows);
}

/*
 * Lists the referrals of "referrer", newest first, with their status,
 * review state, dates and reward totals (issued and revoked).
 */
enum db_rc
db_referrals_list_by_referrer(struct db *db, int64_t referrer,
    struct con_referral *rows, size_t max, size_t *n)
{
	struct list_arg	 a = { .user = referrer, .rows = rows, .max = max,
			      .n = n };

	return db_read(db, referrals_fn, &a);
}

static enum db_rc
held_row(struct db *db, enum stmt s, size_t i, void *arg)
{
	struct con_fraud	*f = (struct con_fraud *)arg + i;
	char			 status[16], review[16];
	enum db_rc		 rc;

	memset(f, 0, sizeof(*f));
	rc = db_fetch(db, s, "lllsssls", &f->referral_id, &f->user_id,
	    &f->referrer_id, f->rule, sizeof(f->rule), status, sizeof(status),
	    review, sizeof(review), &f->at, f->detail, sizeof(f->detail));
	list_pos(status, review, &f->status, &f->review);
	strcpy(f->decision, "hold");
	return rc;
}

static enum db_rc
flag_row(struct db *db, enum stmt s, size_t i, void *arg)
{
	struct con_fraud	*f = (struct con_fraud *)arg + i;
	char			 status[16], review[16];
	enum db_rc		 rc;

	memset(f, 0, sizeof(*f));
	rc = db_fetch(db, s, "llllsssls" "s", &f->flag_id, &f->referral_id,
	    &f->user_id, &f->referrer_id, f->rule, sizeof(f->rule),
	    f->decision, sizeof(f->decision), f->detail, sizeof(f->detail),
	    &f->at, status, sizeof(status), review, sizeof(review));
	list_pos(status, review, &f->status, &f->review);
	return rc;
}

static enum db_rc
fraud_fn(struct db *db, void *arg)
{
	struct list_arg		*a = arg;
	struct con_fraud	*rows = a->rows;
	size_t			 n;
	enum db_rc		 rc;

	*a->n = *a->held = 0;
	if ((rc = db_exec(db, STMT_CON_HELD, "l", (int64_t)a->max)) != DB_OK ||
	    (rc = db_rows(db, STMT_CON_HELD, a->max, a->n, held_row,
	    rows)) != DB_OK)
		return rc;
	*a->held = *a->n;
	if (*a->n == a->max)
		return DB_OK;
	if ((rc = db_exec(db, STMT_CON_FLAGS, "l",
	    (int64_t)(a->max - *a->n))) != DB_OK)
		return rc;
	rc = db_rows(db, STMT_CON_FLAGS, a->max - *a->n, &n, flag_row,
	    rows + *a->n);
	*a->n += n;
	return rc;
}

/*
 * Lists the fraud screen: first the referrals held for review (newest
 * first; *held of them), then the most recent fraud flags of every kind
 * with their rule and detail, up to "max" rows in all.
 */
enum db_rc
db_fraud_list(struct db *db, struct con_fraud *rows, size_t max, size_t *n,
    size_t *held)
{
	struct list_arg	 a = { .rows = rows, .max = max, .n = n,
			      .held = held };

	return db_read(db, fraud_fn, &a);
}

static enum db_rc
dead_fn(struct db *db, void *arg)
{
	struct list_arg	*a = arg;
	struct con_dead	*rows = a->rows, *d;
	enum db_rc	 rc;

	*a->n = 0;
	if ((rc = db_exec(db, STMT_CON_DEAD, "l", (int64_t)a->max)) != DB_OK)
		return rc;
	while (*a->n < a->max) {
		d = &rows[*a->n];
		memset(d, 0, sizeof(*d));
		rc = db_fetch(db, STMT_CON_DEAD, "llssllslll", &d->id,
		    &d->reward_id, d->event, sizeof(d->event), d->type,
		    sizeof(d->type), &d->attempts, &d->last_status,
		    d->last_error, sizeof(d->last_error), &d->last_try,
		    &d->referral_id, &d->user_id);
		if (rc != DB_OK)
			break;
		(*a->n)++;
	}
	db_done(db, STMT_CON_DEAD);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

/*
 * Lists dead outbox rows, newest first, with their last HTTP status and
 * error and the reward they carry.
 */
enum db_rc
db_outbox_dead_list(struct db *db, struct con_dead *rows, size_t max,
    size_t *n)
{
	struct list_arg	 a = { .rows = rows, .max = max, .n = n };

	return db_read(db, dead_fn, &a);
}

static enum db_rc
audit_fn(struct db *db, void *arg)
{
	struct list_arg	*a = arg;
	struct con_audit *rows = a->rows, *r;
	enum db_rc	 rc;

	*a->n = 0;
	if ((rc = db_exec(db, STMT_CON_AUDIT, "l", (int64_t)a->max)) != DB_OK)
		return rc;
	while (*a->n < a->max) {
		r = &rows[*a->n];
		memset(r, 0, sizeof(*r));
		rc = db_fetch(db, STMT_CON_AUDIT, "llsslls", &r->id, &r->at,
		    r->operator, sizeof(r->operator), r->action,
		    sizeof(r->action), &r->referral_id, &r->target_user,
		    r->detail, sizeof(r->detail));
		if (rc != DB_OK)
			break;
		(*a->n)++;
	}
	db_done(db, STMT_CON_AUDIT);
	return rc == DB_NOTFOUND || rc == DB_OK ? DB_OK : rc;
}

/*
 * Lists the audit log of manual actions, newest first.
 */
enum db_rc
db_audit_list(struct db *db, struct con_audit *rows, size_t max, size_t *n)
{
	struct list_arg	 a = { .rows = rows, .max = max, .n = n };

	return db_read(db, audit_fn, &a);
}
