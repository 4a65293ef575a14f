/*
 * The FastCGI request path without a socket: routing, limits, keys,
 * webhook signatures, JSON and the validators, the landing page from the
 * code cache, request ids and the response header block.  The database
 * is a unix socket that does not exist, so every handler that reaches it
 * must answer 503: that is also the outage path.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fcgi.h"
#include "fixture.h"

/* A request with defaults: GET, no body, no headers. */
static struct http_req
rq(const char *method, const char *uri)
{
	struct http_req	 r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.uri = uri;
	r.body = "";
	r.body_state = BODY_OK;
	return r;
}

static struct http_req
rq_body(const char *method, const char *uri, const char *auth,
    const char *body)
{
	struct http_req	 r = rq(method, uri);

	r.authorization = auth;
	r.content_type = "application/json";
	r.body = body;
	r.bodysz = strlen(body);
	return r;
}

/* The error code of an answer, or "" if it is not an error. */
static const char *
err_code(struct http_resp *rs)
{
	json_object	*e, *c;

	if (rs->json == NULL ||
	    !json_object_object_get_ex(rs->json, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

/* Serves "r" and checks status and error code ("" for none). */
static void
expect(struct http_req *r, int status, const char *code)
{
	struct http_resp	 rs;

	http_serve(&fx_app, r, &rs);
	if (rs.status != status || strcmp(err_code(&rs), code) != 0)
		print_error("%s %s: got %d %s, want %d %s\n", r->method,
		    r->uri, rs.status, err_code(&rs), status, code);
	assert_int_equal(rs.status, status);
	assert_string_equal(err_code(&rs), code);
	http_resp_free(&rs);
}

static void
test_routing(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;

	(void)state;
	r = rq("GET", "/nope");
	expect(&r, 404, "not_found");
	r = rq("GET", "/v1/signups/");
	expect(&r, 404, "not_found");
	r = rq("GET", "/r/a/b");
	expect(&r, 404, "not_found");
	r = rq("GET", "/v1/users//code");
	expect(&r, 404, "not_found");

	r = rq("DELETE", "/v1/signups");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 405);
	assert_string_equal(err_code(&rs), "method_not_allowed");
	assert_string_equal(rs.allow, "POST");
	http_resp_free(&rs);

	r = rq("PUT", "/v1/users/7/code");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 405);
	assert_string_equal(rs.allow, "GET, HEAD, POST");
	http_resp_free(&rs);

	r = rq("POST", "/healthz");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 405);
	assert_string_equal(rs.allow, "GET, HEAD");
	assert_int_equal(rs.route, ROUTE_NONE);
	http_resp_free(&rs);

	/* Lower-case methods are not methods. */
	r = rq("get", "/healthz");
	expect(&r, 405, "method_not_allowed");

	r = rq("GET", "/healthz?x=1");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.route, ROUTE_HEALTHZ);
	http_resp_free(&rs);

	r = rq("GET", NULL);
	expect(&r, 400, "bad_request");
	r.toolong = "REQUEST_URI";
	expect(&r, 414, "uri_too_long");
	r = rq("GET", "/healthz");
	r.toolong = "parameter";
	expect(&r, 431, "header_too_large");
}

static void
test_auth(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;

	(void)state;
	r = rq("GET", "/v1/referrers/5/stats");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 401);
	assert_true(rs.www_auth);
	http_resp_free(&rs);

	r.authorization = "Bearer rk_test_0123456789abcdeX";
	expect(&r, 401, "unauthorized");
	r.authorization = "Basic " FX_API_KEY;
	expect(&r, 401, "unauthorized");
	r.authorization = "Bearer " FX_API_KEY "x";
	expect(&r, 401, "unauthorized");
	r.authorization = "Bearer ";
	expect(&r, 401, "unauthorized");
	/* Past the key check, the database is away. */
	r.authorization = "Bearer " FX_API_KEY;
	expect(&r, 503, "database_unavailable");
	r.authorization = "bearer  " FX_API_KEY;
	expect(&r, 503, "database_unavailable");
	r.authorization = "Bearer " FX_ADMIN_KEY;
	expect(&r, 503, "database_unavailable");

	/* Void needs the admin key; the ordinary one gets 403. */
	r = rq_body("POST", "/v1/referrals/9/void", "Bearer " FX_API_KEY,
	    "{\"reason\":\"test\"}");
	expect(&r, 403, "forbidden");
	r.authorization = NULL;
	expect(&r, 401, "unauthorized");
	r.authorization = "Bearer nope";
	expect(&r, 401, "unauthorized");
	r.authorization = "Bearer " FX_ADMIN_KEY;
	expect(&r, 503, "database_unavailable");

	/* Ids in the path: checked after the key. */
	r = rq("GET", "/v1/referrals/0");
	r.authorization = "Bearer " FX_API_KEY;
	expect(&r, 422, "invalid_id");
	r.uri = "/v1/users/-4/code";
	expect(&r, 422, "invalid_user_id");
	r.uri = "/v1/users/9223372036854775808/code";
	expect(&r, 422, "invalid_user_id");
	r.uri = "/v1/users/9223372036854775807/code";
	expect(&r, 503, "database_unavailable");
	r.authorization = NULL;
	r.uri = "/v1/users/abc/code";
	expect(&r, 401, "unauthorized");
}

