/*
 * Configuration: defaults, a full file, every error with its line, and
 * the semantic checks.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define GOOD_API	"api-key-0123456789abcdef"
#define GOOD_ADMIN	"admin-key-0123456789abcdef"
#define GOOD_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static struct conf	*c;
static char		 err[512];

static int
setup(void **state)
{
	if ((c = malloc(sizeof(*c))) == NULL)
		return -1;
	conf_defaults(c);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	free(c);
	c = NULL;
	return 0;
}

static int
parse(const char *s)
{
	err[0] = '\0';
	return conf_parse(c, s, strlen(s), "t.conf", err, sizeof(err));
}

static void
test_defaults(void **state)
{
	assert_string_equal(c->db_name, "referd");
	assert_string_equal(c->db_user, "referd");
	assert_int_equal(c->db_port, 3306);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->cookie_name, "ref");
	assert_int_equal(c->attribution_window_days, 30);
	assert_int_equal(c->code_cache_seconds, 5);
	assert_int_equal(c->click_flush_ms, 1000);
	assert_int_equal(c->qualifying_eventsz, 1);
	assert_string_equal(c->qualifying_events[0], "order.completed");
	assert_int_equal(c->min_order_amount, 0);
	assert_int_equal(c->hold_days, 0);
	assert_string_equal(c->reward_referrer.type, "credit");
	assert_int_equal(c->reward_referrer.amount, 1000);
	assert_string_equal(c->reward_referrer.currency, "USD");
	assert_string_equal(c->reward_referee.type, "credit");
	assert_int_equal(c->reward_referee.amount, 500);
	assert_string_equal(c->reward_referee.currency, "USD");
	assert_int_equal(c->max_signups_per_referrer_per_hour, 10);
	assert_int_equal(c->max_signups_per_ip_per_hour, 5);
	assert_int_equal(c->dispatch_concurrency, 32);
	assert_int_equal(c->dispatch_max_attempts, 12);
	assert_int_equal(c->dispatch_connect_timeout_ms, 2000);
	assert_int_equal(c->dispatch_timeout_ms, 10000);
	assert_int_equal(c->dispatch_lease_seconds, 60);
	assert_int_equal(c->dispatch_batch, 200);
	assert_int_equal(c->dispatch_poll_ms, 200);
	assert_int_equal(c->dispatch_backoff_ms, 1000);
	assert_int_equal(c->dispatch_backoff_max_ms, 600000);
	assert_int_equal(c->console_refresh_ms, 2000);
	assert_string_equal(c->landing_url, "http://127.0.0.1:8080/");
	assert_string_equal(c->base_url, "http://127.0.0.1:8080");
	assert_string_equal(c->api_key, "");
	assert_string_equal(c->db_socket, "");
	assert_int_equal(c->stats_db_port, 0);
	assert_true(conf_is_qualifying(c, "order.completed"));
	assert_false(conf_is_qualifying(c, "order.refunded"));
	/* The defaults lack only the keys and secrets. */
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "api_key"));
}

static const char full[] =
    "# referd test config\n"
    "\n"
    "   # indented comment\n"
    "db_socket = /var/run/mysqld/mysqld.sock\n"
    "db_host=db.example\n"
    "  db_port   =   3307  \n"
    "db_password = p#ss=word # not a comment\n"
    "listen = /run/referd.sock\r\n"
    "socket_mode = 0600\n"
    "workers = 8\n"
    "api_key = " GOOD_API "\n"
    "admin_api_key = " GOOD_ADMIN "\n"
    "webhook_secret = " GOOD_SECRET "\n"
    "outbound_secret = whsec_AAAAAAAAAAAAAAAAAAAAAAAA\n"
    "base_url = https://ref.example\n"
    "landing_url = https://shop.example/welcome\n"
    "cookie_name = r\n"
    "qualifying_events = order.completed\n"
    "qualifying_events = subscription.started\n"
    "min_order_amount = 20.50\n"
    "hold_days = 14\n"
    "reward_referrer_type = coupon\n"
    "reward_referrer_amount = 15\n"
    "reward_referrer_currency = EUR\n"
    "reward_referee_type = points\n"
    "reward_referee_amount = 0.5\n"
    "reward_referee_currency = EUR\n"
    "max_signups_per_referrer_per_hour = 0\n"
    "max_signups_per_ip_per_hour = 3\n"
    "reward_url_credit = http://127.0.0.1:8081/credit\n"
    "dispatch_concurrency = 64\n"
    "dispatch_backoff_max_ms = 2000\n"
    "log_file =\n"
    "console_refresh_ms = 500";		/* no final newline */

