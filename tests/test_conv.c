/*
 * The conversion decision: every branch of conv_decide(), the reward
 * timing and parties, and the names at the boundary.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define NOW	1700000000
#define REF	42		/* the referral id in the facts */

static struct conv_facts
order(enum ref_state st, enum ref_review rv)
{
	struct conv_facts f;

	memset(&f, 0, sizeof(f));
	f.kind = CONV_ORDER;
	f.amount = 2500;
	f.min_amount = 1000;
	f.currency = "USD";
	f.min_currency = "USD";
	f.order_amount = -1;
	memcpy(f.order_currency, "USD", 4);
	f.referral_id = REF;
	f.at.status = st;
	f.at.review = rv;
	return f;
}

static void
test_kind(void **state)
{
	struct conf	 c;

	conf_defaults(&c);
	assert_int_equal(conv_kind(&c, "order.completed"), CONV_ORDER);
	assert_int_equal(conv_kind(&c, "order.refunded"), CONV_REFUND);
	assert_int_equal(conv_kind(&c, "order.created"), CONV_OTHER);
	assert_int_equal(conv_kind(&c, ""), CONV_OTHER);
	assert_int_equal(conv_kind(&c, NULL), CONV_OTHER);
}

static void
test_other_ignored(void **state)
{
	struct conv_facts	 f = order(RS_PENDING, RV_NONE);
	struct conv_verdict	 v;

	f.kind = CONV_OTHER;
	v = conv_decide(&f);
	assert_int_equal(v.outcome, OUT_IGNORED);
	assert_int_equal(v.reason, CR_TYPE_NOT_QUALIFYING);
	assert_int_equal(v.event, RE__MAX);
	assert_int_equal(v.referral_id, 0);
	assert_int_equal(v.reward, CONV_REWARD_NONE);
	assert_int_equal(v.next.status, RS_PENDING);
}

/* Minimum: below, equal, above; nothing else is looked at below it. */
static void
test_minimum(void **state)
{
	static const struct { int64_t amount; enum outcome out; } tc[] = {
		{ 0, OUT_BELOW_MINIMUM },
		{ 999, OUT_BELOW_MINIMUM },
		{ 1000, OUT_CONVERTED },
		{ 1001, OUT_CONVERTED },
	};
	struct conv_facts	 f;
	struct conv_verdict	 v;
	size_t			 i;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		f = order(RS_PENDING, RV_NONE);
		f.amount = tc[i].amount;
		v = conv_decide(&f);
		assert_int_equal(v.outcome, tc[i].out);
		if (tc[i].out == OUT_BELOW_MINIMUM) {
			assert_int_equal(v.referral_id, 0);
			assert_int_equal(v.event, RE__MAX);
			assert_int_equal(v.reason, CR_NONE);
		} else
			assert_int_equal(v.event, RE_CONVERT);
	}
	/* A minimum of 0 takes every order. */
	f = order(RS_PENDING, RV_NONE);
	f.amount = f.min_amount = 0;
	assert_int_equal(conv_decide(&f).outcome, OUT_CONVERTED);
}

static void
test_no_referral(void **state)
{
	struct conv_facts	 f = order(RS_PENDING, RV_NONE);
	struct conv_verdict	 v;

	f.referral_id = 0;
	v = conv_decide(&f);
	assert_int_equal(v.outcome, OUT_NO_REFERRAL);
	assert_int_equal(v.referral_id, 0);
	assert_int_equal(v.event, RE__MAX);
	/* Below the minimum wins over no referral. */
	f.amount = 1;
	assert_int_equal(conv_decide(&f).outcome, OUT_BELOW_MINIMUM);
}

