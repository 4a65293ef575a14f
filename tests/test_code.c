/*
 * Codes: minting (alphabet, spread, uniqueness) and normalisation.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define NMINT	10000

static int
cmpcode(const void *a, const void *b)
{
	return memcmp(a, b, CODE_LEN + 1);
}

static void
test_mint(void **state)
{
	char	(*codes)[CODE_LEN + 1];
	int	 seen[256];
	size_t	 i, j, distinct = 0;

	codes = calloc(NMINT, sizeof(*codes));
	assert_non_null(codes);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NMINT; i++) {
		assert_int_equal(code_mint(codes[i]), 0);
		assert_int_equal(strlen(codes[i]), CODE_LEN);
		assert_true(code_valid(codes[i]));
		for (j = 0; j < CODE_LEN; j++) {
			assert_non_null(strchr(CODE_ALPHABET, codes[i][j]));
			seen[(unsigned char)codes[i][j]]++;
		}
	}
	for (i = 0; i < 256; i++)
		distinct += seen[i] > 0;
	assert_true(distinct >= 30);
	assert_true(distinct <= 36);
	qsort(codes, NMINT, sizeof(*codes), cmpcode);
	for (i = 1; i < NMINT; i++)
		assert_int_not_equal(memcmp(codes[i - 1], codes[i],
		    CODE_LEN), 0);
	free(codes);
}

/*
 * 80,000 characters over 36 symbols: each is expected 2222 times.  A
 * modulo bias (bytes 252..255 folded onto 0..3) would add ~35 to the
 * first four; this only catches gross errors, not subtle ones.
 */
static void
test_mint_spread(void **state)
{
	char	 c[CODE_LEN + 1];
	long	 n[36];
	size_t	 i, j;

	memset(n, 0, sizeof(n));
	for (i = 0; i < NMINT; i++) {
		assert_int_equal(code_mint(c), 0);
		for (j = 0; j < CODE_LEN; j++)
			n[strchr(CODE_ALPHABET, c[j]) - CODE_ALPHABET]++;
	}
	for (j = 0; j < 36; j++) {
		assert_true(n[j] > 1900);
		assert_true(n[j] < 2550);
	}
}

struct norm_case {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	const char	*out;	/* NULL: rejected */
};

static const struct norm_case norm[] = {
	{ "ABCD1234", 0, "ABCD1234" },
	{ " abcd-1234 ", 0, "ABCD1234" },
	{ "abcd1234", 0, "ABCD1234" },
	{ "AbCd1234", 0, "ABCD1234" },
	{ "ab cd 12 34", 0, "ABCD1234" },
	{ "\tABCD-1234\r\n", 0, "ABCD1234" },
	{ "A-B-C-D-1-2-3-4", 0, "ABCD1234" },
	{ "--ABCD1234--", 0, "ABCD1234" },
	{ "", 0, NULL },
	{ "   ", 0, NULL },
	{ "ABCD123", 0, NULL },
	{ "ABCD12345", 0, NULL },
	{ "ABCD_234", 0, NULL },
	{ "ABCD.234", 0, NULL },
	{ "ABCD\t1234", 0, NULL },
	{ "ABCD\0" "1234", 9, NULL },
	{ "ABCD1234\0", 9, NULL },
	{ "ABCD123\xc3\x89", 0, NULL },		/* É */
	{ "\xef\xbc\xa1" "BCD1234", 0, NULL },	/* fullwidth A */
	{ "ABCD123\x7f", 0, NULL },
	{ "ABCD123\x80", 0, NULL },
	{ "ABCD123\xff", 0, NULL },
	{ "ABCD\x01" "1234", 0, NULL },
	/* 33 bytes of input, even if only separators: too long. */
	{ "ABCD1234                         ", 0, NULL },
	/* Exactly 32: fine. */
	{ "ABCD1234                        ", 0, "ABCD1234" },
	{ "A-B-C-D-1-2-3-4-----------------", 0, "ABCD1234" },
	{ "A-B-C-D-1-2-3-4------------------", 0, NULL },
};

static void
test_normalize(void **state)
{
	char	 out[CODE_LEN + 1];
	size_t	 i, len;
	int	 rc;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		len = norm[i].len ? norm[i].len : strlen(norm[i].in);
		rc = code_normalize(norm[i].in, len, out);
		if (norm[i].out == NULL) {
			if (rc != -1)
				fail_msg("case %zu accepted: %s", i, out);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu rejected", i);
		assert_string_equal(out, norm[i].out);
		assert_true(code_valid(out));
	}
	assert_int_equal(code_normalize(NULL, 0, out), -1);
}

static void
test_valid(void **state)
{
	assert_true(code_valid("ABCD1234"));
	assert_true(code_valid("00000000"));
	assert_true(code_valid("ZZZZZZZZ"));
	assert_false(code_valid("abcd1234"));
	assert_false(code_valid("ABCD123"));
	assert_false(code_valid("ABCD12345"));
	assert_false(code_valid("ABCD-123"));
	assert_false(code_valid(""));
	assert_false(code_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint),
		cmocka_unit_test(test_mint_spread),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
