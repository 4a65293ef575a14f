#!/usr/bin/env bash
# tests/e2e/dispatch_kill.sh: kill -9 of referd-dispatch at 20 random
# moments under load (rows in flight to a slow receiver, more rows being
# enqueued), a new dispatcher started after each kill, then one left to
# finish: nothing lost (every row delivered once the dead dispatchers'
# leases expire), every reward applied exactly once after dedupe by key,
# never two requests of a row at once.  Ends with the audit of
# dispatch_lib.sh.
. "$(dirname "$0")/dispatch_lib.sh"

scratch_db
# Half the requests take 0.3 s (applied, then answered), a few fail.
recv_start "$P5" --faults "hang:0.5,503:0.05" --hang-seconds 0.3 --seed 11
K=$(conf kill "dispatch_backoff_ms = 100" "dispatch_backoff_max_ms = 2000" \
    "dispatch_timeout_ms = 1000" \
    "dispatch_lease_seconds = 1" "dispatch_poll_ms = 20")

"$SEED" -q -c "$K" -b 1000000 -j 4 rewarded 400 || die "seeding failed"
"$SEED" -q -c "$K" -b 2000000 -j 1 rewarded 600 >/dev/null 2>"$T/seed2.err" &
seeder=$!
MYPIDS+=($seeder)

inflight_at_kill=0 kills=0
for i in $(seq 1 20); do
	daemon "$K" "kill$i"
	pid=$LASTPID
	sleep "0.$(printf '%03d' $((RANDOM % 400 + 100)))"
	n=$(sql "SELECT COUNT(*) FROM outbox WHERE status = 'inflight' AND lease_owner LIKE '%:$pid:%'")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	kills=$((kills + 1))
	inflight_at_kill=$((inflight_at_kill + n))
done
wait "$seeder"
ok $? "the background enqueuer finished" "$(cat "$T/seed2.err")"
is "20 dispatchers killed with -9" "$kills" 20
ok $([ "$inflight_at_kill" -ge 20 ]; echo $?) "they held $inflight_at_kill rows in flight when killed"
left=$(sql "SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'")
ok $([ "$left" -gt 0 ]; echo $?) "the kills came under load ($left rows not yet delivered)"

t0=$SECONDS
daemon "$K" final
pid=$LASTPID
wait_settled 90
is "nothing lost: all 2,000 delivered $((SECONDS - t0)) s after the last kill" \
    "$(sql "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")" 2000
check "the last dispatcher stops with status 0 on TERM" stop_daemon "$pid" 10
dups=$(recv_stat "$P5" duplicates)
echo "# the receiver deduplicated $dups repeated deliveries"
is "no row was in flight twice at the same moment" "$(recv_stat "$P5" overlap)" 0
is "no row leased to a dead dispatcher is left" \
    "$(sql "SELECT COUNT(*) FROM outbox WHERE lease_owner IS NOT NULL")" 0

audit
done_testing