static void
test_body_limits(void **state)
{
	struct http_req	 r;
	char		*deep;
	size_t		 i;

	(void)state;
	r = rq_body("POST", "/v1/signups", "Bearer " FX_API_KEY,
	    "{\"user_id\":1}");
	r.body_state = BODY_TOO_LARGE;
	expect(&r, 413, "body_too_large");
	r.body_state = BODY_BAD_LENGTH;
	expect(&r, 400, "invalid_content_length");
	r.body_state = BODY_SHORT;
	expect(&r, 400, "invalid_content_length");
	r.body_state = BODY_LONG;
	expect(&r, 400, "invalid_content_length");
	r.body_state = BODY_OK;

	r.content_type = "text/plain";
	expect(&r, 415, "unsupported_media_type");
	r.content_type = NULL;
	expect(&r, 415, "unsupported_media_type");
	r.content_type = "application/jsonx";
	expect(&r, 415, "unsupported_media_type");
	r.content_type = "Application/JSON; charset=UTF-8";
	expect(&r, 503, "database_unavailable");
	r.content_type = "application/json";

	r.body = "";
	r.bodysz = 0;
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":1} x";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":1,}";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{'user_id':1}";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":NaN}";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":-Infinity}";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":1}/* c */";
	r.bodysz = strlen(r.body);
	expect(&r, 400, "invalid_json");
	r.body = "{\"user_id\":1, \"n\":1E5, \"x\":\"It's NaN\"}";
	r.bodysz = strlen(r.body);
	expect(&r, 503, "database_unavailable");
	r.body = "{\"user_id\":1}\0{}";
	r.bodysz = 16;
	expect(&r, 400, "invalid_json");
	r.body = "  {\"user_id\":1}\r\n";
	r.bodysz = strlen(r.body);
	expect(&r, 503, "database_unavailable");
	r.body = "[1]";
	r.bodysz = strlen(r.body);
	expect(&r, 422, "invalid_type");

	/* 10,000 levels deep: the tokenizer stops at MAX_JSON_DEPTH. */
	deep = malloc(20001);
	assert_non_null(deep);
	for (i = 0; i < 10000; i++) {
		deep[i] = '[';
		deep[20000 - 1 - i] = ']';
	}
	deep[20000] = '\0';
	r.body = deep;
	r.bodysz = 20000;
	expect(&r, 400, "invalid_json");
	free(deep);
}

static void
signup(const char *body, int status, const char *code)
{
	struct http_req	 r = rq_body("POST", "/v1/signups",
			    "Bearer " FX_API_KEY, body);

	expect(&r, status, code);
}

