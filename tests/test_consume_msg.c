/*
 * Unit tests of consume/msg.c: a message body into struct event_in, and
 * the "code: what" of every refusal (the x-referd-error header).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consume.h"

#define GOOD	"{\"id\":\"evt_1\",\"type\":\"order.completed\"," \
		"\"user_id\":1001,\"order_id\":\"o-1\",\"amount\":\"25.00\"," \
		"\"currency\":\"USD\",\"occurred_at\":\"2025-01-31T12:00:00Z\"}"

static int
take(const char *body, struct event_in *ev, char *why)
{
	why[0] = '\0';
	return msg_event(body, strlen(body), ev, why, MAX_ERROR_TEXT);
}

static void
test_good(void **state)
{
	struct event_in	 ev;
	char		 why[MAX_ERROR_TEXT];

	(void)state;
	assert_int_equal(take(GOOD "\n", &ev, why), 0);
	assert_string_equal(ev.source, "amqp");
	assert_string_equal(ev.id, "evt_1");
	assert_string_equal(ev.type, "order.completed");
	assert_int_equal(ev.user_id, 1001);
	assert_string_equal(ev.order_id, "o-1");
	assert_int_equal(ev.amount, 2500);
	assert_string_equal(ev.currency, "USD");
	assert_string_equal(ev.payment_fp, "");
	assert_int_equal(strlen(ev.body_sha256), 64);
	/* A user id as a string of digits, and a fingerprint. */
	assert_int_equal(take("{\"id\":\"e2\",\"type\":\"t\",\"user_id\":\"7\","
	    "\"order_id\":\"o\",\"amount\":\"1\",\"currency\":\"EUR\","
	    "\"occurred_at\":\"2025-01-31T12:00:00.5+01:00\","
	    "\"payment_fingerprint\":\"fp\"}", &ev, why), 0);
	assert_int_equal(ev.user_id, 7);
	assert_string_equal(ev.payment_fp, "fp");
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*body;
		const char	*code;
	} t[] = {
		{ "", "invalid_json:" },
		{ "not json", "invalid_json:" },
		{ GOOD " x", "invalid_json:" },
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
		    "invalid_json:" },
		{ "[1]", "invalid_type:" },
		{ "{\"id\":\"e\"}", "missing_field: type" },
		{ "{\"id\":\"has space\",\"type\":\"t\"}", "invalid_field: id" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":0}",
		    "invalid_user_id:" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":-1}",
		    "invalid_user_id:" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":1,\"order_id\":5}",
		    "invalid_type: order_id" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":1,\"order_id\":\"o\","
		    "\"amount\":\"1.234\"}", "invalid_amount: amount" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":1,\"order_id\":\"o\","
		    "\"amount\":\"1\",\"currency\":\"usd\"}",
		    "invalid_currency: currency" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":1,\"order_id\":\"o\","
		    "\"amount\":\"1\",\"currency\":\"USD\",\"occurred_at\":"
		    "\"yesterday\"}", "invalid_time: occurred_at" },
		{ "{\"id\":\"e\",\"type\":\"t\",\"user_id\":1,\"order_id\":\"\","
		    "\"amount\":\"1\"}", "missing_field: order_id" },
	};
	struct event_in	 ev;
	char		 why[MAX_ERROR_TEXT];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (take(t[i].body, &ev, why) != -1 ||
		    strncmp(why, t[i].code, strlen(t[i].code)) != 0)
			fail_msg("%zu: %s: got \"%s\"", i, t[i].body, why);
	}
	/* A NUL inside. */
	assert_int_equal(msg_event("{\"id\":\"a\0\"}", 11, &ev, why,
	    sizeof(why)), -1);
}

static void
test_time(void **state)
{
	(void)state;
	assert_true(time_rfc3339_valid("2025-01-31T12:00:00Z"));
	assert_true(time_rfc3339_valid("2025-01-31t12:00:00.123456789-05:30"));
	assert_false(time_rfc3339_valid("2025-13-31T12:00:00Z"));
	assert_false(time_rfc3339_valid("2025-01-31T12:00:00.1234567890Z"));
	assert_false(time_rfc3339_valid("2025-01-31T12:00:00"));
	assert_false(time_rfc3339_valid("2025-01-31"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
