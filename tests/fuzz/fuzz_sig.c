/*
 * libFuzzer target: the webhook-signature header parser and verifier.
 * Key, message id and timestamp are fixed (the published Standard
 * Webhooks vector); header and body come from the input:
 *
 *	byte 0		flags: bit 0 prepends the true signature of the body
 *			to the header; bits 1-3 pick "now" (see nows[])
 *	bytes 1..	the header up to the first '\n' (a C string: it ends
 *			at a NUL too), then the body, any bytes
 *
 * Invariants: a timestamp outside the tolerance wins over everything; a
 * header led by the true signature verifies while it fits in
 * MAX_SIG_HEADER; SIG_OK means the header carries the true signature,
 * whose base64 form is canonical.
 */
#include "config.h"

#include "core.h"
#include "fuzz.h"

#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSGID	"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS	1614265330LL
#define TS_S	"1614265330"

#define F_PREPEND	0x01
#define NOW(f)		(((f) >> 1) & 7)

static const int64_t nows[8] = {
	TS, TS - SIG_TOLERANCE, TS + SIG_TOLERANCE,
	TS - SIG_TOLERANCE - 1,		/* timestamp too new */
	TS + SIG_TOLERANCE + 1,		/* timestamp too old */
	TS, TS, TS
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sig_key	 key;
	char			 truesig[SIG_LEN + 1], *hdr, *in;
	const uint8_t		*nl, *body;
	size_t			 hsz, bodysz, hlen, tlen;
	int64_t			 now;
	enum sig_rc		 rc;
	uint8_t			 flags;

	if (key.len == 0 && sig_key_parse(SECRET, &key) == -1)
		abort();
	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	if ((nl = memchr(data, '\n', size)) != NULL) {
		hsz = (size_t)(nl - data);
		body = nl + 1;
		bodysz = size - hsz - 1;
	} else {
		hsz = size;
		body = data + size;
		bodysz = 0;
	}
	now = nows[NOW(flags)];
	FUZZ_CHECK(sig_sign(&key, MSGID, TS, (const char *)body, bodysz,
	    truesig) == 0);
	FUZZ_CHECK(strlen(truesig) == SIG_LEN);

	in = fuzz_cstr(data, hsz);
	if (flags & F_PREPEND) {
		tlen = strlen(in);
		if ((hdr = malloc(SIG_LEN + 1 + tlen + 1)) == NULL)
			abort();
		memcpy(hdr, truesig, SIG_LEN);
		hdr[SIG_LEN] = ' ';
		memcpy(hdr + SIG_LEN + 1, in, tlen + 1);
		free(in);
	} else
		hdr = in;
	hlen = strlen(hdr);

	rc = sig_verify(&key, MSGID, TS_S, (const char *)body, bodysz, hdr,
	    now);
	FUZZ_CHECK(strcmp(sig_rc_name(rc), "unknown") != 0);
	if (TS < now - SIG_TOLERANCE)
		FUZZ_CHECK(rc == SIG_TOO_OLD);
	else if (TS > now + SIG_TOLERANCE)
		FUZZ_CHECK(rc == SIG_TOO_NEW);
	else if (hlen == 0 || hlen > MAX_SIG_HEADER)
		FUZZ_CHECK(rc == SIG_MALFORMED);
	else if (flags & F_PREPEND)
		FUZZ_CHECK(rc == SIG_OK);
	else
		FUZZ_CHECK(rc == SIG_OK || rc == SIG_MALFORMED ||
		    rc == SIG_MISMATCH);
	if (rc == SIG_OK)
		FUZZ_CHECK(strstr(hdr, truesig) != NULL);
	/* A missing header or id is refused, never dereferenced. */
	FUZZ_CHECK(sig_verify(&key, MSGID, TS_S, (const char *)body, bodysz,
	    NULL, TS) == SIG_MALFORMED);
	FUZZ_CHECK(sig_verify(&key, NULL, TS_S, (const char *)body, bodysz,
	    hdr, TS) == SIG_MALFORMED);
	free(hdr);
	return 0;
}
