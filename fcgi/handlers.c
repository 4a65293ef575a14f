/*
 * One handler per endpoint of SPEC.md section 4.  Each takes the typed
 * input that routing and the validators filled, calls the data layer
 * through app->ops (data_ops_db unless a test put fakes there), and
 * leaves a status and a JSON tree in the response.  None touches FCGX_*.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi.h"

#define DAY	86400

/* The sql/ functions: what every app calls but a unit test's. */
const struct data_ops data_ops_db = {
	.code_get = db_code_get,
	.code_mint = db_code_mint,
	.signup = db_signup,
	.event_apply = db_event_apply,
	.stats_get = db_stats_get,
	.referral_get = db_referral_get,
	.referral_void = db_referral_void_by,
	.ping = db_ping,
	.outbox_counts = db_outbox_counts,
};

static const struct data_ops *
ops(const struct app *app)
{
	return app->ops != NULL ? app->ops : &data_ops_db;
}

/* A database failure: 503 if it is away, else 500. */
static int
db_fail(struct http_resp *rs, enum db_rc rc)
{
	if (rc == DB_UNAVAILABLE)
		return http_error(rs, 503, "database_unavailable",
		    "the database is unavailable, try again later");
	return http_error(rs, 500, "internal", "internal error");
}

static json_object *
j_time(int64_t t)
{
	char		 buf[32];

	if (t == 0 || clock_rfc3339(buf, sizeof(buf), t) == -1)
		return NULL;
	return json_object_new_string(buf);
}

