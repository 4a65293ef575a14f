# tests/fault/lib.sh: shared by the fault tests (tests/fault/NN_*.sh).
# Sourced, not run.  Each test works on the running stack ($REFERD_VAR,
# $REFERD_PORT) through nginx, with users of its own (ids UBASE and up, a
# random block), breaks something while load runs, and ends with
# fault_audit (tests/fault/audit.py) over the database, its receiver's log
# and every answer its clients got.
#
# For its duration a test stops the stack's dispatcher and runs its own
# (a copy of referd.conf: short backoff, lease and timeout) posting to its
# own fault-injecting receiver on $REFERD_PORT+5 (tests/receiver/
# receiver.py, --faults RECV_FAULTS); on exit it stops them and puts the
# stack back as it found it: MariaDB up, innodb_lock_wait_timeout, the
# stack's dispatcher running.
#
# Helpers come from the end-to-end suites: tests/e2e/lib/api.sh (TAP lines,
# curl requests, signing, ev_json, fcgi_pids) and tests/e2e/dispatch_lib.sh
# (receivers, dispatcher daemons, config copies, process cleanup).
# FAULT_FIGURES names a file to which tests append "name value" figures
# (tests/e2e/fault.sh adds them up).

FAULT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$FAULT_DIR/../e2e/lib/api.sh"
API_T=$T
. "$FAULT_DIR/../e2e/dispatch_lib.sh"
rm -rf "$API_T"
set +u

# dispatch_lib.sh's sql() works on a scratch database; ours is the stack's.
sql() { mysql_client -N -B referd -e "$1"; }

FIGURES=${FAULT_FIGURES:-$T/figures}
LOAD=$FAULT_DIR/load.py
RESULTS=$T/results.jsonl
RECV_LOG=$T/recv-$P5.log
RECV_FAULTS=${RECV_FAULTS:-500:0.08,503:0.08,429:0.05,hang:0.04,reset:0.05}
STACK_DISPATCH=0
LOCK_WAIT0=
DPID=

# figure NAME N: adds N to a figure of the suite.
figure() { echo "$1 ${2:-1}" >>"$FIGURES"; }

# load ARGS...: tests/fault/load.py against nginx, results in $RESULTS.
load() {
	local cmd=$1; shift
	"$PY" "$LOAD" "$cmd" --base "$BASE_URL" --conf "$CONF" --out "$RESULTS" "$@"
}