static void
test_full(void **state)
{
	if (parse(full) != 0)
		fail_msg("%s", err);
	assert_string_equal(c->db_socket, "/var/run/mysqld/mysqld.sock");
	assert_string_equal(c->db_host, "db.example");
	assert_int_equal(c->db_port, 3307);
	assert_string_equal(c->db_password, "p#ss=word # not a comment");
	assert_string_equal(c->listen, "/run/referd.sock");
	assert_int_equal(c->socket_mode, 0600);
	assert_int_equal(c->workers, 8);
	assert_string_equal(c->api_key, GOOD_API);
	assert_string_equal(c->base_url, "https://ref.example");
	assert_string_equal(c->cookie_name, "r");
	assert_int_equal(c->qualifying_eventsz, 2);
	assert_string_equal(c->qualifying_events[0], "order.completed");
	assert_string_equal(c->qualifying_events[1], "subscription.started");
	assert_true(conf_is_qualifying(c, "subscription.started"));
	assert_false(conf_is_qualifying(c, "subscription"));
	assert_false(conf_is_qualifying(c, NULL));
	assert_int_equal(c->min_order_amount, 2050);
	assert_int_equal(c->hold_days, 14);
	assert_string_equal(c->reward_referrer.type, "coupon");
	assert_int_equal(c->reward_referrer.amount, 1500);
	assert_string_equal(c->reward_referrer.currency, "EUR");
	assert_string_equal(c->reward_referee.type, "points");
	assert_int_equal(c->reward_referee.amount, 50);
	assert_int_equal(c->max_signups_per_referrer_per_hour, 0);
	assert_int_equal(c->max_signups_per_ip_per_hour, 3);
	assert_string_equal(c->reward_url_credit,
	    "http://127.0.0.1:8081/credit");
	assert_int_equal(c->dispatch_concurrency, 64);
	assert_int_equal(c->dispatch_backoff_max_ms, 2000);
	assert_string_equal(c->log_file, "");
	assert_int_equal(c->console_refresh_ms, 500);
	/* Untouched keys keep their defaults. */
	assert_string_equal(c->db_name, "referd");
	assert_int_equal(c->dispatch_batch, 200);
	if (conf_check(c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
test_list_replace_default(void **state)
{
	assert_int_equal(parse("qualifying_events = a\n"), 0);
	assert_int_equal(c->qualifying_eventsz, 1);
	assert_string_equal(c->qualifying_events[0], "a");
	assert_false(conf_is_qualifying(c, "order.completed"));
}

static void
test_list_too_many(void **state)
{
	char	 buf[4096];
	size_t	 off = 0;
	int	 i;

	for (i = 0; i < MAX_LIST; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "qualifying_events = e%d\n", i);
	assert_int_equal(parse(buf), 0);
	assert_int_equal(c->qualifying_eventsz, MAX_LIST);
	conf_defaults(c);
	snprintf(buf + off, sizeof(buf) - off, "qualifying_events = x\n");
	assert_int_equal(parse(buf), -1);
	assert_non_null(strstr(err, "t.conf:33: "));
	assert_non_null(strstr(err, "too many"));
}

struct err_case {
	const char	*text;
	const char	*prefix;	/* "FILE:LINE: " */
	const char	*word;		/* somewhere in the message */
};

static const struct err_case errs[] = {
	{ "# c\n\nnosuchkey = 1\n", "t.conf:3: ", "unknown key 'nosuchkey'" },
	{ "workers = 2\njust words\n", "t.conf:2: ", "missing '='" },
	{ "= value\n", "t.conf:1: ", "unknown key ''" },
	{ "workers = 2\nworkers = 3\n", "t.conf:2: ",
	    "duplicate key 'workers' (first on line 1)" },
	{ "a\n#\n\napi_key = x\n", "t.conf:1: ", "missing '='" },
	{ "\n\nworkers = many\n", "t.conf:3: ", "not a number" },
	{ "workers = -1\n", "t.conf:1: ", "not a number" },
	{ "workers = 0x10\n", "t.conf:1: ", "not a number" },
	{ "workers = \n", "t.conf:1: ", "not a number" },
	{ "workers = 1 2\n", "t.conf:1: ", "not a number" },
	{ "workers = 0\n", "t.conf:1: ", "out of range" },
	{ "workers = 257\n", "t.conf:1: ", "out of range" },
	{ "dispatch_backoff_max_ms = 600001\n", "t.conf:1: ",
	    "out of range" },
	{ "db_port = 99999999999999999999999\n", "t.conf:1: ",
	    "not a number" },
	{ "\nsocket_mode = 0680\n", "t.conf:2: ", "octal" },
	{ "socket_mode = 01777\n", "t.conf:1: ", "out of range" },
	{ "\n\n\nmin_order_amount = 1.005\n", "t.conf:4: ", "money" },
	{ "reward_referrer_amount = ten\n", "t.conf:1: ", "money" },
	{ "reward_referee_amount =\n", "t.conf:1: ", "money" },
	{ "reward_referrer_currency = EURO_DOLLAR\n", "t.conf:1: ",
	    "too long" },
	{ "qualifying_events =\n", "t.conf:1: ", "empty" },
	{ "x\n", "t.conf:1: ", "missing '='" },
};

static void
test_errors(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		conf_defaults(c);
		if (parse(errs[i].text) != -1)
			fail_msg("case %zu accepted", i);
		if (strncmp(err, errs[i].prefix, strlen(errs[i].prefix)) != 0 ||
		    strstr(err, errs[i].word) == NULL)
			fail_msg("case %zu: \"%s\"", i, err);
	}
}

static void
test_string_too_long(void **state)
{
	char	 buf[CONF_STR + 64];
	int	 n;

	n = snprintf(buf, sizeof(buf), "\ndb_host = ");
	memset(buf + n, 'h', CONF_STR - 1);
	strcpy(buf + n + CONF_STR - 1, "\n");
	assert_int_equal(parse(buf), 0);
	assert_int_equal(strlen(c->db_host), CONF_STR - 1);

	conf_defaults(c);
	n = snprintf(buf, sizeof(buf), "\ndb_host = ");
	memset(buf + n, 'h', CONF_STR);
	strcpy(buf + n + CONF_STR, "\n");
	assert_int_equal(parse(buf), -1);
	assert_non_null(strstr(err, "t.conf:2: "));
	assert_non_null(strstr(err, "too long"));
}

static void
test_line_too_long(void **state)
{
	char	 buf[MAX_CONF_LINE + 64];
	size_t	 n;

	/* A comment of exactly MAX_CONF_LINE bytes is fine... */
	memset(buf, '#', MAX_CONF_LINE);
	strcpy(buf + MAX_CONF_LINE, "\nworkers = 2\n");
	assert_int_equal(parse(buf), 0);
	/* ...one more byte is not, comment or not. */
	n = (size_t)snprintf(buf, sizeof(buf), "workers = 2\n");
	memset(buf + n, '#', MAX_CONF_LINE + 1);
	buf[n + MAX_CONF_LINE + 1] = '\0';
	assert_int_equal(parse(buf), -1);
	assert_non_null(strstr(err, "t.conf:2: line too long"));
}

static void
test_nul(void **state)
{
	static const char	 text[] = "workers = 2\n\ndb_host = a\0b\n";

	assert_int_equal(conf_parse(c, text, sizeof(text) - 1, "t.conf",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:3: "));
	assert_non_null(strstr(err, "NUL"));
}

static void
test_empty_and_null_err(void **state)
{
	assert_int_equal(conf_parse(c, "", 0, "t.conf", err, sizeof(err)),
	    0);
	assert_int_equal(conf_parse(c, "\n\n  \n# x\n", 9, NULL, NULL, 0),
	    0);
	assert_int_equal(conf_parse(c, "bad\n", 4, NULL, NULL, 0), -1);
	assert_int_equal(conf_parse(c, "bad\n", 4, NULL, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "-:1: "));
}

/* A conf that passes conf_check, to break one field at a time. */
static void
good(void)
{
	conf_defaults(c);
	strcpy(c->api_key, GOOD_API);
	strcpy(c->admin_api_key, GOOD_ADMIN);
	strcpy(c->webhook_secret, GOOD_SECRET);
	strcpy(c->outbound_secret, GOOD_SECRET);
}

#define CHECK_FAILS(key) do {						\
	err[0] = '\0';							\
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);		\
	if (strncmp(err, key ":", strlen(key) + 1) != 0)		\
		fail_msg("want %s, got \"%s\"", key, err);		\
	good();								\
} while (0)

static void
test_check(void **state)
{
	good();
	assert_int_equal(conf_check(c, err, sizeof(err)), 0);

	strcpy(c->api_key, "");
	CHECK_FAILS("api_key");
	strcpy(c->api_key, "short-key-15chr");
	CHECK_FAILS("api_key");
	strcpy(c->admin_api_key, "");
	CHECK_FAILS("admin_api_key");
	strcpy(c->admin_api_key, GOOD_API);
	CHECK_FAILS("admin_api_key");
	strcpy(c->webhook_secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	CHECK_FAILS("webhook_secret");
	strcpy(c->webhook_secret, "");
	CHECK_FAILS("webhook_secret");
	strcpy(c->outbound_secret, "whsec_###");
	CHECK_FAILS("outbound_secret");
	strcpy(c->landing_url, "ftp://x/");
	CHECK_FAILS("landing_url");
	strcpy(c->landing_url, "//evil.example/");
	CHECK_FAILS("landing_url");
	strcpy(c->base_url, "");
	CHECK_FAILS("base_url");
	strcpy(c->reward_referrer.type, "cash");
	CHECK_FAILS("reward_referrer_type");
	strcpy(c->reward_referee.type, "");
	CHECK_FAILS("reward_referee_type");
	strcpy(c->reward_referrer.currency, "usd");
	CHECK_FAILS("reward_referrer_currency");
	strcpy(c->reward_referee.currency, "US");
	CHECK_FAILS("reward_referee_currency");
	c->workers = 0;
	CHECK_FAILS("workers");
	c->workers = 257;
	CHECK_FAILS("workers");
	c->dispatch_concurrency = 0;
	CHECK_FAILS("dispatch_concurrency");
	c->dispatch_concurrency = 1025;
	CHECK_FAILS("dispatch_concurrency");

	/* The boundaries themselves pass. */
	c->workers = 256;
	c->dispatch_concurrency = 1024;
	assert_int_equal(conf_check(c, err, sizeof(err)), 0);
	c->workers = 1;
	c->dispatch_concurrency = 1;
	strcpy(c->api_key, "0123456789abcdef");
	assert_int_equal(conf_check(c, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_replace_default,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_too_many, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_too_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_line_too_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_null_err, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
