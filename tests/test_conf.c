/*
 * Configuration: defaults, a full file, every error with its line, the
 * semantic checks, each binary's required keys, the refused secrets and
 * file modes, the root decision, TLS modes; and the log line format.
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

#include "sql.h"

#define GOOD_API	"api-key-0123456789abcdef"
#define GOOD_ADMIN	"admin-key-0123456789abcdef"
#define GOOD_SECRET	"whsec_c2VjcmV0LWluLTAxMjM0NTY3ODlhYmNk"
#define GOOD_OUT	"whsec_b3V0Ym91bmQtMDEyMzQ1Njc4OWFiY2Rl"
#define VECTOR		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

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
	assert_int_equal(c->outbox_retention_days, 30);
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
    "outbound_secret = " GOOD_OUT "\n"
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
	{ "outbox_retention_days = 0\n", "t.conf:1: ",
	    "outbox_retention_days" },
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
	strcpy(c->outbound_secret, GOOD_OUT);
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
	strcpy(c->outbound_secret, GOOD_SECRET);
	CHECK_FAILS("outbound_secret");
	strcpy(c->webhook_secret, VECTOR);
	CHECK_FAILS("webhook_secret");
	strcpy(c->api_key, "change-me-0123456789abcdef");
	CHECK_FAILS("api_key");
	strcpy(c->db_password, "CHANGE-ME");
	CHECK_FAILS("db_password");
	c->db_ssl_mode = DB_SSL_VERIFY_CA;
	CHECK_FAILS("db_ssl_mode");
	c->stats_db_ssl_mode = DB_SSL_VERIFY_IDENTITY;
	CHECK_FAILS("stats_db_ssl_mode");
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

/* Every way a secret is refused in a file, with its line and the fix. */
static const struct err_case unsafe[] = {
	{ "\nwebhook_secret = " VECTOR "\n", "t.conf:2: ",
	    "webhook_secret: this is the published Standard Webhooks test "
	    "secret" },
	{ "outbound_secret = MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "t.conf:1: ",
	    "outbound_secret: this is the published" },
	{ "api_key = " VECTOR "\n", "t.conf:1: ", "api_key: this is the" },
	{ "webhook_secret = " GOOD_SECRET "\nwebhook_secret = " VECTOR "\n",
	    "t.conf:2: ", "webhook_secret: this is the published" },
	{ "db_password = change-me\n", "t.conf:1: ",
	    "db_password: a placeholder (CHANGE-ME...)" },
	{ "stats_db_password = Change-Me-please\n", "t.conf:1: ",
	    "stats_db_password: a placeholder" },
	{ "\n\napi_key = CHANGE-ME-server-key-0123456789\n", "t.conf:3: ",
	    "api_key: a placeholder" },
	{ "admin_api_key = CHANGE-ME\n", "t.conf:1: ",
	    "make your own with: printf 'rk_%s\\n'" },
	{ "webhook_secret = change-me\n", "t.conf:1: ",
	    "make your own with: printf 'whsec_%s\\n' \"$(head -c 24 "
	    "/dev/urandom | base64)\"" },
	{ "outbound_secret = " GOOD_OUT "\noutbound_secret = " GOOD_OUT "\n"
	    "outbound_secret = " GOOD_OUT "\noutbound_secret = " GOOD_OUT "\n"
	    "outbound_secret = " GOOD_OUT "\n", "t.conf:5: ", "too many" },
	{ "db_ssl_mode = on\n", "t.conf:1: ", "want disabled, preferred" },
	{ "secrets_file = /a\nsecrets_file = /b\n", "t.conf:2: ",
	    "duplicate key" },
};

static void
test_unsafe(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		conf_defaults(c);
		if (parse(unsafe[i].text) != -1)
			fail_msg("case %zu accepted", i);
		if (strncmp(err, unsafe[i].prefix,
		    strlen(unsafe[i].prefix)) != 0 ||
		    strstr(err, unsafe[i].word) == NULL)
			fail_msg("case %zu: \"%s\"", i, err);
	}
	/* A value that only contains the words is fine. */
	assert_int_equal(conf_secret_check("rk_not-CHANGE-ME"),
	    CONF_SECRET_OK);
	assert_int_equal(conf_secret_check("CHANGE-M"), CONF_SECRET_OK);
	assert_int_equal(conf_secret_check(""), CONF_SECRET_OK);
	assert_int_equal(conf_secret_check(NULL), CONF_SECRET_OK);
	assert_int_equal(conf_secret_check("change-me"),
	    CONF_SECRET_PLACEHOLDER);
	assert_int_equal(conf_secret_check(VECTOR), CONF_SECRET_TEST_VECTOR);
	assert_int_equal(conf_secret_check(VECTOR "x"), CONF_SECRET_OK);
}

