#!/usr/bin/env bash
# tests/e2e/console_actions.sh: the console's write actions, driven through
# tmux against the running stack, each checked in the database: approving
# a held referral lets its rewards through, voiding asks a reason and y/n
# and is audit-logged with the operator (a rewarded referral gets its
# reward.revoked messages), flagging a referrer, retrying a dead outbox row.
. "$(dirname "$0")/console_lib.sh"

BASE=$(fresh_base 1)
seed "$BASE" -s
ok $? "seed one referrer with one referral of each kind (base $BASE)"
X=${RUSER[1]}
DEAD_IDS=$(make_dead "${REF[1.dead]}")
is "two outbox rows made dead" "$(echo $DEAD_IDS | wc -w)" 2
DEAD1=$(echo $DEAD_IDS | cut -d' ' -f1)

start_console 120 40
ok $? "console starts"

# Approve: Fraud screen, the held converted referral, a, y.
R=${REF[1.held_converted]}
is "before: held converted referral has no rewards" \
    "$(sql "SELECT CONCAT(status, '/', review, '/', (SELECT COUNT(*) FROM
    referral_rewards WHERE referral_id = $R)) FROM referrals WHERE id = $R")" \
    "converted/held/0"
keys 2
wait_screen 'held for review' 10
ok $? "2 switches to the Fraud screen"
keys /
wait_screen 'Filter rows containing' 5
text "${REFEREE[1.held_converted]}"
keys Enter
select_row "$R +${REFEREE[1.held_converted]} +$X +same_ip +held/conv"
ok $? "the held referral is listed with its rule and selected"
keys a
wait_screen "approve referral $R .*\\? \\[y/N\\]" 5
ok $? "a asks for a confirmation"
keys y
wait_screen "approve referral $R approved" 10
ok $? "approval reported on the message line"
is "after approve: referral rewarded and approved" \
    "$(sql "SELECT CONCAT(status, '/', review) FROM referrals WHERE id = $R")" \
    "rewarded/approved"
is "after approve: one reward per party" \
    "$(sql "SELECT GROUP_CONCAT(role, ':', user_id, ':', status ORDER BY role)
    FROM referral_rewards WHERE referral_id = $R")" \
    "referrer:$X:issued,referee:${REFEREE[1.held_converted]}:issued"
is "after approve: one reward.issued outbox row per reward" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON
    w.id = o.reward_id WHERE w.referral_id = $R AND o.event = 'reward.issued'")" 2
is "after approve: audit row with the operator" \
    "$(sql "SELECT CONCAT(operator, '/', action) FROM audit_log
    WHERE referral_id = $R ORDER BY id DESC LIMIT 1")" "$OP/approve"
wait_gone "^[> ] $R +.*held/conv" 10
ok $? "the approved referral leaves the held list"
keys Escape

# Void a rewarded referral from its referrer's list: reason, y.
R=${REF[1.rewarded]}
REASON="e2e $$: duplicate account"
keys 1 /
wait_screen 'Find referrer' 5
text "${RCODE[1]}"
keys Enter
wait_screen "Search \"${RCODE[1]}\": 1 referrer" 10
keys Enter
wait_screen "Referrals of $X " 10
ok $? "Enter opens the referrer's referrals"
select_row "$R +${REFEREE[1.rewarded]} +rewarded "
ok $? "the rewarded referral is selected"
keys v
wait_screen "Void referral $R: reason" 5
ok $? "v asks for a reason"
text "$REASON"
keys Enter
wait_screen "void referral $R .*\\? \\[y/N\\]" 5
ok $? "then for a confirmation"
keys y
wait_screen "void referral $R voided" 10
ok $? "void reported on the message line"
is "after void: status and reason" \
    "$(sql "SELECT CONCAT(status, '|', void_reason) FROM referrals WHERE id = $R")" \
    "voided|$REASON"
is "after void: audit row with operator and reason" \
    "$(sql "SELECT CONCAT(operator, '|', action, '|', detail) FROM audit_log
    WHERE referral_id = $R AND action = 'void'")" "$OP|void|$REASON"
is "after void: both rewards revoked" \
    "$(sql "SELECT GROUP_CONCAT(status) FROM referral_rewards
    WHERE referral_id = $R")" "revoked,revoked"
is "after void: two reward.revoked outbox rows" \
    "$(sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON
    w.id = o.reward_id WHERE w.referral_id = $R AND o.event = 'reward.revoked'")" 2
wait_screen "^[> ] $R +.* voided +.*void: $REASON" 10
ok $? "the list shows it voided with its reason"

