#!/usr/bin/env bash
# tests/e2e/zz_fuzz.sh: the fuzz suite of etc/dev/test: every libFuzzer
# target of tests/fuzz/ for FUZZ_SECONDS (default 15) each.  Needs no
# stack; named zz_ to run after the end-to-end suites.
export FUZZ_SECONDS=${FUZZ_SECONDS:-15}
exec "$(dirname "$0")/../fuzz/run.sh" "$@"
