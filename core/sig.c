/*
 * Standard Webhooks signatures: "v1,<base64 HMAC-SHA256>" over
 * "id.timestamp.body", keyed with the base64 part of a whsec_ secret.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core.h"

#define MAC_LEN		32
#define WHSEC		"whsec_"
#define TS_DIGITS	20

_Static_assert(SIG_B64_LEN == (MAC_LEN + 2) / 3 * 4, "base64 MAC length");

static const char *const rc_names[] = {
	[SIG_OK] = "ok",
	[SIG_MALFORMED] = "malformed",
	[SIG_BAD_TIMESTAMP] = "bad_timestamp",
	[SIG_TOO_OLD] = "too_old",
	[SIG_TOO_NEW] = "too_new",
	[SIG_MISMATCH] = "mismatch",
};
_Static_assert(sizeof(rc_names) / sizeof(rc_names[0]) == SIG_MISMATCH + 1,
    "sig rc names");

/*
 * Parses a "whsec_<base64>" secret into its raw key.
 * Returns 0, or -1 without the prefix, on bad base64, an empty key or
 * one longer than SIG_KEY_MAX.
 */
int
sig_key_parse(const char *whsec, struct sig_key *k)
{
	const char	*b;
	size_t		 len;
	int		 rc = -1;

	k->len = 0;
	if (whsec == NULL || strncmp(whsec, WHSEC, sizeof(WHSEC) - 1) != 0)
		goto out;
	b = whsec + sizeof(WHSEC) - 1;
	len = strlen(b);
	if (len == 0 || len > (SIG_KEY_MAX + 2) / 3 * 4)
		goto out;
	if (b64_decode(b, len, k->key, sizeof(k->key), &k->len) == -1 ||
	    k->len == 0) {
		k->len = 0;
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* HMAC-SHA256 of "id.ts.body" where "ts" is already decimal. */
static int
sig_mac(const struct sig_key *k, const char *id, const char *ts,
    const char *body, size_t bodysz, unsigned char mac[MAC_LEN])
{
	EVP_MAC		*m = NULL;
	EVP_MAC_CTX	*c = NULL;
	OSSL_PARAM	 p[2];
	size_t		 len = 0;
	int		 rc = -1;

	p[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (c = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(c, k->key, k->len, p) != 1 ||
	    EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) != 1 ||
	    EVP_MAC_update(c, (const unsigned char *)".", 1) != 1 ||
	    EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts)) != 1 ||
	    EVP_MAC_update(c, (const unsigned char *)".", 1) != 1 ||
	    (bodysz > 0 && EVP_MAC_update(c,
	    (const unsigned char *)body, bodysz) != 1) ||
	    EVP_MAC_final(c, mac, &len, MAC_LEN) != 1 || len != MAC_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return rc;
}

/*
 * Signs a message: writes "v1,<base64 MAC>" (SIG_LEN characters and a
 * NUL) into "out", for the webhook-signature header.
 * Returns 0, or -1 if libcrypto fails or the id is missing.
 */
int
sig_sign(const struct sig_key *k, const char *id, int64_t ts,
    const char *body, size_t bodysz, char out[SIG_LEN + 1])
{
	unsigned char	 mac[MAC_LEN];
	char		 tsbuf[32];
	int		 rc = -1;

	if (k == NULL || k->len == 0 || id == NULL)
		goto out;
	snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts);
	if (sig_mac(k, id, tsbuf, body, bodysz, mac) == -1)
		goto out;
	memcpy(out, "v1,", 3);
	if (b64_encode(mac, sizeof(mac), out + 3, SIG_B64_LEN + 1) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* Parses 1 to 20 ASCII digits; returns 0 or -1 (also on overflow). */
static int
ts_parse(const char *s, int64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == TS_DIGITS || s[i] < '0' || s[i] > '9')
			return -1;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = (int64_t)v;
	return 0;
}

/*
 * Verifies a Standard Webhooks request: the timestamp must be within
 * SIG_TOLERANCE seconds of "now", and one of the space-separated "v1,"
 * entries of "header" (at most MAX_SIGS entries are looked at; other
 * versions are skipped) must match, compared in constant time.
 * Returns SIG_OK, SIG_MALFORMED (no id, no header, no v1 entry),
 * SIG_BAD_TIMESTAMP, SIG_TOO_OLD, SIG_TOO_NEW or SIG_MISMATCH.
 */
enum sig_rc
sig_verify(const struct sig_key *k, const char *id, const char *ts,
    const char *body, size_t bodysz, const char *header, int64_t now)
{
	unsigned char	 mac[MAC_LEN], got[MAC_LEN + 3];
	const char	*p, *e, *comma;
	size_t		 idlen, hlen, gotlen, seen = 0, v1 = 0;
	int64_t		 t;
	int		 match = 0;
	enum sig_rc	 rc = SIG_MALFORMED;

	if (k == NULL || k->len == 0 || id == NULL ||
	    (idlen = strlen(id)) == 0 || idlen > MAX_EVENT_ID)
		goto out;
	if (ts_parse(ts, &t) == -1) {
		rc = SIG_BAD_TIMESTAMP;
		goto out;
	}
	if (t < now - SIG_TOLERANCE) {
		rc = SIG_TOO_OLD;
		goto out;
	}
	if (t > now + SIG_TOLERANCE) {
		rc = SIG_TOO_NEW;
		goto out;
	}
	if (header == NULL || (hlen = strnlen(header, MAX_SIG_HEADER + 1)) == 0 ||
	    hlen > MAX_SIG_HEADER)
		goto out;
	if (sig_mac(k, id, ts, body, bodysz, mac) == -1)
		goto out;

	for (p = header; *p != '\0' && seen < MAX_SIGS; p = e) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ' '; e++)
			continue;
		seen++;
		if ((comma = memchr(p, ',', (size_t)(e - p))) == NULL)
			continue;
		if (comma - p != 2 || p[0] != 'v' || p[1] != '1')
			continue;
		v1++;
		if (b64_decode(comma + 1, (size_t)(e - comma - 1), got,
		    sizeof(got), &gotlen) == -1 || gotlen != MAC_LEN)
			continue;
		/* No early exit: every entry costs the same. */
		match |= CRYPTO_memcmp(mac, got, MAC_LEN) == 0;
	}
	if (v1 == 0)
		rc = SIG_MALFORMED;
	else
		rc = match ? SIG_OK : SIG_MISMATCH;
out:
	return rc;
}

/*
 * Returns the snake_case name of a verification result, or "unknown".
 */
const char *
sig_rc_name(enum sig_rc rc)
{
	return (unsigned int)rc <= SIG_MISMATCH ? rc_names[rc] : "unknown";
}

/*
 * Compares two strings without leaking where they differ: the time
 * depends only on the length of "b" (the secret side), and strings of
 * different lengths still cost a full pass.
 * Returns 1 if equal, else 0 (also if either is NULL).
 */
int
ct_streq(const char *a, const char *b)
{
	size_t		 alen, blen, i;
	unsigned char	 d;

	if (a == NULL || b == NULL)
		return 0;
	alen = strlen(a);
	blen = strlen(b);
	d = alen != blen;
	for (i = 0; i < blen; i++)
		d |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
	return d == 0;
}