/* An order of a referral in each status and review state. */
static void
test_order_each_state(void **state)
{
	struct conv_facts	 f;
	struct conv_verdict	 v;
	int			 st, rv;

	for (st = 0; st < RS__MAX; st++)
		for (rv = 0; rv < RV__MAX; rv++) {
			f = order(st, rv);
			v = conv_decide(&f);
			assert_int_equal(v.referral_id, REF);
			if (st != RS_PENDING) {
				assert_int_equal(v.outcome, OUT_IGNORED);
				assert_int_equal(v.reason,
				    CR_ALREADY_PENDING + st);
				assert_int_equal(v.event, RE__MAX);
				assert_int_equal(v.reward, CONV_REWARD_NONE);
				assert_int_equal(v.next.status, st);
				continue;
			}
			assert_int_equal(v.outcome, OUT_CONVERTED);
			assert_int_equal(v.reason, CR_NONE);
			assert_int_equal(v.event, RE_CONVERT);
			assert_int_equal(v.void_rule, RULE_NONE);
			assert_int_equal(v.next.status, RS_CONVERTED);
			assert_int_equal(v.next.review, rv);
			assert_int_equal(v.reward, rv == RV_HELD ?
			    CONV_REWARD_REVIEW : CONV_REWARD_NOW);
		}
}

/* Hold days: 0 rewards now, positive after the hold; held waits. */
static void
test_hold_days(void **state)
{
	static const struct {
		long		 days;
		enum ref_review	 rv;
		enum conv_reward reward;
	} tc[] = {
		{ 0, RV_NONE, CONV_REWARD_NOW },
		{ 0, RV_APPROVED, CONV_REWARD_NOW },
		{ 0, RV_HELD, CONV_REWARD_REVIEW },
		{ 1, RV_NONE, CONV_REWARD_AFTER_HOLD },
		{ 30, RV_APPROVED, CONV_REWARD_AFTER_HOLD },
		{ 30, RV_HELD, CONV_REWARD_REVIEW },
	};
	struct conv_facts	 f;
	size_t			 i;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		f = order(RS_PENDING, tc[i].rv);
		f.hold_days = tc[i].days;
		assert_int_equal(conv_decide(&f).reward, tc[i].reward);
	}
}

/* The payment fingerprint rule: match voids at once, no match converts. */
static void
test_payment_match(void **state)
{
	struct conv_facts	 f;
	struct conv_verdict	 v;
	int			 rv;

	for (rv = 0; rv < RV__MAX; rv++) {
		f = order(RS_PENDING, rv);
		f.payment_match = 1;
		v = conv_decide(&f);
		assert_int_equal(v.outcome, OUT_VOIDED);
		assert_int_equal(v.reason, CR_PAYMENT_MATCH);
		assert_int_equal(v.void_rule, RULE_PAYMENT_MATCH);
		assert_int_equal(rule_verdict(v.void_rule), FRAUD_VOID);
		assert_int_equal(v.event, RE_CONVERT);
		assert_int_equal(v.reward, CONV_REWARD_NONE);
		assert_int_equal(v.next.status, RS_VOIDED);
		assert_int_equal(v.next.review, rv);
		assert_string_equal(conv_reason_name(v.reason),
		    rule_name(v.void_rule));

		f.payment_match = 0;
		v = conv_decide(&f);
		assert_int_equal(v.outcome, OUT_CONVERTED);
		assert_int_equal(v.void_rule, RULE_NONE);
	}
	/* Not pending: the rule is not reached. */
	f = order(RS_CONVERTED, RV_NONE);
	f.payment_match = 1;
	v = conv_decide(&f);
	assert_int_equal(v.outcome, OUT_IGNORED);
	assert_int_equal(v.reason, CR_ALREADY_CONVERTED);
	assert_int_equal(v.void_rule, RULE_NONE);
}

/* A refund recorded before the completion forbids the conversion. */
static void
test_order_refunded_first(void **state)
{
	struct conv_facts	 f;
	struct conv_verdict	 v;

	f = order(RS_PENDING, RV_NONE);
	f.order_refunded = 1;
	f.payment_match = 1;
	v = conv_decide(&f);
	assert_int_equal(v.outcome, OUT_IGNORED);
	assert_int_equal(v.reason, CR_ORDER_REFUNDED);
	assert_int_equal(v.referral_id, REF);
	assert_int_equal(v.event, RE__MAX);
	assert_int_equal(v.next.status, RS_PENDING);
	/* Already converted: "already", whatever was refunded. */
	f = order(RS_VOIDED, RV_NONE);
	f.order_refunded = 1;
	assert_int_equal(conv_decide(&f).reason, CR_ALREADY_VOIDED);
}