static const char keys_text[] =
    "api_key = " GOOD_API "\n"
    "admin_api_key = " GOOD_ADMIN "\n"
    "webhook_secret = " GOOD_SECRET "\n"
    "outbound_secret = " GOOD_OUT "\n";

/* The check of a parsed file names the file, the line and the key. */
static void
test_check_names_line(void **state)
{
	assert_int_equal(parse("api_key = " GOOD_API "\n"
	    "admin_api_key = " GOOD_ADMIN "\n"
	    "webhook_secret = " GOOD_SECRET "\n"
	    "\noutbound_secret = " GOOD_SECRET "\n"), 0);
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:5: outbound_secret: the same "
	    "secret as webhook_secret"));
	conf_defaults(c);
	assert_int_equal(parse("workers = 2\n"), 0);
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: api_key: missing or shorter than "
	    "16 characters; make one with: printf 'rk_%s\\n' \"$(head -c 16 "
	    "/dev/urandom | od -An -tx1 | tr -d ' \\n')\"");
	/* Rotation: the second of two also may not be the other way's. */
	conf_defaults(c);
	assert_int_equal(parse("webhook_secret = " GOOD_SECRET "\n"
	    "outbound_secret = whsec_AAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "outbound_secret = " GOOD_SECRET "\n"), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_DISPATCH, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:2: outbound_secret: the same"));
}

/* Each binary requires only the keys it uses. */
static void
test_roles(void **state)
{
	static const struct {
		enum conf_role	 role;
		int		 ok;	/* with only the db keys */
	} only_db[] = {
		{ CONF_ROLE_ALL, 0 },
		{ CONF_ROLE_FCGI, 0 },
		{ CONF_ROLE_DISPATCH, 0 },
		{ CONF_ROLE_CONSOLE, 1 },
		{ CONF_ROLE_MIGRATE, 1 },
		{ CONF_ROLE_CONSUME, 0 },	/* amqp_url */
	};
	size_t	 i;

	assert_int_equal(parse("db_socket = /run/mysqld/mysqld.sock\n"), 0);
	for (i = 0; i < sizeof(only_db) / sizeof(only_db[0]); i++) {
		int rc = conf_check_role(c, only_db[i].role, err, sizeof(err));

		if ((rc == 0) != only_db[i].ok)
			fail_msg("role %s: %d \"%s\"",
			    conf_role_name(only_db[i].role), rc, err);
	}
	/* consume: amqp_url and nothing else. */
	assert_int_equal(parse("db_socket = /run/mysqld/mysqld.sock\n"
	    "amqp_url = amqp://u:p@127.0.0.1:5672/%2f\n"), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_CONSUME, err,
	    sizeof(err)), 0);
	assert_int_equal(c->amqp_prefetch, 64);
	assert_string_equal(c->amqp_queue, "referd.events");
	assert_string_equal(c->amqp_dead_letter, "referd.events.dead");
	/* fcgi: the API keys and webhook_secret, not outbound_secret. */
	assert_int_equal(parse("api_key = " GOOD_API "\n"
	    "admin_api_key = " GOOD_ADMIN "\n"
	    "webhook_secret = " GOOD_SECRET "\n"), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_FCGI, err,
	    sizeof(err)), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_ALL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "outbound_secret: missing"));
	/* dispatch: outbound_secret and the reward URLs, no API keys. */
	conf_defaults(c);
	assert_int_equal(parse("outbound_secret = " GOOD_OUT "\n"), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_DISPATCH, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf: reward_url_credit: rewards of "
	    "type credit need"));
	assert_int_equal(parse("reward_url_credit = https://b.example/c\n"),
	    0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_DISPATCH, err,
	    sizeof(err)), 0);
	assert_int_equal(conf_check_role(c, CONF_ROLE_FCGI, err,
	    sizeof(err)), -1);
	/* An unsafe value fails every role, required or not. */
	strcpy(c->webhook_secret, GOOD_OUT);
	assert_int_equal(conf_check_role(c, CONF_ROLE_CONSOLE, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "the same secret as webhook_secret"));
	/* A key the role does not need is still checked when set. */
	strcpy(c->webhook_secret, "whsec_###");
	assert_int_equal(conf_check_role(c, CONF_ROLE_DISPATCH, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "webhook_secret: want whsec_"));
	strcpy(c->webhook_secret, "");
	strcpy(c->api_key, "short");
	assert_int_equal(conf_check_role(c, CONF_ROLE_CONSOLE, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "api_key: missing or shorter"));
	strcpy(c->api_key, "");
	assert_int_equal(conf_check_role(c, CONF_ROLE_CONSOLE, err,
	    sizeof(err)), 0);
	assert_string_equal(conf_role_name(CONF_ROLE_DISPATCH),
	    "referd-dispatch");
	assert_string_equal(conf_role_name(CONF_ROLE__MAX), "unknown");
}