# Answering n, or giving no reason, changes nothing.
R=${REF[1.pending]}
select_row "$R +${REFEREE[1.pending]} +pending "
keys v
wait_screen "Void referral $R: reason" 5
text "not really"
keys Enter
wait_screen "void referral $R .*\\? \\[y/N\\]" 5
keys n
wait_screen 'cancelled; nothing done' 5
ok $? "n cancels the void"
keys v
wait_screen "Void referral $R: reason" 5
keys Enter
wait_screen 'a reason is required; nothing done' 5
ok $? "an empty reason is refused"
is "after n and empty reason: still pending, no audit row" \
    "$(sql "SELECT CONCAT(status, '/', (SELECT COUNT(*) FROM audit_log
    WHERE referral_id = $R)) FROM referrals WHERE id = $R")" "pending/0"

# The Fraud screen: the held pending referral; flag its referrer, then
# void it.
R=${REF[1.held_pending]}
keys 2 /
wait_screen 'Filter rows containing' 5
text "${REFEREE[1.held_pending]}"
keys Enter
select_row "$R +${REFEREE[1.held_pending]} +$X +same_ip +held/pend"
ok $? "the held pending referral is selected on the Fraud screen"
keys f
wait_screen "Flag user $X: reason" 5
ok $? "f asks for a reason"
text "e2e $$: ring of fake accounts"
keys Enter
wait_screen "flag user $X.*\\? \\[y/N\\]" 5
keys y
wait_screen "flag user $X flagged" 10
ok $? "flag reported"
is "flagged_users row with operator" \
    "$(sql "SELECT CONCAT(flagged_by, '|', reason) FROM flagged_users
    WHERE user_id = $X")" "$OP|e2e $$: ring of fake accounts"
is "flag audit row" \
    "$(sql "SELECT CONCAT(operator, '|', action) FROM audit_log
    WHERE target_user = $X AND action = 'flag_user'")" "$OP|flag_user"
select_row "$R +${REFEREE[1.held_pending]} +$X +same_ip +held/pend"
keys v
wait_screen "Void referral $R: reason" 5
text "e2e $$: same household"
keys Enter
wait_screen "void referral $R .*\\? \\[y/N\\]" 5
keys y
wait_screen "void referral $R voided" 10
is "void from the Fraud screen" \
    "$(sql "SELECT CONCAT(status, '|', void_reason) FROM referrals WHERE id = $R")" \
    "voided|e2e $$: same household"
keys Escape

# Retry a dead outbox row.
keys 3
wait_screen 'backlog [0-9]+ .*dead [0-9]+' 10
ok $? "3 switches to the Outbox screen"
select_row "$DEAD1 +[0-9]+ +reward.issued +credit +12 +503 "
ok $? "the dead row shows its attempts, HTTP status and is selected"
screen | grep -E "^> $DEAD1 " | grep -q 'HTTP 503: reward endpoint unavailable'
ok $? "the dead row shows its last error"
keys r
wait_screen "retry outbox row $DEAD1\\? \\[y/N\\]" 5
ok $? "r asks for a confirmation"
keys y
wait_screen "retry outbox row $DEAD1 set back to pending" 10
ok $? "retry reported"
# A running dispatcher may take the row at once: pending, then in flight
# or delivered, but its attempts start again and it is no longer dead.
st=$(sql "SELECT CONCAT(status, '/', attempts) FROM outbox WHERE id = $DEAD1")
case $st in pending/0|inflight/1|delivered/1) r=0 ;; *) r=1 ;; esac
ok $r "the retried row is pending again with its attempts reset ($st)"
is "retry audit row" \
    "$(sql "SELECT CONCAT(operator, '|', action) FROM audit_log
    WHERE action = 'outbox_retry' AND detail = 'outbox row $DEAD1 retried'")" \
    "$OP|outbox_retry"
is "the other dead row is untouched" \
    "$(sql "SELECT status FROM outbox WHERE id = $(echo $DEAD_IDS | cut -d' ' -f2)")" \
    "dead"
wait_gone "^[> ] $DEAD1 " 10
ok $? "the retried row leaves the dead list"

# The audit screen shows what was done, newest first, with the operator.
keys 4
wait_screen "Manual actions, newest first" 10
keys /
text "$OP"
keys Enter
wait_screen "^[> ] .* $OP +outbox_retry " 10
ok $? "Audit screen lists the retry by the operator"
list_rows | awk '{print $4}' | head -5 | tr '\n' ' ' >"$T/actions"
is "Audit screen order" "$(cat "$T/actions")" \
    "outbox_retry void flag_user void approve "

quit_console
finish
