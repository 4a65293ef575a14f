/*
 * Referrals: storing the transitions core decides (reward, void, approve,
 * hold), the fraud flags and audit rows they leave, and reading one.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

/* Inserts a fraud flag row: "rule" decided "decision" with "detail". */
enum db_rc
db_flag_insert(struct db *db, int64_t referral, int64_t user, int64_t referrer,
    enum rule rule, const char *decision, const char *detail, int64_t now)
{
	return db_exec(db, STMT_FLAG_INSERT, "LlLsssl", referral, user,
	    referrer, rule_name(rule), decision, detail, now);
}

/*
 * One audit_log row.  "who" adds the request id, client address and key
 * of an act over HTTP (NULL, or NULL fields: not recorded).
 */
enum db_rc
db_audit_insert(struct db *db, const char *operator, const char *action,
    int64_t referral, int64_t user, const char *detail,
    const struct audit_who *who, int64_t now)
{
	return db_exec(db, STMT_AUDIT_INSERT, "lssLLsSSS", now, operator,
	    action, referral, user, detail,
	    who != NULL ? who->request_id : NULL,
	    who != NULL ? who->client : NULL,
	    who != NULL ? who->credential : NULL);
}

/*
 * Reads the referral row of executed statement "s" (the REFERRAL_COLS
 * statements) and finishes it.  Returns DB_OK, DB_NOTFOUND, or DB_ERR for
 * a status or review the state machine does not know.
 */
enum db_rc
db_referral_fetch(struct db *db, enum stmt s, struct referral_row *r)
{
	char		 status[16], review[16];
	enum db_rc	 rc;

	memset(r, 0, sizeof(*r));
	rc = db_fetch(db, s, "lllsssssslllls", &r->id, &r->referrer_id,
	    &r->referee_id, r->code, sizeof(r->code), status, sizeof(status),
	    review, sizeof(review), r->review_rule,
	    sizeof(r->review_rule), r->conversion_event,
	    sizeof(r->conversion_event), r->conversion_order,
	    sizeof(r->conversion_order), &r->created_at, &r->converted_at,
	    &r->rewarded_at, &r->voided_at, r->void_reason,
	    sizeof(r->void_reason));
	db_done(db, s);
	if (rc == DB_OK && (fsm_state_parse(status, &r->status) == -1 ||
	    fsm_review_parse(review, &r->review) == -1))
		rc = DB_ERR;
	return rc;
}

/* Where a referral row is in the state machine. */
static struct ref_pos
pos(const struct referral_row *r)
{
	struct ref_pos	 at = { r->status, r->review };

	return at;
}

struct referral_arg {
	int64_t		 id;
	const char	*reason;
	const char	*operator;
	const struct audit_who *who;	/* of an API act, or NULL */
	int64_t		 now;
	struct referral_row *row;
};

/* Inside a transaction: reads referral "id" FOR UPDATE. */
enum db_rc
db_referral_lock(struct db *db, int64_t id, struct referral_row *r)
{
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ID_LOCK, "l", id)) != DB_OK)
		return rc;
	return db_referral_fetch(db, STMT_REFERRAL_BY_ID_LOCK, r);
}

/*
 * Gathers what conv_reward_decide() needs about locked referral "r": is
 * the referrer flagged now, and was the converting order paid with a
 * fingerprint the referrer has used (by now: during the hold period too).
 */
static enum db_rc
reward_facts(struct db *db, const struct referral_row *r,
    struct conv_reward_facts *f)
{
	int64_t		 n;
	enum db_rc	 rc;

	memset(f, 0, sizeof(*f));
	f->at = pos(r);
	f->converted_at = r->converted_at;
	f->hold_days = db->conf->hold_days;
	if ((rc = db_one(db, STMT_FLAGGED_GET_LOCK, &n, db_exec(db,
	    STMT_FLAGGED_GET_LOCK, "l", r->referrer_id))) != DB_OK)
		return rc;
	f->referrer_flagged = n > 0;
	if (r->conversion_event[0] == '\0')
		return DB_OK;
	if ((rc = db_one(db, STMT_EVENT_PAYFP_MATCH, &n, db_exec(db,
	    STMT_EVENT_PAYFP_MATCH, "sl", r->conversion_event,
	    r->referrer_id))) != DB_OK)
		return rc;
	f->payment_match = n > 0;
	return DB_OK;
}

