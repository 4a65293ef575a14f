/*
 * Order events: each recorded once for good, its facts gathered in the
 * same transaction, conv_decide() asked, and its verdict stored.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

struct event_arg {
	const struct event_in	*in;
	int64_t			 now;
	struct event_out	*out;
};

/* Reads the referral of executed lock statement "s" into "r" and "f". */
static enum db_rc
referral_facts(struct db *db, enum stmt s, struct referral_row *r,
    struct conv_facts *f)
{
	enum db_rc	 rc;

	if ((rc = db_referral_fetch(db, s, r)) == DB_NOTFOUND)
		return DB_OK;
	if (rc != DB_OK)
		return rc;
	f->referral_id = r->id;
	f->at.status = r->status;
	f->at.review = r->review;
	return DB_OK;
}

/*
 * The amount and currency of the order that converted "r", for telling a
 * partial refund from a full one: f->order_amount stays -1 if the event
 * was stored before they were kept (a refund of it voids, as before).
 */
static enum db_rc
order_amount(struct db *db, const struct referral_row *r,
    struct conv_facts *f)
{
	enum db_rc	 rc;

	if (r->conversion_event[0] == '\0')
		return DB_OK;
	if ((rc = db_exec(db, STMT_EVENT_ORDER_AMOUNT, "s",
	    r->conversion_event)) != DB_OK)
		return rc;
	rc = db_fetch(db, STMT_EVENT_ORDER_AMOUNT, "ls", &f->order_amount,
	    f->order_currency, sizeof(f->order_currency));
	db_done(db, STMT_EVENT_ORDER_AMOUNT);
	return rc == DB_NOTFOUND ? DB_OK : rc;
}

/*
 * Gathers what conv_decide() needs, locking the referral row first so
 * that a refund racing a completion of the same order is either seen
 * here or sees the conversion.  For a refund the referral is the one the
 * order converted; if there is none, the referee's referral is still
 * locked until commit, so that a completion racing us waits and then
 * finds this refund.
 */
static enum db_rc
event_facts(struct db *db, const struct event_in *in, struct referral_row *r,
    struct conv_facts *f)
{
	const struct conf	*conf = db->conf;
	int64_t			 n;
	enum db_rc		 rc;

	memset(f, 0, sizeof(*f));
	f->kind = in->mapped ? in->kind : conv_kind(conf, in->type);
	f->amount = in->amount;
	f->currency = in->currency;
	f->min_amount = conf->min_order_amount;
	/* No campaigns yet: the minimum is in the rewards' currency. */
	f->min_currency = conf->reward_referrer.currency;
	f->order_amount = -1;
	f->hold_days = conf->hold_days;
	switch (f->kind) {
	case CONV_REFUND:
		if ((rc = db_exec(db, STMT_REFERRAL_BY_ORDER_LOCK, "ls",
		    in->user_id, in->order_id)) != DB_OK ||
		    (rc = referral_facts(db, STMT_REFERRAL_BY_ORDER_LOCK, r,
		    f)) != DB_OK)
			return rc;
		if (f->referral_id != 0)
			return order_amount(db, r, f);
		if ((rc = db_exec(db, STMT_REFERRAL_BY_REFEREE_LOCK, "l",
		    in->user_id)) != DB_OK)
			return rc;
		rc = db_referral_fetch(db, STMT_REFERRAL_BY_REFEREE_LOCK, r);
		return rc == DB_NOTFOUND ? DB_OK : rc;
	case CONV_ORDER:
		break;
	default:
		return DB_OK;
	}
	if ((rc = db_exec(db, STMT_REFERRAL_BY_REFEREE_LOCK, "l",
	    in->user_id)) != DB_OK ||
	    (rc = referral_facts(db, STMT_REFERRAL_BY_REFEREE_LOCK, r,
	    f)) != DB_OK || f->referral_id == 0)
		return rc;
	if ((rc = db_one(db, STMT_EVENT_REFUNDED, &n,
	    db_exec(db, STMT_EVENT_REFUNDED, "ls", in->user_id,
	    in->order_id))) != DB_OK)
		return rc;
	f->order_refunded = n > 0;
	if (in->payment_fp[0] != '\0') {
		if ((rc = db_one(db, STMT_PAYFP_MATCH, &n,
		    db_exec(db, STMT_PAYFP_MATCH, "ls", r->referrer_id,
		    in->payment_fp))) != DB_OK)
			return rc;
		f->payment_match = n > 0;
	}
	return DB_OK;
}

/*
 * Stores a conversion: pending -> converted, then what the verdict adds
 * (a void by a fraud rule, or the rewards now).
 */
static enum db_rc
store_convert(struct db *db, const struct event_in *in,
    struct referral_row *r, const struct conv_verdict *v, int64_t now,
    struct event_out *out)
{
	char		 detail[MAX_REASON];
	enum rule	 rule = v->void_rule;
	enum db_rc	 rc;

