# Shared by etc/dev/up, down, test and console.  Source it; do not run it.
#
# Environment: REFERD_VAR (default <repo>/var/dev), REFERD_PORT (default
# 8080; a stack uses REFERD_PORT to REFERD_PORT+9), REFERD_BUILD (default
# <repo>/build), REFERD_REWARD_URL (point every reward type there),
# REFERD_AMQP=1 (also a private RabbitMQ and referd-consume: parts/35-amqp.sh).

set -eu
# The daemons refuse to run as root outside the dev stack (README,
# "Operating"); the dev stack runs them as whoever runs up, root included.
export REFERD_DEV_ROOT=1
# mariadbd, nginx, lighttpd and apache2 are in /usr/sbin, which is not
# on an ordinary user's PATH on Debian.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR=${REFERD_VAR:-$top/var/dev}
case $VAR in /*) ;; *) VAR=$PWD/$VAR ;; esac
PORT=${REFERD_PORT:-8080}
BUILD=${REFERD_BUILD:-$top/build}
RUN=$VAR/run
CONF=$VAR/referd.conf
SOCK=$RUN/mysql.sock

# WRUN: what the web servers' children must reach (the FastCGI socket,
# mod_fcgid's files).  As the invoking user every process of the stack
# runs as that user, so it is $RUN.  As root, Apache's children cannot be
# root (Debian's httpd refuses) and run as www-data, which cannot pass a
# private directory above $VAR (a 0700 home, a mktemp -d): they get a
# directory of their own under /run (a tmpfs, emptied at boot), group
# www-data, mode 0750, named after $VAR so that stacks do not meet.
# etc/dev/down removes it.
if [ "$(id -u)" = 0 ]; then
	WRUN=/run/referd-dev/$(printf '%s' "$VAR" | sha256sum | cut -c1-16)
else
	WRUN=$RUN
fi

# Debian packages the stack and the tests need.
# nodejs: the intake suite's Stripe signer; NodeSource's package carries npm
# and conflicts with Debian's, so npm is not listed (Debian's nodejs: add npm).
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev
	libmariadb-dev libjson-c-dev libcurl4-openssl-dev libncurses-dev
	libcmocka-dev libssl-dev mariadb-server mariadb-client nginx-light
	lighttpd apache2 libapache2-mod-fcgid spawn-fcgi curl python3 tmux
	valgrind clang libclang-rt-14-dev procps psmisc wrk systemd jq strace
	debhelper dpkg-dev fakeroot lintian mandoc nodejs
	librabbitmq-dev rabbitmq-server"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null; then sudo "$@"
	else die "need root or sudo to run: $*"; fi
}

# The packages of PACKAGES that are not installed, space-separated.
missing_packages() {
	local missing="" p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'ok installed' || missing="$missing $p"
	done
	echo "$missing"
}

# Whether /usr/sbin/policy-rc.d exists and forbids starting a service.
policy_denies() {
	[ -x /usr/sbin/policy-rc.d ] || return 1
	/usr/sbin/policy-rc.d nginx start >/dev/null 2>&1
	[ $? = 101 ]
}

# Undoes what install_packages did to /usr/sbin/policy-rc.d (trap-safe).
policy_restore() {
	case ${POLICY_DONE:-} in
	created) as_root rm -f /usr/sbin/policy-rc.d ;;
	saved) as_root mv -f /usr/sbin/policy-rc.d.referd-saved /usr/sbin/policy-rc.d ;;
	esac
	POLICY_DONE=
}

# Installs whichever of PACKAGES are missing.  No package may start its
# system service (the stack runs private instances, and a host's running
# services are never stopped or restarted): while apt-get runs,
# /usr/sbin/policy-rc.d answers 101 (Debian's invoke-rc.d and
# deb-systemd-invoke then start nothing).  A policy-rc.d of the host that
# already forbids starts is left alone; one that allows them is set aside
# and put back afterwards.
install_packages() {
	local missing
	missing=$(missing_packages)
	[ -z "$missing" ] && return 0
	say "installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	POLICY_DONE=
	if ! policy_denies; then
		if [ -e /usr/sbin/policy-rc.d ]; then
			as_root mv /usr/sbin/policy-rc.d /usr/sbin/policy-rc.d.referd-saved
			POLICY_DONE=saved
		else
			POLICY_DONE=created
		fi
		printf '#!/bin/sh\n# etc/dev/up: no service starts while it installs packages.\nexit 101\n' |
		    as_root tee /usr/sbin/policy-rc.d >/dev/null
		as_root chmod 755 /usr/sbin/policy-rc.d
	fi
	local rc=0
	as_root apt-get update -q >"${TMPDIR:-/tmp}/referd-apt.$$.log" 2>&1 ||
	    warn "apt-get update failed (is a Debian mirror reachable?)"
	as_root apt-get install -y -q --no-install-recommends $missing \
	    >>"${TMPDIR:-/tmp}/referd-apt.$$.log" 2>&1 || rc=$?
	policy_restore
	if [ $rc != 0 ]; then
		tail -n 15 "${TMPDIR:-/tmp}/referd-apt.$$.log" >&2
		rm -f "${TMPDIR:-/tmp}/referd-apt.$$.log"
		die "apt-get install failed (exit $rc): it needs the Debian package mirrors"
	fi
	rm -f "${TMPDIR:-/tmp}/referd-apt.$$.log"
}

# --- checks before etc/dev/up starts anything --------------------------------

# Whether something listens on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_free PORT WHAT PIDFILE: dies if PORT is taken by anything but the
# process of PIDFILE (this stack's own, from an earlier up).
port_free() {
	local port=$1 what=$2 pidf=$3 who=""
	pid_alive "$pidf" && return 0
	port_taken "$port" || return 0
	command -v ss >/dev/null &&
	    who=$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\).*/ (\1)/p' | head -1)
	die "port $port ($what) is already in use$who.  Stop that program, or choose other ports: REFERD_PORT=N etc/dev/up (the stack uses N to N+9)"
}

