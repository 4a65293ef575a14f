#!/usr/bin/env bash
# tests/e2e/package.sh: the Debian package (issue 18, SPEC section 15).
# Builds it from a copy of HEAD (dpkg-buildpackage -us -uc -b, which runs
# make check), lintian (no E: or W: tag), installs it with dpkg -i,
# checks its files, modes and account, that referd-fcgi -t refuses the
# shipped configuration naming the empty secret and accepts it once the
# secrets are filled, that systemd-analyze verify accepts the installed
# units, then runs tests/e2e/api_basic.sh through a private nginx using
# the shipped site and FastCGI snippet, with the installed binaries and
# configuration on a private MariaDB, and dpkg -r (files gone,
# configuration kept).  Needs root and no running stack; leaves the
# machine as it found it (purges the package, removes the account if it
# made it, stops what it started).
#   REFERD_PORT   base port (default 8080); this suite uses REFERD_PORT+150
#   REFERD_PACKAGE_KEEP=DIR   copy the built .deb files to DIR
top=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=package
T=$(mktemp -d /tmp/referd-pkg.XXXXXX)
chmod 755 "$T"
. "$top/tests/e2e/lib/tap.sh"
t0=$SECONDS

# Not the development stack's own settings: the package runs as production.
BASE_PORT=${REFERD_PORT:-8080}
export REFERD_VAR=$T/var REFERD_PORT=$((BASE_PORT + 150))
. "$top/etc/dev/lib.sh"
set +e
unset REFERD_DEV_ROOT
# The database socket where the referd account can reach it (lib.sh puts
# it under /run/referd-dev as root, for Apache's www-data children).
WRUN=$RUN
CONFF=/etc/referd/referd.conf

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (dpkg -i)"
	rm -rf "$T"
	exit 0
fi
for c in dpkg-buildpackage dh lintian mandoc fakeroot spawn-fcgi nginx mariadbd systemd-analyze; do
	command -v "$c" >/dev/null || { echo "Bail out! $c is missing (etc/dev/lib.sh PACKAGES)"; rm -rf "$T"; exit 1; }
done
if port_taken "$REFERD_PORT"; then
	echo "Bail out! port $REFERD_PORT (REFERD_PORT+150) is taken"
	rm -rf "$T"
	exit 1
fi
if dpkg-query -W -f='${Status}' referd 2>/dev/null | grep -qv 'not-installed'; then
	echo "Bail out! referd is already installed here ($(dpkg-query -W -f='${Status}' referd)); this suite installs and purges it: dpkg --purge referd first"
	rm -rf "$T"
	exit 1
fi

# What was here before, to leave it so.
had_user=0; getent passwd referd >/dev/null && had_user=1
had_group=0; getent group referd >/dev/null && had_group=1
had_run=0; [ -e /run/referd ] && had_run=1
had_log=0; [ -e /var/log/referd ] && had_log=1
FCGI_PID=

