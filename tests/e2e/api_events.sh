#!/usr/bin/env bash
# tests/e2e/api_events.sh: signed conversion events (POST /v1/events) and
# every outcome of SPEC.md section 5, rewards and outbox rows, referral
# detail (with each revocation's delivery), referrer stats adding up, the
# admin void, and a referrer flagged after attribution held at reward time.
. "$(dirname "$0")/lib/api.sh"

# att N: signs user N up with referrer A's code; the referral id is in RID.
att() {
	signup "{\"user_id\":$(uid "$1"),\"code\":\"$CA\"}"
	RID=$(j .referral.id)
}
rewards_of() { sql "SELECT COUNT(*) FROM referral_rewards WHERE referral_id = $1"; }
outbox_of() {
	sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id
	    WHERE w.referral_id = $1 AND o.event = 'reward.$2'"
}
status_of() { sql "SELECT status FROM referrals WHERE id = $1"; }

A=$(uid 200)
referrer 200; CA=$RCODE
att 201; R1=$RID
U1=$(uid 201)
EV1=$(ev_json "ev-$UBASE-1" "$U1" "o-$UBASE-1" 25.00)

# --- converts --------------------------------------------------------------
event "$EV1"
is "qualifying event: 200 converted" "$ST $(j .outcome) $(j .referral_id)" "200 converted $R1"
is "event answer: outcome and referral_id only" "$(j 'keys | join(",")')" "outcome,referral_id"
is "referral rewarded at once (hold_days 0)" "$(status_of "$R1")" rewarded
is "two rewards: referrer 10.00 and referee 5.00 credit USD" \
    "$(sql "SELECT GROUP_CONCAT(role, ':', user_id, ':', type, ':', amount, ':', currency ORDER BY role)
    FROM referral_rewards WHERE referral_id = $R1")" \
    "referrer:$A:credit:10.00:USD,referee:$U1:credit:5.00:USD"
is "one reward.issued outbox row per reward, keyed reward-<id>" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id
    WHERE w.referral_id = $R1 AND o.event = 'reward.issued'
    AND o.idempotency_key = CONCAT('reward-', w.id)")" 2
is "the event is recorded with its outcome" \
    "$(sql "SELECT CONCAT(outcome, ' ', referral_id) FROM inbound_events WHERE event_id = 'ev-$UBASE-1'")" \
    "converted $R1"
is "conversion event and order on the referral" \
    "$(sql "SELECT CONCAT(conversion_event, ' ', conversion_order) FROM referrals WHERE id = $R1")" \
    "ev-$UBASE-1 o-$UBASE-1"

# --- referral detail ---------------------------------------------------------
api GET "/v1/referrals/$R1"
is "referral detail: 200" "$ST" 200
is "referral detail: ids, code, status" \
    "$(j '[.id, .referrer_id, .referee_id, .code, .status, .review] | join(" ")')" \
    "$R1 $A $U1 $CA rewarded none"
is "referral detail: two rewards with their delivery state" \
    "$(j '[.rewards | sort_by(.role) | .[] | .role + ":" + .amount + ":" + .status + ":" + (.delivery | has("status") and has("attempts") and has("last_error") | tostring)] | join(",")')" \
    "referee:5.00:issued:true,referrer:10.00:issued:true"
like "referral detail: times in RFC 3339" "$(j .converted_at) $(j .rewarded_at)" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $R1 AND o.status = 'delivered'\")\" = 2 ]" 10
api GET "/v1/referrals/$R1"
is "the dispatcher delivered both rewards (delivery.status)" \
    "$(j '[.rewards[].delivery.status] | join(",")')" "delivered,delivered"
api GET /v1/referrals/999999999999
is "unknown referral: 404" "$ST/$(errcode)" "404/not_found"

# --- duplicate, conflict ---------------------------------------------------------
event "$EV1"
is "same event again: 200 duplicate" "$ST $(j .outcome) $(j .referral_id)" "200 duplicate $R1"
TS=$(( $(date +%s) - 60 ))
event "$EV1" "" "$TS"
is "redelivered later with a new signature: duplicate" "$ST $(j .outcome)" "200 duplicate"
is "nothing changed: one event row, two rewards" \
    "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id = 'ev-$UBASE-1'") $(rewards_of "$R1")" "1 2"
event "$(ev_json "ev-$UBASE-1" "$U1" "o-$UBASE-1" 26.00)"
is "same id, other body: 409 event_id_conflict" "$ST/$(errcode)" "409/event_id_conflict"

# --- ignored, below minimum, no referral ------------------------------------------
event "$(ev_json "ev-$UBASE-2" "$U1" "o-$UBASE-2" 30.00)"
is "second order of a rewarded referee: ignored (already_rewarded)" \
    "$ST $(j .outcome) $(j .reason)" "200 ignored already_rewarded"
att 202; R2=$RID; U2=$(uid 202)
event "$(ev_json "ev-$UBASE-3" "$U2" "o-$UBASE-3" 25.00 order.created)"
is "non-qualifying type: ignored (type_not_qualifying)" \
    "$ST $(j .outcome) $(j .reason)" "200 ignored type_not_qualifying"
