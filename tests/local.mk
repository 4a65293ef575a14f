# tests/: every test program of the tree, and nothing else does tests.
# tests/README says how to run one unit test, one e2e suite, one fuzzer.
#
#   make check		the cmocka unit tests, and tests/itest_db, which
#			exits 77 (SKIP) unless REFERD_TEST_CONF names the
#			referd.conf of a running stack (etc/dev/test runs it
#			explicitly after etc/dev/up)
#   make		also the seed tools the e2e suites run
#   make fuzz		the libFuzzer targets (--enable-fuzzing, CC=clang)

# ---------------------------------------------------------------- unit
UNIT_TESTS = \
	tests/test_intake \
	tests/test_attr \
	tests/test_code \
	tests/test_conf \
	tests/test_conv \
	tests/test_fcgi_http \
	tests/test_fsm \
	tests/test_handlers \
	tests/test_money \
	tests/test_payload \
	tests/test_policy \
	tests/test_sig \
	tests/test_sqlsplit \
	tests/test_util
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_LDADD = $(REFERD_LIBS) $(CMOCKA_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
# The shared fixture: a conf for tests and the webhook signer.
FIXTURE = tests/fixture.h tests/fixture.c

tests_test_attr_SOURCES = tests/test_attr.c
tests_test_attr_CFLAGS = $(UNIT_CFLAGS)
tests_test_attr_LDADD = $(UNIT_LDADD)
tests_test_code_SOURCES = tests/test_code.c
tests_test_code_CFLAGS = $(UNIT_CFLAGS)
tests_test_code_LDADD = $(UNIT_LDADD)
tests_test_conf_SOURCES = tests/test_conf.c
tests_test_conf_CFLAGS = $(UNIT_CFLAGS) $(MARIADB_CFLAGS)
tests_test_conf_LDADD = $(UNIT_LDADD)
tests_test_conv_SOURCES = tests/test_conv.c
tests_test_conv_CFLAGS = $(UNIT_CFLAGS)
tests_test_conv_LDADD = $(UNIT_LDADD)
tests_test_fsm_SOURCES = tests/test_fsm.c
tests_test_fsm_CFLAGS = $(UNIT_CFLAGS)
tests_test_fsm_LDADD = $(UNIT_LDADD)
tests_test_intake_SOURCES = tests/test_intake.c
tests_test_intake_CFLAGS = $(UNIT_CFLAGS)
tests_test_intake_LDADD = $(UNIT_LDADD)
tests_test_money_SOURCES = tests/test_money.c
tests_test_money_CFLAGS = $(UNIT_CFLAGS)
tests_test_money_LDADD = $(UNIT_LDADD)
tests_test_payload_SOURCES = tests/test_payload.c
tests_test_payload_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(JSONC_CFLAGS)
tests_test_payload_CFLAGS = $(UNIT_CFLAGS)
tests_test_payload_LDADD = $(UNIT_LDADD)
tests_test_sig_SOURCES = tests/test_sig.c $(FIXTURE)
tests_test_sig_CFLAGS = $(UNIT_CFLAGS)
tests_test_sig_LDADD = $(UNIT_LDADD)
tests_test_sqlsplit_SOURCES = tests/test_sqlsplit.c
tests_test_sqlsplit_CFLAGS = $(UNIT_CFLAGS)
tests_test_sqlsplit_LDADD = $(UNIT_LDADD)
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_test_util_LDADD = $(UNIT_LDADD)

# The dispatcher's delivery policy (dispatch/policy.c).
tests_test_policy_SOURCES = tests/test_policy.c dispatch/policy.c
tests_test_policy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/dispatch $(MARIADB_CFLAGS) \
	$(CURL_CFLAGS)
tests_test_policy_CFLAGS = $(UNIT_CFLAGS)
tests_test_policy_LDADD = $(UNIT_LDADD) $(CURL_LIBS)

# referd-fcgi's request path without a socket (every fcgi/ source but
# main.c and worker.c).  test_fcgi_http: routing, limits, auth and the
# validators, with the database away (503); test_handlers: the handlers'
# answers with fake data operations (struct data_ops) in its place.
FCGI_TEST_SOURCES = $(FIXTURE) tests/fixture_app.c $(FCGI_SOURCES)
tests_test_fcgi_http_SOURCES = tests/test_fcgi_http.c $(FCGI_TEST_SOURCES)
tests_test_fcgi_http_CPPFLAGS = $(referd_fcgi_CPPFLAGS)
tests_test_fcgi_http_CFLAGS = $(UNIT_CFLAGS)
tests_test_fcgi_http_LDADD = $(UNIT_LDADD) $(JSONC_LIBS)
tests_test_handlers_SOURCES = tests/test_handlers.c $(FCGI_TEST_SOURCES)
tests_test_handlers_CPPFLAGS = $(referd_fcgi_CPPFLAGS)
tests_test_handlers_CFLAGS = $(UNIT_CFLAGS)
tests_test_handlers_LDADD = $(UNIT_LDADD) $(JSONC_LIBS)

# ---------------------------------------------------------------- integration
# sql/ on a real MariaDB.  In "make check" it SKIPs (77) without
# REFERD_TEST_CONF; etc/dev/test runs it with -c after etc/dev/up, where a
# SKIP would be a failure.
check_PROGRAMS += tests/itest_db
TESTS += tests/itest_db
tests_itest_db_SOURCES = tests/itest_db.c
tests_itest_db_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_itest_db_LDADD = $(REFERD_LIBS) -lpthread

# ---------------------------------------------------------------- e2e tools
# tests/referd-seed: creates, converts, holds, approves and voids referrals
# through the data layer (the same calls as the API) for tests/e2e.
noinst_PROGRAMS += tests/referd-seed
tests_referd_seed_SOURCES = tests/seed.c
tests_referd_seed_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_referd_seed_LDADD = $(REFERD_LIBS)

# tests/console_seed: the data set of tests/e2e/console_*.sh.
noinst_PROGRAMS += tests/console_seed
tests_console_seed_SOURCES = tests/console_seed.c
tests_console_seed_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_console_seed_LDADD = $(REFERD_LIBS)

# ---------------------------------------------------------------- fuzz
# libFuzzer targets, built only by ./configure --enable-fuzzing (CC=clang),
# run by tests/fuzz/run.sh.  "make fuzz" builds just them.
#
# Adding a target <name>: write tests/fuzz/fuzz_<name>.c (one
# LLVMFuzzerTestOneInput, invariants checked with FUZZ_CHECK from fuzz.h),
# put a few seeds in tests/fuzz/corpus/<name>/ (and optionally a libFuzzer
# dictionary tests/fuzz/<name>.dict), add tests/fuzz/fuzz_<name> to
# FUZZ_TARGETS and give it the three lines the others have.  run.sh picks
# up every tests/fuzz/fuzz_*.c by itself.  A target for code outside
# libreferd.a (the request-body validators in fcgi/) lists that code's
# sources or library in its _SOURCES/_LDADD and the libraries it needs,
# as fuzz_body does below.
FUZZ_TARGETS = \
	tests/fuzz/fuzz_b64 \
	tests/fuzz/fuzz_body \
	tests/fuzz/fuzz_code \
	tests/fuzz/fuzz_conf \
	tests/fuzz/fuzz_money \
	tests/fuzz/fuzz_sig \
	tests/fuzz/fuzz_userid \
	tests/fuzz/fuzz_utf8
FUZZ_LIBS = $(REFERD_LIBS)
FUZZ_LINKFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer

if FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
fuzz: $(FUZZ_TARGETS)
else
fuzz:
	@echo "fuzz: configure with CC=clang --enable-fuzzing" >&2; exit 1
endif
.PHONY: fuzz

tests_fuzz_fuzz_b64_SOURCES = tests/fuzz/fuzz_b64.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_b64_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_b64_LDADD = $(FUZZ_LIBS)
# The request path of referd-fcgi: every fcgi/ source but main.c and
# worker.c (the socket), as tests/test_fcgi_http uses them.
tests_fuzz_fuzz_body_SOURCES = tests/fuzz/fuzz_body.c tests/fuzz/fuzz.h \
	$(FCGI_SOURCES)
tests_fuzz_fuzz_body_CPPFLAGS = $(referd_fcgi_CPPFLAGS)
tests_fuzz_fuzz_body_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_body_LDADD = $(FUZZ_LIBS) $(JSONC_LIBS)
tests_fuzz_fuzz_code_SOURCES = tests/fuzz/fuzz_code.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_code_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_code_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_conf_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_money_SOURCES = tests/fuzz/fuzz_money.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_money_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_money_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_sig_SOURCES = tests/fuzz/fuzz_sig.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sig_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_sig_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_userid_SOURCES = tests/fuzz/fuzz_userid.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_userid_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_userid_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_utf8_SOURCES = tests/fuzz/fuzz_utf8.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_utf8_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_utf8_LDADD = $(FUZZ_LIBS)

# ---------------------------------------------------------------- the rest
# Scripts and data: the suites, their helpers, the fuzzers' seeds.  The
# C sources above are distributed whatever the conditionals.
EXTRA_DIST += \
	tests/README \
	tests/e2e \
	tests/fault \
	tests/lib \
	tests/receiver \
	tests/fuzz/run.sh \
	tests/fuzz/conf.dict \
	tests/fuzz/sig.dict \
	tests/fuzz/corpus
