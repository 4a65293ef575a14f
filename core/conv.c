/*
 * The conversion decision: what an order event does to a referral, and
 * when and to whom its rewards go.  Facts in, a verdict out.
 */
#include "config.h"

#include <string.h>

#include "core.h"

static const char *const outcome_names[OUT__MAX] = {
	[OUT_CONVERTED] = "converted",
	[OUT_DUPLICATE] = "duplicate",
	[OUT_IGNORED] = "ignored",
	[OUT_BELOW_MINIMUM] = "below_minimum",
	[OUT_NO_REFERRAL] = "no_referral",
	[OUT_VOIDED] = "voided",
};
_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == OUT__MAX,
    "outcome names");

static const char *const reason_names[CR__MAX] = {
	[CR_NONE] = "",
	[CR_TYPE_NOT_QUALIFYING] = "type_not_qualifying",
	[CR_ORDER_REFUNDED] = "order_refunded",
	[CR_NOT_CONVERTING_ORDER] = "not_converting_order",
	[CR_PAYMENT_MATCH] = "payment_match",
	[CR_REFUNDED] = "refunded",
	[CR_PARTIAL_REFUND] = "partial_refund",
	[CR_ALREADY_PENDING] = "already_pending",
	[CR_ALREADY_CONVERTED] = "already_converted",
	[CR_ALREADY_REWARDED] = "already_rewarded",
	[CR_ALREADY_VOIDED] = "already_voided",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == CR__MAX,
    "conversion reasons");
_Static_assert(CR_ALREADY_VOIDED - CR_ALREADY_PENDING ==
    RS_VOIDED - RS_PENDING && CR_ALREADY_VOIDED + 1 == CR__MAX &&
    RS_VOIDED + 1 == RS__MAX, "CR_ALREADY_* follow enum ref_state");

static const char *const role_names[CONV_ROLE__MAX] = {
	[CONV_REFERRER] = "referrer",
	[CONV_REFEREE] = "referee",
};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == CONV_ROLE__MAX,
    "reward roles");

/*
 * Returns what an event of type "type" is: CONV_ORDER if the conf lists
 * it in qualifying_events, CONV_REFUND for "order.refunded", else
 * CONV_OTHER.
 */
enum conv_kind
conv_kind(const struct conf *c, const char *type)
{
	if (conf_is_qualifying(c, type))
		return CONV_ORDER;
	if (type != NULL && strcmp(type, "order.refunded") == 0)
		return CONV_REFUND;
	return CONV_OTHER;
}

/* Returns 1 if two currency codes are given and equal. */
static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* An ignored outcome for a referral the event cannot move from "at". */
static void
already(struct conv_verdict *v, struct ref_pos at)
{
	v->outcome = OUT_IGNORED;
	v->reason = (enum conv_reason)(CR_ALREADY_PENDING + at.status);
}

/*
 * A refund of the converting order voids the referral; a partial one (of
 * less than the order, in its currency) is recorded and changes nothing.
 */
static void
decide_refund(const struct conv_facts *f, struct conv_verdict *v)
{
	struct fsm_step	 step;

	if (f->referral_id == 0) {
		v->outcome = OUT_IGNORED;
		v->reason = CR_NOT_CONVERTING_ORDER;
		return;
	}
	v->referral_id = f->referral_id;
	step = fsm_next(f->at, RE_REFUND);
	if (step.rc != FSM_OK) {
		already(v, f->at);
		return;
	}
	if (f->order_amount >= 0 && same(f->currency, f->order_currency) &&
	    f->amount < f->order_amount) {
		v->outcome = OUT_IGNORED;
		v->reason = CR_PARTIAL_REFUND;
		return;
	}
	v->outcome = OUT_VOIDED;
	v->reason = CR_REFUNDED;
	v->event = RE_REFUND;
	v->next = step.next;
}

/*
 * A qualifying order: pending -> converted, then at once either voided
 * (the payment fingerprint rule) or rewarded (no hold days, not held).
 */