static void
test_signup_validators(void **state)
{
	char	 big[600];

	(void)state;
	signup("{}", 422, "missing_field");
	signup("{\"user_id\":null}", 422, "missing_field");
	signup("{\"user_id\":0}", 422, "invalid_user_id");
	signup("{\"user_id\":-3}", 422, "invalid_user_id");
	signup("{\"user_id\":1.5}", 422, "invalid_user_id");
	signup("{\"user_id\":true}", 422, "invalid_user_id");
	signup("{\"user_id\":\"12a\"}", 422, "invalid_user_id");
	signup("{\"user_id\":\"012\"}", 422, "invalid_user_id");
	signup("{\"user_id\":9223372036854775808}", 422, "invalid_user_id");
	signup("{\"user_id\":18446744073709551616}", 422, "invalid_user_id");
	signup("{\"user_id\":9223372036854775807}", 503,
	    "database_unavailable");
	signup("{\"user_id\":\"77\"}", 503, "database_unavailable");

	signup("{\"user_id\":1,\"code\":5}", 422, "invalid_type");
	signup("{\"user_id\":1,\"code\":\"AB!CD\"}", 422, "invalid_code");
	signup("{\"user_id\":1,\"code\":\"ABCDEFG\"}", 422, "invalid_code");
	signup("{\"user_id\":1,\"code\":\"' OR 1=1 --\"}", 422,
	    "invalid_code");
	signup("{\"user_id\":1,\"code\":\"abcd-efgh\"}", 503,
	    "database_unavailable");
	signup("{\"user_id\":1,\"code\":\"\"}", 503, "database_unavailable");

	signup("{\"user_id\":1,\"email\":\"nobody\"}", 422, "invalid_email");
	signup("{\"user_id\":1,\"email\":\"a@\"}", 422, "invalid_email");
	signup("{\"user_id\":1,\"email\":\"@b.c\"}", 422, "invalid_email");
	signup("{\"user_id\":1,\"email\":[]}", 422, "invalid_type");
	signup("{\"user_id\":1,\"ip\":\"1.2.3\"}", 422, "invalid_ip");
	signup("{\"user_id\":1,\"ip\":\"1.2.3.4; DROP TABLE x\"}", 422,
	    "invalid_ip");
	signup("{\"user_id\":1,\"ip\":\"::ffff:10.0.0.1\"}", 503,
	    "database_unavailable");

	/* NUL inside a string, and bytes that are not UTF-8. */
	signup("{\"user_id\":1,\"device_fingerprint\":\"a\\u0000b\"}", 422,
	    "invalid_utf8");
	signup("{\"user_id\":1,\"device_fingerprint\":\"\xc3\x28\"}", 422,
	    "invalid_utf8");
	/* json-c turns a lone surrogate escape into U+FFFD. */
	signup("{\"user_id\":1,\"device_fingerprint\":\"\\ud800\"}", 503,
	    "database_unavailable");
	signup("{\"user_id\":1,\"device_fingerprint\":\"it's\"}", 503,
	    "database_unavailable");
	signup("{\"user_id\":1,\"device_fingerprint\":\"caf\xc3\xa9\"}",
	    503, "database_unavailable");

	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"user_id\":1,\"device_fingerprint\":\"", 35);
	memcpy(big + 35 + 256, "\"}", 3);
	signup(big, 422, "field_too_long");
	memcpy(big + 35 + 255, "\"}", 3);
	signup(big, 503, "database_unavailable");
}

/* An event signed with the fixture's secret at FX_TS. */
static void
event(const char *id, const char *body, int status, const char *code)
{
	struct http_req	 r = rq_body("POST", "/v1/events", NULL, body);
	char		 sig[SIG_LEN + 1];

	fx_sign(id, FX_TS, body, sig);
	r.wh_id = id;
	r.wh_ts = FX_TS_S;
	r.wh_sig = sig;
	expect(&r, status, code);
}

/*
 * An event body: the default fields with "key" set to the raw JSON "val"
 * (replaced in place, or added if it is a new key; NULL: none changed).
 * The text is in a static buffer.
 */
static const char *
EV(const char *id, const char *key, const char *val)
{
	static char	 buf[1024];
	const char	*f[][2] = {
		{ "id", NULL }, { "type", "\"order.completed\"" },
		{ "user_id", "5" }, { "order_id", "\"o-1\"" },
		{ "amount", "\"25.00\"" }, { "currency", "\"USD\"" },
		{ "occurred_at", "\"2025-01-31T12:00:00Z\"" },
	};
	char		 idv[128];
	size_t		 i, n = sizeof(f) / sizeof(f[0]), off = 0;
	int		 added = key == NULL;

	snprintf(idv, sizeof(idv), "\"%s\"", id);
	f[0][1] = idv;
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "{");
	for (i = 0; i < n; i++) {
		const char *v = f[i][1];

		if (key != NULL && strcmp(key, f[i][0]) == 0) {
			v = val;
			added = 1;
		}
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%s\"%s\":%s", i ? "," : "", f[i][0], v);
	}
	if (!added)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    ",\"%s\":%s", key, val);
	snprintf(buf + off, sizeof(buf) - off, "}");
	assert_true(off < sizeof(buf) - 1);
	return buf;
}

/*
 * Rotation: with a second webhook_secret, a signature made with either
 * passes the check (the body then fails validation: 422), one made with
 * any other key is refused.
 */
static void
test_events_rotation(void **state)
{
	static const char	 body[] = "{\"test\": 1}";
	struct sig_key		 other;
	struct http_req		 r;
	char			 sig[SIG_LEN + 1];

	(void)state;
	assert_int_equal(sig_key_parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAA",
	    &fx_app.whkey_more[0]), 0);
	assert_int_equal(sig_key_parse("whsec_BBBBBBBBBBBBBBBBBBBBBBBB",
	    &other), 0);
	r = rq_body("POST", "/v1/events", NULL, body);
	r.wh_id = "evt_rot";
	r.wh_ts = FX_TS_S;
	r.wh_sig = sig;
	assert_int_equal(sig_sign(&fx_app.whkey_more[0], r.wh_id, FX_TS, body,
	    strlen(body), sig), 0);
	fx_app.nwhkey_more = 0;
	expect(&r, 401, "invalid_signature");
	fx_app.nwhkey_more = 1;
	expect(&r, 422, "missing_field");
	assert_int_equal(sig_sign(&fx_app.whkey, r.wh_id, FX_TS, body,
	    strlen(body), sig), 0);
	expect(&r, 422, "missing_field");
	assert_int_equal(sig_sign(&other, r.wh_id, FX_TS, body, strlen(body),
	    sig), 0);
	expect(&r, 401, "invalid_signature");
	fx_app.nwhkey_more = 0;
}

