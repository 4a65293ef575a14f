/*
 * The request path after the socket: routing, authentication, limits,
 * JSON parsing and the body validators, in kcgi's order.  Nothing here
 * touches FCGX_*: the worker hands over a struct http_req and writes out
 * the struct http_resp it gets back, so every branch runs in a unit test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi.h"

enum auth {
	AUTH_NONE,
	AUTH_API,		/* api_key (or admin_api_key) */
	AUTH_ADMIN,		/* admin_api_key only */
	AUTH_WEBHOOK,		/* Standard Webhooks signature */
};

enum body_kind {
	BODY_NONE,		/* a body, if any, is ignored */
	BODY_SIGNUP,
	BODY_EVENT,
	BODY_VOID,
	BODY__MAX
};

/* What a path segment in braces holds. */
enum seg {
	SEG_NONE,
	SEG_USER,		/* a user id */
	SEG_REFERRAL,		/* a referral id */
	SEG_CODE,		/* a code as typed: anything, checked later */
};

typedef int (*handler)(struct app *, const struct input *,
    struct http_resp *);

struct route_def {
	const char	*name;		/* metrics and log label */
	const char	*path;		/* "{}" is the one variable segment */
	enum seg	 seg;
	unsigned int	 methods;	/* MB(METHOD_*); GET implies HEAD */
	enum auth	 auth;
	enum body_kind	 body;
	handler		 fn;
};

/*
 * The API.  A path may appear twice with other methods; a request whose
 * path matches but whose method does not gets 405 with every method of
 * that path in Allow.
 */
static const struct route_def routes[ROUTE__MAX] = {
	[ROUTE_LANDING] = { "landing", "/r/{}", SEG_CODE,
	    MB(METHOD_GET), AUTH_NONE, BODY_NONE, h_landing },
	[ROUTE_CODE_GET] = { "code_get", "/v1/users/{}/code", SEG_USER,
	    MB(METHOD_GET), AUTH_API, BODY_NONE, h_code_get },
	[ROUTE_CODE_MINT] = { "code_mint", "/v1/users/{}/code", SEG_USER,
	    MB(METHOD_POST), AUTH_API, BODY_NONE, h_code_mint },
	[ROUTE_SIGNUP] = { "signup", "/v1/signups", SEG_NONE,
	    MB(METHOD_POST), AUTH_API, BODY_SIGNUP, h_signup },
	[ROUTE_EVENT] = { "event", "/v1/events", SEG_NONE,
	    MB(METHOD_POST), AUTH_WEBHOOK, BODY_EVENT, h_event },
	[ROUTE_STATS] = { "stats", "/v1/referrers/{}/stats", SEG_USER,
	    MB(METHOD_GET), AUTH_API, BODY_NONE, h_stats },
	[ROUTE_REFERRAL] = { "referral", "/v1/referrals/{}", SEG_REFERRAL,
	    MB(METHOD_GET), AUTH_API, BODY_NONE, h_referral },
	[ROUTE_VOID] = { "void", "/v1/referrals/{}/void", SEG_REFERRAL,
	    MB(METHOD_POST), AUTH_ADMIN, BODY_VOID, h_void },
	[ROUTE_HEALTHZ] = { "healthz", "/healthz", SEG_NONE,
	    MB(METHOD_GET), AUTH_NONE, BODY_NONE, h_healthz },
	[ROUTE_METRICS] = { "metrics", "/metrics", SEG_NONE,
	    MB(METHOD_GET), AUTH_NONE, BODY_NONE, h_metrics },
};
_Static_assert(sizeof(routes) / sizeof(routes[0]) == ROUTE__MAX, "routes");

static const char *const method_names[METHOD__MAX] = {
	[METHOD_GET] = "GET",
	[METHOD_HEAD] = "HEAD",
	[METHOD_POST] = "POST",
	[METHOD_OTHER] = NULL,
};
_Static_assert(sizeof(method_names) / sizeof(method_names[0]) ==
    METHOD__MAX, "methods");

/* Body validators: one table of fields per body kind. */
enum ftype {
	FT_ID,			/* positive int64: JSON integer or digits */
	FT_STR,			/* UTF-8 string, no NUL, 1..size-1 bytes */
	FT_TOKEN,		/* printable ASCII, 1..size-1 bytes */
	FT_CODE,		/* a code as typed; "" counts as absent */
	FT_EMAIL,
	FT_IP,			/* IPv4 or IPv6, stored canonical */
	FT_MONEY,		/* "25.00" into minor units */
	FT_CURRENCY,		/* ISO 4217 letters */
	FT_TIME,		/* RFC 3339 date-time */
};