# ev BODY [ID [TS [SIG]]]: api.sh's event() (one curl request), its
# answer kept in $RESULTS for the audit.
ev() {
	event "$@"
	local id=${2:-$(printf '%s' "$1" | jq -r .id)}
	jq -nc --arg id "$id" --argjson st "${ST:-0}" --arg b "$BODY" \
	    --arg sha "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)" \
	    --argjson t "$(date +%s.%N)" \
	    '{kind: "event", key: $id, status: $st, sha256: $sha, t: $t,
	      phase: "load", body: ($b | fromjson? // $b)}' >>"$RESULTS"
}

# statuses [FILTER]: "status:count ..." of the results (jq select filter
# on a result line, e.g. '.phase == "load"').
statuses() {
	jq -r "select(${1:-true}) | if .status == 0 then \"conn:\" + .err else (.status | tostring) end" \
	    "$RESULTS" 2>/dev/null | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'
}

# The stack's dispatcher is stopped for the test and started again at
# the end; ours posts to our receiver.
dispatch_conf() {
	DCONF=$(conf fault "dispatch_pid_file =" "dispatch_log_file = $T/dispatch.log" \
	    "metrics_dir = $T/metrics" "dispatch_backoff_ms = 100" \
	    "dispatch_backoff_max_ms = 2000" \
	    "dispatch_timeout_ms = 1000" "dispatch_lease_seconds = 1" \
	    "dispatch_poll_ms = 20" "$@")
	mkdir -p "$T/metrics"
}

# dispatcher_start: one dispatcher of ours in the background ($DPID).
dispatcher_start() {
	daemon "$DCONF" dispatch
	DPID=$LASTPID
}

# fault_begin [RECEIVER OPTIONS]: receiver and dispatcher of the test.
fault_begin() {
	mysql_client -e 'SELECT 1' >/dev/null 2>&1 || { echo "Bail out! MariaDB of $VAR is down"; exit 1; }
	LOCK_WAIT0=$(mysql_client -N -B -e 'SELECT @@GLOBAL.innodb_lock_wait_timeout')
	if pid_alive "$RUN/referd-dispatch.pid"; then
		STACK_DISPATCH=1
		stop_pidfile "$RUN/referd-dispatch.pid" 20
	fi
	RSEED=${RSEED:-$RANDOM}
	recv_start "$P5" --faults "$RECV_FAULTS" --hang-seconds 1.5 --seed "$RSEED" "$@"
	echo "# receiver faults $RECV_FAULTS (seed $RSEED), users from $UBASE"
	dispatch_conf
	dispatcher_start
	trap fault_end EXIT
}

# Puts the stack back, then dispatch_lib.sh's finish (our processes, logs
# of a failed run kept under $VAR/log/<test>).
fault_end() {
	if ! mysql_client -e 'SELECT 1' >/dev/null 2>&1; then
		start_mariadb </dev/null >/dev/null 2>&1 || echo "# could not restart MariaDB"
	fi
	[ -n "$LOCK_WAIT0" ] && mysql_client -e "SET GLOBAL innodb_lock_wait_timeout = $LOCK_WAIT0" 2>/dev/null
	finish
	if [ "$STACK_DISPATCH" = 1 ] && ! pid_alive "$RUN/referd-dispatch.pid"; then
		"$BUILD/referd-dispatch" -c "$CONF" </dev/null >/dev/null 2>&1 ||
		    echo "# could not restart the stack's dispatcher"
	fi
}

# My referrals' outbox rows not yet delivered or dead.
unsettled() {
	sql "SELECT COUNT(*) FROM outbox o JOIN referral_rewards w ON w.id = o.reward_id
	    JOIN referrals r ON r.id = w.referral_id
	    WHERE r.referee_id BETWEEN $UBASE AND $((UBASE + 99999))
	    AND o.status IN ('pending', 'inflight')"
}

# settle SECONDS: until every reward message of the test is delivered.
settle() {
	local t0=$SECONDS
	wait_for "[ \"\$(unsettled)\" = 0 ]" "$1"
	ok $? "every reward message settled ($((SECONDS - t0)) s)" "$(unsettled) rows pending"
}

# fault_audit: the checks of audit.py as TAP lines, and the figures.
fault_audit() {
	local line st what detail
	settle "${1:-60}"
	"$PY" "$FAULT_DIR/audit.py" --sock "$SOCK" --ubase "$UBASE" \
	    --results "$RESULTS" --recv "$RECV_LOG" --figures "$FIGURES" >"$T/audit.out" 2>&1
	while IFS=$'\t' read -r st what detail; do
		case $st in
		ok) ok 0 "audit: $what ($detail)" ;;
		"not ok") ok 1 "audit: $what" "$detail" ;;
		figures) echo "# $what" ;;
		*) ok 1 "audit: $st $what" "$detail" ;;
		esac
	done <"$T/audit.out"
	[ -s "$T/audit.out" ] || ok 1 "audit ran" "no output"
	figure events_tried "$(grep -c '"kind":"event"' "$RESULTS" 2>/dev/null || echo 0)"
	local s; s=$(recv_stat "$P5" faults 2>/dev/null)
	echo "# receiver faults injected: $s"
	printf '%s' "$s" | "$PY" -c 'import ast, sys
for k, v in ast.literal_eval(sys.stdin.read() or "{}").items(): print("fault_receiver_" + k, v)' \
	    >>"$FIGURES" 2>/dev/null
}

# A second connection that holds locks: the mariadb client as root on the
# stack's socket, reading statements from a FIFO (--force: an error does
# not end the session).  lk_open NAME; lk NAME SQL; lk_sync NAME [S]
# (until what was sent has run); lk_close NAME.
lk_open() {
	rm -f "$T/lk-$1.in"
	mkfifo "$T/lk-$1.in"
	mysql_client --force -n -N -B referd <"$T/lk-$1.in" >"$T/lk-$1.out" 2>&1 &
	MYPIDS+=($!)
	eval "LKPID_$1=$!"
	eval "exec {LK_$1}>\"\$T/lk-\$1.in\""
	# As referd's sessions: no gap locks.
	lk "$1" "SET SESSION tx_isolation = 'READ-COMMITTED';"
}
lk() { local fd; eval "fd=\$LK_$1"; printf '%s\n' "$2" >&"$fd"; }
lk_sync() {
	local m="sync-$RANDOM$RANDOM"
	lk "$1" "SELECT '$m';"
	wait_for "grep -q '^$m\$' '$T/lk-$1.out'" "${2:-30}"
}
lk_close() {
	local fd pid; eval "fd=\$LK_$1 pid=\$LKPID_$1"
	eval "exec $fd>&-"
	wait_for "! alive $pid" 10
}
# gstatus NAME: a global status counter of MariaDB.
gstatus() { mysql_client -N -B -e "SHOW GLOBAL STATUS LIKE '$1'" | cut -f2; }

# The FastCGI supervisor's pid and its log.
FCGI_LOG=$(conf_get log_file)
fcgi_sup() { cat "$RUN/referd-fcgi.pid"; }
