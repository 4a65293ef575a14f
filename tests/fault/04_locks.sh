#!/usr/bin/env bash
# tests/fault/04_locks.sh: lock wait timeouts and deadlocks injected on the
# conversion and reward paths by a second connection (the mariadb client
# as root) holding the rows the API needs:
#   A. the referral rows held (SELECT ... FOR UPDATE) for longer than
#      innodb_lock_wait_timeout (5 s, set by every referd session) while
#      their completions arrive, twice each: the API retries to success;
#   B. a referral's reward row (its unique key) held the same way: the
#      conversion waits at the reward insert, retries, succeeds;
#   C. a deadlock made again and again on the conversion path (the second
#      connection, heavier, holds the referral and asks for the event row
#      the API just inserted) until the API gives up;
#   D. a deadlock on the reward path (it holds the reward key and asks
#      for the referral row the API has converted): replayed to success.
# The API answers 200 or 503, never 500, and leaves nothing half done;
# delivering the same events again afterwards converts each exactly once.
. "$(dirname "$0")/lib.sh"
fault_begin

WAIT=$(mysql_client -N -B -e 'SELECT @@GLOBAL.innodb_lock_wait_timeout')
echo "# innodb_lock_wait_timeout: $WAIT s (global); referd sessions set 5 s"
mysql_client <<'SQL' || die "scratch table"
CREATE DATABASE IF NOT EXISTS referd_fault;
CREATE TABLE IF NOT EXISTS referd_fault.ballast (id INT AUTO_INCREMENT PRIMARY KEY, x INT) ENGINE=InnoDB;
SQL
DL0=$(gstatus Innodb_deadlocks)
LW0=$(gstatus Innodb_row_lock_waits)

referrer 1; CA=$RCODE
declare -A REF EVB
for n in $(seq 11 19); do
	signup "{\"user_id\":$(uid "$n"),\"code\":\"$CA\"}"
	REF[$n]=$(j .referral.id)
	EVB[$n]=$(ev_json "fl-$UBASE-$n" "$(uid "$n")" "flo-$UBASE-$n" 25.00)
done
state() { sql "SELECT CONCAT(status, ' ', (SELECT COUNT(*) FROM referral_rewards w WHERE w.referral_id = r.id), ' ', (SELECT COUNT(*) FROM inbound_events e WHERE e.event_id = 'fl-$UBASE-$1')) FROM referrals r WHERE id = ${REF[$1]}"; }
answers() { jq -r --arg id "fl-$UBASE-$1" 'select(.key == $id) | "\(.status)/\(.body.outcome // .body.error.code)"' "$RESULTS" | tr '\n' ' '; }
BG=()
bg_ev() { ( T=$(mktemp -d -p "$T"); ev "$1" ) & BG+=($!); }
bg_wait() { wait "${BG[@]}"; BG=(); }

# --- A: the referral rows held past the lock wait timeout -----------------------------
lk_open A
lk A "SET SESSION innodb_lock_wait_timeout = 120; START TRANSACTION;
SELECT COUNT(*) FROM referrals WHERE id IN (${REF[11]}, ${REF[12]}, ${REF[13]}, ${REF[14]}) FOR UPDATE;"
lk_sync A
t0=$(date +%s.%N)
for n in 11 12 13 14; do bg_ev "${EVB[$n]}"; bg_ev "${EVB[$n]}"; done
sleep 7
lk A "COMMIT;"
lk_sync A
bg_wait
lk_close A
el=$(echo "$(date +%s.%N) - $t0" | bc)
figure fault_lock_wait 8
res=""; for n in 11 12 13 14; do res="$res$(answers $n)| "; done
like "A: 8 deliveries held 7 s: each event converted once, its repeat a duplicate, no 5xx" \
    "$res" '^((200/converted 200/duplicate|200/duplicate 200/converted) \| ){4}$'
ok $([ "$(echo "$el >= 7" | bc)" = 1 ]; echo $?) "A: the answers came after the lock was released (${el%???????} s)"
res=""; for n in 11 12 13 14; do res="$res$(state $n), "; done
is "A: four referrals rewarded, two rewards and one event each" "$res" "$(printf 'rewarded 2 1, %.0s' 1 2 3 4)"

