/*
 * Fraud rules and the attribution decision for a signup with a code.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"

#define MAX_DOMAIN	253

/* A rule's test at signup: 1 if it fires on these facts. */
typedef int (*rule_fn)(const struct attr_facts *, const struct attr_limits *,
    int64_t now);

struct rule_def {
	enum rule	 id;		/* its own index, checked by test_attr */
	const char	*name;		/* as fraud flags store it */
	enum fraud_verdict verdict;
	rule_fn		 fires;		/* NULL: not decided at signup */
};

/*
 * The predicates.  The counts are the prior signups in the last hour,
 * without this one, so with a limit of 10 the eleventh is held.  A limit
 * <= 0 turns the rule off.
 */
static int
code_unknown(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_UNKNOWN;
}

static int
code_disabled(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->disabled_at != 0 &&
	    f->disabled_at <= now;
}

static int
code_expired(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->expires_at != 0 &&
	    f->expires_at <= now;
}

static int
self_referral(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->referrer_id == f->referee_id;
}

static int
referrer_flagged(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->referrer_flagged;
}

static int
device_match(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->device_match;
}

static int
same_ip(const struct attr_facts *f, const struct attr_limits *l, int64_t now)
{
	return f->code == CODE_FOUND && f->ip_match;
}

static int
disposable_email(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && f->disposable_email;
}

static int
referrer_velocity(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && l->max_per_referrer_hour > 0 &&
	    f->referrer_hour >= l->max_per_referrer_hour;
}

static int
ip_velocity(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	return f->code == CODE_FOUND && l->max_per_ip_hour > 0 &&
	    f->ip_hour >= l->max_per_ip_hour;
}

/*
 * Every rule, in the order attr_decide() evaluates them: every reject
 * before any hold, so the first that fires decides.
 */
static const struct rule_def rules[RULE__MAX] = {
	[RULE_NONE] = { RULE_NONE, "none", FRAUD_NONE, NULL },
	[RULE_CODE_UNKNOWN] = { RULE_CODE_UNKNOWN, "code_unknown",
	    FRAUD_REJECT, code_unknown },
	[RULE_CODE_DISABLED] = { RULE_CODE_DISABLED, "code_disabled",
	    FRAUD_REJECT, code_disabled },
	[RULE_CODE_EXPIRED] = { RULE_CODE_EXPIRED, "code_expired",
	    FRAUD_REJECT, code_expired },
	[RULE_SELF_REFERRAL] = { RULE_SELF_REFERRAL, "self_referral",
	    FRAUD_REJECT, self_referral },
	[RULE_REFERRER_FLAGGED] = { RULE_REFERRER_FLAGGED, "referrer_flagged",
	    FRAUD_REJECT, referrer_flagged },
	[RULE_DEVICE_MATCH] = { RULE_DEVICE_MATCH, "device_match",
	    FRAUD_REJECT, device_match },
	[RULE_SAME_IP] = { RULE_SAME_IP, "same_ip", FRAUD_HOLD, same_ip },
	[RULE_DISPOSABLE_EMAIL] = { RULE_DISPOSABLE_EMAIL, "disposable_email",
	    FRAUD_HOLD, disposable_email },
	[RULE_REFERRER_VELOCITY] = { RULE_REFERRER_VELOCITY,
	    "referrer_velocity", FRAUD_HOLD, referrer_velocity },
	[RULE_IP_VELOCITY] = { RULE_IP_VELOCITY, "ip_velocity", FRAUD_HOLD,
	    ip_velocity },
	/* Decided by conv_decide() and conv_reward_decide(). */
	[RULE_PAYMENT_MATCH] = { RULE_PAYMENT_MATCH, "payment_match",
	    FRAUD_VOID, NULL },
	[RULE_FLAGGED_REFERRER] = { RULE_FLAGGED_REFERRER,
	    "flagged_referrer", FRAUD_HOLD, NULL },
	[RULE_MANUAL] = { RULE_MANUAL, "manual", FRAUD_NONE, NULL },
};
_Static_assert(sizeof(rules) / sizeof(rules[0]) == RULE__MAX, "rules");
_Static_assert(RULE__MAX <= 32, "fired is a 32-bit mask");

static const char *const verdict_names[FRAUD__MAX] = {
	[FRAUD_NONE] = "none",
	[FRAUD_REJECT] = "reject",
	[FRAUD_HOLD] = "hold",
	[FRAUD_VOID] = "void",
};
_Static_assert(sizeof(verdict_names) / sizeof(verdict_names[0]) ==
    FRAUD__MAX, "fraud verdicts");

