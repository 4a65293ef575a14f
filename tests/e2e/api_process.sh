#!/usr/bin/env bash
# tests/e2e/api_process.sh: referd-fcgi as a process.  The database stops
# under it (503s, healthz too, no crash, the same workers serve 2xx again
# when it is back); a FastCGI record with two huge parameter lengths and a
# crashing worker (at most that worker goes, it is started again);
# SIGHUP reloads the configuration without dropping a request, and keeps
# the old one if the new file is bad; SIGTERM stops it cleanly; --help,
# -t and the start-up errors.
. "$(dirname "$0")/lib/api.sh"
# Copies of referd.conf must not be readable by others (or every binary
# refuses them).
umask 077

FSOCK=$(conf_get listen)
WORKERS=$(conf_get workers)
FCGI_LOG=$(conf_get log_file)
SUP=$(cat "$RUN/referd-fcgi.pid")
cp "$CONF" "$T/conf.orig"
restore_conf() {
	if ! cmp -s "$T/conf.orig" "$CONF"; then
		cat "$T/conf.orig" >"$CONF"
		kill -HUP "$(cat "$RUN/referd-fcgi.pid")" 2>/dev/null
	fi
	pid_alive "$RUN/mariadb.pid" || start_mariadb >/dev/null 2>&1
	rm -rf "$T"
}
trap restore_conf EXIT
nworkers() { echo $(fcgi_pids) | wc -w; }
# gone BEFORE AFTER: how many pids of BEFORE are not in AFTER.
gone() { local n=0 p; for p in $1; do case " $2 " in *" $p "*) ;; *) n=$((n + 1)) ;; esac; done; echo $n; }
# sign_ev BODY ID: a signed event request, left in ST and BODY.
referrer 500; CA=$RCODE
U1=$(uid 501)
PIDS0=$(fcgi_pids)
is "$WORKERS workers running" "$(nworkers)" "$WORKERS"
# landings N: N landings on CA; prints how many set the cookie (a known
# code: each of those is a click).
landings() {
	local i n=0
	for i in $(seq "$1"); do
		req GET "/r/$CA"
		[ "$ST" = 302 ] && [ -n "$(hdr Set-Cookie)" ] && n=$((n + 1))
	done
	echo $n
}
clicks_ca() { sql "SELECT COALESCE(SUM(clicks), 0) FROM click_counts WHERE code = '$CA'"; }
# Enough landings that every worker has the code in its cache before the
# outage (with 12, one of 4 workers missed it 13% of the time and answered
# its outage landings with the cookie but no click: it could not know the
# code).
CLICKS=$(landings 40)
threads=""
for p in $PIDS0; do threads="$threads$(awk '/^Threads:/ { print $2 }' "/proc/$p/status") "; done
is "each worker runs a click flusher thread beside it" "$threads" "$(printf '2 %.0s' $PIDS0)"

# --- the database goes away -----------------------------------------------------
stop_mariadb >/dev/null 2>&1
ok "$(pid_alive "$RUN/mariadb.pid" && echo 1 || echo 0)" "MariaDB stopped"
t0=$SECONDS
req GET /healthz
is "healthz: 503 database_unavailable" "$ST/$(errcode)" "503/database_unavailable"
signup "{\"user_id\":$U1,\"code\":\"$CA\"}"
is "signup: 503" "$ST/$(errcode)" "503/database_unavailable"
api GET "/v1/users/$(uid 500)/code"
is "code get: 503" "$ST/$(errcode)" "503/database_unavailable"
api POST "/v1/users/$(uid 502)/code"
is "code mint: 503" "$ST/$(errcode)" "503/database_unavailable"
event "$(ev_json "ev-$UBASE-o1" "$U1" "o-$UBASE-o1")"
is "event: 503 (the sender retries later)" "$ST/$(errcode)" "503/database_unavailable"
api GET "/v1/referrers/$(uid 500)/stats"
is "stats: 503" "$ST/$(errcode)" "503/database_unavailable"
api GET /v1/referrals/1
is "referral: 503" "$ST/$(errcode)" "503/database_unavailable"
admin POST /v1/referrals/1/void '{"reason":"x"}'
is "void: 503" "$ST/$(errcode)" "503/database_unavailable"
for i in 1 2 3 4 5 6 7 8; do req GET /healthz; [ "$ST" = 503 ] || break; done
is "healthz from every worker: 503" "$ST" 503
req GET /r/Q1Q1Q1Q1
is "landing: still 302 to landing_url (no visitor stranded)" "$ST $(hdr Location | cut -d'?' -f1)" \
    "302 $(conf_get landing_url)"