static json_object *
j_money(int64_t minor)
{
	char	 buf[32];

	money_format(minor, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *
j_str_or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? NULL : json_object_new_string(s);
}

static void
add(json_object *o, const char *k, json_object *v)
{
	json_object_object_add(o, k, v);
}

/*
 * Sets the Location of a 201 to the path "pre" ID "post" (ours), "id" a
 * parsed integer: nothing of the request's text reaches the header.
 * Returns 0, or -1 out of memory.
 */
static int
location_set(struct http_resp *rs, const char *pre, int64_t id,
    const char *post)
{
	free(rs->location);
	if (asprintf(&rs->location, "%s%" PRId64 "%s", pre, id, post) == -1) {
		rs->location = NULL;
		return -1;
	}
	return 0;
}

/* Sets the answer's JSON root; returns "status". */
static int
answer(struct http_resp *rs, json_object *root, int status)
{
	json_object_put(rs->json);
	rs->json = root;
	if (root == NULL)
		return http_error(rs, 500, "internal", "out of memory");
	return status;
}

/*
 * GET/HEAD /r/{code}: 302 to landing_url.  A code that is known, enabled
 * and not expired adds ref=CODE to the URL, sets the attribution cookie
 * and counts a click; any other still redirects, bare, so that no visitor
 * is stranded.  The answer comes from the code cache, not the database.
 * While the database is away a well-formed code keeps its cookie: the
 * signup checks the code again, and an outage costs no attribution.
 */
int
h_landing(struct app *app, const struct input *in, struct http_resp *rs)
{
	const struct conf	*conf = app->conf;
	const struct code_entry	*e;
	const char		*url = conf->landing_url, *frag, *sep;
	char			 code[CODE_LEN + 1];
	size_t			 baselen;
	enum db_rc		 rc;
	int64_t			 now;
	int			 ok = 0;

	if (in->segsz <= MAX_CODE_INPUT &&
	    code_normalize(in->seg, in->segsz, code) == 0) {
		if ((e = code_cache_get(app, code, &rc)) != NULL) {
			now = app->now();
			/* Known, and neither expired nor disabled by now. */
			ok = now < (int64_t)e->until;
			/* SPEC 4: a HEAD (a link checker, a preview) is no
			 * click. */
			if (ok && !in->head)
				click_count(app, code);
		} else
			ok = 1;
	}
	if (!ok) {
		if ((rs->location = strdup(url)) == NULL)
			return http_error(rs, 500, "internal", "out of memory");
		return 302;
	}
	/* ref=CODE goes into the query, before any fragment. */
	frag = strchr(url, '#');
	baselen = frag != NULL ? (size_t)(frag - url) : strlen(url);
	if (memchr(url, '?', baselen) == NULL)
		sep = "?";
	else if (url[baselen - 1] == '?' || url[baselen - 1] == '&')
		sep = "";
	else
		sep = "&";
	if (asprintf(&rs->location, "%.*s%sref=%s%s", (int)baselen, url, sep,
	    code, frag != NULL ? frag : "") == -1) {
		rs->location = NULL;
		return http_error(rs, 500, "internal", "out of memory");
	}
	if (asprintf(&rs->cookie, "%s=%s; Max-Age=%ld; Path=/; HttpOnly; "
	    "Secure; SameSite=Lax", conf->cookie_name, code,
	    conf->attribution_window_days * DAY) == -1) {
		rs->cookie = NULL;
		return http_error(rs, 500, "internal", "out of memory");
	}
	return 302;
}

/* {"user_id","code","url","expires_at"} of a code row. */
static int
code_answer(struct app *app, const struct code_row *c, struct http_resp *rs,
    int status)
{
	const char	*base = app->conf->base_url;
	size_t		 len = strlen(base);
	json_object	*o;
	char		 url[CONF_STR + 32];

	while (len > 0 && base[len - 1] == '/')
		len--;
	snprintf(url, sizeof(url), "%.*s/r/%s", (int)len, base, c->code);
	if ((o = json_object_new_object()) == NULL)
		return answer(rs, NULL, 500);
	add(o, "user_id", json_object_new_int64(c->user_id));
	add(o, "code", json_object_new_string(c->code));
	add(o, "url", json_object_new_string(url));
	add(o, "expires_at", j_time(c->expires_at));
	return answer(rs, o, status);
}

/* GET /v1/users/{id}/code: the user's code, 404 if none. */
int
h_code_get(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct code_row	 c;
	enum db_rc	 rc;

	rc = ops(app)->code_get(app->db, in->id, &c);
	if (rc == DB_NOTFOUND)
		return http_error(rs, 404, "not_found",
		    "this user has no code");
	if (rc != DB_OK)
		return db_fail(rs, rc);
	return code_answer(app, &c, rs, 200);
}

/* POST /v1/users/{id}/code: the user's code, minted if missing (201). */
int
h_code_mint(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct code_row	 c;
	enum db_rc	 rc;

	rc = ops(app)->code_mint(app->db, in->id, app->now(), &c);
	if (rc != DB_OK && rc != DB_DUP)
		return db_fail(rs, rc);
	if (rc == DB_OK && location_set(rs, "/v1/users/", c.user_id,
	    "/code") == -1)
		return http_error(rs, 500, "internal", "out of memory");
	return code_answer(app, &c, rs, rc == DB_OK ? 201 : 200);
}

/*
 * POST /v1/signups: records the new user's signals, mints their code and
 * attributes them (fraud rules in the data layer).  201 the first time,
 * 200 with the first answer for a repeat.
 */
int
h_signup(struct app *app, const struct input *in, struct http_resp *rs)
{
	const struct in_signup	*s = &in->u.signup;
	struct signup_in	 si;
	struct signup_out	 so;
	json_object		*o, *ref, *attr;
	const char		*dom;
	enum db_rc		 rc;
	size_t			 i;

	memset(&si, 0, sizeof(si));
	si.user_id = s->user_id;
	if (s->code[0] != '\0') {
		si.code_given = 1;
		/* The validator stored it normalised: CODE_LEN characters. */
		memcpy(si.code, s->code, sizeof(si.code) - 1);
	}
	if (s->email[0] != '\0' && (dom = email_domain(s->email)) != NULL) {
		snprintf(si.email_domain, sizeof(si.email_domain), "%s", dom);
		for (i = 0; si.email_domain[i] != '\0'; i++)
			if (si.email_domain[i] >= 'A' &&
			    si.email_domain[i] <= 'Z')
				si.email_domain[i] += 'a' - 'A';
		si.disposable = domain_listed((const char *const *)
		    app->domains, app->ndomains, si.email_domain);
	}
	snprintf(si.ip, sizeof(si.ip), "%s", s->ip);
	snprintf(si.device, sizeof(si.device), "%s", s->device);

	rc = ops(app)->signup(app->db, &si, app->now(), &so);
	if (rc != DB_OK && rc != DB_DUP)
		return db_fail(rs, rc);
	if ((o = json_object_new_object()) == NULL ||
	    (attr = json_object_new_object()) == NULL) {
		json_object_put(o);
		return answer(rs, NULL, 500);
	}
	add(o, "user_id", json_object_new_int64(s->user_id));
	add(o, "code", j_str_or_null(so.code));
	ref = NULL;
	if (so.referral_id != 0 && (ref = json_object_new_object()) != NULL) {
		add(ref, "id", json_object_new_int64(so.referral_id));
		add(ref, "referrer_id", json_object_new_int64(so.referrer_id));
		add(ref, "status",
		    json_object_new_string(fsm_state_name(so.status)));
		add(ref, "review", json_object_new_string(
		    fsm_review_name(so.review)));
	}
	add(o, "referral", ref);
	add(attr, "result", json_object_new_string(
	    attr_result_name(so.result)));
	if (so.rule != RULE_NONE)
		add(attr, "reason", json_object_new_string(
		    rule_name(so.rule)));
	add(o, "attribution", attr);
	if (rc == DB_OK && (so.referral_id != 0 ?
	    location_set(rs, "/v1/referrals/", so.referral_id, "") :
	    location_set(rs, "/v1/users/", s->user_id, "/code")) == -1) {
		json_object_put(o);
		return http_error(rs, 500, "internal", "out of memory");
	}
	return answer(rs, o, rc == DB_OK ? 201 : 200);
}

/* The answer to an applied event, of any source. */
static int
event_answer(struct http_resp *rs, enum db_rc rc, const struct event_out *eo)
{
	json_object		*o;

	if (rc == DB_CONFLICT)
		return http_error(rs, 409, "event_id_conflict",
		    "this event id was delivered before with another body");
	if (rc != DB_OK && rc != DB_DUP)
		return db_fail(rs, rc);
	if ((o = json_object_new_object()) == NULL)
		return answer(rs, NULL, 500);
	add(o, "outcome", json_object_new_string(rc == DB_DUP ?
	    outcome_name(OUT_DUPLICATE) : outcome_name(eo->outcome)));
	if (eo->referral_id != 0)
		add(o, "referral_id", json_object_new_int64(eo->referral_id));
	if (rc == DB_OK && eo->reason[0] != '\0')
		add(o, "reason", json_object_new_string(eo->reason));
	return answer(rs, o, 200);
}

/*
 * POST /v1/events (signature already verified): applies the event in one
 * transaction.  200 with the outcome; a redelivery answers "duplicate";
 * the same id with another body 409.
 */
int
h_event(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct event_out	 eo;
	enum db_rc		 rc;

	rc = ops(app)->event_apply(app->db, &in->u.event.ev, app->now(), &eo);
	return event_answer(rs, rc, &eo);
}

/*
 * An event of an order source (signature already verified): mapped by
 * intake_map(), then applied on the path of POST /v1/events under the
 * source's name, so that its id is deduplicated per source for good.
 * A type the source does not map answers 200 "ignored" without touching
 * the database; wrong fields of a mapped type 422.
 */
static int
h_intake(struct app *app, enum intake_source src, const struct input *in,
    struct http_resp *rs)
{
	const struct in_intake	*ii = &in->u.intake;
	struct intake_event	 ie;
	struct event_in		 ev;
	struct event_out	 eo;
	enum db_rc		 rc;

	memset(&eo, 0, sizeof(eo));
	switch (intake_map(src, &ii->f, &ie)) {
	case INTAKE_OK:
		break;
	case INTAKE_IGNORED:
		eo.outcome = OUT_IGNORED;
		snprintf(eo.reason, sizeof(eo.reason), "%s",
		    intake_reason_name(ie.reason));
		return event_answer(rs, DB_OK, &eo);
	case INTAKE_BAD_USER_ID:
		return http_error(rs, 422, "invalid_user_id",
		    "referd_user_id must be a positive 64-bit integer");
	case INTAKE_BAD_ORDER_ID:
		return http_error(rs, 422, "invalid_field",
		    "the order id must be printable ASCII, at most 255 bytes");
	case INTAKE_BAD_AMOUNT:
		return http_error(rs, 422, "invalid_amount", src ==
		    INTAKE_STRIPE ? "amount_total or amount_paid must be an "
		    "integer of minor units" : "total_price must be a decimal "
		    "string such as \"25.00\"");
	default:
		return http_error(rs, 422, "invalid_currency",
		    "currency must be three letters");
	}
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.source, sizeof(ev.source), "%s", intake_source_name(src));
	ev.mapped = 1;
	ev.kind = ie.kind;
	memcpy(ev.id, ii->id, sizeof(ev.id));
	snprintf(ev.type, sizeof(ev.type), "%s", intake_type_name(ie.kind));
	ev.user_id = ie.user_id;
	memcpy(ev.order_id, ie.order_id, sizeof(ev.order_id));
	ev.amount = ie.amount;
	memcpy(ev.currency, ie.currency, sizeof(ev.currency));
	memcpy(ev.body_sha256, ii->body_sha256, sizeof(ev.body_sha256));
	rc = ops(app)->event_apply(app->db, &ev, app->now(), &eo);
	return event_answer(rs, rc, &eo);
}

