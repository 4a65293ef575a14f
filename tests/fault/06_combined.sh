#!/usr/bin/env bash
# tests/fault/06_combined.sh: everything at once during 25 seconds of mixed
# load: the reward receiver failing 30% of its requests (500, 503, 429
# with Retry-After, hangs past the dispatcher's timeout, connection
# resets), FastCGI workers and dispatchers killed with SIGKILL at random,
# a second connection holding ten referrals past the lock wait timeout
# while their completions arrive, and MariaDB killed with SIGKILL and
# started again.  The
# API answers 2xx, 302, 503 while the database is away and a 502 at most
# once per killed worker; in the end nothing accepted is missing, no
# reward is lost and none is paid twice.
RECV_FAULTS=${RECV_FAULTS:-500:0.06,503:0.06,429:0.06,hang:0.06,reset:0.06}
. "$(dirname "$0")/lib.sh"
fault_begin

DURATION=${COMBINED_LOAD:-25}
# Ten referees whose completions arrive while their rows are held.
referrer 1; CA=$RCODE
for n in $(seq 11 20); do
	signup "{\"user_id\":$(uid "$n"),\"code\":\"$CA\"}"
	LREF="${LREF:+$LREF, }$(j .referral.id)"
	jq -nc --arg id "fc-$UBASE-$n" --arg b "$(ev_json "fc-$UBASE-$n" "$(uid "$n")" "fco-$UBASE-$n")" \
	    '{kind: "event", id: $id, body: $b}' >>"$T/plan"
done
WORKERS=$(conf_get workers)
SUP=$(fcgi_sup)
load mixed --duration "$DURATION" --ubase "$((UBASE + 1000))" --threads 5 --pause 0.03 \
    --settle 90 --seed "$RANDOM" >"$T/load.out" 2>&1 &
LOADPID=$!
MYPIDS+=($LOADPID)

wkills=0 dkills=0 locked=0 db_killed=0 lock_open=0 T_KILL=0 T_UP=0
t0=$SECONDS
end=$((SECONDS + DURATION - 2))
next_d=$((SECONDS + 2))
while [ $SECONDS -lt $end ]; do
	el=$((SECONDS - t0))
	if [ $lock_open = 0 ] && [ $el -ge 4 ]; then
		lk_open L
		lk L "SET SESSION innodb_lock_wait_timeout = 60; START TRANSACTION;
SELECT COUNT(*) FROM referrals WHERE id IN ($LREF) FOR UPDATE;"
		lk_sync L
		locked=$(head -1 "$T/lk-L.out")
		load send --plan "$T/plan" --threads 10 --retry 60 >"$T/send.out" 2>&1 &
		SENDPID=$!
		MYPIDS+=($SENDPID)
		lock_open=1 lock_t=$SECONDS
	fi
	if [ $lock_open = 1 ] && [ $((SECONDS - lock_t)) -ge 7 ]; then
		lk L "COMMIT;"
		lk_sync L
		lk_close L
		lock_open=2
	fi
	if [ $db_killed = 0 ] && [ $lock_open = 2 ]; then
		MPID=$(cat "$RUN/mariadb.pid")
		T_KILL=$(date +%s.%N)
		kill -9 "$MPID"
		wait_for "! kill -0 $MPID" 10
		db_killed=1
		sleep 3
		start_mariadb </dev/null >"$T/mariadb-start.out" 2>&1
		ok $? "MariaDB killed with SIGKILL at $el s and started again" "$(tail -3 "$T/mariadb-start.out")"
		T_UP=$(date +%s.%N)
	fi
	pids=($(fcgi_pids))
	if [ ${#pids[@]} -gt 0 ]; then
		kill -9 "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null && wkills=$((wkills + 1))
	fi
	if [ $SECONDS -ge $next_d ]; then
		kill -9 "$DPID" 2>/dev/null && dkills=$((dkills + 1))
		wait "$DPID" 2>/dev/null
		next_d=$((SECONDS + 2 + RANDOM % 3))
	fi
	# A dispatcher refuses to start while the database is away: again.
	alive "$DPID" || dispatcher_start
	sleep "0.$((RANDOM % 8 + 2))"
done
wait "$LOADPID"
ok $? "load: every event answered below 500 in the end" "$(tail -2 "$T/load.out")"
wait "$SENDPID"
is "the ten completions held by the lock: converted, each once" \
    "$(jq -r --arg p "fc-$UBASE-" 'select((.key | tostring | startswith($p)) and .status == 200) | .body.outcome' "$RESULTS" | sort | uniq -c | awk '{ print $2 ":" $1 }')" \
    "converted:10"
echo "# $(head -1 "$T/load.out")"
echo "# $(sed -n 2p "$T/load.out")"
wait_for "alive $DPID" 5 || dispatcher_start
ok $([ "$wkills" -ge 10 ] && [ "$dkills" -ge 4 ] && [ "${locked:-0}" -ge 1 ]; echo $?) \
    "$wkills workers and $dkills dispatchers killed, ${locked:-0} referrals held 7 s, MariaDB killed once"
figure fault_worker_kill "$wkills"
figure fault_dispatcher_kill "$dkills"
figure fault_db_kill "$db_killed"
figure fault_lock_wait "${locked:-0}"

n502=$(jq -r 'select(.status == 502) | .t' "$RESULTS" | wc -l)
is "no answer but 2xx, 302, 502 and 503 (no 500, 504, no dropped connection)" \
    "$(statuses '(.status | tostring | test("^(20[01]|302|502|503)$") | not)')" ""
ok $([ "$n502" -le "$wkills" ]; echo $?) "at most one 502 per killed worker ($n502 for $wkills kills)"
late=$(jq -r --argjson a "$T_KILL" --argjson b "$T_UP" \
    'select(.status == 503 and (.t < $a - 0.5 or .t > $b + 2)) | .t' "$RESULTS" | wc -l)
is "503 only while the database was away" "$late" 0
figure status_503_db_outage "$(jq -r 'select(.status == 503) | .t' "$RESULTS" | wc -l)"
figure status_502_worker_kill "$n502"
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
is "the supervisor is the same and runs $WORKERS workers" "$(fcgi_sup) $(echo $(fcgi_pids) | wc -w)" "$SUP $WORKERS"
figure events_distinct "$(jq -r 'select(.kind == "event") | .key' "$RESULTS" | sort -u | wc -l)"

fault_audit 120
done_testing
