/*
 * The handlers' answers when the data layer answers: referd-fcgi's
 * request path (routing, keys, signatures, validators) in front of fake
 * data operations (struct data_ops) instead of MariaDB.  Each fake checks
 * the typed input it gets and returns what the test queued, so every
 * status and JSON body of SPEC.md section 4 is reached without a database.
 * The outage path (503) is tests/test_fcgi_http.c's.
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

#include "fcgi.h"
#include "fixture.h"

#define CODE_A	"AB12CD34"	/* the referrer's code */
#define CODE_B	"NEWC0DE1"	/* the new user's own code */
#define T_2025	1735689600LL	/* 2025-01-01T00:00:00Z */

/*
 * What the fakes answer: the test fills it, the fake copies it out.  The
 * fakes record what they were called with in the "got_" fields.
 */
static struct {
	enum db_rc		 rc;
	enum db_rc		 rc2;		/* a second call's (void) */
	struct code_row		 code;
	struct signup_out	 so;
	struct event_out	 eo;
	struct stats_row	 st;
	struct referral_row	 ref;
	struct outbox_counts	 oc;
	int			 calls;
	int64_t			 got_id;
	int64_t			 got_now;
	struct signup_in	 got_si;
	struct event_in		 got_ev;
	char			 got_reason[MAX_REASON + 1];
	char			 got_operator[16];
	char			 got_rid[MAX_REQUEST_ID + 1];
	char			 got_client[MAX_CLIENT_ADDR + 1];
	char			 got_credential[MAX_CREDENTIAL + 1];
} fk;

static enum db_rc
fake_code_get(struct db *db, int64_t user, struct code_row *c)
{
	(void)db;
	fk.calls++;
	fk.got_id = user;
	*c = fk.code;
	return fk.rc;
}

static enum db_rc
fake_code_mint(struct db *db, int64_t user, int64_t now, struct code_row *c)
{
	(void)db;
	fk.calls++;
	fk.got_id = user;
	fk.got_now = now;
	*c = fk.code;
	return fk.rc;
}

static enum db_rc
fake_signup(struct db *db, const struct signup_in *si, int64_t now,
    struct signup_out *so)
{
	(void)db;
	fk.calls++;
	fk.got_si = *si;
	fk.got_now = now;
	*so = fk.so;
	return fk.rc;
}

static enum db_rc
fake_event_apply(struct db *db, const struct event_in *ev, int64_t now,
    struct event_out *eo)
{
	(void)db;
	fk.calls++;
	fk.got_ev = *ev;
	fk.got_now = now;
	*eo = fk.eo;
	return fk.rc;
}

static enum db_rc
fake_stats_get(struct db *db, int64_t user, struct stats_row *st)
{
	(void)db;
	fk.calls++;
	fk.got_id = user;
	*st = fk.st;
	return fk.rc;
}

/* Also the read after a void: a second call answers rc2. */
static enum db_rc
fake_referral_get(struct db *db, int64_t id, struct referral_row *r)
{
	(void)db;
	fk.calls++;
	fk.got_id = id;
	*r = fk.ref;
	return fk.calls > 1 ? fk.rc2 : fk.rc;
}

static enum db_rc
fake_referral_void(struct db *db, int64_t id, const char *reason,
    const char *operator, const struct audit_who *who, int64_t now)
{
	(void)db;
	fk.calls++;
	fk.got_id = id;
	fk.got_now = now;
	snprintf(fk.got_reason, sizeof(fk.got_reason), "%s", reason);
	snprintf(fk.got_operator, sizeof(fk.got_operator), "%s", operator);
	snprintf(fk.got_rid, sizeof(fk.got_rid), "%s", who->request_id);
	snprintf(fk.got_client, sizeof(fk.got_client), "%s",
	    who->client != NULL ? who->client : "(null)");
	snprintf(fk.got_credential, sizeof(fk.got_credential), "%s",
	    who->credential != NULL ? who->credential : "(null)");
	return fk.rc;
}

static enum db_rc
fake_ping(struct db *db)
{
	(void)db;
	fk.calls++;
	return fk.rc;
}

