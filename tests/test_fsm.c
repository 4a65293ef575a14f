/*
 * The referral state machine: every (state, event) pair.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

struct fsm_case {
	enum ref_state	 st;
	enum ref_event	 ev;
	enum fsm_rc	 rc;
	enum ref_state	 next;
	unsigned int	 actions;
};

static const struct fsm_case cases[] = {
	{ RS_PENDING, RE_CONVERT, FSM_OK, RS_CONVERTED, 0 },
	{ RS_PENDING, RE_REWARD, FSM_INVALID, RS_PENDING, 0 },
	{ RS_PENDING, RE_APPROVE, FSM_OK, RS_PENDING, FSM_A_REVIEW },
	{ RS_PENDING, RE_HOLD, FSM_OK, RS_PENDING, FSM_A_REVIEW },
	{ RS_PENDING, RE_VOID, FSM_OK, RS_VOIDED, 0 },
	{ RS_PENDING, RE_REFUND, FSM_NOOP, RS_PENDING, 0 },

	{ RS_CONVERTED, RE_CONVERT, FSM_NOOP, RS_CONVERTED, 0 },
	{ RS_CONVERTED, RE_REWARD, FSM_OK, RS_REWARDED, FSM_A_REWARD },
	{ RS_CONVERTED, RE_APPROVE, FSM_OK, RS_CONVERTED, FSM_A_REVIEW },
	{ RS_CONVERTED, RE_HOLD, FSM_OK, RS_CONVERTED, FSM_A_REVIEW },
	{ RS_CONVERTED, RE_VOID, FSM_OK, RS_VOIDED, 0 },
	{ RS_CONVERTED, RE_REFUND, FSM_OK, RS_VOIDED, 0 },

	{ RS_REWARDED, RE_CONVERT, FSM_NOOP, RS_REWARDED, 0 },
	{ RS_REWARDED, RE_REWARD, FSM_NOOP, RS_REWARDED, 0 },
	{ RS_REWARDED, RE_APPROVE, FSM_NOOP, RS_REWARDED, 0 },
	{ RS_REWARDED, RE_HOLD, FSM_INVALID, RS_REWARDED, 0 },
	{ RS_REWARDED, RE_VOID, FSM_OK, RS_VOIDED, FSM_A_REVOKE },
	{ RS_REWARDED, RE_REFUND, FSM_OK, RS_VOIDED, FSM_A_REVOKE },

	{ RS_VOIDED, RE_CONVERT, FSM_NOOP, RS_VOIDED, 0 },
	{ RS_VOIDED, RE_REWARD, FSM_INVALID, RS_VOIDED, 0 },
	{ RS_VOIDED, RE_APPROVE, FSM_INVALID, RS_VOIDED, 0 },
	{ RS_VOIDED, RE_HOLD, FSM_INVALID, RS_VOIDED, 0 },
	{ RS_VOIDED, RE_VOID, FSM_NOOP, RS_VOIDED, 0 },
	{ RS_VOIDED, RE_REFUND, FSM_NOOP, RS_VOIDED, 0 },
};
_Static_assert(sizeof(cases) / sizeof(cases[0]) == RS__MAX * RE__MAX,
    "every (state, event) pair");

static void
test_every_pair(void **state)
{
	struct fsm_step	 s;
	int		 seen[RS__MAX][RE__MAX];
	size_t		 i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = fsm_next(cases[i].st, cases[i].ev);
		if (s.rc != cases[i].rc || s.next != cases[i].next ||
		    s.actions != cases[i].actions)
			fail_msg("%s + %s: got rc %d next %s actions %#x",
			    fsm_state_name(cases[i].st),
			    fsm_event_name(cases[i].ev), s.rc,
			    fsm_state_name(s.next), s.actions);
		seen[cases[i].st][cases[i].ev]++;
	}
	for (i = 0; i < RS__MAX * RE__MAX; i++)
		assert_int_equal(seen[i / RE__MAX][i % RE__MAX], 1);
}

/* NOOP and INVALID never move; only OK may. */
static void
test_noop_invalid_stay(void **state)
{
	struct fsm_step	 s;
	int		 st, ev;

	for (st = 0; st < RS__MAX; st++)
		for (ev = 0; ev < RE__MAX; ev++) {
			s = fsm_next(st, ev);
			if (s.rc != FSM_OK) {
				assert_int_equal(s.next, st);
				assert_int_equal(s.actions, 0);
			}
		}
}

/* Rewards are created from exactly one pair, revoked from two. */
static void
test_reward_once(void **state)
{
	struct fsm_step	 s;
	int		 st, ev, rewards = 0, revokes = 0;

	for (st = 0; st < RS__MAX; st++)
		for (ev = 0; ev < RE__MAX; ev++) {
			s = fsm_next(st, ev);
			rewards += (s.actions & FSM_A_REWARD) != 0;
			revokes += (s.actions & FSM_A_REVOKE) != 0;
		}
	assert_int_equal(rewards, 1);
	assert_int_equal(revokes, 2);
}

static void
test_out_of_range(void **state)
{
	struct fsm_step	 s;

	s = fsm_next((enum ref_state)RS__MAX, RE_CONVERT);
	assert_int_equal(s.rc, FSM_INVALID);
	s = fsm_next(RS_PENDING, (enum ref_event)RE__MAX);
	assert_int_equal(s.rc, FSM_INVALID);
	assert_int_equal(s.next, RS_PENDING);
	assert_string_equal(fsm_state_name((enum ref_state)99), "unknown");
	assert_string_equal(fsm_event_name((enum ref_event)-1), "unknown");
}

static void
test_names(void **state)
{
	static const char *const sn[] = {
	    "pending", "converted", "rewarded", "voided" };
	static const char *const en[] = {
	    "convert", "reward", "approve", "hold", "void", "refund" };
	enum ref_state	 st;
	int		 i;

	for (i = 0; i < RS__MAX; i++) {
		assert_string_equal(fsm_state_name(i), sn[i]);
		assert_int_equal(fsm_state_parse(sn[i], &st), 0);
		assert_int_equal(st, i);
	}
	for (i = 0; i < RE__MAX; i++)
		assert_string_equal(fsm_event_name(i), en[i]);
	assert_int_equal(fsm_state_parse("PENDING", &st), -1);
	assert_int_equal(fsm_state_parse("", &st), -1);
	assert_int_equal(fsm_state_parse("pending ", &st), -1);
	assert_int_equal(fsm_state_parse(NULL, &st), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_noop_invalid_stay),
		cmocka_unit_test(test_reward_once),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
