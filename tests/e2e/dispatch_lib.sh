# tests/e2e/dispatch_lib.sh: shared by the tests/e2e/dispatch_*.sh suites
# (sourced; not executable, so etc/dev/test does not run it as a suite).
#
# Each suite works on the running stack ($REFERD_VAR/referd.conf and its
# MariaDB) but in a scratch database of its own (referd_t_<suite>), so
# that its fault receivers and dispatchers never touch another suite's
# rows and its counts are exact.  Rewards are made with tests/referd-seed
# through the data layer (db_signup, db_event_apply, ...), the same calls
# as the API.  Receivers (tests/receiver/receiver.py) listen on
# $REFERD_PORT+5 .. +7; dispatchers run with copies of the config.

. "$(dirname "${BASH_SOURCE[0]}")/../../etc/dev/lib.sh"
set +e
set -u -o pipefail

SUITE=$(basename "$0" .sh)
SEED=$BUILD/tests/referd-seed
DISPATCH=$BUILD/referd-dispatch
RECEIVER=$top/tests/receiver/receiver.py
TDB=referd_t_${SUITE#dispatch_}
P5=$((PORT + 5)) P6=$((PORT + 6)) P7=$((PORT + 7))

[ -f "$CONF" ] || die "no $CONF: start the stack first (etc/dev/up)"
[ -x "$SEED" ] && [ -x "$DISPATCH" ] || die "build first: no $SEED or $DISPATCH"
mysql_client -e 'SELECT 1' >/dev/null 2>&1 || die "MariaDB of $VAR is not running"

T=$(mktemp -d "${TMPDIR:-/tmp}/referd-$SUITE.XXXXXX")
MYPIDS=()
. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

# Whether process $1 runs (a zombie child that was not waited for does
# not count).
alive() {
	[ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# Stops what this suite started (by pid), keeps the logs of a failed run
# in $VAR/log/$SUITE, drops the scratch database.
finish() {
	local p
	for p in "${MYPIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${MYPIDS[@]}"; do
		wait_for "! alive $p" 5 || kill -9 "$p" 2>/dev/null
	done
	if [ "$FAILED" -gt 0 ]; then
		rm -rf "$VAR/log/$SUITE"
		mkdir -p "$VAR/log/$SUITE"
		cp -r "$T"/. "$VAR/log/$SUITE/" 2>/dev/null
		echo "# logs kept in $VAR/log/$SUITE"
	fi
	mysql_client -e "DROP DATABASE IF EXISTS $TDB" >/dev/null 2>&1
	rm -rf "$T"
}

sql() { mysql_client -N -B "$TDB" -e "$1"; }
sql_stack() { mysql_client -N -B referd -e "$1"; }

# Creates the scratch database and $T/base.conf: the stack's config with
# db_name, log, metrics and pid file pointed at the suite's own.
scratch_db() {
	mysql_client <<SQL || die "cannot create $TDB"
DROP DATABASE IF EXISTS $TDB;
CREATE DATABASE $TDB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON $TDB.* TO 'referd'@'localhost';
SQL
	write_conf_to "$T/base.conf" \
	    "db_name = $TDB" \
	    "dispatch_log_file = $T/dispatch.log" \
	    "dispatch_pid_file =" \
	    "metrics_dir = $T/metrics"
	"$BUILD/referd-migrate" -q -c "$T/base.conf" -d "$top/sql/migrations" ||
	    die "migration of $TDB failed"
}

# write_conf_to FILE "key = value"...: $T/base.conf (or the stack's
# config while there is none) with those keys replaced.
write_conf_to() {
	local out=$1 src=$T/base.conf kv keys=""
	shift
	[ -f "$src" ] || src=$CONF
	for kv in "$@"; do keys="$keys|${kv%%[ =]*}"; done
	grep -v -E "^(${keys#|})[[:space:]]*=" "$src" >"$out.tmp"
	printf '%s\n' "$@" >>"$out.tmp"
	chmod 600 "$out.tmp"	# others may not read it (every binary checks)
	mv "$out.tmp" "$out"
}

# conf NAME "key = value"...: $T/NAME.conf, every reward URL at the
# receiver of port $RPORT (default P5) unless given.
conf() {
	local name=$1; shift
	write_conf_to "$T/$name.conf" \
	    "reward_url_credit = http://127.0.0.1:${RPORT:-$P5}/rewards" \
	    "reward_url_coupon = http://127.0.0.1:${RPORT:-$P5}/rewards" \
	    "reward_url_points = http://127.0.0.1:${RPORT:-$P5}/rewards" \
	    "$@"
	echo "$T/$name.conf"
}

# recv_start PORT [receiver options]: a receiver logging to
# $T/recv-PORT.log, verifying the outbound secret.
recv_start() {
	local port=$1; shift
	python3 "$RECEIVER" --mode test --listen "127.0.0.1:$port" \
	    --secret-file "$CONF" --log "$T/recv-$port.log" "$@" \
	    >>"$T/recv-$port.out" 2>&1 </dev/null &
	MYPIDS+=($!)
	eval "RECV_$port=$!"
	wait_for "curl -fsS http://127.0.0.1:$port/_health" 10 ||
	    die "receiver on port $port did not start"
}

recv_stop() {
	local pid; eval "pid=\${RECV_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# recv_ctl PORT JSON: change faults at run time.
recv_ctl() {
	curl -fsS -X POST -H 'Content-Type: application/json' -d "$2" \
	    "http://127.0.0.1:$1/_control" >/dev/null ||
	    die "receiver control on $1 failed"
}

# recv_stat PORT FIELD: one counter of /_stats.
recv_stat() {
	curl -fsS "http://127.0.0.1:$1/_stats" |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# once CONF: one "referd-dispatch --once" run; a failure (a crash, a
# sanitizer report) fails the suite.
once() {
	"$DISPATCH" -c "$1" --once >"$T/once.last" 2>&1
	local rc=$?
	cat "$T/once.last" >>"$T/once.out"
	[ $rc = 0 ] || ok $rc "referd-dispatch --once exited $rc" \
	    "$(tail -c 400 "$T/once.last" | tr '\n' ' ')"
	return $rc
}

# drain CONF SECONDS: --once runs until no row is pending or in flight.
drain() {
	local c=$1 end=$((SECONDS + $2)) left
	while :; do
		once "$c"
		left=$(sql "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'inflight')")
		[ "$left" = 0 ] && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# wait_delivered SECONDS: until every row of the scratch outbox is
# delivered or dead (with daemons running).
wait_settled() {
	wait_for "[ \"\$(sql \"SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'inflight')\")\" = 0 ]" "$1"
}

# daemon CONF [NAME]: a foreground dispatcher in the background; its pid
# in $LASTPID.  Its log is dispatch_log_file of CONF.
daemon() {
	"$DISPATCH" -c "$1" -f >>"$T/${2:-daemon}.out" 2>&1 </dev/null &
	LASTPID=$!
	MYPIDS+=($LASTPID)
}

# stop_daemon PID SECONDS: TERM; ok if it exits 0 within SECONDS.
stop_daemon() {
	local pid=$1 t=${2:-15}
	kill -TERM "$pid" 2>/dev/null
	if ! wait_for "! alive $pid" "$t"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid"
}

# audit [dead IDS...]: the checks every suite ends with, over the whole
# scratch outbox, every receiver log of the suite and every dispatcher
# log: each row delivered (or dead if listed), the key the same on every
# attempt of a row (dispatcher log) and of a message (webhook-id, and the
# key matching the payload's reward at the receiver), every delivered key
# applied exactly once after dedupe and no other key applied, no request
# with a bad signature, no row in flight twice at once at a receiver; a
# cancelled grant (voided before it was delivered) is never applied, and
# no revocation reached a receiver before its grant (order_audit.py).
audit() {
	sql "SELECT id, idempotency_key, status, attempts, event, reward_id FROM outbox" >"$T/audit.rows"
	python3 - "$T" "$@" <<'PY' >"$T/audit.out" 2>&1
import glob, json, re, sys
T = sys.argv[1]
dead_ok = set(int(x) for x in sys.argv[2:])
errs = []
rows = {}
for line in open(f"{T}/audit.rows"):
    rid, key, status, attempts, event, reward = line.rstrip("\n").split("\t")
    rows[int(rid)] = (key, status, int(attempts), event, int(reward))
if not rows:
    errs.append("no outbox rows at all")
for rid, (key, status, att, event, reward) in rows.items():
    want = "dead" if rid in dead_ok else "delivered"
    if status == "cancelled" and event == "reward.issued":
        pass
    elif status != want:
        errs.append(f"row {rid} {key}: {status}, want {want}")
    prefix = "revoke-" if event == "reward.revoked" else "reward-"
    if key != f"{prefix}{reward}":
        errs.append(f"row {rid}: key {key} for {event} of reward {reward}")
# dispatcher logs: one key per row over every attempt
seen = {}
pat = re.compile(r" attempt row=(\d+) key=(\S+) ")
for f in glob.glob(f"{T}/*.log"):
    if "/recv-" in f:
        continue
    for line in open(f, errors="replace"):
        m = pat.search(line)
        if m:
            seen.setdefault(int(m.group(1)), set()).add(m.group(2))
for rid, keys in seen.items():
    if len(keys) != 1:
        errs.append(f"row {rid} sent with keys {sorted(keys)}")
    elif rid in rows and rows[rid][0] not in keys:
        errs.append(f"row {rid} sent as {keys}, stored as {rows[rid][0]}")
missing = [r for r in rows if r not in seen and rows[r][1] != "cancelled"]
if missing:
    errs.append(f"{len(missing)} rows never attempted per the logs, "
                f"e.g. {missing[:5]}")
# receivers
applied = {}
wids = {}
overlap = bad = 0
for f in glob.glob(f"{T}/recv-*.log"):
    for line in open(f, errors="replace"):
        try:
            r = json.loads(line)
        except ValueError:
            continue
        k = r.get("key")
        if r.get("kind") == "applied":
            applied[k] = applied.get(k, 0) + 1
        elif r.get("kind") == "request":
            if r.get("overlap"):
                overlap += 1
            if r.get("key_mismatch"):
                errs.append(f"key mismatch at receiver: {k}")
            if r.get("status") == 401:
                bad += 1
            if k is not None:
                wids.setdefault(k, set()).add(r.get("webhook_id"))
for k, w in wids.items():
    if w != {k}:
        errs.append(f"key {k}: webhook-ids {sorted(map(str, w))}")
keys = {v[0] for rid, v in rows.items() if v[1] == "delivered"}
for k in keys:
    if applied.get(k, 0) != 1:
        errs.append(f"{k}: applied {applied.get(k, 0)} times")
extra = set(applied) - {v[0] for v in rows.values() if v[1] != "cancelled"}
if extra:
    errs.append(f"applied keys not in the outbox: {sorted(extra)[:5]}")
if overlap:
    errs.append(f"{overlap} requests overlapped another of the same key")
if bad:
    errs.append(f"{bad} requests failed the signature check")
for e in errs[:20]:
    print(e)
print(f"{len(rows)} rows, {len(keys)} delivered, {sum(applied.values())} "
      f"applied, {len(seen)} rows in dispatcher logs")
sys.exit(1 if errs else 0)
PY
	local rc=$?
	ok $rc "audit: $(tail -1 "$T/audit.out")" "$(head -20 "$T/audit.out" | tr '\n' ';')"
	python3 "$top/tests/lib/order_audit.py" "$T"/recv-*.log >"$T/order.out" 2>&1
	ok $? "audit: per-reward order, $(head -1 "$T/order.out")" \
	    "$(tail -n +2 "$T/order.out" | tr '\n' ';')"
}

trap finish EXIT
