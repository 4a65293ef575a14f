# tests/fuzz/: libFuzzer targets, built only by ./configure --enable-fuzzing
# (CC=clang), run by tests/fuzz/run.sh.  "make fuzz" builds just them.
#
# Adding a target <name>: write tests/fuzz/fuzz_<name>.c (one
# LLVMFuzzerTestOneInput, invariants checked with FUZZ_CHECK from fuzz.h),
# put a few seeds in tests/fuzz/corpus/<name>/ (and optionally a libFuzzer
# dictionary tests/fuzz/<name>.dict), add tests/fuzz/fuzz_<name> to
# FUZZ_TARGETS and give it the three lines the others have.  run.sh picks
# up every tests/fuzz/fuzz_*.c by itself.  A target for code outside
# libreferd.a (the request-body validators in fcgi/) lists that code's
# sources or library in its _SOURCES/_LDADD and the libraries it needs,
# e.g. for a validator built on json-c:
#	tests_fuzz_fuzz_body_SOURCES = tests/fuzz/fuzz_body.c fcgi/valid.c
#	tests_fuzz_fuzz_body_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
#	tests_fuzz_fuzz_body_LDADD = $(FUZZ_LIBS) $(JSONC_LIBS)
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

# The sources above are distributed whatever the conditional; these are
# not sources of anything.
EXTRA_DIST += \
	tests/fuzz/run.sh \
	tests/fuzz/conf.dict \
	tests/fuzz/sig.dict \
	tests/fuzz/corpus \
	tests/e2e/zz_fuzz.sh