static enum db_rc
fake_outbox_counts(struct db *db, int64_t now, struct outbox_counts *oc)
{
	(void)db;
	fk.calls++;
	fk.got_now = now;
	*oc = fk.oc;
	return fk.rc;
}

static const struct data_ops fake_ops = {
	.code_get = fake_code_get,
	.code_mint = fake_code_mint,
	.signup = fake_signup,
	.event_apply = fake_event_apply,
	.stats_get = fake_stats_get,
	.referral_get = fake_referral_get,
	.referral_void = fake_referral_void,
	.ping = fake_ping,
	.outbox_counts = fake_outbox_counts,
};

static int
setup(void **state)
{
	if (fx_app_setup(state) == -1)
		return -1;
	fx_app.ops = &fake_ops;
	return 0;
}

/* Each test starts with fakes that answer DB_OK and empty rows. */
static int
reset(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.rc = fk.rc2 = DB_OK;
	return 0;
}

static struct http_req
rq(const char *method, const char *uri, const char *auth, const char *body)
{
	struct http_req	 r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.uri = uri;
	r.authorization = auth;
	r.body = body != NULL ? body : "";
	r.bodysz = strlen(r.body);
	r.content_type = body != NULL ? "application/json" : NULL;
	r.body_state = BODY_OK;
	return r;
}

/* The header block of the last answer serve() gave. */
static char	 got_head[1024];

/* The value of header "name" (with its ": ") in got_head, or "". */
static const char *
got_hdr(const char *name)
{
	static char	 v[256];
	const char	*p;
	size_t		 n;

	v[0] = '\0';
	if ((p = strstr(got_head, name)) != NULL && p > got_head &&
	    p[-1] == '\n') {
		p += strlen(name);
		n = strcspn(p, "\r");
		snprintf(v, sizeof(v), "%.*s", (int)n, p);
	}
	return v;
}

/*
 * Serves "r" and checks the status and the whole JSON body; "want" NULL
 * skips the body.  The header block is left in got_head.
 */
static void
serve(struct http_req *r, int status, const char *want)
{
	struct http_resp	 rs;
	const char		*body;
	size_t			 len;

	http_serve(&fx_app, r, &rs);
	body = http_body(&rs, &len);
	assert_true(http_head(&rs, got_head, sizeof(got_head), len) > 0);
	if (rs.status != status || (want != NULL && strcmp(body, want) != 0))
		print_error("%s %s: got %d %s\n", r->method, r->uri,
		    rs.status, body);
	assert_int_equal(rs.status, status);
	if (want != NULL)
		assert_string_equal(body, want);
	http_resp_free(&rs);
}

static void
test_code_mint(void **state)
{
	struct http_req	 r;

	(void)state;
	fk.code.user_id = 42;
	snprintf(fk.code.code, sizeof(fk.code.code), CODE_A);
	fk.code.created_at = FX_TS;
	r = rq("POST", "/v1/users/42/code", "Bearer " FX_API_KEY, NULL);
	serve(&r, 201, "{\"user_id\":42,\"code\":\"" CODE_A "\","
	    "\"url\":\"https://r.example/r/" CODE_A "\",\"expires_at\":null}");
	assert_int_equal(fk.got_id, 42);
	assert_int_equal(fk.got_now, FX_TS);
	assert_string_equal(got_hdr("Location: "), "/v1/users/42/code");
	assert_string_equal(got_hdr("Retry-After: "), "");

	/* An existing code: 200 with the first one, and its expiry. */
	fk.rc = DB_DUP;
	fk.code.expires_at = T_2025;
	serve(&r, 200, "{\"user_id\":42,\"code\":\"" CODE_A "\","
	    "\"url\":\"https://r.example/r/" CODE_A "\","
	    "\"expires_at\":\"2025-01-01T00:00:00Z\"}");
	assert_string_equal(got_hdr("Location: "), "");

	fk.rc = DB_ERR;
	serve(&r, 500, NULL);
	assert_string_equal(got_hdr("Retry-After: "), "");
	fk.rc = DB_UNAVAILABLE;
	serve(&r, 503, NULL);
	assert_string_equal(got_hdr("Location: "), "");
	assert_int_equal(atoi(got_hdr("Retry-After: ")), RETRY_AFTER_SECONDS);
	assert_int_equal(fk.calls, 4);
}

