#!/usr/bin/env bash
# tests/e2e/web_servers.sh: referd behind each web server.  The API
# suites (tests/e2e/api_*.sh, which run behind nginx on their own) run
# again behind lighttpd (REFERD_PORT+3), Apache with mod_proxy_fcgi
# (+4) and Apache with mod_fcgid starting referd-fcgi itself (+8, started
# here); then what belongs to the web servers themselves: a 413 from the
# server itself (the app never sees an oversize body), each server's own
# errors (400, 411, 413, 414, 431, TRACE, 502/503 with the app away) in
# the app's JSON shape, Retry-After on 503, Location on 201, the body limit at
# exactly MAX_BODY, chunked bodies, header limits, headers that must
# survive (X-Request-Id, Location, Set-Cookie, Allow,
# WWW-Authenticate), HEAD, TRACE, the limit constants of every config
# against core/core.h, and the systemd units (systemd-analyze verify and
# security, the syscalls and address families the app really uses against
# the units' filters, and the socket on standard input as the unit hands
# it over).
. "$(dirname "$0")/lib/api.sh"
. "$top/etc/dev/parts/25-webservers.sh"

NGINX=http://127.0.0.1:$PORT
LIGHTTPD=http://127.0.0.1:$((PORT + 3))
APACHE=http://127.0.0.1:$((PORT + 4))
FPORT=$((PORT + 8))
FCGID=http://127.0.0.1:$FPORT
# The suites that only talk HTTP (api_process stops the database and
# restarts referd-fcgi: it is about the app, not the front end).
SUITES="api_basic api_signup api_events api_hostile api_concurrency"
# Behind mod_fcgid (one process, requests in turn): the functional ones.
FCGID_SUITES="api_basic api_signup api_events"

# suite NAME URL SUITE: runs one API suite against URL; one TAP line.
suite() {
	local log=$T/$1-$3.log t0=$SECONDS
	REFERD_BASE_URL=$2 "$top/tests/e2e/$3.sh" >"$log" 2>&1
	ok $? "$3 behind $1: $(tail -n 1 "$log" | sed 's/^# //') in $((SECONDS - t0)) s" \
	    "$(grep -A3 '^not ok' "$log" | head -16)"
}

# --- the API suites behind lighttpd and Apache ---------------------------------
for s in $SUITES; do suite lighttpd "$LIGHTTPD" "$s"; done
for s in $SUITES; do suite apache "$APACHE" "$s"; done

# --- what the web servers themselves must do -------------------------------------
KEY_H="Authorization: Bearer $API_KEY"
JSON_H="Content-Type: application/json"
MAXB=$(sed -n 's/^#define[[:space:]]*MAX_BODY[[:space:]]*(\{0,1\}\([0-9 *]*\))\{0,1\}.*/\1/p' "$top/core/core.h")
MAXB=$((MAXB))
MAXP=$(sed -n 's/^#define[[:space:]]*MAX_PARAM[[:space:]]*\([0-9]*\).*/\1/p' "$top/core/core.h")
is "MAX_BODY of core/core.h is 64 KiB" "$MAXB" 65536
is "MAX_PARAM of core/core.h is 8192" "$MAXP" 8192
head -c $((1 << 20)) /dev/zero | tr '\0' a >"$T/1m"
head -c "$MAXB" /dev/zero | tr '\0' a >"$T/max"
head -c $((MAXB + 1)) /dev/zero | tr '\0' a >"$T/max1"
referrer 900; WCODE=$RCODE
FI=0

# who: whose answer the last one is: "app" (referd's, which always
# carries X-Request-Id) or "server" (the web server's own).
who() {
	[ -n "$(hdr X-Request-Id)" ] && echo app || echo server
}
# own: the last answer as STATUS/WHO/CODE/TYPE: a web server's own error
# is in the app's JSON shape (SPEC.md section 4), e.g.
# 413/server/body_too_large/application/json.
own() {
	echo "$ST/$(who)/$(errcode)/$(hdr Content-Type)"
}
J=application/json

