#!/usr/bin/env bash
# tests/fuzz/run.sh [TARGET...]: builds the libFuzzer targets with clang
# (CC=clang ./configure --enable-fuzzing, out of tree in FUZZ_BUILD,
# default <repo>/build-fuzz) and runs each (default: every
# tests/fuzz/fuzz_*.c) for FUZZ_SECONDS (default 20) on a copy of its
# seed corpus, so the corpus in the repo never grows.  Fails on any crash,
# leak, sanitizer report, broken invariant or timeout; a failing input
# is kept in FUZZ_BUILD/artifacts/.  Prints the executions per target.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$top/tests/fuzz
BUILD=${FUZZ_BUILD:-$top/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
case $SECONDS_EACH in ''|*[!0-9]*|0) die "FUZZ_SECONDS: want a positive number" ;; esac

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$src"/fuzz_*.c; do
		f=${f##*/fuzz_}
		targets+=("${f%.c}")
	done
fi
for t in "${targets[@]}"; do
	[ -f "$src/fuzz_$t.c" ] || die "no target $t (tests/fuzz/fuzz_$t.c)"
	[ -d "$src/corpus/$t" ] || die "no seed corpus tests/fuzz/corpus/$t/"
done

command -v clang >/dev/null || die "clang not found (apt-get install clang libclang-rt-14-dev)"
# A configured source tree makes every out-of-tree configure refuse.
[ -f "$top/config.status" ] && die "$top is configured in place; run 'make distclean' there"
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
	(cd "$top" && autoreconf -fi >/dev/null 2>&1) || (cd "$top" && autoreconf -fi) ||
	    die "autoreconf failed"
fi
say "building fuzz targets in $BUILD"
mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ] || [ "$top/configure" -nt "$BUILD/Makefile" ]; then
	(cd "$BUILD" && CC=clang "$top/configure" --enable-fuzzing >configure.out 2>&1) ||
	    { tail -20 "$BUILD/configure.out"; die "configure --enable-fuzzing failed"; }
fi
progs=()
for t in "${targets[@]}"; do progs+=("tests/fuzz/fuzz_$t"); done
make -C "$BUILD" -j"$(nproc)" "${progs[@]}" >"$BUILD/make.out" 2>&1 ||
    { tail -40 "$BUILD/make.out"; die "building the fuzz targets failed"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/referd-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$BUILD/artifacts"

# UBSan stops at its first report, so libFuzzer records it like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
report=()
for t in "${targets[@]}"; do
	bin=$BUILD/tests/fuzz/fuzz_$t
	cp -r "$src/corpus/$t" "$tmp/corpus-$t"
	mkdir -p "$tmp/art-$t"
	dict=()
	[ -f "$src/$t.dict" ] && dict=("-dict=$src/$t.dict")
	say "fuzzing $t for $SECONDS_EACH s"
	"$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	    -artifact_prefix="$tmp/art-$t/" "${dict[@]}" \
	    "$tmp/corpus-$t" >"$tmp/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log" | tail -1)
	news=$(sed -n 's/^stat::new_units_added: *//p' "$tmp/$t.log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$tmp/$t.log" | tail -1)
	if [ $rc != 0 ] || [ -z "$execs" ] ||
	    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed|SUMMARY: ' "$tmp/$t.log"; then
		failed+=("$t")
		grep -B2 -A40 -m1 -E 'ERROR:|runtime error:|invariant failed' "$tmp/$t.log" | head -60
		tail -5 "$tmp/$t.log"
		for a in "$tmp/art-$t"/*; do
			[ -f "$a" ] || continue
			cp "$a" "$BUILD/artifacts/$t-${a##*/}"
			echo "failing input: $BUILD/artifacts/$t-${a##*/}"
			echo "reproduce: $bin $BUILD/artifacts/$t-${a##*/}"
		done
		printf '!!! fuzz target failed: %s (exit %s)\n' "$t" "$rc" >&2
	fi
	report+=("$(printf '%-8s %12s executions  %6s new units  cov %s' \
	    "$t" "${execs:-?}" "${news:-?}" "${cov:-?}")")
done

echo
say "fuzzing: ${#targets[@]} targets, $SECONDS_EACH s each"
for r in "${report[@]}"; do echo "    $r"; done
if [ ${#failed[@]} -gt 0 ]; then
	echo "    FAILED: ${failed[*]}"
	exit 1
fi
say "no crash, leak or sanitizer report"
