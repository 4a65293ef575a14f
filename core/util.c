/*
 * Small pure helpers shared by every binary: user ids, UTF-8, request
 * ids, base64, hex and SHA-256.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "core.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Parses a user id: 1 to 19 decimal digits without a leading zero, with
 * a value in 1..INT64_MAX.  Nothing else is accepted (no sign, no space).
 * Returns 0 and sets *out, or -1.
 */
int
userid_parse(const char *s, size_t len, int64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;
	int		 rc = -1;

	if (s == NULL || len == 0 || len > 19 || s[0] == '0')
		goto out;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto out;
		/* 19 digits fit in uint64_t: no overflow before the check. */
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		goto out;
	*out = (int64_t)v;
	rc = 0;
out:
	return rc;
}

/*
 * Checks strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence, and no NUL byte (which no C string
 * can carry).
 * Returns 1 if valid, else 0.
 */
int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	uint32_t		 cp, min;

	if (s == NULL)
		return len == 0;
	while (i < len) {
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * Checks a client-supplied X-Request-Id: 1 to MAX_REQUEST_ID characters
 * of [A-Za-z0-9._-], so it is safe to echo in a header and a log line.
 * Returns 1 if valid, else 0.
 */
int
request_id_valid(const char *s, size_t len)
{
	size_t	 i;
	char	 c;

	if (s == NULL || len == 0 || len > MAX_REQUEST_ID)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/*
 * Encodes "len" bytes as standard base64 with padding, NUL-terminated.
 * Returns 0, or -1 if "outsz" cannot hold the result and its NUL.
 */
int
b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3 ||
	    outsz < (len + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64chars[v >> 18 & 0x3f];
		out[o++] = b64chars[v >> 12 & 0x3f];
		out[o++] = b64chars[v >> 6 & 0x3f];
		out[o++] = b64chars[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18 & 0x3f];
		out[o++] = b64chars[v >> 12 & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18 & 0x3f];
		out[o++] = b64chars[v >> 12 & 0x3f];
		out[o++] = b64chars[v >> 6 & 0x3f];
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/* Value of a base64 character, or -1. */
static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard base64; the length must be a multiple of four and
 * padding is required.  Unused bits of the last character must be zero,
 * so every byte string has exactly one accepted encoding.
 * Returns 0 and sets *outlen, or -1 on bad input or if "outsz" is short.
 */
int
b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	size_t		 i, o = 0, pad = 0;
	int		 d[4], k;
	uint32_t	 v;

	if (in == NULL || len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > outsz)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad)
				d[k] = 0;
			else if ((d[k] = b64_val((unsigned char)in[i + k])) < 0)
				return -1;
		}
		v = (uint32_t)d[0] << 18 | (uint32_t)d[1] << 12 |
		    (uint32_t)d[2] << 6 | (uint32_t)d[3];
		out[o++] = v >> 16 & 0xff;
		if (i + 4 < len || pad < 2)
			out[o++] = v >> 8 & 0xff;
		else if (v & 0xffff)
			return -1;
		if (i + 4 < len || pad < 1)
			out[o++] = v & 0xff;
		else if (v & 0xff)
			return -1;
	}
	*outlen = o;
	return 0;
}

/*
 * Encodes "len" bytes as lower-case hex, NUL-terminated.
 * Returns 0, or -1 if "outsz" is short.
 */
int
hex_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	if (len >= SIZE_MAX / 2 || outsz < len * 2 + 1)
		return -1;
	for (i = 0; i < len; i++) {
		out[i * 2] = hex[in[i] >> 4];
		out[i * 2 + 1] = hex[in[i] & 0x0f];
	}
	out[len * 2] = '\0';
	return 0;
}

/*
 * Writes the SHA-256 of "len" bytes as 64 lower-case hex digits.
 * Returns 0, or -1 if libcrypto fails.
 */
int
sha256_hex(const void *in, size_t len, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 rc = -1;

	if (EVP_Digest(in, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		goto out;
	rc = hex_encode(md, mdlen, out, 65);
out:
	return rc;
}

/* Whether "s" (len bytes) is printable ASCII without spaces, not empty. */
int
token_valid(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return len > 0;
}

/*
 * Returns 1 if "s" is an RFC 3339 date-time such as
 * "2025-01-31T12:00:00Z" or "2025-01-31T12:00:00.123+01:00", else 0.
 * Only the shape and the field ranges are checked.
 */
int
time_rfc3339_valid(const char *s)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t			 i;
	int			 mo, d, h, mi, se;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    (shape[i] == 'T' ? s[i] != 'T' && s[i] != 't' :
		    s[i] != shape[i]))
			return 0;
	}
	mo = (s[5] - '0') * 10 + s[6] - '0';
	d = (s[8] - '0') * 10 + s[9] - '0';
	h = (s[11] - '0') * 10 + s[12] - '0';
	mi = (s[14] - '0') * 10 + s[15] - '0';
	se = (s[17] - '0') * 10 + s[18] - '0';
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return 0;
	s += i;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		for (i = 0; *s >= '0' && *s <= '9'; s++)
			if (++i > 9)
				return 0;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 1;
	if ((*s == '+' || *s == '-') && s[1] >= '0' && s[1] <= '2' &&
	    s[2] >= '0' && s[2] <= '9' && s[3] == ':' && s[4] >= '0' &&
	    s[4] <= '5' && s[5] >= '0' && s[5] <= '9' && s[6] == '\0')
		return 1;
	return 0;
}