/* A refund in each status and review state of the converting order. */
static void
test_refund_each_state(void **state)
{
	struct conv_facts	 f;
	struct conv_verdict	 v;
	int			 st, rv;

	for (st = 0; st < RS__MAX; st++)
		for (rv = 0; rv < RV__MAX; rv++) {
			f = order(st, rv);
			f.kind = CONV_REFUND;
			f.amount = 0;	/* no minimum for a refund */
			v = conv_decide(&f);
			assert_int_equal(v.referral_id, REF);
			assert_int_equal(v.reward, CONV_REWARD_NONE);
			if (st == RS_CONVERTED || st == RS_REWARDED) {
				assert_int_equal(v.outcome, OUT_VOIDED);
				assert_int_equal(v.reason, CR_REFUNDED);
				assert_int_equal(v.event, RE_REFUND);
				assert_int_equal(v.next.status, RS_VOIDED);
				assert_int_equal(v.next.review, rv);
			} else {
				assert_int_equal(v.outcome, OUT_IGNORED);
				assert_int_equal(v.reason,
				    CR_ALREADY_PENDING + st);
				assert_int_equal(v.event, RE__MAX);
			}
		}
	f = order(RS_CONVERTED, RV_NONE);
	f.kind = CONV_REFUND;
	f.referral_id = 0;
	v = conv_decide(&f);
	assert_int_equal(v.outcome, OUT_IGNORED);
	assert_int_equal(v.reason, CR_NOT_CONVERTING_ORDER);
	assert_int_equal(v.referral_id, 0);
}

/*
 * An order in a currency that is not min_order_amount's is below the
 * minimum, whatever its amount (amounts in two currencies do not compare).
 */
static void
test_currency_minimum(void **state)
{
	static const char *const other[] = { "EUR", "usd", "", NULL };
	struct conv_facts	 f;
	size_t			 i;

	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		f = order(RS_PENDING, RV_NONE);
		f.amount = 1000000;
		f.currency = other[i];
		assert_int_equal(conv_decide(&f).outcome, OUT_BELOW_MINIMUM);
		f.min_amount = 0;
		assert_int_equal(conv_decide(&f).outcome, OUT_BELOW_MINIMUM);
	}
	f = order(RS_PENDING, RV_NONE);
	f.min_currency = NULL;
	assert_int_equal(conv_decide(&f).outcome, OUT_BELOW_MINIMUM);
	f = order(RS_PENDING, RV_NONE);
	assert_int_equal(conv_decide(&f).outcome, OUT_CONVERTED);
}

/*
 * A refund of less than the converting order (same currency) is
 * recorded and voids nothing; the whole amount, more, an unknown order
 * amount or another currency void as before.
 */
static void
test_partial_refund(void **state)
{
	static const struct {
		int64_t		 refund, order;
		const char	*cur;
		enum outcome	 want;
	} tc[] = {
		{ 1000, 2500, "USD", OUT_IGNORED },
		{ 2499, 2500, "USD", OUT_IGNORED },
		{ 2500, 2500, "USD", OUT_VOIDED },
		{ 3000, 2500, "USD", OUT_VOIDED },
		{ 1000, -1, "USD", OUT_VOIDED },	/* stored before 006 */
		{ 1000, 2500, "EUR", OUT_VOIDED },
	};
	struct conv_facts	 f;
	struct conv_verdict	 v;
	size_t			 i;
	int			 st;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++)
		for (st = RS_CONVERTED; st <= RS_REWARDED; st++) {
			f = order(st, RV_NONE);
			f.kind = CONV_REFUND;
			f.amount = tc[i].refund;
			f.order_amount = tc[i].order;
			f.currency = tc[i].cur;
			v = conv_decide(&f);
			assert_int_equal(v.outcome, tc[i].want);
			if (tc[i].want == OUT_IGNORED) {
				assert_int_equal(v.reason, CR_PARTIAL_REFUND);
				assert_int_equal(v.event, RE__MAX);
				assert_int_equal(v.next.status, st);
			} else
				assert_int_equal(v.event, RE_REFUND);
		}
	assert_string_equal(conv_reason_name(CR_PARTIAL_REFUND),
	    "partial_refund");
}

