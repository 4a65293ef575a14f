/*
 * The dispatcher's delivery policy: every class of answer, the backoff
 * curve and its cap, Retry-After in both forms, rounding of the next
 * attempt, the lease floor, key and text hygiene.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "dispatch.h"

struct class_case {
	long		 status;
	int		 ok;
	enum verdict	 v;
};

static const struct class_case classes[] = {
	{ 200, 1, VERDICT_DELIVERED },
	{ 201, 1, VERDICT_DELIVERED },
	{ 202, 1, VERDICT_DELIVERED },
	{ 204, 1, VERDICT_DELIVERED },
	{ 299, 1, VERDICT_DELIVERED },
	{ 500, 1, VERDICT_RETRY },
	{ 502, 1, VERDICT_RETRY },
	{ 503, 1, VERDICT_RETRY },
	{ 504, 1, VERDICT_RETRY },
	{ 599, 1, VERDICT_RETRY },
	{ 408, 1, VERDICT_RETRY },
	{ 429, 1, VERDICT_RETRY },
	{ 400, 1, VERDICT_DEAD },
	{ 401, 1, VERDICT_DEAD },
	{ 403, 1, VERDICT_DEAD },
	{ 404, 1, VERDICT_DEAD },
	{ 409, 1, VERDICT_DEAD },
	{ 410, 1, VERDICT_DEAD },
	{ 413, 1, VERDICT_DEAD },
	{ 422, 1, VERDICT_DEAD },
	{ 499, 1, VERDICT_DEAD },
	{ 301, 1, VERDICT_DEAD },
	{ 302, 1, VERDICT_DEAD },
	{ 304, 1, VERDICT_DEAD },
	{ 0, 1, VERDICT_RETRY },	/* no status: not an HTTP answer */
	{ 600, 1, VERDICT_RETRY },
	{ 0, 0, VERDICT_RETRY },	/* timeout, refused, reset */
	{ 200, 0, VERDICT_RETRY },	/* broken after the status line */
	{ 400, 0, VERDICT_RETRY },
};

static void
test_classify(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (policy_classify(classes[i].status, classes[i].ok) !=
		    classes[i].v)
			fail_msg("status %ld ok %d: got %s, want %s",
			    classes[i].status, classes[i].ok,
			    policy_verdict_name(policy_classify(
			    classes[i].status, classes[i].ok)),
			    policy_verdict_name(classes[i].v));
	}
	assert_string_equal(policy_verdict_name(VERDICT_DEAD), "dead");
	assert_string_equal(policy_verdict_name(VERDICT__MAX), "?");
}

#define M DISPATCH_BACKOFF_MAX_MS

static void
test_backoff_curve(void **state)
{
	int64_t	 a;

	(void)state;
	/* rnd 0 is the low end d/2, rnd max the high end d. */
	assert_int_equal(policy_backoff_ms(1000, M, 1, 0), 500);
	assert_int_equal(policy_backoff_ms(1000, M, 1, 500), 1000);
	assert_int_equal(policy_backoff_ms(1000, M, 1, 501), 500);
	assert_int_equal(policy_backoff_ms(1000, M, 2, 1000), 2000);
	assert_int_equal(policy_backoff_ms(1000, M, 3, 2000), 4000);
	assert_int_equal(policy_backoff_ms(1000, M, 10, 256000), 512000);
	/* 2^10 s is past the cap: capped at 10 minutes, jitter below. */
	assert_int_equal(policy_backoff_ms(1000, M, 11, 300000), 600000);
	assert_int_equal(policy_backoff_ms(1000, M, 11, 0), 300000);
	assert_int_equal(policy_backoff_ms(1000, M, 1000, UINT32_MAX % 300001),
	    300000 + UINT32_MAX % 300001);
	for (a = 1; a < 2000; a++) {
		int64_t lo = policy_backoff_ms(1000, M, a, 0);
		int64_t hi = policy_backoff_ms(1000, M, a, UINT32_MAX);

		assert_true(lo >= 500 && lo <= M);
		assert_true(hi >= lo && hi <= M);
	}
	/* attempt 0 or less counts as the first. */
	assert_int_equal(policy_backoff_ms(1000, M, 0, 0), 500);
	assert_int_equal(policy_backoff_ms(1000, M, -5, 0), 500);
	/* A base above the cap is capped; a base of 0 is 1 ms. */
	assert_int_equal(policy_backoff_ms(10000000, M, 1, 0), 300000);
	assert_int_equal(policy_backoff_ms(0, M, 1, 0), 1);
	assert_int_equal(policy_backoff_ms(100, M, 2, 100), 200);
	/* dispatch_backoff_max_ms caps lower; 0 or above the ceiling is
	 * the ceiling. */
	assert_int_equal(policy_backoff_ms(100, 2000, 5, 800), 1600);
	assert_int_equal(policy_backoff_ms(100, 2000, 6, 1000), 2000);
	assert_int_equal(policy_backoff_ms(100, 2000, 60, 0), 1000);
	assert_int_equal(policy_backoff_ms(5000, 2000, 1, 1000), 2000);
	assert_int_equal(policy_backoff_ms(1000, 0, 11, 0), 300000);
	assert_int_equal(policy_backoff_ms(1000, M * 2, 11, 0), 300000);
}

