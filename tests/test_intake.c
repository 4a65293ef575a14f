/*
 * Unit tests of core/intake.c and core/intakesig.c: every branch of the
 * Stripe and Shopify mapping, and both signatures, with known vectors.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

#define NOW	1700000000

/*
 * Stripe vector:
 *   printf '1700000000.{"id":"evt_1"}' |
 *     openssl dgst -sha256 -hmac 'whsec_test_secret'
 */
#define S_SECRET "whsec_test_secret"
#define S_BODY	"{\"id\":\"evt_1\"}"
#define S_MAC	"248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
#define S_OTHER	"0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Shopify vector:
 *   printf '{"id":1}' | openssl dgst -sha256 -hmac 'hush' -binary | base64
 */
#define P_SECRET "hush"
#define P_BODY	"{\"id\":1}"
#define P_MAC	"VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="

static enum sig_rc
sv(const char *hdr, int64_t now)
{
	return stripe_sig_verify(S_SECRET, hdr, S_BODY, strlen(S_BODY), now);
}

static void
test_stripe_sig(void **state)
{
	char	 out[STRIPE_SIG_HEX + 1];

	(void)state;
	assert_int_equal(stripe_sig_sign(S_SECRET, NOW, S_BODY,
	    strlen(S_BODY), out), 0);
	assert_string_equal(out, S_MAC);
	assert_int_equal(sv("t=1700000000,v1=" S_MAC, NOW), SIG_OK);
	/* Several v1 entries and a v0: one right is enough. */
	assert_int_equal(sv("t=1700000000,v1=" S_OTHER ",v1=" S_MAC
	    ",v0=" S_OTHER, NOW), SIG_OK);
	assert_int_equal(sv("v1=" S_MAC ",t=1700000000", NOW), SIG_OK);
	assert_int_equal(sv("t=1700000000,v1=" S_OTHER, NOW), SIG_MISMATCH);
	assert_int_equal(sv("t=1700000000,v1=xyz", NOW), SIG_MISMATCH);
	assert_int_equal(sv("t=1700000000,v0=" S_MAC, NOW), SIG_MALFORMED);
	assert_int_equal(sv("v1=" S_MAC, NOW), SIG_MALFORMED);
	assert_int_equal(sv("t=1,t=1700000000,v1=" S_MAC, NOW),
	    SIG_MALFORMED);
	assert_int_equal(sv("t=17x,v1=" S_MAC, NOW), SIG_BAD_TIMESTAMP);
	assert_int_equal(sv("t=1700000000,v1=" S_MAC, NOW + SIG_TOLERANCE),
	    SIG_OK);
	assert_int_equal(sv("t=1700000000,v1=" S_MAC,
	    NOW + SIG_TOLERANCE + 1), SIG_TOO_OLD);
	assert_int_equal(sv("t=1700000000,v1=" S_MAC,
	    NOW - SIG_TOLERANCE - 1), SIG_TOO_NEW);
	assert_int_equal(sv("", NOW), SIG_MALFORMED);
	assert_int_equal(sv(NULL, NOW), SIG_MALFORMED);
	assert_int_equal(stripe_sig_verify("", "t=1700000000,v1=" S_MAC,
	    S_BODY, strlen(S_BODY), NOW), SIG_MALFORMED);
	/* The Standard Webhooks reading of the same secret is another key. */
	assert_int_equal(stripe_sig_verify("test_secret",
	    "t=1700000000,v1=" S_MAC, S_BODY, strlen(S_BODY), NOW),
	    SIG_MISMATCH);
}

static void
test_shopify_sig(void **state)
{
	char	 out[SIG_B64_LEN + 1];

	(void)state;
	assert_int_equal(shopify_sig_sign(P_SECRET, P_BODY, strlen(P_BODY),
	    out), 0);
	assert_string_equal(out, P_MAC);
	assert_int_equal(shopify_sig_verify(P_SECRET, P_MAC, P_BODY,
	    strlen(P_BODY)), SIG_OK);
	assert_int_equal(shopify_sig_verify("other", P_MAC, P_BODY,
	    strlen(P_BODY)), SIG_MISMATCH);
	assert_int_equal(shopify_sig_verify(P_SECRET, P_MAC, "{\"id\":2}", 8),
	    SIG_MISMATCH);
	assert_int_equal(shopify_sig_verify(P_SECRET, "abc", P_BODY,
	    strlen(P_BODY)), SIG_MALFORMED);
	assert_int_equal(shopify_sig_verify(P_SECRET, NULL, P_BODY,
	    strlen(P_BODY)), SIG_MALFORMED);
	assert_int_equal(shopify_sig_verify("", P_MAC, P_BODY,
	    strlen(P_BODY)), SIG_MALFORMED);
	assert_int_equal(shopify_sig_sign("", P_BODY, strlen(P_BODY), out),
	    -1);
}

