/*
 * The referral state machine: every (status, review, event) triple.
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
	enum ref_review	 rv;
	enum ref_event	 ev;
	enum fsm_rc	 rc;
	enum ref_state	 next;
	enum ref_review	 nrv;
	unsigned int	 actions;
};

#define P RS_PENDING
#define C RS_CONVERTED
#define W RS_REWARDED
#define V RS_VOIDED
#define N RV_NONE
#define H RV_HELD
#define A RV_APPROVED

static const struct fsm_case cases[] = {
	{ P, N, RE_CONVERT, FSM_OK, C, N, 0 },
	{ P, N, RE_REWARD, FSM_INVALID, P, N, 0 },
	{ P, N, RE_APPROVE, FSM_NOOP, P, N, 0 },
	{ P, N, RE_HOLD, FSM_OK, P, H, FSM_A_REVIEW },
	{ P, N, RE_VOID, FSM_OK, V, N, 0 },
	{ P, N, RE_REFUND, FSM_NOOP, P, N, 0 },
	{ P, H, RE_CONVERT, FSM_OK, C, H, 0 },
	{ P, H, RE_REWARD, FSM_INVALID, P, H, 0 },
	{ P, H, RE_APPROVE, FSM_OK, P, A, FSM_A_REVIEW },
	{ P, H, RE_HOLD, FSM_NOOP, P, H, 0 },
	{ P, H, RE_VOID, FSM_OK, V, H, 0 },
	{ P, H, RE_REFUND, FSM_NOOP, P, H, 0 },
	{ P, A, RE_CONVERT, FSM_OK, C, A, 0 },
	{ P, A, RE_REWARD, FSM_INVALID, P, A, 0 },
	{ P, A, RE_APPROVE, FSM_NOOP, P, A, 0 },
	{ P, A, RE_HOLD, FSM_OK, P, H, FSM_A_REVIEW },
	{ P, A, RE_VOID, FSM_OK, V, A, 0 },
	{ P, A, RE_REFUND, FSM_NOOP, P, A, 0 },

	{ C, N, RE_CONVERT, FSM_NOOP, C, N, 0 },
	{ C, N, RE_REWARD, FSM_OK, W, N, FSM_A_REWARD },
	{ C, N, RE_APPROVE, FSM_NOOP, C, N, 0 },
	{ C, N, RE_HOLD, FSM_OK, C, H, FSM_A_REVIEW },
	{ C, N, RE_VOID, FSM_OK, V, N, 0 },
	{ C, N, RE_REFUND, FSM_OK, V, N, 0 },
	{ C, H, RE_CONVERT, FSM_NOOP, C, H, 0 },
	{ C, H, RE_REWARD, FSM_INVALID, C, H, 0 },
	{ C, H, RE_APPROVE, FSM_OK, C, A, FSM_A_REVIEW },
	{ C, H, RE_HOLD, FSM_NOOP, C, H, 0 },
	{ C, H, RE_VOID, FSM_OK, V, H, 0 },
	{ C, H, RE_REFUND, FSM_OK, V, H, 0 },
	{ C, A, RE_CONVERT, FSM_NOOP, C, A, 0 },
	{ C, A, RE_REWARD, FSM_OK, W, A, FSM_A_REWARD },
	{ C, A, RE_APPROVE, FSM_NOOP, C, A, 0 },
	{ C, A, RE_HOLD, FSM_OK, C, H, FSM_A_REVIEW },
	{ C, A, RE_VOID, FSM_OK, V, A, 0 },
	{ C, A, RE_REFUND, FSM_OK, V, A, 0 },

	{ W, N, RE_CONVERT, FSM_NOOP, W, N, 0 },
	{ W, N, RE_REWARD, FSM_NOOP, W, N, 0 },
	{ W, N, RE_APPROVE, FSM_NOOP, W, N, 0 },
	{ W, N, RE_HOLD, FSM_INVALID, W, N, 0 },
	{ W, N, RE_VOID, FSM_OK, V, N, FSM_A_REVOKE },
	{ W, N, RE_REFUND, FSM_OK, V, N, FSM_A_REVOKE },
	{ W, H, RE_CONVERT, FSM_NOOP, W, H, 0 },
	{ W, H, RE_REWARD, FSM_NOOP, W, H, 0 },
	{ W, H, RE_APPROVE, FSM_NOOP, W, H, 0 },
	{ W, H, RE_HOLD, FSM_INVALID, W, H, 0 },
	{ W, H, RE_VOID, FSM_OK, V, H, FSM_A_REVOKE },
	{ W, H, RE_REFUND, FSM_OK, V, H, FSM_A_REVOKE },
	{ W, A, RE_CONVERT, FSM_NOOP, W, A, 0 },
	{ W, A, RE_REWARD, FSM_NOOP, W, A, 0 },
	{ W, A, RE_APPROVE, FSM_NOOP, W, A, 0 },
	{ W, A, RE_HOLD, FSM_INVALID, W, A, 0 },
	{ W, A, RE_VOID, FSM_OK, V, A, FSM_A_REVOKE },
	{ W, A, RE_REFUND, FSM_OK, V, A, FSM_A_REVOKE },

	{ V, N, RE_CONVERT, FSM_NOOP, V, N, 0 },
	{ V, N, RE_REWARD, FSM_INVALID, V, N, 0 },
	{ V, N, RE_APPROVE, FSM_INVALID, V, N, 0 },
	{ V, N, RE_HOLD, FSM_INVALID, V, N, 0 },
	{ V, N, RE_VOID, FSM_NOOP, V, N, 0 },
	{ V, N, RE_REFUND, FSM_NOOP, V, N, 0 },
	{ V, H, RE_CONVERT, FSM_NOOP, V, H, 0 },
	{ V, H, RE_REWARD, FSM_INVALID, V, H, 0 },
	{ V, H, RE_APPROVE, FSM_INVALID, V, H, 0 },
	{ V, H, RE_HOLD, FSM_INVALID, V, H, 0 },
	{ V, H, RE_VOID, FSM_NOOP, V, H, 0 },
	{ V, H, RE_REFUND, FSM_NOOP, V, H, 0 },
	{ V, A, RE_CONVERT, FSM_NOOP, V, A, 0 },
	{ V, A, RE_REWARD, FSM_INVALID, V, A, 0 },
	{ V, A, RE_APPROVE, FSM_INVALID, V, A, 0 },
	{ V, A, RE_HOLD, FSM_INVALID, V, A, 0 },
	{ V, A, RE_VOID, FSM_NOOP, V, A, 0 },
	{ V, A, RE_REFUND, FSM_NOOP, V, A, 0 },
};
_Static_assert(sizeof(cases) / sizeof(cases[0]) == RS__MAX * RV__MAX * RE__MAX,
    "every (status, review, event) triple");

static struct ref_pos
at(int st, int rv)
{
	struct ref_pos	 p = { (enum ref_state)st, (enum ref_review)rv };

	return p;
}

static void
test_every_pair(void **state)
{
	struct fsm_step	 s;
	int		 seen[RS__MAX][RV__MAX][RE__MAX];
	size_t		 i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fsm_case *c = &cases[i];

		s = fsm_next(at(c->st, c->rv), c->ev);
		if (s.rc != c->rc || s.next.status != c->next ||
		    s.next.review != c->nrv || s.actions != c->actions)
			fail_msg("%s/%s + %s: got rc %d next %s/%s actions %#x",
			    fsm_state_name(c->st), fsm_review_name(c->rv),
			    fsm_event_name(c->ev), s.rc,
			    fsm_state_name(s.next.status),
			    fsm_review_name(s.next.review), s.actions);
		assert_int_equal(fsm_can(at(c->st, c->rv), c->ev),
		    c->rc == FSM_OK);
		seen[c->st][c->rv][c->ev]++;
	}
	for (i = 0; i < RS__MAX * RV__MAX * RE__MAX; i++)
		assert_int_equal(seen[i / (RV__MAX * RE__MAX)]
		    [i / RE__MAX % RV__MAX][i % RE__MAX], 1);
}

/* NOOP and INVALID never move; only OK may. */
static void
test_noop_invalid_stay(void **state)
{
	struct fsm_step	 s;
	int		 st, rv, ev;

	for (st = 0; st < RS__MAX; st++)
		for (rv = 0; rv < RV__MAX; rv++)
			for (ev = 0; ev < RE__MAX; ev++) {
				s = fsm_next(at(st, rv), ev);
				if (s.rc != FSM_OK) {
					assert_int_equal(s.next.status, st);
					assert_int_equal(s.next.review, rv);
					assert_int_equal(s.actions, 0);
				}
			}
}

