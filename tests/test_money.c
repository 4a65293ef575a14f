/*
 * Money: parse and format, every reject and every boundary.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

struct money_case {
	const char	*in;
	enum money_rc	 rc;
	int64_t		 minor;
};

static const struct money_case cases[] = {
	{ "0", MONEY_OK, 0 },
	{ "0.00", MONEY_OK, 0 },
	{ "0.0", MONEY_OK, 0 },
	{ "1", MONEY_OK, 100 },
	{ "1.5", MONEY_OK, 150 },
	{ "1.05", MONEY_OK, 105 },
	{ "25.00", MONEY_OK, 2500 },
	{ "007.50", MONEY_OK, 750 },
	{ "0000000000000000000000000001.00", MONEY_OK, 100 },
	{ "9999999999.99", MONEY_OK, 999999999999LL },
	{ "9999999999", MONEY_OK, 999999999900LL },
	{ "", MONEY_EMPTY, 0 },
	{ "1.005", MONEY_PRECISION, 0 },
	{ "1.000", MONEY_PRECISION, 0 },
	{ "0.123456", MONEY_PRECISION, 0 },
	{ "10000000000.00", MONEY_RANGE, 0 },
	{ "10000000000", MONEY_RANGE, 0 },
	{ "123456789012345678901234567890", MONEY_RANGE, 0 },
	{ "99999999999999999999999999999999.99", MONEY_RANGE, 0 },
	{ "1e3", MONEY_SYNTAX, 0 },
	{ "0x10", MONEY_SYNTAX, 0 },
	{ "-1", MONEY_SYNTAX, 0 },
	{ "+1", MONEY_SYNTAX, 0 },
	{ " 1", MONEY_SYNTAX, 0 },
	{ "1 ", MONEY_SYNTAX, 0 },
	{ "1.", MONEY_SYNTAX, 0 },
	{ ".5", MONEY_SYNTAX, 0 },
	{ ".", MONEY_SYNTAX, 0 },
	{ "1,00", MONEY_SYNTAX, 0 },
	{ "1.0.0", MONEY_SYNTAX, 0 },
	{ "1.a", MONEY_SYNTAX, 0 },
	{ "1.5x", MONEY_SYNTAX, 0 },
	{ "\xd9\xa1", MONEY_SYNTAX, 0 },	/* ARABIC-INDIC DIGIT ONE */
	{ "NaN", MONEY_SYNTAX, 0 },
	{ "inf", MONEY_SYNTAX, 0 },
	{ "1\n", MONEY_SYNTAX, 0 },
	{ "123456789012345678901234567890x", MONEY_SYNTAX, 0 },
};

static void
test_parse_table(void **state)
{
	enum money_rc	 rc;
	int64_t		 m;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = -42;
		rc = money_parse(cases[i].in, &m);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, want %d", cases[i].in, rc,
			    cases[i].rc);
		if (rc == MONEY_OK && m != cases[i].minor)
			fail_msg("\"%s\": %lld, want %lld", cases[i].in,
			    (long long)m, (long long)cases[i].minor);
		if (rc != MONEY_OK && m != -42)
			fail_msg("\"%s\": output touched on error",
			    cases[i].in);
	}
}

static void
test_parse_null(void **state)
{
	int64_t	 m;

	assert_int_equal(money_parse(NULL, &m), MONEY_EMPTY);
}

static void
test_format(void **state)
{
	char	 buf[32];

	assert_int_equal(money_format(2500, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "25.00");
	assert_int_equal(money_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.00");
	assert_int_equal(money_format(5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.05");
	assert_int_equal(money_format(-150, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-1.50");
	assert_int_equal(money_format(-5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-0.05");
	assert_int_equal(money_format(MONEY_MAX, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "9999999999.99");
	assert_int_equal(money_format(INT64_MIN, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-92233720368547758.08");
}

static void
test_format_small_buffer(void **state)
{
	char	 buf[6];

	assert_int_equal(money_format(2500, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "25.00");
	assert_int_equal(money_format(10000, buf, sizeof(buf)), -1);
	assert_int_equal(money_format(-150, buf, 5), -1);
	assert_int_equal(money_format(0, buf, 0), -1);
}

static void
test_round_trip(void **state)
{
	static const int64_t	 v[] = {
		0, 1, 9, 10, 99, 100, 101, 2500, 123456, 999999999999LL,
	};
	char			 buf[32];
	int64_t			 m;
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(money_format(v[i], buf, sizeof(buf)), 0);
		assert_int_equal(money_parse(buf, &m), MONEY_OK);
		assert_int_equal(m, v[i]);
	}
	/* Negative amounts format but never parse. */
	assert_int_equal(money_format(-100, buf, sizeof(buf)), 0);
	assert_int_equal(money_parse(buf, &m), MONEY_SYNTAX);
}

static void
test_currency(void **state)
{
	assert_true(currency_valid("USD"));
	assert_true(currency_valid("EUR"));
	assert_false(currency_valid("usd"));
	assert_false(currency_valid("US"));
	assert_false(currency_valid("USDX"));
	assert_false(currency_valid("U1D"));
	assert_false(currency_valid(""));
	assert_false(currency_valid(NULL));
	assert_false(currency_valid("\xc3\x9cSD"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_null),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_currency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
