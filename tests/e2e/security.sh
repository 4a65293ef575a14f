#!/usr/bin/env bash
# tests/e2e/security.sh: security checks of issue 7 as tests, against the
# running stack:
#   - every authenticated route refuses no key, a wrong key, a near key,
#     another secret, a key in the query string (401), and the ordinary
#     key on the admin route (403);
#   - no secret of referd.conf (api_key, admin_api_key, webhook_secret,
#     outbound_secret, db_password) appears in any answer or any log under
#     $REFERD_VAR/log after the error paths that involve them (wrong keys,
#     bad signatures, a bad database password, a config reload that fails);
#   - keys and signatures are compared in constant time (ct_streq,
#     CRYPTO_memcmp; checked in the source);
#   - the landing route never redirects off landing_url's host, whatever
#     the code (//evil.com, %2F%2F, backslashes, CRLF, http:%2F%2F, Host);
#   - nothing from a request becomes a response header (CR/LF in the path,
#     X-Request-Id, webhook-id, Authorization; through nginx and straight
#     to the FastCGI socket);
#   - the FastCGI socket is not world-writable, referd.conf not readable
#     by others;
#   - the systemd units of etc/systemd run as an unprivileged user, and
#     systemd-analyze security --offline scores their exposure.
. "$(dirname "$0")/lib/api.sh"
# Copies of referd.conf must not be readable by others (or every binary
# refuses them).
umask 077

OUT_SECRET=$(conf_get outbound_secret)
DB_PASS=$(conf_get db_password)
FSOCK=$(conf_get listen)
LANDING=$(conf_get landing_url)
FCGI_LOG=$(conf_get log_file)
mkdir -p "$T/out"
# Every answer, headers and body, is kept for the leak check.
eval "orig_$(declare -f req)"
req() { orig_req "$@"; { cat "$T/hdr" "$T/body"; echo; } >>"$T/out/answers" 2>/dev/null; }

# --- authentication ----------------------------------------------------------------
referrer 1; CA=$RCODE
signup "{\"user_id\":$(uid 2),\"code\":\"$CA\"}"; RID=$(j .referral.id)
U=$(uid 1)
ROUTES=("GET /v1/users/$U/code" "POST /v1/users/$U/code" "POST /v1/signups"
    "GET /v1/referrers/$U/stats" "GET /v1/referrals/$RID" "POST /v1/referrals/$RID/void")
