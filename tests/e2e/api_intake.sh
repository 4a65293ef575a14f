#!/usr/bin/env bash
# tests/e2e/api_intake.sh: orders from Stripe and Shopify (SPEC.md section
# 12).  Stripe events are signed by the official stripe npm library
# (tests/node, from its committed lockfile), Shopify's with Node's crypto
# as Shopify documents; the payloads keep the shapes of Stripe's and
# Shopify's documented example objects.
. "$(dirname "$0")/lib/api.sh"

command -v node >/dev/null || { echo "Bail out! node is missing (apt-get install nodejs npm)"; exit 1; }
NODE_DIR=$top/tests/node
if [ ! -d "$NODE_DIR/node_modules/stripe" ]; then
	npm ci --prefix "$NODE_DIR" --no-audit --no-fund >"$T/npm.log" 2>&1 ||
	    { echo "Bail out! npm ci failed: $(tail -3 "$T/npm.log")"; exit 1; }
fi
SSEC=$(conf_get stripe_webhook_secret)
PSEC=$(conf_get shopify_webhook_secret)
[ -n "$SSEC" ] && [ -n "$PSEC" ] || { echo "Bail out! no intake secrets in $CONF"; exit 1; }

# stripe_sig SECRET [TS] < body
stripe_sig() { node "$NODE_DIR/sign.js" stripe "$@"; }
# stripe BODY [SIGNATURE]: POST /v1/intake/stripe, signed now with the secret.
stripe() {
	local sig=${2:-$(printf '%s' "$1" | stripe_sig "$SSEC")}
	req POST /v1/intake/stripe -H 'Content-Type: application/json; charset=utf-8' \
	    -H "Stripe-Signature: $sig" --data-binary "$1"
}
# shopify TOPIC WEBHOOK_ID BODY [SECRET]
shopify() {
	local sig; sig=$(printf '%s' "$3" | node "$NODE_DIR/sign.js" shopify "${4:-$PSEC}")
	req POST /v1/intake/shopify -H 'Content-Type: application/json' \
	    -H "X-Shopify-Topic: $2" -H "X-Shopify-Webhook-Id: $1" \
	    -H "X-Shopify-Hmac-Sha256: $sig" --data-binary "$3"
}
status_of() { sql "SELECT status FROM referrals WHERE id = $1"; }

# Stripe's documented objects, trimmed to what matters and a few fields
# around it (https://docs.stripe.com/api/checkout/sessions/object, .../invoices
# /object, .../charges/object); the event envelope of /api/events/object.
evt() { # ID TYPE OBJECT
	printf '{"id":"%s","object":"event","api_version":"2024-06-20","created":%s,"data":{"object":%s},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"%s"}' \
	    "$1" "$(date +%s)" "$3" "$2"
}
checkout() { # ID USER PI AMOUNT PAYMENT_STATUS
	printf '{"id":"cs_test_%s","object":"checkout.session","amount_subtotal":%s,"amount_total":%s,"client_reference_id":null,"currency":"usd","customer":"cus_NeZwdNtLEOXuvB","customer_details":{"email":"jenny.rosen@example.com"},"metadata":{"referd_user_id":"%s"},"mode":"payment","payment_intent":"%s","payment_status":"%s","status":"complete","url":null}' \
	    "$1" "$4" "$4" "$2" "$3" "$5"
}
invoice() { # ID CLIENT_REF_USER PI AMOUNT
	printf '{"id":"in_%s","object":"invoice","amount_due":%s,"amount_paid":%s,"amount_remaining":0,"billing_reason":"subscription_cycle","currency":"usd","customer":"cus_NeZwdNtLEOXuvB","metadata":{"referd_user_id":"%s"},"paid":true,"payment_intent":"%s","status":"paid","subscription":"sub_1MowQVLkdIwHu7ixeRlqHVzs"}' \
	    "$1" "$4" "$4" "$2" "$3"
}
charge() { # ID USER PI
	printf '{"id":"ch_%s","object":"charge","amount":2500,"amount_captured":2500,"amount_refunded":2500,"currency":"usd","captured":true,"metadata":{"referd_user_id":"%s"},"paid":true,"payment_intent":"%s","refunded":true,"status":"succeeded"}' \
	    "$1" "$2" "$3"
}

referrer 300; C=$RCODE
att() { signup "{\"user_id\":$(uid "$1"),\"code\":\"$C\"}"; RID=$(j .referral.id); }

# --- Stripe ----------------------------------------------------------------
att 301; R1=$RID; U1=$(uid 301)
B=$(evt "evt_$UBASE-1" checkout.session.completed "$(checkout 1 "$U1" "pi_$UBASE-1" 2500 unpaid)")
stripe "$B"
is "checkout unpaid: 200 ignored not_paid" "$ST $(j .outcome) $(j .reason)" "200 ignored not_paid"
B=$(evt "evt_$UBASE-2" checkout.session.completed "$(checkout 2 "$U1" "pi_$UBASE-1" 2500 paid)")
stripe "$B"
is "checkout paid: 200 converted" "$ST $(j .outcome) $(j .referral_id)" "200 converted $R1"
is "recorded as source stripe, order the payment_intent" \
    "$(sql "SELECT CONCAT(source,' ',type,' ',order_id) FROM inbound_events WHERE event_id = 'evt_$UBASE-2'")" \
    "stripe order.completed pi_$UBASE-1"
stripe "$B"
is "redelivery: 200 duplicate" "$ST $(j .outcome)" "200 duplicate"
is "redelivery changed nothing" "$(sql "SELECT COUNT(*) FROM referral_rewards WHERE referral_id = $R1")" 2

