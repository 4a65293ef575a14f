#!/usr/bin/env bash
# tests/e2e/dev_up_failure.sh: etc/dev/up when something is in its way.
#  - a port of the stack already taken: up refuses before it starts
#    anything, naming the port and what to do;
#  - a part that fails half-way (Apache's configuration check, with
#    REFERD_APACHE=/bin/false): up names the step, shows the last lines
#    of its log, and stops what that run started (MariaDB, referd-fcgi,
#    nginx, lighttpd): nothing of it is left running;
#  - the same failure on a stack that is already up: that run started
#    nothing, so the running stack stays up;
#  - REFERD_REWARD_URL on a second up is applied (issue 12, item 9): the
#    reward URLs rewritten, the dispatcher restarted, rewards reaching
#    that URL; a third up without it points them back at the demo
#    receiver.
# Runs its own stacks (REFERD_PORT + 100, a REFERD_VAR of its own).
. "$(dirname "$0")/../../etc/dev/lib.sh"
set +e
T=$(mktemp -d "${TMPDIR:-/tmp}/up-fail.XXXXXX")
. "$top/tests/e2e/lib/tap.sh"

P=$((PORT + 100))
V=$T/var
UP="env REFERD_VAR=$V REFERD_PORT=$P REFERD_BUILD=$BUILD $top/etc/dev/up"
DOWN="env REFERD_VAR=$V REFERD_PORT=$P REFERD_BUILD=$BUILD $top/etc/dev/down"
left() { pgrep -af -- "$V/" | grep -v pgrep; }
cleanup() {
	[ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null
	$DOWN >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# --- 1. a port taken before anything starts -------------------------------------
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $((P + 4)))); s.listen(1); time.sleep(600)" &
LPID=$!
wait_for "(exec 3<>/dev/tcp/127.0.0.1/$((P + 4)))" 10
$UP >"$T/up1.out" 2>&1
is "port $((P + 4)) taken: up fails" "$?" 1
like "and names the port and that it is Apache's" "$(cat "$T/up1.out")" "port $((P + 4)) \(Apache\) is already in use"
like "and what to do (another REFERD_PORT)" "$(cat "$T/up1.out")" "REFERD_PORT=N etc/dev/up"
like "it failed while checking the machine, before anything started" "$(cat "$T/up1.out")" \
    "failed at step: checking the machine"
is "nothing of that run is running" "$(left)" ""
check "no database was initialised" test ! -e "$V/mysql"
kill "$LPID"; wait "$LPID" 2>/dev/null; LPID=

# --- 2. a part failing half-way ------------------------------------------------
REFERD_APACHE=/bin/false $UP >"$T/up2.out" 2>&1
is "Apache's configuration check fails: up fails" "$?" 1
like "the message names the step" "$(cat "$T/up2.out")" \
    "failed at step: checking the Apache configuration"
like "and says what it stops, in reverse order" "$(cat "$T/up2.out")" \
    "stopping what this run started: lighttpd nginx referd-fcgi mariadb"
like "MariaDB, referd-fcgi, nginx and lighttpd had been started first" \
    "$(grep -c '^==> starting \(MariaDB\|referd-fcgi\|nginx\|lighttpd\)' "$T/up2.out")" '^4$'
sleep 1
is "nothing of that run is left running" "$(left)" ""
if [ "$(id -u)" = 0 ]; then
	check "nor its directory under /run/referd-dev" \
	    test ! -e "/run/referd-dev/$(printf '%s' "$V" | sha256sum | cut -c1-16)"
fi
check "nginx's port is free again" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$P) 2>/dev/null"
check "lighttpd's port is free again" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$((P + 3))) 2>/dev/null"

# --- 3. the same failure on a running stack -------------------------------------
$UP >"$T/up3.out" 2>&1
ok $? "a stack on that state comes up" "$(tail -n 20 "$T/up3.out")"
REFERD_APACHE=/bin/false $UP >"$T/up4.out" 2>&1
is "a second up with Apache failing fails" "$?" 1
like "that run started nothing and says so" "$(cat "$T/up4.out")" \
    "this run started nothing, so nothing was stopped"
check "the running stack still answers" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$P/healthz"
check "its Apache too" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$((P + 4))/healthz"

# --- 4. REFERD_REWARD_URL on a second up of the running stack -------------------
# A receiver of its own on P+10 records what reaches it.
RP=$((P + 10))
python3 -c "
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0)); self.rfile.read(n)
        open('$T/got', 'a').write(self.headers.get('Idempotency-Key', '') + '\\n')
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', $RP), H).serve_forever()" &
LPID=$!
wait_for "(exec 3<>/dev/tcp/127.0.0.1/$RP)" 10
D0=$(cat "$V/run/referd-dispatch.pid")
REFERD_REWARD_URL=http://127.0.0.1:$RP/rewards $UP >"$T/up5.out" 2>&1
ok $? "a second up with REFERD_REWARD_URL set" "$(tail -n 15 "$T/up5.out")"
is "it rewrites every reward_url_* line" \
    "$(grep -c "^reward_url_[a-z]* = http://127.0.0.1:$RP/rewards\$" "$V/referd.conf")" 3
D1=$(cat "$V/run/referd-dispatch.pid")
ok "$([ "$D0" != "$D1" ] && kill -0 "$D1" && echo 0 || echo 1)" \
    "and restarts the dispatcher to read it (pid $D0 -> $D1)"
"$BUILD/tests/referd-seed" -q -c "$V/referd.conf" -b 9100000 rewarded 1 >/dev/null 2>&1
wait_for "[ \$(grep -c '^reward-' '$T/got' 2>/dev/null) -ge 2 ]" 15
is "the two rewards of a conversion reach the new URL" "$(grep -c '^reward-' "$T/got" 2>/dev/null)" 2
$UP >"$T/up6.out" 2>&1
ok $? "a third up without it" "$(tail -n 15 "$T/up6.out")"
is "points the rewards back at the demo receiver" \
    "$(grep -c "^reward_url_[a-z]* = http://127.0.0.1:$((P + 2))/rewards\$" "$V/referd.conf")" 3
check "which runs" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$((P + 2))/_health"

$DOWN >/dev/null 2>&1
sleep 1
is "down leaves nothing running" "$(left)" ""

done_testing