struct field {
	const char	*name;
	enum ftype	 type;
	int		 required;
	size_t		 off;		/* in struct input */
	size_t		 size;		/* of the destination */
	size_t		 max;		/* bytes of a string, < size */
};

#define IN(f)	offsetof(struct input, u.f), sizeof(((struct input *)0)->u.f)

/*
 * Database columns are VARCHAR(255) in characters: DB_STR bytes are never
 * more characters than that.  Emails are at most 254 bytes (RFC 5321).
 */
#define DB_STR	(MAX_FIELD - 1)
_Static_assert(DB_STR <= 255, "VARCHAR(255)");

static const struct field signup_fields[] = {
	{ "user_id", FT_ID, 1, IN(signup.user_id), 0 },
	{ "code", FT_CODE, 0, IN(signup.code), MAX_CODE_INPUT },
	{ "email", FT_EMAIL, 0, IN(signup.email), 254 },
	{ "ip", FT_IP, 0, IN(signup.ip), 45 },
	{ "device_fingerprint", FT_STR, 0, IN(signup.device), DB_STR },
};

static const struct field event_fields[] = {
	{ "id", FT_TOKEN, 1, IN(event.ev.id), MAX_EVENT_ID },
	{ "type", FT_TOKEN, 1, IN(event.ev.type), 63 },
	{ "user_id", FT_ID, 1, IN(event.ev.user_id), 0 },
	{ "order_id", FT_STR, 1, IN(event.ev.order_id), DB_STR },
	{ "amount", FT_MONEY, 1, IN(event.ev.amount), 32 },
	{ "currency", FT_CURRENCY, 1, IN(event.ev.currency), 3 },
	{ "occurred_at", FT_TIME, 1, IN(event.ev.occurred_at), 63 },
	{ "payment_fingerprint", FT_STR, 0, IN(event.ev.payment_fp), DB_STR },
};

static const struct field void_fields[] = {
	{ "reason", FT_STR, 1, IN(vd.reason), MAX_REASON },
};

#undef IN

static const struct {
	const struct field	*fields;
	size_t			 n;
} bodies[BODY__MAX] = {
	[BODY_NONE] = { NULL, 0 },
	[BODY_SIGNUP] = { signup_fields,
	    sizeof(signup_fields) / sizeof(signup_fields[0]) },
	[BODY_EVENT] = { event_fields,
	    sizeof(event_fields) / sizeof(event_fields[0]) },
	[BODY_VOID] = { void_fields,
	    sizeof(void_fields) / sizeof(void_fields[0]) },
};
_Static_assert(sizeof(bodies) / sizeof(bodies[0]) == BODY__MAX, "bodies");

/* Reason phrases of the statuses the API answers with. */
static const struct {
	int		 status;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 302, "Found" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 409, "Conflict" },
	{ 413, "Content Too Large" }, { 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
};

static const char *
status_reason(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

/*
 * Returns the method named by REQUEST_METHOD (exact, upper case), or
 * METHOD_OTHER.
 */
enum method
method_parse(const char *s)
{
	int	 m;

	if (s != NULL)
		for (m = 0; m < METHOD_OTHER; m++)
			if (strcmp(s, method_names[m]) == 0)
				return m;
	return METHOD_OTHER;
}

/* Returns the label of a route for logs and metrics ("none" for none). */
const char *
route_name(enum route r)
{
	return r < ROUTE__MAX ? routes[r].name : "none";
}

/*
 * Fills "rs" with the error body {"error":{"code","message"}}.  "code"
 * and "msg" are ours, never request data.  Returns "status".
 */
int
http_error(struct http_resp *rs, int status, const char *code,
    const char *msg)
{
	json_object	*e;

	json_object_put(rs->json);
	rs->json = NULL;
	if ((rs->json = json_object_new_object()) != NULL &&
	    (e = json_object_new_object()) != NULL) {
		json_object_object_add(rs->json, "error", e);
		json_object_object_add(e, "code",
		    json_object_new_string(code));
		json_object_object_add(e, "message",
		    json_object_new_string(msg));
	}
	rs->status = status;
	return status;
}

/* Releases what a response holds; it can be filled again after. */
void
http_resp_free(struct http_resp *rs)
{
	if (rs == NULL)
		return;
	json_object_put(rs->json);
	free(rs->location);
	free(rs->cookie);
	free(rs->text);
	rs->json = NULL;
	rs->location = rs->cookie = rs->text = NULL;
}

/*
 * Parses CONTENT_LENGTH strictly: 1 to 19 decimal digits, nothing else.
 * An absent or empty parameter means no body.
 * Returns 0 and sets *out, or -1.
 */
int
content_length_parse(const char *s, size_t *out)
{
	size_t		 v = 0, i;

	*out = 0;
	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 18)
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Returns 1 if a CONTENT_TYPE names JSON: "application/json", any case,
 * optionally followed by parameters, of which only charset=utf-8 is
 * allowed; else 0.
 */
int
json_media_type(const char *s)
{
	static const char	 mt[] = "application/json";
	const char		*p;

	if (s == NULL || strncasecmp(s, mt, sizeof(mt) - 1) != 0)
		return 0;
	p = s + sizeof(mt) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 1;
	if (*p++ != ';')
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "charset=", 8) != 0)
		return 0;
	p += 8;
	if (strcasecmp(p, "utf-8") == 0 || strcasecmp(p, "\"utf-8\"") == 0)
		return 1;
	return 0;
}

