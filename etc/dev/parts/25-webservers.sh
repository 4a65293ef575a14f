# etc/dev/parts/25-webservers.sh: lighttpd on 127.0.0.1:$((PORT + 3)) and
# Apache httpd (mod_proxy_fcgi) on 127.0.0.1:$((PORT + 4)), in front of the
# same referd-fcgi socket as nginx (20-fcgi.sh).  Pid files
# $RUN/lighttpd.pid and $RUN/apache.pid (etc/dev/down stops them), logs
# in $VAR/log.  Sourced by etc/dev/up (lib.sh already loaded); defines
# part_start_25_webservers and helpers tests/e2e/web_servers.sh uses.

# Who Apache's children run as: httpd refuses to serve as root.
web_apache_user() {
	if [ "$(id -u)" = 0 ]; then echo www-data; else id -un; fi
}
web_apache_group() {
	if [ "$(id -u)" = 0 ]; then echo www-data; else id -gn; fi
}
WEB_MODULES=${REFERD_APACHE_MODULES:-/usr/lib/apache2/modules}
WEB_APACHE=${REFERD_APACHE:-/usr/sbin/apache2}

# Renders etc/lighttpd/referd.conf.in into $VAR/lighttpd/lighttpd.conf.
web_lighttpd_conf() {
	mkdir -p "$VAR/lighttpd/htdocs" "$VAR/lighttpd/tmp" "$VAR/log"
	sed -e "s|@PORT@|$((PORT + 3))|g" -e "s|@VAR@|$VAR|g" \
	    -e "s|@RUN@|$RUN|g" -e "s|@SOCKET@|$(conf_get listen)|g" \
	    -e "s|@ERRORS@|$top/etc/lighttpd/errors|g" \
	    "$top/etc/lighttpd/referd.conf.in" >"$VAR/lighttpd/lighttpd.conf.new"
	mv "$VAR/lighttpd/lighttpd.conf.new" "$VAR/lighttpd/lighttpd.conf"
}

# web_apache_conf NAME PORT [FCGI_CONF]: renders etc/apache/referd.conf.in
# into $VAR/NAME/httpd.conf for the instance NAME.
web_apache_conf() {
	local name=$1 port=$2 fconf=${3:-} u g
	u=$(web_apache_user); g=$(web_apache_group)
	mkdir -p "$WRUN/$name/htdocs" "$VAR/$name/run" "$WRUN/$name/ipc" "$VAR/log"
	# mod_fcgid's process manager runs as the children's user, which
	# must reach its directory (lib.sh, WRUN).
	[ "$(id -u)" = 0 ] && chown "$u:$g" "$WRUN/$name" "$WRUN/$name/ipc"
	sed -e "s|@NAME@|$name|g" -e "s|@PORT@|$port|g" -e "s|@VAR@|$VAR|g" \
	    -e "s|@RUN@|$RUN|g" -e "s|@SOCKET@|$(conf_get listen)|g" \
	    -e "s|@WRUN@|$WRUN|g" \
	    -e "s|@MODULES@|$WEB_MODULES|g" -e "s|@USER@|$u|g" \
	    -e "s|@GROUP@|$g|g" -e "s|@FCGI@|$BUILD/referd-fcgi|g" \
	    -e "s|@FCGI_CONF@|$fconf|g" \
	    "$top/etc/apache/referd.conf.in" >"$VAR/$name/httpd.conf.new"
	mv "$VAR/$name/httpd.conf.new" "$VAR/$name/httpd.conf"
}

# web_apache NAME [apache2 options]: the private httpd of instance NAME.
# No APACHE_* variable: every path is in the file.
web_apache() {
	local name=$1; shift
	env -u APACHE_CONFDIR -u APACHE_RUN_DIR -u APACHE_PID_FILE \
	    -u APACHE_LOCK_DIR -u APACHE_LOG_DIR \
	    "$WEB_APACHE" -d "$VAR/$name" -f "$VAR/$name/httpd.conf" "$@"
}

# As root, Apache's children are www-data: the FastCGI socket must be in
# a group they are in.  New stacks say socket_group = www-data in
# referd.conf; an older one gets the group set on the socket here.
web_socket_access() {
	local sock g
	[ "$(id -u)" = 0 ] || return 0
	sock=$(conf_get listen); g=$(web_apache_group)
	[ -S "$sock" ] || return 0
	if [ "$(stat -c %G "$sock")" != "$g" ]; then
		warn "$sock: group $(stat -c %G "$sock"), Apache runs as $g;" \
		    "setting it (add socket_group = $g to $CONF)"
		chgrp "$g" "$sock"
	fi
}

part_start_25_webservers() {
	local lport=$((PORT + 3)) aport=$((PORT + 4))
	mkdir -p "$RUN" "$VAR/log"

	step "checking the lighttpd configuration" "$VAR/log/lighttpd-error.log"
	web_lighttpd_conf
	lighttpd -tt -f "$VAR/lighttpd/lighttpd.conf" >/dev/null ||
	    die "lighttpd rejects $VAR/lighttpd/lighttpd.conf"
	if pid_alive "$RUN/lighttpd.pid"; then
		say "lighttpd already running, reloading its configuration"
		# SIGUSR1: graceful restart with the re-read file.
		kill -USR1 "$(cat "$RUN/lighttpd.pid")"
	else
		step "starting lighttpd on 127.0.0.1:$lport" "$VAR/log/lighttpd-error.log"
		lighttpd -f "$VAR/lighttpd/lighttpd.conf" || die "lighttpd did not start"
		started "$RUN/lighttpd.pid"
	fi

	step "checking the Apache configuration" "$VAR/log/apache-check.log"
	web_socket_access
	web_apache_conf apache "$aport"
	web_apache apache -t >"$VAR/log/apache-check.log" 2>&1 ||
	    die "Apache rejects $VAR/apache/httpd.conf"
	if pid_alive "$RUN/apache.pid"; then
		say "Apache already running, reloading its configuration"
		web_apache apache -k graceful
	else
		step "starting Apache (mod_proxy_fcgi) on 127.0.0.1:$aport" "$VAR/log/apache-error.log"
		web_apache apache -k start || die "Apache did not start"
		started "$RUN/apache.pid"
	fi
	UP_STEP="waiting for http://127.0.0.1:$lport/healthz (lighttpd)"
	UP_LOG=$VAR/log/lighttpd-error.log
	wait_for "curl -fsS -o /dev/null http://127.0.0.1:$lport/healthz" 20 ||
	    die "http://127.0.0.1:$lport/healthz (lighttpd) does not answer"
	UP_STEP="waiting for http://127.0.0.1:$aport/healthz (Apache)"
	UP_LOG=$VAR/log/apache-error.log
	wait_for "curl -fsS -o /dev/null http://127.0.0.1:$aport/healthz" 20 ||
	    die "http://127.0.0.1:$aport/healthz (Apache) does not answer"
}