/*
 * Rewards are created from converted and not held only, revoked from
 * rewarded only; only hold and approve change the review.
 */
static void
test_reward_once(void **state)
{
	struct fsm_step	 s;
	int		 st, rv, ev, rewards = 0, revokes = 0;

	for (st = 0; st < RS__MAX; st++)
		for (rv = 0; rv < RV__MAX; rv++)
			for (ev = 0; ev < RE__MAX; ev++) {
				s = fsm_next(at(st, rv), ev);
				if (s.actions & FSM_A_REWARD) {
					rewards++;
					assert_int_equal(st, RS_CONVERTED);
					assert_int_not_equal(rv, RV_HELD);
				}
				if (s.actions & FSM_A_REVOKE) {
					revokes++;
					assert_int_equal(st, RS_REWARDED);
				}
				if ((int)s.next.review != rv)
					assert_true(ev == RE_HOLD ||
					    ev == RE_APPROVE);
			}
	assert_int_equal(rewards, 2);
	assert_int_equal(revokes, 2 * RV__MAX);
}

static void
test_out_of_range(void **state)
{
	struct fsm_step	 s;

	s = fsm_next(at(RS__MAX, RV_NONE), RE_CONVERT);
	assert_int_equal(s.rc, FSM_INVALID);
	s = fsm_next(at(RS_PENDING, RV__MAX), RE_CONVERT);
	assert_int_equal(s.rc, FSM_INVALID);
	s = fsm_next(at(RS_PENDING, RV_NONE), (enum ref_event)RE__MAX);
	assert_int_equal(s.rc, FSM_INVALID);
	assert_int_equal(s.next.status, RS_PENDING);
	assert_false(fsm_can(at(RS__MAX, RV_NONE), RE_VOID));
	assert_string_equal(fsm_state_name((enum ref_state)99), "unknown");
	assert_string_equal(fsm_review_name((enum ref_review)99), "unknown");
	assert_string_equal(fsm_event_name((enum ref_event)-1), "unknown");
}

