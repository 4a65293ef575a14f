#!/usr/bin/env bash
# tests/fault/01_concurrent.sh: 200 concurrent deliveries of 20 events,
# each delivered ten times, with reordering: a refund delivered before its
# completion, a completion after the referral was voided, a refund racing
# its completion, a refund after the reward, two qualifying orders of one
# referee racing, below-minimum, non-qualifying and no-referral events.
# Every event gets exactly one first answer and nine "duplicate"s; the
# referrals end in the only states the order of arrival allows.
. "$(dirname "$0")/lib.sh"
fault_begin

referrer 1; CA=$RCODE
referrer 2; CB=$RCODE
att() {	# att N CODE: user N signs up with CODE; referral id in RID
	signup "{\"user_id\":$(uid "$1"),\"code\":\"$2\"}"
	RID=$(j .referral.id)
}
declare -A REF
for n in 11 12 13 14 15 16 17; do att $n "$CA"; REF[$n]=$RID; done
for n in 18 19 20 21 22 23; do att $n "$CB"; REF[$n]=$RID; done
is "13 referees attributed" "$(sql "SELECT COUNT(*) FROM referrals WHERE referee_id BETWEEN $(uid 11) AND $(uid 23) AND status = 'pending'")" 13

# The 20 events: EV[i] is the body of event i.
declare -A EV
evj() {	# evj I USER ORDER [AMOUNT [TYPE]]
	EV[$1]=$(ev_json "fe-$UBASE-$1" "$(uid "$2")" "fo-$UBASE-$3" "${4:-25.00}" "${5:-order.completed}")
}
for i in 1 2 3 4 5 6 7 8; do evj $i $((10 + i)) $i; done	# users 11..18 convert
evj 9 11 9				# a second order of user 11, racing event 1
evj 10 19 10				# user 19: refunded before completed
evj 11 19 10 25.00 order.refunded
evj 12 20 12				# user 20: completed after a void
evj 13 21 13				# user 21: refund racing its completion
evj 14 21 13 25.00 order.refunded
evj 15 22 15				# user 22: refunded after the reward
evj 16 22 15 25.00 order.refunded
evj 17 23 17 0.50			# user 23: below the minimum,
evj 18 23 18 25.00 order.created	# not qualifying,
evj 20 23 20				# then a qualifying order
evj 19 1 19				# the referrer: no referral of theirs

admin POST "/v1/referrals/${REF[20]}/void" '{"reason":"fault suite: void before completion"}'
is "user 20's referral voided first" "$ST $(j .status)" "200 voided"

plan() {	# plan I WAVE COUNT
	local k
	for k in $(seq "$3"); do
		jq -nc --arg id "fe-$UBASE-$1" --arg b "${EV[$1]}" --argjson w "$2" \
		    '{kind: "event", id: $id, body: $b, wave: $w}'
	done
}
{
	plan 11 0 3
	{ for i in $(seq 20); do
		case $i in 11) plan 11 1 7 ;; 16) ;; *) plan "$i" 1 10 ;; esac
	  done; } | shuf
	plan 16 2 10
} >"$T/plan"
is "the plan: 200 deliveries of 20 events" "$(wc -l <"$T/plan") $(jq -r .id "$T/plan" | sort -u | wc -l)" "200 20"
PIDS0=$(fcgi_pids)
load send --plan "$T/plan" --threads 200 >"$T/send.out" 2>&1
ok $? "load.py send ran" "$(tail -3 "$T/send.out")"
is "all 200 deliveries answered 200" "$(statuses)" "200:200 "

# first ID: the outcome of the one answer that is not "duplicate".
first() {
	jq -r --arg id "fe-$UBASE-$1" 'select(.key == $id and .status == 200 and .body.outcome != "duplicate") | .body.outcome + (if .body.reason then "/" + .body.reason else "" end)' "$RESULTS" | tr '\n' ' ' | sed 's/ $//'
}
dups() { jq -r --arg id "fe-$UBASE-$1" 'select(.key == $id and .body.outcome == "duplicate") | .key' "$RESULTS" | wc -l; }
bad=""
for i in $(seq 20); do
	n=$(first "$i" | wc -w); d=$(dups "$i")
	[ "$n" = 1 ] && [ $((n + d)) = 10 ] || bad="$bad fe-$i:$n+$d"
done
is "each event: exactly one first answer, every other delivery a duplicate" "$bad" ""

status_of() { sql "SELECT CONCAT(status, ' ', (SELECT COUNT(*) FROM referral_rewards w WHERE w.referral_id = r.id AND w.status = 'issued'), ' ', (SELECT COUNT(*) FROM referral_rewards w WHERE w.referral_id = r.id AND w.status = 'revoked')) FROM referrals r WHERE id = ${REF[$1]}"; }
res=""
for n in 11 12 13 14 15 16 17 18; do res="$res$(status_of $n),"; done
is "users 11..18: rewarded, two rewards each" "$res" "$(printf 'rewarded 2 0,%.0s' $(seq 8))"
like "user 11's two orders: one converted, the other ignored" \
    "$(printf '%s\n' "$(first 1)" "$(first 9)" | sort | tr '\n' ' ')" '^converted ignored/already_(converted|rewarded) $'
is "user 11 converted by the order that won" \
    "$(sql "SELECT conversion_event FROM referrals WHERE id = ${REF[11]}")" \
    "$( [ "$(first 1)" = converted ] && echo "fe-$UBASE-1" || echo "fe-$UBASE-9")"
is "refund before completion: the refund is recorded, the completion does not convert" \
    "$(first 11) | $(first 10) | $(status_of 19)" "ignored/not_converting_order | ignored/order_refunded | pending 0 0"
is "completion after a void: ignored, still voided, no reward" \
    "$(first 12) | $(status_of 20)" "ignored/already_voided | voided 0 0"
case "$(first 13) | $(first 14)" in
"converted | voided/refunded")
	is "refund racing completion (completion first): voided, both rewards revoked" "$(status_of 21)" "voided 0 2" ;;
"ignored/order_refunded | ignored/not_converting_order")
	is "refund racing completion (refund first): never converted" "$(status_of 21)" "pending 0 0" ;;
*)	ok 1 "refund racing completion: consistent answers" "$(first 13) | $(first 14) | $(status_of 21)" ;;
esac
is "refund after the reward: voided, both rewards revoked" \
    "$(first 15) | $(first 16) | $(status_of 22)" "converted | voided/refunded | voided 0 2"
is "user 23: below minimum, not qualifying, then converted" \
    "$(first 17) | $(first 18) | $(first 20) | $(status_of 23)" \
    "below_minimum | ignored/type_not_qualifying | converted | rewarded 2 0"
is "an event of a user without a referral" "$(first 19)" "no_referral"
is "20 inbound events stored" "$(sql "SELECT COUNT(*) FROM inbound_events WHERE event_id LIKE 'fe-$UBASE-%'")" 20
is "no FastCGI worker died" "$(fcgi_pids)" "$PIDS0"

fault_audit 60
done_testing