/*
 * Returns 1 if "s" is an RFC 3339 date-time such as
 * "2025-01-31T12:00:00Z" or "2025-01-31T12:00:00.123+01:00", else 0.
 * Only the shape and the field ranges are checked.
 */
int
time_rfc3339_valid(const char *s)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t			 i;
	int			 mo, d, h, mi, se;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    (shape[i] == 'T' ? s[i] != 'T' && s[i] != 't' :
		    s[i] != shape[i]))
			return 0;
	}
	mo = (s[5] - '0') * 10 + s[6] - '0';
	d = (s[8] - '0') * 10 + s[9] - '0';
	h = (s[11] - '0') * 10 + s[12] - '0';
	mi = (s[14] - '0') * 10 + s[15] - '0';
	se = (s[17] - '0') * 10 + s[18] - '0';
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return 0;
	s += i;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return 0;
		for (i = 0; *s >= '0' && *s <= '9'; s++)
			if (++i > 9)
				return 0;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return 1;
	if ((*s == '+' || *s == '-') && s[1] >= '0' && s[1] <= '2' &&
	    s[2] >= '0' && s[2] <= '9' && s[3] == ':' && s[4] >= '0' &&
	    s[4] <= '5' && s[5] >= '0' && s[5] <= '9' && s[6] == '\0')
		return 1;
	return 0;
}

/*
 * Matches a path against a route pattern: literal text, with "{}"
 * standing for one non-empty segment ("/r/{}" also takes an empty one, so
 * that "/r/" still lands).  The segment is returned in *seg and *segsz.
 */
static int
path_match(const char *pat, const char *path, size_t len, const char **seg,
    size_t *segsz)
{
	const char	*brace = strstr(pat, "{}");
	size_t		 pre, post, n;

	if (brace == NULL)
		return strlen(pat) == len && memcmp(pat, path, len) == 0;
	pre = (size_t)(brace - pat);
	post = strlen(brace + 2);
	if (len < pre + post || memcmp(pat, path, pre) != 0 ||
	    memcmp(brace + 2, path + len - post, post) != 0)
		return 0;
	n = len - pre - post;
	if (memchr(path + pre, '/', n) != NULL)
		return 0;
	if (n == 0 && post != 0)
		return 0;
	*seg = path + pre;
	*segsz = n;
	return 1;
}

