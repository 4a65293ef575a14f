# bench/lib/ref-nginx.sh: the reference nginx of bench/run.  Sourced after
# etc/dev/lib.sh; uses VAR, RUN, PORT, CONF.
#
# It is the stack's own rendered nginx.conf ($VAR/nginx/nginx.conf, same
# worker count, access log, fastcgi settings and upstream keepalive) with
# only these changes: it listens on PORT+8, its upstream is the floor's
# socket instead of referd-fcgi's, its pid and log files are its own, and
# one more location, /c/{code}, is the ceiling: nginx answering the
# landing's 302 with the same headers by itself.

REF_PORT=$((PORT + 8))
REF_SOCK=$RUN/floor.sock

ref_nginx_conf() {
	local src=$VAR/nginx/nginx.conf dst=$VAR/nginx/bench-ref.conf
	local sock landing cookie maxage
	sock=$(conf_get listen)
	landing=$(conf_get landing_url)
	cookie=$(conf_get cookie_name)
	maxage=$(( $(conf_get attribution_window_days) * 86400 ))
	[ -f "$src" ] || die "no $src: is the stack up?"
	sed -e "s|^\([[:space:]]*pid[[:space:]]\).*;|\1$RUN/bench-ref-nginx.pid;|" \
	    -e "s|^\([[:space:]]*error_log[[:space:]]\)[^ ;]*|\1$VAR/log/bench-ref-nginx-error.log|" \
	    -e "s|^\([[:space:]]*access_log[[:space:]]\)[^ ;]*|\1$VAR/log/bench-ref-nginx-access.log|" \
	    -e "s|server unix:$sock;|server unix:$REF_SOCK;|" \
	    -e "s|listen 127.0.0.1:$PORT;|listen 127.0.0.1:$REF_PORT;|" \
	    "$src" | awk -v landing="$landing" -v cookie="$cookie" -v maxage="$maxage" '
	{ print }
	/^[[:space:]]*server_name / && !done {
		print "\t\t# bench/run: the ceiling, nginx alone."
		print "\t\tlocation ~ \"^/c/(?<code>[0-9A-Za-z]{1,32})$\" {"
		print "\t\t\tdefault_type application/json;"
		print "\t\t\tadd_header X-Request-Id $request_id always;"
		print "\t\t\tadd_header Cache-Control no-store always;"
		print "\t\t\tadd_header X-Content-Type-Options nosniff always;"
		print "\t\t\tadd_header Set-Cookie \"" cookie "=$code; Max-Age=" maxage "; Path=/; HttpOnly; Secure; SameSite=Lax\" always;"
		print "\t\t\treturn 302 \"" landing "?ref=$code\";"
		print "\t\t}"
		done = 1
	}' >"$dst.new"
	grep -q "unix:$REF_SOCK;" "$dst.new" && grep -q "127.0.0.1:$REF_PORT;" "$dst.new" ||
	    die "could not derive the reference nginx from $src"
	mv "$dst.new" "$dst"
}

ref_nginx() {
	nginx -p "$VAR/nginx" -e "$VAR/log/bench-ref-nginx-error.log" \
	    -c "$VAR/nginx/bench-ref.conf" "$@"
}

# Starts the floor (bench/floor, "workers" processes) and the reference
# nginx in front of it.  Both have pid files in $RUN: etc/dev/down stops them.
ref_start() {
	local w; w=$(conf_get workers)
	stop_pidfile "$RUN/bench-floor.pid" 5
	stop_pidfile "$RUN/bench-ref-nginx.pid" 5
	nohup "$BENCH_BIN/floor" -c "$CONF" -s "$REF_SOCK" -n "${w:-4}" \
	    -p "$RUN/bench-floor.pid" >>"$VAR/log/bench-floor.log" 2>&1 </dev/null &
	wait_for "[ -S '$REF_SOCK' ] && pid_alive '$RUN/bench-floor.pid'" 10 ||
	    die "bench/floor did not start"
	ref_nginx_conf
	ref_nginx -t -q || die "nginx rejects $VAR/nginx/bench-ref.conf"
	ref_nginx || die "the reference nginx did not start"
	wait_for "curl -fsS -o /dev/null -w '%{http_code}' http://127.0.0.1:$REF_PORT/c/ABC | grep -q 302" 10 ||
	    die "the reference nginx does not answer on $REF_PORT"
}

ref_stop() {
	stop_pidfile "$RUN/bench-ref-nginx.pid" 5
	stop_pidfile "$RUN/bench-floor.pid" 5
}
