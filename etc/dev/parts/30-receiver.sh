# etc/dev/parts/30-receiver.sh: the demo reward receiver of the dev stack
# (tests/receiver/receiver.py) on 127.0.0.1:$((PORT + 2)).  It checks the
# outbound signature, applies each Idempotency-Key once and logs JSON lines
# to $VAR/log/receiver.log.  Not started when REFERD_REWARD_URL points the
# rewards elsewhere.  Sourced by etc/dev/up.

part_start_30_receiver() {
	local pidf=$RUN/receiver.pid port=$((PORT + 2))
	if [ -n "${REFERD_REWARD_URL:-}" ]; then
		say "reward receiver: not started (REFERD_REWARD_URL=$REFERD_REWARD_URL)"
		return 0
	fi
	if pid_alive "$pidf"; then
		say "reward receiver already running (127.0.0.1:$port)"
		return 0
	fi
	step "starting the demo reward receiver on 127.0.0.1:$port" "$VAR/log/receiver.out"
	nohup python3 "$top/tests/receiver/receiver.py" --mode demo \
	    --listen "127.0.0.1:$port" --secret-file "$CONF" \
	    --log "$VAR/log/receiver.log" --pidfile "$pidf" \
	    >>"$VAR/log/receiver.out" 2>&1 </dev/null &
	# Its pid file may not be written yet: the one of $! until it is.
	echo $! >"$pidf.start"
	started "$pidf.start"
	started "$pidf"
	wait_for "curl -fsS http://127.0.0.1:$port/_health" 15 ||
	    die "the reward receiver did not start"
	rm -f "$pidf.start"
}
