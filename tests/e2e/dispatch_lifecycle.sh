#!/usr/bin/env bash
# tests/e2e/dispatch_lifecycle.sh: the reward lifecycle around the
# dispatcher.  On the running stack: a conversion reaches the demo
# receiver within 2 seconds (hold_days = 0), the metrics file, the pid
# lock, the command line.  In a scratch database with hold_days = 1: no
# reward before the hold period, rewards after it (--once and the
# daemon's worker), held referrals wait for approval, approval lets them
# through, and voids and refunds of rewarded referrals send
# reward.revoked with Idempotency-Key revoke-<reward_id>.  Ends with the
# audit of dispatch_lib.sh.
. "$(dirname "$0")/dispatch_lib.sh"

# --- the command line
"$DISPATCH" --help >"$T/help" 2>&1
ok $? "--help exits 0"
grep -q -- '--once' "$T/help"
ok $? "--help describes --once"
"$DISPATCH" --bogus >/dev/null 2>&1
is "an unknown option exits 2" $? 2
"$DISPATCH" >/dev/null 2>&1
is "no -c exits 2" $? 2
(umask 077; printf 'no_such_key = 1\n' >"$T/bad.conf")
"$DISPATCH" -c "$T/bad.conf" --once >"$T/bad.out" 2>&1
rc=$?
is "a bad config exits 78 (EX_CONFIG: systemd's RestartPreventExitStatus)" $rc 78
grep -q "no_such_key" "$T/bad.out"
ok $? "and names the bad key" "$(cat "$T/bad.out")"

# --- the stack: dispatcher and demo receiver started by etc/dev/up
pidf=$RUN/referd-dispatch.pid
alive "$(cat "$pidf" 2>/dev/null)"
ok $? "etc/dev/up started the dispatcher ($pidf)"
alive "$(cat "$RUN/receiver.pid" 2>/dev/null)" || [ -n "${REFERD_REWARD_URL:-}" ]
ok $? "etc/dev/up started the demo receiver"
"$DISPATCH" -c "$CONF" >"$T/second.out" 2>&1
rc=$?
is "a second daemon with the same pid file refuses to start" "$rc" 1
grep -q 'already running' "$T/second.out"
ok $? "and says so" "$(cat "$T/second.out")"
grep -q "already running (pid $(cat "$pidf")," "$T/second.out"
ok $? "naming the running pid" "$(cat "$T/second.out")"

if [ -z "${REFERD_REWARD_URL:-}" ]; then
	B=$(( (7000000 + $(date +%s) % 1000000) * 100000 ))
	t0=$(date +%s%N)
	"$SEED" -q -c "$CONF" -b "$B" rewarded 3 || die "seeding failed"
	q="SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.user_id BETWEEN $B AND $((B + 5)) AND o.status = 'delivered'"
	wait_for "[ \"\$(sql_stack \"$q\")\" = 6 ]" 2
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	ok $rc "stack: 3 conversions, 6 rewards delivered within 2 s (${ms} ms)"
	keys=$(sql_stack "SELECT o.idempotency_key FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.user_id BETWEEN $B AND $((B + 5))")
	n=0
	for k in $keys; do
		grep -q "\"kind\":\"applied\",\"key\":\"$k\"" "$VAR/log/receiver.log" && n=$((n + 1))
	done
	is "stack: the demo receiver applied the 6 keys" "$n" 6
fi
m=$RUN/metrics/dispatch.prom
wait_for "[ -f '$m' ]" 3
age=$(( $(date +%s) - $(stat -c %Y "$m" 2>/dev/null || echo 0) ))
ok $([ $age -le 3 ]; echo $?) "stack: $m is rewritten every second (age ${age} s)"
for k in referd_dispatch_backlog referd_dispatch_outbox_dead referd_dispatch_inflight \
    referd_dispatch_delivered_total referd_dispatch_retried_total \
    referd_dispatch_dead_total; do
	grep -Eq "^$k [0-9]+$" "$m"
	ok $? "stack: metrics have $k"
