/*
 * libFuzzer target: code_normalize(), what a person typed into a form or
 * a URL.  Checked against a reference written from its contract (trim
 * ASCII whitespace, drop inner '-' and ' ', upper-case, exactly CODE_LEN
 * base-36 characters), and for idempotence: a normalised code
 * normalises to itself and is code_valid().
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

static int
ref_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* The contract, written independently: returns 0 and fills out, or -1. */
static int
ref_normalize(const uint8_t *p, size_t len, char out[CODE_LEN + 1])
{
	size_t	 b = 0, e = len, i, o = 0;
	uint8_t	 c;

	if (len > MAX_CODE_INPUT)
		return -1;
	while (b < e && ref_space(p[b]))
		b++;
	while (e > b && ref_space(p[e - 1]))
		e--;
	for (i = b; i < e; i++) {
		c = p[i];
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return -1;
		if (o == CODE_LEN)
			return -1;
		out[o++] = (char)c;
	}
	if (o != CODE_LEN)
		return -1;
	out[o] = '\0';
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 got[CODE_LEN + 1], want[CODE_LEN + 1], again[CODE_LEN + 1];
	int	 rc;

	rc = code_normalize((const char *)data, size, got);
	FUZZ_CHECK(rc == ref_normalize(data, size, want));
	if (rc == 0) {
		FUZZ_CHECK(strcmp(got, want) == 0);
		FUZZ_CHECK(code_valid(got));
		FUZZ_CHECK(code_normalize(got, CODE_LEN, again) == 0);
		FUZZ_CHECK(strcmp(got, again) == 0);
	}
	return 0;
}
