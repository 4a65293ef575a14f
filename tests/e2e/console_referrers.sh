#!/usr/bin/env bash
# tests/e2e/console_referrers.sh: the console's Referrers screen, driven
# through tmux against the running stack: the seeded referrers in the
# right order with the right counts, search by code and by user id, Enter
# on a referrer, and "q" leaving the terminal as it was.
. "$(dirname "$0")/console_lib.sh"

# A fixed base: seeding it again changes nothing, and these four rows are
# only read, never changed, by any suite.
BASE=7000000000
seed "$BASE"
ok $? "seed the ranked referrers through the data layer"

start_console 120 40
ok $? "console starts and shows the status line"
wait_screen 'Top referrers by conversions' 10
ok $? "Referrers screen is the first screen"

# Collect the list, a page at a time, until all four are seen.
: >"$T/rows"
for page in $(seq 1 30); do
	list_rows >>"$T/rows"
	all=1
	for i in 1 2 3 4; do
		grep -qE "^ +[0-9]+ ${RUSER[$i]} " "$T/rows" || all=0
	done
	[ $all = 1 ] && break
	screen >"$T/before"
	keys NPage
	wait_change "$T/before" 5 || break
done
ok $((1 - all)) "all four seeded referrers are listed"

# rank user code clicks signups conversions rate held voided rewards...
row() { grep -E "^ +[0-9]+ ${RUSER[$1]} " "$T/rows" | head -1 | awk '{$1=$1; print}'; }
rank() { row "$1" | cut -d' ' -f1; }
r1=$(rank 1) r2=$(rank 2) r3=$(rank 3) r4=$(rank 4)
[ -n "$r1" ] && [ -n "$r4" ] && [ "$r1" -lt "$r2" ] && [ "$r2" -lt "$r3" ] &&
    [ "$r3" -lt "$r4" ]
ok $? "ranked by conversions: A ($r1) before B ($r2) before C ($r3) before D ($r4)"

# The counts come from the data layer's own writes in console_seed.
is "referrer A: code, clicks, signups, conversions, rate, held, voided, rewards" \
    "$(row 1 | cut -d' ' -f2-)" \
    "${RUSER[1]} ${RCODE[1]} 120 10 9 90.0% 0 0 credit 90.00 USD"
is "referrer B: one voided, the dead-letter one still counts as rewarded" \
    "$(row 2 | cut -d' ' -f2-)" \
    "${RUSER[2]} ${RCODE[2]} 40 7 6 85.7% 0 1 credit 60.00 USD"
is "referrer C: two held for review, one of them converted" \
    "$(row 3 | cut -d' ' -f2-)" \
    "${RUSER[3]} ${RCODE[3]} 15 5 4 80.0% 2 0 credit 30.00 USD"
is "referrer D" "$(row 4 | cut -d' ' -f2-)" \
    "${RUSER[4]} ${RCODE[4]} 3 2 1 50.0% 0 0 credit 10.00 USD"

# Search by code, typed in lower case.
keys /
wait_screen 'Find referrer \(user id or code\)' 5
ok $? "/ asks for a user id or code"
text "$(printf '%s' "${RCODE[2]}" | tr 'A-Z' 'a-z')"
keys Enter
wait_screen "Search \"[a-z0-9]+\": 1 referrer " 10
ok $? "search by code finds exactly one referrer"
is "search by code shows referrer B" \
    "$(list_rows | awk '{$1=$1; print}' | cut -d' ' -f2-4)" \
    "${RUSER[2]} ${RCODE[2]} 40"

# Esc goes back to the top list; then search by user id.
keys Escape
wait_screen 'Top referrers by conversions' 10
ok $? "Esc clears the search"
keys /
wait_screen 'Find referrer' 5
text "${RUSER[3]}"
keys Enter
wait_screen "Search \"${RUSER[3]}\": 1 referrer " 10
ok $? "search by user id finds exactly one referrer"
is "search by user id shows referrer C" \
    "$(list_rows | awk '{$1=$1; print}' | cut -d' ' -f2-6)" \
    "${RUSER[3]} ${RCODE[3]} 15 5 4"

# A search that matches nothing says so.
keys Escape /
wait_screen 'Find referrer' 5
text "ZZZZZZZZ"
keys Enter
wait_screen 'Search "ZZZZZZZZ": 0 referrers' 10
ok $? "a search without a match shows 0 referrers"
keys Escape

# Enter on a referrer: its referrals with status and review.
keys /
wait_screen 'Find referrer' 5
text "${RCODE[3]}"
keys Enter
wait_screen "Search \"${RCODE[3]}\": 1 referrer" 10
keys Enter
wait_screen "Referrals of ${RUSER[3]} \\(code ${RCODE[3]}\\): 5 " 10
ok $? "Enter opens the referrer's referrals"
list_rows | awk '{print $3 "/" $4}' | sort | uniq -c | awk '{$1=$1; print}' \
    >"$T/states"
is "referrals by status/review" "$(tr '\n' ' ' <"$T/states")" \
    "1 converted/held 1 pending/held 3 rewarded/none "
is "the held referral shows its rule" \
    "$(list_rows | grep -E "^ +${REF[3.held_converted]} " | grep -c same_ip)" 1
keys Escape
wait_screen "Search \"${RCODE[3]}\"" 10
ok $? "Esc goes back to the Referrers screen"

quit_console
finish
