#!/bin/bash
# tests/receiver/test_receiver.sh: exercise tests/receiver/receiver.py.
# Needs only bash, curl and python3.  Prints TAP-like "ok N - ..." lines
# and exits nonzero on any failure.  Port: $REFERD_PORT+5 (default 18085),
# or the next free one.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
RECV=$HERE/receiver.py
# The signer of the test helpers: the sign CLI, and signing.py for the
# inline Python below (PYTHONPATH).
SIGNLIB=$(cd "$HERE/../lib" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
BADSECRET=whsec_c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1yaWdodC1vbmU=

T=$(mktemp -d "${TMPDIR:-/tmp}/receiver-test.XXXXXX")
LOG=$T/recv.log
PID=
. "$HERE/../e2e/lib/tap.sh"

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT


# ---- port

BASE=18085
[ -n "${REFERD_PORT:-}" ] && BASE=$((REFERD_PORT + 5))
PORT=$("$PY" - "$BASE" <<'EOF'
import socket, sys
base = int(sys.argv[1])
for p in range(base, base + 50):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
)
[ -n "$PORT" ] || { echo "Bail out! no free port near $BASE"; exit 1; }
URL=http://127.0.0.1:$PORT

# ---- helpers

start() {	# start [receiver options...]
	"$PY" "$RECV" --mode test --listen "127.0.0.1:$PORT" \
	    --secret "$SECRET" --log "$LOG" --pidfile "$T/pid" --seed 7 \
	    "$@" 2>>"$T/stderr" &
	PID=$!
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null --max-time 1 "$URL/_health" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "Bail out! receiver did not start: $(cat "$T/stderr")"
	exit 1
}

stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	local rc=$?
	PID=
	return $rc
}

sig() {	# sig SECRET ID TS BODY
	printf '%s' "$4" | "$PY" "$SIGNLIB/sign" "$1" "$2" "$3"
}

body() {	# body REWARD_ID [EVENT]
	printf '{"event":"%s","reward_id":%s,"referral_id":9,"user_id":"u-%s","role":"referrer","type":"credit","amount":500,"currency":"EUR","issued_at":"2024-05-01T10:00:00Z"}' \
	    "${2:-reward.issued}" "$1" "$1"
}

# post KEY BODY [TS [SECRET [SIGOVERRIDE]]]  -> $CODE, $T/resp, $T/hdrs
post() {
	local key=$1 b=$2 ts=${3:-$(date +%s)} sec=${4:-$SECRET}
	local id="msg_$RANDOM$RANDOM"
	local s=${5:-$(sig "$sec" "$id" "$ts" "$b")}
	local kh=()
	[ -n "$key" ] && kh=(-H "Idempotency-Key: $key")
	CODE=$(curl -sS -o "$T/resp" -D "$T/hdrs" -w '%{http_code}' \
	    --max-time 5 -X POST "$URL/rewards/credit" \
	    -H 'Content-Type: application/json' "${kh[@]}" \
	    -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
	    -H "webhook-signature: $s" --data-binary "$b" 2>"$T/curlerr")
	CURLRC=$?
}

count() {	# count KIND KEY -> number of log lines
	"$PY" - "$LOG" "$1" "$2" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == sys.argv[2] and r.get("key") == sys.argv[3]:
        n += 1
print(n)
EOF
}