static void
test_code_get(void **state)
{
	struct http_req	 r;

	(void)state;
	fk.code.user_id = 42;
	snprintf(fk.code.code, sizeof(fk.code.code), CODE_A);
	r = rq("GET", "/v1/users/42/code", "Bearer " FX_API_KEY, NULL);
	serve(&r, 200, "{\"user_id\":42,\"code\":\"" CODE_A "\","
	    "\"url\":\"https://r.example/r/" CODE_A "\",\"expires_at\":null}");
	fk.rc = DB_NOTFOUND;
	serve(&r, 404, "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"this user has no code\"}}");
}

static void
test_signup_attributed(void **state)
{
	struct http_req	 r;

	(void)state;
	snprintf(fk.so.code, sizeof(fk.so.code), CODE_B);
	fk.so.result = ATTR_ATTRIBUTED;
	fk.so.referral_id = 11;
	fk.so.referrer_id = 42;
	fk.so.status = RS_PENDING;
	r = rq("POST", "/v1/signups", "Bearer " FX_API_KEY,
	    "{\"user_id\":7,\"code\":\"ab12-cd34\","
	    "\"email\":\"Ann@Example.COM\",\"ip\":\"192.0.2.1\","
	    "\"device_fingerprint\":\"dev-1\"}");
	serve(&r, 201, "{\"user_id\":7,\"code\":\"" CODE_B "\","
	    "\"referral\":{\"id\":11,\"referrer_id\":42,"
	    "\"status\":\"pending\",\"review\":\"none\"},"
	    "\"attribution\":{\"result\":\"attributed\"}}");
	assert_string_equal(got_hdr("Location: "), "/v1/referrals/11");
	/* What the data layer got: the code normalised, the domain in
	 * lower case and not on the (empty) list. */
	assert_int_equal(fk.got_si.user_id, 7);
	assert_int_equal(fk.got_si.code_given, 1);
	assert_string_equal(fk.got_si.code, CODE_A);
	assert_string_equal(fk.got_si.email_domain, "example.com");
	assert_int_equal(fk.got_si.disposable, 0);
	assert_string_equal(fk.got_si.ip, "192.0.2.1");
	assert_string_equal(fk.got_si.device, "dev-1");
	assert_int_equal(fk.got_now, FX_TS);

	/* A repeat: the first answer, 200.  Held, with its rule. */
	fk.rc = DB_DUP;
	fk.so.result = ATTR_HELD;
	fk.so.rule = RULE_SAME_IP;
	fk.so.review = RV_HELD;
	serve(&r, 200, "{\"user_id\":7,\"code\":\"" CODE_B "\","
	    "\"referral\":{\"id\":11,\"referrer_id\":42,"
	    "\"status\":\"pending\","
	    "\"review\":\"held\"},\"attribution\":{\"result\":\"held\","
	    "\"reason\":\"same_ip\"}}");
	assert_string_equal(got_hdr("Location: "), "");

	/* No code: no referral; Location names the user's code. */
	memset(&fk.so, 0, sizeof(fk.so));
	snprintf(fk.so.code, sizeof(fk.so.code), CODE_B);
	fk.so.result = ATTR_NONE;
	fk.rc = DB_OK;
	r = rq("POST", "/v1/signups", "Bearer " FX_API_KEY,
	    "{\"user_id\":8}");
	serve(&r, 201, "{\"user_id\":8,\"code\":\"" CODE_B "\","
	    "\"referral\":null,\"attribution\":{\"result\":\"none\"}}");
	assert_string_equal(got_hdr("Location: "), "/v1/users/8/code");
	assert_int_equal(fk.got_si.code_given, 0);
	assert_string_equal(fk.got_si.email_domain, "");
}

