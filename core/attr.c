/*
 * Fraud rules and the attribution decision for a signup with a code.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"

#define MAX_DOMAIN	253

enum rule_kind {
	KIND_NONE,
	KIND_REJECT,		/* no referral is made */
	KIND_HOLD,		/* referral made, rewards wait for review */
	KIND_OTHER,		/* not decided at attribution */
};

struct rule_def {
	const char	*name;
	enum rule_kind	 kind;
};

static const struct rule_def rules[RULE__MAX] = {
	[RULE_NONE] = { "none", KIND_NONE },
	[RULE_CODE_UNKNOWN] = { "code_unknown", KIND_REJECT },
	[RULE_CODE_EXPIRED] = { "code_expired", KIND_REJECT },
	[RULE_CODE_DISABLED] = { "code_disabled", KIND_REJECT },
	[RULE_SELF_REFERRAL] = { "self_referral", KIND_REJECT },
	[RULE_REFERRER_FLAGGED] = { "referrer_flagged", KIND_REJECT },
	[RULE_DEVICE_MATCH] = { "device_match", KIND_REJECT },
	[RULE_SAME_IP] = { "same_ip", KIND_HOLD },
	[RULE_DISPOSABLE_EMAIL] = { "disposable_email", KIND_HOLD },
	[RULE_REFERRER_VELOCITY] = { "referrer_velocity", KIND_HOLD },
	[RULE_IP_VELOCITY] = { "ip_velocity", KIND_HOLD },
	[RULE_PAYMENT_MATCH] = { "payment_match", KIND_OTHER },
	[RULE_MANUAL] = { "manual", KIND_OTHER },
};
_Static_assert(sizeof(rules) / sizeof(rules[0]) == RULE__MAX, "rules");
_Static_assert(RULE__MAX <= 32, "fired is a 32-bit mask");

static const char *const result_names[ATTR__MAX] = {
	[ATTR_NONE] = "none",
	[ATTR_ATTRIBUTED] = "attributed",
	[ATTR_HELD] = "held",
	[ATTR_REJECTED] = "rejected",
};
_Static_assert(sizeof(result_names) / sizeof(result_names[0]) == ATTR__MAX,
    "attribution results");

/*
 * The checks, in the order they decide: one predicate per rule.  The
 * counts are the prior signups in the last hour, without this one, so
 * with a limit of 10 the eleventh is held.  A limit <= 0 turns the rule
 * off.
 */
static int
fires(enum rule r, const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	switch (r) {
	case RULE_CODE_UNKNOWN:
		return f->code == CODE_UNKNOWN;
	case RULE_CODE_DISABLED:
		return f->code == CODE_FOUND && f->disabled_at != 0 &&
		    f->disabled_at <= now;
	case RULE_CODE_EXPIRED:
		return f->code == CODE_FOUND && f->expires_at != 0 &&
		    f->expires_at <= now;
	case RULE_SELF_REFERRAL:
		return f->code == CODE_FOUND &&
		    f->referrer_id == f->referee_id;
	case RULE_REFERRER_FLAGGED:
		return f->code == CODE_FOUND && f->referrer_flagged;
	case RULE_DEVICE_MATCH:
		return f->code == CODE_FOUND && f->device_match;
	case RULE_SAME_IP:
		return f->code == CODE_FOUND && f->ip_match;
	case RULE_DISPOSABLE_EMAIL:
		return f->code == CODE_FOUND && f->disposable_email;
	case RULE_REFERRER_VELOCITY:
		return f->code == CODE_FOUND && l->max_per_referrer_hour > 0 &&
		    f->referrer_hour >= l->max_per_referrer_hour;
	case RULE_IP_VELOCITY:
		return f->code == CODE_FOUND && l->max_per_ip_hour > 0 &&
		    f->ip_hour >= l->max_per_ip_hour;
	default:
		return 0;
	}
}

static const enum rule order[] = {
	RULE_CODE_UNKNOWN,
	RULE_CODE_DISABLED,
	RULE_CODE_EXPIRED,
	RULE_SELF_REFERRAL,
	RULE_REFERRER_FLAGGED,
	RULE_DEVICE_MATCH,
	RULE_SAME_IP,
	RULE_DISPOSABLE_EMAIL,
	RULE_REFERRER_VELOCITY,
	RULE_IP_VELOCITY,
};

/*
 * Decides what a signup with a code gets.  The first rule that fires in
 * the order above decides (every reject before any hold); "fired" still
 * has a bit (1 << rule) for every rule that fired, for the fraud flags.
 * Returns ATTR_NONE if no code was given, ATTR_REJECTED, ATTR_HELD or
 * ATTR_ATTRIBUTED with the deciding rule (RULE_NONE if clean).
 */
struct attr_decision
attr_decide(const struct attr_facts *f, const struct attr_limits *l,
    int64_t now)
{
	struct attr_decision	 d = { ATTR_ATTRIBUTED, RULE_NONE, 0 };
	size_t			 i;

	if (f->code == CODE_NONE) {
		d.result = ATTR_NONE;
		return d;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!fires(order[i], f, l, now))
			continue;
		d.fired |= 1U << order[i];
		if (d.rule != RULE_NONE)
			continue;
		d.rule = order[i];
		d.result = rules[order[i]].kind == KIND_REJECT ?
		    ATTR_REJECTED : ATTR_HELD;
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
 * Returns 1 if the rule rejects an attribution outright, else 0.
 */
int
rule_is_reject(enum rule r)
{
	return (unsigned int)r < RULE__MAX && rules[r].kind == KIND_REJECT;
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