/* POST /v1/intake/stripe: a Stripe event (SPEC 12). */
int
h_intake_stripe(struct app *app, const struct input *in, struct http_resp *rs)
{
	return h_intake(app, INTAKE_STRIPE, in, rs);
}

/* POST /v1/intake/shopify: a Shopify order or refund (SPEC 12). */
int
h_intake_shopify(struct app *app, const struct input *in,
    struct http_resp *rs)
{
	return h_intake(app, INTAKE_SHOPIFY, in, rs);
}

/* GET /v1/referrers/{id}/stats: counters, 404 for an unknown referrer. */
int
h_stats(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct stats_row	 st;
	json_object		*o, *rw, *r;
	enum db_rc		 rc;
	char			 rate[32];
	size_t			 i;
	double			 cr = 0;

	rc = ops(app)->stats_get(app->sdb, in->id, &st);
	if (rc == DB_NOTFOUND)
		return http_error(rs, 404, "not_found",
		    "this user has no code and no referrals");
	if (rc != DB_OK)
		return db_fail(rs, rc);
	if (st.signups > 0)
		cr = (double)(st.converted + st.rewarded) / (double)st.signups;
	snprintf(rate, sizeof(rate), "%.4f", cr);
	if ((o = json_object_new_object()) == NULL ||
	    (rw = json_object_new_array()) == NULL) {
		json_object_put(o);
		return answer(rs, NULL, 500);
	}
	add(o, "user_id", json_object_new_int64(st.user_id));
	add(o, "code", j_str_or_null(st.code));
	add(o, "clicks", json_object_new_int64(st.clicks));
	add(o, "signups", json_object_new_int64(st.signups));
	add(o, "pending", json_object_new_int64(st.pending));
	add(o, "converted", json_object_new_int64(st.converted));
	add(o, "rewarded", json_object_new_int64(st.rewarded));
	add(o, "voided", json_object_new_int64(st.voided));
	add(o, "held", json_object_new_int64(st.held));
	add(o, "conversion_rate", json_object_new_double_s(cr, rate));
	for (i = 0; i < st.rewardsz; i++) {
		if ((r = json_object_new_object()) == NULL)
			break;
		add(r, "type", json_object_new_string(st.rewards[i].type));
		add(r, "currency",
		    json_object_new_string(st.rewards[i].currency));
		add(r, "amount", j_money(st.rewards[i].amount));
		json_object_array_add(rw, r);
	}
	add(o, "rewards", rw);
	return answer(rs, o, 200);
}

