#!/usr/bin/env bash
# tests/e2e/dispatch_concurrent.sh: three referd-dispatch daemons at once
# over 2,000 rewards (half enqueued before they start, half while they
# run) against a receiver that fails some requests: every row delivered,
# none in flight twice at the same moment (the receiver's overlap counter
# stays 0), no lease lost, every attempt logged by one dispatcher and seen
# by the receiver, and each of the three did part of the work.  Ends with
# the audit of dispatch_lib.sh.
. "$(dirname "$0")/dispatch_lib.sh"

scratch_db
recv_start "$P5" --faults "503:0.06,500:0.03,429:0.03,reset:0.02" --seed 7
for i in 1 2 3; do
	conf "cc$i" "dispatch_backoff_ms = 100" "dispatch_backoff_max_ms = 2000" \
	    "dispatch_timeout_ms = 2000" \
	    "dispatch_poll_ms = 20" "dispatch_log_file = $T/dispatch-$i.log" \
	    "metrics_dir = $T/metrics-$i" >/dev/null
done

"$SEED" -q -c "$T/cc1.conf" -b 1000000 -j 4 rewarded 500 || die "seeding failed"
pids=()
for i in 1 2 3; do
	daemon "$T/cc$i.conf" "cc$i"
	pids+=($LASTPID)
done
t0=$SECONDS
"$SEED" -q -c "$T/cc1.conf" -b 2000000 -j 2 rewarded 500 || die "seeding failed"
is "2,000 rewards enqueued" "$(sql "SELECT COUNT(*) FROM outbox")" 2000
wait_settled 120
is "all 2,000 delivered by three dispatchers in $((SECONDS - t0)) s" \
    "$(sql "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")" 2000
for i in 1 2 3; do
	check "dispatcher $i stops with status 0 on TERM" stop_daemon "${pids[$((i - 1))]}" 10
done

is "no row was in flight twice at the same moment (receiver overlap)" \
    "$(recv_stat "$P5" overlap)/$(recv_stat "$P5" overlap_hung)" 0/0
n=$(cat "$T"/dispatch-*.log | grep -c 'lease lost row=')
is "no outcome came after its lease" "$n" 0
total=0
for i in 1 2 3; do
	d=$(grep -c ' result=delivered ' "$T/dispatch-$i.log")
	total=$((total + d))
	ok $([ "$d" -gt 0 ]; echo $?) "dispatcher $i delivered $d rows"
done
is "each row delivered by exactly one dispatcher" "$total" 2000
# curl sends a request again, once, when a kept-alive connection turns
# out dead before any answer: only the receiver's resets can cause that.
attempts=$(cat "$T"/dispatch-*.log | grep -c ' attempt ')
reqs=$(recv_stat "$P5" requests)
resets=$(curl -fsS "http://127.0.0.1:$P5/_stats" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["by_status"].get("reset", 0))')
ok $([ "$reqs" -ge "$attempts" ] && [ $((reqs - attempts)) -le "$resets" ]; echo $?) \
    "every attempt reached the receiver ($attempts attempts, $reqs requests, $resets resets)"
f=$(cat "$T"/dispatch-*.log | grep -c ' result=retry ')
ok $([ "$f" -ge 50 ]; echo $?) "faults were retried ($f attempts)"

audit
done_testing
