#!/usr/bin/env bash
# tests/e2e/api_signup.sh: POST /v1/signups through the web server:
# attribution, every reject and hold rule of SPEC.md section 7 with its
# fraud flag row, and repeat calls answering the first answer.
. "$(dirname "$0")/lib/api.sh"

# flag_of USER: "rule/decision" of the user's fraud flags, and whether
# every one has a detail.
flag_of() {
	sql "SELECT CONCAT(GROUP_CONCAT(CONCAT(rule, '/', decision) ORDER BY id),
	    IF(MIN(LENGTH(detail)) > 0, '', ' (no detail)'))
	    FROM fraud_flags WHERE user_id = $1"
}

A=$(uid 100)
referrer 100 "$IPNET.1"; CA=$RCODE
like "referrer A signs up without a code and gets a code" "$CA" '^[0-9A-Z]{8}$'
is "no code: attribution none, referral null" \
    "$(j '.attribution.result + "/" + (.referral | tostring)')" "none/null"
signup "{\"user_id\":$(uid 99),\"device_fingerprint\":\"devA-$UBASE\"}"
api POST /v1/users/$(uid 99)/code; CA2=$(j .code)
sql "UPDATE user_devices SET user_id = $A WHERE user_id = $(uid 99)"

# --- attributed ----------------------------------------------------------
U=$(uid 101)
LOWER=$(echo "$CA" | tr A-Z a-z)
signup "{\"user_id\":$U,\"code\":\"${LOWER:0:4}-${LOWER:4}\",\"email\":\"new@example.com\",\"ip\":\"$IPNET.2\",\"device_fingerprint\":\"dev-$U\"}"
FIRST=$BODY
is "attributed: 201" "$ST" 201
is "answer has exactly user_id, code, referral, attribution" \
    "$(j 'keys | join(",")')" "attribution,code,referral,user_id"
is "referral has exactly id, referrer_id, status, review" \
    "$(j '.referral | keys | join(",")')" "id,referrer_id,review,status"
is "attributed to A, pending, not held" \
    "$(j '[.user_id, .referral.referrer_id, .referral.status, .referral.review, .attribution.result] | join(" ")')" \
    "$U $A pending none attributed"
is "attributed: no reason" "$(j '.attribution | has("reason")')" false
R101=$(j .referral.id)
OWN=$(j .code)
like "the new user got a code of their own" "$OWN" '^[0-9A-Z]{8}$'
api GET "/v1/users/$U/code"
is "and GET finds it" "$(j .code)" "$OWN"
is "referrals row: A -> U, code, pending" \
    "$(sql "SELECT CONCAT(referrer_id, ' ', referee_id, ' ', code, ' ', status) FROM referrals WHERE id = $R101")" \
    "$A $U $CA pending"
is "signals recorded (email domain, ip, device)" \
    "$(sql "SELECT CONCAT(email_domain, ' ', signup_ip, ' ', device_fingerprint) FROM user_signals WHERE user_id = $U")" \
    "example.com $IPNET.2 dev-$U"

# --- repeat --------------------------------------------------------------
signup "{\"user_id\":$U,\"code\":\"$CA\",\"email\":\"new@example.com\",\"ip\":\"$IPNET.2\",\"device_fingerprint\":\"dev-$U\"}"
is "repeat signup: 200" "$ST" 200
is "repeat signup: the first answer" "$(printf '%s' "$BODY" | jq -S -c .)" \
    "$(printf '%s' "$FIRST" | jq -S -c .)"
signup "{\"user_id\":$U,\"code\":\"$CA2\"}"
is "repeat with another code: 200, still the first referral" \
    "$ST $(j .referral.id) $(j .referral.referrer_id)" "200 $R101 $A"
is "one referral for the user" \
    "$(sql "SELECT COUNT(*) FROM referrals WHERE referee_id = $U")" 1

# --- rejects ---------------------------------------------------------------
U=$(uid 102)
api POST "/v1/users/$U/code"; C102=$(j .code)
signup "{\"user_id\":$U,\"code\":\"$C102\"}"
is "self-referral: 201 rejected self_referral, no referral" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral)" \
    "201 rejected self_referral null"
is "self-referral: fraud flag" "$(flag_of "$U")" "self_referral/reject"

B=$(uid 110)
referrer 110; CB=$RCODE
sql "INSERT INTO flagged_users (user_id, reason, flagged_by, created_at)
     VALUES ($B, 'e2e', 'api_signup.sh', UTC_TIMESTAMP())"
U=$(uid 111)
signup "{\"user_id\":$U,\"code\":\"$CB\"}"
is "flagged referrer: rejected referrer_flagged" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral)" \
    "201 rejected referrer_flagged null"
is "flagged referrer: fraud flag" "$(flag_of "$U")" "referrer_flagged/reject"

U=$(uid 120)
signup "{\"user_id\":$U,\"code\":\"$CA\",\"device_fingerprint\":\"devA-$UBASE\"}"
is "device of the referrer: rejected device_match" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral)" \
    "201 rejected device_match null"
is "device match: fraud flag" "$(flag_of "$U")" "device_match/reject"

