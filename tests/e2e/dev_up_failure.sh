#!/usr/bin/env bash
# tests/e2e/dev_up_failure.sh: etc/dev/up when something is in its way.
#  - a port of the stack already taken: up refuses before it starts
#    anything, naming the port and what to do;
#  - a part that fails half-way (Apache's configuration check, with
#    REFERD_APACHE=/bin/false): up names the step, shows the last lines
#    of its log, and stops what that run started (MariaDB, referd-fcgi,
#    nginx, lighttpd): nothing of it is left running;
#  - the same failure on a stack that is already up: that run started
#    nothing, so the running stack stays up.
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
$DOWN >/dev/null 2>&1
sleep 1
is "down leaves nothing running" "$(left)" ""

done_testing
