#!/usr/bin/env bash
# tests/e2e/api_basic.sh: codes, the landing page, healthz, metrics,
# X-Request-Id and routing, through the web server in front of
# referd-fcgi (REFERD_BASE_URL, default nginx on REFERD_PORT).
. "$(dirname "$0")/lib/api.sh"

U1=$(uid 1)
# --- codes -----------------------------------------------------------
api GET "/v1/users/$U1/code"
is "GET code of a user without one: 404" "$ST/$(errcode)" "404/not_found"
api POST "/v1/users/$U1/code"
is "POST code mints it: 201" "$ST" 201
CODE=$(j .code)
like "minted code is 8 characters of upper-case base-36" "$CODE" '^[0-9A-Z]{8}$'
is "mint answer has exactly user_id, code, url, expires_at" \
    "$(j 'keys_unsorted | sort | join(",")')" "code,expires_at,url,user_id"
is "mint answer: user_id is the number" "$(j .user_id)" "$U1"
is "mint answer: url is base_url/r/CODE" "$(j .url)" "$(conf_get base_url)/r/$CODE"
is "mint answer: expires_at null" "$(j .expires_at)" "null"
like "X-Request-Id generated" "$(hdr X-Request-Id)" '^[A-Za-z0-9._-]{1,64}$'
is "Content-Type application/json" "$(hdr Content-Type)" "application/json"
api POST "/v1/users/$U1/code"
is "POST again: 200 with the same code" "$ST/$(j .code)" "200/$CODE"
api GET "/v1/users/$U1/code"
is "GET code: 200 with the same code" "$ST/$(j .code)" "200/$CODE"
is "code row in the database" \
    "$(sql "SELECT code FROM referral_codes WHERE user_id = $U1")" "$CODE"
api POST "/v1/users/$(uid 2)/code"
C2=$(j .code)
ok "$([ "$C2" != "$CODE" ] && echo 0 || echo 1)" "another user gets another code"

# --- landing ---------------------------------------------------------
LANDING=$(conf_get landing_url)
req GET "/r/$CODE"
is "landing: 302" "$ST" 302
is "landing: no body, so no Content-Type" "$(hdr Content-Type)" ""
is "landing: Location is landing_url with ref=CODE" "$(hdr Location)" \
    "$LANDING?ref=$CODE"
COOKIE=$(hdr Set-Cookie)
is "landing: cookie name=value first" "${COOKIE%%;*}" "ref=$CODE"
like "landing: cookie Max-Age = 30 days" "$COOKIE" '; Max-Age=2592000(;|$)'
like "landing: cookie Path=/" "$COOKIE" '; Path=/(;|$)'
like "landing: cookie HttpOnly" "$COOKIE" '; HttpOnly(;|$)'
like "landing: cookie Secure" "$COOKIE" '; Secure(;|$)'
like "landing: cookie SameSite=Lax" "$COOKIE" '; SameSite=Lax(;|$)'
like "landing: X-Request-Id" "$(hdr X-Request-Id)" '^[A-Za-z0-9._-]+$'
LOWER=$(echo "$CODE" | tr A-Z a-z)
req GET "/r/$LOWER"
is "landing: lower-case code matches" "$ST $(hdr Location)" "302 $LANDING?ref=$CODE"
is "landing: lower-case code sets the cookie" "$(hdr Set-Cookie | cut -d';' -f1)" "ref=$CODE"
req GET "/r/${CODE:0:4}-${LOWER:4}"
is "landing: 'abcd-efgh' form matches" "$(hdr Set-Cookie | cut -d';' -f1)" "ref=$CODE"
req GET "/r/$CODE?utm_source=x&ref=EVIL0000"
is "landing: query of the request does not reach Location" "$(hdr Location)" \
    "$LANDING?ref=$CODE"
