/*
 * The request path after the socket, in kcgi's order: routing, limits,
 * then auth.c's checks, body.c's parsing and validators, and the
 * handler; and the response head.  Nothing here touches FCGX_*: the
 * worker hands over a struct http_req and writes out the struct
 * http_resp it gets back, so every branch runs in a unit test.
 */
#include "config.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcgi.h"

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
	[ROUTE_INTAKE_STRIPE] = { "intake_stripe", "/v1/intake/stripe",
	    SEG_NONE, MB(METHOD_POST), AUTH_STRIPE, BODY_STRIPE,
	    h_intake_stripe },
	[ROUTE_INTAKE_SHOPIFY] = { "intake_shopify", "/v1/intake/shopify",
	    SEG_NONE, MB(METHOD_POST), AUTH_SHOPIFY, BODY_SHOPIFY,
	    h_intake_shopify },
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
 * Returns 1 if "s" can go into a response header as is: non-empty,
 * printable ASCII, no space.  Else 0.
 */
int
header_value_safe(const char *s)
{
	return s != NULL && token_valid(s, strlen(s));
}

/* Returns 1 if "s" is a cookie name (an RFC 6265 token), else 0. */
int
cookie_name_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') ||
		    strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
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
	if ((def->auth == AUTH_STRIPE || def->auth == AUTH_SHOPIFY) &&
	    intake_on(app, def->auth, rs) != 0)
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
		if ((def->auth == AUTH_STRIPE || def->auth == AUTH_SHOPIFY) &&
		    intake_check(app, def->auth, rq, &in, rs) != 0)
			return;
		if ((root = body_parse(rq, rs)) == NULL)
			return;
		if (body_validate(def->body, root, &in, rs) != 0)
			goto out;
		if (def->body == BODY_EVENT && rq->wh_id != NULL &&
		    strcmp(in.u.event.ev.id, rq->wh_id) != 0) {
			http_error(rs, 422, "event_id_mismatch",
			    "id must equal the webhook-id header");
			goto out;
		}
		if ((def->body == BODY_EVENT && sha256_hex(rq->body,
		    rq->bodysz, in.u.event.ev.body_sha256) == -1) ||
		    ((def->body == BODY_STRIPE || def->body == BODY_SHOPIFY) &&
		    sha256_hex(rq->body, rq->bodysz,
		    in.u.intake.body_sha256) == -1)) {
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
	char		 retry[32] = "";
	int		 n;

	/* A response without a body (the landing redirect) has no type. */
	if (ctype == NULL && bodysz > 0)
		ctype = "application/json";
	/* 503 is the database away: worth trying again soon. */
	if (rs->status == 503)
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n",
		    RETRY_AFTER_SECONDS);
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
	    rs->www_auth ? "WWW-Authenticate: Bearer\r\n" : "", retry);
	if (n < 0 || (size_t)n >= sz)
		return -1;
	return n;
}
