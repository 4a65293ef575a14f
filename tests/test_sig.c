/*
 * Standard Webhooks signatures: the published vector and the ways a
 * request can be wrong.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "fixture.h"

/* The published vector: FX_SECRET and FX_TS are the fixture's. */
#define MSGID	"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS	FX_TS
#define TS_S	FX_TS_S
#define BODY	"{\"test\": 2432232314}"
#define SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static struct sig_key	 key;

static int
setup(void **state)
{
	return fx_key(&key);
}

static enum sig_rc
verify(const char *id, const char *ts, const char *body, const char *hdr,
    int64_t now)
{
	return sig_verify(&key, id, ts, body, strlen(body), hdr, now);
}

static void
test_vector_sign(void **state)
{
	char	 out[SIG_LEN + 1];

	assert_int_equal(key.len, 24);
	assert_int_equal(sig_sign(&key, MSGID, TS, BODY, strlen(BODY), out),
	    0);
	assert_string_equal(out, SIG);
	assert_int_equal(strlen(out), SIG_LEN);
}

static void
test_vector_verify(void **state)
{
	assert_int_equal(verify(MSGID, TS_S, BODY, SIG, TS), SIG_OK);
}

static void
test_wrong_inputs(void **state)
{
	struct sig_key	 other;

	assert_int_equal(sig_key_parse("whsec_"
	    "NfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &other), 0);
	assert_int_equal(sig_verify(&other, MSGID, TS_S, BODY, strlen(BODY),
	    SIG, TS), SIG_MISMATCH);
	assert_int_equal(verify(MSGID, TS_S, "{\"test\": 2432232315}", SIG,
	    TS), SIG_MISMATCH);
	/* One byte fewer of the same body. */
	assert_int_equal(sig_verify(&key, MSGID, TS_S, BODY,
	    strlen(BODY) - 1, SIG, TS), SIG_MISMATCH);
	assert_int_equal(verify("msg_p5jXN8AQM9LWM0D4loKWxJel", TS_S, BODY,
	    SIG, TS), SIG_MISMATCH);
	assert_int_equal(verify(MSGID, "1614265331", BODY, SIG, TS),
	    SIG_MISMATCH);
	/* Same number, different text: what was signed is the text. */
	assert_int_equal(verify(MSGID, "01614265330", BODY, SIG, TS),
	    SIG_MISMATCH);
}

static void
test_timestamps(void **state)
{
	assert_int_equal(verify(MSGID, TS_S, BODY, SIG, TS + 300), SIG_OK);
	assert_int_equal(verify(MSGID, TS_S, BODY, SIG, TS - 300), SIG_OK);
	assert_int_equal(verify(MSGID, TS_S, BODY, SIG, TS + 301),
	    SIG_TOO_OLD);
	assert_int_equal(verify(MSGID, TS_S, BODY, SIG, TS - 301),
	    SIG_TOO_NEW);
	assert_int_equal(verify(MSGID, "", BODY, SIG, TS),
	    SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, "-1614265330", BODY, SIG, TS),
	    SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, " 1614265330", BODY, SIG, TS),
	    SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, "1614265330.0", BODY, SIG, TS),
	    SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, "1e9", BODY, SIG, TS),
	    SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, "123456789012345678901", BODY, SIG,
	    TS), SIG_BAD_TIMESTAMP);
	assert_int_equal(verify(MSGID, "99999999999999999999", BODY, SIG,
	    TS), SIG_BAD_TIMESTAMP);
	assert_int_equal(sig_verify(&key, MSGID, NULL, BODY, strlen(BODY),
	    SIG, TS), SIG_BAD_TIMESTAMP);
	/* 20 digits that fit: parsed, just far in the future. */
	assert_int_equal(verify(MSGID, "00000000001614265330", BODY, SIG,
	    TS), SIG_MISMATCH);
	assert_int_equal(verify(MSGID, "09223372036854775807", BODY, SIG,
	    TS), SIG_TOO_NEW);
}

static void
test_headers(void **state)
{
	char	 hdr[MAX_SIG_HEADER + 64];

	assert_int_equal(verify(MSGID, TS_S, BODY, "", TS), SIG_MALFORMED);
	assert_int_equal(verify(MSGID, TS_S, BODY, NULL, TS), SIG_MALFORMED);
	assert_int_equal(verify(MSGID, TS_S, BODY, "   ", TS),
	    SIG_MALFORMED);
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", TS),
	    SIG_MALFORMED);
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v1g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", TS),
	    SIG_MALFORMED);
	assert_int_equal(verify(MSGID, TS_S, BODY, "v1,!!!not-base64!!!", TS),
	    SIG_MISMATCH);
	assert_int_equal(verify(MSGID, TS_S, BODY, "v1,", TS), SIG_MISMATCH);
	assert_int_equal(verify(MSGID, TS_S, BODY, "v1,AAAA", TS),
	    SIG_MISMATCH);
	/* Unpadded: padding is required. */
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", TS),
	    SIG_MISMATCH);
	/* Several: the second matches. */
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " SIG, TS), SIG_OK);
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v2,abc v1a,xyz  " SIG "  ", TS), SIG_OK);
	assert_int_equal(verify(MSGID, TS_S, BODY,
	    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,xx", TS),
	    SIG_MISMATCH);
	/* Only MAX_SIGS entries are looked at. */
	snprintf(hdr, sizeof(hdr), "v2,a v2,a v2,a v2,a v2,a v2,a v2,a "
	    "v2,a %s", SIG);
	assert_int_equal(verify(MSGID, TS_S, BODY, hdr, TS), SIG_MALFORMED);
	snprintf(hdr, sizeof(hdr), "v2,a v2,a v2,a v2,a v2,a v2,a v2,a %s",
	    SIG);
	assert_int_equal(verify(MSGID, TS_S, BODY, hdr, TS), SIG_OK);
	/* Over MAX_SIG_HEADER. */
	memset(hdr, ' ', sizeof(hdr));
	memcpy(hdr, SIG, strlen(SIG));
	hdr[MAX_SIG_HEADER + 1] = '\0';
	assert_int_equal(verify(MSGID, TS_S, BODY, hdr, TS), SIG_MALFORMED);
	hdr[MAX_SIG_HEADER] = '\0';
	assert_int_equal(verify(MSGID, TS_S, BODY, hdr, TS), SIG_OK);
}

