/*
 * The referral state machine: one table over every (status, review, event).
 */
#include "config.h"

#include <string.h>

#include "core.h"

#define P(s, r)		{ (s), (r) }
#define OK(s, r)	{ FSM_OK, P(s, r), 0 }
#define OKA(s, r, a)	{ FSM_OK, P(s, r), (a) }
#define NOOP		{ FSM_NOOP, P(0, 0), 0 }	/* next: the current */
#define BAD		{ FSM_INVALID, P(0, 0), 0 }

/*
 * table[status][review][event].  NOOP means "already done": a redelivered
 * event or a race lost to another worker, answered without error.  INVALID
 * means the caller asked for something the state forbids.  The review
 * axis only changes by RE_HOLD and RE_APPROVE; a held referral converts
 * (its order is real) but is not rewarded until approved.
 */
static const struct fsm_step table[RS__MAX][RV__MAX][RE__MAX] = {
	[RS_PENDING] = {
		[RV_NONE] = {
			[RE_CONVERT] = OK(RS_CONVERTED, RV_NONE),
			[RE_REWARD] = BAD,		/* not converted yet */
			[RE_APPROVE] = NOOP,		/* not held */
			[RE_HOLD] = OKA(RS_PENDING, RV_HELD, FSM_A_REVIEW),
			[RE_VOID] = OK(RS_VOIDED, RV_NONE),
			[RE_REFUND] = NOOP,		/* nothing converted */
		},
		[RV_HELD] = {
			[RE_CONVERT] = OK(RS_CONVERTED, RV_HELD),
			[RE_REWARD] = BAD,
			[RE_APPROVE] = OKA(RS_PENDING, RV_APPROVED,
			    FSM_A_REVIEW),
			[RE_HOLD] = NOOP,
			[RE_VOID] = OK(RS_VOIDED, RV_HELD),
			[RE_REFUND] = NOOP,
		},
		[RV_APPROVED] = {
			[RE_CONVERT] = OK(RS_CONVERTED, RV_APPROVED),
			[RE_REWARD] = BAD,
			[RE_APPROVE] = NOOP,
			[RE_HOLD] = OKA(RS_PENDING, RV_HELD, FSM_A_REVIEW),
			[RE_VOID] = OK(RS_VOIDED, RV_APPROVED),
			[RE_REFUND] = NOOP,
		},
	},
	[RS_CONVERTED] = {
		[RV_NONE] = {
			[RE_CONVERT] = NOOP,
			[RE_REWARD] = OKA(RS_REWARDED, RV_NONE, FSM_A_REWARD),
			[RE_APPROVE] = NOOP,
			[RE_HOLD] = OKA(RS_CONVERTED, RV_HELD, FSM_A_REVIEW),
			[RE_VOID] = OK(RS_VOIDED, RV_NONE),
			[RE_REFUND] = OK(RS_VOIDED, RV_NONE),
		},
		[RV_HELD] = {
			[RE_CONVERT] = NOOP,
			[RE_REWARD] = BAD,		/* waits for review */
			[RE_APPROVE] = OKA(RS_CONVERTED, RV_APPROVED,
			    FSM_A_REVIEW),
			[RE_HOLD] = NOOP,
			[RE_VOID] = OK(RS_VOIDED, RV_HELD),
			[RE_REFUND] = OK(RS_VOIDED, RV_HELD),
		},
		[RV_APPROVED] = {
			[RE_CONVERT] = NOOP,
			[RE_REWARD] = OKA(RS_REWARDED, RV_APPROVED,
			    FSM_A_REWARD),
			[RE_APPROVE] = NOOP,
			[RE_HOLD] = OKA(RS_CONVERTED, RV_HELD, FSM_A_REVIEW),
			[RE_VOID] = OK(RS_VOIDED, RV_APPROVED),
			[RE_REFUND] = OK(RS_VOIDED, RV_APPROVED),
		},
	},
	/* Money moved: only a void (with revocations) changes it now. */
#define REWARDED(r) { \
			[RE_CONVERT] = NOOP, \
			[RE_REWARD] = NOOP, \
			[RE_APPROVE] = NOOP, \
			[RE_HOLD] = BAD, \
			[RE_VOID] = OKA(RS_VOIDED, (r), FSM_A_REVOKE), \
			[RE_REFUND] = OKA(RS_VOIDED, (r), FSM_A_REVOKE), \
		}
	[RS_REWARDED] = {
		[RV_NONE] = REWARDED(RV_NONE),
		[RV_HELD] = REWARDED(RV_HELD),
		[RV_APPROVED] = REWARDED(RV_APPROVED),
	},
	/* Terminal: repeats of what got it here are harmless. */