/* Due: converted, not held, and the hold over (boundary inclusive). */
static void
test_reward_due(void **state)
{
	struct ref_pos	 at;
	int		 st, rv;

	assert_int_equal(conv_hold_cutoff(0, NOW), NOW);
	assert_int_equal(conv_hold_cutoff(2, NOW), NOW - 2 * CONV_DAY);
	for (st = 0; st < RS__MAX; st++)
		for (rv = 0; rv < RV__MAX; rv++) {
			at.status = st;
			at.review = rv;
			assert_int_equal(conv_reward_due(at, NOW, 0, NOW),
			    st == RS_CONVERTED && rv != RV_HELD);
		}
	at.status = RS_CONVERTED;
	at.review = RV_NONE;
	assert_true(conv_reward_due(at, NOW - CONV_DAY, 1, NOW));
	assert_false(conv_reward_due(at, NOW - CONV_DAY + 1, 1, NOW));
	assert_true(conv_reward_due(at, NOW - CONV_DAY - 1, 1, NOW));
	assert_false(conv_reward_due(at, NOW + 1, 0, NOW));
}

static void
test_parties(void **state)
{
	struct conf		 c;
	struct conv_party	 p[CONV_ROLE__MAX];

	conf_defaults(&c);
	assert_int_equal(conv_parties(&c, 7, 8, p), 2);
	assert_int_equal(p[0].role, CONV_REFERRER);
	assert_int_equal(p[0].user_id, 7);
	assert_ptr_equal(p[0].def, &c.reward_referrer);
	assert_int_equal(p[1].role, CONV_REFEREE);
	assert_int_equal(p[1].user_id, 8);
	assert_ptr_equal(p[1].def, &c.reward_referee);
	assert_string_equal(conv_role_name(CONV_REFERRER), "referrer");
	assert_string_equal(conv_role_name(CONV_REFEREE), "referee");
	assert_string_equal(conv_role_name(CONV_ROLE__MAX), "unknown");
}

static void
test_names(void **state)
{
	static const char *const on[OUT__MAX] = {
		"converted", "duplicate", "ignored", "below_minimum",
		"no_referral", "voided",
	};
	static const char *const rn[CR__MAX] = {
		"", "type_not_qualifying", "order_refunded",
		"not_converting_order", "payment_match", "refunded", "partial_refund",
		"already_pending", "already_converted", "already_rewarded",
		"already_voided",
	};
	int	 i;

	for (i = 0; i < OUT__MAX; i++)
		assert_string_equal(outcome_name(i), on[i]);
	assert_string_equal(outcome_name(OUT__MAX), "unknown");
	for (i = 0; i < CR__MAX; i++)
		assert_string_equal(conv_reason_name(i), rn[i]);
	assert_string_equal(conv_reason_name(CR__MAX), "unknown");
	for (i = 0; i < RS__MAX; i++)
		assert_int_equal(strncmp(conv_reason_name(CR_ALREADY_PENDING +
		    i) + 8, fsm_state_name(i), 16), 0);
}

/*
 * Reward time over every (status, review): a flagged referrer holds a
 * due referral unless approved, a payment match voids it, else it is
 * rewarded; nothing happens before the hold period ends.
 */