	if ((rc = db_exec(db, STMT_REFERRAL_CONVERT, "ssll", in->id,
	    in->order_id, now, in->user_id)) != DB_OK)
		return rc;
	if (db_affected(db, STMT_REFERRAL_CONVERT) != 1)
		return DB_RETRY; /* changed under us despite the lock */
	r->status = fsm_next((struct ref_pos){ r->status, r->review },
	    RE_CONVERT).next.status;
	r->converted_at = now;
	if (rule != RULE_NONE) {
		snprintf(detail, sizeof(detail), "order %s paid with a payment "
		    "fingerprint of referrer %" PRId64, in->order_id,
		    r->referrer_id);
		if ((rc = db_referral_void_in(db, r, RE_VOID, rule_name(rule),
		    now)) != DB_OK)
			return rc == DB_NOOP || rc == DB_INVALID ? DB_ERR : rc;
		return db_flag_insert(db, r->id, r->referee_id,
		    r->referrer_id, rule, fraud_verdict_name(rule_verdict(rule)),
		    detail, now);
	}
	if (v->reward != CONV_REWARD_NOW)
		return DB_OK;
	if ((rc = db_reward_issue_in(db, r, now)) == DB_OK)
		out->rewarded = 1;
	return rc == DB_NOOP ? DB_OK : rc;
}

/* Stores a refund of the converting order: the referral is voided. */
static enum db_rc
store_refund(struct db *db, const struct event_in *in,
    const struct referral_row *r, int64_t now)
{
	enum db_rc	 rc;

	rc = db_referral_void_in(db, r, RE_REFUND,
	    conv_reason_name(CR_REFUNDED), now);
	if (rc != DB_OK)
		return rc == DB_NOOP || rc == DB_INVALID ? DB_ERR : rc;
	return db_audit_insert(db, "system", "refund", r->id, r->referee_id,
	    in->id, NULL, now);
}

static enum db_rc
event_fn(struct db *db, void *arg)
{
	struct event_arg	*a = arg;
	const struct event_in	*in = a->in;
	const char		*source = in->source[0] != '\0' ? in->source :
				    "webhook";
	struct event_in		 uin;
	struct event_out	*out = a->out;
	int64_t			 user;
	struct referral_row	 r;
	struct conv_facts	 f;
	struct conv_verdict	 v;
	int64_t			 row;
	enum db_rc		 rc;

	memset(out, 0, sizeof(*out));
	if (in->user_id == 0) {
		/*
		 * A refund that names only its order (Shopify): the user
		 * is the one whose conversion came with this order.  None
		 * yet: nothing to void, and nothing is recorded, so that a
		 * redelivery after the order looks again.
		 */
		if ((rc = db_one(db, STMT_EVENT_ORDER_USER, &user,
		    db_exec(db, STMT_EVENT_ORDER_USER, "ss", source,
		    in->order_id))) != DB_OK)
			return rc;
		if (user == 0) {
			out->outcome = OUT_IGNORED;
			snprintf(out->reason, sizeof(out->reason), "%s",
			    "order_not_found");
			return DB_OK;
		}
		memcpy(&uin, in, sizeof(uin));
		uin.user_id = user;
		in = &uin;
	}
	rc = db_exec(db, STMT_EVENT_INSERT, "ssssls" "lmSSS", source,
	    in->id, in->body_sha256, in->type, in->user_id, in->order_id,
	    a->now, in->amount, in->currency, in->payment_fp, in->occurred_at);
	if (rc == DB_DUP) {
		char	 hash[65], outcome[32];

		if ((rc = db_exec(db, STMT_EVENT_GET, "ss", source,
		    in->id)) != DB_OK)
			return rc;
		rc = db_fetch(db, STMT_EVENT_GET, "ssl", hash, sizeof(hash),
		    outcome, sizeof(outcome), &out->referral_id);
		db_done(db, STMT_EVENT_GET);
		if (rc != DB_OK)
			return rc == DB_NOTFOUND ? DB_RETRY : rc;
		out->outcome = OUT_DUPLICATE;
		return strcmp(hash, in->body_sha256) == 0 ? DB_DUP :
		    DB_CONFLICT;
	}
	if (rc != DB_OK)
		return rc;
	row = db_insert_id(db, STMT_EVENT_INSERT);
	if (in->payment_fp[0] != '\0' && (rc = db_exec(db, STMT_PAYFP_INSERT,
	    "lsl", in->user_id, in->payment_fp, a->now)) != DB_OK)
		return rc;
	if ((rc = event_facts(db, in, &r, &f)) != DB_OK)
		return rc;
	v = conv_decide(&f);
	out->outcome = v.outcome;
	out->referral_id = v.referral_id;
	snprintf(out->reason, sizeof(out->reason), "%s",
	    conv_reason_name(v.reason));
	if (v.event == RE_CONVERT)
		rc = store_convert(db, in, &r, &v, a->now, out);
	else if (v.event == RE_REFUND)
		rc = store_refund(db, in, &r, a->now);
	if (rc != DB_OK)
		return rc;
	return db_exec(db, STMT_EVENT_SET_OUTCOME, "sLl",
	    outcome_name(out->outcome), out->referral_id, row);
}

/*
 * Applies a verified conversion event: records its id for good and acts
 * on it in one transaction.  Returns DB_OK ("out" says what happened),
 * DB_DUP (seen before with the same body), DB_CONFLICT (seen with another
 * body), DB_ERR or DB_UNAVAILABLE.
 */
enum db_rc
db_event_apply(struct db *db, const struct event_in *in, int64_t now,
    struct event_out *out)
{
	struct event_arg	 a = { .in = in, .now = now, .out = out };

	return db_txn(db, event_fn, &a);
}