static void
decide_order(const struct conv_facts *f, struct conv_verdict *v)
{
	struct fsm_step	 step, then;

	/* Amounts in two currencies do not compare: no minimum, no order. */
	if (!same(f->currency, f->min_currency) ||
	    f->amount < f->min_amount) {
		v->outcome = OUT_BELOW_MINIMUM;
		return;
	}
	if (f->referral_id == 0) {
		v->outcome = OUT_NO_REFERRAL;
		return;
	}
	v->referral_id = f->referral_id;
	step = fsm_next(f->at, RE_CONVERT);
	/* Order systems deliver out of order: a refund first forbids it. */
	if (step.rc == FSM_OK && f->order_refunded) {
		v->outcome = OUT_IGNORED;
		v->reason = CR_ORDER_REFUNDED;
		return;
	}
	if (step.rc != FSM_OK) {
		already(v, f->at);
		return;
	}
	v->outcome = OUT_CONVERTED;
	v->event = RE_CONVERT;
	v->next = step.next;
	if (f->payment_match) {
		then = fsm_next(step.next, RE_VOID);
		if (then.rc == FSM_OK) {
			v->outcome = OUT_VOIDED;
			v->reason = CR_PAYMENT_MATCH;
			v->void_rule = RULE_PAYMENT_MATCH;
			v->next = then.next;
			return;
		}
	}
	if (!fsm_can(step.next, RE_REWARD))
		v->reward = CONV_REWARD_REVIEW;
	else if (f->hold_days > 0)
		v->reward = CONV_REWARD_AFTER_HOLD;
	else
		v->reward = CONV_REWARD_NOW;
}

/*
 * Decides what an order event does.  The verdict says the outcome to
 * answer, the transition to store (v.event, RE__MAX for none) and where
 * the referral ends (v.next), whether a fraud rule voids it at once
 * (v.void_rule) and when its rewards go (v.reward).
 */
struct conv_verdict
conv_decide(const struct conv_facts *f)
{
	struct conv_verdict	 v;

	memset(&v, 0, sizeof(v));
	v.event = RE__MAX;
	v.void_rule = RULE_NONE;
	v.reward = CONV_REWARD_NONE;
	v.next = f->at;
	switch (f->kind) {
	case CONV_ORDER:
		decide_order(f, &v);
		break;
	case CONV_REFUND:
		decide_refund(f, &v);
		break;
	default:
		v.outcome = OUT_IGNORED;
		v.reason = CR_TYPE_NOT_QUALIFYING;
		break;
	}
	return v;
}

/*
 * Returns the time a conversion must be at or before to be out of its
 * hold period at "now".
 */
int64_t
conv_hold_cutoff(long hold_days, int64_t now)
{
	return now - (int64_t)hold_days * CONV_DAY;
}

/*
 * Returns 1 if a referral at "at", converted at "converted_at", is due
 * its rewards at "now": the state machine allows RE_REWARD (converted,
 * not held) and the hold period is over.  Else 0.
 */
int
conv_reward_due(struct ref_pos at, int64_t converted_at, long hold_days,
    int64_t now)
{
	return fsm_can(at, RE_REWARD) &&
	    converted_at <= conv_hold_cutoff(hold_days, now);
}

/*
 * Decides what happens to a referral when its rewards would go out: a
 * referrer flagged since attribution holds it for review (unless an
 * operator already approved it), an order paid with a fingerprint the
 * referrer used (seen during the hold period too) voids it, and
 * otherwise a due referral is rewarded.
 */
struct conv_reward_verdict
conv_reward_decide(const struct conv_reward_facts *f, int64_t now)
{
	struct conv_reward_verdict v = { CONV_ACT_NONE, RULE_NONE, f->at };
	struct fsm_step	 step;

	if (!conv_reward_due(f->at, f->converted_at, f->hold_days, now))
		return v;
	if (f->payment_match) {
		step = fsm_next(f->at, RE_VOID);
		if (step.rc == FSM_OK) {
			v.act = CONV_ACT_VOID;
			v.rule = RULE_PAYMENT_MATCH;
			v.next = step.next;
		}
		return v;
	}
	if (f->referrer_flagged && f->at.review != RV_APPROVED) {
		step = fsm_next(f->at, RE_HOLD);
		if (step.rc == FSM_OK) {
			v.act = CONV_ACT_HOLD;
			v.rule = RULE_FLAGGED_REFERRER;
			v.next = step.next;
		}
		return v;
	}
	step = fsm_next(f->at, RE_REWARD);
	if (step.rc == FSM_OK && (step.actions & FSM_A_REWARD)) {
		v.act = CONV_ACT_REWARD;
		v.next = step.next;
	}
	return v;
}