static const char *const result_names[ATTR__MAX] = {
	[ATTR_NONE] = "none",
	[ATTR_ATTRIBUTED] = "attributed",
	[ATTR_HELD] = "held",
	[ATTR_REJECTED] = "rejected",
};
_Static_assert(sizeof(result_names) / sizeof(result_names[0]) == ATTR__MAX,
    "attribution results");

/*
 * Decides what a signup with a code gets.  The first rule that fires in
 * the table's order decides (every reject before any hold); "fired" still
 * has a bit (1 << rule) for every rule that fired, for the fraud flags.
 * Returns ATTR_NONE if no code was given, ATTR_REJECTED, ATTR_HELD or
 * ATTR_ATTRIBUTED with the deciding rule (RULE_NONE if clean).
 */
struct attr_decision
attr_decide(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	struct attr_decision	 d = { ATTR_ATTRIBUTED, RULE_NONE, 0 };
	const struct rule_def	*r;

	if (f->code == CODE_NONE) {
		d.result = ATTR_NONE;
		return d;
	}
	for (r = rules; r < rules + RULE__MAX; r++) {
		if (r->fires == NULL || !r->fires(f, l, now))
			continue;
		d.fired |= 1U << r->id;
		if (d.rule != RULE_NONE)
			continue;
		d.rule = r->id;
		d.result = r->verdict == FRAUD_REJECT ? ATTR_REJECTED :
		    ATTR_HELD;
	}
	return d;
}

/*
 * Returns the name of an attribution result ("attributed", ...), or
 * "unknown".
 */
const char *
attr_result_name(enum attr_result r)
{
	return (unsigned int)r < ATTR__MAX ? result_names[r] : "unknown";
}

/*
 * Returns the name of a rule as stored in fraud flags ("same_ip", ...),
 * or "unknown".
 */
const char *
rule_name(enum rule r)
{
	return (unsigned int)r < RULE__MAX ? rules[r].name : "unknown";
}

/*
 * Returns what rule "r" does when it fires (FRAUD_NONE for none, manual
 * or a value outside the enum).
 */
enum fraud_verdict
rule_verdict(enum rule r)
{
	return (unsigned int)r < RULE__MAX ? rules[r].verdict : FRAUD_NONE;
}

/*
 * Returns the name of a verdict as fraud flags store it in "decision"
 * ("reject", "hold", "void"), or "unknown".
 */
const char *
fraud_verdict_name(enum fraud_verdict v)
{
	return (unsigned int)v < FRAUD__MAX ? verdict_names[v] : "unknown";
}

/*
 * Returns 1 if the rule rejects an attribution outright, else 0.
 */
int
rule_is_reject(enum rule r)
{
	return rule_verdict(r) == FRAUD_REJECT;
}

/*
 * Returns a pointer into "email" just past its last '@', or NULL if
 * there is none or nothing follows it.
 */
const char *
email_domain(const char *email)
{
	const char	*at;

	if (email == NULL || (at = strrchr(email, '@')) == NULL ||
	    at[1] == '\0')
		return NULL;
	return at + 1;
}

static int
cmpstr(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/*
 * Looks up the domain of an email address (or a bare domain) in a list
 * sorted by strcmp and in lower case, such as the disposable domains.
 * A subdomain of a listed domain matches too ("x.mailinator.com" when
 * "mailinator.com" is listed); a bare top-level label never does.
 * Returns 1 if listed, else 0 (also for a domain over 253 characters).
 */
int
domain_listed(const char *const *sorted, size_t n, const char *s)
{
	char		 buf[MAX_DOMAIN + 1];
	const char	*d, *p;
	size_t		 len, i;

	if (sorted == NULL || n == 0 || s == NULL)
		return 0;
	d = strchr(s, '@') != NULL ? email_domain(s) : s;
	if (d == NULL || (len = strlen(d)) == 0 || len > MAX_DOMAIN)
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = d[i] >= 'A' && d[i] <= 'Z' ?
		    (char)(d[i] - 'A' + 'a') : d[i];
	/* A fully qualified "example.com." is the same domain. */
	if (buf[len - 1] == '.')
		len--;
	buf[len] = '\0';
	for (p = buf; p != NULL && *p != '\0'; ) {
		if (bsearch(p, sorted, n, sizeof(*sorted), cmpstr) != NULL)
			return 1;
		if ((p = strchr(p, '.')) == NULL)
			break;
		p++;
		if (strchr(p, '.') == NULL)
			break;
	}
	return 0;
}
