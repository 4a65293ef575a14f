/*
 * Utilities: user ids, UTF-8, request ids, base64, hex, SHA-256.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

static int
uid(const char *s, int64_t *v)
{
	return userid_parse(s, strlen(s), v);
}

static void
test_userid(void **state)
{
	static const char *const bad[] = {
		"", "0", "01", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1",
		"9223372036854775808", "18446744073709551616",
		"99999999999999999999", "12345678901234567890", "١",
	};
	int64_t	 v;
	size_t	 i;

	assert_int_equal(uid("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(uid("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(uid("9223372036854775807", &v), 0);
	assert_int_equal(v, INT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -7;
		if (uid(bad[i], &v) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v, -7);
	}
	/* The length bounds the parse: a NUL inside is just a bad byte. */
	assert_int_equal(userid_parse("12\0" "3", 4, &v), -1);
	assert_int_equal(userid_parse("123", 2, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(userid_parse(NULL, 0, &v), -1);
}

struct utf8_case {
	const char	*s;
	size_t		 len;
	int		 ok;
};

#define U(s, ok)	{ (s), sizeof(s) - 1, (ok) }

static const struct utf8_case utf8[] = {
	U("", 1),
	U("hello", 1),
	U("caf\xc3\xa9", 1),			/* é */
	U("\xe2\x82\xac", 1),			/* € */
	U("\xf0\x9f\x98\x80", 1),		/* U+1F600 */
	U("\xf4\x8f\xbf\xbf", 1),		/* U+10FFFF */
	U("\xed\x9f\xbf", 1),			/* U+D7FF */
	U("\xee\x80\x80", 1),			/* U+E000 */
	U("\xc2\x80", 1),			/* U+0080 */
	U("\xe0\xa0\x80", 1),			/* U+0800 */
	U("\xf0\x90\x80\x80", 1),		/* U+10000 */
	U("\xc0\x80", 0),			/* overlong NUL */
	U("\xc1\xbf", 0),			/* overlong */
	U("\xe0\x80\xaf", 0),			/* overlong '/' */
	U("\xe0\x9f\xbf", 0),			/* overlong U+07FF */
	U("\xf0\x8f\xbf\xbf", 0),		/* overlong U+FFFF */
	U("\xed\xa0\x80", 0),			/* U+D800 surrogate */
	U("\xed\xbf\xbf", 0),			/* U+DFFF surrogate */
	U("\xf4\x90\x80\x80", 0),		/* U+110000 */
	U("\xf5\x80\x80\x80", 0),
	U("\xf8\x88\x80\x80\x80", 0),		/* 5-byte form */
	U("\xff", 0),
	U("\xfe", 0),
	U("\x80", 0),				/* lone continuation */
	U("a\xbf", 0),
	U("\xc3", 0),				/* truncated */
	U("\xe2\x82", 0),
	U("\xf0\x9f\x98", 0),
	U("\xe2\x82" "a", 0),			/* continuation missing */
	U("\xc3\xa9\xc3", 0),
	U("a\0b", 0),				/* NUL */
	U("\0", 0),
};

static void
test_utf8(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		if (utf8_valid(utf8[i].s, utf8[i].len) != utf8[i].ok)
			fail_msg("utf8 case %zu: want %d", i, utf8[i].ok);
}

static void
test_request_id(void **state)
{
	char	 s[MAX_REQUEST_ID + 2];

	assert_true(request_id_valid("abc", 3));
	assert_true(request_id_valid("A-b_c.9", 7));
	assert_false(request_id_valid("", 0));
	assert_false(request_id_valid(NULL, 0));
	assert_false(request_id_valid("a b", 3));
	assert_false(request_id_valid("a\r\nSet-Cookie:x", 15));
	assert_false(request_id_valid("a/b", 3));
	assert_false(request_id_valid("a\0b", 3));
	assert_false(request_id_valid("\xc3\xa9", 2));
	memset(s, 'a', sizeof(s));
	assert_true(request_id_valid(s, MAX_REQUEST_ID));
	assert_false(request_id_valid(s, MAX_REQUEST_ID + 1));
}

static void
test_b64(void **state)
{
	static const struct {
		const char	*raw, *enc;
	} v[] = {	/* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char	 bin[16], all[256];
	char		 enc[512];
	size_t		 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(b64_encode((const unsigned char *)v[i].raw,
		    strlen(v[i].raw), enc, sizeof(enc)), 0);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(b64_decode(v[i].enc, strlen(v[i].enc), bin,
		    sizeof(bin), &n), 0);
		assert_int_equal(n, strlen(v[i].raw));
		assert_memory_equal(bin, v[i].raw, n);
	}
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	assert_int_equal(b64_encode(all, 256, enc, sizeof(enc)), 0);
	assert_int_equal(b64_decode(enc, strlen(enc), all, sizeof(all), &n),
	    0);
	assert_int_equal(n, 256);
	for (i = 0; i < 256; i++)
		assert_int_equal(all[i], i);

	/* Output bounds. */
	assert_int_equal(b64_encode((const unsigned char *)"foo", 3, enc, 4),
	    -1);
	assert_int_equal(b64_encode((const unsigned char *)"foo", 3, enc, 5),
	    0);
	assert_int_equal(b64_decode("Zm9v", 4, bin, 2, &n), -1);
	assert_int_equal(b64_decode("Zm9v", 4, bin, 3, &n), 0);
	assert_int_equal(b64_decode("Zg==", 4, bin, 1, &n), 0);

	/* Bad input. */
	assert_int_equal(b64_decode("Zg", 2, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zg=", 3, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Z===", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("====", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zg==Zg==", 8, bin, sizeof(bin), &n),
	    -1);
	assert_int_equal(b64_decode("Z=g=", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zm9-", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zm9_", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zm 9", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zm\0v", 4, bin, sizeof(bin), &n), -1);
	/* Non-zero unused bits: not the canonical encoding. */
	assert_int_equal(b64_decode("Zh==", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode("Zm9=", 4, bin, sizeof(bin), &n), -1);
	assert_int_equal(b64_decode(NULL, 0, bin, sizeof(bin), &n), -1);
}

static void
test_hex(void **state)
{
	char	 out[16];

	assert_int_equal(hex_encode((const unsigned char *)"\x00\xab\xff",
	    3, out, sizeof(out)), 0);
	assert_string_equal(out, "00abff");
	assert_int_equal(hex_encode((const unsigned char *)"", 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(hex_encode((const unsigned char *)"ab", 2, out, 4),
	    -1);
	assert_int_equal(hex_encode((const unsigned char *)"ab", 2, out, 5),
	    0);
}

static void
test_sha256(void **state)
{
	char	 out[65];

	assert_int_equal(sha256_hex("", 0, out), 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(sha256_hex("abc", 3, out), 0);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_userid),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