jget() {	# jget FILE EXPR  (EXPR over variable j)
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

stats() { curl -sS --max-time 5 -o "$T/stats" "$URL/_stats"; }

control() {	# control JSON
	curl -sS --max-time 5 -o "$T/ctl" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' --data-binary "$1" \
	    "$URL/_control"
}

# ---- tests

check "selftest: published Standard Webhooks vector verifies" \
    "$PY" "$RECV" --selftest
[ "$(sig "$SECRET" msg_p5jXN8AQM9LWM0D4loKWxJek 1614265330 '{"test": 2432232314}')" \
    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" ]
ok $? "test-side signer reproduces the published vector"

start

post reward-101 "$(body 101)"
[ "$CODE" = 200 ] && grep -q '"status":"granted"' "$T/resp"
ok $? "good signed request is 200 granted" "code=$CODE $(cat "$T/resp")"
[ "$(count applied reward-101)" = 1 ]
ok $? "first delivery logged as applied once"
grep -q '"kind":"applied","key":"reward-101","event":"reward.issued","reward_id":101,.*"user_id":"u-101".*"type":"credit","amount":500,"currency":"EUR","attempt_no":1' "$LOG"
ok $? "applied line carries event, reward, user, type, amount, currency, attempt_no"

post reward-101 "$(body 101)"
[ "$CODE" = 200 ] && grep -q '"status":"duplicate"' "$T/resp"
ok $? "repeat of the same key is 200 duplicate" "code=$CODE $(cat "$T/resp")"
[ "$(count applied reward-101)" = 1 ] && [ "$(count duplicate reward-101)" = 1 ]
ok $? "repeat is logged as duplicate, not applied twice"

post revoke-101 "$(body 101 reward.revoked)"
[ "$CODE" = 200 ] && grep -q '"status":"granted"' "$T/resp" && \
    [ "$(count applied revoke-101)" = 1 ]
ok $? "revocation key is separate and applied once" "code=$CODE"

post reward-102 "$(body 102)" "$(date +%s)" "$BADSECRET"
[ "$CODE" = 401 ] && grep -q '"error"' "$T/resp"
ok $? "bad signature is 401 with JSON error" "code=$CODE $(cat "$T/resp")"

post reward-102 "$(body 102)" $(( $(date +%s) - 600 ))
[ "$CODE" = 401 ]
ok $? "timestamp 10 minutes old is 401" "code=$CODE"

post reward-102 "$(body 102)" $(( $(date +%s) + 600 ))
[ "$CODE" = 401 ]
ok $? "timestamp 10 minutes ahead is 401" "code=$CODE"

NOW=$(date +%s)
post reward-102 "$(body 102)" "$NOW" "$SECRET" \
    "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v1,$(sig "$SECRET" fixed-id "$NOW" "$(body 102)" | cut -d, -f2)"
[ "$CODE" = 401 ]
ok $? "signature for another webhook-id is 401" "code=$CODE"

B=$(body 103)
ID=msg_multi
SG=$(sig "$SECRET" $ID "$NOW" "$B")
CODE=$(curl -sS -o "$T/resp" -w '%{http_code}' -X POST "$URL/x" \
    -H 'Idempotency-Key: reward-103' -H "webhook-id: $ID" \
    -H "webhook-timestamp: $NOW" \
    -H "webhook-signature: v1,bm9wZQ== $SG" --data-binary "$B")
[ "$CODE" = 200 ]
ok $? "several signatures, one valid, is 200" "code=$CODE"

post "" "$(body 104)"
[ "$CODE" = 400 ]
ok $? "missing Idempotency-Key is 400" "code=$CODE"

post reward-105 '{"event":"reward.issued",'
[ "$CODE" = 400 ] && grep -q '"error"' "$T/resp"
ok $? "broken JSON is 400" "code=$CODE"

# keep-alive: three requests over one HTTP/1.1 connection
PYTHONPATH=$SIGNLIB PYTHONDONTWRITEBYTECODE=1 \
"$PY" - "$PORT" "$SECRET" >"$T/ka" 2>&1 <<'EOF'
import http.client, json, sys, time
from signing import sign
port, sec = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
socks = set()
for i in range(3):
    body = json.dumps({"event": "reward.issued", "reward_id": 200 + i})
    ts = str(int(time.time()))
    mid = f"msg_ka{i}"
    c.request("POST", "/rewards", body, {
        "Idempotency-Key": f"reward-{200 + i}", "webhook-id": mid,
        "webhook-timestamp": ts, "Content-Type": "application/json",
        "webhook-signature": sign(sec, mid, ts, body)})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    assert r.getheader("Content-Length"), "no Content-Length"
    assert r.version == 11, r.version
    socks.add(id(c.sock))
assert len(socks) == 1, "connection not reused"
print("keepalive ok")
EOF
grep -q 'keepalive ok' "$T/ka"
ok $? "HTTP/1.1 keep-alive: 3 requests on one connection" "$(cat "$T/ka")"

[ "$(control '{"faults":"503:1.0"}')" = 200 ]
ok $? "POST /_control sets faults live"
post reward-106 "$(body 106)"
[ "$CODE" = 503 ] && [ "$(count applied reward-106)" = 0 ]
ok $? "fault 503:1.0 gives 503 and does not apply" "code=$CODE"

control '{"faults":"429:1.0"}' >/dev/null
post reward-106 "$(body 106)"
[ "$CODE" = 429 ] && grep -qi '^Retry-After: 1' "$T/hdrs"
ok $? "fault 429:1.0 gives 429 with Retry-After: 1" "code=$CODE"

control '{"faults":"500:1.0"}' >/dev/null
post reward-106 "$(body 106)"
[ "$CODE" = 500 ]
ok $? "fault 500:1.0 gives 500" "code=$CODE"

control '{"faults":"reset:1.0"}' >/dev/null
post reward-106 "$(body 106)"
[ "$CURLRC" = 52 ] || [ "$CURLRC" = 56 ]
ok $? "fault reset:1.0 closes the connection without an answer" \
    "curl rc=$CURLRC code=$CODE"

[ "$(control '{"faults":"bogus:0.5"}')" = 400 ]
ok $? "bad fault spec on /_control is 400"

control '{"faults":""}' >/dev/null
post reward-106 "$(body 106)"
[ "$CODE" = 200 ] && [ "$(count applied reward-106)" = 1 ] && \
    grep -q '"kind":"applied","key":"reward-106".*"attempt_no":5' "$LOG"
ok $? "after faults cleared, the retried key applies once (attempt_no 5)" \
    "code=$CODE"

stats
# requests: 101 x2, revoke, 102 x4, 103, no-key, 105, 200..202, 106 x5 = 18
jget "$T/stats" 'j["requests"] == 18 and j["requests"] == sum(j["by_status"].values()) and j["applied"] == 7 and j["duplicates"] == 1 and j["by_status"] == {"200": 8, "400": 2, "401": 4, "429": 1, "500": 1, "503": 1, "reset": 1} and j["faults"] == {"429": 1, "500": 1, "503": 1, "reset": 1} and j["bad_signature"] == 4 and j["overlap"] == 0 and j["inflight"] == 0' \
    >"$T/j" 2>&1
grep -q True "$T/j"
ok $? "/_stats counts add up" "$(cat "$T/stats")"
[ "$("$PY" - "$LOG" <<'EOF'
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["kind"] == "request"))
EOF
)" = 18 ]
ok $? "one request log line per reward request"

