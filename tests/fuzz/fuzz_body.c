/*
 * libFuzzer target: the request path of referd-fcgi without a socket,
 * http_serve() on the validators of every endpoint.  The app is set up
 * once as tests/test_fcgi_http.c does it: the database is a unix socket
 * that does not exist, so whatever passes validation answers 503.
 *
 *	byte 0		bits 0-2 pick the request (modulo R__MAX):
 *			  R_SIGNUP  POST /v1/signups, the rest the body
 *			  R_EVENT   POST /v1/events, the rest the body; with
 *			            F_SIGN signed with the test secret (so
 *			            the validators are reached), else the
 *			            rest (as a C string) is the signature
 *			  R_MINT    POST /v1/users/{rest}/code
 *			  R_VOID    POST /v1/referrals/9/void (admin key)
 *			  R_LANDING GET /r/{rest}
 *			  R_PATH    the rest up to '\n' is the URI, after
 *			            it the body (F_POST: POST, else GET)
 *	bytes 1..	as above
 *
 * Invariants: the status is one the API documents (500 only comes from
 * out of memory, so it is a failure here); a JSON answer is one valid
 * JSON value (the bodiless, untyped 302 aside) and an error carries error.code;
 * no header value holds a control character; the header block fits; a
 * 302 comes only from the landing page and goes to landing_url.  LeakSanitizer checks that
 * http_resp_free() releases everything.
 */
#include "config.h"

#include "fcgi.h"
#include "fuzz.h"

#define API_KEY		"rk_test_0123456789abcdef"
#define ADMIN_KEY	"rk_admin_0123456789abcdef"
#define SECRET		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define LANDING		"https://shop.example/welcome"
#define EVENT_ID	"ev-1"
#define TS		1614265330LL
#define TS_S		"1614265330"

enum req {
	R_SIGNUP,
	R_EVENT,
	R_MINT,
	R_VOID,
	R_LANDING,
	R_PATH,
	R__MAX
};

#define F_SIGN		0x08
#define F_POST		0x10

static const int statuses[] = {
	200, 201, 302, 400, 401, 403, 404, 405, 409, 411, 413, 414, 415, 422,
	431, 503
};

static struct conf	 conf;
static struct app	 app;

static int64_t
fake_now(void)
{
	return TS;
}

static int64_t
fake_mono(void)
{
	return 1000000;
}

static void
setup(void)
{
	static struct db	*db;
	struct code_row		 row;

	conf_defaults(&conf);
	snprintf(conf.api_key, sizeof(conf.api_key), "%s", API_KEY);
	snprintf(conf.admin_api_key, sizeof(conf.admin_api_key), "%s",
	    ADMIN_KEY);
	snprintf(conf.webhook_secret, sizeof(conf.webhook_secret), "%s",
	    SECRET);
	snprintf(conf.db_socket, sizeof(conf.db_socket),
	    "/nonexistent/referd-fuzz.sock");
	snprintf(conf.landing_url, sizeof(conf.landing_url), "%s", LANDING);
	snprintf(conf.base_url, sizeof(conf.base_url), "https://r.example/");
	conf.code_cache_seconds = 5;
	conf.click_flush_ms = 1000;
	if ((db = db_new(&conf, 0)) == NULL ||
	    app_init(&app, &conf, db, NULL, NULL, 0) == -1)
		abort();
	app.now = fake_now;
	app.mono_ms = fake_mono;
	app.clicks_flushed_ms = fake_mono();
	/* One known code, so that the landing page sets its cookie. */
	memset(&row, 0, sizeof(row));
	row.user_id = 7;
	snprintf(row.code, sizeof(row.code), "AB12CD34");
	code_cache_put(&app, &row, "AB12CD34", 1);
}