/* Stores a hold for review by "rule" decided at reward time. */
static enum db_rc
reward_hold(struct db *db, const struct referral_row *r,
    const struct conv_reward_verdict *v, int64_t now)
{
	char		 detail[MAX_REASON];
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_SET_REVIEW, "sSls",
	    fsm_review_name(v->next.review), rule_name(v->rule), r->id,
	    fsm_review_name(r->review))) != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_SET_REVIEW) != 1)
		return DB_RETRY; /* changed under us despite the lock */
	snprintf(detail, sizeof(detail), "referrer %" PRId64 " is flagged: "
	    "held at reward time", r->referrer_id);
	return db_flag_insert(db, r->id, r->referee_id, r->referrer_id,
	    v->rule, fraud_verdict_name(FRAUD_HOLD), detail, now);
}

/* Stores a void decided at reward time (the payment fingerprint rule). */
static enum db_rc
reward_void(struct db *db, const struct referral_row *r,
    const struct conv_reward_verdict *v, int64_t now)
{
	char		 detail[MAX_REASON];
	enum db_rc	 rc;

	rc = db_referral_void_in(db, r, RE_VOID, rule_name(v->rule), now);
	if (rc != DB_OK)
		return rc == DB_NOOP || rc == DB_INVALID ? DB_RETRY : rc;
	snprintf(detail, sizeof(detail), "order %s paid with a payment "
	    "fingerprint of referrer %" PRId64 " (at reward time)",
	    r->conversion_order, r->referrer_id);
	return db_flag_insert(db, r->id, r->referee_id, r->referrer_id,
	    v->rule, fraud_verdict_name(rule_verdict(v->rule)), detail, now);
}

/*
 * Inside a transaction, referral "r" locked: what conv_reward_decide()
 * says at reward time.  Converted -> rewarded with the rewards of
 * conv_parties() and their outbox rows; or held (flagged referrer), or
 * voided (payment fingerprint), both stored: the caller commits.
 * Returns DB_OK (rewarded), DB_NOOP (no rewards: not due, held or voided
 * now or before, or done).
 */
enum db_rc
db_reward_issue_in(struct db *db, const struct referral_row *r, int64_t now)
{
	const struct conf	*conf = db->conf;
	struct conv_party	 p[CONV_ROLE__MAX];
	struct conv_reward_facts f;
	struct conv_reward_verdict v;
	enum db_rc		 rc;
	size_t			 i, n;

	if (!conv_reward_due(pos(r), r->converted_at, conf->hold_days, now))
		return DB_NOOP;
	if ((rc = reward_facts(db, r, &f)) != DB_OK)
		return rc;
	v = conv_reward_decide(&f, now);
	switch (v.act) {
	case CONV_ACT_HOLD:
		return (rc = reward_hold(db, r, &v, now)) == DB_OK ? DB_NOOP :
		    rc;
	case CONV_ACT_VOID:
		return (rc = reward_void(db, r, &v, now)) == DB_OK ? DB_NOOP :
		    rc;
	case CONV_ACT_REWARD:
		break;
	default:
		return DB_NOOP;
	}
	/* The conditions again: the row is locked, but cheap to be sure. */
	rc = db_exec(db, STMT_REFERRAL_REWARD, "lll", now, r->id,
	    conv_hold_cutoff(conf->hold_days, now));
	if (rc != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_REWARD) != 1)
		return DB_NOOP;
	n = conv_parties(conf, r->referrer_id, r->referee_id, p);
	for (i = 0; i < n; i++) {
		const char	*role = conv_role_name(p[i].role);

		rc = db_exec(db, STMT_REWARD_INSERT, "lslsmsl", r->id, role,
		    p[i].user_id, p[i].def->type, p[i].def->amount,
		    p[i].def->currency, now);
		if (rc != DB_OK)
			return rc == DB_DUP ? DB_RETRY : rc;
		if ((rc = outbox_reward(db, "reward.issued",
		    db_insert_id(db, STMT_REWARD_INSERT), r->id, p[i].user_id,
		    role, p[i].def, now, 0, 0, now)) != DB_OK)
			return rc;
	}
	return DB_OK;
}

