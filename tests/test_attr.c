/*
 * Attribution decision: every fraud rule at, below and above its
 * boundary, precedence, fired bits, names and the domain list.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define NOW	1700000000LL
#define BIT(r)	(1U << (r))

static const struct attr_limits lim = { 10, 5 };

/* A clean signup: found code, distinct users, no signals. */
static struct attr_facts
clean(void)
{
	struct attr_facts	 f;

	memset(&f, 0, sizeof(f));
	f.code = CODE_FOUND;
	f.referrer_id = 1;
	f.referee_id = 2;
	return f;
}

static void
test_clean(void **state)
{
	struct attr_facts	 f = clean();
	struct attr_decision	 d;

	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_ATTRIBUTED);
	assert_int_equal(d.rule, RULE_NONE);
	assert_int_equal(d.fired, 0);
}

static void
test_no_code(void **state)
{
	struct attr_facts	 f = clean();
	struct attr_decision	 d;

	f.code = CODE_NONE;
	f.referrer_id = f.referee_id;	/* ignored without a code */
	f.ip_match = 1;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_NONE);
	assert_int_equal(d.rule, RULE_NONE);
	assert_int_equal(d.fired, 0);
}

static void
test_unknown(void **state)
{
	struct attr_facts	 f = clean();
	struct attr_decision	 d;

	f.code = CODE_UNKNOWN;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_CODE_UNKNOWN);
	assert_int_equal(d.fired, BIT(RULE_CODE_UNKNOWN));
}

/* expires_at / disabled_at: now-1 and now fire, now+1 and 0 do not. */
static void
test_time_boundaries(void **state)
{
	static const struct {
		int64_t		 at;
		int		 fires;
	} tc[] = {
		{ NOW - 1, 1 }, { NOW, 1 }, { NOW + 1, 0 }, { 0, 0 },
	};
	struct attr_facts	 f;
	struct attr_decision	 d;
	size_t			 i;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		f = clean();
		f.expires_at = tc[i].at;
		d = attr_decide(&f, &lim, NOW);
		assert_int_equal(d.result,
		    tc[i].fires ? ATTR_REJECTED : ATTR_ATTRIBUTED);
		assert_int_equal(d.rule,
		    tc[i].fires ? RULE_CODE_EXPIRED : RULE_NONE);

		f = clean();
		f.disabled_at = tc[i].at;
		d = attr_decide(&f, &lim, NOW);
		assert_int_equal(d.result,
		    tc[i].fires ? ATTR_REJECTED : ATTR_ATTRIBUTED);
		assert_int_equal(d.rule,
		    tc[i].fires ? RULE_CODE_DISABLED : RULE_NONE);
	}
}

static void
test_rejects(void **state)
{
	struct attr_facts	 f;
	struct attr_decision	 d;

	f = clean();
	f.referee_id = f.referrer_id;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_SELF_REFERRAL);

	f = clean();
	f.referrer_flagged = 1;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_REFERRER_FLAGGED);

	f = clean();
	f.device_match = 1;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_DEVICE_MATCH);
	assert_int_equal(d.fired, BIT(RULE_DEVICE_MATCH));
}

static void
test_holds(void **state)
{
	struct attr_facts	 f;
	struct attr_decision	 d;

	f = clean();
	f.ip_match = 1;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_HELD);
	assert_int_equal(d.rule, RULE_SAME_IP);
	assert_int_equal(d.fired, BIT(RULE_SAME_IP));

	f = clean();
	f.disposable_email = 1;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_HELD);
	assert_int_equal(d.rule, RULE_DISPOSABLE_EMAIL);
}

/* Prior counts: with max 10, 9 passes and 10 holds (the 11th signup). */
static void
test_velocity_boundaries(void **state)
{
	static const struct {
		long		 referrer_hour, ip_hour;
		enum attr_result res;
		enum rule	 rule;
	} tc[] = {
		{ 9, 0, ATTR_ATTRIBUTED, RULE_NONE },
		{ 10, 0, ATTR_HELD, RULE_REFERRER_VELOCITY },
		{ 11, 0, ATTR_HELD, RULE_REFERRER_VELOCITY },
		{ 0, 4, ATTR_ATTRIBUTED, RULE_NONE },
		{ 0, 5, ATTR_HELD, RULE_IP_VELOCITY },
		{ 0, 6, ATTR_HELD, RULE_IP_VELOCITY },
	};
	struct attr_facts	 f;
	struct attr_decision	 d;
	size_t			 i;

	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		f = clean();
		f.referrer_hour = tc[i].referrer_hour;
		f.ip_hour = tc[i].ip_hour;
		d = attr_decide(&f, &lim, NOW);
		if (d.result != tc[i].res || d.rule != tc[i].rule)
			fail_msg("case %zu: got %s/%s", i,
			    attr_result_name(d.result), rule_name(d.rule));
	}
}

