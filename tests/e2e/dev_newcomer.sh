#!/usr/bin/env bash
# tests/e2e/dev_newcomer.sh: the README's quick start where a newcomer
# clones.  A clone of this repository (its committed HEAD) in a fresh
# private directory (mode 0700, like a home directory or a mktemp -d),
# then, inside it, exactly "etc/dev/up": it must build and start the
# stack; the basic API suite then runs through nginx, lighttpd and Apache
# (whose children, as root, run as www-data and cannot pass the 0700
# directory); "etc/dev/down" stops it and leaves nothing running.
# The stack uses REFERD_PORT + 200 and the clone's own var/dev.
. "$(dirname "$0")/../../etc/dev/lib.sh"
set +e
T=$(mktemp -d "${TMPDIR:-/tmp}/newcomer.XXXXXX")
. "$top/tests/e2e/lib/tap.sh"

P=$((PORT + 200))
C=$T/referd
cleanup() {
	[ -x "$C/etc/dev/down" ] && (cd "$C" && env -u REFERD_VAR -u REFERD_BUILD \
	    REFERD_PORT=$P etc/dev/down >/dev/null 2>&1)
	rm -rf "$T"
}
trap cleanup EXIT

is "the directory above the clone is private (0700)" "$(stat -c %a "$T")" 700
git clone -q "$top" "$C" 2>"$T/clone.err"
ok $? "git clone" "$(cat "$T/clone.err")"

# Exactly the README's command, from the clone, with nothing of this
# checkout's environment but the port.
(cd "$C" && env -u REFERD_VAR -u REFERD_BUILD REFERD_PORT=$P etc/dev/up) >"$T/up.out" 2>&1
ok $? "etc/dev/up in the clone" "$(tail -n 25 "$T/up.out")"
like "it prints the three front ends" "$(cat "$T/up.out")" "http://127.0.0.1:$((P + 4)) \(Apache\)"
# The transcript, for whoever reads the log of this suite.
sed 's/^/# up: /' "$T/up.out"

CV=$C/var/dev
for front in "nginx $P" "lighttpd $((P + 3))" "Apache $((P + 4))"; do
	set -- $front
	REFERD_VAR=$CV REFERD_PORT=$P REFERD_BASE_URL=http://127.0.0.1:$2 \
	    "$C/tests/e2e/api_basic.sh" >"$T/basic-$1.log" 2>&1
	ok $? "api_basic behind $1 (port $2): $(tail -n 1 "$T/basic-$1.log" | sed 's/^# //')" \
	    "$(grep -A3 '^not ok' "$T/basic-$1.log" | head -12)"
done

(cd "$C" && env -u REFERD_VAR -u REFERD_BUILD REFERD_PORT=$P etc/dev/down) >"$T/down.out" 2>&1
ok $? "etc/dev/down" "$(tail -n 10 "$T/down.out")"
sleep 1
is "nothing of the clone's stack is left running" "$(pgrep -af -- "$C/" | grep -v pgrep)" ""
if [ "$(id -u)" = 0 ]; then
	check "its directory under /run/referd-dev is gone" \
	    test ! -e "/run/referd-dev/$(printf '%s' "$CV" | sha256sum | cut -c1-16)"
fi

done_testing