/*
 * Decides what voiding a rewarded referral does with one reward, from
 * the state of its grant's outbox row: a grant never attempted, or whose
 * attempts all had an answer that was not 2xx, is cancelled and never
 * sent (nothing to revoke); one in flight, or that "may_have_arrived"
 * (any attempt without an HTTP answer: a timeout, a reset, a request a
 * dispatcher gave back or died in, whatever came after it, and whatever
 * "attempts" says, since a given-back attempt is not counted) gets a
 * revocation that waits for it; a delivered grant (or one purged after
 * delivery) is revoked; a dead or cancelled one needs nothing.
 */
enum conv_revoke
conv_revoke_plan(enum outbox_state grant, int64_t attempts,
    int may_have_arrived)
{
	switch (grant) {
	case OB_PENDING:
		(void)attempts;
		return may_have_arrived ? CONV_REVOKE_AFTER :
		    CONV_REVOKE_CANCEL;
	case OB_INFLIGHT:
		return CONV_REVOKE_AFTER;
	case OB_GONE:
	case OB_DELIVERED:
		return CONV_REVOKE_NOW;
	default:
		return CONV_REVOKE_NONE;
	}
}

static const char *const outbox_state_names[OB__MAX] = {
	[OB_GONE] = "gone",
	[OB_PENDING] = "pending",
	[OB_INFLIGHT] = "inflight",
	[OB_DELIVERED] = "delivered",
	[OB_DEAD] = "dead",
	[OB_CANCELLED] = "cancelled",
};
_Static_assert(sizeof(outbox_state_names) / sizeof(outbox_state_names[0]) ==
    OB__MAX, "outbox states");

/* Returns the database name of an outbox state, or "unknown". */
const char *
outbox_state_name(enum outbox_state s)
{
	return (unsigned int)s < OB__MAX ? outbox_state_names[s] : "unknown";
}

/*
 * Parses an outbox status as stored.  Returns 0 and sets *s, or -1 if
 * "str" names no state.
 */
int
outbox_state_parse(const char *str, enum outbox_state *s)
{
	int	 i;

	for (i = OB_PENDING; str != NULL && i < OB__MAX; i++)
		if (strcmp(str, outbox_state_names[i]) == 0) {
			*s = (enum outbox_state)i;
			return 0;
		}
	return -1;
}

/*
 * Fills "out" with who is rewarded for a referral and with what (the
 * conf's reward_referrer and reward_referee; "out" points into the conf).
 * Returns the number of parties.
 */
size_t
conv_parties(const struct conf *c, int64_t referrer, int64_t referee,
    struct conv_party out[CONV_ROLE__MAX])
{
	out[CONV_REFERRER].role = CONV_REFERRER;
	out[CONV_REFERRER].user_id = referrer;
	out[CONV_REFERRER].def = &c->reward_referrer;
	out[CONV_REFEREE].role = CONV_REFEREE;
	out[CONV_REFEREE].user_id = referee;
	out[CONV_REFEREE].def = &c->reward_referee;
	return CONV_ROLE__MAX;
}

/* Returns the text of a reason ("" for CR_NONE), or "unknown". */
const char *
conv_reason_name(enum conv_reason r)
{
	return (unsigned int)r < CR__MAX ? reason_names[r] : "unknown";
}

/* Returns "referrer" or "referee", or "unknown". */
const char *
conv_role_name(enum conv_role r)
{
	return (unsigned int)r < CONV_ROLE__MAX ? role_names[r] : "unknown";
}

/* Returns the name of an outcome ("converted", ...), or "unknown". */
const char *
outcome_name(enum outcome o)
{
	return (unsigned int)o < OUT__MAX ? outcome_names[o] : "unknown";
}
