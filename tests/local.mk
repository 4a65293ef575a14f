# tests/: cmocka unit tests (make check) and the integration test binary
# that etc/dev/test runs against the private MariaDB.
UNIT_TESTS = \
	tests/test_attr \
	tests/test_code \
	tests/test_conf \
	tests/test_conv \
	tests/test_fsm \
	tests/test_money \
	tests/test_payload \
	tests/test_sig \
	tests/test_sqlsplit \
	tests/test_util
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_LDADD = $(REFERD_LIBS) $(CMOCKA_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
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
tests_test_money_SOURCES = tests/test_money.c
tests_test_money_CFLAGS = $(UNIT_CFLAGS)
tests_test_money_LDADD = $(UNIT_LDADD)
tests_test_payload_SOURCES = tests/test_payload.c
tests_test_payload_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(JSONC_CFLAGS)
tests_test_payload_CFLAGS = $(UNIT_CFLAGS)
tests_test_payload_LDADD = $(UNIT_LDADD)
tests_test_sig_SOURCES = tests/test_sig.c
tests_test_sig_CFLAGS = $(UNIT_CFLAGS)
tests_test_sig_LDADD = $(UNIT_LDADD)
tests_test_sqlsplit_SOURCES = tests/test_sqlsplit.c
tests_test_sqlsplit_CFLAGS = $(UNIT_CFLAGS)
tests_test_sqlsplit_LDADD = $(UNIT_LDADD)
tests_test_util_SOURCES = tests/test_util.c
tests_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_test_util_LDADD = $(UNIT_LDADD)

include $(srcdir)/tests/integration.mk
include $(srcdir)/tests/fuzz/local.mk