static void
test_limit_zero_disables(void **state)
{
	struct attr_limits	 off = { 0, 0 }, neg = { -1, -1 };
	struct attr_facts	 f = clean();
	struct attr_decision	 d;

	f.referrer_hour = 1000;
	f.ip_hour = 1000;
	d = attr_decide(&f, &off, NOW);
	assert_int_equal(d.result, ATTR_ATTRIBUTED);
	assert_int_equal(d.fired, 0);
	d = attr_decide(&f, &neg, NOW);
	assert_int_equal(d.result, ATTR_ATTRIBUTED);
	/* And with one limit on, only that one fires. */
	off.max_per_ip_hour = 5;
	d = attr_decide(&f, &off, NOW);
	assert_int_equal(d.rule, RULE_IP_VELOCITY);
	assert_int_equal(d.fired, BIT(RULE_IP_VELOCITY));
}

/* Every reject beats every hold; within each group, the listed order. */
static void
test_precedence(void **state)
{
	struct attr_facts	 f;
	struct attr_decision	 d;
	unsigned int		 all;

	f = clean();
	f.expires_at = NOW - 10;
	f.disabled_at = NOW - 10;
	f.referee_id = f.referrer_id;
	f.referrer_flagged = 1;
	f.device_match = 1;
	f.ip_match = 1;
	f.disposable_email = 1;
	f.referrer_hour = 10;
	f.ip_hour = 5;
	all = BIT(RULE_CODE_EXPIRED) | BIT(RULE_CODE_DISABLED) |
	    BIT(RULE_SELF_REFERRAL) | BIT(RULE_REFERRER_FLAGGED) |
	    BIT(RULE_DEVICE_MATCH) | BIT(RULE_SAME_IP) |
	    BIT(RULE_DISPOSABLE_EMAIL) | BIT(RULE_REFERRER_VELOCITY) |
	    BIT(RULE_IP_VELOCITY);
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_CODE_DISABLED);
	assert_int_equal(d.fired, all);

	f.disabled_at = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_CODE_EXPIRED);
	f.expires_at = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_SELF_REFERRAL);
	f.referee_id = 2;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_REFERRER_FLAGGED);
	f.referrer_flagged = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_REJECTED);
	assert_int_equal(d.rule, RULE_DEVICE_MATCH);
	/* Reject beats hold, but the holds still leave their bits. */
	assert_true(d.fired & BIT(RULE_SAME_IP));
	assert_true(d.fired & BIT(RULE_IP_VELOCITY));

	f.device_match = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.result, ATTR_HELD);
	assert_int_equal(d.rule, RULE_SAME_IP);
	assert_int_equal(d.fired, BIT(RULE_SAME_IP) |
	    BIT(RULE_DISPOSABLE_EMAIL) | BIT(RULE_REFERRER_VELOCITY) |
	    BIT(RULE_IP_VELOCITY));
	f.ip_match = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_DISPOSABLE_EMAIL);
	f.disposable_email = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_REFERRER_VELOCITY);
	f.referrer_hour = 0;
	d = attr_decide(&f, &lim, NOW);
	assert_int_equal(d.rule, RULE_IP_VELOCITY);
	assert_int_equal(d.result, ATTR_HELD);
}

static void
test_names(void **state)
{
	static const char *const rn[RULE__MAX] = {
		"none", "code_unknown", "code_disabled", "code_expired",
		"self_referral", "referrer_flagged", "device_match",
		"same_ip", "disposable_email", "referrer_velocity",
		"ip_velocity", "payment_match", "flagged_referrer", "manual",
	};
	static const char *const an[ATTR__MAX] = {
		"none", "attributed", "held", "rejected",
	};
	int	 i, rejects = 0;

	for (i = 0; i < RULE__MAX; i++) {
		assert_string_equal(rule_name(i), rn[i]);
		rejects += rule_is_reject(i);
	}
	assert_int_equal(rejects, 6);
	assert_true(rule_is_reject(RULE_CODE_UNKNOWN));
	assert_true(rule_is_reject(RULE_DEVICE_MATCH));
	assert_false(rule_is_reject(RULE_SAME_IP));
	assert_false(rule_is_reject(RULE_PAYMENT_MATCH));
	assert_false(rule_is_reject(RULE__MAX));
	assert_string_equal(rule_name(RULE__MAX), "unknown");
	for (i = 0; i < ATTR__MAX; i++)
		assert_string_equal(attr_result_name(i), an[i]);
	assert_string_equal(attr_result_name(ATTR__MAX), "unknown");
}

