/*
 * The delivery policy of SPEC.md section 6: which answers count as
 * delivered, retried or dead, how long to wait before the next attempt,
 * and how long a lease must be.  No clock and no I/O: "now" is an argument.
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"
#include "dispatch.h"

static const char *const verdict_names[VERDICT__MAX] = {
	[VERDICT_DELIVERED] = "delivered",
	[VERDICT_RETRY] = "retry",
	[VERDICT_DEAD] = "dead",
};

_Static_assert(sizeof(verdict_names) / sizeof(verdict_names[0]) ==
    VERDICT__MAX, "verdict names");

const char *
policy_verdict_name(enum verdict v)
{
	return v < VERDICT__MAX ? verdict_names[v] : "?";
}

/*
 * Classifies one attempt.  "transport_ok" is 0 when no HTTP answer came
 * back (timeout, refused or reset connection, ...): the receiver may or
 * may not have applied the request, so the row is retried with the same
 * key, never given up on.  2xx is delivered; 5xx, 408 and 429 are
 * retried; every other status (3xx, the other 4xx) is dead at once.
 */
enum verdict
policy_classify(long status, int transport_ok)
{
	if (!transport_ok)
		return VERDICT_RETRY;
	if (status >= 200 && status <= 299)
		return VERDICT_DELIVERED;
	if ((status >= 500 && status <= 599) || status == 408 ||
	    status == 429)
		return VERDICT_RETRY;
	if (status < 100 || status > 599)
		return VERDICT_RETRY;	/* not HTTP: treat as unknown */
	return VERDICT_DEAD;
}

/*
 * The wait before the next attempt after attempt number "attempt" (1 for
 * the first): base_ms doubling per attempt, capped at max_ms (itself at
 * most DISPATCH_BACKOFF_MAX_MS), with "equal jitter" so that rows that
 * failed together do not come back together: the result lies in [d/2, d]
 * for the capped delay d, drawn with "rnd".
 */
int64_t
policy_backoff_ms(long base_ms, long max_ms, int64_t attempt, uint32_t rnd)
{
	int64_t	 d = base_ms > 0 ? base_ms : 1, cap, half;

	cap = max_ms > 0 && max_ms < DISPATCH_BACKOFF_MAX_MS ? max_ms :
	    DISPATCH_BACKOFF_MAX_MS;
	if (d > cap)
		d = cap;
	while (--attempt > 0 && d < cap)
		d *= 2;
	if (d > cap)
		d = cap;
	half = d / 2;
	return d - half + (int64_t)(rnd % (uint32_t)(half + 1));
}

/*
 * Parses a Retry-After value: delay-seconds or an HTTP date (RFC 9110
 * 10.2.3), relative to "now".  Returns the delay in seconds, at most
 * DISPATCH_RETRY_AFTER_MAX (a receiver cannot park a row for good), 0 for
 * a date in the past, or -1 if the value is missing or malformed.
 */
int64_t
policy_retry_after(const char *value, int64_t now)
{
	char		 buf[128];
	const char	*p;
	size_t		 len;
	int64_t		 secs = 0;
	time_t		 t;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	len = strlen(value);
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
	    value[len - 1] == '\r' || value[len - 1] == '\n'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		for (p = buf; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			if (secs <= DISPATCH_RETRY_AFTER_MAX)
				secs = secs * 10 + (*p - '0');
		}
	} else {
		if ((t = curl_getdate(buf, NULL)) == -1)
			return -1;
		secs = (int64_t)t - now;
		if (secs < 0)
			secs = 0;
	}
	return secs > DISPATCH_RETRY_AFTER_MAX ? DISPATCH_RETRY_AFTER_MAX :
	    secs;
}

/*
 * The time (Unix seconds) of the next attempt: the backoff or the
 * receiver's Retry-After (-1: none), whichever is later, rounded up to
 * the next whole second (the outbox keeps seconds) so that neither is cut
 * short.
 */
int64_t
policy_next_attempt(int64_t now_ms, int64_t backoff_ms, int64_t retry_after)
{
	int64_t	 wait = backoff_ms;

	if (retry_after >= 0 && retry_after * 1000 > wait)
		wait = retry_after * 1000;
	return (now_ms + wait + 999) / 1000;
}

/*
 * The lease to take on claimed rows: the configured one, but never less
 * than the transfer timeout plus DISPATCH_LEASE_MARGIN, so that a
 * transfer cannot outlive its lease (another dispatcher would send the
 * row while it is still in flight) and no renewal is needed.
 */
long
policy_lease(long lease_seconds, long timeout_ms)
{
	long	 min = (timeout_ms + 999) / 1000 + DISPATCH_LEASE_MARGIN;

	return lease_seconds > min ? lease_seconds : min;
}

/*
 * Whether an idempotency key may go into a header as is: 1 to 64
 * characters of [A-Za-z0-9._-].  (Keys are generated, but a header is no
 * place to trust a database.)
 */
int
policy_key_valid(const char *key)
{
	size_t	 i;

	for (i = 0; key[i] != '\0'; i++)
		if (i >= 64 || !(isalnum((unsigned char)key[i]) ||
		    key[i] == '.' || key[i] == '_' || key[i] == '-'))
			return 0;
	return i > 0;
}

/*
 * Copies at most "len" bytes of "src" into "dst" for a log line or
 * last_error: printable ASCII kept, runs of anything else (newlines,
 * control bytes, UTF-8) become one space, double quotes become single.
 */
void
policy_sanitize(char *dst, size_t dstsz, const char *src, size_t len)
{
	size_t	 i, o = 0;
	int	 space = 0;

	if (dstsz == 0)
		return;
	for (i = 0; i < len && src[i] != '\0' && o + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c < 0x20 || c > 0x7e) {
			if (!space && o > 0)
				dst[o++] = ' ';
			space = 1;
			continue;
		}
		space = 0;
		dst[o++] = c == '"' ? '\'' : (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}
