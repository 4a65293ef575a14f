#!/usr/bin/env bash
# tests/e2e/dispatch_fraud.sh: fraud rules at reward time (SPEC 7 and 10,
# issue 12 items 2 and 3), in a scratch database with hold_days = 1 and
# the real dispatcher's due scan: a referral whose order was paid with a
# payment fingerprint the referrer used during the hold is voided (rule
# payment_match) and sends nothing; one whose referrer was flagged during
# the hold is held (rule flagged_referrer) and sends nothing until an
# operator approves it; a clean one is rewarded.  Then the outbox purge
# of delivered rows older than outbox_retention_days.
. "$(dirname "$0")/dispatch_lib.sh"

scratch_db
recv_start "$P5"
HOLD=$(conf hold "hold_days = 1" "dispatch_poll_ms = 50")
B=4100000
"$SEED" -c "$HOLD" -b $B pending 3 >"$T/ids" || die "seeding failed"
read -r r1 r2 r3 < <(tr '\n' ' ' <"$T/ids")
st() { sql "SELECT CONCAT(status, '/', review, '/', COALESCE(review_rule, '-')) FROM referrals WHERE id = $1"; }
sent() { sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $1"; }

# r1: paid with card-x; the referrer pays with card-x during the hold.
is "r1: converted" "$("$SEED" -c "$HOLD" convert $((B + 1)) card-x-$B)" "converted $r1"
"$SEED" -c "$HOLD" convert $B card-x-$B >/dev/null || die "referrer order failed"
# r2: clean order; its referrer is flagged during the hold.
is "r2: converted" "$("$SEED" -c "$HOLD" convert $((B + 3)) card-y-$B)" "converted $r2"
sql "INSERT INTO flagged_users (user_id, reason, flagged_by, created_at) VALUES ($((B + 2)), 'e2e', 'dispatch_fraud.sh', UTC_TIMESTAMP())"
# r3: clean.
is "r3: converted" "$("$SEED" -c "$HOLD" convert $((B + 5)) card-z-$B)" "converted $r3"
once "$HOLD"
is "within the hold period nothing happens" "$(st $r1) $(st $r2) $(st $r3)" \
    "converted/none/- converted/none/- converted/none/-"
sql "UPDATE referrals SET converted_at = converted_at - INTERVAL 2 DAY WHERE id IN ($r1, $r2, $r3)"
once "$HOLD"
is "payment fingerprint at reward time: r1 voided, nothing sent" \
    "$(st $r1) $(sent $r1) $(sql "SELECT void_reason FROM referrals WHERE id = $r1")" \
    "voided/none/- 0 payment_match"
is "payment fingerprint: a fraud flag payment_match/void" \
    "$(sql "SELECT CONCAT(rule, '/', decision) FROM fraud_flags WHERE referral_id = $r1")" \
    "payment_match/void"
is "flagged referrer at reward time: r2 held, nothing sent" "$(st $r2) $(sent $r2)" \
    "converted/held/flagged_referrer 0"
is "flagged referrer: a fraud flag flagged_referrer/hold" \
    "$(sql "SELECT CONCAT(rule, '/', decision) FROM fraud_flags WHERE referral_id = $r2")" \
    "flagged_referrer/hold"
is "clean: r3 rewarded and both rewards delivered" \
    "$(st $r3) $(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r3 AND o.status = 'delivered'")" \
    "rewarded/none/- 2"
once "$HOLD"
is "the next scan changes nothing" "$(st $r1) $(st $r2) $(sent $r2)" \
    "voided/none/- converted/held/flagged_referrer 0"
is "an operator's approval lets r2 through, flag or not" \
    "$("$SEED" -c "$HOLD" approve $r2) $(st $r2)" "ok rewarded/approved/flagged_referrer"
once "$HOLD"
is "and its rewards are delivered" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id WHERE w.referral_id = $r2 AND o.status = 'delivered'")" 2
audit

# --- the outbox purge (issue 12 item 8): delivered rows past retention
sql "UPDATE outbox o JOIN referral_rewards w ON w.id = o.reward_id SET o.delivered_at = UTC_TIMESTAMP() - INTERVAL 31 DAY WHERE w.referral_id = $r3"
sql "UPDATE outbox o JOIN referral_rewards w ON w.id = o.reward_id SET o.delivered_at = UTC_TIMESTAMP() - INTERVAL 29 DAY WHERE w.referral_id = $r2"
once "$HOLD"
is "purge: delivered rows older than outbox_retention_days (30) are deleted, younger ones kept" \
    "$(sent $r3) $(sent $r2)" "0 2"
grep -q 'purged delivered=2' "$T/dispatch.log"
ok $? "purge: the dispatcher logs what it purged"
done_testing