referrer 130; CC=$RCODE
sql "UPDATE referral_codes SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 DAY WHERE code = '$CC'"
U=$(uid 131)
signup "{\"user_id\":$U,\"code\":\"$CC\"}"
is "expired code: rejected code_expired" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral)" \
    "201 rejected code_expired null"
is "expired code: fraud flag" "$(flag_of "$U")" "code_expired/reject"

referrer 135; CD=$RCODE
sql "UPDATE referral_codes SET disabled_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE code = '$CD'"
U=$(uid 136)
signup "{\"user_id\":$U,\"code\":\"$CD\"}"
is "disabled code: rejected code_disabled" \
    "$ST $(j .attribution.result) $(j .attribution.reason)" "201 rejected code_disabled"

U=$(uid 140)
signup "{\"user_id\":$U,\"code\":\"Q0Q0Q0Q0\"}"
is "unknown code: rejected code_unknown" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral)" \
    "201 rejected code_unknown null"
is "unknown code: fraud flag" "$(flag_of "$U")" "code_unknown/reject"

# --- holds -----------------------------------------------------------------
E=$(uid 150)
referrer 150 "$IPNET.3"; CE=$RCODE
U=$(uid 151)
signup "{\"user_id\":$U,\"code\":\"$CE\",\"ip\":\"$IPNET.3\"}"
is "same IP as the referrer: held same_ip, referral made" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral.status) $(j .referral.review)" \
    "201 held same_ip pending held"
is "same ip: fraud flag" "$(flag_of "$U")" "same_ip/hold"
is "same ip: referral held in the database" \
    "$(sql "SELECT CONCAT(review, ' ', review_rule) FROM referrals WHERE referee_id = $U")" \
    "held same_ip"
U=$(uid 152)
signup "{\"user_id\":$U,\"code\":\"$CE\",\"email\":\"Someone@Mailinator.COM\"}"
is "disposable email domain: held disposable_email" \
    "$ST $(j .attribution.result) $(j .attribution.reason) $(j .referral.review)" \
    "201 held disposable_email held"
is "disposable email: fraud flag" "$(flag_of "$U")" "disposable_email/hold"
U=$(uid 153)
signup "{\"user_id\":$U,\"code\":\"$CE\",\"email\":\"a@sub.mailinator.com\",\"ip\":\"$IPNET.3\"}"
is "two holds: the first rule decides" "$(j .attribution.reason)" "same_ip"
is "two holds: both leave a flag" "$(flag_of "$U")" "same_ip/hold,disposable_email/hold"

F=$(uid 160)
referrer 160; CF=$RCODE
res=""
for i in $(seq 161 170); do
	signup "{\"user_id\":$(uid "$i"),\"code\":\"$CF\"}"
	res="$res $(j .attribution.result)"
done
is "10 signups to one referrer in an hour: all attributed" "$res" \
    "$(printf ' attributed%.0s' $(seq 10))"
U=$(uid 171)
signup "{\"user_id\":$U,\"code\":\"$CF\"}"
is "the 11th: held referrer_velocity" \
    "$ST $(j .attribution.result) $(j .attribution.reason)" "201 held referrer_velocity"
is "referrer velocity: fraud flag" "$(flag_of "$U")" "referrer_velocity/hold"

X="$IPNET.4"
res=""
for i in $(seq 180 183); do
	signup "{\"user_id\":$(uid "$i"),\"ip\":\"$X\"}"
	res="$res $ST/$(j .attribution.result)"
done
is "4 signups from one IP without a code" "$res" " 201/none 201/none 201/none 201/none"
signup "{\"user_id\":$(uid 184),\"code\":\"$CA\",\"ip\":\"$X\"}"
is "the 5th from that IP: attributed" "$(j .attribution.result)" "attributed"
U=$(uid 185)
signup "{\"user_id\":$U,\"code\":\"$CA\",\"ip\":\"$X\"}"
is "the 6th from that IP: held ip_velocity" \
    "$ST $(j .attribution.result) $(j .attribution.reason)" "201 held ip_velocity"
is "ip velocity: fraud flag" "$(flag_of "$U")" "ip_velocity/hold"
U=$(uid 186)
signup "{\"user_id\":$U,\"code\":\"$CA\",\"ip\":\"::ffff:$X\"}"
is "the same IPv4 address written as IPv6: held ip_velocity" \
    "$(j .attribution.reason)" "ip_velocity"

# --- stats of a referrer ------------------------------------------------------
api GET "/v1/referrers/$E/stats"
is "stats: exactly the fields of the spec" "$(j 'keys_unsorted | join(",")')" \
    "user_id,code,clicks,signups,pending,converted,rewarded,voided,held,conversion_rate,rewards"
is "stats of E: 3 signups, all pending, all held" \
    "$(j '[.signups, .pending, .converted, .rewarded, .voided, .held] | join(" ")')" "3 3 0 0 0 3"
api GET "/v1/referrers/$F/stats"
is "stats of F: 11 signups, 1 held, rate 0" \
    "$(j '[.signups, .pending, .held, .conversion_rate, (.rewards | length)] | join(" ")')" "11 11 1 0 0"
api GET "/v1/referrers/$(uid 199)/stats"
is "stats of an unknown user: 404" "$ST/$(errcode)" "404/not_found"

finish
