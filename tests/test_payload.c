/*
 * The signed reward message (sql/ops.c reward_payload): the JSON of SPEC
 * section 6, built with json-c, so that whatever a value holds (a quote,
 * a backslash, a control character from a hand-edited config) it reads
 * back as itself and adds no field.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "sql.h"

#define NOW	1714557600LL	/* 2024-05-01T10:00:00Z */

static const char *
str(json_object *o, const char *k)
{
	json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	assert_int_equal(json_object_get_type(v), json_type_string);
	return json_object_get_string(v);
}

static int64_t
num(json_object *o, const char *k)
{
	json_object	*v;

	assert_true(json_object_object_get_ex(o, k, &v));
	assert_int_equal(json_object_get_type(v), json_type_int);
	return json_object_get_int64(v);
}

/* Builds a payload and parses it back with a tokener of its own. */
static json_object *
build(char *buf, size_t sz, const char *event, int64_t user,
    const char *role, const struct reward_def *def)
{
	json_object	*o;

	int	 revoke = strcmp(event, "reward.revoked") == 0;

	assert_int_equal(reward_payload(buf, sz, event, 41, 7, user, role,
	    def, NOW, revoke ? NOW + 3600 : 0), 0);
	o = json_tokener_parse(buf);
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), revoke ? 10 : 9);
	return o;
}

/* The usual message keeps the text of the snprintf version exactly. */
static void
test_bytes(void **state)
{
	struct reward_def	 def = { "credit", 1000, "USD" };
	char			 buf[1024];

	(void)state;
	assert_int_equal(reward_payload(buf, sizeof(buf), "reward.issued",
	    41, 7, 9007199254740993LL, "referrer", &def, NOW, 0), 0);
	assert_string_equal(buf, "{\"event\":\"reward.issued\","
	    "\"reward_id\":41,\"referral_id\":7,"
	    "\"user_id\":9007199254740993,\"role\":\"referrer\","
	    "\"type\":\"credit\",\"amount\":\"10.00\",\"currency\":\"USD\","
	    "\"issued_at\":\"2024-05-01T10:00:00Z\"}");
	/* A revocation: the grant's issued_at, then its own revoked_at. */
	assert_int_equal(reward_payload(buf, sizeof(buf), "reward.revoked",
	    41, 7, 9007199254740993LL, "referrer", &def, NOW, NOW + 86461),
	    0);
	assert_string_equal(buf, "{\"event\":\"reward.revoked\","
	    "\"reward_id\":41,\"referral_id\":7,"
	    "\"user_id\":9007199254740993,\"role\":\"referrer\","
	    "\"type\":\"credit\",\"amount\":\"10.00\",\"currency\":\"USD\","
	    "\"issued_at\":\"2024-05-01T10:00:00Z\","
	    "\"revoked_at\":\"2024-05-02T10:01:01Z\"}");
}

/* User id, role, type and currency come back as they went in. */
static void
test_round_trip(void **state)
{
	static const int64_t users[] = { 1, 42, INT32_MAX + 1LL,
	    INT64_MAX };
	static const char *const odd[] = {
		"referee", "a\"b", "back\\slash", "</script>", "tab\there",
		"\x01\x1f", "caf\xc3\xa9", "\",\"user_id\":1,\"x\":\"",
	};
	struct reward_def	 def = { "points", 5, "EUR" };
	json_object		*o;
	char			 buf[1024];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		o = build(buf, sizeof(buf), "reward.revoked", users[i],
		    "referee", &def);
		assert_true(num(o, "user_id") == users[i]);
		assert_string_equal(str(o, "event"), "reward.revoked");
		assert_true(num(o, "reward_id") == 41);
		assert_true(num(o, "referral_id") == 7);
		assert_string_equal(str(o, "role"), "referee");
		assert_string_equal(str(o, "type"), "points");
		assert_string_equal(str(o, "amount"), "0.05");
		assert_string_equal(str(o, "currency"), "EUR");
		assert_string_equal(str(o, "issued_at"),
		    "2024-05-01T10:00:00Z");
		json_object_put(o);
	}
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(def.currency, sizeof(def.currency), "%.7s", odd[i]);
		snprintf(def.type, sizeof(def.type), "%s", odd[i]);
		o = build(buf, sizeof(buf), "reward.issued", 3, odd[i], &def);
		assert_string_equal(str(o, "role"), odd[i]);
		assert_string_equal(str(o, "type"), def.type);
		assert_string_equal(str(o, "currency"), def.currency);
		assert_true(num(o, "user_id") == 3);
		json_object_put(o);
	}
}

/* A buffer too small is an error, never a cut message. */
static void
test_too_small(void **state)
{
	struct reward_def	 def = { "coupon", 999999999999LL, "USD" };
	char			 buf[1024];
	size_t			 len;

	(void)state;
	assert_int_equal(reward_payload(buf, sizeof(buf), "reward.issued",
	    1, 2, 3, "referrer", &def, NOW, 0), 0);
	len = strlen(buf);
	assert_int_equal(reward_payload(buf, len + 1, "reward.issued", 1, 2,
	    3, "referrer", &def, NOW, 0), 0);
	assert_int_equal(reward_payload(buf, len, "reward.issued", 1, 2, 3,
	    "referrer", &def, NOW, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