/* Builds "GET, HEAD, POST" for the methods in mask, in a static buffer. */
static const char *
allow_header(unsigned int mask)
{
	static char	 buf[64];
	size_t		 o = 0;
	int		 m;

	if (mask & MB(METHOD_GET))
		mask |= MB(METHOD_HEAD);
	for (m = 0; m < METHOD_OTHER; m++) {
		if (!(mask & MB(m)))
			continue;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
		    o > 0 ? ", " : "", method_names[m]);
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Finds the route for a path and method.  Returns the route, or
 * ROUTE__MAX with *allowed set to the methods the path takes (0: no such
 * path).
 */
static enum route
route_find(const char *path, size_t len, enum method m, const char **seg,
    size_t *segsz, unsigned int *allowed)
{
	unsigned int	 want;
	int		 r;

	*allowed = 0;
	want = m == METHOD_HEAD ? MB(METHOD_GET) : m == METHOD_OTHER ? 0 :
	    MB(m);
	for (r = 0; r < ROUTE__MAX; r++) {
		if (!path_match(routes[r].path, path, len, seg, segsz))
			continue;
		if (routes[r].methods & want)
			return r;
		*allowed |= routes[r].methods;
	}
	return ROUTE__MAX;
}

/*
 * Checks the bearer key for "auth".  Both keys are always compared, in
 * constant time.  Returns 0 with "cred" naming the key that passed for
 * the audit ("admin_api_key:" or "api_key:" and the first 8 hex digits
 * of its SHA-256: which key, never the key), or 401 or 403 (with the
 * error filled in).
 */
static int
auth_check(struct app *app, enum auth auth, const char *hdr,
    struct http_resp *rs, char cred[MAX_CREDENTIAL + 1])
{
	const char	*tok, *name;
	char		 fp[65];
	int		 api, admin;

	if (hdr == NULL || strncasecmp(hdr, "Bearer ", 7) != 0) {
		rs->www_auth = 1;
		return http_error(rs, 401, "unauthorized",
		    "an Authorization: Bearer key is required");
	}
	for (tok = hdr + 7; *tok == ' '; tok++)
		continue;
	api = ct_streq(tok, app->conf->api_key);
	admin = ct_streq(tok, app->conf->admin_api_key);
	if (admin || (api && auth == AUTH_API)) {
		name = admin ? "admin_api_key" : "api_key";
		if (sha256_hex(tok, strlen(tok), fp) == -1)
			fp[0] = '\0';
		snprintf(cred, MAX_CREDENTIAL + 1, "%s:%.8s", name, fp);
		return 0;
	}
	if (api)
		return http_error(rs, 403, "forbidden",
		    "this call needs the admin key");
	rs->www_auth = 1;
	return http_error(rs, 401, "unauthorized", "invalid API key");
}

/* Whether "s" (len bytes) is printable ASCII without spaces. */
static int
token_valid(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return len > 0;
}

/*
 * Verifies the Standard Webhooks signature of an event over the raw body.
 * Returns 0 or 401 (error filled in).
 */
static int
webhook_check(struct app *app, const struct http_req *rq,
    struct http_resp *rs)
{
	enum sig_rc	 rc;
	size_t		 i;

	if (rq->wh_id == NULL || rq->wh_ts == NULL || rq->wh_sig == NULL)
		return http_error(rs, 401, "invalid_signature",
		    "webhook-id, webhook-timestamp and webhook-signature "
		    "headers are required");
	if (strlen(rq->wh_id) > MAX_EVENT_ID ||
	    !token_valid(rq->wh_id, strlen(rq->wh_id)))
		return http_error(rs, 401, "invalid_signature",
		    "webhook-id must be 1 to 128 printable ASCII characters");
	rc = sig_verify(&app->whkey, rq->wh_id, rq->wh_ts, rq->body,
	    rq->bodysz, rq->wh_sig, app->now());
	/* Rotation: a signature made with any webhook_secret will do. */
	for (i = 0; rc == SIG_MISMATCH && i < app->nwhkey_more; i++)
		rc = sig_verify(&app->whkey_more[i], rq->wh_id, rq->wh_ts,
		    rq->body, rq->bodysz, rq->wh_sig, app->now());
	switch (rc) {
	case SIG_OK:
		return 0;
	case SIG_TOO_OLD:
	case SIG_TOO_NEW:
		return http_error(rs, 401, "stale_timestamp",
		    "webhook-timestamp is more than 5 minutes off");
	case SIG_BAD_TIMESTAMP:
		return http_error(rs, 401, "invalid_signature",
		    "webhook-timestamp is not a number of seconds");
	default:
		return http_error(rs, 401, "invalid_signature",
		    "no webhook-signature matches");
	}
}

/* Reads a positive int64 from a JSON integer or a string of digits. */
static int
json_id(json_object *v, int64_t *out)
{
	const char	*s;
	int64_t		 i;

	switch (json_object_get_type(v)) {
	case json_type_int:
		i = json_object_get_int64(v);
		/* json-c clamps what does not fit; make sure it did not. */
		if (i <= 0 || (i == INT64_MAX &&
		    json_object_get_uint64(v) != (uint64_t)INT64_MAX))
			return -1;
		*out = i;
		return 0;
	case json_type_string:
		s = json_object_get_string(v);
		return userid_parse(s, (size_t)json_object_get_string_len(v),
		    out);
	default:
		return -1;
	}
}

/*
 * Canonicalises an IPv4 or IPv6 address so that equal addresses compare
 * equal as strings.  Returns 0 or -1.
 */
static int
ip_canon(const char *s, char *out, size_t sz)
{
	unsigned char	 a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)sz) ? 0 : -1;
	if (inet_pton(AF_INET6, s, a) == 1) {
		/* ::ffff:1.2.3.4 is the IPv4 address 1.2.3.4. */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			return inet_ntop(AF_INET, a + 12, out,
			    (socklen_t)sz) ? 0 : -1;
		return inet_ntop(AF_INET6, a, out, (socklen_t)sz) ? 0 : -1;
	}
	return -1;
}