/* POSTs a signed order event "id" for user 5. */
static void
event(const char *id, int status, const char *want)
{
	char		 body[512], sig[SIG_LEN + 1];
	struct http_req	 r;

	snprintf(body, sizeof(body), "{\"id\":\"%s\","
	    "\"type\":\"order.completed\",\"user_id\":5,\"order_id\":\"o-1\","
	    "\"amount\":\"25.00\",\"currency\":\"USD\","
	    "\"occurred_at\":\"2025-01-31T12:00:00Z\"}", id);
	fx_sign(id, FX_TS, body, sig);
	r = rq("POST", "/v1/events", NULL, body);
	r.wh_id = id;
	r.wh_ts = FX_TS_S;
	r.wh_sig = sig;
	serve(&r, status, want);
}

static void
test_event_outcomes(void **state)
{
	(void)state;
	fk.eo.outcome = OUT_CONVERTED;
	fk.eo.referral_id = 11;
	event("ev-1", 200, "{\"outcome\":\"converted\",\"referral_id\":11}");
	assert_string_equal(fk.got_ev.id, "ev-1");
	assert_string_equal(fk.got_ev.type, "order.completed");
	assert_int_equal(fk.got_ev.user_id, 5);
	assert_string_equal(fk.got_ev.order_id, "o-1");
	assert_int_equal(fk.got_ev.amount, 2500);
	assert_string_equal(fk.got_ev.currency, "USD");
	assert_int_equal(fk.got_now, FX_TS);

	/* A redelivery: "duplicate", whatever the first outcome was, and no
	 * reason. */
	fk.rc = DB_DUP;
	snprintf(fk.eo.reason, sizeof(fk.eo.reason), "payment_match");
	event("ev-1", 200, "{\"outcome\":\"duplicate\",\"referral_id\":11}");

	/* The same id with another body. */
	fk.rc = DB_CONFLICT;
	event("ev-1", 409, "{\"error\":{\"code\":\"event_id_conflict\","
	    "\"message\":\"this event id was delivered before with another "
	    "body\"}}");

	/* Voided at conversion, with its reason; no referral at all. */
	fk.rc = DB_OK;
	fk.eo.outcome = OUT_VOIDED;
	event("ev-2", 200, "{\"outcome\":\"voided\",\"referral_id\":11,"
	    "\"reason\":\"payment_match\"}");
	memset(&fk.eo, 0, sizeof(fk.eo));
	fk.eo.outcome = OUT_NO_REFERRAL;
	event("ev-3", 200, "{\"outcome\":\"no_referral\"}");

	fk.rc = DB_UNAVAILABLE;
	event("ev-4", 503, NULL);
}

static void
test_stats(void **state)
{
	struct http_req	 r;

	(void)state;
	fk.st.user_id = 42;
	snprintf(fk.st.code, sizeof(fk.st.code), CODE_A);
	fk.st.clicks = 100;
	fk.st.signups = 8;
	fk.st.pending = 3;
	fk.st.converted = 2;
	fk.st.rewarded = 1;
	fk.st.voided = 1;
	fk.st.held = 1;
	snprintf(fk.st.rewards[0].type, sizeof(fk.st.rewards[0].type),
	    "credit");
	snprintf(fk.st.rewards[0].currency,
	    sizeof(fk.st.rewards[0].currency), "USD");
	fk.st.rewards[0].amount = 3000;
	fk.st.rewardsz = 1;
	r = rq("GET", "/v1/referrers/42/stats", "Bearer " FX_API_KEY, NULL);
	serve(&r, 200, "{\"user_id\":42,\"code\":\"" CODE_A "\","
	    "\"clicks\":100,\"signups\":8,\"pending\":3,\"converted\":2,"
	    "\"rewarded\":1,\"voided\":1,\"held\":1,"
	    "\"conversion_rate\":0.3750,"
	    "\"rewards\":[{\"type\":\"credit\",\"currency\":\"USD\","
	    "\"amount\":\"30.00\"}]}");
	assert_int_equal(fk.got_id, 42);

	/* No signups: a rate of zero, not a division by it. */
	memset(&fk.st, 0, sizeof(fk.st));
	fk.st.user_id = 43;
	r = rq("GET", "/v1/referrers/43/stats", "Bearer " FX_API_KEY, NULL);
	serve(&r, 200, "{\"user_id\":43,\"code\":null,\"clicks\":0,"
	    "\"signups\":0,\"pending\":0,\"converted\":0,\"rewarded\":0,"
	    "\"voided\":0,\"held\":0,\"conversion_rate\":0.0000,"
	    "\"rewards\":[]}");

	fk.rc = DB_NOTFOUND;
	serve(&r, 404, NULL);
}