static void
test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const int64_t	 t = 784111777;

	(void)state;
	assert_int_equal(policy_retry_after("0", t), 0);
	assert_int_equal(policy_retry_after("1", t), 1);
	assert_int_equal(policy_retry_after(" 120 ", t), 120);
	assert_int_equal(policy_retry_after("120\r\n", t), 120);
	assert_int_equal(policy_retry_after("3600", t), 3600);
	assert_int_equal(policy_retry_after("3601", t),
	    DISPATCH_RETRY_AFTER_MAX);
	assert_int_equal(policy_retry_after(
	    "99999999999999999999999999999", t), DISPATCH_RETRY_AFTER_MAX);
	assert_int_equal(policy_retry_after("Sun, 06 Nov 1994 08:49:47 GMT",
	    t), 10);
	assert_int_equal(policy_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    t), 0);
	assert_int_equal(policy_retry_after("Sun, 06 Nov 1994 08:40:00 GMT",
	    t), 0);
	assert_int_equal(policy_retry_after("Mon, 07 Nov 1994 08:49:37 GMT",
	    t), DISPATCH_RETRY_AFTER_MAX);
	assert_int_equal(policy_retry_after(NULL, t), -1);
	assert_int_equal(policy_retry_after("", t), -1);
	assert_int_equal(policy_retry_after("   ", t), -1);
	assert_int_equal(policy_retry_after("12s", t), -1);
	assert_int_equal(policy_retry_after("1.5", t), -1);
	assert_int_equal(policy_retry_after("-1", t), -1);
	assert_int_equal(policy_retry_after("soon", t), -1);
}

static void
test_next_attempt(void **state)
{
	(void)state;
	/* Rounded up: a wait is never cut short by whole seconds. */
	assert_int_equal(policy_next_attempt(10000, 1000, -1), 11);
	assert_int_equal(policy_next_attempt(10900, 1000, -1), 12);
	assert_int_equal(policy_next_attempt(10001, 500, -1), 11);
	assert_int_equal(policy_next_attempt(10900, 100, -1), 11);
	/* Retry-After wins when later, the backoff when later. */
	assert_int_equal(policy_next_attempt(10900, 1000, 3), 14);
	assert_int_equal(policy_next_attempt(10000, 5000, 3), 15);
	assert_int_equal(policy_next_attempt(10000, 1000, 0), 11);
}

static void
test_lease(void **state)
{
	(void)state;
	assert_int_equal(policy_lease(60, 10000), 60);
	assert_int_equal(policy_lease(1, 10000), 10 + DISPATCH_LEASE_MARGIN);
	assert_int_equal(policy_lease(1, 10001), 11 + DISPATCH_LEASE_MARGIN);
	assert_int_equal(policy_lease(3, 1000), 1 + DISPATCH_LEASE_MARGIN);
	assert_int_equal(policy_lease(600, 3600000), 3600 +
	    DISPATCH_LEASE_MARGIN);
}

static void
test_key_valid(void **state)
{
	char	 long_key[80];

	(void)state;
	assert_true(policy_key_valid("reward-1"));
	assert_true(policy_key_valid("revoke-9223372036854775807"));
	assert_true(policy_key_valid("a.b_c-D9"));
	assert_false(policy_key_valid(""));
	assert_false(policy_key_valid("reward-1\r\nX-Evil: 1"));
	assert_false(policy_key_valid("reward 1"));
	assert_false(policy_key_valid("reward:1"));
	assert_false(policy_key_valid("r\xc3\xa9ward"));
	memset(long_key, 'k', 64);
	long_key[64] = '\0';
	assert_true(policy_key_valid(long_key));
	long_key[64] = 'k';
	long_key[65] = '\0';
	assert_false(policy_key_valid(long_key));
}

static void
test_sanitize(void **state)
{
	char	 out[16];

	(void)state;
	policy_sanitize(out, sizeof(out), "ok", 2);
	assert_string_equal(out, "ok");
	policy_sanitize(out, sizeof(out), "a\r\n\tb\"c\"", SIZE_MAX);
	assert_string_equal(out, "a b'c'");
	policy_sanitize(out, sizeof(out), "\n\nx\n", SIZE_MAX);
	assert_string_equal(out, "x");
	policy_sanitize(out, sizeof(out), "0123456789abcdefghij", SIZE_MAX);
	assert_string_equal(out, "0123456789abcde");
	policy_sanitize(out, sizeof(out), "abcdef", 3);
	assert_string_equal(out, "abc");
	policy_sanitize(out, sizeof(out), "x\xc3\xa9y", SIZE_MAX);
	assert_string_equal(out, "x y");
	policy_sanitize(out, sizeof(out), "", SIZE_MAX);
	assert_string_equal(out, "");
	policy_sanitize(out, 1, "abc", SIZE_MAX);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_backoff_curve),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_next_attempt),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