/* Reads row "i" of STMT_REWARD_LIST into the reward_row array "arg". */
static enum db_rc
reward_fetch(struct db *db, enum stmt s, size_t i, void *arg)
{
	struct reward_row *w = (struct reward_row *)arg + i;

	memset(w, 0, sizeof(*w));
	return db_fetch(db, s, "lslsmsslslslsls", &w->id, w->role,
	    sizeof(w->role), &w->user_id, w->type, sizeof(w->type),
	    &w->amount, w->currency, sizeof(w->currency), w->status,
	    sizeof(w->status), &w->issued_at, w->delivery,
	    sizeof(w->delivery), &w->attempts, w->last_error,
	    sizeof(w->last_error), &w->revoked_at, w->rv_delivery,
	    sizeof(w->rv_delivery), &w->rv_attempts, w->rv_last_error,
	    sizeof(w->rv_last_error));
}

/* The rewards of referral "id" with their delivery, up to "max". */
static enum db_rc
reward_list(struct db *db, int64_t id, struct reward_row *rw, size_t max,
    size_t *n)
{
	enum db_rc	 rc;

	*n = 0;
	if ((rc = db_exec(db, STMT_REWARD_LIST, "l", id)) != DB_OK)
		return rc;
	return db_rows(db, STMT_REWARD_LIST, max, n, reward_fetch, rw);
}

/*
 * Revokes one reward of a voided referral in the order SPEC 13 asks:
 * its grant's outbox row is locked and conv_revoke_plan() decides.  A
 * grant never sent is cancelled; one that may yet arrive gets a
 * revocation that the claim holds back until the grant is delivered
 * (and that a dead grant cancels); the grant row is written either way,
 * so that a dispatcher settling it concurrently conflicts with us on a
 * cluster too.
 */
static enum db_rc
reward_revoke(struct db *db, const struct referral_row *r,
    const struct reward_row *w, int64_t now)
{
	struct reward_def def;
	enum outbox_state gs = OB_GONE;
	enum conv_revoke plan;
	char		 key[64], status[16];
	int64_t		 gid = 0, attempts = 0, unknown = 0;
	enum db_rc	 rc;

	snprintf(key, sizeof(key), "reward-%" PRId64, w->id);
	if ((rc = db_exec(db, STMT_OUTBOX_GRANT_LOCK, "s", key)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_OUTBOX_GRANT_LOCK, "lsll", &gid, status,
	    sizeof(status), &attempts, &unknown);
	db_done(db, STMT_OUTBOX_GRANT_LOCK);
	if (rc == DB_OK && outbox_state_parse(status, &gs) == -1)
		return DB_ERR;
	if (rc != DB_OK && rc != DB_NOTFOUND)
		return rc;
	plan = conv_revoke_plan(gs, attempts, unknown != 0);
	switch (plan) {
	case CONV_REVOKE_NONE:
		return DB_OK;
	case CONV_REVOKE_CANCEL:
		if ((rc = db_exec(db, STMT_OUTBOX_CANCEL, "l", gid)) != DB_OK)
			return rc;
		return db_affected(db, STMT_OUTBOX_CANCEL) == 1 ? DB_OK :
		    DB_RETRY;
	default:
		break;
	}
	memset(&def, 0, sizeof(def));
	snprintf(def.type, sizeof(def.type), "%s", w->type);
	snprintf(def.currency, sizeof(def.currency), "%s", w->currency);
	def.amount = w->amount;
	if ((rc = outbox_reward(db, "reward.revoked", w->id, r->id,
	    w->user_id, w->role, &def, w->issued_at, now,
	    plan == CONV_REVOKE_AFTER ? gid : 0, now)) != DB_OK)
		return rc;
	if (gs == OB_GONE)
		return DB_OK;
	if ((rc = db_exec(db, STMT_OUTBOX_REVOKED_BY, "lls",
	    db_insert_id(db, STMT_OUTBOX_INSERT), gid,
	    outbox_state_name(gs))) != DB_OK)
		return rc;
	return db_affected(db, STMT_OUTBOX_REVOKED_BY) == 1 ? DB_OK :
	    DB_RETRY;
}

/*
 * Inside a transaction: voids a locked referral row, revoking issued
 * rewards.  "ev" is RE_VOID or RE_REFUND.  Returns DB_OK, DB_NOOP (already
 * void or nothing to void) or DB_INVALID.
 */
enum db_rc
db_referral_void_in(struct db *db, const struct referral_row *r,
    enum ref_event ev, const char *reason, int64_t now)
{
	struct fsm_step	 step = fsm_next(pos(r), ev);
	struct reward_row rw[CONV_ROLE__MAX];
	size_t		 n, i;
	enum db_rc	 rc;

	if (step.rc != FSM_OK)
		return step.rc == FSM_NOOP ? DB_NOOP : DB_INVALID;
	if ((rc = db_exec(db, STMT_REFERRAL_VOID, "slls", reason, now, r->id,
	    fsm_state_name(r->status))) != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_VOID) != 1)
		return DB_RETRY; /* changed under us despite the lock */
	if (!(step.actions & FSM_A_REVOKE))
		return DB_OK;
	if ((rc = reward_list(db, r->id, rw, CONV_ROLE__MAX, &n)) != DB_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = db_exec(db, STMT_REWARD_REVOKE, "ll", now,
		    rw[i].id)) != DB_OK)
			return rc;
		if (db_affected(db, STMT_REWARD_REVOKE) != 1)
			continue;
		if ((rc = reward_revoke(db, r, &rw[i], now)) != DB_OK)
			return rc;
	}
	return DB_OK;
}

