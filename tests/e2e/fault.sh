#!/usr/bin/env bash
# tests/e2e/fault.sh: the fault suite (tests/fault/NN_*.sh, see
# tests/fault/lib.sh) against the running stack ($REFERD_VAR,
# $REFERD_PORT), one test after another, then the figures of the whole
# suite: events tried, faults injected of each kind, rewards lost and
# rewards applied twice (both must be 0).  Exits non-zero if a test
# failed.  FAULT_TESTS="01 03" runs only those.
top=$(cd "$(dirname "$0")/../.." && pwd)
FAULT_FIGURES=$(mktemp "${TMPDIR:-/tmp}/referd-fault-figures.XXXXXX")
export FAULT_FIGURES
trap 'rm -f "$FAULT_FIGURES"' EXIT

n=0 failed=0 t00=$SECONDS
for t in "$top"/tests/fault/[0-9][0-9]_*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${FAULT_TESTS:-}" ]; then
		case " $FAULT_TESTS " in *" ${name%%_*} "*) ;; *) continue ;; esac
	fi
	n=$((n + 1))
	echo "# ---- tests/fault/$name"
	t0=$SECONDS
	# The test's own TAP lines, indented as a subtest.
	"$t" 2>&1 | sed -u 's/^/    /'
	rc=${PIPESTATUS[0]}
	if [ $rc = 0 ]; then
		echo "ok $n - tests/fault/$name ($((SECONDS - t0)) s)"
	else
		echo "not ok $n - tests/fault/$name ($((SECONDS - t0)) s, exit $rc)"
		failed=$((failed + 1))
	fi
done

# The figures: "name value" lines added up.
sum() { awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }' "$FAULT_FIGURES"; }
lost=$(sum rewards_lost)
twice=$(sum rewards_twice)
echo "# ---- figures ($((SECONDS - t00)) s)"
echo "# events tried (deliveries):    $(sum events_tried)"
echo "# distinct events under load:   $(sum events_distinct) (plus the scripted ones)"
echo "# rewards issued:               $(sum rewards)"
echo "# faults injected:"
awk '$1 ~ /^fault_/ { s[$1] += $2 } END { for (k in s) printf "#   %-32s %d\n", substr(k, 7), s[k] }' \
    "$FAULT_FIGURES" | sort
echo "# answers 503 during outages:   $(sum status_503_db_outage)"
echo "# answers 502 from killed workers: $(sum status_502_worker_kill)"
echo "# rewards lost:                 $lost"
echo "# rewards applied twice:        $twice"
echo "# revocations lost:             $(sum revocations_lost)"
echo "# per-reward order: grants applied $(sum grants_applied), revocations applied $(sum revocations_applied), grants cancelled $(sum grants_cancelled), out of order $(sum out_of_order)"
n=$((n + 1))
if [ "$(sum out_of_order)" = 0 ]; then
	echo "ok $n - no revocation received before its grant"
else
	echo "not ok $n - revocations received before their grant: $(sum out_of_order)"
	failed=$((failed + 1))
fi
n=$((n + 1))
if [ "$lost" = 0 ] && [ "$twice" = 0 ] && [ "$(sum rewards)" -gt 0 ]; then
	echo "ok $n - no reward lost, none applied twice"
else
	echo "not ok $n - rewards lost: $lost, applied twice: $twice"
	failed=$((failed + 1))
fi
echo "1..$n"
[ $failed = 0 ] || { echo "# $failed of $n failed"; exit 1; }
echo "# all $n passed"