BODYJ='{"user_id":1,"reason":"security test"}'
try_auth() {	# try_auth LABEL AUTH-HEADER-OR-EMPTY [QUERY]: status of every route
	local r m p res=""
	for r in "${ROUTES[@]}"; do
		m=${r%% *} p=${r#* }
		if [ -n "$2" ]; then
			req "$m" "$p${3:-}" -H "Authorization: $2" -H 'Content-Type: application/json' --data-binary "$BODYJ"
		else
			req "$m" "$p${3:-}" -H 'Content-Type: application/json' --data-binary "$BODYJ"
		fi
		res="$res$ST/$(errcode) "
	done
	is "$1: 401 on all six routes" "$res" "$(printf '401/unauthorized %.0s' 1 2 3 4 5 6)"
}
try_auth "no Authorization" ""
req GET "/v1/users/$U/code"
is "401 carries WWW-Authenticate: Bearer" "$(hdr WWW-Authenticate)" "Bearer"
try_auth "a wrong key" "Bearer rk_0123456789abcdef0123456789abcdef"
try_auth "the API key with one more character" "Bearer ${API_KEY}0"
try_auth "the API key less its last character" "Bearer ${API_KEY%?}"
try_auth "the admin key less its last character" "Bearer ${ADMIN_KEY%?}"
try_auth "the API key as Basic credentials" "Basic $(printf '%s:' "$API_KEY" | base64 -w0)"
try_auth "the API key with no scheme" "$API_KEY"
try_auth "the webhook secret as a key" "Bearer $WH_SECRET"
try_auth "the outbound secret as a key" "Bearer $OUT_SECRET"
try_auth "the database password as a key" "Bearer $DB_PASS"
# (The access log of etc/nginx/referd.conf.in keeps no query string, so
# these keys are not written there either; the log check below says so.)
try_auth "the API key in the query string" "" "?api_key=$API_KEY&access_token=$API_KEY"
try_auth "an empty bearer" "Bearer "
api POST "/v1/referrals/$RID/void" '{"reason":"security test"}'
is "the ordinary key on the admin route: 403 forbidden" "$ST/$(errcode)" "403/forbidden"
api POST "/v1/referrals/999999999999/void" '{"reason":"security test"}'
is "the ordinary key on the admin route of no referral: 403 (no existence oracle)" "$ST/$(errcode)" "403/forbidden"
is "the referral was not voided" "$(sql "SELECT status FROM referrals WHERE id = $RID")" pending
api GET "/v1/referrals/$RID"
is "the ordinary key on an ordinary route: 200" "$ST" 200
admin GET "/v1/referrals/$RID"
is "the admin key on an ordinary route: 200" "$ST" 200
admin POST "/v1/referrals/$RID/void" '{"reason":"security test"}'
is "the admin key on the admin route: 200 voided" "$ST $(j .status)" "200 voided"
req POST /v1/events -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
    --data-binary "$(ev_json "sec-$UBASE-1" "$(uid 2)" "o-$UBASE-1")"
is "events take no API key, only a signature: 401" "$ST/$(errcode)" "401/invalid_signature"

# --- error paths that involve secrets ------------------------------------------------
E=$(ev_json "sec-$UBASE-2" "$(uid 2)" "o-$UBASE-2")
TS=$(date +%s)
event "$E" "" "$TS" "v1,$(printf '%s' "$E" | "$PY" "$SIGN" "$OUT_SECRET" "sec-$UBASE-2" "$TS" | cut -d, -f2)"
is "an event signed with the outbound secret: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$E" "" "$TS" "v1,${WH_SECRET#whsec_}"
is "the webhook secret itself as the signature: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$E" "" "$TS" "$WH_SECRET"
is "the whole secret as the signature header: 401" "$ST/$(errcode)" "401/invalid_signature"
event "$E" "" $((TS - 400))
is "a stale timestamp: 401" "$ST/$(errcode)" "401/stale_timestamp"
event "$(printf '%s' "$E" | sed 's/"USD"/"usd"/')" "sec-$UBASE-2" "$TS" "$(printf '%s' "$E" | sign "sec-$UBASE-2" "$TS")"
is "a body that is not the one signed: 401" "$ST/$(errcode)" "401/invalid_signature"
# The binaries' start-up errors, with a wrong database password and a
# secret on a malformed line.
FAKE_PASS="WrongPass$(rand_token 8)"
sed "s/^db_password.*/db_password = $FAKE_PASS/" "$CONF" >"$T/badpass.conf"
"$BUILD/referd-fcgi" -t -c "$T/badpass.conf" >"$T/out/fcgi-badpass" 2>&1
is "referd-fcgi -t with a wrong database password: exit 1" "$?" 1
"$BUILD/referd-migrate" -c "$T/badpass.conf" -d "$top/sql/migrations" >"$T/out/migrate-badpass" 2>&1
ok $([ $? != 0 ]; echo $?) "referd-migrate with a wrong database password fails"
sed "s|^dispatch_pid_file.*|dispatch_pid_file =|; s|^dispatch_log_file.*|dispatch_log_file =|" \
    "$T/badpass.conf" >"$T/badpass-d.conf"
timeout 20 "$BUILD/referd-dispatch" -c "$T/badpass-d.conf" --once >"$T/out/dispatch-badpass" 2>&1
ok $([ $? != 0 ]; echo $?) "referd-dispatch with a wrong database password fails"
sed 's/^api_key *= */api_key /' "$CONF" >"$T/noeq.conf"
"$BUILD/referd-fcgi" -t -c "$T/noeq.conf" >"$T/out/fcgi-noeq" 2>&1
like "a secret on a line without '=': refused, the line named" "$?: $(cat "$T/out/fcgi-noeq")" "^1: .*missing '='"
sed "s|^outbound_secret.*|outbound_secret = whsec_!!${OUT_SECRET#whsec_}|" "$CONF" >"$T/badsec.conf"
"$BUILD/referd-fcgi" -t -c "$T/badsec.conf" >"$T/out/fcgi-badsec" 2>&1
like "a malformed outbound secret: refused, the key named" "$?: $(cat "$T/out/fcgi-badsec")" "^1: .*outbound_secret"
# A reload that fails: its error goes to the running log.
cp "$CONF" "$T/conf.orig"
restore_conf() {
	if ! cmp -s "$T/conf.orig" "$CONF"; then
		cat "$T/conf.orig" >"$CONF"
		kill -HUP "$(cat "$RUN/referd-fcgi.pid")" 2>/dev/null
	fi
	rm -rf "$T"
}
trap restore_conf EXIT
sed -i 's/^webhook_secret *= */webhook_secret /' "$CONF"
LOGN=$(wc -l <"$FCGI_LOG")
kill -HUP "$(cat "$RUN/referd-fcgi.pid")"
wait_for "tail -n +$((LOGN + 1)) '$FCGI_LOG' | grep -q 'keeping the running configuration'" 10
ok $? "a reload of a file with a malformed secret line is refused, logged"
cat "$T/conf.orig" >"$CONF"
req GET /healthz
is "and the service runs on" "$ST" 200

SECRETS=("api_key=$API_KEY" "admin_api_key=$ADMIN_KEY" "webhook_secret=$WH_SECRET"
    "webhook_secret_key=${WH_SECRET#whsec_}" "outbound_secret=$OUT_SECRET"
    "outbound_secret_key=${OUT_SECRET#whsec_}" "db_password=$DB_PASS"
    "wrong_db_password=$FAKE_PASS")
leaks() {	# leaks FILE...: "name:file" for each secret found
	local s f
	for s in "${SECRETS[@]}"; do
		for f in "$@"; do
			[ -f "$f" ] && grep -qF -- "${s#*=}" "$f" && echo "${s%%=*}:${f#$VAR/}"
		done
	done
}
NANS=$(grep -c '^HTTP/' "$T/out/answers")
is "no secret in any of the $NANS answers (headers and bodies)" "$(leaks "$T/out/answers")" ""
is "no secret in the binaries' error output" "$(leaks "$T"/out/fcgi-* "$T"/out/*-badpass)" ""
like "(the error names the cause, not the password)" "$(cat "$T/out/fcgi-badpass")" "Access denied"
# Every log of the stack; config copies that failed suites keep there
# (*.conf) are configuration, not logs.
mapfile -t LOGS < <(find "$VAR/log" -type f ! -name '*.conf' 2>/dev/null)
is "no secret in any of the ${#LOGS[@]} files under \$REFERD_VAR/log" "$(leaks "${LOGS[@]}")" ""
req GET /metrics
is "no secret in /metrics" "$(leaks "$T/body")" ""

# --- constant-time comparisons (in the source) -------------------------------------
cd "$top" || exit 1
is "fcgi: the bearer key is checked with ct_streq against both keys" \
    "$(grep -hoE 'ct_streq\([a-z]+, app->conf->(admin_)?api_key\)' fcgi/*.c | sort | tr '\n' ' ')" \
    "ct_streq(tok, app->conf->admin_api_key) ct_streq(tok, app->conf->api_key) "
# (core/conf.c compares the two keys with each other at load time: no
# request involved.)
is "no strcmp/memcmp/bcmp on a key, secret, password, MAC or signature on a request path" \
    "$(grep -nE '\b(str(n)?(case)?cmp|memcmp|bcmp|timingsafe_bcmp)\([^;]*(api_key|secret|password|mac|sig|bearer|tok\b)' \
    core/sig.c core/util.c sql/*.c fcgi/*.c dispatch/*.c console/*.c 2>/dev/null)" ""
like "core/sig.c: the signature MAC is compared with CRYPTO_memcmp" \
    "$(grep -n 'CRYPTO_memcmp' core/sig.c)" 'CRYPTO_memcmp\(mac, got, MAC_LEN\)'
CT=$(awk '/^ct_streq\(/ { on = 1 } on { print } on && /^}/ { exit }' core/sig.c)
is "ct_streq: one pass over the secret, no early exit (two returns: NULL, result)" \
    "$(printf '%s\n' "$CT" | grep -c 'return') $(printf '%s\n' "$CT" | grep -c 'break') $(printf '%s\n' "$CT" | grep -c 'for (i = 0; i < blen; i++)')" "2 0 1"
is "ct_streq: no comparison operator on the bytes, only XOR and OR" \
    "$(printf '%s\n' "$CT" | grep -cE '\]( )?(==|!=)')" 0
cd - >/dev/null || exit 1

# --- raw HTTP: redirects and response headers -----------------------------------------
# raw.py PAYLOADS-FILE: one request per line ("PATH<TAB>HEADER-LINES" with
# \r\n escapes), answers as JSON lines {status, headers: [[name, value]]}.
cat >"$T/raw.py" <<'PY'
import json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
for line in open(sys.argv[3], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    path, _, extra = line.partition("\t")
    extra = extra.encode().decode("unicode_escape").encode("latin-1")
    req = (b"GET " + path.encode("latin-1") + b" HTTP/1.1\r\nHost: " +
           f"{host}:{port}".encode() + b"\r\n" + extra +
           b"Connection: close\r\n\r\n")
    if extra.lower().startswith(b"host:"):
        req = (b"GET " + path.encode("latin-1") + b" HTTP/1.1\r\n" + extra +
               b"Connection: close\r\n\r\n")
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    st = lines[0].split(" ")[1] if lines and " " in lines[0] else "0"
    hs = [l.split(":", 1) for l in lines[1:]]
    print(json.dumps({"req": line, "status": int(st),
                      "headers": [[h[0], h[1].strip() if len(h) > 1 else None] for h in hs]}))
PY
cat >"$T/check.py" <<'PY'
import json, sys, urllib.parse
landing = urllib.parse.urlsplit(sys.argv[1])
ok_names = {"server", "date", "content-type", "content-length", "connection",
            "x-request-id", "cache-control", "x-content-type-options",
            "location", "set-cookie", "allow", "www-authenticate",
            "transfer-encoding", "keep-alive"}
import re
bad = []
for line in open(sys.argv[2]):
    r = json.loads(line)
    for name, value in r["headers"]:
        if value is None or name.lower() not in ok_names:
            bad.append(f"{r['req']!r}: header line {name!r}")
            continue
        if re.search(r"evil|injected", value, re.I) and name.lower() != "location":
            bad.append(f"{r['req']!r}: {name}: {value}")
        if name.lower() == "x-request-id" and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value):
            bad.append(f"{r['req']!r}: X-Request-Id {value!r}")
        if name.lower() == "location":
            u = urllib.parse.urlsplit(urllib.parse.urljoin(sys.argv[1], value))
            if (u.scheme, u.netloc) != (landing.scheme, landing.netloc) or \
                    not value.startswith(sys.argv[1]):
                bad.append(f"{r['req']!r}: Location {value!r}")
        if name.lower() == "set-cookie" and not re.fullmatch(
                r"[A-Za-z0-9_]+=[0-9A-Z]{8}; Max-Age=\d+; Path=/; HttpOnly; Secure; SameSite=Lax", value):
            bad.append(f"{r['req']!r}: Set-Cookie {value!r}")
for b in bad[:15]:
    print(b)
PY
raw() { "$PY" "$T/raw.py" 127.0.0.1 "$PORT" "$1" >"$1.out" 2>"$1.err"; }
checkraw() { "$PY" "$T/check.py" "$LANDING" "$1.out"; }
statuses_of() { jq -r .status "$1.out" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'; }

LC=$(printf '%s' "$CA" | tr A-Z a-z)
{
	for p in '//evil.com' '%2F%2Fevil.com' '%2f%2fevil.com' '\evil.com' '%5Cevil.com' \
	    '%5C%5Cevil.com' '/%5Cevil.com' 'http:%2F%2Fevil.com' 'http://evil.com' \
	    'https:evil.com' 'HTTP:%2F%2Fevil.com' '%0D%0ALocation:%20http://evil.com' \
	    '%0d%0aLocation:%20//evil.com' "$CA%0D%0ALocation:%20http://evil.com" '@evil.com' \
	    'evil.com' '.evil.com' '%2E%2E%2F%2Fevil.com' '%09//evil.com' '%00//evil.com' \
	    '%E2%80%AEevil.com' '%E3%80%82evil.com' "$CA?redirect=http://evil.com" \
	    "$CA?ref=x&next=//evil.com" "$CA%23@evil.com" "$CA/..//evil.com" "$CA%2F..%2F%2Fevil.com" \
	    "$LC" "$CA;%20Domain=evil.com" "$CA%3B%20Domain%3Devil.com" "$CA%0D%0ASet-Cookie:%20evil=1"; do
		printf '/r/%s\t\n' "$p"
	done
	printf '/r/%s\tHost: evil.com\\r\\n\n' "$CA"
	printf '/r/%s\tX-Forwarded-Host: evil.com\\r\\nX-Forwarded-Proto: https\\r\\nForwarded: host=evil.com\\r\\n\n' "$CA"
	printf '/r/%s\tX-Original-URL: //evil.com\\r\\nReferer: http://evil.com/\\r\\n\n' "$CA"
} >"$T/redirects"
raw "$T/redirects"
is "34 landings with hostile codes and headers answered" "$(wc -l <"$T/redirects.out")" 34
like "every one answered 302, 404 or 400" "$(statuses_of "$T/redirects")" '^((302|400|404):[0-9]+ )+$'
is "no Location off landing_url's host, no injected header, only well-formed cookies" "$(checkraw "$T/redirects")" ""
is "a known code still redirects with its cookie (the check sees redirects)" \
    "$(jq -r "select(.req == \"/r/$LC\t\") | [.status, (.headers[] | select(.[0] == \"Location\") | .[1])] | join(\" \")" "$T/redirects.out")" \
    "302 $LANDING?ref=$CA"

{
	printf '/r/%s%%0D%%0AX-Injected:%%201\t\n' "$CA"
	printf '/healthz\tX-Request-Id: a%%0d%%0aX-Injected:%%201\\r\\n\n'
	printf '/healthz\tX-Request-Id: abc\\rX-Injected: 1\\r\\n\n'
	printf '/healthz\tX-Request-Id: abc\\r\\n X-Injected: 1\\r\\n\n'
	printf '/healthz\tX-Request-Id: abc def\\r\\n\n'
	printf '/healthz\tX-Request-Id: abc;X-Injected=1\\r\\n\n'
	printf '/healthz\tX-Request-Id: %s\\r\\n\n' "$(printf 'a%.0s' $(seq 65))"
	printf '/healthz\tX-Request-Id: \\xc3\\xa9t\\xc3\\xa9\\r\\n\n'
	printf '/healthz\tX-Request-Id: ok-1.2_3\\r\\n\n'
	printf '/v1/referrals/1\tAuthorization: Bearer x%%0d%%0aX-Injected:%%201\\r\\n\n'
	printf '/v1/users/1%%0D%%0AX-Injected:%%201/code\tAuthorization: Bearer %s\\r\\n\n' "$API_KEY"
	printf '/nowhere%%0D%%0AX-Injected:%%201\t\n'
} >"$T/inject"
raw "$T/inject"
is "12 requests with CR/LF in the path and headers answered" "$(wc -l <"$T/inject.out")" 12
is "no injected header, X-Request-Id always well-formed" "$(checkraw "$T/inject")" ""
is "a valid X-Request-Id is echoed as is" \
    "$(jq -r 'select(.req | test("ok-1")) | .headers[] | select(.[0] == "X-Request-Id") | .[1]' "$T/inject.out")" "ok-1.2_3"

# Straight to the FastCGI socket: what no web server would pass.
fc() { "$PY" "$LIB/fcgi_client.py" "$FSOCK" "$@"; }
fcheck() {	# fcheck DESCRIPTION PARAMS...: no header but ours in the answer
	local out bad
	out=$(fc "${@:2}" 2>&1)
	bad=$(printf '%s' "$out" | "$PY" -c '
import re, sys
d = sys.stdin.read()
head = d.split("\r\n\r\n", 1)[0]
ok = ("Status", "Content-Type", "Content-Length", "X-Request-Id", "Cache-Control",
      "X-Content-Type-Options", "Location", "Set-Cookie", "Allow", "WWW-Authenticate")
for l in head.split("\r\n"):
    n, _, v = l.partition(": ")
    if n not in ok or "\r" in v or "\n" in v or re.search("injected|evil", v, re.I):
        print(repr(l))
m = re.search(r"^X-Request-Id: (.*)$", head, re.M)
if not m or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", m.group(1).strip()):
    print("X-Request-Id", m and m.group(1))
if "== end" not in d:
    print("no answer")')
	is "$1" "$bad" ""
}
fcheck "fcgi: CR/LF in X-Request-Id" -p $'HTTP_X_REQUEST_ID=abc\r\nX-Injected: 1'
fcheck "fcgi: a bare LF in X-Request-Id" -p $'HTTP_X_REQUEST_ID=abc\nSet-Cookie: evil=1'
fcheck "fcgi: CR/LF in the landing path" -p $'REQUEST_URI=/r/'"$CA"$'\r\nX-Injected: 1'
fcheck "fcgi: CR/LF and a URL as the code" -p $'REQUEST_URI=/r/\r\nLocation: http://evil.com'
fcheck "fcgi: a Host of evil.com on a landing" -p "REQUEST_URI=/r/$CA" -p "HTTP_HOST=evil.com" -p "SERVER_NAME=evil.com"
fcheck "fcgi: CR/LF in the method" -p $'REQUEST_METHOD=GET\r\nX-Injected: 1'
fcheck "fcgi: CR/LF in Authorization" -p "REQUEST_URI=/v1/referrals/1" -p $'HTTP_AUTHORIZATION=Bearer x\r\nX-Injected: 1'
fcheck "fcgi: CR/LF in webhook-id" -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/events \
    -p CONTENT_TYPE=application/json -p CONTENT_LENGTH=2 -p $'HTTP_WEBHOOK_ID=x\r\nX-Injected: 1' \
    -p HTTP_WEBHOOK_TIMESTAMP=1 -p HTTP_WEBHOOK_SIGNATURE=v1,x -b '{}'
fcheck "fcgi: CR/LF in Content-Type" -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups \
    -p "HTTP_AUTHORIZATION=Bearer $API_KEY" -p $'CONTENT_TYPE=application/json\r\nX-Injected: 1' \
    -p CONTENT_LENGTH=2 -b '{}'
LOC=$(fc -p "REQUEST_URI=/r/$CA" -p HTTP_HOST=evil.com | tr -d '\r' | sed -n 's/^Location: //p')
res=""
for q in "api_key=$API_KEY" "access_token=$API_KEY" "key=$ADMIN_KEY&token=$ADMIN_KEY"; do
	res="$res$(fc -p "REQUEST_URI=/v1/users/$U/code?$q" | tr -d '\r' | sed -n 's/^Status: \([0-9]*\).*/\1/p') "
done
is "fcgi: the real keys in the query string: 401" "$res" "401 401 401 "
is "fcgi: the redirect target comes from landing_url, not Host" "$LOC" "$LANDING?ref=$CA"

# --- files -----------------------------------------------------------------------------
MODE=$(stat -c '%a' "$FSOCK")
ok $(( 0$MODE & 02 ? 1 : 0 )) "the FastCGI socket $FSOCK is not world-writable (mode $MODE)"
ok $(( 0$MODE & 07 ? 1 : 0 )) "nor open to others at all (mode $MODE, owner $(stat -c '%U:%G' "$FSOCK"))"
CMODE=$(stat -c '%a' "$CONF")
ok $(( 0$CMODE & 077 ? 1 : 0 )) "referd.conf, which holds the secrets, is readable by its owner only (mode $CMODE)"

# --- systemd units --------------------------------------------------------------------------
# The units as the build made them from etc/systemd/*.in.
UNITS=$(ls "$BUILD"/etc/systemd/*.service 2>/dev/null)
if [ -n "$UNITS" ] && command -v systemd-analyze >/dev/null; then
	for u in $UNITS; do
		n=$(basename "$u")
		user=$(sed -n 's/^User=//p' "$u" | tail -1)
		dyn=$(sed -n 's/^DynamicUser=//p' "$u" | tail -1)
		ok $([ "$dyn" = yes ] || { [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; }; echo $?) \
		    "$n runs as an unprivileged user (User=${user:-none} DynamicUser=${dyn:-no})"
		score=$(systemd-analyze security --offline=yes --no-pager "$u" 2>"$T/sa.err" |
		    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
		ok $([ -n "$score" ] && [ "$(echo "${score%% *} <= 5.0" | bc)" = 1 ]; echo $?) \
		    "systemd-analyze security --offline: $n exposure ${score:-unknown} (at most 5.0)" \
		    "$(head -3 "$T/sa.err")"
	done
else
	echo "# no $BUILD/etc/systemd/*.service or no systemd-analyze: exposure not scored"
fi

finish
