#!/usr/bin/env bash
# tests/e2e/metrics_files.sh: the files of metrics_dir are never reached
# through a symbolic link planted there (issue 10 item 7):
#   - referd-dispatch writes dispatch.prom as a new file renamed into
#     place: a link at that name is replaced, its target unchanged; the
#     file is a plain one of mode 0644 owned by the dispatcher's user;
#   - referd-fcgi refuses a link at metrics_dir/fcgi.shm (names it and
#     leaves the target unchanged), and makes a plain file of mode 0640;
#   - /metrics does not publish what a linked *.prom points at.
. "$(dirname "$0")/lib/api.sh"

BUILD=${REFERD_BUILD:-$top/build}
mkdir -p "$T/metrics" "$T/fm"
printf 'precious\n' >"$T/target"
cp "$T/target" "$T/target.orig"
base() {	# base FILE: the stack's config with our own files
	sed -e "s|^metrics_dir *=.*|metrics_dir = $2|" \
	    -e "s|^dispatch_pid_file *=.*|dispatch_pid_file = $T/d.pid|" \
	    -e "s|^dispatch_log_file *=.*|dispatch_log_file = $T/d.log|" \
	    -e "s|^pid_file *=.*|pid_file = $T/f.pid|" \
	    -e "s|^log_file *=.*|log_file = $T/f.log|" \
	    -e "s|^listen *=.*|listen = $T/f.sock|" "$CONF" >"$1"
	chmod 600 "$1"
}

# --- the dispatcher ---------------------------------------------------------------
base "$T/d.conf" "$T/metrics"
ln -s "$T/target" "$T/metrics/dispatch.prom"
"$BUILD/referd-dispatch" -c "$T/d.conf" --once >"$T/d.out" 2>&1
is "referd-dispatch --once with a link at dispatch.prom: exit 0" "$?" 0
check "the link's target is unchanged" cmp "$T/target" "$T/target.orig"
ok $([ -f "$T/metrics/dispatch.prom" ] && [ ! -L "$T/metrics/dispatch.prom" ]; echo $?) \
    "dispatch.prom is now a plain file"
is "mode 0644, owned by the dispatcher's user" \
    "$(stat -c '%a %u' "$T/metrics/dispatch.prom")" "644 $(id -u)"
like "it holds the dispatcher's metrics" "$(cat "$T/metrics/dispatch.prom")" 'referd_dispatch_db_up 1'
is "no temporary file left" "$(ls "$T/metrics" | grep -c tmp)" 0

# --- referd-fcgi's counters file ---------------------------------------------------
base "$T/f.conf" "$T/fm"
ln -s "$T/target" "$T/fm/fcgi.shm"
timeout 20 "$BUILD/referd-fcgi" -c "$T/f.conf" -f >"$T/f.out" 2>&1 &
FPID=$!
wait_for "! kill -0 $FPID" 10
ok $(kill -0 $FPID 2>/dev/null; [ $? != 0 ]; echo $?) "referd-fcgi with a link at fcgi.shm does not start"
like "and says why" "$(cat "$T/f.out" "$T/f.log" 2>/dev/null)" 'fcgi\.shm: .*(symbolic link|Too many levels)'
check "the link's target is unchanged" cmp "$T/target" "$T/target.orig"
rm "$T/fm/fcgi.shm"
ln "$T/target" "$T/fm/fcgi.shm"	# a hard link: two names
timeout 20 "$BUILD/referd-fcgi" -c "$T/f.conf" -f >"$T/f2.out" 2>&1 &
FPID=$!
wait_for "! kill -0 $FPID" 10
like "a file with two names is refused too" "$(cat "$T/f2.out" "$T/f.log" 2>/dev/null)" 'fcgi\.shm: not a plain file with one name'
check "its other name is unchanged" cmp "$T/target" "$T/target.orig"
rm "$T/fm/fcgi.shm"
timeout 20 "$BUILD/referd-fcgi" -c "$T/f.conf" -f >"$T/f3.out" 2>&1 &
FPID=$!
wait_for "[ -S $T/f.sock ]" 10
is "without them it starts: fcgi.shm a plain file of mode 0640" \
    "$(stat -c '%F %a %u' "$T/fm/fcgi.shm" 2>/dev/null)" "regular file 640 $(id -u)"
kill -TERM $FPID 2>/dev/null; wait $FPID 2>/dev/null

# --- /metrics and a linked *.prom ----------------------------------------------------
MD=$(conf_get metrics_dir)
printf 'leaked_secret_marker 1\n' >"$T/leak"
chmod 644 "$T/leak"
ln -s "$T/leak" "$MD/zz_leak.prom"
req GET /metrics
rm -f "$MD/zz_leak.prom"
is "/metrics: 200" "$ST" 200
is "a linked .prom is not published" "$(printf '%s' "$BODY" | grep -c leaked_secret_marker)" 0
like "the dispatcher's file is" "$BODY" 'referd_dispatch_'
finish