/* webhook_secret and outbound_secret repeat for rotation. */
static void
test_rotation(void **state)
{
	const char	*v[MAX_SECRETS];

	assert_int_equal(conf_secrets(c, 0, v), 0);
	assert_int_equal(parse(keys_text), 0);
	conf_defaults(c);
	assert_int_equal(parse("webhook_secret = whsec_AAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "webhook_secret = whsec_BBBBBBBBBBBBBBBBBBBBBBBB\n"
	    "webhook_secret = whsec_CCCCCCCCCCCCCCCCCCCCCCCC\n"
	    "outbound_secret = " GOOD_OUT "\n"), 0);
	assert_int_equal(conf_secrets(c, 0, v), 3);
	assert_string_equal(v[0], "whsec_AAAAAAAAAAAAAAAAAAAAAAAA");
	assert_string_equal(v[2], "whsec_CCCCCCCCCCCCCCCCCCCCCCCC");
	assert_string_equal(c->webhook_secret,
	    "whsec_AAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(conf_secrets(c, 1, v), 1);
	assert_string_equal(v[0], GOOD_OUT);
	/* A bad third value is refused as the first would be. */
	strcpy(c->api_key, GOOD_API);
	strcpy(c->admin_api_key, GOOD_ADMIN);
	assert_int_equal(conf_check_role(c, CONF_ROLE_FCGI, err,
	    sizeof(err)), 0);
	strcpy(c->webhook_secret_more[1], "whsec_!!");
	assert_int_equal(conf_check_role(c, CONF_ROLE_FCGI, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "webhook_secret: want whsec_"));
	strcpy(c->webhook_secret_more[1], GOOD_OUT);
	assert_int_equal(conf_check_role(c, CONF_ROLE_CONSOLE, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "the same secret"));
}

/* secrets_file: secret keys only, none set twice across the files. */
static void
test_secrets_file(void **state)
{
	static const char	 main_text[] = "db_socket = /s\n"
	    "secrets_file = /etc/referd/secrets\napi_key = " GOOD_API "\n";
	static const char	 sec[] = "admin_api_key = " GOOD_ADMIN "\n"
	    "webhook_secret = " GOOD_SECRET "\n"
	    "outbound_secret = " GOOD_OUT "\ndb_password = pw\n";

	assert_int_equal(parse(main_text), 0);
	assert_string_equal(c->secrets_file, "/etc/referd/secrets");
	assert_int_equal(conf_parse_secrets(c, sec, strlen(sec), "s.conf",
	    err, sizeof(err)), 0);
	assert_string_equal(c->admin_api_key, GOOD_ADMIN);
	assert_string_equal(c->db_password, "pw");
	assert_int_equal(conf_check(c, err, sizeof(err)), 0);
	/* A check error names the file the key came from. */
	strcpy(c->outbound_secret, GOOD_SECRET);
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "s.conf:3: outbound_secret: the same"));

	conf_defaults(c);
	assert_int_equal(parse(main_text), 0);
	assert_int_equal(conf_parse_secrets(c, "\nworkers = 2\n", 13,
	    "s.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "s.conf:2: 'workers' is not a secret"));
	assert_int_equal(conf_parse_secrets(c, "api_key = " GOOD_API "\n",
	    strlen("api_key = " GOOD_API "\n"), "s.conf", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "s.conf:1: 'api_key' is also set in "
	    "t.conf on line 3"));
	assert_int_equal(conf_parse_secrets(c, "db_password = change-me\n",
	    24, "s.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "s.conf:1: db_password: a placeholder"));
}

static void
test_mode(void **state)
{
	/* The file: group may read, others nothing. */
	assert_null(conf_mode_problem(0100600, 0));
	assert_null(conf_mode_problem(0100640, 0));
	assert_null(conf_mode_problem(0100660, 0));
	assert_null(conf_mode_problem(0100400, 0));
	assert_non_null(conf_mode_problem(0100644, 0));
	assert_non_null(conf_mode_problem(0100602, 0));
	assert_non_null(conf_mode_problem(0100601, 0));
	assert_non_null(strstr(conf_mode_problem(0100604, 0), "chmod o-rwx"));
	/* A secrets_file: its owner only. */
	assert_null(conf_mode_problem(0100600, 1));
	assert_null(conf_mode_problem(0100400, 1));
	assert_non_null(conf_mode_problem(0100640, 1));
	assert_non_null(conf_mode_problem(0100610, 1));
	assert_non_null(conf_mode_problem(0100604, 1));
	assert_non_null(strstr(conf_mode_problem(0100640, 1), "chmod 600"));
}

static void
test_priv(void **state)
{
	assert_int_equal(conf_priv_decide(1000, "", 0), CONF_PRIV_KEEP);
	assert_int_equal(conf_priv_decide(1000, "referd", 0),
	    CONF_PRIV_KEEP);
	assert_int_equal(conf_priv_decide(0, "referd", 0), CONF_PRIV_DROP);
	assert_int_equal(conf_priv_decide(0, "referd", 1), CONF_PRIV_DROP);
	assert_int_equal(conf_priv_decide(0, "", 0), CONF_PRIV_REFUSE);
	assert_int_equal(conf_priv_decide(0, NULL, 0), CONF_PRIV_REFUSE);
	assert_int_equal(conf_priv_decide(0, "", 1), CONF_PRIV_KEEP);
}

static void
test_ssl_mode(void **state)
{
	/* Unset: off on a socket or localhost, preferred over TCP. */
	assert_int_equal(conf_db_ssl_mode(c, 0), DB_SSL_DISABLED);
	assert_int_equal(parse("db_host = db.example\n"
	    "stats_db_socket = /s\n"), 0);
	assert_int_equal(conf_db_ssl_mode(c, 0), DB_SSL_PREFERRED);
	assert_int_equal(conf_db_ssl_mode(c, 1), DB_SSL_DISABLED);
	assert_int_equal(parse("db_ssl_mode = verify_identity\n"
	    "db_ssl_ca = /etc/ssl/db-ca.pem\n"
	    "stats_db_ssl_mode = required\n"), 0);
	assert_int_equal(conf_db_ssl_mode(c, 0), DB_SSL_VERIFY_IDENTITY);
	assert_int_equal(conf_db_ssl_mode(c, 1), DB_SSL_REQUIRED);
	assert_string_equal(c->db_ssl_ca, "/etc/ssl/db-ca.pem");
	assert_string_equal(conf_db_ssl_mode_name(DB_SSL_VERIFY_CA),
	    "verify_ca");
	assert_string_equal(conf_db_ssl_mode_name(DB_SSL_UNSET), "unset");
	conf_defaults(c);
	assert_int_equal(parse("db_host = localhost\n"
	    "db_ssl_mode = disabled\n"), 0);
	assert_int_equal(conf_db_ssl_mode(c, 0), DB_SSL_DISABLED);
	conf_defaults(c);
	assert_int_equal(parse(keys_text), 0);
	assert_int_equal(parse("db_ssl_mode = verify_ca\n"), 0);
	assert_int_equal(conf_check(c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf:1: db_ssl_mode: verify_ca "
	    "needs db_ssl_ca"));
}

/* The logger's line (sql/log.c): the one format of every binary. */
static void
test_log_format(void **state)
{
	char	 buf[80], small[40];
	size_t	 n;

	n = log_format(buf, sizeof(buf), 1796275280, "referd-fcgi", 1234,
	    LOG_SEV_ERR, "database unavailable");
	assert_string_equal(buf, "2026-12-03T05:21:20Z referd-fcgi[1234] "
	    "err: database unavailable\n");
	assert_int_equal(n, strlen(buf));
	log_format(buf, sizeof(buf), 0, "referd-dispatch", 1,
	    LOG_SEV_WARN, "x");
	assert_string_equal(buf, "1970-01-01T00:00:00Z referd-dispatch[1] "
	    "warning: x\n");
	log_format(buf, sizeof(buf), 0, "p", 1, LOG_SEV_INFO, "");
	assert_string_equal(buf, "1970-01-01T00:00:00Z p[1] info: \n");
	/* Cut to fit, still one line. */
	n = log_format(small, sizeof(small), 0, "p", 1, LOG_SEV_INFO,
	    "a long message that does not fit");
	assert_int_equal(n, sizeof(small) - 1);
	assert_int_equal(small[n - 1], '\n');
	assert_null(memchr(small, '\n', n - 1));
	assert_int_equal(log_format(small, 0, 0, "p", 1, LOG_SEV_INFO, "x"),
	    0);
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
		cmocka_unit_test_setup_teardown(test_unsafe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_names_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_secrets_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssl_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_format, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