done
grep -v '^#' "$m" | grep -Evq '^[a-z_]+ -?[0-9]+$'
ok $([ $? = 1 ]; echo $?) "stack: every metrics line is Prometheus text"
grep -q '^referd_outbox_' "$m"
ok $([ $? = 1 ]; echo $?) "stack: no referd_outbox_* names (/metrics has them and appends this file)"
wait_for "curl -fsS http://127.0.0.1:$PORT/metrics | grep -q '^referd_dispatch_delivered_total '" 3
ok $? "stack: GET /metrics serves the dispatcher's counters"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$T/metrics.txt"
dup=$(grep '^# TYPE ' "$T/metrics.txt" | awk '{print $3}' | sort | uniq -d | tr '\n' ' ')
is "stack: and no metric twice" "$dup" ""

# --- hold period (scratch database, hold_days = 1)
scratch_db
recv_start "$P5"
HOLD=$(conf hold "hold_days = 1" "dispatch_poll_ms = 50")
"$SEED" -c "$HOLD" -b 1000000 rewarded 4 >"$T/ids" || die "seeding failed"
read -r r1 r2 r3 r4 < <(tr '\n' ' ' <"$T/ids")
st() { sql "SELECT status FROM referrals WHERE id = $1"; }
once "$HOLD"
is "hold: converted referrals are not rewarded before hold_days" \
    "$(sql "SELECT COUNT(*) FROM outbox")/$(st "$r1")" "0/converted"
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 2 DAY WHERE id IN ($r1, $r2)"
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 23 HOUR WHERE id = $r3"
once "$HOLD"
is "hold: rewarded once the hold period is over" "$(st "$r1")/$(st "$r2")" "rewarded/rewarded"
is "hold: not a second earlier (23 h of 24)" "$(st "$r3")/$(st "$r4")" "converted/converted"
is "hold: two rewards each, delivered" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id IN ($r1, $r2) AND o.status = 'delivered' AND o.event = 'reward.issued'")" 4
daemon "$HOLD" hold
pid=$LASTPID
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 2 HOUR WHERE id = $r3"
wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r3 AND o.status = 'delivered'\")\" = 2 ]" 5
ok $? "hold: the daemon's worker rewards and delivers when the period ends"
check "hold: the daemon stops on TERM" stop_daemon "$pid" 10
grep -q "rewarded referral=$r3" "$T/dispatch.log"
ok $? "hold: the worker logs the referral it rewarded"

# --- held for review: approval lets it through
"$SEED" -c "$HOLD" -b 2000000 held 3 >"$T/held" || die "seeding failed"
read -r h1 h2 h3 < <(tr '\n' ' ' <"$T/held")
is "held: seeded as held" "$(sql "SELECT COUNT(*) FROM referrals WHERE id IN ($h1, $h2, $h3) AND review = 'held' AND status = 'converted'")" 3
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 2 DAY WHERE id IN ($h1, $h2)"
once "$HOLD"
is "held: past the hold period but held: no reward" "$(st "$h1")/$(st "$h2")" "converted/converted"
is "held: approval of a due referral" "$("$SEED" -c "$HOLD" approve "$h1")" ok
is "held: rewarded in the approval's transaction" "$(st "$h1")" rewarded
once "$HOLD"
is "held: the approved referral's rewards are delivered" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $h1 AND o.status = 'delivered'")" 2
is "held: the other stays held" "$(st "$h2")/$(sql "SELECT review FROM referrals WHERE id = $h2")" converted/held
is "held: approval before the hold period ends" "$("$SEED" -c "$HOLD" approve "$h3")" ok
once "$HOLD"
is "held: approved, but not rewarded before hold_days" "$(st "$h3")" converted
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 2 DAY WHERE id = $h3"
once "$HOLD"
is "held: then the worker rewards it" "$(st "$h3")/$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $h3 AND o.status = 'delivered'")" rewarded/2
is "held: approving twice changes nothing" "$("$SEED" -c "$HOLD" approve "$h3")" noop

