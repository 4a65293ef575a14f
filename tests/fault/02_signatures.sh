#!/usr/bin/env bash
# tests/fault/02_signatures.sh: hostile deliveries of conversion events:
# the same event id with another body (409, nothing changes), timestamps 6
# minutes old and 6 minutes ahead (401), a captured signature replayed on
# another body, another id or another timestamp (401), a signature made
# with another secret (401), and the exact request replayed (a harmless
# duplicate).  None of the refused deliveries leaves a trace in the
# database.
. "$(dirname "$0")/lib.sh"
fault_begin

stored() { sql "SELECT COUNT(*) FROM inbound_events WHERE event_id = '$1'"; }
state() { sql "SELECT CONCAT(status, ' ', (SELECT COUNT(*) FROM referral_rewards w WHERE w.referral_id = r.id)) FROM referrals r WHERE referee_id = $1"; }
refused=0
no() { refused=$((refused + 1)); }

referrer 1; CA=$RCODE
for n in 2 3 4 5; do signup "{\"user_id\":$(uid $n),\"code\":\"$CA\"}"; done
U2=$(uid 2) U3=$(uid 3) U4=$(uid 4) U5=$(uid 5)

# --- the same event id with another body --------------------------------------
E1=$(ev_json "fs-$UBASE-1" "$U2" "fso-$UBASE-1" 25.00)
ev "$E1"
is "an event: converted" "$ST $(j .outcome)" "200 converted"
SHA1=$(sql "SELECT body_sha256 FROM inbound_events WHERE event_id = 'fs-$UBASE-1'")
ev "$(ev_json "fs-$UBASE-1" "$U2" "fso-$UBASE-1" 99.00)"; no
is "its id with another amount: 409 event_id_conflict" "$ST $(errcode)" "409 event_id_conflict"
ev "$(ev_json "fs-$UBASE-1" "$U3" "fso-$UBASE-3" 25.00)"; no
is "its id for another user: 409, that user's referral untouched" "$ST $(errcode) $(state "$U3")" \
    "409 event_id_conflict pending 0"
ev "$(ev_json "fs-$UBASE-1" "$U2" "fso-$UBASE-1" 25.00 order.refunded)"; no
is "its id as a refund: 409, the referral stays rewarded" "$ST $(errcode) $(state "$U2")" \
    "409 event_id_conflict rewarded 2"
is "the first body is the one on record" \
    "$(stored "fs-$UBASE-1") $(sql "SELECT body_sha256 FROM inbound_events WHERE event_id = 'fs-$UBASE-1'")" "1 $SHA1"

# --- timestamps ------------------------------------------------------------------
NOW=$(date +%s)
E3=$(ev_json "fs-$UBASE-3" "$U3" "fso-$UBASE-3" 25.00)
ev "$E3" "" $((NOW - 360)); no
is "a timestamp 6 minutes old: 401 stale_timestamp" "$ST $(errcode)" "401 stale_timestamp"
ev "$E3" "" $((NOW + 360)); no
is "a timestamp 6 minutes ahead: 401 stale_timestamp" "$ST $(errcode)" "401 stale_timestamp"
ev "$E3" "" "$((NOW - 360))x"; no
is "a timestamp that is not a number: 401" "$ST $(errcode)" "401 invalid_signature"
is "neither is recorded, the referral is untouched" "$(stored "fs-$UBASE-3") $(state "$U3")" "0 pending 0"
ev "$E3" "" $((NOW - 240))
is "4 minutes old is within tolerance: converted" "$ST $(j .outcome)" "200 converted"

# --- a captured signature, replayed -------------------------------------------------
TS=$(date +%s)
E4=$(ev_json "fs-$UBASE-4" "$U4" "fso-$UBASE-4" 25.00)
SIG4=$(printf '%s' "$E4" | sign "fs-$UBASE-4" "$TS")
ev "$(ev_json "fs-$UBASE-4" "$U4" "fso-$UBASE-4" 2500.00)" "fs-$UBASE-4" "$TS" "$SIG4"; no
is "its signature on another body (same id): 401 invalid_signature" "$ST $(errcode)" "401 invalid_signature"
ev "$(ev_json "fs-$UBASE-5" "$U5" "fso-$UBASE-5" 25.00)" "fs-$UBASE-5" "$TS" "$SIG4"; no
is "its signature on another id and body: 401" "$ST $(errcode)" "401 invalid_signature"
ev "$E4" "fs-$UBASE-5" "$TS" "$SIG4"; no
is "its signature and body under another webhook-id: 401" "$ST $(errcode)" "401 invalid_signature"
ev "$E4" "fs-$UBASE-4" "$((TS + 1))" "$SIG4"; no
is "its signature with another timestamp: 401" "$ST $(errcode)" "401 invalid_signature"
ev "$E4" "fs-$UBASE-4" "$TS" "v1,$(head -c 32 /dev/urandom | base64)"; no
is "a random signature: 401" "$ST $(errcode)" "401 invalid_signature"
OUT_SEC=$(conf_get outbound_secret)
ev "$E4" "fs-$UBASE-4" "$TS" "$(printf '%s' "$E4" | "$PY" "$SIGN" "$OUT_SEC" "fs-$UBASE-4" "$TS")"; no
is "signed with the outbound secret instead: 401" "$ST $(errcode)" "401 invalid_signature"
ev "$E4" "fs-$UBASE-4" "$TS" "v2,${SIG4#v1,}"; no
is "its MAC under another version tag: 401" "$ST $(errcode)" "401 invalid_signature"
is "nothing of user 4 or 5 recorded" \
    "$(stored "fs-$UBASE-4") $(stored "fs-$UBASE-5") $(state "$U4") $(state "$U5")" "0 0 pending 0 pending 0"
ev "$E4" "fs-$UBASE-4" "$TS" "v1,$(head -c 32 /dev/urandom | base64) $SIG4"
is "the genuine signature after a wrong one in the header: converted" "$ST $(j .outcome)" "200 converted"
ev "$E4" "fs-$UBASE-4" "$TS" "$SIG4"
is "the exact request replayed: 200 duplicate" "$ST $(j .outcome)" "200 duplicate"
ev "$(ev_json "fs-$UBASE-6" "$U5" "fso-$UBASE-6" 25.00)" "fs-$UBASE-7"; no
is "a body id other than the webhook-id: 422 event_id_mismatch" "$ST $(errcode)" "422 event_id_mismatch"
is "user 5 untouched" "$(stored "fs-$UBASE-6") $(stored "fs-$UBASE-7") $(state "$U5")" "0 0 pending 0"
is "three conversions, each rewarded once" "$(state "$U2") $(state "$U3") $(state "$U4")" \
    "rewarded 2 rewarded 2 rewarded 2"
figure fault_forged_or_replayed_event "$refused"
echo "# $refused forged, stale, conflicting or replayed deliveries refused"

fault_audit 60
done_testing