static void
test_reward_decide(void **state)
{
	struct conv_reward_facts f;
	struct conv_reward_verdict v;
	int	 st, rv, flag, pay;

	for (st = 0; st < RS__MAX; st++)
	for (rv = 0; rv < RV__MAX; rv++)
	for (flag = 0; flag < 2; flag++)
	for (pay = 0; pay < 2; pay++) {
		int	 due = st == RS_CONVERTED && rv != RV_HELD;

		memset(&f, 0, sizeof(f));
		f.at.status = st;
		f.at.review = rv;
		f.converted_at = NOW - CONV_DAY;
		f.hold_days = 1;
		f.referrer_flagged = flag;
		f.payment_match = pay;
		v = conv_reward_decide(&f, NOW);
		if (!due) {
			assert_int_equal(v.act, CONV_ACT_NONE);
			assert_int_equal(v.next.status, st);
			continue;
		}
		if (pay) {
			assert_int_equal(v.act, CONV_ACT_VOID);
			assert_int_equal(v.rule, RULE_PAYMENT_MATCH);
			assert_int_equal(v.next.status, RS_VOIDED);
		} else if (flag && rv != RV_APPROVED) {
			assert_int_equal(v.act, CONV_ACT_HOLD);
			assert_int_equal(v.rule, RULE_FLAGGED_REFERRER);
			assert_int_equal(v.next.status, RS_CONVERTED);
			assert_int_equal(v.next.review, RV_HELD);
		} else {
			assert_int_equal(v.act, CONV_ACT_REWARD);
			assert_int_equal(v.rule, RULE_NONE);
			assert_int_equal(v.next.status, RS_REWARDED);
		}
		/* One second before the hold ends: nothing, whatever the facts. */
		f.converted_at = NOW - CONV_DAY + 1;
		assert_int_equal(conv_reward_decide(&f, NOW).act,
		    CONV_ACT_NONE);
	}
	assert_string_equal(rule_name(RULE_FLAGGED_REFERRER),
	    "flagged_referrer");
	assert_int_equal(rule_verdict(RULE_FLAGGED_REFERRER), FRAUD_HOLD);
}

/*
 * Voiding a rewarded referral, per grant state: a revocation never goes
 * out for a grant that was not delivered, and waits for one that may be.
 */
static void
test_revoke_plan(void **state)
{
	static const struct {
		enum outbox_state s;
		int64_t		 attempts;
		int		 unknown;
		enum conv_revoke want;
	} tc[] = {
		{ OB_PENDING, 0, 0, CONV_REVOKE_CANCEL },
		/* Given back by a dispatcher: not counted, may have arrived. */
		{ OB_PENDING, 0, 1, CONV_REVOKE_AFTER },
		/* Reset after the receiver applied it, then 503: arrived. */
		{ OB_PENDING, 2, 1, CONV_REVOKE_AFTER },
		{ OB_PENDING, 3, 0, CONV_REVOKE_CANCEL },	/* 503s */
		{ OB_PENDING, 3, 1, CONV_REVOKE_AFTER },	/* timed out */
		{ OB_INFLIGHT, 1, 0, CONV_REVOKE_AFTER },
		{ OB_INFLIGHT, 1, 1, CONV_REVOKE_AFTER },
		{ OB_DELIVERED, 1, 0, CONV_REVOKE_NOW },
		{ OB_GONE, 0, 0, CONV_REVOKE_NOW },
		{ OB_DEAD, 12, 0, CONV_REVOKE_NONE },
		{ OB_DEAD, 12, 1, CONV_REVOKE_NONE },
		{ OB_CANCELLED, 0, 0, CONV_REVOKE_NONE },
	};
	enum outbox_state s;
	size_t	 i;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++)
		assert_int_equal(conv_revoke_plan(tc[i].s, tc[i].attempts,
		    tc[i].unknown), tc[i].want);
	for (i = OB_PENDING; i < OB__MAX; i++) {
		assert_int_equal(outbox_state_parse(outbox_state_name(i), &s),
		    0);
		assert_int_equal(s, i);
	}
	assert_int_equal(outbox_state_parse("gone", &s), -1);
	assert_int_equal(outbox_state_parse(NULL, &s), -1);
	assert_string_equal(outbox_state_name(OB__MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind),
		cmocka_unit_test(test_other_ignored),
		cmocka_unit_test(test_minimum),
		cmocka_unit_test(test_no_referral),
		cmocka_unit_test(test_order_each_state),
		cmocka_unit_test(test_hold_days),
		cmocka_unit_test(test_payment_match),
		cmocka_unit_test(test_order_refunded_first),
		cmocka_unit_test(test_refund_each_state),
		cmocka_unit_test(test_reward_due),
		cmocka_unit_test(test_parties),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_reward_decide),
		cmocka_unit_test(test_currency_minimum),
		cmocka_unit_test(test_partial_refund),
		cmocka_unit_test(test_revoke_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
