/*
 * Signatures of the order sources of SPEC 12 over the raw body: Stripe's
 * Stripe-Signature header and Shopify's X-Shopify-Hmac-Sha256.
 *
 * Stripe keys the HMAC with the whole "whsec_..." string as it is;
 * Standard Webhooks (sig.c) base64-decodes the part after "whsec_".  A
 * signature made the Standard Webhooks way must not pass here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core.h"

#define MAC_LEN		32
#define TS_DIGITS	20

/*
 * HMAC-SHA256 keyed with "key" over the concatenation of n parts.
 * Returns 0, or -1 if libcrypto fails or the key is empty.
 */
static int
hmac_parts(const char *key, const char *const *part, const size_t *len,
    size_t n, unsigned char mac[MAC_LEN])
{
	EVP_MAC		*m = NULL;
	EVP_MAC_CTX	*c = NULL;
	OSSL_PARAM	 p[2];
	size_t		 i, out = 0;
	int		 rc = -1;

	if (key == NULL || key[0] == '\0')
		goto out;
	p[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (c = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(c, (const unsigned char *)key, strlen(key), p) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if (len[i] > 0 && EVP_MAC_update(c,
		    (const unsigned char *)part[i], len[i]) != 1)
			goto out;
	if (EVP_MAC_final(c, mac, &out, MAC_LEN) != 1 || out != MAC_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return rc;
}

/* Stripe's MAC: over "<t>.<body>", "t" the decimal text as sent. */
static int
stripe_mac(const char *secret, const char *t, size_t tlen, const char *body,
    size_t bodysz, unsigned char mac[MAC_LEN])
{
	const char	*part[3] = { t, ".", body };
	size_t		 len[3] = { tlen, 1, bodysz };

	return hmac_parts(secret, part, len, 3, mac);
}

/* One lower- or upper-case hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly 64 hex digits into a MAC; returns 0 or -1. */
static int
hex_mac(const char *s, size_t len, unsigned char mac[MAC_LEN])
{
	size_t	 i;
	int	 hi, lo;

	if (len != STRIPE_SIG_HEX)
		return -1;
	for (i = 0; i < MAC_LEN; i++) {
		if ((hi = hexval(s[2 * i])) == -1 ||
		    (lo = hexval(s[2 * i + 1])) == -1)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Parses 1 to 19 digits (a Unix time); returns 0 or -1. */
static int
ts_parse(const char *s, size_t len, int64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len >= TS_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = (int64_t)v;
	return 0;
}

/*
 * Verifies a Stripe-Signature header "t=<unix>,v1=<hex>[,v1=...]" (other
 * schemes such as v0 are skipped; at most MAX_SIGS v1 entries are looked
 * at) over the raw body, keyed with "secret" as it is.  The timestamp
 * must be within SIG_TOLERANCE seconds of "now".  Every v1 entry is
 * compared in constant time, without an early exit.
 * Returns SIG_OK, SIG_MALFORMED (no secret, no header, no t or two, no
 * v1), SIG_BAD_TIMESTAMP, SIG_TOO_OLD, SIG_TOO_NEW or SIG_MISMATCH.
 */
enum sig_rc
stripe_sig_verify(const char *secret, const char *header, const char *body,
    size_t bodysz, int64_t now)
{
	unsigned char	 mac[MAC_LEN], got[MAC_LEN];
	const char	*p, *e, *eq, *t = NULL;
	size_t		 hlen, tlen = 0, v1 = 0;
	int64_t		 ts = 0;
	int		 match = 0, badts = 0;
	enum sig_rc	 rc = SIG_MALFORMED;

	if (secret == NULL || secret[0] == '\0' || header == NULL ||
	    (hlen = strnlen(header, MAX_SIG_HEADER + 1)) == 0 ||
	    hlen > MAX_SIG_HEADER)
		goto out;
	/* First pass: the one timestamp. */
	for (p = header; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ','; e++)
			continue;
		if (e - p < 2 || p[0] != 't' || p[1] != '=')
			continue;
		if (t != NULL)
			goto out;
		t = p + 2;
		tlen = (size_t)(e - t);
	}
	if (t == NULL)
		goto out;
	if (ts_parse(t, tlen, &ts) == -1)
		badts = 1;
	else if (stripe_mac(secret, t, tlen, body, bodysz, mac) == -1)
		goto out;
	for (p = header; *p != '\0' && v1 < MAX_SIGS; p = *e == ',' ? e + 1 : e) {
		for (e = p; *e != '\0' && *e != ','; e++)
			continue;
		if ((eq = memchr(p, '=', (size_t)(e - p))) == NULL ||
		    eq - p != 2 || p[0] != 'v' || p[1] != '1')
			continue;
		v1++;
		if (badts || hex_mac(eq + 1, (size_t)(e - eq - 1), got) == -1)
			continue;
		match |= CRYPTO_memcmp(mac, got, MAC_LEN) == 0;
	}
	if (v1 == 0)
		rc = SIG_MALFORMED;
	else if (badts)
		rc = SIG_BAD_TIMESTAMP;
	else if (ts < now - SIG_TOLERANCE)
		rc = SIG_TOO_OLD;
	else if (ts > now + SIG_TOLERANCE)
		rc = SIG_TOO_NEW;
	else
		rc = match ? SIG_OK : SIG_MISMATCH;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/*
 * Signs a body as Stripe does, for tests and tools: writes the lower-case
 * hex of the v1 MAC for timestamp "t" into "out".
 * Returns 0, or -1 (empty secret, libcrypto failure).
 */
int
stripe_sig_sign(const char *secret, int64_t t, const char *body,
    size_t bodysz, char out[STRIPE_SIG_HEX + 1])
{
	unsigned char	 mac[MAC_LEN];
	char		 ts[32];
	int		 n, rc = -1;

	n = snprintf(ts, sizeof(ts), "%" PRId64, t);
	if (n < 0 || (size_t)n >= sizeof(ts) ||
	    stripe_mac(secret, ts, (size_t)n, body, bodysz, mac) == -1 ||
	    hex_encode(mac, MAC_LEN, out, STRIPE_SIG_HEX + 1) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/*
 * Verifies X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the raw body
 * keyed with the app's secret, compared in constant time.
 * Returns SIG_OK, SIG_MALFORMED (no secret, no header, not base64 of 32
 * bytes) or SIG_MISMATCH.
 */
enum sig_rc
shopify_sig_verify(const char *secret, const char *header, const char *body,
    size_t bodysz)
{
	unsigned char	 mac[MAC_LEN], got[MAC_LEN + 3];
	const char	*part[1] = { body };
	size_t		 len[1] = { bodysz }, hlen, gotlen;
	enum sig_rc	 rc = SIG_MALFORMED;

	if (secret == NULL || secret[0] == '\0' || header == NULL ||
	    (hlen = strnlen(header, SIG_B64_LEN + 1)) != SIG_B64_LEN ||
	    b64_decode(header, hlen, got, sizeof(got), &gotlen) == -1 ||
	    gotlen != MAC_LEN)
		goto out;
	if (hmac_parts(secret, part, len, 1, mac) == -1)
		goto out;
	rc = CRYPTO_memcmp(mac, got, MAC_LEN) == 0 ? SIG_OK : SIG_MISMATCH;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/*
 * Signs a body as Shopify does: writes the base64 MAC into "out".
 * Returns 0, or -1 (empty secret, libcrypto failure).
 */
int
shopify_sig_sign(const char *secret, const char *body, size_t bodysz,
    char out[SIG_B64_LEN + 1])
{
	unsigned char	 mac[MAC_LEN];
	const char	*part[1] = { body };
	size_t		 len[1] = { bodysz };
	int		 rc = -1;

	if (hmac_parts(secret, part, len, 1, mac) == -1 ||
	    b64_encode(mac, MAC_LEN, out, SIG_B64_LEN + 1) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}
