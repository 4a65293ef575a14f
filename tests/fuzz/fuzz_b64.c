/*
 * libFuzzer target: b64_decode() and b64_encode(), and sig_key_parse()
 * which rests on them.  The first byte sizes the output buffer (on the
 * heap, exactly that big, so an overflow is an AddressSanitizer report);
 * the rest is the text to decode and, the other way round, the bytes to
 * encode.  Decoding is canonical: what decodes re-encodes to the same
 * text, and what is encoded decodes back to the same bytes.
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

#define WHSEC	"whsec_"

static void
decode(const uint8_t *in, size_t len, size_t outsz)
{
	unsigned char	*out;
	char		*re;
	size_t		 outlen = (size_t)-1, resz;

	if ((out = malloc(outsz == 0 ? 1 : outsz)) == NULL)
		abort();
	if (b64_decode((const char *)in, len, out, outsz, &outlen) == 0) {
		FUZZ_CHECK(len % 4 == 0);
		FUZZ_CHECK(outlen <= outsz);
		FUZZ_CHECK(outlen == len / 4 * 3 -
		    (len > 0 && in[len - 1] == '=') -
		    (len > 1 && in[len - 2] == '='));
		resz = len + 1;
		if ((re = malloc(resz)) == NULL)
			abort();
		FUZZ_CHECK(b64_encode(out, outlen, re, resz) == 0);
		FUZZ_CHECK(strlen(re) == len && memcmp(re, in, len) == 0);
		free(re);
	}
	free(out);
}

static void
roundtrip(const uint8_t *in, size_t len)
{
	unsigned char	*back;
	char		*enc;
	size_t		 encsz = (len + 2) / 3 * 4 + 1, backlen = (size_t)-1;

	if ((enc = malloc(encsz)) == NULL || (back = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	/* One byte short must fail, not overflow. */
	FUZZ_CHECK(b64_encode(in, len, enc, encsz - 1) == -1);
	FUZZ_CHECK(b64_encode(in, len, enc, encsz) == 0);
	FUZZ_CHECK(strlen(enc) == encsz - 1);
	FUZZ_CHECK(b64_decode(enc, encsz - 1, back, len, &backlen) == 0);
	FUZZ_CHECK(backlen == len);
	FUZZ_CHECK(len == 0 || memcmp(back, in, len) == 0);
	free(enc);
	free(back);
}

static void
key(const uint8_t *in, size_t len)
{
	struct sig_key	 k;
	char		*s;

	if ((s = malloc(sizeof(WHSEC) + len)) == NULL)
		abort();
	memcpy(s, WHSEC, sizeof(WHSEC) - 1);
	memcpy(s + sizeof(WHSEC) - 1, in, len);
	s[sizeof(WHSEC) - 1 + len] = '\0';
	if (sig_key_parse(s, &k) == 0)
		FUZZ_CHECK(k.len > 0 && k.len <= SIG_KEY_MAX);
	else
		FUZZ_CHECK(k.len == 0);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	decode(data + 1, size - 1, data[0]);
	decode(data + 1, size - 1, (size - 1) / 4 * 3);
	roundtrip(data + 1, size - 1);
	key(data + 1, size - 1);
	return 0;
}