static void
test_events(void **state)
{
	struct http_req	 r;

	(void)state;
	/* The published Standard Webhooks vector gets past the check. */
	r = rq_body("POST", "/v1/events", NULL, "{\"test\": 2432232314}");
	r.wh_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
	r.wh_ts = FX_TS_S;
	r.wh_sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	expect(&r, 422, "missing_field");
	r.wh_sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
	expect(&r, 401, "invalid_signature");
	r.wh_sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	r.wh_ts = "1614264000";
	expect(&r, 401, "stale_timestamp");
	r.wh_ts = "1614266000";
	expect(&r, 401, "stale_timestamp");
	r.wh_ts = "16142653x0";
	expect(&r, 401, "invalid_signature");
	r.wh_ts = FX_TS_S;
	r.wh_id = NULL;
	expect(&r, 401, "invalid_signature");
	r.wh_id = "msg with space";
	expect(&r, 401, "invalid_signature");
	/* The media type is checked before the signature. */
	r.content_type = "text/plain";
	expect(&r, 415, "unsupported_media_type");

	event("ev-1", EV("ev-1", NULL, NULL), 503, "database_unavailable");
	event("ev-2", EV("ev-1", NULL, NULL), 422, "event_id_mismatch");
	event("ev-3", EV("ev-3", "payment_fingerprint", "\"pf\""), 503,
	    "database_unavailable");
	event("ev-4", "{\"id\":\"ev-4\"}", 422, "missing_field");
	event("ev-5", EV("ev-5", "amount", "25"), 422, "invalid_amount");
	event("ev-6", EV("ev-6", "amount", "\"25.001\""), 422,
	    "invalid_amount");
	event("ev-7", EV("ev-7", "amount", "\"-1.00\""), 422,
	    "invalid_amount");
	event("ev-8", EV("ev-8", "currency", "\"usd\""), 422,
	    "invalid_currency");
	event("ev-9", EV("ev-9", "occurred_at", "\"yesterday\""), 422,
	    "invalid_time");
	event("ev-10", EV("ev-10", "user_id", "\"x\""), 422,
	    "invalid_user_id");
	event("ev-11", EV("ev-11", "type", "\"order completed\""), 422,
	    "invalid_field");
	event("ev-12", EV("ev-12", "order_id", "\"a\\u0000\""), 422,
	    "invalid_utf8");
	event("ev-13", EV("ev-13", "order_id", "\"\""), 422,
	    "missing_field");
	/* Signed, but two amounts: the signer may have meant the first. */
	event("ev-14", "{\"id\":\"ev-14\",\"type\":\"order.completed\","
	    "\"user_id\":5,\"order_id\":\"o-1\",\"amount\":\"1.00\","
	    "\"currency\":\"USD\",\"occurred_at\":\"2025-01-31T12:00:00Z\","
	    "\"amount\":\"999.00\"}", 400, "duplicate_key");
	event("ev-15", "{\"id\":\"ev-15\",\"id\":\"ev-15\"}", 400,
	    "duplicate_key");
}

/*
 * A key twice in one object is refused on every JSON body, wherever the
 * object is; the same key in two objects is not a repeat.
 */
static void
test_duplicate_keys(void **state)
{
	static const char *const dup[] = {
		"{\"user_id\":1,\"user_id\":2}",
		"{\"user_id\":1,\"email\":\"a@b.c\",\"user_id\":1}",
		"{\"user_id\":1,\"us\\u0065r_id\":2}",
		"{\"user_id\":1,\"x\":{\"a\":1,\"a\":2}}",
		"{\"user_id\":1,\"x\":[{\"a\":1},{\"b\":1,\"b\":[]}]}",
		"{\"x\":{\"a\":{\"q\":1}},\"user_id\":1,\"x\":2}",
		"{\"x\":2,\"user_id\":1,\"x\":{\"a\":{\"q\":1}}}",
		"{\"x\":{\"a\":{\"q\":1,\"q\":1}},\"user_id\":1,\"x\":2}",
		"{\"a\\u0000b\":1,\"a\":2,\"user_id\":1}",
		"{\"user_id\":1,\"\":1,\"\":2}",
		"[[[[[[[[[[{\"k\":1,\"k\":1}]]]]]]]]]]",
	};
	static const char *const fine[] = {
		"{\"user_id\":1,\"x\":{\"user_id\":2}}",
		"{\"user_id\":1,\"x\":[{\"a\":1},{\"a\":2}]}",
		"{\"user_id\":1,\"x\":\"a\\\":1,\\\"a\"}",
		"{\"user_id\":1,\"k:\":\"v:{\",\"x\":{},\"y\":[]}",
		"{\"user_id\":1,\"A\":1,\"a\":1}",
		"{\"user_id\":1,\"a\\\\\":1,\"a\":1}",
		"{\"user_id\":1,\"x\":{\"a\":{\"b\":1},\"b\":{\"a\":1}}}",
	};
	struct http_req	 r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
		print_message("refused: %s\n", dup[i]);
		signup(dup[i], 400, "duplicate_key");
	}
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		print_message("taken: %s\n", fine[i]);
		signup(fine[i], 503, "database_unavailable");
	}
	r = rq_body("POST", "/v1/referrals/9/void", "Bearer " FX_ADMIN_KEY,
	    "{\"reason\":\"fraud\",\"reason\":\"\"}");
	expect(&r, 400, "duplicate_key");
	r.body = "{\"reason\":\"fraud\"}";
	r.bodysz = strlen(r.body);
	expect(&r, 503, "database_unavailable");
}