cleanup() {
	local p
	if [ -n "$FCGI_PID" ] && kill -0 "$FCGI_PID" 2>/dev/null; then
		kill "$FCGI_PID"
		wait_for "! kill -0 $FCGI_PID" 20 || kill -9 "$FCGI_PID" 2>/dev/null
	fi
	if pid_alive "$RUN/nginx.pid"; then
		p=$(cat "$RUN/nginx.pid"); kill -QUIT "$p"
		wait_for "! kill -0 $p" 10 || kill -9 "$p" 2>/dev/null
	fi
	stop_mariadb >/dev/null 2>&1
	dpkg-query -W -f='${Status}' referd 2>/dev/null | grep -qv 'not-installed' &&
	    dpkg --purge referd >"$T/purge.log" 2>&1
	[ $had_user = 0 ] && getent passwd referd >/dev/null && userdel referd 2>/dev/null
	[ $had_group = 0 ] && getent group referd >/dev/null && groupdel referd 2>/dev/null
	[ $had_run = 0 ] && rm -rf /run/referd
	[ $had_log = 0 ] && rm -rf /var/log/referd
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- build -----------------------------------------------------------------
echo "# building the package from HEAD ($(git -C "$top" rev-parse --short HEAD))"
[ -z "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
    echo "# note: uncommitted changes of $top are not in the package (it builds HEAD)"
mkdir -p "$T/pkg/src"
git -C "$top" archive HEAD | tar -x -C "$T/pkg/src"
(cd "$T/pkg/src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b builds the package ($((SECONDS - t0)) s)" "$(tail -n 15 "$T/build.log")"
DEB=$(ls "$T"/pkg/referd_*_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { echo "Bail out! no .deb (see the build log above)"; exit 1; }
[ -n "${REFERD_PACKAGE_KEEP:-}" ] && mkdir -p "$REFERD_PACKAGE_KEEP" && cp "$T"/pkg/*.deb "$REFERD_PACKAGE_KEEP/"
like "the build ran make check, and every unit test passed" \
    "$(grep -c 'dh_auto_test' "$T/build.log") $(grep -E '^# (PASS|FAIL|ERROR): ' "$T/build.log" | tr -s ' ' | tr '\n' ' ')" \
    '^[1-9][0-9]* # PASS: [1-9][0-9]* # FAIL: 0 # ERROR: 0 $'
lintian "$T"/pkg/referd_*.changes >"$T/lintian" 2>"$T/lintian.err"
is "lintian: no E: or W: tag" "$(grep -E '^[EW]: ' "$T/lintian")" ""
sed 's/^/# lintian: /' "$T/lintian"
lint=$(for f in "$T"/pkg/src/man/*.[1-9]; do mandoc -Tlint "$f" 2>&1; done |
    grep -v -e 'referenced manual not found' -e 'mandoc.db lacks')
is "mandoc -Tlint: the man pages are clean" "$lint" ""

# --- install -----------------------------------------------------------------
dpkg -i "$DEB" >"$T/install.log" 2>&1
ok $? "dpkg -i $(basename "$DEB")" "$(tail -n 10 "$T/install.log")"
mode() { stat -c '%a %U:%G' "$1" 2>&1; }
for f in /usr/sbin/referd-fcgi /usr/sbin/referd-dispatch /usr/sbin/referd-migrate /usr/bin/referd-console; do
	is "$f installed, 755 root:root" "$(mode "$f")" "755 root:root"
	like "$f --version" "$("$f" --version 2>&1)" "^$(basename "$f") [0-9]+\.[0-9]+"
done
is "referd account: a system user without a login shell" \
    "$(getent passwd referd | awk -F: '{ print ($3 < 1000 ? "system" : "user"), $7 }')" "system /usr/sbin/nologin"
is "$CONFF: 640 root:referd" "$(mode "$CONFF")" "640 root:referd"
like "$CONFF is a conffile" "$(dpkg-query -W -f='${Conffiles}' referd)" " $CONFF [0-9a-f]{32}"
is "$CONFF holds every secret empty" \
    "$(grep -cE '^(api_key|admin_api_key|webhook_secret|outbound_secret|db_password) =$' "$CONFF")" 5
is "$CONFF: listen, log_file and pid_file unset (the units pass the socket; the journal)" \
    "$(grep -cE '^(listen|log_file|pid_file|dispatch_log_file|dispatch_pid_file) *=' "$CONFF")" 0
for f in /lib/systemd/system/referd-fcgi.socket /lib/systemd/system/referd-fcgi.service \
    /lib/systemd/system/referd-dispatch.service /usr/lib/sysusers.d/referd.conf \
    /usr/lib/tmpfiles.d/referd.conf /etc/logrotate.d/referd \
    /usr/share/referd/nginx/referd-fastcgi.conf /usr/share/referd/nginx/referd-site.conf \
    /usr/share/referd/nginx/referd-errors.conf \
    /usr/share/referd/lighttpd/referd.conf.in /usr/share/referd/apache/referd.conf.in \
    /usr/share/referd/lighttpd/errors/413.html /usr/share/referd/lighttpd/errors/503.html \
    /usr/share/referd/disposable_domains.txt /usr/share/referd/migrations/001_initial.sql; do
	is "$f installed, 644 root:root" "$(mode "$f")" "644 root:root"
done
is "/run/referd made at installation (tmpfiles.d): 750 referd:referd" "$(mode /run/referd)" "750 referd:referd"
is "the units name the package's paths" \
    "$(grep -h '^ExecStart=' /lib/systemd/system/referd-*.service | sort | tr '\n' ' ')" \
    "ExecStart=/usr/sbin/referd-consume -c /etc/referd/referd.conf ExecStart=/usr/sbin/referd-dispatch -f -c /etc/referd/referd.conf ExecStart=/usr/sbin/referd-fcgi -f -c /etc/referd/referd.conf "
is "referd-consume.service: LimitCORE=0, RestartPreventExitStatus=78" \
    "$(grep -chxE 'LimitCORE=0|RestartPreventExitStatus=78' /lib/systemd/system/referd-consume.service)" 2
is "both services: LimitCORE=0, RestartPreventExitStatus=78, LogsDirectory=referd, RuntimeDirectory=referd" \
    "$(grep -chxE 'LimitCORE=0|RestartPreventExitStatus=78|LogsDirectory=referd|RuntimeDirectory=referd' \
        /lib/systemd/system/referd-fcgi.service /lib/systemd/system/referd-dispatch.service | tr '\n' ' ')" "4 4 "
is "nothing enabled by the installation" \
    "$(ls /etc/systemd/system/*.wants/ 2>/dev/null | grep -c '^referd')" 0
for p in referd-fcgi.8 referd-dispatch.8 referd-console.8 referd-migrate.8 referd-consume.8 referd.conf.5; do
	s=${p##*.}
	if command -v man >/dev/null; then
		is "man -w ${p%.*}($s)" "$(man -w "$s" "${p%.*}" 2>&1)" "/usr/share/man/man$s/$p.gz"
	else
		is "/usr/share/man/man$s/$p.gz installed" "$(mode "/usr/share/man/man$s/$p.gz")" "644 root:root"
	fi
done

# The units as installed (verify also runs man on Documentation=).
systemd-analyze verify /lib/systemd/system/referd-fcgi.socket \
    /lib/systemd/system/referd-fcgi.service \
    /lib/systemd/system/referd-dispatch.service >"$T/verify" 2>&1
is "systemd-analyze verify: the installed units, no complaint" "$?|$(cat "$T/verify")" "0|"

# --- the shipped configuration ---------------------------------------------
/usr/sbin/referd-fcgi -t -c "$CONFF" >"$T/out" 2>&1
like "referd-fcgi -t refuses the shipped file, naming the empty secret" \
    "$?|$(head -1 "$T/out")" "^1\|$CONFF:[0-9]+: api_key: missing"
/usr/sbin/referd-dispatch -t -c "$CONFF" >"$T/out" 2>&1
like "referd-dispatch -t refuses it too, naming outbound_secret" \
    "$?|$(head -1 "$T/out")" "^1\|$CONFF:[0-9]+: outbound_secret: missing"

# --- a database, the secrets (as README "In production" does) --------------
mkdir -p "$VAR" "$RUN" "$VAR/log"
chmod 755 "$VAR" "$RUN"
start_mariadb >"$T/mariadb.log" 2>&1
ok $? "a private MariaDB on $SOCK" "$(tail -n 5 "$T/mariadb.log")"
pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
mysql_client -e "CREATE DATABASE referd CHARACTER SET utf8mb4
    COLLATE utf8mb4_unicode_ci;
  CREATE USER 'referd'@'localhost' IDENTIFIED BY '$pw';
  GRANT ALL PRIVILEGES ON referd.* TO 'referd'@'localhost'" >"$T/out" 2>&1
ok $? "the database and its account" "$(cat "$T/out")"
key() { printf 'rk_%s' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
sec() { printf 'whsec_%s' "$(head -c 24 /dev/urandom | base64)"; }
URL=http://127.0.0.1:$PORT
sed -i -e "s|^db_password =.*|db_password = $pw|" \
    -e "s|^api_key =.*|api_key = $(key)|" \
    -e "s|^admin_api_key =.*|admin_api_key = $(key)|" \
    -e "s|^webhook_secret =.*|webhook_secret = $(sec)|" \
    -e "s|^outbound_secret =.*|outbound_secret = $(sec)|" \
    -e "s|^db_socket =.*|db_socket = $SOCK|" \
    -e "s|^base_url =.*|base_url = $URL|" \
    -e "s|^landing_url =.*|landing_url = $URL/welcome|" \
    "$CONFF"
is "sed -i kept $CONFF 640 root:referd" "$(mode "$CONFF")" "640 root:referd"
/usr/sbin/referd-migrate -q -c "$CONFF" >"$T/out" 2>&1
ok $? "referd-migrate applies the schema" "$(cat "$T/out")"
/usr/sbin/referd-fcgi -t -c "$CONFF" >"$T/out" 2>&1
is "referd-fcgi -t accepts the file once the secrets are set" "$?|$(cat "$T/out")" \
    "0|referd-fcgi: $CONFF: configuration and database ok"
/usr/sbin/referd-dispatch -t -c "$CONFF" >"$T/out" 2>&1
is "referd-dispatch -t accepts it" "$?" 0
/usr/bin/referd-console -t -c "$CONFF" >"$T/out" 2>&1
is "referd-console -t accepts it" "$?" 0
runuser -u referd -- /usr/sbin/referd-fcgi -t -c "$CONFF" >"$T/out" 2>&1
is "the referd account reads it (group referd) and reaches the database" "$?|$(cat "$T/out")" \
    "0|referd-fcgi: $CONFF: configuration and database ok"

# --- referd-fcgi as the units run it, behind nginx with the shipped site ----
# referd-fcgi.socket: the socket, root:www-data 0660; referd-fcgi.service:
# User=referd, the socket as standard input, -f.  spawn-fcgi does both
# (the socket owned by referd, not root: spawn-fcgi refuses -U root).
# -n: spawn-fcgi execs referd-fcgi in its place, standard error kept
# (forking, it sends the child's to /dev/null).
spawn-fcgi -n -s "$RUN/referd-fcgi.sock" -M 0660 -G www-data \
    -u referd -g referd -- \
    /usr/sbin/referd-fcgi -f -c "$CONFF" >"$T/spawn.log" 2>"$VAR/log/referd-fcgi.log" &
FCGI_PID=$!
wait_for "grep -q 'supervisor: started' '$VAR/log/referd-fcgi.log'" 20
like "referd-fcgi started on the inherited socket, as referd" \
    "$(ps -o user= -p "$FCGI_PID" 2>&1) $(grep -o 'supervisor: started.*' "$VAR/log/referd-fcgi.log")" \
    '^referd +supervisor: started, 4 workers on the inherited socket'

mkdir -p "$VAR/nginx/tmp"
sed -e "s|listen 80;|listen 127.0.0.1:$PORT;|" -e '/listen \[::\]:80;/d' \
    -e "s|unix:/run/referd-fcgi.sock|unix:$RUN/referd-fcgi.sock|" \
    /usr/share/referd/nginx/referd-site.conf >"$VAR/nginx/referd-site.conf"
cat >"$VAR/nginx/nginx.conf" <<NGINX
# package.sh: a private nginx, the shipped site (port and socket changed).
user www-data www-data;
worker_processes 1;
daemon on;
pid $RUN/nginx.pid;
error_log $VAR/log/nginx-error.log warn;
events { worker_connections 256; }
http {
	access_log $VAR/log/nginx-access.log;
	client_body_temp_path $VAR/nginx/tmp/client_body;
	fastcgi_temp_path $VAR/nginx/tmp/fastcgi;
	proxy_temp_path $VAR/nginx/tmp/proxy;
	uwsgi_temp_path $VAR/nginx/tmp/uwsgi;
	scgi_temp_path $VAR/nginx/tmp/scgi;
	include $VAR/nginx/referd-site.conf;
}
NGINX
nginx -p "$VAR/nginx" -e "$VAR/log/nginx-error.log" -c "$VAR/nginx/nginx.conf" >"$T/out" 2>&1
ok $? "a private nginx with /usr/share/referd/nginx/referd-site.conf on port $PORT" "$(cat "$T/out")"
wait_for "curl -fsS -o /dev/null $URL/healthz" 20
req_st=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
is "GET /healthz through nginx: 200" "$req_st" 200

# api_basic reads REFERD_VAR/referd.conf for the keys and the database
# on REFERD_VAR/run/mysql.sock: the installed file, and this database.
install -m 600 "$CONFF" "$VAR/referd.conf"
REFERD_VAR=$VAR REFERD_PORT=$PORT REFERD_BASE_URL=$URL \
    "$top/tests/e2e/api_basic.sh" >"$T/api_basic.log" 2>&1
rc=$?
ok $rc "tests/e2e/api_basic.sh through nginx, installed binaries and config: $(tail -n 1 "$T/api_basic.log" | sed 's/^# //')" \
    "$(grep -E '^not ok|^Bail|^#   ' "$T/api_basic.log" | head -20)"
is "referd-fcgi logged no error" "$(grep -c ' err: ' "$VAR/log/referd-fcgi.log")" 0

kill "$FCGI_PID" 2>/dev/null
wait_for "! kill -0 $FCGI_PID" 20
ok $? "referd-fcgi stops on SIGTERM"
p=$(cat "$RUN/nginx.pid" 2>/dev/null); kill -QUIT "$p" 2>/dev/null
wait_for "! kill -0 $p" 10
stop_mariadb >/dev/null 2>&1

# --- removal -----------------------------------------------------------------
dpkg -r referd >"$T/remove.log" 2>&1
ok $? "dpkg -r referd" "$(tail -n 5 "$T/remove.log")"
left=""
for f in /usr/sbin/referd-fcgi /usr/sbin/referd-dispatch /usr/sbin/referd-migrate \
    /usr/bin/referd-console /lib/systemd/system/referd-fcgi.service \
    /lib/systemd/system/referd-fcgi.socket /lib/systemd/system/referd-dispatch.service \
    /usr/share/man/man5/referd.conf.5.gz /usr/share/man/man8/referd-fcgi.8.gz \
    /usr/share/referd /usr/share/doc/referd /usr/lib/sysusers.d/referd.conf; do
	[ -e "$f" ] && left="$left $f"
done
is "dpkg -r removed the files" "$left" ""
is "and kept the configuration (a conffile, with the secrets)" \
    "$(dpkg-query -W -f='${Status}' referd) $(grep -c '^api_key = rk_' "$CONFF" 2>&1)" "deinstall ok config-files 1"

echo "# package: $((SECONDS - t0)) s"
done_testing