/* Fills the 422 answer for field "f": "<field>: <what>". */
static int
field_error(struct http_resp *rs, const char *code, const struct field *f,
    const char *what)
{
	char	 msg[160];

	snprintf(msg, sizeof(msg), "%s: %s", f->name, what);
	return http_error(rs, 422, code, msg);
}

/*
 * Fills the typed input from a parsed body by the table of "kind".
 * Unknown members are ignored; null counts as absent.
 * Returns 0, or 422 with the error filled in.
 */
static int
validate(enum body_kind kind, json_object *root, struct input *in,
    struct http_resp *rs)
{
	const struct field	*f;
	json_object		*v;
	const char		*s;
	char			*dst;
	size_t			 i, len;
	int64_t			 n;

	if (!json_object_is_type(root, json_type_object))
		return http_error(rs, 422, "invalid_type",
		    "the body must be a JSON object");
	for (i = 0; i < bodies[kind].n; i++) {
		f = &bodies[kind].fields[i];
		dst = (char *)in + f->off;
		if (!json_object_object_get_ex(root, f->name, &v) ||
		    v == NULL) {
			if (f->required)
				return field_error(rs, "missing_field", f,
				    "is required");
			continue;
		}
		if (f->type == FT_ID) {
			if (json_id(v, &n) == -1)
				return field_error(rs, "invalid_user_id", f,
				    "must be a positive 64-bit integer");
			memcpy(dst, &n, sizeof(n));
			continue;
		}
		if (!json_object_is_type(v, json_type_string))
			return f->type == FT_MONEY ?
			    field_error(rs, "invalid_amount", f,
			    "must be a decimal string such as \"25.00\"") :
			    field_error(rs, "invalid_type", f,
			    "must be a string");
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (!utf8_valid(s, len))
			return field_error(rs, "invalid_utf8", f,
			    "must be valid UTF-8 without NUL characters");
		if (len == 0 && (f->type == FT_CODE || !f->required))
			continue;
		if (len == 0)
			return field_error(rs, "missing_field", f,
			    "must not be empty");
		assert(f->type == FT_MONEY || f->max < f->size);
		switch (f->type) {
		case FT_CODE:
			/* Stored normalised: upper case, no '-' or spaces. */
			if (len > f->max || code_normalize(s, len, dst) == -1)
				return field_error(rs, "invalid_code", f,
				    "is not a referral code");
			continue;
		case FT_MONEY:
			if (len > f->max || money_parse(s, &n) != MONEY_OK)
				return field_error(rs, "invalid_amount", f,
				    "must be a decimal string such as "
				    "\"25.00\"");
			memcpy(dst, &n, sizeof(n));
			continue;
		case FT_CURRENCY:
			if (len > f->max || !currency_valid(s))
				return field_error(rs, "invalid_currency", f,
				    "must be three upper-case letters");
			break;
		case FT_TIME:
			if (len > f->max || !time_rfc3339_valid(s))
				return field_error(rs, "invalid_time", f,
				    "must be an RFC 3339 date-time");
			break;
		case FT_TOKEN:
			if (len > f->max || !token_valid(s, len))
				return field_error(rs, "invalid_field", f,
				    "must be printable ASCII without spaces, "
				    "not too long");
			break;
		case FT_EMAIL:
			if (len > f->max || s[0] == '@' ||
			    email_domain(s) == NULL)
				return field_error(rs, "invalid_email", f,
				    "is not an email address");
			break;
		case FT_IP:
			if (len > f->max || ip_canon(s, dst, f->size) == -1)
				return field_error(rs, "invalid_ip", f,
				    "is not an IPv4 or IPv6 address");
			continue;
		default:
			if (len > f->max) {
				char	 what[64];

				snprintf(what, sizeof(what), "is longer than "
				    "%zu bytes", f->max);
				return field_error(rs, "field_too_long", f,
				    what);
			}
			break;
		}
		memcpy(dst, s, len);
		dst[len] = '\0';
	}
	return 0;
}