req GET /metrics
is "metrics: 200 while the database is away" "$ST" 200
like "metrics: referd_database_up 0" "$BODY" $'\nreferd_database_up 0'
ok "$([ $((SECONDS - t0)) -le 10 ] && echo 0 || echo 1)" "every answer came at once ($((SECONDS - t0)) s for all)"
is "no worker died or restarted" "$(fcgi_pids)" "$PIDS0"
DOWN=$(landings 20)
ok "$([ "$DOWN" -gt 0 ] && echo 0 || echo 1)" "landings on a cached code while the database is away: $DOWN of 20 with the cookie"
CLICKS=$((CLICKS + DOWN))

start_mariadb >/dev/null 2>&1
ok "$(pid_alive "$RUN/mariadb.pid" && echo 0 || echo 1)" "MariaDB started again"
for i in 1 2 3 4 5 6 7 8; do req GET /healthz; [ "$ST" = 200 ] || break; done
is "healthz from every worker: 200 again, no restart" "$ST" 200
signup "{\"user_id\":$U1,\"code\":\"$CA\"}"
is "signup: 201 attributed" "$ST $(j .attribution.result)" "201 attributed"
event "$(ev_json "ev-$UBASE-o1" "$U1" "o-$UBASE-o1")"
is "the same event again: converted now" "$ST $(j .outcome)" "200 converted"
res=""
for i in $(seq 12); do api GET "/v1/users/$(uid 500)/code"; res="$res$ST "; done
is "every worker serves 2xx again" "$res" "$(printf '200 %.0s' $(seq 12))"
req GET /metrics
like "metrics: referd_database_up 1" "$BODY" $'\nreferd_database_up 1'
is "the same workers, none restarted" "$(fcgi_pids)" "$PIDS0"
FLUSH=$(conf_get click_flush_ms); FLUSH=${FLUSH:-1000}
wait_for "[ \"\$(clicks_ca)\" = $CLICKS ]" $((FLUSH / 1000 + 10))
is "the clicks of the outage were kept and written once it was back, each once" "$(clicks_ca)" "$CLICKS"

# --- hostile FastCGI records, crashing workers -----------------------------------------
"$PY" "$LIB/fcgi_client.py" "$FSOCK" --huge-params >"$T/huge" 2>&1
ok $? "a record with name and value lengths of 0x7fffffff sent to the socket"
res=""
for i in $(seq 10); do req GET /healthz; res="$res$ST "; done
is "the service keeps answering" "$res" "$(printf '200 %.0s' $(seq 10))"
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
PIDS1=$(fcgi_pids)
ok "$([ "$(gone "$PIDS0" "$PIDS1")" -le 1 ] && echo 0 || echo 1)" \
    "at most one worker went ($(gone "$PIDS0" "$PIDS1")), $(nworkers) running"
req GET /metrics
R0=$(printf '%s' "$BODY" | sed -n 's/^referd_fcgi_worker_restarts_total //p')
VICTIM=$(echo $PIDS1 | cut -d' ' -f1)
kill -SEGV "$VICTIM"
wait_for "! kill -0 $VICTIM" 5
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
PIDS2=$(fcgi_pids)
is "a crashed worker is replaced: $WORKERS running, one new" \
    "$(nworkers) $(gone "$PIDS1" "$PIDS2")" "$WORKERS 1"
like "the crash is logged" "$(grep "worker $VICTIM " "$FCGI_LOG")" "(killed by signal 11 .*|exited with status [0-9]+); starting another"
res=""
for i in $(seq 10); do req GET /healthz; res="$res$ST "; done
is "the service kept answering" "$res" "$(printf '200 %.0s' $(seq 10))"
req GET /metrics
is "metrics count the restart" \
    "$(( $(printf '%s' "$BODY" | sed -n 's/^referd_fcgi_worker_restarts_total //p') - R0 ))" 1

# --- SIGHUP: reload under load ----------------------------------------------------
PIDS3=$(fcgi_pids)
api POST "/v1/users/$(uid 510)/code"; C510=$(j .code)
mkdir -p "$T/load"
LOADERS=""
for w in 1 2 3 4; do
	( for i in $(seq 150); do
		curl -s -o /dev/null -w '%{http_code}\n' "$BASE_URL/r/$C510"
		curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $API_KEY" \
		    "$BASE_URL/v1/users/$(uid 510)/code"
	  done >"$T/load/$w" ) &
	LOADERS="$LOADERS $!"
done
sleep 0.5
RL0=$(grep -c 'configuration reloaded' "$FCGI_LOG")
sed -i 's/^attribution_window_days.*/attribution_window_days = 7/' "$CONF"
kill -HUP "$SUP"
sleep 0.7
kill -HUP "$SUP"
wait $LOADERS	# not a bare wait: MariaDB, started again above, is our child
is "1200 requests across two reloads: none failed" \
    "$(cat "$T"/load/* | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" "200:600 302:600 "
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
is "after reload: a new set of $WORKERS workers" \
    "$(nworkers) $(gone "$PIDS3" "$(fcgi_pids)")" "$WORKERS $WORKERS"
