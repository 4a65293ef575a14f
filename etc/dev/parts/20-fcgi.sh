# etc/dev/parts/20-fcgi.sh: the FastCGI app and nginx in front of it.
# Sourced by etc/dev/up (lib.sh already loaded); defines part_start_20_fcgi.

# Renders etc/nginx/referd.conf.in into $VAR/nginx/nginx.conf.
fcgi_nginx_conf() {
	local sock workers keep
	sock=$(conf_get listen)
	workers=$(conf_get workers)
	keep=$(( ${workers:-4} - 1 ))
	[ "$keep" -ge 1 ] || keep=1
	mkdir -p "$VAR/nginx/tmp" "$VAR/log"
	# "user" means something only to a master started as root.
	local nouser=""
	[ "$(id -u)" = 0 ] || nouser='/^user @USER@/d'
	sed -e "$nouser" -e "s|@USER@|$(id -un)|g" -e "s|@GROUP@|$(id -gn)|g" \
	    -e "s|@PORT@|$PORT|g" -e "s|@VAR@|$VAR|g" -e "s|@RUN@|$RUN|g" \
	    -e "s|@SOCKET@|$sock|g" -e "s|@KEEPALIVE@|$keep|g" \
	    -e "s|@TOP@|$top|g" \
	    "$top/etc/nginx/referd.conf.in" >"$VAR/nginx/nginx.conf.new"
	mv "$VAR/nginx/nginx.conf.new" "$VAR/nginx/nginx.conf"
}

fcgi_nginx() {
	nginx -p "$VAR/nginx" -e "$VAR/log/nginx-error.log" \
	    -c "$VAR/nginx/nginx.conf" "$@"
}

part_start_20_fcgi() {
	mkdir -p "$RUN" "$VAR/log" "$RUN/metrics"
	if pid_alive "$RUN/referd-fcgi.pid"; then
		say "referd-fcgi already running"
	else
		step "starting referd-fcgi" "$VAR/log/referd-fcgi.log"
		"$BUILD/referd-fcgi" -c "$CONF" || die "referd-fcgi did not start"
		started "$RUN/referd-fcgi.pid"
	fi
	step "checking the nginx configuration" "$VAR/log/nginx-error.log"
	fcgi_nginx_conf
	fcgi_nginx -t -q || die "nginx rejects $VAR/nginx/nginx.conf"
	if pid_alive "$RUN/nginx.pid"; then
		say "nginx already running, reloading its configuration"
		fcgi_nginx -s reload
	else
		step "starting nginx on 127.0.0.1:$PORT" "$VAR/log/nginx-error.log"
		fcgi_nginx || die "nginx did not start"
		started "$RUN/nginx.pid"
	fi
	UP_STEP="waiting for http://127.0.0.1:$PORT/healthz (nginx)"
	UP_LOG=$VAR/log/referd-fcgi.log
	wait_for "curl -fsS -o /dev/null http://127.0.0.1:$PORT/healthz" 20 ||
	    die "http://127.0.0.1:$PORT/healthz does not answer"
}
