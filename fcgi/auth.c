/*
 * Who may make a request: the API keys (bearer, compared in constant
 * time) and the signatures of the order sources (Standard Webhooks,
 * Stripe, Shopify) over the raw body.  Called by http_serve() before the
 * body is parsed; nothing here touches FCGX_*.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fcgi.h"

/*
 * Checks the bearer key for "auth".  Both keys are always compared, in
 * constant time.  Returns 0 with "cred" naming the key that passed for
 * the audit ("admin_api_key:" or "api_key:" and the first 8 hex digits
 * of its SHA-256: which key, never the key), or 401 or 403 (with the
 * error filled in).
 */
int
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

/*
 * Verifies the Standard Webhooks signature of an event over the raw body.
 * Returns 0 or 401 (error filled in).
 */
int
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

/*
 * Whether the intake of "auth" is configured: its secret is set.
 * Returns 0, or 404 intake_not_configured (error filled in), so that an
 * order source pointed at a stack that does not take it hears so.
 */
int
intake_on(struct app *app, enum auth auth, struct http_resp *rs)
{
	const char	*secret = auth == AUTH_STRIPE ?
			    app->conf->stripe_webhook_secret :
			    app->conf->shopify_webhook_secret;

	if (secret[0] != '\0')
		return 0;
	return http_error(rs, 404, "intake_not_configured", auth ==
	    AUTH_STRIPE ? "stripe_webhook_secret is not set" :
	    "shopify_webhook_secret is not set");
}

/*
 * Verifies the signature of an order source over the raw body (Stripe:
 * Stripe-Signature with stripe_webhook_secret as it is; Shopify:
 * X-Shopify-Hmac-Sha256) and copies the Shopify headers the handler
 * needs into "in".  Returns 0, 401 or 422 (error filled in).
 */
int
intake_check(struct app *app, enum auth auth, const struct http_req *rq,
    struct input *in, struct http_resp *rs)
{
	struct in_intake	*ii = &in->u.intake;
	const char		*h;
	enum sig_rc		 rc;

	if (auth == AUTH_STRIPE) {
		if (rq->stripe_sig == NULL)
			return http_error(rs, 401, "invalid_signature",
			    "a Stripe-Signature header is required");
		rc = stripe_sig_verify(app->conf->stripe_webhook_secret,
		    rq->stripe_sig, rq->body, rq->bodysz, app->now());
	} else {
		if (rq->shop_hmac == NULL)
			return http_error(rs, 401, "invalid_signature",
			    "an X-Shopify-Hmac-Sha256 header is required");
		rc = shopify_sig_verify(app->conf->shopify_webhook_secret,
		    rq->shop_hmac, rq->body, rq->bodysz);
	}
	switch (rc) {
	case SIG_OK:
		break;
	case SIG_TOO_OLD:
	case SIG_TOO_NEW:
		return http_error(rs, 401, "stale_timestamp",
		    "the Stripe-Signature timestamp is more than 5 minutes "
		    "off");
	case SIG_BAD_TIMESTAMP:
		return http_error(rs, 401, "invalid_signature",
		    "the Stripe-Signature timestamp is not a number");
	default:
		return http_error(rs, 401, "invalid_signature",
		    auth == AUTH_STRIPE ? "no Stripe-Signature v1 matches" :
		    "X-Shopify-Hmac-Sha256 does not match");
	}
	if (auth == AUTH_STRIPE)
		return 0;
	h = rq->shop_id;
	if (h == NULL || strlen(h) > MAX_EVENT_ID || !token_valid(h, strlen(h)))
		return http_error(rs, 422, "invalid_webhook_id",
		    "X-Shopify-Webhook-Id must be 1 to 128 printable ASCII "
		    "characters");
	memcpy(ii->id, h, strlen(h) + 1);
	h = rq->shop_topic;
	if (h == NULL || strlen(h) >= sizeof(ii->topic) ||
	    !token_valid(h, strlen(h)))
		return http_error(rs, 422, "invalid_topic",
		    "X-Shopify-Topic must be a topic such as orders/paid");
	memcpy(ii->topic, h, strlen(h) + 1);
	return 0;
}