/* One table: each rule's verdict, and every fraud rule can decide. */
static void
test_verdicts(void **state)
{
	static const enum fraud_verdict v[RULE__MAX] = {
		[RULE_NONE] = FRAUD_NONE,
		[RULE_CODE_UNKNOWN] = FRAUD_REJECT,
		[RULE_CODE_DISABLED] = FRAUD_REJECT,
		[RULE_CODE_EXPIRED] = FRAUD_REJECT,
		[RULE_SELF_REFERRAL] = FRAUD_REJECT,
		[RULE_REFERRER_FLAGGED] = FRAUD_REJECT,
		[RULE_DEVICE_MATCH] = FRAUD_REJECT,
		[RULE_SAME_IP] = FRAUD_HOLD,
		[RULE_DISPOSABLE_EMAIL] = FRAUD_HOLD,
		[RULE_REFERRER_VELOCITY] = FRAUD_HOLD,
		[RULE_IP_VELOCITY] = FRAUD_HOLD,
		[RULE_PAYMENT_MATCH] = FRAUD_VOID,
		[RULE_FLAGGED_REFERRER] = FRAUD_HOLD,
		[RULE_MANUAL] = FRAUD_NONE,
	};
	static const char *const vn[FRAUD__MAX] = {
		"none", "reject", "hold", "void",
	};
	int	 i;

	for (i = 0; i < RULE__MAX; i++)
		assert_int_equal(rule_verdict(i), v[i]);
	assert_int_equal(rule_verdict(RULE__MAX), FRAUD_NONE);
	for (i = 0; i < FRAUD__MAX; i++)
		assert_string_equal(fraud_verdict_name(i), vn[i]);
	assert_string_equal(fraud_verdict_name(FRAUD__MAX), "unknown");
}

/*
 * Each signup rule alone decides, with its own verdict: no rule of the
 * table is left out of the evaluation.
 */
static void
test_each_rule_fires(void **state)
{
	struct attr_limits	 l10 = { 10, 5 };
	struct attr_decision	 d;
	int			 r;

	for (r = RULE_CODE_UNKNOWN; r <= RULE_IP_VELOCITY; r++) {
		struct attr_facts f = { .code = CODE_FOUND, .referrer_id = 1,
		    .referee_id = 2 };

		switch (r) {
		case RULE_CODE_UNKNOWN: f.code = CODE_UNKNOWN; break;
		case RULE_CODE_DISABLED: f.disabled_at = 1; break;
		case RULE_CODE_EXPIRED: f.expires_at = 1; break;
		case RULE_SELF_REFERRAL: f.referee_id = 1; break;
		case RULE_REFERRER_FLAGGED: f.referrer_flagged = 1; break;
		case RULE_DEVICE_MATCH: f.device_match = 1; break;
		case RULE_SAME_IP: f.ip_match = 1; break;
		case RULE_DISPOSABLE_EMAIL: f.disposable_email = 1; break;
		case RULE_REFERRER_VELOCITY: f.referrer_hour = 10; break;
		case RULE_IP_VELOCITY: f.ip_hour = 5; break;
		}
		d = attr_decide(&f, &l10, 100);
		assert_int_equal(d.rule, r);
		assert_int_equal(d.fired, 1U << r);
		assert_int_equal(d.result, rule_is_reject(r) ? ATTR_REJECTED :
		    ATTR_HELD);
	}
}

static void
test_email_domain(void **state)
{
	assert_string_equal(email_domain("a@b.com"), "b.com");
	assert_string_equal(email_domain("\"a@x\"@b.com"), "b.com");
	assert_null(email_domain("a@"));
	assert_null(email_domain("nodomain"));
	assert_null(email_domain(""));
	assert_null(email_domain(NULL));
}

static void
test_domain_listed(void **state)
{
	static const char *const list[] = {
		"guerrillamail.com", "mailinator.com", "yopmail.com",
	};
	const size_t	 n = sizeof(list) / sizeof(list[0]);
	char		 big[300];

	assert_true(domain_listed(list, n, "bob@mailinator.com"));
	assert_true(domain_listed(list, n, "Bob@MailInator.COM"));
	assert_true(domain_listed(list, n, "mailinator.com"));
	assert_true(domain_listed(list, n, "yopmail.com"));
	assert_true(domain_listed(list, n, "guerrillamail.com"));
	assert_true(domain_listed(list, n, "x.mailinator.com"));
	assert_true(domain_listed(list, n, "a@x.y.mailinator.com"));
	assert_true(domain_listed(list, n, "a@mailinator.com."));
	assert_false(domain_listed(list, n, "a@notmailinator.com"));
	assert_false(domain_listed(list, n, "a@mailinator.co"));
	assert_false(domain_listed(list, n, "a@example.com"));
	assert_false(domain_listed(list, n, "com"));
	assert_false(domain_listed(list, n, "a@"));
	assert_false(domain_listed(list, n, ""));
	assert_false(domain_listed(list, n, NULL));
	assert_false(domain_listed(NULL, 0, "a@mailinator.com"));

	/* Over 253 characters: not looked at. */
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 16, ".mailinator.com", 16);
	assert_false(domain_listed(list, n, big));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_no_code),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_time_boundaries),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_velocity_boundaries),
		cmocka_unit_test(test_limit_zero_disables),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_each_rule_fires),
		cmocka_unit_test(test_email_domain),
		cmocka_unit_test(test_domain_listed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