# Everything that would make up fail half-way and can be known first:
# who can install the packages, where the state goes, socket path
# lengths, free ports.  Dies with the reason and what to do.
preflight() {
	local missing p
	case $PORT in
	''|*[!0-9]*) die "REFERD_PORT=$PORT is not a number" ;;
	esac
	[ "$PORT" -ge 1024 ] && [ "$PORT" -le 65485 ] ||
	    die "REFERD_PORT=$PORT: want 1024 to 65485 (the stack uses REFERD_PORT to +49)"
	missing=$(missing_packages)
	if [ -n "$missing" ]; then
		command -v apt-get >/dev/null ||
		    die "missing packages:$missing, and no apt-get: etc/dev/up needs Debian 12"
		if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
			die "missing packages:$missing.  Run etc/dev/up as root once, or install sudo and give $(id -un) sudo rights, or as root: apt-get install$missing"
		fi
	fi
	mkdir -p "$VAR" 2>/dev/null && [ -w "$VAR" ] && [ -x "$VAR" ] ||
	    die "cannot create or write $VAR: set REFERD_VAR to a directory you can write"
	for p in "$SOCK" "$WRUN/referd.sock" "$WRUN/mysql.sock"; do
		[ ${#p} -le 107 ] ||
		    die "$p is ${#p} bytes long, and a unix socket path has at most 107: set REFERD_VAR to a shorter path (REFERD_VAR=/tmp/referd etc/dev/up)"
	done
	if [ "$WRUN" != "$RUN" ]; then
		mkdir -p "$(dirname "$WRUN")" 2>/dev/null ||
		    die "cannot create $(dirname "$WRUN") (the web servers' sockets)"
	fi
	port_free "$PORT" "nginx" "$RUN/nginx.pid"
	[ -n "${REFERD_REWARD_URL:-}" ] ||
	    port_free $((PORT + 2)) "the demo reward receiver" "$RUN/receiver.pid"
	port_free $((PORT + 3)) "lighttpd" "$RUN/lighttpd.pid"
	port_free $((PORT + 4)) "Apache" "$RUN/apache.pid"
}

# Makes $WRUN: as root, group www-data (Apache's children), mode 0750.
make_wrun() {
	mkdir -p "$RUN" "$VAR/log"
	[ "$WRUN" = "$RUN" ] && return 0
	[ -d "$WRUN" ] || WRUN_CREATED=1
	mkdir -p "$WRUN"
	chmod 755 "$(dirname "$WRUN")"
	chgrp www-data "$WRUN"
	chmod 750 "$WRUN"
	# Which stack it belongs to, for whoever finds it.
	printf '%s\n' "$VAR" >"$WRUN/stack"
}

# --- what one run of etc/dev/up started, so that a failure stops it -------
UP_STEP=""		# the step under way, named in the failure message
UP_LOG=""		# its log, whose last lines the failure shows
UP_STARTED=()		# pid files (or "mariadb") in the order started

# step NAME [LOG]: a step of up, announced.
step() { UP_STEP=$1; UP_LOG=${2:-}; say "$1"; }
# started PIDFILE: this run started the process of PIDFILE.
started() { UP_STARTED+=("$1"); }

# The EXIT trap of etc/dev/up: on failure, which step failed, the last
# lines of its log, and everything this run started stopped again, in
# the reverse order.  What an earlier run started stays up.
up_exit() {
	local rc=$? i e
	trap - EXIT
	policy_restore
	[ $rc = 0 ] && return 0
	{
		printf '\netc/dev/up failed at step: %s\n' "${UP_STEP:-checking the machine}"
		if [ -n "$UP_LOG" ] && [ -s "$UP_LOG" ]; then
			printf 'last lines of %s:\n' "$UP_LOG"
			tail -n 15 "$UP_LOG" | sed 's/^/    /'
		fi
		if [ ${#UP_STARTED[@]} = 0 ]; then
			printf 'this run started nothing, so nothing was stopped.\n'
		else
			printf 'stopping what this run started:'
			for ((i = ${#UP_STARTED[@]} - 1; i >= 0; i--)); do
				printf ' %s' "$(basename "${UP_STARTED[$i]}" .pid)"
			done
			printf '\n'
		fi
	} >&2
	for ((i = ${#UP_STARTED[@]} - 1; i >= 0; i--)); do
		e=${UP_STARTED[$i]}
		case $e in
		mariadb) stop_mariadb >/dev/null ;;
		*) stop_pidfile "$e" 15 ;;
		esac
	done
	# A directory under /run that this run made goes too (lib.sh, WRUN).
	if [ "${WRUN_CREATED:-0}" = 1 ]; then
		rm -rf "$WRUN"
		rmdir "$(dirname "$WRUN")" 2>/dev/null || true
	fi
	exit $rc
}

# Builds out of tree in $BUILD.  CONFIGURE_FLAGS adds configure options.
build() {
	say "building in $BUILD"
	if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
		(cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi)
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] || [ "$top/configure" -nt "$BUILD/Makefile" ]; then
		# Its output goes to a log, shown if it fails (autoconf's
		# "rm -f core" meets the core/ directory of an out-of-tree build
		# and says so on stderr, which is noise).
		(cd "$BUILD" && "$top/configure" ${CONFIGURE_FLAGS:-} >configure.out 2>&1) ||
		    { tail -n 30 "$BUILD/configure.out" >&2; return 1; }
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

# The database's administrator: the account mariadb-install-db made for
# whoever runs it (unix_socket: the login name is the password), root as
# root.
DBA=$(id -un)
mysql_client() { mariadb --no-defaults --socket="$SOCK" -u"$DBA" "$@"; }

# The private MariaDB: datadir and unix socket under $VAR, no TCP.
# As root its socket is in $WRUN, for the referd-fcgi that Apache's
# mod_fcgid starts as www-data, with $SOCK a link to it (clients and
# tests use $SOCK).
start_mariadb() {
	mkdir -p "$RUN" "$VAR/log"
	local me real=$WRUN/mysql.sock; me=$(id -un)
	if [ "$real" != "$SOCK" ]; then
		[ -L "$SOCK" ] || rm -f "$SOCK"
		ln -sfn "$real" "$SOCK"
	fi
	cat >"$VAR/my.cnf" <<CNF
[mysqld]
user = $me
datadir = $VAR/mysql
socket = $real
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
		step "initialising MariaDB in $VAR/mysql" "$VAR/log/install-db.log"
		mariadb-install-db --defaults-file="$VAR/my.cnf" \
		    --auth-root-authentication-method=socket \
		    --skip-test-db >"$VAR/log/install-db.log" 2>&1 ||
		    die "mariadb-install-db failed"
	fi
	if pid_alive "$RUN/mariadb.pid" && mysql_client -e 'SELECT 1' >/dev/null 2>&1; then
		say "MariaDB already running (socket $SOCK)"
		return 0
	fi
	step "starting MariaDB (socket $SOCK)" "$VAR/log/mariadb.err"
	rm -f "$real"
	nohup mariadbd --defaults-file="$VAR/my.cnf" >>"$VAR/log/mariadb.err" 2>&1 &
	MARIADB_STARTED=$!
	started mariadb
	wait_for "mysql_client -e 'SELECT 1'" 60 || die "MariaDB did not start"
}

stop_mariadb() {
	if pid_alive "$RUN/mariadb.pid"; then
		say "stopping MariaDB"
		mysql_client -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$(cat "$RUN/mariadb.pid")" 2>/dev/null || true
		wait_for "! pid_alive '$RUN/mariadb.pid'" 60 || kill -9 "$(cat "$RUN/mariadb.pid")" 2>/dev/null || true
	fi
	# One this run started that never wrote its pid file.
	if [ -n "${MARIADB_STARTED:-}" ] && kill -0 "$MARIADB_STARTED" 2>/dev/null; then
		kill "$MARIADB_STARTED" 2>/dev/null
		wait_for "! kill -0 $MARIADB_STARTED" 30 || kill -9 "$MARIADB_STARTED" 2>/dev/null || true
	fi
}

# Writes $CONF once; later runs keep its keys and secrets.  A stack
# written before the sockets moved (see WRUN) gets its "listen" line
# fixed while referd-fcgi is not running.
# A stack written before the intakes of SPEC 12 gets their secrets.
conf_intake_secrets() {
	grep -q '^stripe_webhook_secret' "$CONF" ||
	    echo "stripe_webhook_secret = whsec_$(rand_token 16)" >>"$CONF"
	grep -q '^shopify_webhook_secret' "$CONF" ||
	    echo "shopify_webhook_secret = $(rand_token 16)" >>"$CONF"
}

write_conf() {
	if [ -f "$CONF" ]; then
		if [ "$(conf_get listen)" != "$WRUN/referd.sock" ] &&
		    ! pid_alive "$RUN/referd-fcgi.pid"; then
			sed -i "s|^listen[[:space:]]*=.*|listen = $WRUN/referd.sock|" "$CONF"
		fi
		if [ "$(conf_get db_socket)" != "$WRUN/mysql.sock" ] &&
		    ! pid_alive "$RUN/mariadb.pid"; then
			sed -i "s|^db_socket[[:space:]]*=.*|db_socket = $WRUN/mysql.sock|" "$CONF"
		fi
		conf_reward_url
		conf_intake_secrets
		return 0
	fi
	say "writing $CONF"
	local dbpass; dbpass=$(rand_token 16)
	local rurl=${REFERD_REWARD_URL:-http://127.0.0.1:$((PORT + 2))/rewards}
	# As root, Apache's children run as www-data (25-webservers.sh).
	local sgroup=""
	[ "$(id -u)" = 0 ] && sgroup="socket_group = www-data"
	umask 077
	cat >"$CONF" <<CNF
# referd development stack, written by etc/dev/up.
db_socket = $WRUN/mysql.sock
db_name = referd
db_user = referd
db_password = $dbpass

listen = $WRUN/referd.sock
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
stripe_webhook_secret = whsec_$(rand_token 16)
shopify_webhook_secret = $(rand_token 16)

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

# The reward URL of every type: REFERD_REWARD_URL, else the demo
# receiver.  On an existing stack whose file says otherwise, the lines
# are rewritten and a running dispatcher restarted (it reads its file at
# start), so a second up applies REFERD_REWARD_URL, or its absence.
conf_reward_url() {
	local want=${REFERD_REWARD_URL:-http://127.0.0.1:$((PORT + 2))/rewards} t
	for t in credit coupon points; do
		[ "$(conf_get "reward_url_$t")" = "$want" ] && continue
		say "reward_url_$t = $want"
		sed -i "s|^reward_url_$t[[:space:]]*=.*|reward_url_$t = $want|" "$CONF"
		DISPATCH_RESTART=1
	done
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