static void
test_landing(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;
	struct code_row		 row;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.user_id = 7;
	snprintf(row.code, sizeof(row.code), "AB12CD34");
	code_cache_put(&fx_app, &row, "AB12CD34", 1);
	code_cache_put(&fx_app, &row, "ZZZZZZZZ", 0);
	row.expires_at = FX_TS - 1;
	code_cache_put(&fx_app, &row, "EXP00000", 1);
	row.expires_at = 0;
	row.disabled_at = FX_TS - 10;
	code_cache_put(&fx_app, &row, "DIS00000", 1);

	r = rq("GET", "/r/ab12-cd34?utm=x");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_int_equal(rs.route, ROUTE_LANDING);
	assert_string_equal(rs.location,
	    "https://shop.example/welcome?ref=AB12CD34");
	assert_string_equal(rs.cookie, "ref=AB12CD34; Max-Age=2592000; "
	    "Path=/; HttpOnly; Secure; SameSite=Lax");
	http_resp_free(&rs);
	assert_int_equal(fx_app.nclicks, 1);

	r = rq("HEAD", "/r/AB12CD34");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_non_null(rs.cookie);
	http_resp_free(&rs);

	/* Unknown, expired, disabled, malformed: bare redirect. */
	r.uri = "/r/ZZZZZZZZ";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_string_equal(rs.location, "https://shop.example/welcome");
	assert_null(rs.cookie);
	http_resp_free(&rs);
	r.uri = "/r/EXP00000";
	http_serve(&fx_app, &r, &rs);
	assert_null(rs.cookie);
	http_resp_free(&rs);
	r.uri = "/r/DIS00000";
	http_serve(&fx_app, &r, &rs);
	assert_null(rs.cookie);
	http_resp_free(&rs);
	r.uri = "/r/%0d%0aSet-Cookie:x";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_null(rs.cookie);
	assert_string_equal(rs.location, "https://shop.example/welcome");
	http_resp_free(&rs);
	r.uri = "/r/";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_null(rs.cookie);
	http_resp_free(&rs);

	/* The query separator and a fragment in landing_url. */
	snprintf(fx_conf.landing_url, sizeof(fx_conf.landing_url),
	    "https://shop.example/w?a=1#top");
	fx_conf.cookie_name[0] = 'r';
	fx_conf.attribution_window_days = 7;
	r.uri = "/r/AB12CD34";
	http_serve(&fx_app, &r, &rs);
	assert_string_equal(rs.location,
	    "https://shop.example/w?a=1&ref=AB12CD34#top");
	assert_string_equal(rs.cookie, "ref=AB12CD34; Max-Age=604800; "
	    "Path=/; HttpOnly; Secure; SameSite=Lax");
	http_resp_free(&rs);

	/* A stale entry goes back to the database, which is away: a
	 * well-formed code keeps its cookie, the signup checks it. */
	fx_ms += 6000;
	snprintf(fx_conf.landing_url, sizeof(fx_conf.landing_url),
	    "https://shop.example/welcome");
	fx_conf.attribution_window_days = 30;
	r.uri = "/r/ZZZZZZZZ";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 302);
	assert_non_null(rs.cookie);
	http_resp_free(&rs);

	/* The clicks of AB12CD34 wait for the database. */
	assert_int_equal(clicks_due_ms(&fx_app), 0);
	assert_int_equal(clicks_flush(&fx_app), -1);
	assert_int_equal(fx_app.nclicks, 1);
	assert_int_equal(clicks_due_ms(&fx_app), 1000);
}

/* The clicks buffered for "code", all days. */
static uint32_t
clicks_of(const char *code)
{
	uint64_t	 k = code_key(code);
	uint32_t	 n = 0;
	size_t		 i;

	for (i = 0; i < CLICK_BUF_SLOTS; i++)
		if (fx_app.clicks[i].key == k)
			n += fx_app.clicks[i].n;
	return n;
}