/* One mapping case. */
struct mcase {
	enum intake_source	 src;
	struct intake_fields	 f;
	enum intake_rc		 rc;
	enum conv_kind		 kind;
	enum intake_reason	 reason;
	int64_t			 user;
	int64_t			 amount;
	const char		*currency;
};

static void
test_map_table(void **state)
{
	static const struct mcase cases[] = {
		/* Stripe: checkout paid converts; metadata wins. */
		{ INTAKE_STRIPE, { "checkout.session.completed", "paid", "42",
		    "7", "pi_1", "2500", "usd" }, INTAKE_OK, CONV_ORDER,
		    IR_NONE, 42, 2500, "USD" },
		{ INTAKE_STRIPE, { "checkout.session.completed", "paid", NULL,
		    "7", "pi_1", "2500", "eur" }, INTAKE_OK, CONV_ORDER,
		    IR_NONE, 7, 2500, "EUR" },
		{ INTAKE_STRIPE, { "checkout.session.completed", "unpaid",
		    "42", NULL, "pi_1", "2500", "usd" }, INTAKE_IGNORED,
		    CONV_OTHER, IR_NOT_PAID, 0, 0, "" },
		{ INTAKE_STRIPE, { "checkout.session.completed", NULL,
		    "42", NULL, "pi_1", "2500", "usd" }, INTAKE_IGNORED,
		    CONV_OTHER, IR_NOT_PAID, 0, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", "usd" }, INTAKE_OK, CONV_ORDER, IR_NONE, 42, 1000,
		    "USD" },
		{ INTAKE_STRIPE, { "charge.refunded", NULL, "42", NULL,
		    "pi_2", "1000", "usd" }, INTAKE_OK, CONV_REFUND, IR_NONE,
		    42, 0, "" },
		{ INTAKE_STRIPE, { "customer.created", NULL, "42", NULL,
		    "pi_2", "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_TYPE_NOT_MAPPED, 0, 0, "" },
		{ INTAKE_STRIPE, { NULL, NULL, NULL, NULL, NULL, NULL, NULL },
		    INTAKE_IGNORED, CONV_OTHER, IR_TYPE_NOT_MAPPED, 0, 0, "" },
		/* Users: a bad referd_user_id is refused, a foreign
		   client_reference_id is no user of ours. */
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "x1", "7", "pi_2",
		    "1000", "usd" }, INTAKE_BAD_USER_ID, CONV_OTHER, IR_NONE,
		    0, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, NULL, "cus_abc",
		    "pi_2", "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_NO_USER_ID, 0, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "", "", "pi_2",
		    "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_NO_USER_ID, 0, 0, "" },
		{ INTAKE_STRIPE, { "charge.refunded", NULL, NULL, NULL,
		    "pi_2", NULL, NULL }, INTAKE_IGNORED, CONV_OTHER,
		    IR_NO_USER_ID, 0, 0, "" },
		/* Orders, amounts, currencies. */
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, NULL,
		    "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_NO_ORDER_ID, 42, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi 2",
		    "1000", "usd" }, INTAKE_BAD_ORDER_ID, CONV_OTHER, IR_NONE,
		    42, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "10.00", "usd" }, INTAKE_BAD_AMOUNT, CONV_ORDER, IR_NONE,
		    42, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    NULL, "usd" }, INTAKE_BAD_AMOUNT, CONV_ORDER, IR_NONE,
		    42, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000000000000", "usd" }, INTAKE_BAD_AMOUNT, CONV_ORDER,
		    IR_NONE, 42, 0, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "0", "usd" }, INTAKE_OK, CONV_ORDER, IR_NONE, 42, 0,
		    "USD" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", "usdx" }, INTAKE_BAD_CURRENCY, CONV_ORDER, IR_NONE,
		    42, 1000, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", NULL }, INTAKE_BAD_CURRENCY, CONV_ORDER, IR_NONE,
		    42, 1000, "" },
		{ INTAKE_STRIPE, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", "u1d" }, INTAKE_BAD_CURRENCY, CONV_ORDER, IR_NONE,
		    42, 1000, "" },
		/* Shopify. */
		{ INTAKE_SHOPIFY, { "orders/paid", NULL, "42", "9", "820982911",
		    "199.00", "cad" }, INTAKE_OK, CONV_ORDER, IR_NONE, 42,
		    19900, "CAD" },
		{ INTAKE_SHOPIFY, { "orders/paid", NULL, NULL, "9", "820982911",
		    "199.5", "USD" }, INTAKE_OK, CONV_ORDER, IR_NONE, 9,
		    19950, "USD" },
		{ INTAKE_SHOPIFY, { "orders/paid", NULL, NULL, "9", "820982911",
		    "1995", "USD" }, INTAKE_OK, CONV_ORDER, IR_NONE, 9,
		    199500, "USD" },
		{ INTAKE_SHOPIFY, { "orders/paid", NULL, NULL, "9", "820982911",
		    "19.999", "USD" }, INTAKE_BAD_AMOUNT, CONV_ORDER, IR_NONE,
		    9, 0, "" },
		{ INTAKE_SHOPIFY, { "refunds/create", NULL, NULL, NULL,
		    "820982911", NULL, NULL }, INTAKE_OK, CONV_REFUND, IR_NONE,
		    0, 0, "" },
		{ INTAKE_SHOPIFY, { "refunds/create", NULL, "42", NULL,
		    "820982911", NULL, NULL }, INTAKE_OK, CONV_REFUND, IR_NONE,
		    42, 0, "" },
		{ INTAKE_SHOPIFY, { "orders/create", NULL, "42", NULL,
		    "820982911", "1.00", "USD" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_TYPE_NOT_MAPPED, 0, 0, "" },
		/* A Stripe type on the Shopify intake is not mapped. */
		{ INTAKE_SHOPIFY, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_TYPE_NOT_MAPPED, 0, 0, "" },
		{ INTAKE__MAX, { "invoice.paid", NULL, "42", NULL, "pi_2",
		    "1000", "usd" }, INTAKE_IGNORED, CONV_OTHER,
		    IR_TYPE_NOT_MAPPED, 0, 0, "" },
	};
	struct intake_event	 ev;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase	*c = &cases[i];

		print_message("case %zu\n", i);
		assert_int_equal(intake_map(c->src, &c->f, &ev), c->rc);
		if (c->rc == INTAKE_OK) {
			assert_int_equal(ev.kind, c->kind);
			assert_string_equal(ev.order_id, c->f.order_id);
		}
		if (c->rc == INTAKE_IGNORED)
			assert_int_equal(ev.reason, c->reason);
		if (c->rc == INTAKE_OK || c->rc == INTAKE_BAD_AMOUNT ||
		    c->rc == INTAKE_BAD_CURRENCY || c->rc == INTAKE_BAD_ORDER_ID)
			assert_int_equal(ev.user_id, c->user);
		if (c->rc == INTAKE_OK) {
			assert_int_equal(ev.amount, c->amount);
			assert_string_equal(ev.currency, c->currency);
		}
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(intake_type_name(CONV_ORDER), "order.completed");
	assert_string_equal(intake_type_name(CONV_REFUND), "order.refunded");
	assert_null(intake_type_name(CONV_OTHER));
	assert_string_equal(intake_reason_name(IR_NOT_PAID), "not_paid");
	assert_string_equal(intake_reason_name(IR_NONE), "");
	assert_string_equal(intake_reason_name(IR__MAX), "unknown");
	assert_string_equal(intake_source_name(INTAKE_STRIPE), "stripe");
	assert_string_equal(intake_source_name(INTAKE_SHOPIFY), "shopify");
	assert_string_equal(intake_source_name(INTAKE__MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stripe_sig),
		cmocka_unit_test(test_shopify_sig),
		cmocka_unit_test(test_map_table),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
