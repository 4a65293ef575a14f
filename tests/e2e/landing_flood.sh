#!/usr/bin/env bash
# tests/e2e/landing_flood.sh: 20,000 random well-formed codes on /r/
# through the web server (issue 10 item 7):
#   - every one redirects (302 to landing_url);
#   - the database's statement count (Com_stmt_execute, every prepared
#     statement of every client of the private MariaDB, the change feed
#     and the dispatcher included) grows far less than the number of
#     requests: unknown codes are remembered apart and the reads for codes
#     no cache answers are metered;
#   - a real code still lands with its cookie and counts its click (it was
#     answered from the cache, not as in an outage);
#   - the same random codes again cost (almost) no read at all.
. "$(dirname "$0")/lib/api.sh"

NREQ=${FLOOD_N:-20000}
FLUSH=$(conf_get click_flush_ms); FLUSH=${FLUSH:-1000}
CACHE=$(conf_get code_cache_seconds); CACHE=${CACHE:-5}
stmts() { mysql_client -N -B -e "SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'" | cut -f2; }
metric() { curl -s --max-time 10 "$BASE_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
clicks() { sql "SELECT COALESCE(SUM(clicks),0) FROM click_counts WHERE code = '$1'"; }

U=$(uid 1)
api POST "/v1/users/$U/code"; CODE=$(j .code)
is "a real code" "$ST" 201
req GET "/r/$CODE"
is "it lands with its cookie" "$ST $(hdr Set-Cookie | cut -d';' -f1)" "302 ref=$CODE"

# Random codes: 8 of base 36 from /dev/urandom, one URL each.
head -c $((NREQ * 8)) /dev/urandom | od -An -v -tu1 | tr -s ' ' '\n' | grep . |
    awk -v n="$NREQ" 'BEGIN { a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" }
	{ c = c substr(a, $1 % 36 + 1, 1); if (length(c) == 8) { print c; c = ""; if (++k == n) exit } }' \
    >"$T/codes"
is "$NREQ distinct random codes" "$(sort -u "$T/codes" | wc -l)" "$NREQ"
awk -v b="$BASE_URL" '{ printf "url = \"%s/r/%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n", b, $1 }' \
    "$T/codes" >"$T/curl.cfg"

flood() {	# flood: every code once, 16 at a time; the statuses in $T/st
	curl -s -Z --parallel-max 16 --max-time 30 -K "$T/curl.cfg" >"$T/st" 2>/dev/null
}
S0=$(stmts); R0=$(metric referd_code_db_reads_total); H0=$(metric referd_code_db_reads_shed_total)
t0=$(date +%s.%N)
flood
t1=$(date +%s.%N)
S1=$(stmts); R1=$(metric referd_code_db_reads_total); H1=$(metric referd_code_db_reads_shed_total)
SECS=$(echo "$t1 - $t0" | bc)
is "every request answered 302" "$(sort "$T/st" | uniq -c | awk '{ print $2 ":" $1 }')" "302:$NREQ"
DS=$((S1 - S0)) DR=$((R1 - R0)) DH=$((H1 - H0))
echo "# $NREQ random codes in ${SECS}s: database statements +$DS, code reads +$DR, reads shed +$DH"
ok $([ "$DS" -lt $((NREQ / 5)) ]; echo $?) \
    "database statements grew far less than the requests ($DS < $NREQ / 5)"
ok $([ "$DR" -lt $((NREQ / 5)) ]; echo $?) "code reads (metric) under $NREQ / 5: $DR"

C0=$(clicks "$CODE")
req GET "/r/$CODE"
is "after the flood the real code lands with its cookie" \
    "$ST $(hdr Set-Cookie | cut -d';' -f1) $(hdr Location | grep -c "ref=$CODE")" "302 ref=$CODE 1"
wait_for "[ \"\$(clicks $CODE)\" -gt $C0 ]" $((FLUSH / 1000 + 5))
is "and its click is counted (a cache hit, not the outage answer)" "$(clicks "$CODE")" $((C0 + 1))

# Within code_cache_seconds, the same codes again: the unknown codes a
# worker remembers cost nothing; only those another worker read, or that
# were shed, may be read, within the budget.
if [ "$(echo "$SECS < $CACHE - 1" | bc)" = 1 ]; then
	S2=$(stmts); R2=$(metric referd_code_db_reads_total)
	flood
	DS2=$(($(stmts) - S2)) DR2=$(($(metric referd_code_db_reads_total) - R2))
	echo "# the same codes again: database statements +$DS2, code reads +$DR2"
	ok $([ "$DR2" -lt $((NREQ / 5)) ]; echo $?) "the same codes again: code reads $DR2 < $NREQ / 5"
else
	ok 0 "# SKIP the flood took ${SECS}s, longer than code_cache_seconds"
fi
req GET /healthz
is "still healthy" "$ST" 200
finish