/* Serves a landing; returns its status, *cookie whether it set one. */
static int
land(const char *method, const char *uri, int *cookie)
{
	struct http_req		 r = rq(method, uri);
	struct http_resp	 rs;
	int			 st;

	http_serve(&fx_app, &r, &rs);
	st = rs.status;
	*cookie = rs.cookie != NULL;
	http_resp_free(&rs);
	return st;
}

/* A well-formed code that no one minted: "Q" then 7 of base 36 of n. */
static void
random_code(uint64_t n, char out[CODE_LEN + 1])
{
	size_t	 i;

	out[0] = 'Q';
	for (i = CODE_LEN - 1; i > 0; i--) {
		out[i] = CODE_ALPHABET[n % 36];
		n /= 36;
	}
	out[CODE_LEN] = '\0';
}

/*
 * SPEC 4: HEAD lands like GET but counts no click.  Unknown codes live
 * apart from known ones: a flood of them displaces none, a repeated one
 * costs no database read for code_cache_seconds, and the database reads
 * for codes neither table answers are metered.
 */
static void
test_landing_flood(void **state)
{
	static const char *const known[] = {
		"KN0WN001", "KN0WN002", "KN0WN003", "KN0WN004",
	};
	struct code_row		 row;
	const struct code_entry	*e;
	enum db_rc		 rc;
	char			 code[CODE_LEN + 1], uri[64];
	uint64_t		 reads, shed;
	size_t			 i;
	int			 cookie;

	(void)state;
	memset(&row, 0, sizeof(row));
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		code_cache_put(&fx_app, &row, known[i], 1);

	/* HEAD: a redirect with the cookie, and no click. */
	assert_int_equal(clicks_of("KN0WN001"), 0);
	assert_int_equal(land("HEAD", "/r/KN0WN001", &cookie), 302);
	assert_true(cookie);
	assert_int_equal(clicks_of("KN0WN001"), 0);
	assert_int_equal(land("GET", "/r/KN0WN001", &cookie), 302);
	assert_true(cookie);
	assert_int_equal(clicks_of("KN0WN001"), 1);
	assert_int_equal(land("HEAD", "/r/kn0wn001", &cookie), 302);
	assert_int_equal(clicks_of("KN0WN001"), 1);

	/* 200,000 unknown answers, 24 times the negative table: every
	 * known code is still answered from the cache. */
	for (i = 0; i < 200000; i++) {
		random_code(i * 7919, code);
		code_cache_put(&fx_app, &row, code, 0);
	}
	reads = fx_app.code_reads;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		e = code_cache_get(&fx_app, known[i], &rc);
		assert_non_null(e);
		assert_int_not_equal(e->until, 0);
	}
	/* The newest unknown codes are answered without the database. */
	for (i = 200000 - 100; i < 200000; i++) {
		random_code(i * 7919, code);
		e = code_cache_get(&fx_app, code, &rc);
		assert_non_null(e);
		assert_int_equal(e->until, 0);
		snprintf(uri, sizeof(uri), "/r/%s", code);
		assert_int_equal(land("GET", uri, &cookie), 302);
		assert_false(cookie);
	}
	assert_int_equal(fx_app.code_reads, reads);

	/* A code that comes to exist leaves the unknown codes. */
	random_code((200000 - 1) * 7919, code);
	code_cache_put(&fx_app, &row, code, 1);
	e = code_cache_get(&fx_app, code, &rc);
	assert_int_not_equal(e->until, 0);
	code_cache_put(&fx_app, &row, "KN0WN004", 0);	/* deleted */
	e = code_cache_get(&fx_app, "KN0WN004", &rc);
	assert_int_equal(e->until, 0);
	assert_int_equal(fx_app.code_reads, reads);

	/* Codes neither table knows: the database (away here) is asked
	 * CODE_MISS_BURST times at once, then CODE_MISS_RATE a second; the
	 * rest are answered as in an outage (cookie, no click). */
	fx_ms += 10000;		/* a whole budget */
	shed = fx_app.code_shed;
	for (i = 0; i < 3 * CODE_MISS_BURST; i++) {
		random_code(1000000000 + i, code);
		snprintf(uri, sizeof(uri), "/r/%s", code);
		assert_int_equal(land("GET", uri, &cookie), 302);
		assert_true(cookie);
		assert_int_equal(clicks_of(code), 0);
	}
	assert_int_equal(fx_app.code_reads - reads, CODE_MISS_BURST);
	assert_int_equal(fx_app.code_shed - shed, 2 * CODE_MISS_BURST);
	fx_ms += 1000;
	for (i = 0; i < 3 * CODE_MISS_RATE; i++) {
		random_code(2000000000 + i, code);
		(void)code_cache_get(&fx_app, code, &rc);
	}
	assert_int_equal(fx_app.code_reads - reads,
	    CODE_MISS_BURST + CODE_MISS_RATE);
	/* A known code read too long ago, over the budget: its entry
	 * answers (cookie and click). */
	assert_int_equal(land("GET", "/r/KN0WN002", &cookie), 302);
	assert_true(cookie);
	assert_int_equal(clicks_of("KN0WN002"), 1);

	/* Unknown answers last code_cache_seconds, then are asked again. */
	fx_ms += 10000;
	reads = fx_app.code_reads;
	random_code(199999 * 7919 - 7919, code);
	(void)code_cache_get(&fx_app, code, &rc);
	assert_int_equal(fx_app.code_reads, reads + 1);
}

