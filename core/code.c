/*
 * Referral codes: minting from a CSPRNG and normalising what people type.
 */
#include "config.h"

#include <string.h>

#include <openssl/rand.h>

#include "core.h"

#define ALPHABET_LEN	(sizeof(CODE_ALPHABET) - 1)
/* The largest multiple of the alphabet length that fits in a byte. */
#define REJECT_FROM	(256 / ALPHABET_LEN * ALPHABET_LEN)

_Static_assert(ALPHABET_LEN == 36, "code alphabet is base-36");
_Static_assert(REJECT_FROM == 252, "rejection bound");

/* Whether "c" is in CODE_ALPHABET. */
static int
code_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

/*
 * Fills "out" with CODE_LEN characters of CODE_ALPHABET drawn uniformly
 * from RAND_bytes (bytes >= 252 are drawn again, so there is no modulo
 * bias), NUL-terminated.  Never derived from anything about the user.
 * Returns 0, or -1 if the CSPRNG fails.
 */
int
code_mint(char out[CODE_LEN + 1])
{
	unsigned char	 buf[32];
	size_t		 i, o = 0;
	int		 rc = -1;

	while (o < CODE_LEN) {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			goto out;
		for (i = 0; i < sizeof(buf) && o < CODE_LEN; i++)
			if (buf[i] < REJECT_FROM)
				out[o++] = CODE_ALPHABET[buf[i] % ALPHABET_LEN];
	}
	out[o] = '\0';
	rc = 0;
out:
	return rc;
}

/* ASCII whitespace, without the locale. */
static int
code_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/*
 * Normalises a code as a person typed it: "len" at most MAX_CODE_INPUT,
 * surrounding ASCII whitespace trimmed, inner '-' and ' ' dropped,
 * letters upper-cased.  Any byte outside printable ASCII (besides the
 * trimmed whitespace) rejects the input.
 * Returns 0 with CODE_LEN characters and a NUL in "out", or -1.
 */
int
code_normalize(const char *in, size_t len, char out[CODE_LEN + 1])
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 b = 0, e = len, i, o = 0;
	unsigned char		 c;
	int			 rc = -1;

	if (in == NULL || len > MAX_CODE_INPUT)
		goto out;
	while (b < e && code_space(p[b]))
		b++;
	while (e > b && code_space(p[e - 1]))
		e--;
	for (i = b; i < e; i++) {
		c = p[i];
		if (c < 0x20 || c >= 0x7f)
			goto out;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (!code_char((char)c) || o == CODE_LEN)
			goto out;
		out[o++] = (char)c;
	}
	if (o != CODE_LEN)
		goto out;
	out[o] = '\0';
	rc = 0;
out:
	return rc;
}

/*
 * Returns 1 if "s" is exactly CODE_LEN characters of CODE_ALPHABET
 * (a normalised code), else 0.
 */
int
code_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < CODE_LEN; i++)
		if (!code_char(s[i]))
			return 0;
	return s[CODE_LEN] == '\0';
}