# front NAME URL CHUNKED: the checks of one front end.  CHUNKED says what
# it does with a chunked request body: "pass" it on (with its length)
# or refuse it with "411".
front() {
	local n=$1 u=$2 chunked=$3 BASE_URL=$2 big
	FI=$((FI + 10))	# this front's users: uid 900 + FI + 1..9

	api POST /v1/signups "" --data-binary @"$T/1m" -H "$JSON_H"
	is "$n: 1 MiB body: 413 from the server itself (the app never sees it), JSON" \
	    "$(own)" 413/server/body_too_large/$J
	api POST /v1/signups "" --data-binary @"$T/max" -H "$JSON_H"
	is "$n: a body of exactly MAX_BODY bytes reaches the app (400 invalid_json)" \
	    "$ST/$(errcode)" "400/invalid_json"
	api POST /v1/signups "" --data-binary @"$T/max1" -H "$JSON_H"
	is "$n: MAX_BODY + 1 bytes: 413 from the server, JSON" "$(own)" 413/server/body_too_large/$J
	api POST /v1/signups "" --data-binary @"$T/1m" -H "$JSON_H" -H 'Transfer-Encoding: chunked'
	CH=$(uid $((901 + FI)))
	# Valid JSON of 40 KiB: spaces after the object.
	{ printf '{"user_id":%s}' "$CH"; head -c 40000 /dev/zero | tr '\0' ' '; } >"$T/pad"
	if [ "$chunked" = pass ]; then
		is "$n: 1 MiB chunked body: 413 from the server, JSON" "$(own)" 413/server/body_too_large/$J
		api POST /v1/signups "" --data-binary @"$T/pad" -H "$JSON_H" -H 'Transfer-Encoding: chunked'
		is "$n: a 40 KiB chunked body goes through; 201 with Location (no referral: the user's code)" \
		    "$ST $(j .user_id) $(hdr Location)" "201 $CH /v1/users/$CH/code"
	else
		is "$n: 1 MiB chunked body: 411 from the server, JSON" "$(own)" 411/server/length_required/$J
		api POST /v1/signups "" --data-binary @"$T/pad" -H "$JSON_H" -H 'Transfer-Encoding: chunked'
		is "$n: a 40 KiB chunked body: 411 (send Content-Length), JSON" "$(own)" 411/server/length_required/$J
		api POST /v1/signups "" --data-binary @"$T/pad" -H "$JSON_H"
		is "$n: the same body with Content-Length goes through; 201 with Location (the user's code)" \
		    "$ST $(j .user_id) $(hdr Location)" "201 $CH /v1/users/$CH/code"
	fi

	big=$(head -c $((MAXP + 100)) /dev/zero | tr '\0' x)
	req GET /healthz -H "X-Junk: $big"
	like "$n: a header over MAX_PARAM: refused by the server (400/431), JSON" \
	    "$(own)" "^(400/server/bad_request|431/server/header_too_large)/$J\$"
	big=$(head -c 9000 /dev/zero | tr '\0' x)
	req GET "/$big"
	like "$n: a request line over 8 KiB: the server's own 414 (lighttpd: 431), JSON" \
	    "$(own)" "^(414/server/uri_too_long|431/server/header_too_large)/$J\$"
	printf 'GARBAGE\r\n\r\n' >"$T/rawreq"
	"$PY" -c 'import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=5)
s.sendall(open(sys.argv[2],"rb").read()); d=b""
while True:
    c=s.recv(65536)
    if not c: break
    d+=c
sys.stdout.write(d.decode("latin1"))' "${u##*:}" "$T/rawreq" | tr -d '\r' >"$T/raw" 2>&1
	is "$n: a malformed request line: the server's own 400, JSON" \
	    "$(sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' "$T/raw")/$(sed -n '/^$/,$p' "$T/raw" | jq -r .error.code 2>/dev/null)/$(grep -i '^content-type:' "$T/raw" | sed 's/^[^:]*: *//')" \
	    "400/bad_request/$J"
	req GET /healthz -H "X-Junk: ${big:0:4000}"
	is "$n: a 4000-byte header passes" "$ST" 200

	req GET /healthz -H "X-Request-Id: web-$n-42"
	is "$n: X-Request-Id sent comes back" "$(hdr X-Request-Id)" "web-$n-42"
	req GET /healthz
	like "$n: X-Request-Id made when none is sent" "$(hdr X-Request-Id)" '^[0-9a-f]{24}$'
	is "$n: Content-Type, Cache-Control, X-Content-Type-Options survive" \
	    "$(hdr Content-Type)|$(hdr Cache-Control)|$(hdr X-Content-Type-Options)" \
	    "application/json|no-store|nosniff"
	like "$n: Server names no version" "$(hdr Server)" '^[A-Za-z]+$'
	req HEAD /healthz -H "X-Request-Id: head-$n"
	is "$n: HEAD /healthz: 200, no body, headers kept" \
	    "$ST|$(wc -c <"$T/body" | tr -d ' ')|$(hdr Content-Type)|$(hdr X-Request-Id)" \
	    "200|0|application/json|head-$n"
	req HEAD "/r/$WCODE"
	is "$n: HEAD on the landing: 302, Location, cookie" \
	    "$ST $(hdr Location) $(hdr Set-Cookie | cut -d';' -f1)" \
	    "302 $(conf_get landing_url)?ref=$WCODE ref=$WCODE"
	req GET "/r/$WCODE"
	like "$n: every cookie attribute survives" "$(hdr Set-Cookie)" \
	    "^ref=$WCODE; Max-Age=[0-9]+; Path=/; HttpOnly; Secure; SameSite=Lax$"
	req GET /v1/users/1/code
	is "$n: 401 keeps WWW-Authenticate" "$ST $(hdr WWW-Authenticate)" "401 Bearer"
	req PUT /v1/signups -H "$KEY_H"
	is "$n: 405 from the app keeps Allow" "$ST $(hdr Allow)" "405 POST"
	api GET "/v1/users/$(uid 999)/code"
	is "$n: the app's 404 JSON passes unchanged (no error page)" "$ST/$(errcode)" "404/not_found"
	req TRACE /healthz -H 'X-Secret: s3cret-trace'
	like "$n: TRACE refused, nothing echoed, JSON" "$ST|$(grep -c s3cret-trace "$T/body")|$(errcode)|$(hdr Content-Type)" \
	    "^(405|501)\\|0\\|(method_not_allowed|not_implemented)\\|$J\$"
	is "$n: a bodiless POST with Content-Length: 0 mints" \
	    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$KEY_H" \
	    -H 'Content-Length: 0' "$u/v1/users/$(uid $((902 + FI)))/code")" 201
	req POST "/v1/users/$(uid $((903 + FI)))/code" -H "$KEY_H"
	is "$n: a minted code: 201 with Location" "$ST $(hdr Location)" \
	    "201 /v1/users/$(uid $((903 + FI)))/code"
	req POST "/v1/users/$(uid $((903 + FI)))/code" -H "$KEY_H"
	is "$n: the same again: 200, no Location" "$ST|$(hdr Location)" "200|"
	api POST /v1/signups "{\"user_id\":$(uid $((904 + FI))),\"code\":\"$WCODE\"}"
	is "$n: a signup that makes a referral: 201 with Location of the referral" \
	    "$ST $(hdr Location)" "201 /v1/referrals/$(j .referral.id)"
	like "$n: (and the referral id is a number)" "$(j .referral.id)" '^[0-9]+$'
}
front nginx "$NGINX" pass
front lighttpd "$LIGHTTPD" pass
front apache "$APACHE" 411