/*
 * The click flusher thread: with the database away its write fails and
 * every count goes back into the buffer, none lost or doubled; stopping
 * it leaves them for the worker's last flush.
 */
static void
test_click_flusher(void **state)
{
	size_t		 i;
	uint64_t	 sum = 0;
	int64_t		 t0;

	(void)state;
	/* An empty buffer to begin with (earlier tests left clicks). */
	memset(fx_app.clicks, 0, CLICK_BUF_SLOTS * sizeof(*fx_app.clicks));
	fx_app.nclicks = 0;
	fx_conf.click_flush_ms = 20;
	fx_app.clicks_flushed_ms = t0 = fx_ms;
	assert_int_equal(clicks_flusher_start(&fx_app), 0);
	assert_int_equal(fx_app.flusher_on, 1);
	for (i = 0; i < 5; i++)
		click_count(&fx_app, "AB12CD34");
	click_count(&fx_app, "CD34AB12");
	/* The worker never flushes while the flusher runs. */
	assert_int_equal(clicks_due_ms(&fx_app), -1);
	pthread_mutex_lock(&fx_app.clicks_mu);
	fx_ms += 1000;
	pthread_mutex_unlock(&fx_app.clicks_mu);
	for (i = 0; i < 200 && fx_app.clicks_flushed_ms == t0; i++)
		usleep(10000);
	clicks_flusher_stop(&fx_app);
	assert_int_equal(fx_app.flusher_on, 0);
	assert_true(fx_app.clicks_flushed_ms > t0);	/* it tried */
	assert_int_equal(fx_app.nclicks, 2);
	for (i = 0; i < CLICK_BUF_SLOTS; i++)
		sum += fx_app.clicks[i].n;
	assert_int_equal(sum, 6);
	/* Stopped: the worker's own flush takes over, a period after the
	 * flusher's try (and fails here). */
	assert_int_equal(clicks_due_ms(&fx_app), 20);
	assert_int_equal(clicks_flush(&fx_app), -1);
	assert_int_equal(fx_app.nclicks, 2);
	fx_conf.click_flush_ms = 1000;
}

