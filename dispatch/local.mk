# dispatch/: the outbox dispatcher daemon (SPEC.md section 6), its unit
# test, the data-layer driver its end-to-end tests seed rewards with, and
# the benchmark.
sbin_PROGRAMS += referd-dispatch
referd_dispatch_SOURCES = dispatch/dispatch.h dispatch/engine.c \
	dispatch/main.c dispatch/metrics.c dispatch/policy.c dispatch/reward.c
referd_dispatch_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(CURL_CFLAGS)
referd_dispatch_LDADD = $(REFERD_LIBS) $(CURL_LIBS)

check_PROGRAMS += dispatch/test_policy
TESTS += dispatch/test_policy
dispatch_test_policy_SOURCES = dispatch/test_policy.c dispatch/policy.c
dispatch_test_policy_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(CURL_CFLAGS)
dispatch_test_policy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
dispatch_test_policy_LDADD = $(REFERD_LIBS) $(CURL_LIBS) $(CMOCKA_LIBS)

# tests/referd-seed: creates, converts, holds, approves and voids referrals
# through the data layer (the same calls as the API) for tests/e2e.
noinst_PROGRAMS += tests/referd-seed
tests_referd_seed_SOURCES = tests/seed.c
tests_referd_seed_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_referd_seed_LDADD = $(REFERD_LIBS)

EXTRA_DIST += bench/dispatch bench/dispatch-nginx.conf \
	tests/e2e/dispatch_lib.sh tests/e2e/dispatch_concurrent.sh \
	tests/e2e/dispatch_faults.sh tests/e2e/dispatch_kill.sh \
	tests/e2e/dispatch_lifecycle.sh etc/dev/parts/30-receiver.sh \
	etc/dev/parts/40-dispatch.sh