is "lighttpd needs Content-Length on a POST: 411 without (why the suites send 0)" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$LIGHTTPD/v1/users/$(uid 990)/code" -H "$KEY_H")" 411

# --- 503 and Retry-After: the app's (database away), the servers' own (app away) ---
# The app's 503 carries Retry-After: RETRY_AFTER_SECONDS; each server passes
# it on.  MariaDB is stopped the way api_process.sh does it.
RA=$(sed -n 's/^#define[[:space:]]*RETRY_AFTER_SECONDS[[:space:]]*\([0-9]*\).*/\1/p' "$top/core/core.h")
is "RETRY_AFTER_SECONDS of core/core.h is 5" "$RA" 5
trap 'pid_alive "$RUN/mariadb.pid" || start_mariadb >/dev/null 2>&1; rm -rf "$T"' EXIT
stop_mariadb >/dev/null 2>&1
for f in "nginx $NGINX" "lighttpd $LIGHTTPD" "apache $APACHE"; do
	set -- $f; BASE_URL=$2
	req GET /healthz
	is "$1: the app's 503 (database away): Retry-After, JSON" \
	    "$ST|$(hdr Retry-After)|$(errcode)|$(hdr Content-Type)|$(who)" \
	    "503|$RA|database_unavailable|$J|app"
	req POST "/v1/users/$(uid 995)/code" -H "$KEY_H"
	is "$1: a mint with the database away: 503, Retry-After, no Location" \
	    "$ST|$(hdr Retry-After)|$(hdr Location)" "503|$RA|"