is "min_order_amount of the stack is 1.00" "$(conf_get min_order_amount)" "1.00"
event "$(ev_json "ev-$UBASE-4" "$U2" "o-$UBASE-4" 0.50)"
is "order of 0.50: below_minimum" "$ST $(j .outcome)" "200 below_minimum"
is "below minimum: still pending, no rewards" "$(status_of "$R2") $(rewards_of "$R2")" "pending 0"
event "$(ev_json "ev-$UBASE-5" "$U2" "o-$UBASE-5" 1.00)"
is "order of exactly 1.00: converted" "$ST $(j .outcome)" "200 converted"
event "$(ev_json "ev-$UBASE-6" "$(uid 299)" "o-$UBASE-6" 25.00)"
is "user without a referral: no_referral" "$ST $(j .outcome) $(j 'has("referral_id")')" "200 no_referral false"

# --- refund ------------------------------------------------------------------
att 203; R3=$RID; U3=$(uid 203)
event "$(ev_json "ev-$UBASE-7" "$U3" "o-$UBASE-7" 40.00)"
is "referee 203 converts" "$(j .outcome) $(status_of "$R3")" "converted rewarded"
event "$(ev_json "ev-$UBASE-8" "$U3" "o-other" 40.00 order.refunded)"
is "refund of another order: ignored" "$ST $(j .outcome)" "200 ignored"
event "$(ev_json "ev-$UBASE-9" "$U3" "o-$UBASE-7" 40.00 order.refunded)"
is "refund of the converting order: voided" "$ST $(j .outcome) $(j .referral_id)" "200 voided $R3"
is "refund after reward: two reward.revoked outbox rows" "$(outbox_of "$R3" revoked)" 2
is "refund: referral voided, rewards revoked" \
    "$(status_of "$R3") $(sql "SELECT GROUP_CONCAT(DISTINCT status) FROM referral_rewards WHERE referral_id = $R3")" \
    "voided revoked"

# --- payment fingerprint of the referrer ---------------------------------------------
event "$(ev_json "ev-$UBASE-10" "$A" "o-$UBASE-10" 12.00 order.completed ",\"payment_fingerprint\":\"card-$UBASE\"")"
is "the referrer's own order: no_referral (its card is recorded)" "$(j .outcome)" "no_referral"
att 204; R4=$RID; U4=$(uid 204)
event "$(ev_json "ev-$UBASE-11" "$U4" "o-$UBASE-11" 12.00 order.completed ",\"payment_fingerprint\":\"card-$UBASE\"")"
is "referee paying with the referrer's card: voided (payment_match)" \
    "$ST $(j .outcome) $(j .reason)" "200 voided payment_match"
is "payment match: no rewards, fraud flag" \
    "$(rewards_of "$R4") $(sql "SELECT CONCAT(rule, '/', decision) FROM fraud_flags WHERE referral_id = $R4")" \
    "0 payment_match/void"

# --- stats add up ----------------------------------------------------------------
att 205; R5=$RID
api GET "/v1/referrers/$A/stats"
is "stats: 200" "$ST" 200
is "stats: signups 5 = pending 1 + converted 0 + rewarded 2 + voided 2" \
    "$(j '[.signups, .pending, .converted, .rewarded, .voided, .held] | join(" ")')" "5 1 0 2 2 0"
is "stats: the buckets add up to signups" \
    "$(j '.pending + .converted + .rewarded + .voided == .signups')" true
is "stats: conversion rate 2/5" "$(j .conversion_rate)" "0.4"
is "stats: rewards issued to the referrer (not the revoked ones)" \
    "$(j '[.rewards[] | .type + " " + .currency + " " + .amount] | join(",")')" "credit USD 20.00"
is "stats: code" "$(j .code)" "$CA"

# --- void -----------------------------------------------------------------------
api POST "/v1/referrals/$R1/void" '{"reason":"test"}'
is "void with the ordinary key: 403" "$ST/$(errcode)" "403/forbidden"
req POST "/v1/referrals/$R1/void" -H 'Content-Type: application/json' --data-binary '{"reason":"x"}'
is "void without a key: 401" "$ST/$(errcode)" "401/unauthorized"
admin POST "/v1/referrals/$R1/void" '{}'
is "void without a reason: 422" "$ST/$(errcode)" "422/missing_field"
admin POST "/v1/referrals/$R1/void" "{\"reason\":\"$(printf 'r%.0s' $(seq 513))\"}"
is "void with a 513-byte reason: 422" "$ST/$(errcode)" "422/field_too_long"
admin POST "/v1/referrals/$R1/void" '{"reason":""}'
is "void with an empty reason: 422" "$ST/$(errcode)" "422/missing_field"
admin POST "/v1/referrals/999999999999/void" '{"reason":"x"}'
is "void of an unknown referral: 404" "$ST/$(errcode)" "404/not_found"
admin POST "/v1/referrals/$R1/void" '{"reason":"fraud ring, ticket 42"}'
is "void a rewarded referral: 200 voided with the reason" \
    "$ST $(j .status) $(j .void_reason)" "200 voided fraud ring, ticket 42"
