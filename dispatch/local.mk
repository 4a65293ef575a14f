# dispatch/: the outbox dispatcher daemon (SPEC.md section 6) and the
# benchmark.  Its tests are built by tests/local.mk.
sbin_PROGRAMS += referd-dispatch
referd_dispatch_SOURCES = dispatch/dispatch.h dispatch/engine.c \
	dispatch/main.c dispatch/metrics.c dispatch/policy.c dispatch/reward.c
referd_dispatch_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(CURL_CFLAGS)
referd_dispatch_LDADD = $(REFERD_LIBS) $(CURL_LIBS)

EXTRA_DIST += bench/dispatch bench/dispatch-nginx.conf \
	etc/dev/parts/30-receiver.sh etc/dev/parts/40-dispatch.sh