att 302; R2=$RID; U2=$(uid 302)
B=$(evt "evt_$UBASE-3" invoice.paid "$(invoice 3 "$U2" "pi_$UBASE-3" 2500)")
stripe "$B"
is "invoice.paid: 200 converted" "$ST $(j .outcome) $(j .referral_id)" "200 converted $R2"
B=$(evt "evt_$UBASE-4" charge.refunded "$(charge 4 "$U2" "pi_$UBASE-3")")
stripe "$B"
is "charge.refunded of the converting order: 200 voided" "$ST $(j .outcome)" "200 voided"
is "referral voided" "$(status_of "$R2")" voided

att 303; R3=$RID; U3=$(uid 303)
B=$(evt "evt_$UBASE-5" charge.refunded "$(charge 5 "$U3" "pi_$UBASE-5")")
stripe "$B"
is "refund before completion: 200 ignored" "$ST $(j .outcome)" "200 ignored"
B=$(evt "evt_$UBASE-6" checkout.session.completed "$(checkout 6 "$U3" "pi_$UBASE-5" 2500 paid)")
stripe "$B"
is "completion after its refund: not converted" "$ST $(j .outcome) $(j .reason)" "200 ignored order_refunded"
is "referral still pending" "$(status_of "$R3")" pending

B=$(evt "evt_$UBASE-7" customer.created '{"id":"cus_1","object":"customer"}')
stripe "$B"
is "unknown type: 200 ignored" "$ST $(j .outcome) $(j .reason)" "200 ignored type_not_mapped"

# Signatures.
att 304; U4=$(uid 304)
B=$(evt "evt_$UBASE-8" checkout.session.completed "$(checkout 8 "$U4" "pi_$UBASE-8" 2500 paid)")
stripe "$B" "$(printf '%s' "$B" | stripe_sig "whsec_wrong$RANDOM")"
is "wrong secret: 401" "$ST $(errcode)" "401 invalid_signature"
stripe "$B" "$(printf '%s' "$B" | stripe_sig "$SSEC" $(( $(date +%s) - 600 )))"
is "old timestamp: 401" "$ST $(errcode)" "401 stale_timestamp"
# The Standard Webhooks reading: key = base64-decoded part after whsec_.
T0=$(date +%s)
SWKEY=$(printf '%s' "${SSEC#whsec_}" | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
SWMAC=$(printf '%s.%s' "$T0" "$B" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$SWKEY" | awk '{print $NF}')
stripe "$B" "t=$T0,v1=$SWMAC"
is "Standard Webhooks key (decoded whsec_): 401" "$ST $(errcode)" "401 invalid_signature"
GOOD=$(printf '%s' "$B" | stripe_sig "$SSEC" "$T0")
BAD=$(printf '%s' "$B" | stripe_sig "whsec_other" "$T0")
stripe "$B" "t=$T0,v1=${BAD#*v1=},v1=${GOOD#*v1=}"
is "several v1, one right: 200 converted" "$ST $(j .outcome)" "200 converted"
stripe "$B" "t=$T0"
is "no v1: 401" "$ST" 401
req POST /v1/intake/stripe -H 'Content-Type: application/json' --data-binary "$B"
is "unsigned: 401" "$ST $(errcode)" "401 invalid_signature"

# --- Shopify ---------------------------------------------------------------
att 311; R11=$RID; U11=$(uid 311)
OID=$((UBASE + 77))
ORDER=$(printf '{"id":%s,"admin_graphql_api_id":"gid://shopify/Order/%s","currency":"USD","current_total_price":"199.00","financial_status":"paid","name":"#9999","note_attributes":[{"name":"gift","value":"no"},{"name":"referd_user_id","value":"%s"}],"total_price":"199.00","customer":{"id":115310627314723954,"email":"john@example.com"},"line_items":[]}' \
    "$OID" "$OID" "$U11")
shopify "wh-$UBASE-1" orders/paid "$ORDER"
is "orders/paid: 200 converted" "$ST $(j .outcome) $(j .referral_id)" "200 converted $R11"
shopify "wh-$UBASE-1" orders/paid "$ORDER"
is "same X-Shopify-Webhook-Id: duplicate" "$ST $(j .outcome)" "200 duplicate"
is "recorded as source shopify" \
    "$(sql "SELECT CONCAT(source,' ',order_id,' ',user_id) FROM inbound_events WHERE event_id = 'wh-$UBASE-1'")" \
    "shopify $OID $U11"
shopify "wh-$UBASE-2" orders/paid "$ORDER" "not-the-secret"
is "wrong secret: 401" "$ST $(errcode)" "401 invalid_signature"
REFUND=$(printf '{"id":509562969,"order_id":%s,"created_at":"2024-01-01T00:00:00-05:00","note":"it broke","user_id":548380009,"restock":true,"refund_line_items":[],"transactions":[]}' "$OID")
shopify "wh-$UBASE-3" refunds/create "$REFUND"
is "refunds/create of the order: 200 voided" "$ST $(j .outcome)" "200 voided"
is "referral voided" "$(status_of "$R11")" voided
shopify "wh-$UBASE-4" orders/create "$ORDER"
is "a topic not mapped: 200 ignored" "$ST $(j .outcome)" "200 ignored"
shopify "wh-$UBASE-5" refunds/create "$(printf '{"id":1,"order_id":%s}' $((OID + 1)))"
is "refund of an unknown order: 200 ignored" "$ST $(j .outcome) $(j .reason)" "200 ignored order_not_found"

finish
