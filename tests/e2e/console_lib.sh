# tests/e2e/console_lib.sh: shared by the console suites (tests/e2e/console_*.sh).
# Sourced, not run (not executable, so etc/dev/test does not take it for a
# suite).  The console runs in a real terminal: a private tmux server whose
# pane holds a shell; keys go in with send-keys and the screen comes back
# with capture-pane.  Data comes from tests/console_seed (the data layer)
# against the running stack's $REFERD_VAR/referd.conf.

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/etc/dev/lib.sh"
set +e

T=$(mktemp -d "${TMPDIR:-/tmp}/console-e2e.XXXXXX")
TMUX_L=console-e2e-$$		# our own tmux server: nothing else is touched
# The operator name the console records: the login name of its real uid.
# The pane sets USER and LOGNAME to mallory: they must not count.
OP=$(id -un)
. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

tm() { tmux -L "$TMUX_L" -f /dev/null "$@"; }

cleanup() {
	tm kill-server >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

finish() { done_testing; exit; }

sql() { mysql_client -N -B referd -e "$1"; }

[ -f "$CONF" ] || die "no $CONF: start the stack first (etc/dev/up)"
[ -x "$BUILD/referd-console" ] || die "no $BUILD/referd-console: build first"
SEED=$BUILD/tests/console_seed
[ -x "$SEED" ] || make -C "$BUILD" tests/console_seed >/dev/null ||
    die "cannot build $SEED"
command -v tmux >/dev/null || die "tmux is not installed"

# A base user id of its own for each run (the clock, in seconds): reruns
# on one stack never meet their earlier rows.  $1 (0-9) keeps suites
# started in the same second apart; a seed uses at most base + 999.
fresh_base() {
	echo $((7200000000 + ($(date +%s) * 10 + $1) * 1000))
}

# seed BASE [-s]: runs console_seed and fills RUSER[i], RCODE[i] (referrer
# i) and REF[i.kind], REFEREE[i.kind] (the first referral of that kind).
declare -A RUSER RCODE REF REFEREE
seed() {
	"$SEED" -c "$CONF" -b "$@" >"$T/seed.out" 2>"$T/seed.err" ||
	    { cat "$T/seed.out" "$T/seed.err"; return 1; }
	local what a b c d
	while read -r what a b c d; do
		case $what in
		referrer) RUSER[$a]=$b; RCODE[$a]=$c ;;
		referral)
			if [ -z "${REF[$a.$b]:-}" ]; then
				REF[$a.$b]=$c
				REFEREE[$a.$b]=$d
			fi ;;
		esac
	done <"$T/seed.out"
}

# make_dead REFERRAL: its reward.issued outbox rows become dead, as after a
# reward endpoint failed every attempt.  Prints their ids.
make_dead() {
	sql "UPDATE outbox o JOIN referral_rewards w ON w.id = o.reward_id
	    SET o.status = 'dead', o.attempts = 12, o.last_status = 503,
	    o.last_error = 'HTTP 503: reward endpoint unavailable (e2e seed)',
	    o.lease_owner = NULL, o.lease_until = NULL
	    WHERE w.referral_id = $1 AND o.event = 'reward.issued'" &&
	sql "SELECT o.id FROM outbox o JOIN referral_rewards w
	    ON w.id = o.reward_id WHERE w.referral_id = $1
	    AND o.event = 'reward.issued' ORDER BY o.id"
}

# start_console [COLS LINES [CONF [TERM]]]: a shell in a fresh tmux pane
# that saves `stty -g`, runs the console, then saves its exit status and
# `stty -g` again ($T/stty.before, $T/rc, $T/stty.after).
start_console() {
	local w=${1:-120} h=${2:-40} conf=${3:-$CONF} term=${4:-screen}
	local try
	tm kill-server >/dev/null 2>&1
	rm -f "$T/rc" "$T/stty.before" "$T/stty.after"
	# A server still exiting from kill-server makes new-session fail
	# ("server exited unexpectedly"): try again once it is gone.
	for try in 1 2 3 4 5; do
		tm new-session -d -s c -x "$w" -y "$h" \
		    "env -i PATH='$PATH' HOME='$HOME' USER=mallory LOGNAME=mallory LANG=C.UTF-8 TERM='$term' PS1='$ ' bash --norc --noprofile" \
		    2>>"$T/tmux.err" && break
		[ $try = 5 ] && { cat "$T/tmux.err" >&2; return 1; }
		sleep 0.5
	done
	tm set-option -t c status off >/dev/null
	tm set-window-option -t c aggressive-resize off >/dev/null 2>&1
	tm send-keys -t c "stty -g >$T/stty.before; $BUILD/referd-console -c $conf ${CONSOLE_ARGS:-}; echo \$? >$T/rc; stty -g >$T/stty.after" Enter
	wait_screen ' db: ' 15
}

screen() { tm capture-pane -p -t c; }

# wait_screen ERE [SECONDS]: polls the screen until a line matches.
wait_screen() {
	local re=$1 t=${2:-10} i=0
	while [ $i -lt $((t * 20)) ]; do
		screen 2>/dev/null | grep -qE -- "$re" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# wait_gone ERE [SECONDS]: polls until no line matches.
wait_gone() {
	local re=$1 t=${2:-10} i=0
	while [ $i -lt $((t * 20)) ]; do
		screen 2>/dev/null | grep -qE -- "$re" || return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# wait_change FILE [SECONDS]: polls until the screen differs from FILE.
wait_change() {
	local t=${2:-10} i=0
	while [ $i -lt $((t * 20)) ]; do
		screen 2>/dev/null | cmp -s - "$1" || return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

keys() { tm send-keys -t c "$@"; }
text() { tm send-keys -t c -l -- "$1"; }

# console_pid: the console running under the pane's shell.
console_pid() {
	local sh; sh=$(tm display-message -p -t c '#{pane_pid}')
	pgrep -P "$sh" -x referd-console | head -1
}

# wait_exit [SECONDS]: waits for the pane's shell to record the exit status.
wait_exit() {
	local t=${1:-10} i=0
	while [ $i -lt $((t * 20)) ]; do
		[ -s "$T/stty.after" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# select_row ERE: moves the selection ("> " in the first column) to the
# first list row matching ERE (after the two-column marker).
select_row() {
	local re=$1 i cur target
	for i in 1 2 3; do
		screen >"$T/scr"
		target=$(grep -nE -- "^[> ] $re" "$T/scr" | head -1 | cut -d: -f1)
		cur=$(grep -n '^> ' "$T/scr" | head -1 | cut -d: -f1)
		[ -n "$target" ] && [ -n "$cur" ] || return 1
		[ "$target" = "$cur" ] && return 0
		if [ "$target" -gt "$cur" ]; then
			keys -N $((target - cur)) j
		else
			keys -N $((cur - target)) k
		fi
		wait_screen "^> $re" 5 && return 0
	done
	return 1
}

# The list rows of the screen, without the selection marker.
list_rows() { screen | sed -n '4,$p' | grep -E '^[> ] ' | sed 's/^> /  /'; }

# quit_console: "q", then the exit status and the terminal settings.
quit_console() {
	keys q
	wait_exit 10
	ok $? "q exits"
	is "exit status after q" "$(cat "$T/rc" 2>/dev/null)" 0
	is "stty settings unchanged after q" "$(cat "$T/stty.after" 2>/dev/null)" \
	    "$(cat "$T/stty.before" 2>/dev/null)"
}