static void
test_ids(void **state)
{
	char	 id[MAX_EVENT_ID + 2];

	assert_int_equal(verify("", TS_S, BODY, SIG, TS), SIG_MALFORMED);
	assert_int_equal(verify(NULL, TS_S, BODY, SIG, TS), SIG_MALFORMED);
	memset(id, 'a', sizeof(id));
	id[MAX_EVENT_ID + 1] = '\0';
	assert_int_equal(verify(id, TS_S, BODY, SIG, TS), SIG_MALFORMED);
	id[MAX_EVENT_ID] = '\0';
	assert_int_equal(verify(id, TS_S, BODY, SIG, TS), SIG_MISMATCH);
}

static void
test_round_trip(void **state)
{
	char	 out[SIG_LEN + 1], hdr[128];

	assert_int_equal(sig_sign(&key, "evt_1", 1700000000, "", 0, out), 0);
	assert_int_equal(sig_verify(&key, "evt_1", "1700000000", "", 0, out,
	    1700000000), SIG_OK);
	assert_int_equal(sig_sign(&key, "evt_2", 1700000000, "{}", 2, out),
	    0);
	snprintf(hdr, sizeof(hdr), "v1,bad %s", out);
	assert_int_equal(sig_verify(&key, "evt_2", "1700000000", "{}", 2,
	    hdr, 1700000100), SIG_OK);
	/* A NUL inside the body is signed like any byte. */
	assert_int_equal(sig_sign(&key, "evt_3", 1, "a\0b", 3, out), 0);
	assert_int_equal(sig_verify(&key, "evt_3", "1", "a\0b", 3, out, 1),
	    SIG_OK);
	assert_int_equal(sig_verify(&key, "evt_3", "1", "a\0c", 3, out, 1),
	    SIG_MISMATCH);
}

static void
test_key_parse(void **state)
{
	struct sig_key	 k;
	char		 big[256];

	assert_int_equal(sig_key_parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &k),
	    -1);
	assert_int_equal(sig_key_parse("whsec_", &k), -1);
	assert_int_equal(sig_key_parse("whsec_!!!!", &k), -1);
	assert_int_equal(sig_key_parse("whsec_MfKQ9r8", &k), -1);
	assert_int_equal(sig_key_parse("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    &k), -1);
	assert_int_equal(sig_key_parse(NULL, &k), -1);
	assert_int_equal(sig_key_parse("whsec_AA==", &k), 0);
	assert_int_equal(k.len, 1);
	/* 129 bytes of key: too long. */
	memset(big, 'A', sizeof(big));
	memcpy(big, "whsec_", 6);
	big[6 + 172] = '\0';
	assert_int_equal(sig_key_parse(big, &k), -1);
	big[6 + 172] = 'A';
	big[6 + 168] = '\0';
	assert_int_equal(sig_key_parse(big, &k), 0);	/* 126 bytes */
	assert_int_equal(k.len, 126);
}

static void
test_names(void **state)
{
	assert_string_equal(sig_rc_name(SIG_OK), "ok");
	assert_string_equal(sig_rc_name(SIG_MALFORMED), "malformed");
	assert_string_equal(sig_rc_name(SIG_BAD_TIMESTAMP), "bad_timestamp");
	assert_string_equal(sig_rc_name(SIG_TOO_OLD), "too_old");
	assert_string_equal(sig_rc_name(SIG_TOO_NEW), "too_new");
	assert_string_equal(sig_rc_name(SIG_MISMATCH), "mismatch");
	assert_string_equal(sig_rc_name((enum sig_rc)42), "unknown");
}

static void
test_ct_streq(void **state)
{
	assert_true(ct_streq("secret-key-0001", "secret-key-0001"));
	assert_true(ct_streq("", ""));
	assert_false(ct_streq("secret-key-0001", "secret-key-0002"));
	assert_false(ct_streq("secret-key-000", "secret-key-0001"));
	assert_false(ct_streq("secret-key-00011", "secret-key-0001"));
	assert_false(ct_streq("", "x"));
	assert_false(ct_streq("x", ""));
	assert_false(ct_streq(NULL, "x"));
	assert_false(ct_streq("x", NULL));
	assert_false(ct_streq(NULL, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_sign),
		cmocka_unit_test(test_vector_verify),
		cmocka_unit_test(test_wrong_inputs),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ct_streq),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
