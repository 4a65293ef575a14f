#!/usr/bin/env bash
# tests/e2e/console_terminal.sh: the console as a terminal program, driven
# through tmux: every screen at 80x24, resizes to 80x24 and 200x60 redraw
# cleanly, Tab and 1-4 switch, the help fits, colour and monochrome, "q",
# Ctrl-C, SIGTERM and a crash (SIGSEGV) all leave the terminal as it was,
# and a lost database shows a message and reconnects instead of exiting.
. "$(dirname "$0")/console_lib.sh"
# Copies of referd.conf must not be readable by others (or every binary
# refuses them).
umask 077

BASE=$(fresh_base 2)
seed "$BASE" -s
ok $? "seed (base $BASE)"
make_dead "${REF[1.dead]}" >/dev/null

# layout COLS LINES: the frame fills exactly the window: tabs on the first
# line, status on the last, column headings on the third, every list line
# a row, a marker or blank, nothing left over from an earlier size.
layout() {
	local w=$1 h=$2 f=$T/layout n bad
	tm capture-pane -p -N -t c >"$f"
	n=$(wc -l <"$f")
	[ "$n" = "$h" ] || { echo "lines: $n, want $h"; return 1; }
	bad=$(awk -v w="$w" 'length($0) > w { print NR ": " length($0) }' "$f")
	[ -z "$bad" ] || { echo "too wide: $bad"; return 1; }
	sed -n 1p "$f" | grep -qE '^ referd  1 Referrers  2 Fraud  3 Outbox  4 Audit ' ||
	    { echo "no tab line: $(sed -n 1p "$f")"; return 1; }
	[ "$w" -lt 78 ] || sed -n 1p "$f" | grep -qE '\?:help q:quit $' ||
	    { echo "tab line not right-aligned"; return 1; }
	sed -n "${h}p" "$f" | grep -qE '^ db: ok \| refreshed [0-9:]+Z' ||
	    { echo "no status line: $(sed -n "${h}p" "$f")"; return 1; }
	sed -n 3p "$f" | grep -qE '^ +(#|ID|REF|WHEN) ' ||
	    { echo "no column headings: $(sed -n 3p "$f")"; return 1; }
	# List lines: "> row", "  row", "  (nothing here)" or blank; after
	# the first blank one, only blanks.
	bad=$(sed -n "4,$((h - 2))p" "$f" | awk '
	    /^ *$/ { blank = 1; next }
	    blank || !/^[> ] +[^ ]/ { print NR + 3 ": " $0 }')
	[ -z "$bad" ] || { echo "garbage: $bad"; return 1; }
	return 0
}

# resize COLS LINES: within 1.5 s, less than a refresh interval, so the
# redraw comes from KEY_RESIZE and not from the next reload.
resize() {
	tm resize-window -t c -x "$1" -y "$2"
	local i=0
	while [ $i -lt 30 ]; do
		[ "$(tm display-message -p -t c '#{pane_width}x#{pane_height}')" = "$1x$2" ] &&
		    layout "$1" "$2" >/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

start_console 120 40
ok $? "console starts at 120x40"
out=$(layout 120 40); ok $? "120x40 layout" "$out"

resize 80 24
out=$(layout 80 24); ok $? "resized to 80x24: redrawn without garbage" "$out"
resize 200 60
out=$(layout 200 60); ok $? "resized to 200x60: redrawn without garbage" "$out"
screen | grep -qE "^[> ] +[0-9]+ ${RUSER[1]} "
ok $? "200x60 shows more rows (the seeded referrer is on screen)"
resize 80 24
out=$(layout 80 24); ok $? "back to 80x24 from 200x60: no leftovers" "$out"

# Every screen at 80x24, by number and by Tab; CONSOLE_CAPTURES keeps them.
shot() {
	[ -n "${CONSOLE_CAPTURES:-}" ] || return 0
	mkdir -p "$CONSOLE_CAPTURES" && screen >"$CONSOLE_CAPTURES/$1.txt"
}
at80() {	# at80 KEY TITLE-ERE NAME
	keys "$1"
	wait_screen "^$2" 10
	out=$(layout 80 24); ok $? "screen $1 at 80x24" "$out"
	shot "$3"
}
at80 1 'Top referrers by conversions' referrers
at80 2 '[0-9]+ held for review' fraud
at80 3 'backlog [0-9]+' outbox
at80 4 'Manual actions' audit
keys 1
wait_screen '^Top referrers' 10
for want in '[0-9]+ held for review' 'backlog' 'Manual actions' 'Top referrers'; do
	keys Tab
	wait_screen "^$want" 10
	ok $? "Tab moves on to: $want"
done
keys BTab
wait_screen '^Manual actions' 10
ok $? "Shift-Tab goes back"
keys 1 /
wait_screen 'Find referrer' 5
text "${RUSER[1]}"
keys Enter
wait_screen "Search \"${RUSER[1]}\"" 10
keys Enter
wait_screen "^Referrals of ${RUSER[1]}" 10
out=$(layout 80 24); ok $? "referrals screen at 80x24" "$out"
shot referrals
keys '?'
wait_screen 'referd-console keys' 5
ok $? "? shows the help"
screen | grep -q 'any key closes this help'
ok $? "the help fits in 80x24"
missing=
for k in 'Tab' '1 2 3 4' '/' 'Enter' 'Esc' 'a' 'v' 'f' 'r' 'q' '?'; do
	screen | grep -qE "  $(printf '%s' "$k" | sed 's/[?/]/\\&/g') +[a-zA-Z]" ||
	    missing="$missing '$k'"
done
is "the help lists every key" "$missing" ""
shot help
keys Escape
wait_gone 'referd-console keys' 5
ok $? "a key closes the help"
keys Escape
wait_screen "^Search \"${RUSER[1]}\"" 10
ok $? "Esc goes back from the referrals"

# j/k and PgDn/PgUp move the selection.
keys Escape
wait_screen '^Top referrers' 10
keys j
wait_screen '^>   2 ' 5; ok $? "j moves down"
keys k
wait_screen '^>   1 ' 5; ok $? "k moves up"
keys Down Down Up
wait_screen '^>   2 ' 5; ok $? "arrow keys move"
keys Home
wait_screen '^>   1 ' 5; ok $? "Home goes to the first row"

# Colour: selected row and tabs carry colour attributes.
tm capture-pane -p -e -t c | grep -qE $'\e\\[[0-9;]*3[0-7]m|\e\\[[0-9;]*4[0-7]m'
ok $? "colours in a colour terminal"
quit_console

# Ctrl-C, SIGTERM and a crash restore the terminal.
start_console 80 24
keys C-c
wait_exit 10; ok $? "Ctrl-C exits"
is "Ctrl-C: exit status 130" "$(cat "$T/rc")" 130
is "Ctrl-C: stty unchanged" "$(cat "$T/stty.after")" "$(cat "$T/stty.before")"

start_console 80 24
pid=$(console_pid)
[ -n "$pid" ] && kill -TERM "$pid"
wait_exit 10; ok $? "SIGTERM exits"
is "SIGTERM: exit status 143" "$(cat "$T/rc")" 143
is "SIGTERM: stty unchanged" "$(cat "$T/stty.after")" "$(cat "$T/stty.before")"
wait_gone ' db: ' 5
ok $? "SIGTERM: the console's screen is gone (alternate screen left)"

start_console 80 24
pid=$(console_pid)
[ -n "$pid" ] && kill -SEGV "$pid"
wait_exit 10; ok $? "SIGSEGV (a crash) ends it"
is "crash: dies of SIGSEGV" "$(cat "$T/rc")" 139
is "crash: stty unchanged" "$(cat "$T/stty.after")" "$(cat "$T/stty.before")"

# Monochrome: a terminal without colours gets attributes only.
start_console 80 24 "$CONF" vt100
ok $? "console starts in a vt100 (no colours)"
out=$(layout 80 24); ok $? "vt100 layout" "$out"
tm capture-pane -p -e -t c | grep -qE $'\e\\[[0-9;]*3[0-7]m'
ok $((1 - $?)) "no colours in a monochrome terminal"
tm capture-pane -p -e -t c | grep -qE $'\e\\[[0-9;]*7m'
ok $? "the selection is shown in reverse video instead"
quit_console

# A lost database: a config of its own whose socket is a symlink we can
# take away, and a database user of its own whose connections we can kill.
DBU=console_e2e_$$
DBP=$(rand_token 12)
sql "CREATE USER '$DBU'@'localhost' IDENTIFIED BY '$DBP';
    GRANT ALL PRIVILEGES ON referd.* TO '$DBU'@'localhost'"
ok $? "database user $DBU"
drop_user() { sql "DROP USER IF EXISTS '$DBU'@'localhost'" >/dev/null 2>&1; }
trap 'drop_user; cleanup' EXIT
sed -e "s|^db_socket *=.*|db_socket = $T/db.sock|" \
    -e "s|^db_user *=.*|db_user = $DBU|" \
    -e "s|^db_password *=.*|db_password = $DBP|" \
    -e "s|^console_refresh_ms *=.*|console_refresh_ms = 500|" "$CONF" >"$T/lost.conf"
grep -q '^console_refresh_ms' "$T/lost.conf" ||
    echo 'console_refresh_ms = 500' >>"$T/lost.conf"
start_console 80 24 "$T/lost.conf"
wait_screen '^ db: UNAVAILABLE, reconnecting' 10
ok $? "no database at start: the status line says so"
screen | grep -q 'database unavailable'
ok $? "and the list says why it is empty"
[ -n "$(console_pid)" ]
ok $? "the console keeps running"
ln -s "$SOCK" "$T/db.sock"
wait_screen '^ db: ok ' 10
ok $? "the database appears: reconnected"
wait_screen '^[> ] +[0-9]+ ' 10
ok $? "rows are back"
rm -f "$T/db.sock"
for id in $(sql "SELECT id FROM information_schema.processlist WHERE user = '$DBU'"); do
	sql "KILL CONNECTION $id" 2>/dev/null
done
wait_screen '^ db: UNAVAILABLE, reconnecting' 10
ok $? "connection killed and socket gone: the status line says so"
[ -n "$(console_pid)" ]
ok $? "the console keeps running"
ln -s "$SOCK" "$T/db.sock"
wait_screen '^ db: ok ' 10
ok $? "reconnected again"
killed=$(sql "SELECT id FROM information_schema.processlist WHERE user = '$DBU'")
for id in $killed; do
	sql "KILL CONNECTION $id" 2>/dev/null
done
[ -n "$killed" ]; ok $? "killed the console's connection ($killed)"
i=0 new=
while [ $i -lt 100 ] && [ -z "$new" ]; do
	new=$(sql "SELECT id FROM information_schema.processlist
	    WHERE user = '$DBU' AND id NOT IN (${killed:-0})")
	sleep 0.1
	i=$((i + 1))
done
[ -n "$new" ]; ok $? "a killed connection with the database up: reconnects ($new)"
screen | grep -q '^ db: ok '
ok $? "and the status line stays ok"
quit_console

finish