static enum db_rc
reward_issue_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	enum db_rc		 rc;

	if ((rc = db_referral_lock(db, a->id, &r)) != DB_OK)
		return rc;
	return db_reward_issue_in(db, &r, a->now);
}

/*
 * Rewards one converted referral if its hold period is over and it is not
 * held.  Returns DB_OK, DB_NOOP, DB_NOTFOUND, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_reward_issue(struct db *db, int64_t referral, int64_t now)
{
	struct referral_arg	 a = { .id = referral, .now = now };

	return db_txn(db, reward_issue_fn, &a);
}

/* Reads row "i" of a one-column id list into the int64_t array "arg". */
static enum db_rc
id_fetch(struct db *db, enum stmt s, size_t i, void *arg)
{
	return db_fetch(db, s, "l", (int64_t *)arg + i);
}

struct due_arg {
	int64_t		 now;
	int64_t		*ids;
	size_t		 max, *n;
};

static enum db_rc
due_fn(struct db *db, void *arg)
{
	struct due_arg	*a = arg;
	enum db_rc	 rc;

	*a->n = 0;
	if ((rc = db_exec(db, STMT_REFERRALS_DUE, "ll",
	    conv_hold_cutoff(db->conf->hold_days, a->now),
	    (int64_t)a->max)) != DB_OK)
		return rc;
	return db_rows(db, STMT_REFERRALS_DUE, a->max, a->n, id_fetch, a->ids);
}

/*
 * Lists up to "max" converted referrals whose hold period has passed and
 * that are not held for review.
 */
enum db_rc
db_rewards_due(struct db *db, int64_t now, int64_t *ids, size_t max,
    size_t *n)
{
	struct due_arg	 a = { .now = now, .ids = ids, .max = max, .n = n };

	return db_read(db, due_fn, &a);
}

static enum db_rc
void_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	enum db_rc		 rc;

	if ((rc = db_referral_lock(db, a->id, &r)) != DB_OK)
		return rc;
	if ((rc = db_referral_void_in(db, &r, RE_VOID, a->reason,
	    a->now)) != DB_OK)
		return rc;
	return db_audit_insert(db, a->operator, "void", r.id, r.referee_id,
	    a->reason, a->who, a->now);
}

