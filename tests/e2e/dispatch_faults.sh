#!/usr/bin/env bash
# tests/e2e/dispatch_faults.sh: referd-dispatch against a fault-injecting
# receiver: permanent 400 (dead at once), always 500 (dead after
# dispatch_max_attempts, last error kept), requeue of dead rows, 429 with
# Retry-After in seconds and as an HTTP date, a hang past the timeout
# (retried with the same key, applied once), connection refused, a mix of
# every fault under a running daemon, and SIGTERM (finish in flight, or
# give back at the second signal).  Ends with the audit of dispatch_lib.sh.
. "$(dirname "$0")/dispatch_lib.sh"

scratch_db
recv_start "$P5"
FAST=$(conf fast "dispatch_backoff_ms = 100" "dispatch_max_attempts = 3" \
    "dispatch_timeout_ms = 1000" "dispatch_connect_timeout_ms = 500" \
    "dispatch_poll_ms = 50")
maxid() { sql "SELECT COALESCE(MAX(id), 0) FROM outbox"; }
count() { sql "SELECT COUNT(*) FROM outbox WHERE $1"; }
seed() { "$SEED" -q -c "$FAST" -b "$1" rewarded "$2" || die "seeding failed"; }

# --- a permanent 400 is dead at once
recv_ctl "$P5" '{"always": "400"}'
last=$(maxid)
seed 1000000 2
once "$FAST"
is "400: four rows dead after one attempt, status and error kept" \
    "$(count "id > $last AND status = 'dead' AND attempts = 1 AND last_status = 400 AND last_error LIKE 'HTTP 400: %injected fault%'")" 4
is "400: the receiver saw each row once" "$(recv_stat "$P5" requests)" 4
DEAD400=$(sql "SELECT id FROM outbox WHERE id > $last")

# --- dead rows set back to pending are delivered
recv_ctl "$P5" '{"always": null}'
for id in $DEAD400; do
	"$SEED" -q -c "$FAST" requeue "$id" || ok 1 "requeue $id"
done
is "requeue: rows pending again with attempts reset" \
    "$(count "id > $last AND status = 'pending' AND attempts = 0")" 4
is "requeue: audit-logged" \
    "$(sql "SELECT COUNT(*) FROM audit_log WHERE action = 'outbox_retry'")" 4
once "$FAST"
is "requeue: delivered on the next run" \
    "$(count "id > $last AND status = 'delivered' AND attempts = 1 AND last_error IS NULL")" 4

# --- always 500: dead after dispatch_max_attempts (3), error kept
recv_ctl "$P5" '{"always": "500"}'
last=$(maxid)
seed 2000000 2
drain "$FAST" 30
is "500: dead after exactly 3 attempts with the last error" \
    "$(count "id > $last AND status = 'dead' AND attempts = 3 AND last_status = 500 AND last_error LIKE 'HTTP 500: %injected fault%'")" 4
n=$(python3 - "$T/recv-$P5.log" $(sql "SELECT idempotency_key FROM outbox WHERE id > $last") <<'PY'
import json, sys
keys = set(sys.argv[2:]); n = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "request" and r.get("key") in keys:
        n[r["key"]] = n.get(r["key"], 0) + 1
print(sorted(set(n.values())), len(n))
PY
)
is "500: each row was sent 3 times, always with its own key" "$n" "[3] 4"
for id in $(sql "SELECT id FROM outbox WHERE id > $last"); do
	"$SEED" -q -c "$FAST" requeue "$id" || ok 1 "requeue $id"
done
recv_ctl "$P5" '{"always": null}'
drain "$FAST" 20
is "500: requeued rows delivered" "$(count "id > $last AND status = 'delivered'")" 4