is "the supervisor stayed" "$(cat "$RUN/referd-fcgi.pid")" "$SUP"
is "both reloads are logged" "$(( $(grep -c 'configuration reloaded' "$FCGI_LOG") - RL0 ))" 2
req GET "/r/$C510"
like "the new configuration is in force (cookie Max-Age 7 days)" "$(hdr Set-Cookie)" "Max-Age=604800;"
PIDS4=$(fcgi_pids)
printf 'no_such_key = 1\n' >>"$CONF"
kill -HUP "$SUP"
wait_for "grep -q 'no_such_key.*keeping the running configuration' '$FCGI_LOG'" 5
like "a bad file: the error is logged, the old configuration kept" \
    "$(grep 'reload:' "$FCGI_LOG" | tail -1)" "reload: .*no_such_key.*keeping the running configuration"
req GET "/r/$C510"
is "and the workers were not replaced" "$ST $(fcgi_pids)" "302 $PIDS4"
cat "$T/conf.orig" >"$CONF"
kill -HUP "$SUP"
sleep 0.5
wait_for "[ \$(echo \$(fcgi_pids) | wc -w) = $WORKERS ]" 10
req GET "/r/$C510"
like "original configuration back (Max-Age 30 days)" "$(hdr Set-Cookie)" "Max-Age=2592000;"

# --- the binary ------------------------------------------------------------------
"$BUILD/referd-fcgi" --help >"$T/help" 2>&1
is "--help exits 0 and shows the usage" "$?$(grep -c 'usage: referd-fcgi -c FILE' "$T/help")" "01"
"$BUILD/referd-fcgi" -t -c "$CONF" >"$T/t" 2>&1
is "-t: configuration and database ok" "$?" 0
"$BUILD/referd-fcgi" >/dev/null 2>&1
is "no -c: exit 2" "$?" 2
sed 's/^webhook_secret.*/webhook_secret = nope/' "$CONF" >"$T/bad.conf"
"$BUILD/referd-fcgi" -t -c "$T/bad.conf" >"$T/out" 2>&1
is "a bad config: exit 1 with the key named" "$? $(grep -c 'webhook_secret' "$T/out")" "1 1"
sed "s|^db_socket.*|db_socket = $T/nothing.sock|" "$CONF" >"$T/nodb.conf"
"$BUILD/referd-fcgi" -f -c "$T/nodb.conf" >"$T/out" 2>&1
is "database unreachable at start: exit 1, clear message" \
    "$? $(grep -c 'database unreachable' "$T/out")" "1 1"
sed "s|^listen.*|listen = $FSOCK|; s|^pid_file.*|pid_file = $T/x.pid|" "$CONF" >"$T/dup.conf"
"$BUILD/referd-fcgi" -f -c "$T/dup.conf" >"$T/out" 2>&1
is "a socket another referd-fcgi listens on: refused" "$? $(grep -c 'in use' "$T/out")" "1 1"
sed "s|^listen.*|listen = $T/second.sock|" "$CONF" >"$T/second.conf"
"$BUILD/referd-fcgi" -c "$T/second.conf" >"$T/out" 2>&1
is "a second referd-fcgi with the same pid file: refused, naming the running pid" \
    "$? $(grep -c "already running (pid $SUP," "$T/out") $(cat "$RUN/referd-fcgi.pid")" "1 1 $SUP"
sed "s|^listen.*|listen =|" "$CONF" >"$T/inh.conf"
"$BUILD/referd-fcgi" -f -c "$T/inh.conf" </dev/null >"$T/out" 2>&1
is "listen empty without an inherited socket: refused" "$? $(grep -c 'not a listening socket' "$T/out")" "1 1"

# --- SIGTERM: a clean stop, and a start ----------------------------------------------
kill -TERM "$SUP"
wait_for "! kill -0 $SUP" 20
ok "$(kill -0 "$SUP" 2>/dev/null && echo 1 || echo 0)" "SIGTERM: the supervisor exits"
is "no worker left" "$(pgrep -f "referd-fcgi -c $CONF" | wc -l)" 0
ok "$([ ! -e "$RUN/referd-fcgi.pid" ] && [ ! -e "$FSOCK" ] && echo 0 || echo 1)" \
    "pid file and socket removed"
like "the stop is logged" "$(tail -3 "$FCGI_LOG")" "supervisor: stopped"
"$BUILD/referd-fcgi" -c "$CONF"
is "it starts again (daemon, exit 0 when serving)" "$?" 0
ls -l "$FSOCK" >"$T/ls"
like "the socket has mode 0660" "$(cut -c1-10 "$T/ls")" '^srw-rw----$'
req GET /healthz
is "and serves" "$ST" 200
is "with $WORKERS workers" "$(nworkers)" "$WORKERS"

finish