/*
 * Voids a referral by hand (API or console: the same act), revoking its
 * rewards if it was rewarded, audit-logged with operator and reason, and
 * with what "who" tells of an API call (may be NULL).
 * Returns DB_OK, DB_NOOP (already void), DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_referral_void_by(struct db *db, int64_t id, const char *reason,
    const char *operator, const struct audit_who *who, int64_t now)
{
	struct referral_arg	 a = { .id = id, .reason = reason,
				    .operator = operator, .who = who,
				    .now = now };

	return db_txn(db, void_fn, &a);
}

/* db_referral_void_by() for the console and tools: the operator only. */
enum db_rc
db_referral_void(struct db *db, int64_t id, const char *reason,
    const char *operator, int64_t now)
{
	return db_referral_void_by(db, id, reason, operator, NULL, now);
}

static enum db_rc
approve_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	 r;
	struct fsm_step		 step;
	char			 detail[MAX_REASON];
	enum db_rc		 rc;

	if ((rc = db_referral_lock(db, a->id, &r)) != DB_OK)
		return rc;
	step = fsm_next(pos(&r), RE_APPROVE);
	if (step.rc != FSM_OK)
		return step.rc == FSM_NOOP ? DB_NOOP : DB_INVALID;
	if ((rc = db_exec(db, STMT_REFERRAL_SET_REVIEW, "sSls",
	    fsm_review_name(step.next.review), r.review_rule, r.id,
	    fsm_review_name(r.review))) != DB_OK)
		return rc;
	snprintf(detail, sizeof(detail), "approved by %s (held for %s)",
	    a->operator, r.review_rule);
	if ((rc = db_flag_insert(db, r.id, r.referee_id, r.referrer_id,
	    RULE_MANUAL, "approve", detail, a->now)) != DB_OK ||
	    (rc = db_audit_insert(db, a->operator, "approve", r.id, r.referee_id,
	    r.review_rule, a->who, a->now)) != DB_OK)
		return rc;
	r.review = step.next.review;
	rc = db_reward_issue_in(db, &r, a->now);
	return rc == DB_NOOP ? DB_OK : rc;
}

/*
 * Approves a held referral; if it is converted and past its hold period
 * its rewards are issued in the same transaction.  Returns DB_OK, DB_NOOP
 * (not held), DB_INVALID (rewarded or void), DB_NOTFOUND, DB_ERR or
 * DB_UNAVAILABLE.
 */
enum db_rc
db_referral_approve(struct db *db, int64_t id, const char *operator,
    int64_t now)
{
	struct referral_arg	 a = { .id = id, .operator = operator,
				    .now = now };

	return db_txn(db, approve_fn, &a);
}

static enum db_rc
flag_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	enum db_rc		 rc;

	if ((rc = db_exec(db, STMT_FLAGGED_INSERT, "lssl", a->id, a->reason,
	    a->operator, a->now)) != DB_OK)
		return rc;
	if (db_affected(db, STMT_FLAGGED_INSERT) != 1)
		return DB_NOOP;
	if ((rc = db_flag_insert(db, 0, a->id, 0, RULE_MANUAL, "flag",
	    a->reason, a->now)) != DB_OK)
		return rc;
	return db_audit_insert(db, a->operator, "flag_user", 0, a->id,
	    a->reason, a->who, a->now);
}

/*
 * Flags a user's account: their code no longer attributes anyone.
 * Returns DB_OK, DB_NOOP (already flagged), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_user_flag(struct db *db, int64_t user, const char *reason,
    const char *operator, int64_t now)
{
	struct referral_arg	 a = { .id = user, .reason = reason,
				    .operator = operator, .now = now };

	return db_txn(db, flag_fn, &a);
}

static enum db_rc
referral_get_fn(struct db *db, void *arg)
{
	struct referral_arg	*a = arg;
	struct referral_row	*r = a->row;
	enum db_rc		 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_BY_ID, "l", a->id)) != DB_OK)
		return rc;
	if ((rc = db_referral_fetch(db, STMT_REFERRAL_BY_ID, r)) != DB_OK)
		return rc;
	return reward_list(db, r->id, r->rewards,
	    sizeof(r->rewards) / sizeof(r->rewards[0]), &r->rewardsz);
}

/*
 * Reads a referral with its rewards and their delivery state.
 * Returns DB_OK, DB_NOTFOUND, DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_referral_get(struct db *db, int64_t id, struct referral_row *out)
{
	struct referral_arg	 a = { .id = id, .row = out };

	return db_read(db, referral_get_fn, &a);
}