done
start_mariadb >/dev/null 2>&1
BASE_URL=$NGINX
wait_for "curl -fsS -o /dev/null $NGINX/healthz" 30
ok $? "MariaDB back: healthz 200"

# The app's socket moved away (the listening socket stays bound, so
# moving it back restores it): each server answers itself.
ASOCK=$(conf_get listen)
trap '[ -e "$ASOCK.away" ] && mv "$ASOCK.away" "$ASOCK"; rm -rf "$T"' EXIT
mv "$ASOCK" "$ASOCK.away"
for f in "nginx $NGINX 502 $RA" "lighttpd $LIGHTTPD 503 -" "apache $APACHE 503 $RA"; do
	set -- $f; BASE_URL=$2
	req GET /healthz
	# lighttpd: no Retry-After on its own 503 (etc/lighttpd/referd.conf.in).
	is "$1: the app away: the server's own $3, JSON, Retry-After ${4/-/none}" \
	    "$ST|$(hdr Retry-After)|$(errcode)|$(hdr Content-Type)|$(who)" \
	    "$3|${4/-/}|unavailable|$J|server"
done
mv "$ASOCK.away" "$ASOCK"
for u in "$NGINX" "$LIGHTTPD" "$APACHE"; do
	wait_for "curl -fsS -o /dev/null $u/healthz" 30
	ok $? "the app back: $u/healthz 200"
done
trap 'rm -rf "$T"' EXIT

# --- Apache with mod_fcgid: httpd starts referd-fcgi on the inherited socket -----
# Everything the referd-fcgi that httpd starts (as its children's user)
# opens lives where that user can reach it, $WRUN (as root, www-data
# cannot pass a private directory above $VAR): its configuration, binary,
# domain list, log and metrics.
FDIR=$WRUN/apache-fcgid
FLOG=$FDIR/referd-fcgid.log
mkdir -p "$FDIR/metrics"
AU=$(web_apache_user); AG=$(web_apache_group)
cp "$BUILD/referd-fcgi" "$FDIR/referd-fcgi"
cp "$(conf_get disposable_domains_file)" "$FDIR/disposable_domains.txt"
sed -e "s|^listen *=.*|listen =|" -e "s|^pid_file *=.*|pid_file =|" \
    -e "s|^log_file *=.*|log_file = $FLOG|" \
    -e "s|^metrics_dir *=.*|metrics_dir = $FDIR/metrics|" \
    -e "s|^disposable_domains_file *=.*|disposable_domains_file = $FDIR/disposable_domains.txt|" \
    -e "s|^workers *=.*|workers = 2|" "$CONF" >"$FDIR/referd.conf"
