#!/usr/bin/env bash
# tests/e2e/queue.sh: conversion events from RabbitMQ (SPEC.md section 12,
# referd-consume).  A valid event converts, the same event twice is one
# event, malformed messages reach the dead-letter queue with
# x-referd-error, the database stopped holds a delivery unacked until it
# is back, and 10,000 events through five SIGKILLs of the consumer and
# one of the broker are each applied exactly once.  If the stack runs no
# RabbitMQ it starts one (REFERD_AMQP=1 etc/dev/up) and stops it again at
# the end: its ports (+5..+7) are the dispatcher suites' receivers'.
. "$(dirname "$0")/lib/api.sh"
SUITE=queue
PUB=$BUILD/tests/amqp_pub
NBULK=${QUEUE_EVENTS:-10000}
CLOG=$VAR/log/referd-consume.log
OURS=0

[ -x "$PUB" ] || { echo "Bail out! build first: no $PUB"; exit 1; }
cleanup() {
	local f
	pid_alive "$RUN/mariadb.pid" || start_mariadb >/dev/null 2>&1
	if [ $OURS = 1 ]; then
		for f in referd-consume rabbitmq-beam rabbitmq epmd; do
			stop_pidfile "$RUN/$f.pid" 20
		done
	elif ! pid_alive "$RUN/referd-consume.pid"; then
		start_consumer
	fi
	rm -rf "$T"
}
trap cleanup EXIT

start_consumer() {
	nohup "$BUILD/referd-consume" -c "$CONF" >>"$CLOG" 2>&1 </dev/null &
	echo $! >"$RUN/referd-consume.pid"
	disown $!	# no "Killed" lines from the SIGKILLs
}
# wait_sql QUERY WANT SECONDS: until QUERY answers WANT; the answer in GOT.
wait_sql() {
	local i=0
	while GOT=$(sql "$1" 2>/dev/null); [ "$GOT" != "$2" ]; do
		i=$((i + 1)); [ $i -ge $(($3 * 5)) ] && return 1
		sleep 0.2
	done
}
publish() { "$PUB" "$URL" "" referd.events; }
outcome() { sql "SELECT outcome FROM inbound_events WHERE source = 'amqp' AND event_id = '$1'"; }
# sentinel: an event for a user without a referral, published after
# others; once it is recorded the ones before it were handled.
NS=0
sentinel() {
	NS=$((NS + 1))
	ev_json "s-$UBASE-$NS" "$(uid $((900 + NS)))" "so-$UBASE-$NS" | publish >/dev/null
	wait_sql "SELECT COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id = 's-$UBASE-$NS'" 1 30
}

if ! pid_alive "$RUN/referd-consume.pid" || ! pid_alive "$RUN/rabbitmq-beam.pid"; then
	REFERD_AMQP=1 "$top/etc/dev/up" >"$T/up.log" 2>&1 ||
	    { echo "Bail out! REFERD_AMQP=1 etc/dev/up failed"; tail -20 "$T/up.log" | sed 's/^/# /'; exit 1; }
	grep -q 'starting RabbitMQ' "$T/up.log" && OURS=1
fi
URL=$(conf_get amqp_url)
T0=$(date +%s)
# Whatever an earlier run left in the dead-letter queue.
"$PUB" -g "$URL" referd.events.dead >/dev/null

# --- a valid event converts --------------------------------------------------
referrer 1; CA=$RCODE
signup "{\"user_id\":$(uid 2),\"code\":\"$CA\"}"; R1=$(j .referral.id)
EV1=$(ev_json "q-$UBASE-1" "$(uid 2)" "qo-$UBASE-1" 25.00)
is "publisher: confirmed" "$(printf '%s\n' "$EV1" | publish)" 1
wait_sql "SELECT outcome FROM inbound_events WHERE source = 'amqp' AND event_id = 'q-$UBASE-1'" converted 20
is "a valid event converts the referral (source amqp)" "$GOT" converted
is "the referral is rewarded (hold_days 0)" "$(sql "SELECT status FROM referrals WHERE id = $R1")" rewarded

# --- the same event twice is one event ---------------------------------------
printf '%s\n%s\n' "$EV1" "$EV1" | publish >/dev/null
sentinel
is "redelivered event: one inbound_events row" \
    "$(sql "SELECT COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id = 'q-$UBASE-1'")" 1
is "redelivered event: one conversion, two rewards" \
    "$(sql "SELECT COUNT(*) FROM referral_rewards WHERE referral_id = $R1")" 2

# --- malformed messages go to the dead-letter queue ------------------------
{
	echo 'not json at all'
	echo '[1,2,3]'
	echo "{\"id\":\"m-$UBASE-1\"}"
	ev_json "m-$UBASE-2" "$(uid 3)" "mo-$UBASE-2" "abc"; echo
	ev_json "m-$UBASE-3" "-5" "mo-$UBASE-3"; echo
	ev_json "q-$UBASE-1" "$(uid 2)" "qo-$UBASE-1" 99.00; echo	# id conflict
} | publish >/dev/null
sentinel
"$PUB" -g "$URL" referd.events.dead >"$T/dead"
is "six dead letters, each with x-referd-error" "$(grep -c $'^[a-z_]\+: .*\t' "$T/dead")" 6
like "not JSON: invalid_json" "$(sed -n 1p "$T/dead")" '^invalid_json: .*	not json at all$'
like "an array: invalid_type" "$(sed -n 2p "$T/dead")" '^invalid_type: '
like "fields missing: missing_field" "$(sed -n 3p "$T/dead")" '^missing_field: type'
like "a bad amount: invalid_amount" "$(sed -n 4p "$T/dead")" '^invalid_amount: amount'
like "a bad user id: invalid_user_id" "$(sed -n 5p "$T/dead")" '^invalid_user_id: '
like "same id, other body: event_id_conflict" "$(sed -n 6p "$T/dead")" '^event_id_conflict: '
is "none of them recorded" \
    "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id LIKE 'm-$UBASE-%'")" 0