req HEAD "/r/$CODE"
is "landing HEAD: 302 with Location" "$ST $(hdr Location)" "302 $LANDING?ref=$CODE"
is "landing HEAD: cookie" "$(hdr Set-Cookie | cut -d';' -f1)" "ref=$CODE"
req GET /r/ZZZZ0000
is "unknown code: still 302 to landing_url" "$ST $(hdr Location)" "302 $LANDING"
is "unknown code: no cookie" "$(hdr Set-Cookie)" ""
req HEAD /r/ZZZZ0000
is "unknown code HEAD: 302, no cookie" "$ST $(hdr Location) [$(hdr Set-Cookie)]" "302 $LANDING []"
req GET "/r/not-a-code-at-all"
is "malformed code: 302, no cookie" "$ST $(hdr Location) [$(hdr Set-Cookie)]" "302 $LANDING []"
req GET "/r/%0d%0aSet-Cookie:%20x=1"
is "CR/LF in the code: 302, no cookie" "$ST $(hdr Location) [$(hdr Set-Cookie)]" "302 $LANDING []"
req GET "/r/"
is "no code: 302 to landing_url" "$ST $(hdr Location)" "302 $LANDING"
req GET "/r/$CODE" -H "Host: evil.example"
is "Host header does not change Location" "$(hdr Location)" "$LANDING?ref=$CODE"
curl -s -o /dev/null "$(hdr Location)"
ok $? "Location answers (the dev landing page)"

# Expired and disabled codes: no cookie, within code_cache_seconds.
U3=$(uid 3)
api POST "/v1/users/$U3/code"; C3=$(j .code)
api POST "/v1/users/$(uid 4)/code"; C4=$(j .code)
req GET "/r/$C3"; req GET "/r/$C4"	# both cached as valid now
sql "UPDATE referral_codes SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE code = '$C3';
     UPDATE referral_codes SET disabled_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE code = '$C4'"
CACHE=$(conf_get code_cache_seconds); CACHE=${CACHE:-5}
sleep $((CACHE + 1))
for i in 1 2 3 4 5 6; do req GET "/r/$C3"; [ -z "$(hdr Set-Cookie)" ] || break; done
is "expired code (after code_cache_seconds): 302, no cookie, no ref" \
    "$ST $(hdr Location) [$(hdr Set-Cookie)]" "302 $LANDING []"
for i in 1 2 3 4 5 6; do req GET "/r/$C4"; [ -z "$(hdr Set-Cookie)" ] || break; done
is "disabled code: 302, no cookie, no ref" \
    "$ST $(hdr Location) [$(hdr Set-Cookie)]" "302 $LANDING []"

# Clicks: buffered by the workers, flushed every click_flush_ms.
U5=$(uid 5)
api POST "/v1/users/$U5/code"; C5=$(j .code)
for i in 1 2 3 4 5 6 7; do req GET "/r/$C5"; done
req HEAD "/r/$C5"
req GET /r/ZZZZ0001
FLUSH=$(conf_get click_flush_ms); FLUSH=${FLUSH:-1000}
wait_for "[ \"\$(sql \"SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$C5'\")\" = 7 ]" \
    $((FLUSH / 1000 + 5))
sleep $((FLUSH / 1000 + 1))
is "7 GETs and a HEAD are 7 clicks in click_counts (SPEC 4: HEAD counts none)" \
    "$(sql "SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$C5'")" 7
is "an unknown code counts no click" \
    "$(sql "SELECT COUNT(*) FROM click_counts WHERE code = 'ZZZZ0001'")" 0
api GET "/v1/referrers/$U5/stats"
is "stats show the clicks" "$ST $(j .clicks) $(j .signups)" "200 7 0"

# --- healthz, metrics ------------------------------------------------
req GET /healthz
is "healthz: 200 {\"status\":\"ok\"}" "$ST $BODY" '200 {"status":"ok"}'
# Apache (mod_proxy_fcgi) streams the answer chunked, without the app's
# Content-Length, for GET and HEAD alike.
GETLEN=$(hdr Content-Length)
req HEAD /healthz
is "healthz HEAD: 200 with the GET's Content-Length" "$ST $(hdr Content-Length)" "200 $GETLEN"
req GET /metrics
is "metrics: 200" "$ST" 200
like "metrics: text/plain Prometheus format" "$(hdr Content-Type)" '^text/plain; version=0\.0\.4'
like "metrics: requests by route and status" "$BODY" \
    'referd_http_requests_total\{route="landing",status="302"\} [0-9]+'
