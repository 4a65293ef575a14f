/*
 * Money: decimal strings <-> integer minor units.  Never a float.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/*
 * Parses "^[0-9]+(\.[0-9]{1,2})?$" into minor units (cents), at most
 * MONEY_MAX.  Leading zeros are fine; signs, spaces, exponents and
 * locale digits are not.
 * Returns MONEY_OK and sets *minor, MONEY_EMPTY for NULL or "",
 * MONEY_PRECISION for three or more decimals, MONEY_RANGE above
 * MONEY_MAX, else MONEY_SYNTAX.
 */
enum money_rc
money_parse(const char *s, int64_t *minor)
{
	const char	*p = s;
	int64_t		 units = 0, cents = 0;
	size_t		 nd;
	int		 range = 0;
	enum money_rc	 rc = MONEY_SYNTAX;

	if (s == NULL || *s == '\0') {
		rc = MONEY_EMPTY;
		goto out;
	}
	if (*p < '0' || *p > '9')
		goto out;
	for (; *p >= '0' && *p <= '9'; p++) {
		/* Stop accumulating once out of range; keep checking syntax. */
		if (units > MONEY_MAX / 100)
			range = 1;
		else
			units = units * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		for (nd = 0; p[nd] >= '0' && p[nd] <= '9'; nd++)
			if (nd < 2)
				cents = cents * 10 + (p[nd] - '0');
		if (nd == 0 || p[nd] != '\0')
			goto out;
		if (nd > 2) {
			rc = MONEY_PRECISION;
			goto out;
		}
		if (nd == 1)
			cents *= 10;
	} else if (*p != '\0')
		goto out;
	if (range || units > MONEY_MAX / 100 ||
	    units * 100 > MONEY_MAX - cents) {
		rc = MONEY_RANGE;
		goto out;
	}
	*minor = units * 100 + cents;
	rc = MONEY_OK;
out:
	return rc;
}

/*
 * Writes minor units as "units.cc" ("-1.50" for a negative amount, which
 * only displays need).
 * Returns 0, or -1 if "buf" is too small.
 */
int
money_format(int64_t minor, char *buf, size_t sz)
{
	uint64_t	 a;
	int		 n;

	/* Negate through uint64_t so INT64_MIN has no UB. */
	a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
	n = snprintf(buf, sz, "%s%" PRIu64 ".%02" PRIu64,
	    minor < 0 ? "-" : "", a / 100, a % 100);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/*
 * Returns 1 if "s" is three upper-case ASCII letters (an ISO 4217 code
 * in form), else 0.
 */
int
currency_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return s[3] == '\0';
}