static void
test_request_id(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;
	char			 head[MAX_HEADERS];
	size_t			 len;
	int			 n;

	(void)state;
	r = rq("GET", "/nope");
	r.request_id = "abc-DEF_1.2";
	http_serve(&fx_app, &r, &rs);
	assert_string_equal(rs.request_id, "abc-DEF_1.2");
	http_resp_free(&rs);

	r.request_id = "abc\r\nSet-Cookie: x=1";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(strlen(rs.request_id), RID_GEN_LEN);
	assert_null(strchr(rs.request_id, '\r'));
	http_resp_free(&rs);
	r.request_id = "a b";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(strlen(rs.request_id), RID_GEN_LEN);
	http_resp_free(&rs);
	r.request_id = "";
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(strlen(rs.request_id), RID_GEN_LEN);
	http_resp_free(&rs);

	r = rq("DELETE", "/v1/users/3/code");
	r.request_id = "rid-1";
	http_serve(&fx_app, &r, &rs);
	http_body(&rs, &len);
	n = http_head(&rs, head, sizeof(head), len);
	assert_true(n > 0);
	assert_non_null(strstr(head, "Status: 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(head, "\r\nAllow: GET, HEAD, POST\r\n"));
	assert_non_null(strstr(head, "\r\nX-Request-Id: rid-1\r\n"));
	assert_non_null(strstr(head, "Content-Type: application/json\r\n"));
	assert_int_equal(strcmp(head + n - 4, "\r\n\r\n"), 0);
	http_resp_free(&rs);
}

static void
test_error_body(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;
	const char		*body;
	size_t			 len;

	(void)state;
	r = rq("GET", "/nope");
	http_serve(&fx_app, &r, &rs);
	body = http_body(&rs, &len);
	assert_string_equal(body, "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no such resource\"}}");
	assert_int_equal(len, strlen(body));
	http_resp_free(&rs);
}

static void
test_health_metrics(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;
	struct metrics		*m;
	char			 err[128];

	(void)state;
	r = rq("GET", "/healthz");
	expect(&r, 503, "database_unavailable");

	m = metrics_open("", err, sizeof(err));
	assert_non_null(m);
	fx_app.metrics = m;
	metrics_request(m, ROUTE_LANDING, 302, 700);
	metrics_request(m, ROUTE_LANDING, 302, 20);
	metrics_request(m, ROUTE_NONE, 404, 20);
	r = rq("GET", "/metrics");
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(rs.text);
	assert_non_null(strstr(rs.text, "referd_database_up 0\n"));
	assert_null(strstr(rs.text, "referd_outbox_backlog"));
	assert_non_null(strstr(rs.text, "referd_http_requests_total{route="
	    "\"landing\",status=\"302\"} 2\n"));
	assert_non_null(strstr(rs.text, "referd_http_requests_total{route="
	    "\"none\",status=\"404\"} 1\n"));
	assert_non_null(strstr(rs.text, "referd_http_request_duration_"
	    "seconds_bucket{route=\"landing\",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(rs.text, "referd_http_request_duration_"
	    "seconds_bucket{route=\"landing\",le=\"0.001\"} 2\n"));
	assert_non_null(strstr(rs.text, "referd_http_request_duration_"
	    "seconds_count{route=\"landing\"} 2\n"));
	assert_string_equal(rs.content_type,
	    "text/plain; version=0.0.4; charset=utf-8");
	http_resp_free(&rs);
	fx_app.metrics = NULL;
	metrics_close(m);
}

static void
test_parsers(void **state)
{
	size_t	 n;

	(void)state;
	assert_int_equal(content_length_parse(NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(content_length_parse("", &n), 0);
	assert_int_equal(content_length_parse("0", &n), 0);
	assert_int_equal(content_length_parse("65536", &n), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(content_length_parse("-1", &n), -1);
	assert_int_equal(content_length_parse("+1", &n), -1);
	assert_int_equal(content_length_parse(" 1", &n), -1);
	assert_int_equal(content_length_parse("1 ", &n), -1);
	assert_int_equal(content_length_parse("0x10", &n), -1);
	assert_int_equal(content_length_parse("1,2", &n), -1);
	assert_int_equal(content_length_parse("99999999999999999999", &n),
	    -1);

	assert_true(json_media_type("application/json"));
	assert_true(json_media_type("application/json;charset=utf-8"));
	assert_true(json_media_type("application/json; charset=\"UTF-8\""));
	assert_false(json_media_type("application/json; charset=latin1"));
	assert_false(json_media_type("application/json-seq"));
	assert_false(json_media_type("text/json"));
	assert_false(json_media_type(NULL));

	assert_true(time_rfc3339_valid("2025-01-31T12:00:00Z"));
	assert_true(time_rfc3339_valid("2025-01-31t12:00:00.5+01:00"));
	assert_true(time_rfc3339_valid("2025-12-31T23:59:60-12:30"));
	assert_false(time_rfc3339_valid("2025-01-31 12:00:00Z"));
	assert_false(time_rfc3339_valid("2025-13-01T12:00:00Z"));
	assert_false(time_rfc3339_valid("2025-01-31T12:00:00"));
	assert_false(time_rfc3339_valid("2025-01-31T12:00:00.Z"));
	assert_false(time_rfc3339_valid("2025-01-31T12:00:00Zx"));
	assert_false(time_rfc3339_valid(""));

	assert_true(cookie_name_valid("ref"));
	assert_false(cookie_name_valid("re f"));
	assert_false(cookie_name_valid("a=b"));
	assert_false(cookie_name_valid(""));
	assert_true(header_value_safe("https://a.example/x?y=1"));
	assert_false(header_value_safe("https://a.example/\r\nX: y"));
	assert_false(header_value_safe("https://a.example/ x"));

	assert_int_equal(method_parse("GET"), METHOD_GET);
	assert_int_equal(method_parse("HEAD"), METHOD_HEAD);
	assert_int_equal(method_parse("POST"), METHOD_POST);
	assert_int_equal(method_parse("PATCH"), METHOD_OTHER);
	assert_int_equal(method_parse(NULL), METHOD_OTHER);
	assert_string_equal(route_name(ROUTE_NONE), "none");
	assert_string_equal(route_name(ROUTE_EVENT), "event");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_signup_validators),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_events_rotation),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_landing),
		cmocka_unit_test(test_landing_flood),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_error_body),
		cmocka_unit_test(test_click_flusher),
		cmocka_unit_test(test_health_metrics),
		cmocka_unit_test(test_parsers),
	};

	return cmocka_run_group_tests(tests, fx_app_setup, fx_app_teardown);
}
