#!/usr/bin/env bash
# tests/fault/05_kill.sh: FastCGI workers and the dispatcher killed with
# SIGKILL at random moments during 25 seconds of mixed load.  The
# supervisor starts a new worker for each (same supervisor, the kill
# logged); a request a worker was serving when it died gets a 502 from
# nginx (the only 5xx allowed here, at most one per kill) and is sent
# again by its client; the dispatcher is started again by the test after
# each kill, and the rows the dead one held are sent again, with the same
# key, once their lease runs out.  Nothing lost, nothing paid twice.
. "$(dirname "$0")/lib.sh"
fault_begin

DURATION=${KILL_LOAD:-25}
WORKERS=$(conf_get workers)
SUP=$(fcgi_sup)
LOG0=$(wc -l <"$FCGI_LOG")
load mixed --duration "$DURATION" --ubase "$((UBASE + 1000))" --threads 6 --pause 0.03 \
    --settle 60 --seed "$RANDOM" >"$T/load.out" 2>&1 &
LOADPID=$!
MYPIDS+=($LOADPID)

wkills=0 dkills=0 held=0
end=$((SECONDS + DURATION - 2))
next_d=$((SECONDS + 2))
sleep 1
while [ $SECONDS -lt $end ]; do
	pids=($(fcgi_pids))
	if [ ${#pids[@]} -gt 0 ]; then
		victim=${pids[RANDOM % ${#pids[@]}]}
		kill -9 "$victim" 2>/dev/null && wkills=$((wkills + 1))
	fi
	if [ $SECONDS -ge $next_d ]; then
		n=$(sql "SELECT COUNT(*) FROM outbox WHERE status = 'inflight' AND lease_owner LIKE '%:$DPID:%'")
		held=$((held + n))
		kill -9 "$DPID" 2>/dev/null && dkills=$((dkills + 1))
		wait "$DPID" 2>/dev/null
		dispatcher_start
		next_d=$((SECONDS + 2 + RANDOM % 3))
	fi
	sleep "0.$((RANDOM % 8 + 2))"
done
wait "$LOADPID"
ok $? "load: every event answered below 500 in the end (sent again after a 502)" "$(tail -2 "$T/load.out")"
echo "# $(head -1 "$T/load.out")"
echo "# $(sed -n 2p "$T/load.out")"
figure fault_worker_kill "$wkills"
figure fault_dispatcher_kill "$dkills"
ok $([ "$wkills" -ge 10 ] && [ "$dkills" -ge 4 ]; echo $?) \
    "$wkills workers and $dkills dispatchers killed with SIGKILL ($held rows in flight at the dispatcher kills)"

n502=$(jq -r 'select(.status == 502) | .t' "$RESULTS" | wc -l)
is "no answer but 2xx, 302 and 502 (no 500, 503, 504, no dropped connection)" \
    "$(statuses '(.status | tostring | test("^(20[01]|302|502)$") | not)')" ""
ok $([ "$n502" -le "$wkills" ]; echo $?) "at most one 502 per killed worker ($n502 for $wkills kills)"
figure status_502_worker_kill "$n502"
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
is "the supervisor is the same and runs $WORKERS workers" "$(fcgi_sup) $(echo $(fcgi_pids) | wc -w)" "$SUP $WORKERS"
is "every kill logged by the supervisor, a worker started for each" \
    "$(tail -n +"$((LOG0 + 1))" "$FCGI_LOG" | grep -c 'killed by signal 9 .*starting another')" "$wkills"
req GET /healthz
is "healthz: 200" "$ST" 200
figure events_distinct "$(jq -r 'select(.kind == "event") | .key' "$RESULTS" | sort -u | wc -l)"

fault_audit 90
is "no row is left leased to a dead dispatcher" \
    "$(sql "SELECT COUNT(*) FROM outbox WHERE lease_owner IS NOT NULL AND status = 'inflight'")" 0
done_testing
