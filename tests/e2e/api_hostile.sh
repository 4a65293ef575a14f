#!/usr/bin/env bash
# tests/e2e/api_hostile.sh: hostile input through the web server and
# straight to the FastCGI socket: every error path of the input
# discipline, a 1 MiB body, 10,000-deep JSON, NUL and bad UTF-8 inside
# strings, CR/LF in X-Request-Id, SQL-looking strings in every string
# field, wrong, replayed and stale signatures, and requests no web server
# would send (bad CONTENT_LENGTH, oversize parameters).
. "$(dirname "$0")/lib/api.sh"

FSOCK=$(conf_get listen)
# raw [fcgi_client options]: one request straight to the FastCGI socket;
# sets ST and BODY from the CGI answer, the whole answer in $T/raw.
raw() {
	"$PY" "$LIB/fcgi_client.py" "$FSOCK" "$@" >"$T/raw" 2>&1
	ST=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/raw" | head -1)
	BODY=$(awk 'f && /^== end/ { exit } f; /^\r?$/ { f = 1 }' "$T/raw" | head -1)
}
rawhdr() { tr -d '\r' <"$T/raw" | sed -n "s/^$1: //p" | head -1; }
# http_raw TEXT: raw bytes to the web server; the status line comes back.
http_raw() {
	local host=${BASE_URL#http://}; host=${host%%/*}
	exec 3<>"/dev/tcp/${host%:*}/${host#*:}" || return
	printf '%b' "$1" >&3
	timeout 5 cat <&3 >"$T/http_raw"
	exec 3<&-
	head -1 "$T/http_raw" | tr -d '\r'
}

PIDS0=$(fcgi_pids)
referrer 300; CA=$RCODE
U=$(uid 301)

# --- keys ------------------------------------------------------------------
req POST /v1/signups -H 'Content-Type: application/json' --data-binary "{\"user_id\":$U}"
is "no key: 401 unauthorized" "$ST/$(errcode)" "401/unauthorized"
is "401 carries WWW-Authenticate: Bearer" "$(hdr WWW-Authenticate)" "Bearer"
for auth in "Bearer wrong" "Bearer ${API_KEY}x" "Bearer ${API_KEY:0:10}" "Basic $API_KEY" "$API_KEY" "Bearer"; do
	req GET "/v1/users/$U/code" -H "Authorization: $auth"
	is "Authorization '${auth:0:14}...': 401" "$ST/$(errcode)" "401/unauthorized"
done
req GET "/v1/users/$U/code?api_key=$API_KEY"
is "key in the query string: 401" "$ST" 401
admin GET "/v1/users/$(uid 300)/code"
is "the admin key also opens ordinary calls" "$ST" 200

# --- sizes, types, JSON ----------------------------------------------------------
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/big"
api POST /v1/signups "" --data-binary @"$T/big" -H 'Content-Type: application/json'
is "1 MiB body: 413 (client_max_body_size)" "$ST" 413
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_TYPE=application/json \
    -p "HTTP_AUTHORIZATION=Bearer $API_KEY" -p CONTENT_LENGTH=1048576 -B 1048576
is "1 MiB body straight to the socket: 413 body_too_large" "$ST/$(printf '%s' "$BODY" | jq -r .error.code)" "413/body_too_large"
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_LENGTH=65537 -B 65537
is "65537 bytes: 413" "$ST" 413
for ct in text/plain application/x-www-form-urlencoded "application/json; charset=latin1" application/jsonp; do
	req POST /v1/signups -H "Authorization: Bearer $API_KEY" -H "Content-Type: $ct" \
	    --data-binary "{\"user_id\":$U}"
	is "Content-Type $ct: 415" "$ST/$(errcode)" "415/unsupported_media_type"
done
req POST /v1/signups -H "Authorization: Bearer $API_KEY" -H "Content-Type:" --data-binary "{\"user_id\":$U}"
is "no Content-Type: 415" "$ST/$(errcode)" "415/unsupported_media_type"
for bad in '{"user_id":' '{"user_id":1}}' "{'user_id':1}" '{"user_id":1,}' '{"user_id":01}' \
    '{"user_id":1} {}' 'null x' '{"user_id":NaN}' '{"user_id":Infinity}' '{"a":"\x"}' ' ' \
    '{"user_id":1}/* c */'; do
	api POST /v1/signups "$bad"
	is "malformed JSON '$bad': 400 invalid_json" "$ST/$(errcode)" "400/invalid_json"
done
req POST /v1/signups -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json'
is "no body: 400 invalid_json" "$ST/$(errcode)" "400/invalid_json"
printf '%.0s[' $(seq 10000) >"$T/deep"; printf '%.0s]' $(seq 10000) >>"$T/deep"
api POST /v1/signups "" --data-binary @"$T/deep" -H 'Content-Type: application/json'
is "10,000-deep JSON: 400" "$ST/$(errcode)" "400/invalid_json"
printf '{"user_id":%s,"x":' "$U" >"$T/deep2"; printf '%.0s{"a":' $(seq 10000) >>"$T/deep2"
printf '1' >>"$T/deep2"; printf '%.0s}' $(seq 10001) >>"$T/deep2"
api POST /v1/signups "" --data-binary @"$T/deep2" -H 'Content-Type: application/json'
is "10,000-deep object inside a valid one: 400" "$ST/$(errcode)" "400/invalid_json"
api POST /v1/signups '[]'
is "JSON array body: 422 invalid_type" "$ST/$(errcode)" "422/invalid_type"
api POST /v1/signups '{}'
is "missing user_id: 422 missing_field" "$ST/$(errcode)" "422/missing_field"
for v in '"abc"' '1.5' '-1' '0' 'true' '[1]' '{}' '9223372036854775808' '"01"' '" 1"'; do
	api POST /v1/signups "{\"user_id\":$v}"
	is "user_id $v: 422 invalid_user_id" "$ST/$(errcode)" "422/invalid_user_id"
done
for f in code email ip device_fingerprint; do
	api POST /v1/signups "{\"user_id\":$U,\"$f\":42}"
	is "$f as a number: 422 invalid_type" "$ST/$(errcode)" "422/invalid_type"
	api POST /v1/signups "{\"user_id\":$U,\"$f\":\"a\\u0000b\"}"
	is "NUL inside $f: 422 invalid_utf8" "$ST/$(errcode)" "422/invalid_utf8"
	api POST /v1/signups "$(printf '{"user_id":%s,"%s":"a\xc3\x28b"}' "$U" "$f")"
	is "invalid UTF-8 in $f: 422 invalid_utf8" "$ST/$(errcode)" "422/invalid_utf8"
	api POST /v1/signups "$(printf '{"user_id":%s,"%s":"a\xed\xa0\x80b"}' "$U" "$f")"
	is "UTF-8 surrogate in $f: 422 invalid_utf8" "$ST/$(errcode)" "422/invalid_utf8"
done
api POST /v1/signups "{\"user_id\":$U,\"code\":\"ABC\"}"
is "code of 3 characters: 422 invalid_code" "$ST/$(errcode)" "422/invalid_code"
api POST /v1/signups "{\"user_id\":$U,\"email\":\"no-at-sign\"}"
is "email without @: 422 invalid_email" "$ST/$(errcode)" "422/invalid_email"
api POST /v1/signups "{\"user_id\":$U,\"ip\":\"300.1.1.1\"}"
is "ip 300.1.1.1: 422 invalid_ip" "$ST/$(errcode)" "422/invalid_ip"
api POST /v1/signups "{\"user_id\":$U,\"device_fingerprint\":\"$(printf 'd%.0s' $(seq 256))\"}"
is "device_fingerprint of 256 bytes: 422 field_too_long" "$ST/$(errcode)" "422/field_too_long"
is "no signup was recorded for any of these" \
    "$(sql "SELECT COUNT(*) FROM user_signals WHERE user_id = $U")" 0

# --- SQL-looking strings in every string field --------------------------------------
SQLI="x'); DROP TABLE referrals; -- \" \\\\ %"
DEV="' OR '1'='1; DELETE FROM referral_codes; --"
U2=$(uid 302)
api POST /v1/signups "$(jq -cn --argjson u "$U2" --arg c "$CA" --arg e "$SQLI@example.com" --arg d "$DEV" --arg ip "$IPNET.9" \
    '{user_id: $u, code: $c, email: $e, ip: $ip, device_fingerprint: $d}')"
is "signup with SQL-looking email and device: 201 attributed" "$ST $(j .attribution.result)" "201 attributed"
is "the device string is stored verbatim" \
    "$(sql "SELECT device_fingerprint FROM user_signals WHERE user_id = $U2")" "$DEV"
is "the email domain is stored verbatim" \
    "$(sql "SELECT email_domain FROM user_signals WHERE user_id = $U2")" "example.com"
for code in "' OR 1=1 --" "'; DROP TABLE referral_codes; --" "1' UNION SELECT code FROM referral_codes --"; do
	api POST /v1/signups "$(jq -cn --argjson u "$(uid 303)" --arg c "$code" '{user_id: $u, code: $c}')"
	is "SQL in code: 422 invalid_code" "$ST/$(errcode)" "422/invalid_code"
	req GET "/r/$(jq -rn --arg c "$code" '$c | @uri')"
	is "SQL in the landing code: 302 without cookie" "$ST [$(hdr Set-Cookie)]" "302 []"
done
api POST /v1/signups "{\"user_id\":$(uid 303),\"ip\":\"1.1.1.1' OR '1'='1\"}"
is "SQL in ip: 422 invalid_ip" "$ST/$(errcode)" "422/invalid_ip"
EVID="ev-$UBASE-sqli';DROP/**/TABLE/**/inbound_events;--"
ORD="o' OR 1=1; UPDATE referrals SET status='rewarded'; --"
PFP="\"; DELETE FROM outbox; --"
BODY_EV=$(jq -cn --arg id "$EVID" --argjson u "$U2" --arg o "$ORD" --arg p "$PFP" \
    '{id: $id, type: "order.completed", user_id: $u, order_id: $o, amount: "25.00",
      currency: "USD", occurred_at: "2025-01-31T12:00:00Z", payment_fingerprint: $p}')
event "$BODY_EV"
is "event with SQL-looking id, order and card: converted" "$ST $(j .outcome)" "200 converted"
is "order id stored verbatim" \
    "$(sql "SELECT conversion_order FROM referrals WHERE referee_id = $U2")" "$ORD"
is "event id stored verbatim" \
    "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id = '$(printf '%s' "$EVID" | sed "s/'/''/g")'")" 1
is "payment fingerprint stored verbatim" \
    "$(sql "SELECT fingerprint FROM payment_fingerprints WHERE user_id = $U2")" "$PFP"
event "$(ev_json "ev-$UBASE-t" "$U2" o-t 25.00 "order.completed';--")"
is "SQL in type: ignored (not qualifying)" "$ST $(j .outcome)" "200 ignored"
admin POST "/v1/referrals/$(sql "SELECT id FROM referrals WHERE referee_id = $U2")/void" \
    "$(jq -cn --arg r "$SQLI" '{reason: $r}')"
is "SQL in the void reason: stored verbatim" "$ST $(j .void_reason)" "200 $SQLI"
is "every table is still there" \
    "$(sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'referd'
    AND table_name IN ('referrals', 'referral_codes', 'inbound_events', 'outbox')")" 4

# --- events: fields ---------------------------------------------------------------------
U3=$(uid 304)
for f in id type order_id currency occurred_at payment_fingerprint; do
	B=$(ev_json "ev-$UBASE-n-$f" "$U3" o-n 25.00 | jq -c --arg f "$f" '.[$f] = "a\u0000b"')
	event "$B" "ev-$UBASE-n-$f"
	want=422/invalid_utf8
	is "event: NUL inside $f: $want" "$ST/$(errcode)" "$want"
done
for kv in 'amount:25' 'amount:"25.001"' 'amount:"-1.00"' 'amount:"1e3"' 'amount:"9999999999999.00"'; do
	B=$(ev_json "ev-$UBASE-a" "$U3" o-a | jq -c ".${kv%%:*} = ${kv#*:}")
	event "$B"
	is "event: $kv: 422 invalid_amount" "$ST/$(errcode)" "422/invalid_amount"
done
event "$(ev_json "ev-$UBASE-c" "$U3" o-c 25.00 | jq -c '.currency = "usd"')"
is "event: currency usd: 422 invalid_currency" "$ST/$(errcode)" "422/invalid_currency"
event "$(ev_json "ev-$UBASE-d" "$U3" o-d 25.00 | jq -c '.occurred_at = "31/01/2025"')"
is "event: occurred_at not RFC 3339: 422 invalid_time" "$ST/$(errcode)" "422/invalid_time"
event "$(ev_json "ev-$UBASE-e" "$U3" o-e 25.00 | jq -c 'del(.order_id)')"
is "event: no order_id: 422 missing_field" "$ST/$(errcode)" "422/missing_field"
event "$(ev_json "ev-$UBASE-f" "$U3" o-f)" "ev-$UBASE-other"
is "event: id differs from webhook-id: 422 event_id_mismatch" "$ST/$(errcode)" "422/event_id_mismatch"
event '{"id":' "ev-$UBASE-g"
is "event: malformed JSON, signed: 400" "$ST/$(errcode)" "400/invalid_json"

# --- signatures -------------------------------------------------------------------------
referrer 310; CS=$RCODE
U4=$(uid 311)
signup "{\"user_id\":$U4,\"code\":\"$CS\"}"
EVS=$(ev_json "ev-$UBASE-s" "$U4" "o-$UBASE-s" 25.00)
NOW=$(date +%s)
GOOD=$(printf '%s' "$EVS" | sign "ev-$UBASE-s" "$NOW")
OTHER=whsec_$(head -c 24 /dev/urandom | base64)
WRONG=$(printf '%s' "$EVS" | "$PY" "$SIGN" "$OTHER" "ev-$UBASE-s" "$NOW")
event "$EVS" "" "$NOW" "$WRONG"
is "signed with another secret: 401 invalid_signature" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "" "$NOW" "v1,$(head -c 32 /dev/zero | base64)"
is "a zero MAC: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "" "$NOW" "${GOOD/v1,/v2,}"
is "only a v2 signature: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "" "$NOW" "garbage"
is "signature header garbage: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "" "$((NOW + 1))" "$GOOD"
is "signature of another timestamp: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "ev-$UBASE-s2" "$NOW" "$GOOD"
is "signature of another id: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$EVS" "" "$((NOW - 310))"
is "timestamp 310 s old: 401 stale_timestamp" "$ST/$(errcode)" "401/stale_timestamp"
event "$EVS" "" "$((NOW + 320))"
is "timestamp 320 s ahead: 401 stale_timestamp" "$ST/$(errcode)" "401/stale_timestamp"
event "$EVS" "" "12abc"
is "timestamp not a number: 401" "$ST/$(errcode)" "401/invalid_signature"
req POST /v1/events -H 'Content-Type: application/json' --data-binary "$EVS"
is "no signature headers: 401" "$ST/$(errcode)" "401/invalid_signature"
is "none of those changed the referral" \
    "$(sql "SELECT status FROM referrals WHERE referee_id = $U4")" pending
event "$EVS" "" "$NOW" "v1,bm90IGl0 $WRONG $GOOD"
is "several signatures, one right: 200 converted" "$ST $(j .outcome)" "200 converted"
event "$EVS" "" "$NOW" "$GOOD"
is "replayed request (same id, body, signature): 200 duplicate" "$ST $(j .outcome)" "200 duplicate"
event "$(ev_json "ev-$UBASE-s" "$U4" "o-$UBASE-s" 99.00)" "" "$NOW" "$GOOD"
is "replayed signature with another body: 401" "$ST/$(errcode)" "401/invalid_signature"
is "after the replays: one conversion, two rewards" \
    "$(sql "SELECT CONCAT(r.status, ' ', COUNT(w.id)) FROM referrals r LEFT JOIN referral_rewards w
    ON w.referral_id = r.id WHERE r.referee_id = $U4 GROUP BY r.id")" "rewarded 2"

# --- X-Request-Id -------------------------------------------------------------------------
st=$(http_raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rX-Evil: 1\r\nConnection: close\r\n\r\n')
like "bare CR in X-Request-Id: rejected, no header injected" \
    "$st|$(grep -ci '^X-Evil' "$T/http_raw")" '^HTTP/1\.1 (400|200) .*\|0$'
raw -p $'HTTP_X_REQUEST_ID=abc\r\nX-Evil: 1'
is "CR/LF in X-Request-Id at the socket: a new id, no header injected" \
    "$ST $(rawhdr X-Request-Id | grep -Ec '^[0-9a-f]{24}$') $(grep -ci '^X-Evil' "$T/raw")" "200 1 0"
raw -p "HTTP_X_REQUEST_ID=ok-id"
is "valid X-Request-Id at the socket: echoed" "$(rawhdr X-Request-Id)" "ok-id"

# --- the socket: what no web server sends ---------------------------------------------------
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_LENGTH=12x
is "CONTENT_LENGTH 12x: 400 invalid_content_length" "$ST/$(printf '%s' "$BODY" | jq -r .error.code)" "400/invalid_content_length"
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_LENGTH=-1
is "CONTENT_LENGTH -1: 400" "$ST" 400
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_LENGTH=100 -b '{}'
is "body shorter than CONTENT_LENGTH: 400" "$ST/$(printf '%s' "$BODY" | jq -r .error.code)" "400/invalid_content_length"
raw -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups -p CONTENT_LENGTH=2 -b '{}{}{}'
is "body longer than CONTENT_LENGTH: 400" "$ST" 400
raw -p "REQUEST_URI=/$(printf 'a%.0s' $(seq 2100))"
is "REQUEST_URI over 2048 bytes: 414" "$ST/$(printf '%s' "$BODY" | jq -r .error.code)" "414/uri_too_long"
raw -p "HTTP_X_JUNK=$(printf 'j%.0s' $(seq 9000))"
is "a parameter over 8192 bytes: 431" "$ST/$(printf '%s' "$BODY" | jq -r .error.code)" "431/header_too_large"
raw -p REQUEST_METHOD=HEAD -p REQUEST_URI=/healthz
is "HEAD at the socket: headers, no body" "$ST $(rawhdr Content-Length) [$BODY]" "200 15 []"
raw -p REQUEST_METHOD=BREW -p REQUEST_URI=/healthz
is "unknown method: 405" "$ST $(rawhdr Allow)" "405 GET, HEAD"
raw -p REQUEST_METHOD= -p REQUEST_URI=/healthz
is "empty method: 405" "$ST" 405
raw -p REQUEST_URI=
is "empty REQUEST_URI: 400" "$ST" 400
raw --repeat 5
is "five requests on one kept connection" "$(grep -c '^== end 0' "$T/raw")" 5
for m in OPTIONS PATCH PUT DELETE TRACE; do
	req "$m" /v1/signups
	like "$m through the web server: 405 (or refused by it)" "$ST" '^(405|501)$'
done

# --- duplicate JSON keys: refused on every body (a signer and referd must
# not read different values) ---------------------------------------------------
U61=$(uid 61)
signup "{\"user_id\":$U61,\"user_id\":$(uid 62)}"
is "signup with user_id twice: 400 duplicate_key" "$ST $(errcode)" "400 duplicate_key"
signup "{\"user_id\":$U61,\"u\\u0073er_id\":$(uid 62)}"
is "the same key spelt with an escape: 400 duplicate_key" "$ST $(errcode)" "400 duplicate_key"
signup "{\"user_id\":$U61,\"x\":{\"a\":1,\"a\":2}}"
is "a repeat in a nested object: 400 duplicate_key" "$ST $(errcode)" "400 duplicate_key"
is "no user made by the refused signups" \
    "$(sql "SELECT COUNT(*) FROM referral_codes WHERE user_id IN ($U61, $(uid 62))")" 0
signup "{\"user_id\":$U61,\"x\":{\"user_id\":1}}"
is "the same key in two objects is no repeat: 201" "$ST" 201
B='{"id":"evt_dup_'$UBASE'","type":"order.completed","user_id":'$U61',"order_id":"o-dup","amount":"1.00","currency":"USD","occurred_at":"2025-01-31T12:00:00Z","amount":"900.00"}'
event "$B" "evt_dup_$UBASE"
is "a signed event with amount twice: 400 duplicate_key" "$ST $(errcode)" "400 duplicate_key"
is "and not recorded" "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id = 'evt_dup_$UBASE'")" 0
admin POST /v1/referrals/1/void '{"reason":"a","reason":"b"}'
is "void with reason twice: 400 duplicate_key" "$ST $(errcode)" "400 duplicate_key"

# --- HEAD on /r/ counts no click (SPEC 4), GET counts one --------------------------
U63=$(uid 63)
api POST "/v1/users/$U63/code"; C63=$(j .code)
FLUSH=$(conf_get click_flush_ms); FLUSH=${FLUSH:-1000}
clicks63() { sql "SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$C63'"; }
req GET "/r/$C63"
wait_for "[ \"\$(clicks63)\" = 1 ]" $((FLUSH / 1000 + 5))
is "one GET: one click" "$(clicks63)" 1
for i in 1 2 3; do req HEAD "/r/$C63"; done
is "HEAD: 302 with the cookie" "$ST $(hdr Set-Cookie | cut -d';' -f1)" "302 ref=$C63"
sleep $((FLUSH / 1000 + 2))
is "three HEADs later: still one click" "$(clicks63)" 1
req GET "/r/$C63"
wait_for "[ \"\$(clicks63)\" = 2 ]" $((FLUSH / 1000 + 5))
is "one more GET: two clicks" "$(clicks63)" 2

# --- the audit of an admin action: request id, client address, which key ----------
referrer 64; C64=$RCODE
signup "{\"user_id\":$(uid 65),\"code\":\"$C64\"}"; R65=$(j .referral.id)
RID="test-req-123"
req POST "/v1/referrals/$R65/void" -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'Content-Type: application/json' -H "X-Request-Id: $RID" \
    --data-binary '{"reason":"audit test"}'
is "void through the web server: 200" "$ST $(hdr X-Request-Id)" "200 $RID"
FP=$(printf '%s' "$ADMIN_KEY" | sha256sum | cut -c1-8)
is "audit row: request id, client address, key name and fingerprint" \
    "$(sql "SELECT CONCAT_WS(' ', operator, action, request_id, client_addr, credential) FROM audit_log WHERE referral_id = $R65 AND action = 'void'")" \
    "api void $RID 127.0.0.1 admin_api_key:$FP"
is "the admin key itself is nowhere in audit_log" \
    "$(sql "SELECT COUNT(*) FROM audit_log WHERE CONCAT_WS(' ', operator, detail, request_id, client_addr, credential) LIKE '%$ADMIN_KEY%'")" 0

# Nothing above killed a worker.
req GET /healthz
is "still healthy" "$ST" 200
is "no worker died during this suite" "$(fcgi_pids)" "$PIDS0"

finish
