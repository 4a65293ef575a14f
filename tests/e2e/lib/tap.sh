# tests/e2e/lib/tap.sh: the TAP output of every shell suite (API, console,
# dispatcher, fault, receiver).  Sourced, not run.  Needs $T, a scratch
# directory of the suite's own.  A suite may define tap_context() to add
# what it knows (the last answer, say) under a failed is().
#   ok STATUS DESCRIPTION [DIAGNOSTIC]   one line; STATUS 0 is a pass
#   check DESCRIPTION COMMAND...         ok if the command succeeds
#   is DESCRIPTION GOT WANT              ok if GOT equals WANT
#   like DESCRIPTION GOT REGEX           ok if GOT matches the ERE
#   done_testing                         the plan and a summary; status 1
#                                        if anything failed

N=0
FAILED=0

ok() {
	N=$((N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		FAILED=$((FAILED + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | head -20 | sed 's/^/#   /'
	fi
	return 0
}

check() {
	local d=$1; shift
	"$@" >"$T/check.out" 2>&1
	ok $? "$d" "$(head -c 600 "$T/check.out" | tr '\n' ' ')"
}

declare -F tap_context >/dev/null || tap_context() { :; }

is() {
	if [ "$2" = "$3" ]; then ok 0 "$1"
	else ok 1 "$1" "got '${2:0:400}', want '${3:0:400}'$(tap_context)"; fi
}

like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok 0 "$1"
	else ok 1 "$1" "'${2:0:400}' does not match /$3/$(tap_context)"; fi
}

done_testing() {
	local who=${SUITE:+$SUITE: }

	echo "1..$N"
	if [ "$FAILED" != 0 ]; then
		echo "# $who$FAILED of $N failed"
		return 1
	fi
	echo "# ${who}all $N passed"
	return 0
}
