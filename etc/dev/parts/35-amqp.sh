# etc/dev/parts/35-amqp.sh: with REFERD_AMQP=1, a private RabbitMQ node
# under $VAR/rabbitmq (AMQP on 127.0.0.1:$((PORT + 5)), Erlang distribution
# on +6, its own epmd on +7, its own Erlang cookie in its HOME) and
# referd-consume (SPEC.md section 12), log $VAR/log/referd-consume.log.
# Pid files: $RUN/epmd.pid, $RUN/rabbitmq.pid (the start script, which
# stops the node on TERM), $RUN/rabbitmq-beam.pid (the node itself,
# written by RabbitMQ) and $RUN/referd-consume.pid.  The rabbitmq-server
# package is never started as a system service.  Sourced by etc/dev/up.

amqp_port() { echo $((PORT + 5)); }

# The environment of the private node, for rabbitmq-server.
amqp_env() {
	local d=$VAR/rabbitmq
	echo HOME="$d/home" \
	    RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf" \
	    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
	    RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
	    RABBITMQ_MNESIA_BASE="$d/mnesia" \
	    RABBITMQ_LOG_BASE="$d/log" \
	    RABBITMQ_PID_FILE="$RUN/rabbitmq-beam.pid" \
	    RABBITMQ_NODENAME="referd$PORT@localhost" \
	    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
	    RABBITMQ_NODE_PORT="$(amqp_port)" \
	    RABBITMQ_DIST_PORT=$((PORT + 6)) \
	    ERL_EPMD_PORT=$((PORT + 7)) \
	    ERL_EPMD_ADDRESS=127.0.0.1
}

amqp_start_broker() {
	local d=$VAR/rabbitmq port; port=$(amqp_port)
	if pid_alive "$RUN/rabbitmq-beam.pid" && port_taken "$port"; then
		say "RabbitMQ already running (127.0.0.1:$port)"
		return 0
	fi
	port_free "$port" "RabbitMQ" "$RUN/rabbitmq.pid"
	mkdir -p "$d/home" "$d/mnesia" "$d/log"
	if [ ! -s "$d/home/.erlang.cookie" ]; then
		umask 077
		rand_token 20 >"$d/home/.erlang.cookie"
		umask 022
		chmod 400 "$d/home/.erlang.cookie"
	fi
	: >"$d/rabbitmq-env.conf"
	echo '[].' >"$d/enabled_plugins"
	cat >"$d/rabbitmq.conf" <<CNF
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
disk_free_limit.absolute = 50MB
CNF
	if ! pid_alive "$RUN/epmd.pid"; then
		step "starting epmd on 127.0.0.1:$((PORT + 7))" "$VAR/log/epmd.log"
		ERL_EPMD_ADDRESS=127.0.0.1 nohup epmd -port $((PORT + 7)) \
		    >>"$VAR/log/epmd.log" 2>&1 </dev/null &
		echo $! >"$RUN/epmd.pid"
		started "$RUN/epmd.pid"
	fi
	step "starting RabbitMQ on 127.0.0.1:$port" "$d/log/referd$PORT@localhost.log"
	rm -f "$RUN/rabbitmq-beam.pid"
	# shellcheck disable=SC2046
	nohup env $(amqp_env) /usr/lib/rabbitmq/bin/rabbitmq-server \
	    >>"$VAR/log/rabbitmq.out" 2>&1 </dev/null &
	echo $! >"$RUN/rabbitmq.pid"
	started "$RUN/rabbitmq.pid"
	wait_for "port_taken $port" 60 || die "RabbitMQ did not start"
	started "$RUN/rabbitmq-beam.pid"
}

amqp_start_consumer() {
	local pidf=$RUN/referd-consume.pid log=$VAR/log/referd-consume.log n
	if pid_alive "$pidf"; then
		say "referd-consume already running (pid $(cat "$pidf"))"
		return 0
	fi
	step "starting referd-consume" "$VAR/log/referd-consume.log"
	"$BUILD/referd-consume" -c "$CONF" -t >/dev/null ||
	    die "referd-consume: bad configuration"
	n=$(($(cat "$log" 2>/dev/null | wc -l) + 1))
	nohup "$BUILD/referd-consume" -c "$CONF" >>"$log" 2>&1 </dev/null &
	echo $! >"$pidf"
	started "$pidf"
	wait_for "tail -n +$n '$log' | grep -q 'consuming '" 30 ||
	    die "referd-consume did not start consuming"
}

part_start_35_amqp() {
	[ "${REFERD_AMQP:-0}" = 1 ] || return 0
	grep -q '^amqp_url' "$CONF" ||
	    echo "amqp_url = amqp://guest:guest@127.0.0.1:$(amqp_port)/%2f" >>"$CONF"
	amqp_start_broker
	amqp_start_consumer
}