/*
 * json-c takes some things that are not JSON even in strict mode:
 * 'strings', NaN, Infinity and -Infinity.  Outside strings, JSON has no
 * single quote and no upper-case letter but an exponent's E.
 * Returns 1 if "s" has one of those, else 0.
 */
static int
json_extension(const char *s, size_t len)
{
	size_t	 i;
	int	 in = 0;

	for (i = 0; i < len; i++) {
		if (in && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			in = !in;
		else if (!in && (s[i] == '\'' ||
		    (s[i] >= 'A' && s[i] <= 'Z' && s[i] != 'E')))
			return 1;
	}
	return 0;
}

/*
 * Counts the members of each object of the JSON text "s" (valid JSON:
 * json-c took it), in the order the objects open, into "counts" (room
 * for "max").  Returns how many objects there are, or -1 if more than
 * "max" or nested deeper than MAX_JSON_DEPTH.
 */
static long
json_member_counts(const char *s, size_t len, uint32_t *counts, size_t max)
{
	long	 stack[MAX_JSON_DEPTH + 1];	/* object index, -1: array */
	size_t	 i, depth = 0, n = 0;

	for (i = 0; i < len; i++)
		switch (s[i]) {
		case '"':
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			break;
		case '{':
			if (depth > MAX_JSON_DEPTH || n == max)
				return -1;
			counts[n] = 0;
			stack[depth++] = (long)n++;
			break;
		case '[':
			if (depth > MAX_JSON_DEPTH)
				return -1;
			stack[depth++] = -1;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		case ':':
			if (depth > 0 && stack[depth - 1] >= 0)
				counts[stack[depth - 1]]++;
			break;
		default:
			break;
		}
	return (long)n;
}

/*
 * Walks the tree in the order its objects opened in the text and
 * compares each object's size with its member count there.  Returns 0 if
 * every one matches, else -1.
 */
static int
json_counts_match(json_object *o, const uint32_t *counts, size_t n,
    size_t *next)
{
	size_t	 i, len;

	switch (json_object_get_type(o)) {
	case json_type_object:
		if (*next >= n || (size_t)json_object_object_length(o) !=
		    counts[(*next)++])
			return -1;
		json_object_object_foreach(o, key, v) {
			(void)key;
			if (json_counts_match(v, counts, n, next) == -1)
				return -1;
		}
		return 0;
	case json_type_array:
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			if (json_counts_match(json_object_array_get_idx(o, i),
			    counts, n, next) == -1)
				return -1;
		return 0;
	default:
		return 0;
	}
}

/*
 * Returns 1 if an object of the text has a key twice, 0 if none, -1 if
 * out of memory.  json-c keeps the last value of a repeated key without a
 * word, while another parser (a signer's, a proxy's) may keep the first:
 * the two would read different bodies.  The text is counted, not parsed
 * again: json-c keeps members in the order they came and a repeated key
 * in its first place, so up to the first object with a repeated key the
 * tree's objects come in the text's order, and that object is smaller in
 * the tree than in the text.  A key json-c cannot tell apart from
 * another (one with a NUL in it) counts as a repeat too.
 */
static int
json_dup_keys(const char *s, size_t len, json_object *root)
{
	uint32_t	*counts;
	size_t		 max = len / 2 + 1, next = 0;
	long		 n;
	int		 rc = 1;

	if ((counts = calloc(max, sizeof(*counts))) == NULL)
		return -1;
	if ((n = json_member_counts(s, len, counts, max)) >= 0 &&
	    json_counts_match(root, counts, (size_t)n, &next) == 0 &&
	    next == (size_t)n)
		rc = 0;
	free(counts);
	return rc;
}

/*
 * Parses the body as JSON with the depth limit.  The whole body must be
 * one JSON value (surrounding whitespace allowed), with no key twice in
 * an object (400 duplicate_key).  Returns the tree, or
 * NULL with 400 filled in.
 */
static json_object *
body_parse(const struct http_req *rq, struct http_resp *rs)
{
	json_tokener		*tok;
	json_object		*root = NULL;
	enum json_tokener_error	 jerr;
	size_t			 end;

	if (rq->bodysz == 0) {
		http_error(rs, 400, "invalid_json", "the body is empty");
		return NULL;
	}
	if (memchr(rq->body, '\0', rq->bodysz) != NULL) {
		http_error(rs, 400, "invalid_json",
		    "the body has a NUL byte");
		return NULL;
	}
	if (json_extension(rq->body, rq->bodysz)) {
		http_error(rs, 400, "invalid_json",
		    "malformed JSON: single quotes, NaN or Infinity");
		return NULL;
	}
	if ((tok = json_tokener_new_ex(MAX_JSON_DEPTH)) == NULL) {
		http_error(rs, 500, "internal", "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, rq->body, (int)rq->bodysz);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (root != NULL && jerr == json_tokener_success)
		while (end < rq->bodysz && (rq->body[end] == ' ' ||
		    rq->body[end] == '\t' || rq->body[end] == '\r' ||
		    rq->body[end] == '\n'))
			end++;
	if (root == NULL || jerr != json_tokener_success ||
	    end != rq->bodysz) {
		char	 msg[128];

		if (jerr == json_tokener_continue)
			snprintf(msg, sizeof(msg), "the JSON ends early");
		else if (jerr != json_tokener_success)
			snprintf(msg, sizeof(msg), "malformed JSON: %s",
			    json_tokener_error_desc(jerr));
		else
			snprintf(msg, sizeof(msg), "text after the JSON");
		json_object_put(root);
		root = NULL;
		http_error(rs, 400, "invalid_json", msg);
		goto out;
	}
	switch (json_dup_keys(rq->body, rq->bodysz, root)) {
	case 0:
		break;
	case 1:
		json_object_put(root);
		root = NULL;
		http_error(rs, 400, "duplicate_key",
		    "an object of the body has the same key twice");
		break;
	default:
		json_object_put(root);
		root = NULL;
		http_error(rs, 500, "internal", "out of memory");
		break;
	}
out:
	json_tokener_free(tok);
	return root;
}

/*
 * Answers one request: request id, routing (404, 405), body limits (413,
 * 400), authentication (401, 403), path ids (422), media type (415),
 * webhook signature (401), JSON (400), validators (422), then the
 * handler.  "rs" is filled in; the caller frees it with http_resp_free().
 */
void
http_serve(struct app *app, const struct http_req *rq, struct http_resp *rs)
{
	const struct route_def	*def;
	struct input		 in;
	json_object		*root = NULL;
	const char		*seg = NULL;
	size_t			 segsz = 0, plen;
	unsigned int		 allowed;
	enum method		 m;
	enum route		 r;

	memset(rs, 0, sizeof(*rs));
	memset(&in, 0, sizeof(in));
	rs->route = ROUTE_NONE;
	if (rq->request_id != NULL &&
	    request_id_valid(rq->request_id, strlen(rq->request_id)))
		snprintf(rs->request_id, sizeof(rs->request_id), "%s",
		    rq->request_id);
	else
		request_id_make(app, rs->request_id, sizeof(rs->request_id));

	if (rq->toolong != NULL) {
		if (strcmp(rq->toolong, "REQUEST_URI") == 0)
			http_error(rs, 414, "uri_too_long",
			    "the request URI is too long");
		else
			http_error(rs, 431, "header_too_large",
			    "a request header is too long");
		return;
	}
	if (rq->uri == NULL || rq->uri[0] != '/') {
		http_error(rs, 400, "bad_request", "no request URI");
		return;
	}
	m = method_parse(rq->method);
	plen = strcspn(rq->uri, "?#");
	if ((r = route_find(rq->uri, plen, m, &seg, &segsz, &allowed)) ==
	    ROUTE__MAX) {
		if (allowed == 0) {
			http_error(rs, 404, "not_found", "no such resource");
			return;
		}
		rs->allow = allow_header(allowed);
		http_error(rs, 405, "method_not_allowed",
		    "method not allowed here");
		return;
	}
	rs->route = r;
	def = &routes[r];
	in.head = m == METHOD_HEAD;

	switch (rq->body_state) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		http_error(rs, 413, "body_too_large",
		    "the body is larger than 64 KiB");
		return;
	case BODY_BAD_LENGTH:
		http_error(rs, 400, "invalid_content_length",
		    "CONTENT_LENGTH is not a number");
		return;
	default:
		http_error(rs, 400, "invalid_content_length",
		    "the body length does not match CONTENT_LENGTH");
		return;
	}
	if ((def->auth == AUTH_API || def->auth == AUTH_ADMIN) &&
	    auth_check(app, def->auth, rq->authorization, rs,
	    in.credential) != 0)
		return;
	if (rq->remote_addr != NULL &&
	    strlen(rq->remote_addr) <= MAX_CLIENT_ADDR &&
	    token_valid(rq->remote_addr, strlen(rq->remote_addr)))
		memcpy(in.client, rq->remote_addr, strlen(rq->remote_addr) + 1);

	switch (def->seg) {
	case SEG_USER:
	case SEG_REFERRAL:
		if (userid_parse(seg, segsz, &in.id) == -1) {
			http_error(rs, 422, def->seg == SEG_USER ?
			    "invalid_user_id" : "invalid_id",
			    def->seg == SEG_USER ?
			    "the user id must be a positive 64-bit integer" :
			    "the referral id must be a positive integer");
			return;
		}
		break;
	case SEG_CODE:
		/* A code longer than anyone types is just unknown. */
		if (segsz <= MAX_CODE_INPUT) {
			memcpy(in.seg, seg, segsz);
			in.segsz = segsz;
		} else
			in.segsz = sizeof(in.seg);
		break;
	default:
		break;
	}

	if (def->body != BODY_NONE) {
		if (!json_media_type(rq->content_type)) {
			http_error(rs, 415, "unsupported_media_type",
			    "the body must be application/json");
			return;
		}
		if (def->auth == AUTH_WEBHOOK &&
		    webhook_check(app, rq, rs) != 0)
			return;
		if ((root = body_parse(rq, rs)) == NULL)
			return;
		if (validate(def->body, root, &in, rs) != 0)
			goto out;
		if (def->body == BODY_EVENT && rq->wh_id != NULL &&
		    strcmp(in.u.event.ev.id, rq->wh_id) != 0) {
			http_error(rs, 422, "event_id_mismatch",
			    "id must equal the webhook-id header");
			goto out;
		}
		if (def->body == BODY_EVENT && sha256_hex(rq->body,
		    rq->bodysz, in.u.event.ev.body_sha256) == -1) {
			http_error(rs, 500, "internal", "internal error");
			goto out;
		}
	}
	rs->status = def->fn(app, &in, rs);
	assert(rs->status >= 200 && rs->status < 600);
out:
	json_object_put(root);
}

/*
 * Returns the body of a response and its length: the JSON text (owned by
 * the tree) or the text body.
 */
const char *
http_body(struct http_resp *rs, size_t *len)
{
	const char	*s;

	if (rs->text != NULL) {
		*len = rs->textsz;
		return rs->text;
	}
	if (rs->json == NULL) {
		*len = 0;
		return "";
	}
	s = json_object_to_json_string_length(rs->json,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	if (s == NULL) {
		*len = 0;
		return "";
	}
	return s;
}

/*
 * Writes the CGI response header block of "rs" for a body of "bodysz"
 * bytes into "buf".  Returns its length, or -1 if it does not fit.
 */
int
http_head(const struct http_resp *rs, char *buf, size_t sz, size_t bodysz)
{
	const char	*ctype = rs->content_type;
	int		 n;

	/* A response without a body (the landing redirect) has no type. */
	if (ctype == NULL && bodysz > 0)
		ctype = "application/json";
	n = snprintf(buf, sz,
	    "Status: %d %s\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "X-Request-Id: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s%s"
	    "%s%s%s"
	    "%s%s%s"
	    "%s"
	    "\r\n",
	    rs->status, status_reason(rs->status),
	    ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", bodysz, rs->request_id,
	    rs->location ? "Location: " : "", rs->location ? rs->location : "",
	    rs->location ? "\r\n" : "",
	    rs->cookie ? "Set-Cookie: " : "", rs->cookie ? rs->cookie : "",
	    rs->cookie ? "\r\n" : "",
	    rs->allow ? "Allow: " : "", rs->allow ? rs->allow : "",
	    rs->allow ? "\r\n" : "",
	    rs->www_auth ? "WWW-Authenticate: Bearer\r\n" : "");
	if (n < 0 || (size_t)n >= sz)
		return -1;
	return n;
}
