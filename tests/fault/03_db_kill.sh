#!/usr/bin/env bash
# tests/fault/03_db_kill.sh: MariaDB killed with SIGKILL and started again
# (etc/dev/lib.sh start_mariadb, crash recovery) in the middle of 30
# seconds of mixed load through nginx: landings, signups, code mints,
# conversion events, refunds and redeliveries.  During the outage the API
# answers 503 and nothing else (no 500, no 502 from nginx, no connection
# dropped); landings keep redirecting; no FastCGI worker and no dispatcher
# dies; once the database is back the 503'd events are delivered again,
# as an order system would, and every event ever answered 2xx is on
# record; no reward is lost or paid twice.
. "$(dirname "$0")/lib.sh"
fault_begin

DURATION=${DB_KILL_LOAD:-30}
PIDS0=$(fcgi_pids)
SUP=$(fcgi_sup)
LOG0=$(wc -l <"$FCGI_LOG")
load mixed --duration "$DURATION" --ubase "$((UBASE + 1000))" --threads 6 --pause 0.03 \
    --settle 60 --seed "$RANDOM" >"$T/load.out" 2>&1 &
LOADPID=$!
MYPIDS+=($LOADPID)

sleep 8
MPID=$(cat "$RUN/mariadb.pid")
T_KILL=$(date +%s.%N)
kill -9 "$MPID"
wait_for "! kill -0 $MPID" 10
ok $? "MariaDB (pid $MPID) killed with SIGKILL under load"
figure fault_db_kill 1
sleep 4
start_mariadb </dev/null >"$T/mariadb-start.out" 2>&1
ok $? "MariaDB started again (crash recovery)" "$(tail -3 "$T/mariadb-start.out")"
T_UP=$(date +%s.%N)
echo "# outage: $(echo "$T_UP - $T_KILL" | bc) s"
wait "$LOADPID"
ok $? "load: every event answered below 500 once the database was back" "$(tail -2 "$T/load.out")"
echo "# $(head -1 "$T/load.out")"
echo "# $(sed -n 2p "$T/load.out")"

is "only 2xx, 302 and 503 answers, never 500, 502 or a dropped connection" \
    "$(statuses '.phase == "load" and (.status | tostring | test("^(20[01]|302|503)$") | not)')" ""
n503=$(jq -r 'select(.status == 503) | .t' "$RESULTS" | wc -l)
ok $([ "$n503" -gt 0 ]; echo $?) "the outage was seen: $n503 answers 503"
figure status_503_db_outage "$n503"
# 503s only while the database was away, or within 2 s of its return
# (a worker finds out on its next query).
late=$(jq -r --argjson a "$T_KILL" --argjson b "$T_UP" \
    'select(.status == 503 and (.t < $a - 0.5 or .t > $b + 2)) | .t' "$RESULTS" | wc -l)
is "503 only during the outage" "$late" 0
is "every 503 is database_unavailable" \
    "$(jq -r 'select(.status == 503) | .body.error.code' "$RESULTS" | sort -u | tr '\n' ' ')" "database_unavailable "
is "landings kept redirecting during the outage" \
    "$(jq -r --argjson a "$T_KILL" --argjson b "$T_UP" \
    'select(.kind == "landing" and .t > $a and .t < $b) | .status' "$RESULTS" | sort -u | tr '\n' ' ')" "302 "
is "no FastCGI worker died: the same pids" "$(fcgi_pids)" "$PIDS0"
is "the supervisor log shows no crash" \
    "$(tail -n +"$((LOG0 + 1))" "$FCGI_LOG" | grep -cE 'killed by signal|exited with|starting another')" 0
is "the supervisor is the same" "$(fcgi_sup)" "$SUP"
ok "$(alive "$DPID" && echo 0 || echo 1)" "the dispatcher rode out the outage" "$(tail -3 "$T/dispatch.out" 2>/dev/null)"
req GET /healthz
is "healthz: 200 again" "$ST" 200
figure events_distinct "$(jq -r 'select(.kind == "event") | .key' "$RESULTS" | sort -u | wc -l)"

fault_audit 90
done_testing