/* The JSON of a referral with its rewards and their delivery state. */
static json_object *
referral_json(const struct referral_row *r)
{
	json_object	*o, *rws, *w, *d;
	size_t		 i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	add(o, "id", json_object_new_int64(r->id));
	add(o, "referrer_id", json_object_new_int64(r->referrer_id));
	add(o, "referee_id", json_object_new_int64(r->referee_id));
	add(o, "code", json_object_new_string(r->code));
	add(o, "status", json_object_new_string(fsm_state_name(r->status)));
	add(o, "review", json_object_new_string(fsm_review_name(r->review)));
	add(o, "review_rule", j_str_or_null(r->review_rule));
	add(o, "conversion_event", j_str_or_null(r->conversion_event));
	add(o, "conversion_order", j_str_or_null(r->conversion_order));
	add(o, "created_at", j_time(r->created_at));
	add(o, "converted_at", j_time(r->converted_at));
	add(o, "rewarded_at", j_time(r->rewarded_at));
	add(o, "voided_at", j_time(r->voided_at));
	add(o, "void_reason", j_str_or_null(r->void_reason));
	if ((rws = json_object_new_array()) == NULL) {
		json_object_put(o);
		return NULL;
	}
	for (i = 0; i < r->rewardsz; i++) {
		const struct reward_row *x = &r->rewards[i];

		if ((w = json_object_new_object()) == NULL)
			break;
		add(w, "id", json_object_new_int64(x->id));
		add(w, "role", json_object_new_string(x->role));
		add(w, "user_id", json_object_new_int64(x->user_id));
		add(w, "type", json_object_new_string(x->type));
		add(w, "amount", j_money(x->amount));
		add(w, "currency", json_object_new_string(x->currency));
		add(w, "status", json_object_new_string(x->status));
		add(w, "issued_at", j_time(x->issued_at));
		d = json_object_new_object();
		if (d != NULL) {
			add(d, "status", j_str_or_null(x->delivery));
			add(d, "attempts", json_object_new_int64(x->attempts));
			add(d, "last_error", j_str_or_null(x->last_error));
		}
		add(w, "delivery", d);
		/* The revocation's own delivery, or null: none was sent. */
		add(w, "revoked_at", j_time(x->revoked_at));
		d = NULL;
		if (x->rv_delivery[0] != '\0' &&
		    (d = json_object_new_object()) != NULL) {
			add(d, "status", j_str_or_null(x->rv_delivery));
			add(d, "attempts", json_object_new_int64(x->rv_attempts));
			add(d, "last_error", j_str_or_null(x->rv_last_error));
		}
		add(w, "revocation", d);
		json_object_array_add(rws, w);
	}
	add(o, "rewards", rws);
	return o;
}

