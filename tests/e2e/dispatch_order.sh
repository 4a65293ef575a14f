#!/usr/bin/env bash
# tests/e2e/dispatch_order.sh: a revocation never overtakes its grant
# (SPEC 13, issue 12 item 1), with the real dispatcher as a daemon and a
# receiver that refuses or holds grants (never revocations) for a while:
#   - voids while the grants are refused with 503: the grants are
#     cancelled, never sent again, and no revocation is written;
#   - voids while the grants hang in flight: the revocations wait, and are
#     sent only after their grants were applied;
#   - voids after delivery: revoked at once;
#   - voids after the grants died: nothing is sent.
# Ends with the order audit (tests/lib/order_audit.py): no revoke-<id>
# received before reward-<id> was applied, none for a grant never
# delivered; and with the audit of dispatch_lib.sh.
. "$(dirname "$0")/dispatch_lib.sh"

scratch_db
recv_start "$P5"
C=$(conf order "dispatch_backoff_ms = 300" "dispatch_backoff_max_ms = 1000" \
    "dispatch_max_attempts = 6" "dispatch_timeout_ms = 10000" \
    "dispatch_poll_ms = 50")
count() { sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE $1"; }
in_list() { echo "$*" | tr ' ' ','; }
void() { "$SEED" -q -c "$C" void "$1" "order test" || die "void $1 failed"; }

# --- grants refused with 503; voids in that window
recv_ctl "$P5" '{"always": "503", "fault_prefix": "reward-"}'
daemon "$C"; D=$LASTPID
"$SEED" -c "$C" -b 3100000 rewarded 8 >"$T/ids" || die "seeding failed"
read -r r1 r2 r3 r4 r5 r6 r7 r8 < <(tr '\n' ' ' <"$T/ids")
wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM outbox WHERE event = 'reward.issued' AND attempts >= 1 AND status = 'pending'\")\" = 16 ]" 10
ok $? "503: all 16 grants tried and refused"
for r in $r1 $r2 $r3; do void "$r"; done
W="w.referral_id IN ($(in_list $r1 $r2 $r3))"
is "503 window: the 6 undelivered grants of 3 voided referrals are cancelled" \
    "$(count "$W AND o.event = 'reward.issued' AND o.status = 'cancelled'")" 6
is "503 window: and no revocation is written for them" \
    "$(count "$W AND o.event = 'reward.revoked'")" 0

# --- grants held in flight (3 s, then applied and 200); voids meanwhile
recv_ctl "$P5" '{"always": "hang", "hang_seconds": 3, "fault_prefix": "reward-"}'
wait_for "[ \"\$(count \"o.event = 'reward.issued' AND o.status = 'inflight' AND w.referral_id IN ($(in_list $r4 $r5))\")\" = 4 ]" 10
ok $? "hang: the grants of two referrals are in flight"
void "$r4"; void "$r5"
W="w.referral_id IN ($(in_list $r4 $r5))"
is "in flight: a revocation waits for each of the 4 grants" \
    "$(count "$W AND o.event = 'reward.revoked' AND o.status = 'pending' AND o.after_id IS NOT NULL")" 4
sleep 1
is "in flight: one second later, still not sent" \
    "$(count "$W AND o.event = 'reward.revoked' AND o.status = 'pending'")" 4
recv_ctl "$P5" '{"always": null, "fault_prefix": null}'
wait_settled 20
ok $? "everything settles once the receiver answers"
is "in flight: the 4 grants were delivered, then their 4 revocations" \
    "$(count "$W AND o.status = 'delivered'")" 8

# --- voids after delivery: revoked at once
void "$r6"
wait_settled 10
is "delivered: both revocations of a voided referral delivered" \
    "$(count "w.referral_id = $r6 AND o.event = 'reward.revoked' AND o.status = 'delivered'")" 2

# --- a dead grant needs no revocation
recv_ctl "$P5" '{"always": "503", "fault_prefix": "reward-"}'
"$SEED" -c "$C" -b 3200000 rewarded 1 >"$T/ids9" || die "seeding failed"
r9=$(cat "$T/ids9")
wait_for "[ \"\$(count \"w.referral_id = $r9 AND o.status = 'dead'\")\" = 2 ]" 20
ok $? "dead: both grants died after dispatch_max_attempts"
void "$r9"
is "dead: voiding writes no revocation, cancels nothing" \
    "$(count "w.referral_id = $r9 AND o.event = 'reward.revoked'")/$(count "w.referral_id = $r9 AND o.status = 'cancelled'")" 0/0
is "dead: a dead grant of a revoked reward cannot be requeued" \
    "$("$SEED" -c "$C" requeue "$(sql "SELECT o.id FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r9 LIMIT 1")")" noop

# --- a grant that may have arrived: the receiver applied it but its answer
# was lost (timeout), then it was refused: voiding it must not cancel it
# (it was applied) but revoke it after it.  CI's fault suite found this
# (a grant cancelled after a lost answer and a 503: applied, never revoked).
stop_daemon "$D" 15
C2=$(conf order2 "dispatch_backoff_ms = 300" "dispatch_backoff_max_ms = 1000" \
    "dispatch_max_attempts = 30" "dispatch_timeout_ms = 1000" \
    "dispatch_poll_ms = 50")
recv_ctl "$P5" '{"always": "hang", "hang_seconds": 2, "hang_applies": true, "fault_prefix": "reward-"}'
daemon "$C2"; D=$LASTPID
"$SEED" -c "$C2" -b 3300000 rewarded 1 >"$T/ids10" || die "seeding failed"
r10=$(cat "$T/ids10")
W="w.referral_id = $r10"
wait_for "[ \"\$(count \"$W AND o.event = 'reward.issued' AND o.maybe_sent = 1\")\" = 2 ]" 20
ok $? "lost answers: both grants applied, their answers timed out (maybe_sent)"
recv_ctl "$P5" '{"always": "503", "fault_prefix": "reward-"}'
wait_for "[ \"\$(count \"$W AND o.event = 'reward.issued' AND o.status = 'pending' AND o.last_status = 503\")\" = 2 ]" 20
ok $? "lost answers: then both refused with 503"
void "$r10"
is "lost answers: voiding cancels neither grant" "$(count "$W AND o.status = 'cancelled'")" 0
is "lost answers: and writes a revocation to follow each" \
    "$(count "$W AND o.event = 'reward.revoked' AND o.after_id IS NOT NULL")" 2

recv_ctl "$P5" '{"always": null, "fault_prefix": null}'
wait_settled 20
is "lost answers: grants delivered (applied once), then their revocations" \
    "$(count "$W AND o.status = 'delivered'")" 4
stop_daemon "$D" 15
ok $? "the dispatcher stops on TERM"

# --- the order, as the receiver saw it
python3 "$top/tests/lib/order_audit.py" "$T/recv-$P5.log" >"$T/order.out" 2>&1
ok $? "order: $(head -1 "$T/order.out")" "$(tail -n +2 "$T/order.out" | tr '\n' ';')"
is "order: 4 + 2 + 2 revocations applied, none for a cancelled or dead grant" \
    "$(sed -n 's/.*revocations=\([0-9]*\).*/\1/p' "$T/order.out")" 8
printf '# figures: %s cancelled=%s\n' "$(head -1 "$T/order.out")" \
    "$(sql "SELECT COUNT(*) FROM outbox WHERE status = 'cancelled'")"

audit $(sql "SELECT o.id FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r9")
done_testing
