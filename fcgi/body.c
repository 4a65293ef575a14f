/*
 * A request's JSON body: parsed with the limits of the API (depth, no
 * json-c extensions, no duplicate keys) and validated by one table of
 * fields per body kind into the typed struct input the handlers take.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi.h"

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

static int	 stripe_body(json_object *, struct input *, struct http_resp *);
static int	 shopify_body(json_object *, struct input *, struct http_resp *);

/* A body kind: its field table, or a function for a source's JSON. */
static const struct {
	const struct field	*fields;
	size_t			 n;
	int			(*fn)(json_object *, struct input *,
				    struct http_resp *);
} bodies[BODY__MAX] = {
	[BODY_NONE] = { NULL, 0 },
	[BODY_SIGNUP] = { signup_fields,
	    sizeof(signup_fields) / sizeof(signup_fields[0]) },
	[BODY_EVENT] = { event_fields,
	    sizeof(event_fields) / sizeof(event_fields[0]) },
	[BODY_VOID] = { void_fields,
	    sizeof(void_fields) / sizeof(void_fields[0]) },
	[BODY_STRIPE] = { NULL, 0, stripe_body },
	[BODY_SHOPIFY] = { NULL, 0, shopify_body },
};
_Static_assert(sizeof(bodies) / sizeof(bodies[0]) == BODY__MAX, "bodies");

/*
 * The text of member "k" of object "o" if it is a string of valid UTF-8
 * or an integer (Shopify's ids are numbers), else NULL: absent, null and
 * any other type are all "not there".  The text belongs to the tree.
 */
static const char *
jtext(json_object *o, const char *k)
{
	json_object	*v;
	const char	*s;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, k, &v) || v == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_int))
		return NULL;
	/* An embedded NUL would make the text shorter than the string. */
	if ((s = json_object_get_string(v)) == NULL ||
	    (json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) != strlen(s)) ||
	    !utf8_valid(s, strlen(s)))
		return NULL;
	return s;
}

/* Member "k" of "o" if it is an object, else NULL. */
static json_object *
jobj(json_object *o, const char *k)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/*
 * A Stripe event: {"id","type","data":{"object":{...}}}.  The object is
 * a checkout session, an invoice or a charge; the fields SPEC 12 maps
 * are taken out as text and judged by intake_map().
 */
static int
stripe_body(json_object *root, struct input *in, struct http_resp *rs)
{
	struct in_intake	*ii = &in->u.intake;
	json_object		*obj;
	const char		*id;

	id = jtext(root, "id");
	if (id == NULL || strlen(id) > MAX_EVENT_ID ||
	    !token_valid(id, strlen(id)))
		return http_error(rs, 422, "invalid_field",
		    "id: a Stripe event id is required");
	memcpy(ii->id, id, strlen(id) + 1);
	ii->f.type = jtext(root, "type");
	obj = jobj(jobj(root, "data"), "object");
	ii->f.status = jtext(obj, "payment_status");
	ii->f.user_meta = jtext(jobj(obj, "metadata"), "referd_user_id");
	ii->f.user_alt = jtext(obj, "client_reference_id");
	ii->f.order_id = jtext(obj, "payment_intent");
	if ((ii->f.amount = jtext(obj, "amount_total")) == NULL)
		ii->f.amount = jtext(obj, "amount_paid");
	ii->f.currency = jtext(obj, "currency");
	return 0;
}

/*
 * A Shopify order (orders/paid) or refund (refunds/create): the topic
 * came in its header.  A refund's order is "order_id", an order's "id";
 * the user is the note attribute referd_user_id, else customer.id.
 */
static int
shopify_body(json_object *root, struct input *in, struct http_resp *rs)
{
	struct in_intake	*ii = &in->u.intake;
	json_object		*attrs, *a;
	const char		*name;
	size_t			 i, n;

	(void)rs;
	ii->f.type = ii->topic;
	if ((ii->f.order_id = jtext(root, "order_id")) == NULL)
		ii->f.order_id = jtext(root, "id");
	ii->f.amount = jtext(root, "total_price");
	ii->f.currency = jtext(root, "currency");
	ii->f.user_alt = jtext(jobj(root, "customer"), "id");
	if (json_object_object_get_ex(root, "note_attributes", &attrs) &&
	    json_object_is_type(attrs, json_type_array)) {
		n = json_object_array_length(attrs);
		for (i = 0; i < n && i < MAX_LIST; i++) {
			a = json_object_array_get_idx(attrs, i);
			if ((name = jtext(a, "name")) != NULL &&
			    strcmp(name, "referd_user_id") == 0) {
				ii->f.user_meta = jtext(a, "value");
				break;
			}
		}
	}
	return 0;
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
int
body_validate(enum body_kind kind, json_object *root, struct input *in,
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
	if (bodies[kind].fn != NULL)
		return bodies[kind].fn(root, in, rs);
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
json_object *
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