chmod 600 "$FDIR/referd.conf"
: >>"$FLOG"
[ "$(id -u)" = 0 ] && chown "$AU:$AG" "$FDIR" "$FDIR/referd.conf" "$FDIR/metrics" "$FLOG"
BUILD=$FDIR web_apache_conf apache-fcgid "$FPORT" "$FDIR/referd.conf"
fcgid_stop() {
	pid_alive "$RUN/apache-fcgid.pid" || return 0
	web_apache apache-fcgid -D FCGID -k stop >/dev/null 2>&1
	wait_for "! pid_alive '$RUN/apache-fcgid.pid'" 20
}
fcgid_stop
web_apache apache-fcgid -D FCGID -t >"$T/fcgid-t" 2>&1
ok $? "mod_fcgid variant: httpd accepts the configuration" "$(cat "$T/fcgid-t")"
web_apache apache-fcgid -D FCGID -k start >"$T/fcgid-start" 2>&1
wait_for "curl -fsS -o /dev/null $FCGID/healthz" 20
ok $? "mod_fcgid variant: healthz answers on $FCGID" \
    "$(cat "$T/fcgid-start"; tail -n 5 "$VAR/log/apache-fcgid-error.log" "$FLOG")"
FSUP=$(pgrep -f -- "-c $FDIR/referd.conf" | while read -r p; do
	[ "$(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')")" = apache2 ] && echo "$p"; done | head -1)
like "mod_fcgid started referd-fcgi itself (a supervisor under httpd)" "$FSUP" '^[0-9]+$'
is "that referd-fcgi runs as $AU" "$(ps -o user= -p "${FSUP:-1}")" "$AU"
is "and forked its 2 workers on the inherited socket" "$(pgrep -P "${FSUP:-1}" | wc -l)" 2
like "its log says so" "$(cat "$FLOG")" 'workers on the inherited socket'
for s in $FCGID_SUITES; do suite mod_fcgid "$FCGID" "$s"; done
front mod_fcgid "$FCGID" 411
fcgid_stop
ok $? "mod_fcgid variant: httpd stops"
wait_for "! pgrep -f -- '-c $FDIR/referd.conf'" 20
ok $? "and the referd-fcgi it started is gone" "$(pgrep -af -- "-c $FDIR/referd.conf")"

# --- the limit constants of every config equal core/core.h ------------------------
NG=$top/etc/nginx; LT=$top/etc/lighttpd/referd.conf.in; AP=$top/etc/apache/referd.conf.in
v=$(sed -n 's/^client_max_body_size[[:space:]]*\([0-9]*\)k;.*/\1/p' "$NG/referd-fastcgi.conf")
is "nginx client_max_body_size = MAX_BODY" "$((v * 1024))" "$MAXB"
v=$(sed -n 's/^[[:space:]]*large_client_header_buffers[[:space:]]*[0-9]*[[:space:]]*\([0-9]*\)k;.*/\1/p' "$NG/referd.conf.in")
is "nginx large_client_header_buffers = MAX_PARAM" "$((v * 1024))" "$MAXP"
v=$(sed -n 's/^server.max-request-size[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$LT")
is "lighttpd server.max-request-size (KiB) = MAX_BODY" "$((v * 1024))" "$MAXB"
v=$(sed -n 's/^server.max-request-field-size[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$LT")
is "lighttpd server.max-request-field-size = MAX_PARAM" "$v" "$MAXP"
v=$(sed -n 's/^LimitRequestBody[[:space:]]*\([0-9]*\).*/\1/p' "$AP")
is "Apache LimitRequestBody = MAX_BODY" "$v" "$MAXB"
v=$(sed -n 's/^RewriteCond %{HTTP:Content-Length} -gt\([0-9]*\)$/\1/p' "$AP")
is "Apache's Content-Length rewrite (413) = MAX_BODY" "$v" "$MAXB"
v=$(sed -n 's/^FcgidMaxRequestLen[[:space:]]*\([0-9]*\).*/\1/p' "$AP")
is "Apache FcgidMaxRequestLen = MAX_BODY" "$v" "$MAXB"
v=$(sed -n 's/^LimitRequestFieldSize[[:space:]]*\([0-9]*\).*/\1/p' "$AP")
is "Apache LimitRequestFieldSize = MAX_PARAM" "$v" "$MAXP"
is "the running configs are the rendered templates (lighttpd, Apache)" \
    "$(grep -c '^server.max-request-size = 64$' "$VAR/lighttpd/lighttpd.conf") $(grep -c '^LimitRequestBody 65536$' "$VAR/apache/httpd.conf")" "1 1"
v=$(sed -n 's/^Backlog=//p' "$BUILD/etc/systemd/referd-fcgi.socket")
is "systemd socket Backlog = FCGI_BACKLOG" "$v" \
    "$(sed -n 's/^#define[[:space:]]*FCGI_BACKLOG[[:space:]]*\([0-9]*\).*/\1/p' "$top/fcgi/fcgi.h")"

# --- systemd units ----------------------------------------------------------------
# The units as the build made them from etc/systemd/*.in.
SD=$BUILD/etc/systemd
UNITS="referd-fcgi.socket referd-fcgi.service referd-dispatch.service"
mkdir -p "$T/units"
# The units name the installed binaries; verify checks they exist, so
# point them at this build.
for u in $UNITS; do
	sed "s|=[^ =]*/sbin/referd-|=$BUILD/referd-|g" "$SD/$u" >"$T/units/$u"
done
(cd "$T/units" && systemd-analyze verify --man=no $(printf './%s ' $UNITS)) >"$T/verify" 2>&1
is "systemd-analyze verify: the three units, no complaint" "$?|$(cat "$T/verify")" "0|"
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$T/units/referd-fcgi.service" >"$T/units/bad.service"
(cd "$T/units" && systemd-analyze verify --man=no ./bad.service) >"$T/verify" 2>&1
like "and it does complain about a misspelt key (the check can fail)" "$(cat "$T/verify")" "Unknown key 'NoNewPrivilege'"
for u in referd-fcgi.service referd-dispatch.service; do
	(cd "$T/units" && systemd-analyze security --offline=yes --no-pager "./$u") >"$T/sec" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$T/sec")
	like "systemd-analyze security --offline $u: exposure $score (at most 2.0)" \
	    "$score" '^(0\.[0-9]|1\.[0-9]|2\.0)$' "$(tail -n 5 "$T/sec")"
	echo "# $u exposure $score"
done
for k in StandardInput=socket User=referd NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes \
    ProtectKernelModules=yes ProtectKernelLogs=yes "CapabilityBoundingSet=" \
    MemoryDenyWriteExecute=yes LockPersonality=yes RestrictNamespaces=yes UMask=0077 \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "SystemCallFilter=@system-service"; do
	[ "$k" = StandardInput=socket ] && f=referd-fcgi.service || f="referd-fcgi.service referd-dispatch.service"
	n=0; for x in $f; do grep -qx -- "$k" "$SD/$x" && n=$((n + 1)); done
	is "units say $k" "$n" "$(echo $f | wc -w)"
done
is "socket unit: SocketMode=0660 SocketGroup=www-data Accept=no" \
    "$(grep -cxE 'SocketMode=0660|SocketGroup=www-data|Accept=no' "$SD/referd-fcgi.socket")" 3

# The allow list the service units give: @system-service without
# @privileged and @resources (SystemCallFilter= lines, in that order).
expand() {
	systemd-analyze syscall-filter "$1" 2>/dev/null | sed 1d | sed 's/#.*//' |
	    awk 'NF { print $1 }' | while read -r s; do
		case $s in @*) expand "$s" ;; *) echo "$s" ;; esac
	done
}
expand @system-service | sort -u >"$T/allow"
{ expand @privileged; expand @resources; } | sort -u >"$T/deny"
comm -23 "$T/allow" "$T/deny" >"$T/allowed"
ok "$([ "$(wc -l <"$T/allowed")" -gt 200 ] && echo 0 || echo 1)" \
    "the units' syscall allow list has $(wc -l <"$T/allowed") entries"
is "and leaves out setuid, setrlimit, mount, reboot" \
    "$(printf '%s\n' setuid setrlimit mount reboot | sort | comm -12 - "$T/allowed" | tr '\n' ' ')" ""
# syscalls FILE: the system calls of an strace -f log.
syscalls() {
	sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/\(.*//' "$1" |
	    grep -E '^[a-z0-9_]+$' | sort -u
}
# sandbox NAME LOG: what the unit's filters would refuse, from the trace.
sandbox() {
	local bad wx fam n
	n=$(syscalls "$2" | wc -l)
	ok "$([ "$n" -gt 20 ] && echo 0 || echo 1)" "$1: the trace holds $n distinct system calls"
	bad=$(syscalls "$2" | comm -23 - "$T/allowed" | tr '\n' ' ')
	is "$1: every system call it made is in the unit's SystemCallFilter" "$bad" ""
	wx=$(grep -E '(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' "$2" | head -3)
	is "$1: no writable and executable memory (MemoryDenyWriteExecute)" "$wx" ""
	fam=$(grep -oE '^[0-9]+ +socket\(AF_[A-Z0-9]+' "$2" | sed 's/.*(//' | sort -u |
	    grep -vxE 'AF_UNIX|AF_INET|AF_INET6' | tr '\n' ' ')
	is "$1: only AF_UNIX/AF_INET/AF_INET6 sockets (RestrictAddressFamilies)" "$fam" ""
}

# referd-fcgi as referd-fcgi.service runs it: the listening socket on
# standard input (StandardInput=socket; spawn-fcgi does the same), under
# strace.
ISOCK=$T/inh.sock
sed -e "s|^listen *=.*|listen =|" -e "s|^pid_file *=.*|pid_file =|" \
    -e "s|^log_file *=.*|log_file = $T/inh.log|" \
    -e "s|^metrics_dir *=.*|metrics_dir = $T/inh-metrics|" "$CONF" >"$T/inh.conf"
chmod 600 "$T/inh.conf"
spawn-fcgi -n -s "$ISOCK" -M 0600 -- /usr/bin/strace -f -qq -o "$T/fcgi.trace" \
    "$BUILD/referd-fcgi" -f -c "$T/inh.conf" >"$T/spawn.out" 2>&1 &
SPAWN=$!
wait_for "[ -S '$ISOCK' ] && grep -q 'workers on the inherited socket' '$T/inh.log'" 20
ok $? "referd-fcgi serves the socket it inherits on standard input" \
    "$(cat "$T/spawn.out" "$T/inh.log" 2>/dev/null | tail -5)"
fcgi() { "$PY" "$LIB/fcgi_client.py" "$ISOCK" "$@" >"$T/raw" 2>&1
	sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/raw" | head -1; }
is "over it: GET /healthz 200" "$(fcgi -p REQUEST_METHOD=GET -p REQUEST_URI=/healthz)" 200
is "over it: GET /metrics 200" "$(fcgi -p REQUEST_METHOD=GET -p REQUEST_URI=/metrics)" 200
is "over it: GET /r/CODE 302" "$(fcgi -p REQUEST_METHOD=GET -p "REQUEST_URI=/r/$WCODE")" 302
B="{\"user_id\":$(uid 910),\"code\":\"$WCODE\",\"email\":\"a@example.com\",\"ip\":\"10.1.2.3\"}"
is "over it: POST /v1/signups 201" "$(fcgi -p REQUEST_METHOD=POST -p REQUEST_URI=/v1/signups \
    -p CONTENT_TYPE=application/json -p "HTTP_AUTHORIZATION=Bearer $API_KEY" \
    -p "CONTENT_LENGTH=${#B}" -b "$B")" 201
ISUP=$(pgrep -P "$SPAWN" -x referd-fcgi | head -1)
[ -n "$ISUP" ] && kill -HUP "$ISUP"
sleep 1
is "over it: after SIGHUP, GET /healthz 200" "$(fcgi -p REQUEST_METHOD=GET -p REQUEST_URI=/healthz)" 200
[ -n "$ISUP" ] && kill -TERM "$ISUP"
wait_for "! kill -0 $SPAWN" 30
ok $? "SIGTERM: it stops" "$(tail -n 3 "$T/inh.log")"
wait "$SPAWN" 2>/dev/null
sandbox referd-fcgi "$T/fcgi.trace"

# referd-dispatch --once, under strace: its calls against the same filter.
/usr/bin/strace -f -qq -o "$T/dispatch.trace" "$BUILD/referd-dispatch" --once -c "$CONF" >"$T/dispatch.out" 2>&1
ok $? "referd-dispatch --once under strace" "$(tail -n 5 "$T/dispatch.out")"
sandbox referd-dispatch "$T/dispatch.trace"

finish