#define VOIDED { \
			[RE_CONVERT] = NOOP, \
			[RE_REWARD] = BAD, \
			[RE_APPROVE] = BAD, \
			[RE_HOLD] = BAD, \
			[RE_VOID] = NOOP, \
			[RE_REFUND] = NOOP, \
		}
	[RS_VOIDED] = {
		[RV_NONE] = VOIDED,
		[RV_HELD] = VOIDED,
		[RV_APPROVED] = VOIDED,
	},
};
_Static_assert(sizeof(table) / sizeof(table[0]) == RS__MAX, "fsm statuses");
_Static_assert(sizeof(table[0]) / sizeof(table[0][0]) == RV__MAX,
    "fsm reviews");
_Static_assert(sizeof(table[0][0]) / sizeof(table[0][0][0]) == RE__MAX,
    "fsm events");

static const char *const state_names[RS__MAX] = {
	[RS_PENDING] = "pending",
	[RS_CONVERTED] = "converted",
	[RS_REWARDED] = "rewarded",
	[RS_VOIDED] = "voided",
};
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == RS__MAX,
    "state names");

static const char *const review_names[RV__MAX] = {
	[RV_NONE] = "none",
	[RV_HELD] = "held",
	[RV_APPROVED] = "approved",
};
_Static_assert(sizeof(review_names) / sizeof(review_names[0]) == RV__MAX,
    "review names");

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
 * Looks up what "ev" does to a referral at "at".
 * Returns the step: its rc, the next state (the current one for NOOP and
 * INVALID) and the FSM_A_* side effects the caller must perform.
 */
struct fsm_step
fsm_next(struct ref_pos at, enum ref_event ev)
{
	struct fsm_step	 step = BAD;

	if ((unsigned int)at.status < RS__MAX &&
	    (unsigned int)at.review < RV__MAX && (unsigned int)ev < RE__MAX)
		step = table[at.status][at.review][ev];
	if (step.rc != FSM_OK)
		step.next = at;
	return step;
}

/*
 * Returns 1 if "ev" would change a referral at "at" (FSM_OK), else 0: what
 * a user interface asks before it offers an action.
 */
int
fsm_can(struct ref_pos at, enum ref_event ev)
{
	return fsm_next(at, ev).rc == FSM_OK;
}

/*
 * Returns the database name of a status ("pending", ...), or "unknown"
 * for a value outside the enum.
 */
const char *
fsm_state_name(enum ref_state st)
{
	return (unsigned int)st < RS__MAX ? state_names[st] : "unknown";
}

/*
 * Returns the database name of a review state ("none", "held",
 * "approved"), or "unknown".
 */
const char *
fsm_review_name(enum ref_review rv)
{
	return (unsigned int)rv < RV__MAX ? review_names[rv] : "unknown";
}

/*
 * Returns the name of an event ("convert", ...), or "unknown".
 */
const char *
fsm_event_name(enum ref_event ev)
{
	return (unsigned int)ev < RE__MAX ? event_names[ev] : "unknown";
}

/* Finds "s" in names[0..n).  Returns its index, or -1. */
static int
name_index(const char *const *names, int n, const char *s)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Parses a status name as stored in the database.
 * Returns 0 and sets *st, or -1 if "s" names no status.
 */
int
fsm_state_parse(const char *s, enum ref_state *st)
{
	int	 i = name_index(state_names, RS__MAX, s);

	if (i == -1)
		return -1;
	*st = (enum ref_state)i;
	return 0;
}

/*
 * Parses a review name as stored in the database.
 * Returns 0 and sets *rv, or -1 if "s" names no review state.
 */
int
fsm_review_parse(const char *s, enum ref_review *rv)
{
	int	 i = name_index(review_names, RV__MAX, s);

	if (i == -1)
		return -1;
	*rv = (enum ref_review)i;
	return 0;
}
