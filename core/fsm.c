/*
 * The referral state machine: one table of every (state, event) pair.
 */
#include "config.h"

#include <string.h>

#include "core.h"

#define OK(s)		{ FSM_OK, (s), 0 }
#define OKA(s, a)	{ FSM_OK, (s), (a) }
#define NOOP(s)		{ FSM_NOOP, (s), 0 }
#define BAD(s)		{ FSM_INVALID, (s), 0 }

/*
 * table[state][event].  NOOP means "already done": a redelivered event
 * or a race lost to another worker, answered without error.  INVALID
 * means the caller asked for something the state forbids.
 */
static const struct fsm_step table[RS__MAX][RE__MAX] = {
	[RS_PENDING] = {
		[RE_CONVERT] = OK(RS_CONVERTED),
		[RE_REWARD] = BAD(RS_PENDING),		/* not converted yet */
		[RE_APPROVE] = OKA(RS_PENDING, FSM_A_REVIEW),
		[RE_HOLD] = OKA(RS_PENDING, FSM_A_REVIEW),
		[RE_VOID] = OK(RS_VOIDED),
		[RE_REFUND] = NOOP(RS_PENDING),		/* nothing converted */
	},
	[RS_CONVERTED] = {
		[RE_CONVERT] = NOOP(RS_CONVERTED),
		[RE_REWARD] = OKA(RS_REWARDED, FSM_A_REWARD),
		[RE_APPROVE] = OKA(RS_CONVERTED, FSM_A_REVIEW),
		[RE_HOLD] = OKA(RS_CONVERTED, FSM_A_REVIEW),
		[RE_VOID] = OK(RS_VOIDED),
		[RE_REFUND] = OK(RS_VOIDED),
	},
	[RS_REWARDED] = {
		[RE_CONVERT] = NOOP(RS_REWARDED),
		[RE_REWARD] = NOOP(RS_REWARDED),
		[RE_APPROVE] = NOOP(RS_REWARDED),
		[RE_HOLD] = BAD(RS_REWARDED),		/* money already moved */
		[RE_VOID] = OKA(RS_VOIDED, FSM_A_REVOKE),
		[RE_REFUND] = OKA(RS_VOIDED, FSM_A_REVOKE),
	},
	[RS_VOIDED] = {
		/* Terminal: repeats of what got it here are harmless. */
		[RE_CONVERT] = NOOP(RS_VOIDED),
		[RE_REWARD] = BAD(RS_VOIDED),
		[RE_APPROVE] = BAD(RS_VOIDED),
		[RE_HOLD] = BAD(RS_VOIDED),
		[RE_VOID] = NOOP(RS_VOIDED),
		[RE_REFUND] = NOOP(RS_VOIDED),
	},
};
_Static_assert(sizeof(table) / sizeof(table[0]) == RS__MAX, "fsm rows");
_Static_assert(sizeof(table[0]) / sizeof(table[0][0]) == RE__MAX,
    "fsm columns");

static const char *const state_names[RS__MAX] = {
	[RS_PENDING] = "pending",
	[RS_CONVERTED] = "converted",
	[RS_REWARDED] = "rewarded",
	[RS_VOIDED] = "voided",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == RS__MAX,
    "state names");

static const char *const event_names[RE__MAX] = {
	[RE_CONVERT] = "convert",
	[RE_REWARD] = "reward",
	[RE_APPROVE] = "approve",
	[RE_HOLD] = "hold",
	[RE_VOID] = "void",
	[RE_REFUND] = "refund",
};
_Static_assert(sizeof(event_names) / sizeof(event_names[0]) == RE__MAX,
    "event names");

/*
 * Looks up what "ev" does to a referral in state "st".
 * Returns the step: its rc, the next state (the current one for NOOP and
 * INVALID) and the FSM_A_* side effects the caller must perform.
 */
struct fsm_step
fsm_next(enum ref_state st, enum ref_event ev)
{
	struct fsm_step	 bad = BAD(st);

	if ((unsigned int)st >= RS__MAX || (unsigned int)ev >= RE__MAX)
		return bad;
	return table[st][ev];
}

/*
 * Returns the database name of a state ("pending", ...), or "unknown"
 * for a value outside the enum.
 */
const char *
fsm_state_name(enum ref_state st)
{
	return (unsigned int)st < RS__MAX ? state_names[st] : "unknown";
}

/*
 * Returns the name of an event ("convert", ...), or "unknown".
 */
const char *
fsm_event_name(enum ref_event ev)
{
	return (unsigned int)ev < RE__MAX ? event_names[ev] : "unknown";
}

/*
 * Parses a state name as stored in the database.
 * Returns 0 and sets *st, or -1 if "s" names no state.
 */
int
fsm_state_parse(const char *s, enum ref_state *st)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < RS__MAX; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*st = (enum ref_state)i;
			return 0;
		}
	return -1;
}
