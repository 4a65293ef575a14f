# Shared by etc/dev/up, down, test and console.  Source it; do not run it.
#
# Environment: REFERD_VAR (default <repo>/var/dev), REFERD_PORT (default
# 8080; a stack uses REFERD_PORT to REFERD_PORT+9), REFERD_BUILD (default
# <repo>/build), REFERD_REWARD_URL (point every reward type there).

set -eu
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR=${REFERD_VAR:-$top/var/dev}
case $VAR in /*) ;; *) VAR=$PWD/$VAR ;; esac
PORT=${REFERD_PORT:-8080}
BUILD=${REFERD_BUILD:-$top/build}
RUN=$VAR/run
CONF=$VAR/referd.conf
SOCK=$RUN/mysql.sock

# Debian packages the stack and the tests need.
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev
	libmariadb-dev libjson-c-dev libcurl4-openssl-dev libncurses-dev
	libcmocka-dev libssl-dev mariadb-server mariadb-client nginx-light
	lighttpd apache2 libapache2-mod-fcgid spawn-fcgi curl python3 tmux
	valgrind clang libclang-rt-14-dev procps psmisc wrk systemd jq strace"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root or sudo to run: $*"; fi
}

# Installs whichever of PACKAGES are missing.
install_packages() {
	local missing="" p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# No service may start on its own: the stack runs private instances.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
		as_root chmod 755 /usr/sbin/policy-rc.d
		REMOVE_POLICY=1
	fi
	as_root apt-get update -q >/dev/null || warn "apt-get update failed"
	as_root apt-get install -y -q --no-install-recommends $missing >/dev/null
	if [ "${REMOVE_POLICY:-0}" = 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
	# Debian starts the system services on install when it can; the
	# stack never uses them.
	for p in nginx lighttpd apache2 mariadb; do
		as_root service "$p" stop >/dev/null 2>&1 || true
	done
}

# Builds out of tree in $BUILD.  CONFIGURE_FLAGS adds configure options.
build() {
	say "building in $BUILD"
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		(cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] || [ "$top/configure" -nt "$BUILD/Makefile" ]; then
		(cd "$BUILD" && "$top/configure" ${CONFIGURE_FLAGS:-} >/dev/null)
	fi
	make -C "$BUILD" -j"$(nproc)" >/dev/null || make -C "$BUILD"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits up to $2 seconds for command $1 (a string) to succeed.
wait_for() {
	local i=0 n=$(( $2 * 10 ))
	while ! eval "$1" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -ge $n ] && return 1
		sleep 0.1
	done
}

rand_token() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
rand_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

mysql_client() { mariadb --no-defaults --socket="$SOCK" -uroot "$@"; }

# The private MariaDB: datadir and unix socket under $VAR, no TCP.
start_mariadb() {
	mkdir -p "$RUN" "$VAR/log"
	local me; me=$(id -un)
	cat >"$VAR/my.cnf" <<CNF
[mysqld]
user = $me
datadir = $VAR/mysql
socket = $SOCK
pid-file = $RUN/mariadb.pid
log-error = $VAR/log/mariadb.err
skip-networking
skip-name-resolve
innodb_buffer_pool_size = 256M
innodb_log_file_size = 128M
innodb_flush_log_at_trx_commit = 1
innodb_lock_wait_timeout = 5
max_connections = 600
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
CNF
	if [ ! -d "$VAR/mysql/mysql" ]; then
		say "initialising MariaDB in $VAR/mysql"
		mariadb-install-db --defaults-file="$VAR/my.cnf" \
		    --auth-root-authentication-method=socket \
		    --skip-test-db >"$VAR/log/install-db.log" 2>&1 ||
		    { cat "$VAR/log/install-db.log"; die "mariadb-install-db failed"; }
	fi
	if pid_alive "$RUN/mariadb.pid" && mysql_client -e 'SELECT 1' >/dev/null 2>&1; then
		say "MariaDB already running (socket $SOCK)"
		return 0
	fi
	say "starting MariaDB (socket $SOCK)"
	rm -f "$SOCK"
	nohup mariadbd --defaults-file="$VAR/my.cnf" >>"$VAR/log/mariadb.err" 2>&1 &
	wait_for "mysql_client -e 'SELECT 1'" 60 ||
	    { tail -20 "$VAR/log/mariadb.err"; die "MariaDB did not start"; }
}

stop_mariadb() {
	if pid_alive "$RUN/mariadb.pid"; then
		say "stopping MariaDB"
		mysql_client -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$(cat "$RUN/mariadb.pid")" 2>/dev/null || true
		wait_for "! pid_alive '$RUN/mariadb.pid'" 60 || kill -9 "$(cat "$RUN/mariadb.pid")" 2>/dev/null || true
	fi
}

# Writes $CONF once; later runs keep its keys and secrets.
write_conf() {
	[ -f "$CONF" ] && return 0
	say "writing $CONF"
	local dbpass; dbpass=$(rand_token 16)
	local rurl=${REFERD_REWARD_URL:-http://127.0.0.1:$((PORT + 2))/rewards}
	# As root, Apache's children run as www-data (25-webservers.sh).
	local sgroup=""
	[ "$(id -u)" = 0 ] && sgroup="socket_group = www-data"
	umask 077
	cat >"$CONF" <<CNF
# referd development stack, written by etc/dev/up.
db_socket = $SOCK
db_name = referd
db_user = referd
db_password = $dbpass

listen = $RUN/referd.sock
socket_mode = 0660
$sgroup
workers = 4
log_file = $VAR/log/referd-fcgi.log
pid_file = $RUN/referd-fcgi.pid
metrics_dir = $RUN/metrics

api_key = rk_$(rand_token 16)
admin_api_key = rk_admin_$(rand_token 16)
webhook_secret = whsec_$(rand_b64 24)
outbound_secret = whsec_$(rand_b64 24)

base_url = http://127.0.0.1:$PORT
landing_url = http://127.0.0.1:$PORT/welcome
cookie_name = ref
attribution_window_days = 30

qualifying_events = order.completed
min_order_amount = 1.00
hold_days = 0
reward_referrer_type = credit
reward_referrer_amount = 10.00
reward_referrer_currency = USD
reward_referee_type = credit
reward_referee_amount = 5.00
reward_referee_currency = USD

max_signups_per_referrer_per_hour = 10
max_signups_per_ip_per_hour = 5
disposable_domains_file = $top/etc/disposable_domains.txt

reward_url_credit = $rurl
reward_url_coupon = $rurl
reward_url_points = $rurl
dispatch_concurrency = 32
dispatch_max_attempts = 12
dispatch_log_file = $VAR/log/referd-dispatch.log
dispatch_pid_file = $RUN/referd-dispatch.pid

console_refresh_ms = 2000
CNF
	umask 022
}

conf_get() { sed -n "s/^$1[[:space:]]*=[[:space:]]*//p" "$CONF" | head -1; }

# Creates the database and its user (idempotent), then migrates.
setup_database() {
	local pass; pass=$(conf_get db_password)
	mysql_client <<SQL
CREATE DATABASE IF NOT EXISTS referd CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'referd'@'localhost' IDENTIFIED BY '$pass';
ALTER USER 'referd'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL PRIVILEGES ON referd.* TO 'referd'@'localhost';
FLUSH PRIVILEGES;
SQL
	say "applying migrations"
	"$BUILD/referd-migrate" -c "$CONF" -d "$top/sql/migrations"
}

# Stops the process of pid file $1 (TERM, then KILL after $2 s).
stop_pidfile() {
	local f=$1 t=${2:-10} pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait_for "! kill -0 $pid" "$t" || kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}