# --- B: a reward row held past the lock wait timeout --------------------------------
lk_open B
lk B "SET SESSION innodb_lock_wait_timeout = 120; START TRANSACTION;
INSERT INTO referral_rewards (referral_id, role, user_id, type, amount, currency, issued_at)
VALUES (${REF[15]}, 'referrer', $(uid 1), 'credit', 1.00, 'USD', NOW());"
lk_sync B
t0=$(date +%s.%N)
bg_ev "${EVB[15]}"
sleep 7
is "B: meanwhile the conversion waits at the reward insert (nothing committed)" "$(state 15)" "pending 0 0"
lk B "ROLLBACK;"
lk_sync B
bg_wait
lk_close B
figure fault_lock_wait 1
is "B: once the row is free: converted, rewarded once" "$(answers 15)| $(state 15)" "200/converted | rewarded 2 1"

# --- C: deadlocks on the conversion path until the API gives up ------------------------
# The locker weighs more (500 rows inserted), so InnoDB picks the API's
# transaction as the victim of each deadlock.
deadlock_loop() {	# deadlock_loop NAME QUERY: QUERY again and again
	local k
	for k in $(seq 12); do
		sleep 0.4
		lk "$1" "$2"
		lk_sync "$1" 20 || break
	done
}
DLC0=$(gstatus Innodb_deadlocks)
lk_open C
lk C "SET SESSION innodb_lock_wait_timeout = 120; START TRANSACTION;
INSERT INTO referd_fault.ballast (x) SELECT seq FROM seq_1_to_500;
SELECT COUNT(*) FROM referrals WHERE id = ${REF[16]} FOR UPDATE;"
lk_sync C
bg_ev "${EVB[16]}"
# By the order index (not the unique key): in READ COMMITTED InnoDB then
# keeps no lock on the row the victim rolled back, so the API's replay is
# free to insert it again, and to wait on the referral again.
deadlock_loop C "SELECT COUNT(*) FROM inbound_events FORCE INDEX (ix_events_order) WHERE user_id = $(uid 16) AND order_id = 'flo-$UBASE-16' FOR UPDATE;"
lk C "ROLLBACK;"
lk_sync C
bg_wait
lk_close C
nC=$(( $(gstatus Innodb_deadlocks) - DLC0 ))
ok $([ "$nC" -ge 8 ]; echo $?) "C: $nC deadlocks made on the conversion path"
figure fault_deadlock "$nC"
is "C: the API answered 503, not 500" "$(answers 16)" "503/database_unavailable "
is "C: nothing half done: no event row, referral pending, no reward" "$(state 16)" "pending 0 0"

# --- D: a deadlock on the reward path, retried to success ---------------------------
# The API converts the referral (holding its row) and waits at the reward
# insert; the locker then asks for the referral row: the API's whole
# transaction is the victim and is replayed once the locker is gone.
DLD0=$(gstatus Innodb_deadlocks)
lk_open D
lk D "SET SESSION innodb_lock_wait_timeout = 120; START TRANSACTION;
INSERT INTO referd_fault.ballast (x) SELECT seq FROM seq_1_to_500;
INSERT INTO referral_rewards (referral_id, role, user_id, type, amount, currency, issued_at)
VALUES (${REF[17]}, 'referrer', $(uid 1), 'credit', 1.00, 'USD', NOW());"
lk_sync D
bg_ev "${EVB[17]}"
# Until the API's transaction waits at the reward insert (a fixed 0.5 s
# was too short on a loaded machine: the locker then took the referral
# row first, and there was a wait, not a deadlock).
wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'\")\" -ge 1 ]" 20
lk D "SELECT COUNT(*) FROM referrals WHERE id = ${REF[17]} FOR UPDATE;"
lk_sync D
lk D "ROLLBACK;"
lk_sync D
bg_wait
lk_close D
nD=$(( $(gstatus Innodb_deadlocks) - DLD0 ))
is "D: one deadlock made on the reward path" "$nD" 1
figure fault_deadlock "$nD"
is "D: the API replayed its transaction: converted, rewarded once" "$(answers 17)| $(state 17)" \
    "200/converted | rewarded 2 1"

# --- every event delivered again ------------------------------------------------------
res=""
for k in 1 2; do for n in $(seq 11 17); do ev "${EVB[$n]}"; res="$res$ST/$(j .outcome) "; done; done
like "delivered twice more: 16 converts now, everything else is a duplicate" "$res" \
    "^(200/duplicate ){5}200/converted (200/duplicate ){8}\$"
res=""; for n in $(seq 11 17); do res="$res$(state $n), "; done
is "each of the seven converted exactly once: rewarded, two rewards, one event row" \
    "$res" "$(printf 'rewarded 2 1, %.0s' $(seq 7))"
echo "# row lock waits: $(( $(gstatus Innodb_row_lock_waits) - LW0 )), deadlocks: $(( $(gstatus Innodb_deadlocks) - DL0 ))"
mysql_client -e 'DROP DATABASE IF EXISTS referd_fault'

fault_audit 60
done_testing