is "the conflicting body changed nothing" \
    "$(sql "SELECT COUNT(*) FROM referral_rewards WHERE referral_id = $R1")" 2

# --- the database away: held, not acked, resumed ----------------------------
CPID=$(cat "$RUN/referd-consume.pid")
stop_mariadb >/dev/null 2>&1
ev_json "d-$UBASE-1" "$(uid 4)" "do-$UBASE-1" | publish >/dev/null
ev_json "d-$UBASE-2" "$(uid 5)" "do-$UBASE-2" | publish >/dev/null
sleep 2
like "database away: the consumer holds the delivery" "$(tail -5 "$CLOG")" 'event d-[0-9]+-1: .*holding it'
# Killed while it holds them: unacked, so the broker keeps them.
kill -9 "$CPID"; sleep 0.5
start_consumer
CPID=$(cat "$RUN/referd-consume.pid")
sleep 2
start_mariadb >/dev/null 2>&1
wait_sql "SELECT COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id LIKE 'd-$UBASE-%'" 2 30
is "database back: both held events applied, by the same consumer" "$GOT $(kill -0 "$CPID" 2>/dev/null && echo alive)" "2 alive"

# --- 10,000 events, the consumer killed five times, the broker once --------
# Eight referrals, each converted by the first of its three orders; the
# rest are events of users without one.
for r in 1 2; do
	referrer $((10 + r)); RC=$RCODE
	for k in 1 2 3 4; do
		signup "{\"user_id\":$(uid $((100 + r * 10 + k))),\"code\":\"$RC\"}"
	done
done
conv_users=$(for r in 1 2; do for k in 1 2 3 4; do printf '%s ' "$(uid $((100 + r * 10 + k)))"; done; done)
"$PY" - "$UBASE" "$NBULK" $conv_users >"$T/bulk" <<'PY'
import sys, time
base, n, conv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
for i in range(n):
    u = conv[i % len(conv)] if i < 3 * len(conv) else str(base + 50000 + i)
    print('{"id":"b-%d-%d","type":"order.completed","user_id":%s,"order_id":"bo-%d-%d","amount":"25.00","currency":"USD","occurred_at":"%s"}'
          % (base, i, u, base, i, ts))
PY
B0=$(date +%s)
publish <"$T/bulk" >"$T/pub.out" 2>&1 &
PUBPID=$!
kills=0
bcount() { sql "SELECT COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id LIKE 'b-$UBASE-%'"; }
while [ $kills -lt 5 ]; do
	sleep 1.5
	kill -9 "$(cat "$RUN/referd-consume.pid")" 2>/dev/null && kills=$((kills + 1))
	sleep 0.3
	start_consumer
done
wait $PUBPID
is "publisher: $NBULK confirmed" "$(cat "$T/pub.out")" "$NBULK"
CPID=$(cat "$RUN/referd-consume.pid")
BEFORE=$(bcount)
kill -9 "$(cat "$RUN/rabbitmq-beam.pid")"
sleep 1
( . "$top/etc/dev/parts/35-amqp.sh"; amqp_start_broker ) >"$T/broker.log" 2>&1
ok $? "the broker is back after SIGKILL (applied before: $BEFORE)" "$(tail -5 "$T/broker.log")"
wait_sql "SELECT COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id LIKE 'b-$UBASE-%'" "$NBULK" 150
is "every event recorded: $NBULK" "$GOT" "$NBULK"
B1=$(date +%s)
is "the consumer reconnected by itself (same pid)" "$(kill -0 "$CPID" 2>/dev/null && cat "$RUN/referd-consume.pid")" "$CPID"
is "consumer killed five times" "$kills" 5
is "$NBULK distinct ids, none twice" \
    "$(sql "SELECT COUNT(DISTINCT event_id), COUNT(*) FROM inbound_events WHERE source = 'amqp' AND event_id LIKE 'b-$UBASE-%'")" \
    "$NBULK	$NBULK"
is "eight referrals converted and rewarded once" \
    "$(sql "SELECT COUNT(*), SUM(status = 'rewarded') FROM referrals r WHERE r.referee_id IN ($(echo $conv_users | tr ' ' ','))")" \
    "8	8"
is "sixteen rewards, two per referral, none twice" \
    "$(sql "SELECT COUNT(*), COUNT(DISTINCT referral_id, role) FROM referral_rewards w JOIN referrals r ON r.id = w.referral_id
    WHERE r.referee_id IN ($(echo $conv_users | tr ' ' ','))")" "16	16"
is "outcomes: 8 converted, 16 later orders not converting again" \
    "$(sql "SELECT SUM(outcome = 'converted') FROM inbound_events WHERE source = 'amqp' AND event_id LIKE 'b-$UBASE-%'")" 8
"$PUB" -g "$URL" referd.events.dead >"$T/dead2"
is "no valid event dead-lettered" "$(wc -l <"$T/dead2")" 0
echo "# bulk: $NBULK events in $((B1 - B0)) s; consumer SIGKILLed $kills times, broker once; suite $(( $(date +%s) - T0 )) s"

# --- TERM: finishes, acks, closes -------------------------------------------
kill -TERM "$CPID"
wait_for "! kill -0 $CPID" 10
ok $? "TERM: the consumer exits"
like "TERM: it says what it did" "$(tail -3 "$CLOG")" 'stopped: [0-9]+ applied'
[ $OURS = 1 ] || start_consumer
finish
