/*
 * A message's body: the JSON of POST /v1/events (SPEC.md section 5),
 * parsed with the API's limits and checked by the same core/ validators
 * into the struct event_in that db_event_apply() takes.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "consume.h"

enum ftype {
	FT_TOKEN,		/* printable ASCII, 1..max bytes */
	FT_ID,			/* positive int64: JSON integer or digits */
	FT_STR,			/* UTF-8, 1..max bytes */
	FT_MONEY,		/* "25.00" into minor units */
	FT_CURRENCY,		/* ISO 4217 letters */
	FT_TIME,		/* RFC 3339, checked, not kept */
};

struct field {
	const char	*name;
	enum ftype	 type;
	int		 required;
	size_t		 off;		/* in struct event_in; 0: not kept */
	size_t		 max;		/* bytes of a string */
};

#define EV(f)	offsetof(struct event_in, f)

/* The fields of fcgi/body.c's event_fields, with the same limits. */
static const struct field fields[] = {
	{ "id", FT_TOKEN, 1, EV(id), MAX_EVENT_ID },
	{ "type", FT_TOKEN, 1, EV(type), 63 },
	{ "user_id", FT_ID, 1, EV(user_id), 0 },
	{ "order_id", FT_STR, 1, EV(order_id), MAX_FIELD - 1 },
	{ "amount", FT_MONEY, 1, EV(amount), 32 },
	{ "currency", FT_CURRENCY, 1, EV(currency), 3 },
	{ "occurred_at", FT_TIME, 1, 0, 63 },
	{ "payment_fingerprint", FT_STR, 0, EV(payment_fp), MAX_FIELD - 1 },
};

#undef EV

/* Reads a positive int64 from a JSON integer or a string of digits. */
static int
json_id(json_object *v, int64_t *out)
{
	int64_t	 i;

	switch (json_object_get_type(v)) {
	case json_type_int:
		i = json_object_get_int64(v);
		if (i <= 0 || (i == INT64_MAX &&
		    json_object_get_uint64(v) != (uint64_t)INT64_MAX))
			return -1;
		*out = i;
		return 0;
	case json_type_string:
		return userid_parse(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), out);
	default:
		return -1;
	}
}

/* Checks one present field and stores it.  Returns 0, or -1 with "why". */
static int
field_take(const struct field *f, json_object *v, struct event_in *ev,
    char *why, size_t whysz)
{
	char		*dst = (char *)ev + f->off;
	const char	*s, *code = "invalid_field";
	size_t		 len;
	int64_t		 n;

	if (f->type == FT_ID) {
		if (json_id(v, &n) == -1) {
			snprintf(why, whysz, "invalid_user_id: %s must be a "
			    "positive 64-bit integer", f->name);
			return -1;
		}
		memcpy(dst, &n, sizeof(n));
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(why, whysz, "invalid_type: %s must be a string",
		    f->name);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (!utf8_valid(s, len)) {
		snprintf(why, whysz, "invalid_utf8: %s", f->name);
		return -1;
	}
	if (len == 0)
		return f->required ? (snprintf(why, whysz, "missing_field: %s "
		    "must not be empty", f->name), -1) : 0;
	if (len > f->max) {
		snprintf(why, whysz, "field_too_long: %s is longer than %zu "
		    "bytes", f->name, f->max);
		return -1;
	}
	switch (f->type) {
	case FT_MONEY:
		if (money_parse(s, &n) != MONEY_OK) {
			code = "invalid_amount";
			break;
		}
		memcpy(dst, &n, sizeof(n));
		return 0;
	case FT_CURRENCY:
		if (!currency_valid(s))
			code = "invalid_currency";
		else
			goto copy;
		break;
	case FT_TIME:
		if (time_rfc3339_valid(s))
			return 0;
		code = "invalid_time";
		break;
	case FT_TOKEN:
		if (token_valid(s, len))
			goto copy;
		break;
	default:
		goto copy;
	}
	snprintf(why, whysz, "%s: %s", code, f->name);
	return -1;
copy:
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/*
 * Fills "ev" (source "amqp", the body's SHA-256 for the conflict check)
 * from a message body.  Returns 0, or -1 with "code: what" in "why": the
 * message is not an event and goes to the dead-letter exchange.
 */
int
msg_event(const char *body, size_t len, struct event_in *ev, char *why,
    size_t whysz)
{
	json_tokener	*tok = NULL;
	json_object	*root = NULL, *v;
	size_t		 i, end;
	int		 rc = -1;

	memset(ev, 0, sizeof(*ev));
	snprintf(ev->source, sizeof(ev->source), "%s", CONSUME_SOURCE);
	if (len == 0 || len > MAX_MSG_BODY || memchr(body, '\0', len)) {
		snprintf(why, whysz, "invalid_json: the body is empty, too "
		    "long or has a NUL byte");
		goto out;
	}
	if ((tok = json_tokener_new_ex(MAX_JSON_DEPTH)) == NULL) {
		snprintf(why, whysz, "internal: out of memory");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	root = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	while (root != NULL && end < len && (body[end] == ' ' ||
	    body[end] == '\t' || body[end] == '\r' || body[end] == '\n'))
		end++;
	if (root == NULL || json_tokener_get_error(tok) !=
	    json_tokener_success || end != len) {
		snprintf(why, whysz, "invalid_json: %s", root == NULL ?
		    json_tokener_error_desc(json_tokener_get_error(tok)) :
		    "text after the JSON");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whysz, "invalid_type: the body must be a JSON "
		    "object");
		goto out;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!json_object_object_get_ex(root, fields[i].name, &v) ||
		    v == NULL) {
			if (!fields[i].required)
				continue;
			snprintf(why, whysz, "missing_field: %s is required",
			    fields[i].name);
			goto out;
		}
		if (field_take(&fields[i], v, ev, why, whysz) == -1)
			goto out;
	}
	if (sha256_hex(body, len, ev->body_sha256) == -1) {
		snprintf(why, whysz, "internal: sha256");
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}