like "metrics: 404s counted under route none" "$BODY" \
    'referd_http_requests_total\{route="code_get",status="404"\} [0-9]+'
like "metrics: latency histogram buckets" "$BODY" \
    'referd_http_request_duration_seconds_bucket\{route="landing",le="0\.001"\} [0-9]+'
like "metrics: histogram +Inf, sum and count" "$BODY" \
    'referd_http_request_duration_seconds_count\{route="landing"\} [0-9]+'
like "metrics: outbox backlog" "$BODY" $'\nreferd_outbox_backlog [0-9]+'
like "metrics: outbox dead count" "$BODY" $'\nreferd_outbox_dead [0-9]+'
like "metrics: database up" "$BODY" $'\nreferd_database_up 1'
BEFORE=$(printf '%s' "$BODY" | sed -n 's/^referd_http_requests_total{route="healthz",status="200"} //p')
for i in 1 2 3 4 5 6 7 8 9 10; do req GET /healthz; done
req GET /metrics
AFTER=$(printf '%s' "$BODY" | sed -n 's/^referd_http_requests_total{route="healthz",status="200"} //p')
is "metrics: counters shared by all workers (10 more healthz)" "$((AFTER - BEFORE))" 10
like "metrics: histogram buckets are cumulative" \
    "$(printf '%s' "$BODY" | awk -F'} ' '/_bucket\{route="healthz"/ { if ($2 < last) bad = 1; last = $2 } END { print bad ? "bad" : "ok" }')" '^ok$'

# --- X-Request-Id ----------------------------------------------------
req GET /healthz -H "X-Request-Id: trace-42.a_b"
is "X-Request-Id echoed when valid" "$(hdr X-Request-Id)" "trace-42.a_b"
req GET /healthz -H "X-Request-Id: $(printf 'x%.0s' $(seq 65))"
like "65 characters: a new one" "$(hdr X-Request-Id)" '^[0-9a-f]{24}$'
req GET /healthz -H "X-Request-Id: a b<script>"
like "bad characters: a new one" "$(hdr X-Request-Id)" '^[0-9a-f]{24}$'
req GET /nope -H "X-Request-Id: rid-404"
is "errors carry X-Request-Id too" "$ST $(hdr X-Request-Id)" "404 rid-404"

# --- routing ---------------------------------------------------------
req GET /nope
is "unknown path: 404 not_found" "$ST/$(errcode)" "404/not_found"
is "error body is exactly {error:{code,message}}" \
    "$(j '[keys, (.error | keys)] | flatten | join(",")')" "error,code,message"
req DELETE /v1/signups
is "DELETE /v1/signups: 405" "$ST/$(errcode)" "405/method_not_allowed"
is "405 has Allow" "$(hdr Allow)" "POST"
req PUT "/v1/users/$U1/code"
is "PUT on the code: Allow lists GET, HEAD, POST" "$ST $(hdr Allow)" "405 GET, HEAD, POST"
req POST /healthz
is "POST /healthz: 405 Allow GET, HEAD" "$ST $(hdr Allow)" "405 GET, HEAD"
req POST "/r/$CODE"
is "POST on the landing: 405" "$ST $(hdr Allow)" "405 GET, HEAD"
api GET /v1/users/abc/code
is "user id not a number: 422" "$ST/$(errcode)" "422/invalid_user_id"
api GET /v1/users/0/code
is "user id 0: 422" "$ST/$(errcode)" "422/invalid_user_id"
api GET /v1/users/9223372036854775808/code
is "user id over 2^63-1: 422" "$ST/$(errcode)" "422/invalid_user_id"
api GET /v1/referrals/x1
is "referral id not a number: 422" "$ST/$(errcode)" "422/invalid_id"

finish