/* A rewarded referral with one delivered reward, voided by the test. */
static void
referral_fill(struct referral_row *r)
{
	struct reward_row	*w = &r->rewards[0];

	memset(r, 0, sizeof(*r));
	r->id = 11;
	r->referrer_id = 42;
	r->referee_id = 7;
	snprintf(r->code, sizeof(r->code), CODE_A);
	r->status = RS_REWARDED;
	snprintf(r->conversion_event, sizeof(r->conversion_event), "ev-1");
	snprintf(r->conversion_order, sizeof(r->conversion_order), "o-1");
	r->created_at = T_2025;
	r->converted_at = T_2025 + 60;
	r->rewarded_at = T_2025 + 60;
	w->id = 21;
	snprintf(w->role, sizeof(w->role), "referrer");
	w->user_id = 42;
	snprintf(w->type, sizeof(w->type), "credit");
	w->amount = 1000;
	snprintf(w->currency, sizeof(w->currency), "USD");
	snprintf(w->status, sizeof(w->status), "issued");
	w->issued_at = T_2025 + 60;
	snprintf(w->delivery, sizeof(w->delivery), "delivered");
	w->attempts = 1;
	r->rewardsz = 1;
}

#define REFERRAL_HEAD \
	"{\"id\":11,\"referrer_id\":42,\"referee_id\":7," \
	"\"code\":\"" CODE_A "\","
#define REFERRAL_REWARDS \
	"\"rewards\":[{\"id\":21,\"role\":\"referrer\",\"user_id\":42," \
	"\"type\":\"credit\",\"amount\":\"10.00\",\"currency\":\"USD\","

static void
test_referral(void **state)
{
	struct http_req	 r;

	(void)state;
	referral_fill(&fk.ref);
	r = rq("GET", "/v1/referrals/11", "Bearer " FX_API_KEY, NULL);
	serve(&r, 200, REFERRAL_HEAD "\"status\":\"rewarded\","
	    "\"review\":\"none\",\"review_rule\":null,"
	    "\"conversion_event\":\"ev-1\",\"conversion_order\":\"o-1\","
	    "\"created_at\":\"2025-01-01T00:00:00Z\","
	    "\"converted_at\":\"2025-01-01T00:01:00Z\","
	    "\"rewarded_at\":\"2025-01-01T00:01:00Z\",\"voided_at\":null,"
	    "\"void_reason\":null," REFERRAL_REWARDS
	    "\"status\":\"issued\",\"issued_at\":\"2025-01-01T00:01:00Z\","
	    "\"delivery\":{\"status\":\"delivered\",\"attempts\":1,"
	    "\"last_error\":null},\"revoked_at\":null,\"revocation\":null}]}");
	assert_int_equal(fk.got_id, 11);
	fk.calls = 0;
	fk.rc = DB_NOTFOUND;
	serve(&r, 404, NULL);
}