/* GET /v1/referrals/{id}. */
int
h_referral(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct referral_row	 r;
	enum db_rc		 rc;

	rc = ops(app)->referral_get(app->db, in->id, &r);
	if (rc == DB_NOTFOUND)
		return http_error(rs, 404, "not_found", "no such referral");
	if (rc != DB_OK)
		return db_fail(rs, rc);
	return answer(rs, referral_json(&r), 200);
}

/*
 * POST /v1/referrals/{id}/void (admin key): voids it, audit-logged with
 * operator "api", the request id, the client address and which key; a
 * rewarded one gets reward.revoked rows in the outbox.
 * Voiding a voided referral changes nothing and answers the same.
 */
int
h_void(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct referral_row	 r;
	struct audit_who	 who = {
		.request_id = rs->request_id,
		.client = in->client[0] != '\0' ? in->client : NULL,
		.credential = in->credential[0] != '\0' ? in->credential :
		    NULL,
	};
	enum db_rc		 rc;

	rc = ops(app)->referral_void(app->db, in->id, in->u.vd.reason,
	    "api", &who, app->now());
	if (rc == DB_NOTFOUND)
		return http_error(rs, 404, "not_found", "no such referral");
	if (rc == DB_INVALID)
		return http_error(rs, 409, "invalid_state",
		    "this referral cannot be voided");
	if (rc != DB_OK && rc != DB_NOOP)
		return db_fail(rs, rc);
	if ((rc = ops(app)->referral_get(app->db, in->id, &r)) != DB_OK)
		return db_fail(rs, rc);
	return answer(rs, referral_json(&r), 200);
}

/* GET /healthz: 200 when the database answers, else 503. */
int
h_healthz(struct app *app, const struct input *in, struct http_resp *rs)
{
	json_object	*o;

	if (ops(app)->ping(app->db) != DB_OK)
		return db_fail(rs, DB_UNAVAILABLE);
	if ((o = json_object_new_object()) == NULL)
		return answer(rs, NULL, 500);
	add(o, "status", json_object_new_string("ok"));
	return answer(rs, o, 200);
}

/*
 * GET /metrics: Prometheus text.  It answers while the database is away
 * (referd_database_up 0, no outbox gauges): that is when it is needed.
 */
int
h_metrics(struct app *app, const struct input *in, struct http_resp *rs)
{
	struct outbox_counts	 oc;
	int			 up;

	memset(&oc, 0, sizeof(oc));
	up = ops(app)->outbox_counts(app->db, app->now(), &oc) == DB_OK;
	if ((rs->text = metrics_render(app->metrics, &oc, up,
	    app->conf->metrics_dir, &rs->textsz)) == NULL)
		return http_error(rs, 500, "internal", "out of memory");
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}