# concurrency: 5 distinct keys hanging at once, plus one key twice
control '{"faults":"hang:1.0","hang_seconds":1}' >/dev/null
for i in 1 2 3 4 5; do post reward-30$i "$(body 30$i)" & done
post reward-310 "$(body 310)" &
sleep 0.3
post reward-310 "$(body 310)" &
wait $(jobs -p | grep -v "^$PID\$") 2>/dev/null
stats
jget "$T/stats" 'j["max_inflight"] >= 6 and j["overlap_hung"] == 1 and j["overlap"] == 0 and j["inflight"] == 0' >"$T/j" 2>&1
grep -q True "$T/j"
ok $? "max_inflight tracks concurrent requests; retry during a hang is overlap_hung" \
    "$(cat "$T/stats")"

# a real overlap: the same key in flight twice, neither in a hang.  Hold
# request 1 open by sending its headers and half its body, send request 2
# for the same key on another connection, then finish request 1.
control '{"faults":"","reset_stats":true}' >/dev/null
PYTHONPATH=$SIGNLIB PYTHONDONTWRITEBYTECODE=1 \
"$PY" - "$PORT" "$SECRET" >"$T/ov" 2>&1 <<'EOF'
import socket, sys, time
from signing import sign
port, sec = int(sys.argv[1]), sys.argv[2]
def req(mid):
    body = b'{"event":"reward.issued","reward_id":401}'
    ts = str(int(time.time()))
    h = (f"POST /r HTTP/1.1\r\nHost: x\r\nIdempotency-Key: reward-401\r\n"
         f"webhook-id: {mid}\r\nwebhook-timestamp: {ts}\r\n"
         f"webhook-signature: {sign(sec, mid, ts, body)}\r\n"
         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return h, body
s1 = socket.create_connection(("127.0.0.1", port))
h, b = req("m1")
s1.sendall(h + b[:5])
time.sleep(0.3)
s2 = socket.create_connection(("127.0.0.1", port))
h2, b2 = req("m2")
s2.sendall(h2 + b2)
r2 = s2.recv(4096)
s1.sendall(b[5:])
r1 = s1.recv(4096)
print(r1.split(b"\r\n")[0].decode(), "|", r2.split(b"\r\n")[0].decode())
EOF
stats
jget "$T/stats" 'j["overlap"] == 1 and j["applied"] == 1 and j["duplicates"] == 1' >"$T/j" 2>&1
grep -q True "$T/j" && grep -q '"key":"reward-401".*"overlap":true' "$LOG"
ok $? "same key in flight twice counts as overlap and logs overlap:true" \
    "$(cat "$T/ov") $(cat "$T/stats")"

# hang that applies before sleeping: client times out, grant applied anyway
control '{"faults":"hang:1.0","hang_seconds":1}' >/dev/null
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 0.4 -X POST \
    "$URL/r" -H 'Idempotency-Key: reward-500' --data-binary "$(body 500)" \
    -H "webhook-id: m500" -H "webhook-timestamp: $(date +%s)" \
    -H "webhook-signature: $(sig "$SECRET" m500 "$(date +%s)" "$(body 500)")")
