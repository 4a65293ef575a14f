/*
 * The clocks: wall time for what is stored and shown, a monotonic clock
 * for every timeout and period (it never jumps), and UTC formatting
 * (RFC 3339 for logs and JSON).  core/ never reads a clock: its callers
 * pass it the time they read here.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "rt.h"

/* Seconds since the epoch. */
int64_t
clock_now(void)
{
	return (int64_t)time(NULL);
}

/* Reads clock "id" in units of 1/"per_sec" of a second. */
static int64_t
clock_read(clockid_t id, int64_t per_sec)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * per_sec + ts.tv_nsec /
	    (1000000000 / per_sec);
}

/* Milliseconds since the epoch. */
int64_t
clock_wall_ms(void)
{
	return clock_read(CLOCK_REALTIME, 1000);
}

/* Milliseconds of a clock that never jumps. */
int64_t
clock_mono_ms(void)
{
	return clock_read(CLOCK_MONOTONIC, 1000);
}

/* Microseconds of that clock. */
int64_t
clock_mono_us(void)
{
	return clock_read(CLOCK_MONOTONIC, 1000000);
}

/* Sets "ts" to "ms" from now on the monotonic clock (timed waits). */
void
clock_mono_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * Formats "t" (seconds since the epoch) in UTC with strftime's "fmt".
 * Returns 0, or -1 (buf is then "") if "t" has no date or it does not fit.
 */
int
clock_utc(char *buf, size_t sz, int64_t t, const char *fmt)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (sz == 0)
		return -1;
	/* "fmt" is checked at every call (format(strftime) in rt.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sz, fmt, &tm) == 0) {
		buf[0] = '\0';
		return -1;
	}
#pragma GCC diagnostic pop
	return 0;
}

/* "2026-12-03T05:21:20Z": clock_utc() in RFC 3339. */
int
clock_rfc3339(char *buf, size_t sz, int64_t t)
{
	return clock_utc(buf, sz, t, CLOCK_RFC3339);
}

/* "2026-12-03T05:21:20.123Z" of "ms" milliseconds since the epoch. */
int
clock_rfc3339_ms(char *buf, size_t sz, int64_t ms)
{
	char	 s[32];
	int	 n;

	if (clock_utc(s, sizeof(s), ms / 1000, "%Y-%m-%dT%H:%M:%S") == -1)
		return -1;
	n = snprintf(buf, sz, "%s.%03dZ", s, (int)(ms % 1000));
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}
