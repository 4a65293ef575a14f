/*
 * referd-dispatch: the outbox dispatcher.  The retry policy lives in
 * policy.c as pure functions (no clock, no I/O) so that the unit test can
 * walk every branch; dispatch.c is the daemon around it.
 */
#ifndef REFERD_DISPATCH_H
#define REFERD_DISPATCH_H

#include <stdint.h>

/* What to do with a row after one attempt. */
enum verdict {
	VERDICT_DELIVERED,	/* 2xx */
	VERDICT_RETRY,		/* 5xx, 408, 429, timeout, connection error */
	VERDICT_DEAD,		/* any other answer: retrying cannot help */
	VERDICT__MAX
};

/* policy.c */
enum verdict	 policy_classify(long status, int transport_ok);
const char	*policy_verdict_name(enum verdict);
int64_t		 policy_backoff_ms(long base_ms, long max_ms,
		    int64_t attempt, uint32_t rnd);
int64_t		 policy_retry_after(const char *value, int64_t now);
int64_t		 policy_next_attempt(int64_t now_ms, int64_t backoff_ms,
		    int64_t retry_after);
long		 policy_lease(long lease_seconds, long timeout_ms);
int		 policy_key_valid(const char *key);
void		 policy_sanitize(char *dst, size_t dstsz, const char *src,
		    size_t len);

#endif /* !REFERD_DISPATCH_H */