is "void: two reward.revoked outbox rows" "$(outbox_of "$R1" revoked)" 2
is "void: rewards revoked" "$(j '[.rewards[].status] | join(",")')" "revoked,revoked"
is "void: audit log row by operator api" \
    "$(sql "SELECT CONCAT(operator, ' ', action, ' ', detail) FROM audit_log WHERE referral_id = $R1")" \
    "api void fraud ring, ticket 42"
wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $R1 AND o.event = 'reward.revoked' AND o.status = 'delivered'\")\" = 2 ]" 10
api GET "/v1/referrals/$R1"
is "GET after the void: each reward shows its revocation delivered too" \
    "$(j '[.rewards[] | .status + "/" + .delivery.status + "/" + .revocation.status + "/" + (.revoked_at != null | tostring)] | join(",")')" \
    "revoked/delivered/delivered/true,revoked/delivered/delivered/true"
admin POST "/v1/referrals/$R1/void" '{"reason":"again"}'
is "void again: 200, nothing more" "$ST $(j .void_reason) $(outbox_of "$R1" revoked)" \
    "200 fraud ring, ticket 42 2"
admin POST "/v1/referrals/$R5/void" '{"reason":"pending one"}'
is "void a pending referral: voided, no outbox rows" \
    "$ST $(j .status) $(outbox_of "$R5" revoked) $(outbox_of "$R5" issued)" "200 voided 0 0"
# --- a referrer flagged while a referral of theirs is pending -----------------
F=$(uid 260)
referrer 260; CF=$RCODE
UF=$(uid 261)
signup "{\"user_id\":$UF,\"code\":\"$CF\"}"
RF=$(j .referral.id)
sql "INSERT INTO flagged_users (user_id, reason, flagged_by, created_at)
     VALUES ($F, 'e2e', 'api_events.sh', UTC_TIMESTAMP())"
event "$(ev_json "ev-$UBASE-f1" "$UF" "o-$UBASE-f1" 25.00)"
is "flagged referrer: the order converts" "$ST $(j .outcome) $(j .referral_id)" "200 converted $RF"
is "flagged referrer: held for review with rule flagged_referrer, no rewards" \
    "$(sql "SELECT CONCAT(status, ' ', review, ' ', review_rule) FROM referrals WHERE id = $RF") $(rewards_of "$RF")" \
    "converted held flagged_referrer 0"
is "flagged referrer: a fraud flag flagged_referrer/hold" \
    "$(sql "SELECT CONCAT(rule, '/', decision) FROM fraud_flags WHERE referral_id = $RF")" \
    "flagged_referrer/hold"
sleep 2.5
is "flagged referrer: 2.5 s later nothing was sent (the dispatcher's due scan holds too)" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $RF") $(status_of "$RF")" \
    "0 converted"

# --- the order's amount, currency and time are kept; partial refunds ------------
G=$(uid 270)
referrer 270; CG=$RCODE
UG=$(uid 271)
signup "{\"user_id\":$UG,\"code\":\"$CG\"}"
RG=$(j .referral.id)
event "$(ev_json "ev-$UBASE-g0" "$UG" "o-$UBASE-g1" 500.00 | sed 's/"USD"/"EUR"/')"
is "an order in a currency with no minimum: below_minimum, whatever the amount" \
    "$ST $(j .outcome) $(status_of "$RG")" "200 below_minimum pending"
event "$(ev_json "ev-$UBASE-g1" "$UG" "o-$UBASE-g1" 25.00)"
is "the USD order converts" "$ST $(j .outcome) $(status_of "$RG")" "200 converted rewarded"
is "the event keeps the order's amount, currency and time" \
    "$(sql "SELECT CONCAT(amount, ' ', currency, ' ', occurred_at IS NOT NULL) FROM inbound_events WHERE event_id = 'ev-$UBASE-g1'")" \
    "25.00 USD 1"
event "$(ev_json "ev-$UBASE-g2" "$UG" "o-$UBASE-g1" 10.00 order.refunded)"
is "a partial refund (10.00 of 25.00): recorded, ignored, the referral stays rewarded" \
    "$ST $(j .outcome) $(status_of "$RG") $(sql "SELECT CONCAT(amount, ' ', outcome) FROM inbound_events WHERE event_id = 'ev-$UBASE-g2'")" \
    "200 ignored rewarded 10.00 ignored"
event "$(ev_json "ev-$UBASE-g3" "$UG" "o-$UBASE-g1" 25.00 order.refunded)"
is "the full refund voids it" "$ST $(j .outcome) $(status_of "$RG")" "200 voided voided"

api GET "/v1/referrers/$A/stats"
is "stats after the voids still add up" \
    "$(j '[.signups, .pending, .rewarded, .voided] | join(" ")') $(j '.pending + .converted + .rewarded + .voided == .signups')" \
    "5 0 1 4 true"

finish
