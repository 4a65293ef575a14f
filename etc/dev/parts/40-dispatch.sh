# etc/dev/parts/40-dispatch.sh: the outbox dispatcher (referd-dispatch) of
# the dev stack, a daemon with its pid in $RUN/referd-dispatch.pid and its
# log in $VAR/log/referd-dispatch.log.  Sourced by etc/dev/up.

part_start_40_dispatch() {
	local pidf=$RUN/referd-dispatch.pid
	if [ "${DISPATCH_RESTART:-0}" = 1 ] && pid_alive "$pidf"; then
		step "restarting the dispatcher for the new reward URL" "$VAR/log/referd-dispatch.log"
		stop_pidfile "$pidf" 15
	fi
	if pid_alive "$pidf"; then
		say "dispatcher already running (pid $(cat "$pidf"))"
		return 0
	fi
	step "starting the outbox dispatcher" "$VAR/log/referd-dispatch.log"
	"$BUILD/referd-dispatch" -c "$CONF" || die "referd-dispatch did not start"
	started "$pidf"
	wait_for "pid_alive '$pidf'" 10 || die "referd-dispatch did not start"
}
