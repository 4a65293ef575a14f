#!/usr/bin/env bash
# tests/e2e/api_concurrency.sh: races through the web server: 50 parallel
# deliveries of one event give one conversion and two rewards; 10
# different qualifying events for one referee at once give one
# conversion; parallel signups, mints and landings of the same user or
# code neither duplicate nor lose anything; 50 signups with one code at
# once give exactly max_signups_per_referrer_per_hour attributed.
. "$(dirname "$0")/lib/api.sh"

PIDS0=$(fcgi_pids)
# par N DIR CMD...: runs CMD N times at once (argument {} is the index);
# each run leaves "status body" in DIR/<index>.
par() {
	local n=$1 dir=$2 i IFS=$'\n' pids=""; shift 2
	mkdir -p "$dir"
	for i in $(seq "$n"); do
		( curl -sS -o "$dir/$i.body" -w '%{http_code}\n' --max-time 30 \
		    $(printf '%s\n' "$@" | sed "s/{}/$i/g") >"$dir/$i.st" 2>"$dir/$i.err" ) &
		pids="$pids $!"
	done
	IFS=' '
	wait $pids
}
count() { cat "$1"/*.st | grep -c "^$2\$"; }
outcomes() { cat "$1"/*.body | jq -r .outcome | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'; }

referrer 400; CA=$RCODE
U1=$(uid 401)
signup "{\"user_id\":$U1,\"code\":\"$CA\"}"
R1=$(j .referral.id)

# --- one event, 50 deliveries at once -------------------------------------------
EV=$(ev_json "ev-$UBASE-c1" "$U1" "o-$UBASE-c1" 25.00)
TS=$(date +%s)
SIG=$(printf '%s' "$EV" | sign "ev-$UBASE-c1" "$TS")
printf '%s' "$EV" >"$T/ev"
par 50 "$T/p50" -X POST -H 'Content-Type: application/json' \
    -H "webhook-id: ev-$UBASE-c1" -H "webhook-timestamp: $TS" \
    -H "webhook-signature: $SIG" --data-binary "@$T/ev" "$BASE_URL/v1/events"
is "50 parallel deliveries: all 200" "$(count "$T/p50" 200)" 50
is "50 parallel deliveries: one converted, 49 duplicate" "$(outcomes "$T/p50")" \
    "converted:1 duplicate:49 "
is "one inbound event row" \
    "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id = 'ev-$UBASE-c1'")" 1
is "referral rewarded" "$(sql "SELECT status FROM referrals WHERE id = $R1")" rewarded
is "two rewards, one per party" \
    "$(sql "SELECT GROUP_CONCAT(role ORDER BY role) FROM referral_rewards WHERE referral_id = $R1")" \
    "referrer,referee"
is "two reward.issued outbox rows" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id
    WHERE w.referral_id = $R1 AND o.event = 'reward.issued'")" 2

# --- ten different qualifying events for one referee at once --------------------------
U2=$(uid 402)
signup "{\"user_id\":$U2,\"code\":\"$CA\"}"
R2=$(j .referral.id)
TS=$(date +%s)
mkdir -p "$T/p10"
pids=""
for i in $(seq 10); do
	ev_json "ev-$UBASE-m$i" "$U2" "o-$UBASE-m$i" "$((10 + i)).00" >"$T/p10/$i.ev"
	printf '%s' "$(sign "ev-$UBASE-m$i" "$TS" <"$T/p10/$i.ev")" >"$T/p10/$i.sig"
done
for i in $(seq 10); do
	( curl -sS -o "$T/p10/$i.body" -w '%{http_code}' --max-time 30 -X POST \
	    -H 'Content-Type: application/json' -H "webhook-id: ev-$UBASE-m$i" \
	    -H "webhook-timestamp: $TS" -H "webhook-signature: $(cat "$T/p10/$i.sig")" \
	    --data-binary "@$T/p10/$i.ev" "$BASE_URL/v1/events" >"$T/p10/$i.st"; echo >>"$T/p10/$i.st" ) &
	pids="$pids $!"
done
wait $pids
is "10 different events at once: all 200" "$(count "$T/p10" 200)" 10
is "10 different events at once: one converted, nine ignored" "$(outcomes "$T/p10")" \
    "converted:1 ignored:9 "
is "ten inbound event rows, one of them converting" \
    "$(sql "SELECT CONCAT(COUNT(*), ' ', SUM(outcome = 'converted')) FROM inbound_events WHERE event_id LIKE 'ev-$UBASE-m%'")" \
    "10 1"
is "one conversion: rewarded with two rewards" \
    "$(sql "SELECT CONCAT(r.status, ' ', COUNT(w.id)) FROM referrals r JOIN referral_rewards w ON w.referral_id = r.id WHERE r.id = $R2 GROUP BY r.id")" \
    "rewarded 2"
is "the converting order is the one of the converted answer" \
    "$(sql "SELECT conversion_event FROM referrals WHERE id = $R2")" \
    "$(for i in $(seq 10); do [ "$(jq -r .outcome "$T/p10/$i.body")" = converted ] && echo "ev-$UBASE-m$i"; done)"

# --- the same signup 20 times at once ----------------------------------------------------
U3=$(uid 403)
printf '{"user_id":%s,"code":"%s","ip":"%s"}' "$U3" "$CA" "$IPNET.40" >"$T/su"
par 20 "$T/p20" -X POST -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' --data-binary "@$T/su" "$BASE_URL/v1/signups"
is "20 identical signups at once: one 201, nineteen 200" \
    "$(count "$T/p20" 201) $(count "$T/p20" 200)" "1 19"
is "all 20 answers name the same referral" \
    "$(cat "$T"/p20/*.body | jq -r .referral.id | sort -u | wc -l)" 1
is "one referral, one signal row, one code" \
    "$(sql "SELECT CONCAT((SELECT COUNT(*) FROM referrals WHERE referee_id = $U3), ' ',
    (SELECT COUNT(*) FROM user_signals WHERE user_id = $U3), ' ',
    (SELECT COUNT(*) FROM referral_codes WHERE user_id = $U3))")" "1 1 1"

# --- the same code minted 20 times at once -------------------------------------------------
U4=$(uid 404)
par 20 "$T/m20" -X POST -H "Authorization: Bearer $API_KEY" -H "Content-Length: 0" \
    "$BASE_URL/v1/users/$U4/code"
is "20 mints at once: one 201, nineteen 200" "$(count "$T/m20" 201) $(count "$T/m20" 200)" "1 19"
is "all 20 answers carry the same code" "$(cat "$T"/m20/*.body | jq -r .code | sort -u | wc -l)" 1

# --- 200 landings from 20 clients: 200 clicks ------------------------------------------------
api POST "/v1/users/$U4/code"; C4=$(j .code)
mkdir -p "$T/l"
pids=""
for i in $(seq 20); do
	( for k in $(seq 10); do curl -s -o /dev/null -w '%{http_code}\n' "$BASE_URL/r/$C4"; done >"$T/l/$i.st" ) &
	pids="$pids $!"
done
wait $pids
is "200 landings: all 302" "$(cat "$T"/l/*.st | grep -c '^302$')" 200
FLUSH=$(conf_get click_flush_ms); FLUSH=${FLUSH:-1000}
wait_for "[ \"\$(sql \"SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$C4'\")\" = 200 ]" \
    $((FLUSH / 1000 + 5))
is "200 clicks counted across the workers" \
    "$(sql "SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$C4'")" 200

# --- 50 signups with one code at once: the referrer velocity limit is exact
LIM=$(conf_get max_signups_per_referrer_per_hour); LIM=${LIM:-10}
referrer 500; CV=$RCODE
mkdir -p "$T/v"
for i in $(seq 50); do	# a fresh IP each: only the referrer limit can hold
	printf '{"user_id":%s,"code":"%s","ip":"10.%d.%d.%d"}' "$(uid $((500 + i)))" \
	    "$CV" $((RANDOM % 250 + 1)) $((i / 250 + 1)) $((i % 250 + 1)) >"$T/v/$i.json"
done
par 50 "$T/v50" -X POST -H "Authorization: Bearer $API_KEY" \
    -H 'Content-Type: application/json' --data-binary "@$T/v/{}.json" "$BASE_URL/v1/signups"
is "50 signups for one referrer at once: all 201" "$(count "$T/v50" 201)" 50
is "velocity: exactly $LIM attributed, $((50 - LIM)) held (referrer_velocity)" \
    "$(cat "$T"/v50/*.body | jq -r '.attribution.result + "/" + (.attribution.reason // "")' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
    "attributed/:$LIM held/referrer_velocity:$((50 - LIM)) "
is "velocity: the referrals as stored agree" \
    "$(sql "SELECT CONCAT(SUM(review = 'none'), ' ', SUM(review = 'held' AND review_rule = 'referrer_velocity')) FROM referrals WHERE referrer_id = $(uid 500)")" \
    "$LIM $((50 - LIM))"

is "no worker died" "$(fcgi_pids)" "$PIDS0"
finish
