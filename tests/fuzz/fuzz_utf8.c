/*
 * libFuzzer target: utf8_valid(), against a reference written from the
 * table of well-formed byte sequences (Unicode, table 3-7) rather than
 * by decoding, with NUL refused as the contract says.  The input is
 * passed with its exact length, so a read past a truncated sequence is
 * an AddressSanitizer report.
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

static int
in(uint8_t c, uint8_t lo, uint8_t hi)
{
	return c >= lo && c <= hi;
}

static int
ref_valid(const uint8_t *p, size_t len)
{
	size_t	 i = 0, n, k;
	uint8_t	 lo, hi;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (in(p[i], 0xc2, 0xdf))
			n = 1;
		else if (p[i] == 0xe0) {
			n = 2;
			lo = 0xa0;
		} else if (p[i] == 0xed) {
			n = 2;
			hi = 0x9f;
		} else if (in(p[i], 0xe1, 0xef))
			n = 2;
		else if (p[i] == 0xf0) {
			n = 3;
			lo = 0x90;
		} else if (p[i] == 0xf4) {
			n = 3;
			hi = 0x8f;
		} else if (in(p[i], 0xf1, 0xf3))
			n = 3;
		else
			return 0;
		if (len - i <= n)
			return 0;
		/* Only the second byte has a narrowed range. */
		if (!in(p[i + 1], lo, hi))
			return 0;
		for (k = 2; k <= n; k++)
			if (!in(p[i + k], 0x80, 0xbf))
				return 0;
		i += n + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	 v;

	v = utf8_valid((const char *)data, size);
	FUZZ_CHECK(v == 0 || v == 1);
	FUZZ_CHECK(v == ref_valid(data, size));
	return 0;
}