# --- 429 with Retry-After: 3 (seconds), then as an HTTP date 4 s ahead
gap_check() {	# gap_check MIN_SECONDS IDS...: 429 -> next try at least MIN later
	local min=$1; shift
	python3 - "$T/recv-$P5.log" "$min" \
	    $(sql "SELECT idempotency_key FROM outbox WHERE id IN ($(echo "$@" | tr ' ' ,))") <<'PY'
import json, sys
log, mn, keys = sys.argv[1], float(sys.argv[2]), set(sys.argv[3:])
t = {}
for line in open(log):
    r = json.loads(line)
    if r.get("kind") == "request" and r.get("key") in keys:
        t.setdefault(r["key"], []).append((r["ts"], r["status"]))
bad = []
for k in keys:
    a = t.get(k, [])
    if len(a) != 2 or a[0][1] != 429 or a[1][1] != 200:
        bad.append(f"{k}: {a}")
    elif a[1][0] - a[0][0] < mn:
        bad.append(f"{k}: retried after {a[1][0] - a[0][0]:.2f} s")
print("; ".join(bad) or "ok")
sys.exit(1 if bad else 0)
PY
}
for ra in 3 date; do
	if [ $ra = date ]; then
		val=$(date -u -d '+4 seconds' '+%a, %d %b %Y %H:%M:%S GMT')
	else
		val=3
	fi
	min=2.9
	recv_ctl "$P5" "{\"always\": \"429\", \"retry_after\": \"$val\"}"
	last=$(maxid)
	seed $((3000000 + ${#ra} * 1000)) 1
	once "$FAST"
	is "429 ($ra): rows wait for Retry-After, not the 100 ms backoff" \
	    "$(count "id > $last AND status = 'pending' AND attempts = 1 AND last_status = 429 AND next_attempt_at >= UTC_TIMESTAMP() + INTERVAL 2 SECOND")" 2
	ids=$(sql "SELECT id FROM outbox WHERE id > $last")
	recv_ctl "$P5" '{"always": null}'
	drain "$FAST" 20
	is "429 ($ra): delivered afterwards" "$(count "id > $last AND status = 'delivered' AND attempts = 2")" 2
	check "429 ($ra): the second attempt came at least $min s after the 429" gap_check "$min" $ids
done

# --- a hang past the timeout: unknown outcome, retried with the same key
recv_ctl "$P5" '{"always": "hang", "hang_seconds": 2.5}'
last=$(maxid)
seed 4000000 1
once "$FAST"
is "hang: timed out rows are retried, not failed" \
    "$(count "id > $last AND status = 'pending' AND attempts = 1 AND last_error LIKE 'timeout (outcome unknown)%'")" 2
recv_ctl "$P5" '{"always": null}'
drain "$FAST" 20
is "hang: delivered on the retry" "$(count "id > $last AND status = 'delivered' AND attempts = 2")" 2
dups=$(grep -c '"kind":"duplicate"' "$T/recv-$P5.log")
ok $([ "$dups" -ge 2 ]; echo $?) "hang: the retry reached the receiver as a duplicate of the applied grant ($dups)"

# --- connection refused, then the receiver comes up
REFUSED=$(RPORT=$P6 conf refused "dispatch_backoff_ms = 100" \
    "dispatch_timeout_ms = 1000" "dispatch_connect_timeout_ms = 500")
last=$(maxid)
"$SEED" -q -c "$REFUSED" -b 5000000 rewarded 1 || die "seeding failed"
once "$REFUSED"
is "refused: retried with the connection error" \
    "$(count "id > $last AND status = 'pending' AND attempts = 1 AND last_status IS NULL AND last_error LIKE '%onnect%'")" 2
recv_start "$P6"
drain "$REFUSED" 20
is "refused: delivered once the receiver is up" "$(count "id > $last AND status = 'delivered'")" 2

# --- every fault at once under a running daemon
MIX=$(conf mix "dispatch_backoff_ms = 100" "dispatch_backoff_max_ms = 2000" \
    "dispatch_timeout_ms = 1000" \
    "dispatch_connect_timeout_ms = 500" "dispatch_poll_ms = 50")
recv_ctl "$P5" '{"always": null, "faults": "500:0.15,503:0.1,429:0.05,hang:0.03,reset:0.05", "hang_seconds": 2, "retry_after": "1"}'
last=$(maxid)
"$SEED" -q -c "$MIX" -b 6000000 -j 2 rewarded 150 || die "seeding failed"
t0=$SECONDS
daemon "$MIX" mix
pid=$LASTPID
wait_settled 120
is "mix: 300 rows delivered in $((SECONDS - t0)) s" "$(count "id > $last AND status = 'delivered'")" 300
check "mix: SIGTERM stops the daemon with status 0" stop_daemon "$pid" 10
f=$(curl -fsS "http://127.0.0.1:$P5/_stats")
nfault=$(echo "$f" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["faults"].values()))')
ok $([ "$nfault" -ge 30 ]; echo $?) "mix: the receiver injected $nfault faults"
retried=$(grep -c ' result=retry ' "$T/dispatch.log")
ok $([ "$retried" -ge 30 ]; echo $?) "mix: $retried attempts retried"

# --- SIGTERM finishes the transfers in flight (bounded by the timeout)
recv_ctl "$P5" '{"faults": "", "always": "hang", "hang_seconds": 3}'
SLOW=$(conf slow "dispatch_timeout_ms = 4000" "dispatch_poll_ms = 50")
last=$(maxid)
"$SEED" -q -c "$SLOW" -b 7000000 rewarded 2 || die "seeding failed"
daemon "$SLOW" term1
pid=$LASTPID
wait_for "[ \$(recv_stat $P5 inflight) -ge 4 ]" 10
t0=$(date +%s%N)
check "TERM: exits 0 after finishing what is in flight" stop_daemon "$pid" 8
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ $ms -ge 500 ] && [ $ms -le 5000 ]; echo $?) "TERM: waited for the answers (${ms} ms)"
is "TERM: the rows in flight were delivered" "$(count "id > $last AND status = 'delivered' AND attempts = 1")" 4

# --- a second TERM gives back what it holds at once
recv_ctl "$P5" '{"always": "hang", "hang_seconds": 4}'
last=$(maxid)
"$SEED" -q -c "$SLOW" -b 8000000 rewarded 2 || die "seeding failed"
daemon "$SLOW" term2
pid=$LASTPID
wait_for "[ \$(recv_stat $P5 inflight) -ge 4 ]" 10
kill -TERM "$pid"
sleep 0.3
t0=$(date +%s%N)
check "TERM TERM: exits 0" stop_daemon "$pid" 5
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $([ $ms -le 1500 ]; echo $?) "TERM TERM: exited at once (${ms} ms)"
is "TERM TERM: rows released, attempt not counted, none left in flight" \
    "$(count "id > $last AND status = 'pending' AND attempts = 0 AND lease_owner IS NULL")" 4
grep -q 'abandoned row=' "$T/dispatch.log"
ok $? "TERM TERM: the log names the rows given back"
recv_ctl "$P5" '{"always": null}'
drain "$FAST" 20
is "TERM TERM: released rows delivered later" "$(count "id > $last AND status = 'delivered'")" 4

# --- one log line per attempt, with row, key, status, latency and error
line=$(grep -m1 ' attempt .* result=dead ' "$T/dispatch.log")
echo "$line" | grep -Eq 'attempt row=[0-9]+ key=reward-[0-9]+ event=reward.issued type=credit try=1 status=400 ms=[0-9]+ result=dead error="HTTP 400: '
ok $? "log: one line per attempt with row, key, status, latency, error" "$line"

audit
done_testing
