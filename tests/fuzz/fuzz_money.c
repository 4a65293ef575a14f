/*
 * libFuzzer target: money_parse() and currency_valid().  The result is
 * checked against a reference written from the contract
 * ("^[0-9]+(\.[0-9]{1,2})?$", at most MONEY_MAX cents, precision checked
 * before range), and every accepted amount must survive
 * money_format() and parse back to the same cents.
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

static int
digit(char c)
{
	return c >= '0' && c <= '9';
}

static enum money_rc
ref_parse(const char *s, int64_t *minor)
{
	const char	*p = s, *sig;
	size_t		 nint, nsig, nd, i;
	int64_t		 units = 0, cents = 0;

	if (*s == '\0')
		return MONEY_EMPTY;
	for (nint = 0; digit(p[nint]); nint++)
		continue;
	if (nint == 0)
		return MONEY_SYNTAX;
	p += nint;
	nd = 0;
	if (*p == '.') {
		for (p++; digit(p[nd]); nd++)
			continue;
		if (nd == 0 || p[nd] != '\0')
			return MONEY_SYNTAX;
		if (nd > 2)
			return MONEY_PRECISION;
	} else if (*p != '\0')
		return MONEY_SYNTAX;
	/* Significant digits of the integer part: MONEY_MAX has 10. */
	for (sig = s, nsig = nint; nsig > 1 && *sig == '0'; sig++)
		nsig--;
	if (nsig > 10)
		return MONEY_RANGE;
	for (i = 0; i < nsig; i++)
		units = units * 10 + (sig[i] - '0');
	if (nd >= 1)
		cents = (p[0] - '0') * 10;
	if (nd == 2)
		cents += p[1] - '0';
	if (units * 100 + cents > MONEY_MAX)
		return MONEY_RANGE;
	*minor = units * 100 + cents;
	return MONEY_OK;
}

static int
ref_currency(const char *s)
{
	return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' &&
	    s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

/*
 * money_format() of any int64_t (the first 8 bytes) into a heap buffer
 * of the size in the 9th byte: it fits with its NUL, or it fails.
 */
static void
format_any(const uint8_t *data)
{
	char	*out, full[32];
	int64_t	 v;
	size_t	 sz = data[sizeof(v)] % sizeof(full);

	memcpy(&v, data, sizeof(v));
	FUZZ_CHECK(money_format(v, full, sizeof(full)) == 0);
	if ((out = malloc(sz == 0 ? 1 : sz)) == NULL)
		abort();
	if (money_format(v, out, sz) == 0) {
		FUZZ_CHECK(strlen(out) < sz);
		FUZZ_CHECK(strcmp(out, full) == 0);
	} else
		FUZZ_CHECK(strlen(full) >= sz);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, buf[32];
	int64_t		 got = -1, want = -1, back = -1;
	enum money_rc	 rc;

	s = fuzz_cstr(data, size);
	rc = money_parse(s, &got);
	FUZZ_CHECK(rc == ref_parse(s, &want));
	if (rc == MONEY_OK) {
		FUZZ_CHECK(got == want);
		FUZZ_CHECK(got >= 0 && got <= MONEY_MAX);
		FUZZ_CHECK(money_format(got, buf, sizeof(buf)) == 0);
		FUZZ_CHECK(money_parse(buf, &back) == MONEY_OK);
		FUZZ_CHECK(back == got);
	}
	FUZZ_CHECK(currency_valid(s) == ref_currency(s));
	free(s);
	if (size >= sizeof(got) + 1)
		format_any(data);
	return 0;
}