RC=$?
[ "$RC" = 28 ] && [ "$(count applied reward-500)" = 1 ]
ok $? "hang: client times out but the grant was applied (--hang-applies)" \
    "curl rc=$RC"
control '{"faults":""}' >/dev/null
post reward-500 "$(body 500)"
[ "$CODE" = 200 ] && grep -q '"status":"duplicate"' "$T/resp"
ok $? "retry after a hang is 200 duplicate" "code=$CODE"

# hang that sleeps first (--no-hang-applies): applied only after the sleep
control '{"faults":"hang:1.0","hang_seconds":1,"hang_applies":false}' >/dev/null
TS=$(date +%s)
curl -s -o /dev/null --max-time 0.4 -X POST "$URL/r" \
    -H 'Idempotency-Key: reward-501' --data-binary "$(body 501)" \
    -H "webhook-id: m501" -H "webhook-timestamp: $TS" \
    -H "webhook-signature: $(sig "$SECRET" m501 "$TS" "$(body 501)")"
RC=$?
A1=$(count applied reward-501)
sleep 1
A2=$(count applied reward-501)
[ "$RC" = 28 ] && [ "$A1" = 0 ] && [ "$A2" = 1 ]
ok $? "hang with hang_applies=false applies only after the sleep" \
    "curl rc=$RC before=$A1 after=$A2"
control '{"faults":"","hang_applies":true}' >/dev/null

stop
RC=$?
[ "$RC" = 0 ] && [ ! -e "$T/pid" ] && tail -1 "$LOG" | grep -q '"kind":"stop"'
ok $? "SIGTERM exits 0, removes pidfile, logs stop" "rc=$RC"

# restart on the same log: applied keys are reloaded
start
post reward-101 "$(body 101)"
[ "$CODE" = 200 ] && grep -q '"status":"duplicate"' "$T/resp" && \
    [ "$(count applied reward-101)" = 1 ]
ok $? "restarted receiver reloads applied keys from --log and dedupes" \
    "code=$CODE $(cat "$T/resp")"
grep -q '"kind":"duplicate","key":"reward-101".*"attempt_no":3' "$LOG"
ok $? "attempt_no continues across restart"
stop

# --always 400 (dead-letter tests)
start --always 400
post reward-600 "$(body 600)"
[ "$CODE" = 400 ] && [ "$(count applied reward-600)" = 0 ]
ok $? "--always 400 answers 400 and applies nothing" "code=$CODE"
post reward-600 "$(body 600)" "$(date +%s)" "$BADSECRET"
[ "$CODE" = 401 ]
ok $? "--always still checks the signature first (401)" "code=$CODE"
stop

# --faults on the command line with --secret-file and env secret
printf '# referd.conf\ndb_name = referd\noutbound_secret = %s\n' "$SECRET" \
    >"$T/referd.conf"
LOG=$T/recv2.log
"$PY" "$RECV" --mode test --listen "127.0.0.1:$PORT" --log "$LOG" \
    --secret-file "$T/referd.conf" --faults 503:1.0 2>>"$T/stderr" &
PID=$!
for i in $(seq 1 100); do
	curl -s -o /dev/null --max-time 1 "$URL/_health" && break
	sleep 0.05
done
post reward-700 "$(body 700)"
[ "$CODE" = 503 ]
ok $? "--secret-file + --faults 503:1.0 gives 503 for a signed request" \
    "code=$CODE $(cat "$T/resp")"
post reward-700 "$(body 700)" "$(date +%s)" "$BADSECRET"
[ "$CODE" = 401 ]
ok $? "--secret-file secret is enforced" "code=$CODE"
stop

LOG=$T/recv3.log
REFERD_OUTBOUND_SECRET=$SECRET "$PY" "$RECV" --mode test \
    --listen "127.0.0.1:$PORT" --log "$LOG" --faults '500:0.5,503:0.5' \
    --seed 1 2>>"$T/stderr" &
PID=$!
for i in $(seq 1 100); do
	curl -s -o /dev/null --max-time 1 "$URL/_health" && break
	sleep 0.05
done
for i in $(seq 1 20); do post "reward-8$i" "$(body 8$i)"; echo "$CODE"; done \
    >"$T/codes"
stats
jget "$T/stats" 'j["requests"] == 20 and j["by_status"].get("500",0) + j["by_status"].get("503",0) == 20 and j["by_status"].get("500",0) > 0 and j["by_status"].get("503",0) > 0 and j["applied"] == 0' \
    >"$T/j" 2>&1
grep -q True "$T/j"
ok $? "env secret + mixed spec 500:0.5,503:0.5 spreads over both" \
    "$(cat "$T/stats")"
stop

done_testing
