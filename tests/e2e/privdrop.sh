#!/usr/bin/env bash
# tests/e2e/privdrop.sh: referd-fcgi started as root with "user" set binds
# its socket, opens its log and pid file, then runs as that user
# (slowcgi's order): the supervisor and every worker have that uid (real,
# effective and saved), cannot dump core, and still answer over the socket
# they inherited (GET /healthz through a FastCGI client, the database
# reached as that user).  Started as root without "user" (and outside the
# dev stack) it refuses.  As a user other than root there is nothing to
# drop: it checks that the daemon keeps the invoking uid.
. "$(dirname "$0")/lib/api.sh"

D=$(mktemp -d "${TMPDIR:-/tmp}/privdrop.XXXXXX")
trap 'stop_pidfile "$D/drop.pid" 10; rm -rf "$D" "$T"' EXIT
RUNAS=www-data
[ "$(id -u)" = 0 ] || RUNAS=$(id -un)
(umask 077; sed -e "s|^listen *=.*|listen = $D/drop.sock|" \
    -e "s|^pid_file *=.*|pid_file = $D/drop.pid|" \
    -e "s|^log_file *=.*|log_file = $D/drop.log|" \
    -e "s|^metrics_dir *=.*|metrics_dir = $D/metrics|" \
    -e "s|^workers *=.*|workers = 2|" "$CONF" >"$D/drop.conf"
 [ "$(id -u)" = 0 ] && echo "user = $RUNAS" >>"$D/drop.conf")
mkdir -p "$D/metrics"

env -u REFERD_DEV_ROOT "$BUILD/referd-fcgi" -c "$D/drop.conf" >"$D/start.out" 2>&1
ok $? "referd-fcgi starts with user = $RUNAS" "$(cat "$D/start.out"; tail -5 "$D/drop.log")"
wait_for "[ -S '$D/drop.sock' ] && [ \$(pgrep -P \$(cat '$D/drop.pid') | wc -l) = 2 ]" 20
SUP=$(cat "$D/drop.pid" 2>/dev/null)
uids() { sed -n 's/^Uid:[[:space:]]*//p' "/proc/$1/status" | tr -s '\t ' ' '; }
U=$(id -u "$RUNAS")
is "the supervisor runs as $RUNAS (real, effective, saved, fs)" "$(uids "${SUP:-1}")" "$U $U $U $U"
for w in $(pgrep -P "${SUP:-1}"); do
	is "worker $w runs as $RUNAS" "$(uids "$w")" "$U $U $U $U"
done
is "no core dumps (RLIMIT_CORE 0)" "$(sed -n 's/^Max core file size *\([^ ]*\).*/\1/p' "/proc/${SUP:-1}/limits")" 0
if [ "$(id -u)" = 0 ]; then
	is "not dumpable (no ptrace or core by the user it runs as)" \
	    "$(stat -c %U "/proc/${SUP:-1}/mem" 2>/dev/null)" root
fi

# One FastCGI request on the socket, as a web server would send it.
"$PY" - "$D/drop.sock" >"$D/resp" 2>&1 <<'PY'
import socket, struct, sys
def rec(t, body, rid=1):
    return struct.pack(">BBHHBx", 1, t, rid, len(body), 0) + body
def nv(k, v):
    k, v = k.encode(), v.encode()
    return bytes([len(k), len(v)]) + k + v
params = b"".join(nv(k, v) for k, v in [
    ("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/healthz"),
    ("SCRIPT_NAME", "/healthz"), ("QUERY_STRING", ""),
    ("REMOTE_ADDR", "127.0.0.1"), ("SERVER_PROTOCOL", "HTTP/1.1"),
    ("CONTENT_LENGTH", "0")])
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(rec(1, struct.pack(">HB5x", 1, 0)) + rec(4, params) + rec(4, b"") + rec(5, b""))
out = b""; buf = b""
while True:
    d = s.recv(65536)
    if not d: break
    buf += d
    while len(buf) >= 8:
        _, t, _, n, p = struct.unpack(">BBHHB", buf[:7])
        if len(buf) < 8 + n + p: break
        if t == 6: out += buf[8:8 + n]
        if t == 3: sys.stdout.write(out.decode()); sys.exit(0)
        buf = buf[8 + n + p:]
sys.stdout.write(out.decode())
PY
like "GET /healthz over the inherited socket: 200 (the database reached as $RUNAS)" \
    "$(tr -d '\r' <"$D/resp" | tr '\n' ' ')" '^Status: 200.*"status": ?"ok"'
stop_pidfile "$D/drop.pid" 10

if [ "$(id -u)" = 0 ]; then
	sed -i '/^user =/d' "$D/drop.conf"
	env -u REFERD_DEV_ROOT "$BUILD/referd-fcgi" -c "$D/drop.conf" >"$D/root.out" 2>&1
	like "as root without user, outside the dev stack: refused (78)" \
	    "$?|$(tr '\n' ' ' <"$D/root.out")" '^78\|.*started as root without "user"'
fi
finish