/* Header values: no control character (CR, LF above all), no DEL. */
static int
header_ok(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
check(struct http_resp *rs, enum route want)
{
	json_tokener	*tok;
	json_object	*o, *e, *c;
	const char	*body;
	char		 head[MAX_HEADERS];
	size_t		 i, len;
	int		 known = 0;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (rs->status == statuses[i])
			known = 1;
	if (!known)
		fprintf(stderr, "status %d\n", rs->status);
	FUZZ_CHECK(known);
	FUZZ_CHECK(header_ok(rs->location));
	FUZZ_CHECK(header_ok(rs->cookie));
	FUZZ_CHECK(header_ok(rs->allow));
	FUZZ_CHECK(header_ok(rs->content_type));
	FUZZ_CHECK(header_ok(rs->request_id));
	FUZZ_CHECK(rs->request_id[0] != '\0');
	if (rs->status == 302) {
		FUZZ_CHECK(rs->route == ROUTE_LANDING);
		FUZZ_CHECK(rs->location != NULL);
		FUZZ_CHECK(strncmp(rs->location, LANDING,
		    strlen(LANDING)) == 0);
	} else
		FUZZ_CHECK(rs->location == NULL && rs->cookie == NULL);
	if (want != ROUTE_NONE && rs->status != 404 && rs->status != 405)
		FUZZ_CHECK(rs->route == want);

	body = http_body(rs, &len);
	FUZZ_CHECK(http_head(rs, head, sizeof(head), len) > 0);
	/* The redirect alone has no body, and so no type. */
	if (rs->status == 302) {
		FUZZ_CHECK(rs->json == NULL && len == 0);
		FUZZ_CHECK(strstr(head, "Content-Type:") == NULL);
		return;
	}
	if (rs->content_type != NULL)
		return;
	FUZZ_CHECK(rs->json != NULL);
	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, body, (int)len);
	FUZZ_CHECK(o != NULL &&
	    json_tokener_get_error(tok) == json_tokener_success);
	FUZZ_CHECK(json_tokener_get_parse_end(tok) == len);
	if (rs->status >= 400) {
		FUZZ_CHECK(json_object_object_get_ex(o, "error", &e));
		FUZZ_CHECK(json_object_object_get_ex(e, "code", &c));
		FUZZ_CHECK(json_object_is_type(c, json_type_string));
	}
	json_object_put(o);
	json_tokener_free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req		 rq;
	struct http_resp	 rs;
	char			 sig[SIG_LEN + 1], *rest, *uri = NULL;
	const uint8_t		*nl;
	enum route		 want = ROUTE_NONE;
	uint8_t			 flags;

	if (app.conf == NULL)
		setup();
	if (size == 0)
		return 0;
	flags = data[0];
	data++;
	size--;
	rest = fuzz_cstr(data, size);

	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.content_type = "application/json";
	rq.body_state = BODY_OK;
	rq.body = rest;
	rq.bodysz = size;
	switch ((flags & 7) % R__MAX) {
	case R_SIGNUP:
		rq.uri = "/v1/signups";
		rq.authorization = "Bearer " API_KEY;
		want = ROUTE_SIGNUP;
		break;
	case R_EVENT:
		rq.uri = "/v1/events";
		rq.wh_id = EVENT_ID;
		rq.wh_ts = TS_S;
		if (flags & F_SIGN) {
			if (sig_sign(&app.whkey, EVENT_ID, TS, rest, size,
			    sig) == -1)
				abort();
			rq.wh_sig = sig;
		} else
			rq.wh_sig = rest;
		want = ROUTE_EVENT;
		break;
	case R_MINT:
		if (asprintf(&uri, "/v1/users/%s/code", rest) == -1)
			abort();
		rq.uri = uri;
		rq.authorization = "Bearer " API_KEY;
		rq.body = "";
		rq.bodysz = 0;
		rq.content_type = NULL;
		want = ROUTE_CODE_MINT;
		break;
	case R_VOID:
		rq.uri = "/v1/referrals/9/void";
		rq.authorization = "Bearer " ADMIN_KEY;
		want = ROUTE_VOID;
		break;
	case R_LANDING:
		if (asprintf(&uri, "/r/%s", rest) == -1)
			abort();
		rq.uri = uri;
		rq.method = "GET";
		rq.body = "";
		rq.bodysz = 0;
		rq.content_type = NULL;
		want = ROUTE_LANDING;
		break;
	default:
		rq.method = flags & F_POST ? "POST" : "GET";
		rq.uri = rest;
		rq.authorization = "Bearer " API_KEY;
		if ((nl = memchr(data, '\n', size)) != NULL) {
			rest[nl - data] = '\0';
			rq.body = rest + (nl - data) + 1;
			rq.bodysz = size - (size_t)(nl - data) - 1;
		} else {
			rq.body = "";
			rq.bodysz = 0;
		}
		break;
	}
	http_serve(&app, &rq, &rs);
	check(&rs, want);
	http_resp_free(&rs);
	free(uri);
	free(rest);
	return 0;
}
