/*
 * Orders from Stripe and Shopify (SPEC 12): which events of a source
 * convert, which refund and which are ignored, and the user, order,
 * amount and currency each carries.  The fields come in as strings that
 * fcgi/ took out of the JSON; nothing here reads JSON or the database.
 */
#include "config.h"

#include <string.h>

#include "core.h"

/* One mapped type of a source and what it does. */
struct intake_type {
	const char	*name;
	enum conv_kind	 kind;
	int		 need_paid;	/* payment_status must be "paid" */
	int		 minor;		/* amount in minor units (Stripe) */
	int		 by_order;	/* the payload names no user: the
					   data layer finds the order's */
};

static const struct intake_type stripe_types[] = {
	{ "checkout.session.completed", CONV_ORDER, 1, 1, 0 },
	{ "invoice.paid", CONV_ORDER, 0, 1, 0 },
	{ "charge.refunded", CONV_REFUND, 0, 1, 0 },
};

static const struct intake_type shopify_types[] = {
	{ "orders/paid", CONV_ORDER, 0, 0, 0 },
	{ "refunds/create", CONV_REFUND, 0, 0, 1 },
};

static const struct {
	const char		*name;
	const struct intake_type *types;
	size_t			 n;
} sources[INTAKE__MAX] = {
	[INTAKE_STRIPE] = { "stripe", stripe_types,
	    sizeof(stripe_types) / sizeof(stripe_types[0]) },
	[INTAKE_SHOPIFY] = { "shopify", shopify_types,
	    sizeof(shopify_types) / sizeof(shopify_types[0]) },
};
_Static_assert(sizeof(sources) / sizeof(sources[0]) == INTAKE__MAX,
    "intake sources");

static const char *const reason_names[IR__MAX] = {
	[IR_NONE] = "",
	[IR_TYPE_NOT_MAPPED] = "type_not_mapped",
	[IR_NOT_PAID] = "not_paid",
	[IR_NO_USER_ID] = "no_user_id",
	[IR_NO_ORDER_ID] = "no_order_id",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == IR__MAX,
    "intake reasons");

/* Whether "s" is set: not NULL and not empty. */
static int
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Whether "s" (len bytes) is printable ASCII without spaces. */
static int
token_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return len > 0;
}

/* Parses 1 to 12 digits of minor units; returns 0 or -1. */
static int
minor_parse(const char *s, int64_t *out)
{
	int64_t	 v = 0;
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 12)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v > MONEY_MAX)
		return -1;
	*out = v;
	return 0;
}

/*
 * The user: referd_user_id of the metadata (or note attribute) wins and
 * must be a user id; else the alternative (client_reference_id,
 * customer.id), which other systems fill too: one that is not a user id
 * is no user of ours.  Returns INTAKE_OK, INTAKE_IGNORED or
 * INTAKE_BAD_USER_ID.
 */
static enum intake_rc
user_pick(const struct intake_fields *f, struct intake_event *ev)
{
	if (set(f->user_meta))
		return userid_parse(f->user_meta, strlen(f->user_meta),
		    &ev->user_id) == 0 ? INTAKE_OK : INTAKE_BAD_USER_ID;
	if (set(f->user_alt) && userid_parse(f->user_alt, strlen(f->user_alt),
	    &ev->user_id) == 0)
		return INTAKE_OK;
	ev->reason = IR_NO_USER_ID;
	return INTAKE_IGNORED;
}

/*
 * Maps an event of "src" to a conversion or a refund.  A type the source
 * does not map, an unpaid checkout session, an order without a user id
 * (no metadata, and a client_reference_id or customer id that is not a
 * user id) or without an order id is ignored, with ev->reason saying
 * why.  A mapped event whose fields are wrong is refused: the source's
 * integration is broken, and its retries let someone see it.
 * A Shopify refund carries no user: ev->user_id is 0 and the data layer
 * takes the user of the order's conversion.
 * Returns INTAKE_OK with "ev" filled, INTAKE_IGNORED, or INTAKE_BAD_*.
 */
enum intake_rc
intake_map(enum intake_source src, const struct intake_fields *f,
    struct intake_event *ev)
{
	const struct intake_type	*t = NULL;
	size_t				 i, len;
	enum intake_rc			 rc;

	memset(ev, 0, sizeof(*ev));
	ev->kind = CONV_OTHER;
	ev->reason = IR_TYPE_NOT_MAPPED;
	if ((unsigned int)src >= INTAKE__MAX || !set(f->type))
		return INTAKE_IGNORED;
	for (i = 0; i < sources[src].n && t == NULL; i++)
		if (strcmp(f->type, sources[src].types[i].name) == 0)
			t = &sources[src].types[i];
	if (t == NULL)
		return INTAKE_IGNORED;
	ev->reason = IR_NOT_PAID;
	if (t->need_paid && (f->status == NULL ||
	    strcmp(f->status, "paid") != 0))
		return INTAKE_IGNORED;
	ev->reason = IR_NONE;
	/* A Shopify refund names only its order: user 0, found later. */
	if (!(t->by_order && !set(f->user_meta) && !set(f->user_alt)) &&
	    (rc = user_pick(f, ev)) != INTAKE_OK)
		return rc;
	if (!set(f->order_id)) {
		ev->reason = IR_NO_ORDER_ID;
		return INTAKE_IGNORED;
	}
	len = strlen(f->order_id);
	if (len >= sizeof(ev->order_id) || !token_ok(f->order_id, len))
		return INTAKE_BAD_ORDER_ID;
	memcpy(ev->order_id, f->order_id, len + 1);
	ev->kind = t->kind;
	if (t->kind == CONV_REFUND)
		return INTAKE_OK;
	if (!set(f->amount))
		return INTAKE_BAD_AMOUNT;
	if (t->minor ? minor_parse(f->amount, &ev->amount) == -1 :
	    money_parse(f->amount, &ev->amount) != MONEY_OK)
		return INTAKE_BAD_AMOUNT;
	if (f->currency == NULL || strlen(f->currency) != 3)
		return INTAKE_BAD_CURRENCY;
	for (i = 0; i < 3; i++)
		ev->currency[i] = (char)(f->currency[i] >= 'a' &&
		    f->currency[i] <= 'z' ? f->currency[i] - 'a' + 'A' :
		    f->currency[i]);
	ev->currency[3] = '\0';
	if (!currency_valid(ev->currency))
		return INTAKE_BAD_CURRENCY;
	return INTAKE_OK;
}

/*
 * The type an intake event is stored under in inbound_events: the names
 * of POST /v1/events, so that a refund is found by the completion that
 * follows it whatever the source.  Returns NULL for CONV_OTHER.
 */
const char *
intake_type_name(enum conv_kind k)
{
	return k == CONV_ORDER ? "order.completed" :
	    k == CONV_REFUND ? "order.refunded" : NULL;
}

/* Returns the snake_case name of a reason ("" for IR_NONE). */
const char *
intake_reason_name(enum intake_reason r)
{
	return (unsigned int)r < IR__MAX ? reason_names[r] : "unknown";
}

/* Returns the source's name, stored as inbound_events.source. */
const char *
intake_source_name(enum intake_source s)
{
	return (unsigned int)s < INTAKE__MAX ? sources[s].name : "unknown";
}