static void
test_names(void **state)
{
	static const char *const sn[] = {
	    "pending", "converted", "rewarded", "voided" };
	static const char *const rn[] = { "none", "held", "approved" };
	static const char *const en[] = {
	    "convert", "reward", "approve", "hold", "void", "refund" };
	enum ref_state	 st;
	enum ref_review	 rv;
	int		 i;

	for (i = 0; i < RS__MAX; i++) {
		assert_string_equal(fsm_state_name(i), sn[i]);
		assert_int_equal(fsm_state_parse(sn[i], &st), 0);
		assert_int_equal(st, i);
	}
	for (i = 0; i < RV__MAX; i++) {
		assert_string_equal(fsm_review_name(i), rn[i]);
		assert_int_equal(fsm_review_parse(rn[i], &rv), 0);
		assert_int_equal(rv, i);
	}
	for (i = 0; i < RE__MAX; i++)
		assert_string_equal(fsm_event_name(i), en[i]);
	assert_int_equal(fsm_state_parse("PENDING", &st), -1);
	assert_int_equal(fsm_state_parse("", &st), -1);
	assert_int_equal(fsm_state_parse("pending ", &st), -1);
	assert_int_equal(fsm_state_parse(NULL, &st), -1);
	assert_int_equal(fsm_review_parse("Held", &rv), -1);
	assert_int_equal(fsm_review_parse("", &rv), -1);
	assert_int_equal(fsm_review_parse(NULL, &rv), -1);
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