static void
test_void(void **state)
{
	struct http_req	 r;

	(void)state;
	referral_fill(&fk.ref);
	fk.ref.status = RS_VOIDED;
	fk.ref.voided_at = FX_TS;
	snprintf(fk.ref.void_reason, sizeof(fk.ref.void_reason), "fraud");
	snprintf(fk.ref.rewards[0].status, sizeof(fk.ref.rewards[0].status),
	    "revoked");
	/* The revocation's delivery is shown beside the grant's. */
	fk.ref.rewards[0].revoked_at = FX_TS;
	snprintf(fk.ref.rewards[0].rv_delivery,
	    sizeof(fk.ref.rewards[0].rv_delivery), "pending");
	r = rq("POST", "/v1/referrals/11/void", "Bearer " FX_ADMIN_KEY,
	    "{\"reason\":\"fraud\"}");
	r.request_id = "req-void-1";
	r.remote_addr = "198.51.100.9";
	serve(&r, 200, REFERRAL_HEAD "\"status\":\"voided\","
	    "\"review\":\"none\",\"review_rule\":null,"
	    "\"conversion_event\":\"ev-1\",\"conversion_order\":\"o-1\","
	    "\"created_at\":\"2025-01-01T00:00:00Z\","
	    "\"converted_at\":\"2025-01-01T00:01:00Z\","
	    "\"rewarded_at\":\"2025-01-01T00:01:00Z\","
	    "\"voided_at\":\"2021-02-25T15:02:10Z\","
	    "\"void_reason\":\"fraud\"," REFERRAL_REWARDS
	    "\"status\":\"revoked\",\"issued_at\":\"2025-01-01T00:01:00Z\","
	    "\"delivery\":{\"status\":\"delivered\",\"attempts\":1,"
	    "\"last_error\":null},\"revoked_at\":\"2021-02-25T15:02:10Z\",\"revocation\":{\"status\":\"pending\",\"attempts\":0,\"last_error\":null}}]}");
	/* The void, then the read of what it left. */
	assert_int_equal(fk.calls, 2);
	assert_int_equal(fk.got_id, 11);
	assert_string_equal(fk.got_reason, "fraud");
	assert_string_equal(fk.got_operator, "api");
	assert_string_equal(fk.got_rid, "req-void-1");
	assert_string_equal(fk.got_client, "198.51.100.9");
	assert_memory_equal(fk.got_credential, "admin_api_key:", 14);
	assert_int_equal(strlen(fk.got_credential), 14 + 8);
	assert_int_equal(fk.got_now, FX_TS);

	/* Voided before: nothing changes, the same answer. */
	fk.calls = 0;
	fk.rc = DB_NOOP;
	serve(&r, 200, NULL);
	fk.calls = 0;
	fk.rc = DB_INVALID;
	serve(&r, 409, "{\"error\":{\"code\":\"invalid_state\","
	    "\"message\":\"this referral cannot be voided\"}}");
	fk.calls = 0;
	fk.rc = DB_NOTFOUND;
	serve(&r, 404, NULL);
	/* Voided, but the read after it fails. */
	fk.calls = 0;
	fk.rc = DB_OK;
	fk.rc2 = DB_UNAVAILABLE;
	serve(&r, 503, NULL);
}

static void
test_health_metrics(void **state)
{
	struct http_req		 r;
	struct http_resp	 rs;

	(void)state;
	r = rq("GET", "/healthz", NULL, NULL);
	serve(&r, 200, "{\"status\":\"ok\"}");

	/* The database up: its gauges are there. */
	fk.oc.pending = 4;
	fk.oc.dead = 2;
	r = rq("GET", "/metrics", NULL, NULL);
	http_serve(&fx_app, &r, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(rs.text);
	assert_non_null(strstr(rs.text, "referd_database_up 1\n"));
	assert_non_null(strstr(rs.text, "referd_outbox_backlog"));
	http_resp_free(&rs);
	assert_int_equal(fk.got_now, FX_TS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_code_mint, reset),
		cmocka_unit_test_setup(test_code_get, reset),
		cmocka_unit_test_setup(test_signup_attributed, reset),
		cmocka_unit_test_setup(test_event_outcomes, reset),
		cmocka_unit_test_setup(test_stats, reset),
		cmocka_unit_test_setup(test_referral, reset),
		cmocka_unit_test_setup(test_void, reset),
		cmocka_unit_test_setup(test_health_metrics, reset),
	};

	return cmocka_run_group_tests(tests, setup, fx_app_teardown);
}