# --- revocation: void and refund of rewarded referrals
revokes() {	# revokes REFERRAL: delivered reward.revoked rows with the right key
	sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $1 AND o.event = 'reward.revoked' AND o.idempotency_key = CONCAT('revoke-', w.id) AND o.status = 'delivered' AND w.status = 'revoked'"
}
is "void: a rewarded referral" "$("$SEED" -c "$HOLD" void "$r1" "test void")" ok
once "$HOLD"
is "void: one reward.revoked per reward, revoke-<reward_id>, delivered" "$(revokes "$r1")" 2
is "void: voiding again does nothing" "$("$SEED" -c "$HOLD" void "$r1")/$(sql "SELECT COUNT(*) FROM outbox WHERE event = 'reward.revoked'")" noop/2
referee=$(sql "SELECT referee_id FROM referrals WHERE id = $r2")
is "refund: of the converting order" "$("$SEED" -c "$HOLD" refund "$referee")" "voided $r2"
once "$HOLD"
is "refund: reward.revoked delivered for both rewards" "$(revokes "$r2")" 2
is "void: a converted, unrewarded referral" "$("$SEED" -c "$HOLD" void "$r4")" ok
once "$HOLD"
is "void: nothing to revoke, nothing sent" "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r4")/$(st "$r4")" 0/voided
check "revoked: the receiver got reward.revoked for each revoke key" python3 - "$T/recv-$P5.log" $(sql "SELECT o.idempotency_key, w.id, w.role, w.user_id, w.amount FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE o.event = 'reward.revoked'" | tr '\t' ,) <<'PY'
import json, sys
want = {}
for a in sys.argv[2:]:
    k, rid, role, user, amount = a.split(",")
    want[k] = (int(rid), role, int(user), amount)
got = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "applied" and r["key"] in want:
        got[r["key"]] = (r["event"], r["reward_id"], r["role"], r["user_id"], r["amount"])
bad = [k for k, (rid, role, user, amount) in want.items()
       if got.get(k) != ("reward.revoked", rid, role, user, amount)]
print(len(want), "revocations", "bad:", bad, got)
sys.exit(1 if bad or len(want) != 4 else 0)
PY

# --- the messages are the JSON of SPEC.md section 6
check "payloads: every field of SPEC section 6, nothing else (revocations: the grant's issued_at, and revoked_at)" python3 - <<PY
import json, subprocess
rows = subprocess.run(["mariadb", "--no-defaults", "--socket=$SOCK", "-u$DBA",
    "-N", "-B", "$TDB", "-e", "SELECT o.event, o.reward_id, "
    "DATE_FORMAT(w.issued_at, '%Y-%m-%dT%H:%i:%sZ'), "
    "COALESCE(DATE_FORMAT(w.revoked_at, '%Y-%m-%dT%H:%i:%sZ'), ''), "
    "o.payload FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id"],
    capture_output=True, text=True, check=True).stdout.splitlines()
fields = {"event", "reward_id", "referral_id", "user_id", "role", "type",
          "amount", "currency", "issued_at"}
assert rows, "no rows"
for line in rows:
    ev, rid, issued, revoked, payload = line.split("\t", 4)
    m = json.loads(payload)
    # A revocation: the grant's issued_at, and its own revoked_at.
    want = fields | {"revoked_at"} if ev == "reward.revoked" else fields
    assert set(m) == want, (set(m) ^ want, payload)
    assert m["issued_at"] == issued, (issued, payload)
    assert m.get("revoked_at", "") == revoked or ev != "reward.revoked", (revoked, payload)
    assert m["event"] == ev and m["reward_id"] == int(rid), payload
    assert m["role"] in ("referrer", "referee"), payload
    assert m["amount"] in ("10.00", "5.00") and m["currency"] == "USD", payload
print(len(rows), "payloads ok")
PY

m=$T/metrics/dispatch.prom
grep -Eq '^referd_dispatch_delivered_total [0-9]+$' "$m" && grep -Eq '^referd_dispatch_rewards_total [0-9]+$' "$m"
ok $? "metrics: --once writes $m too"

audit
done_testing
