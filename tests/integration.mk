# The integration test of sql/ on the stack's MariaDB: built by
# "make check", run by etc/dev/test (it needs the running database).
check_PROGRAMS += tests/itest_db
tests_itest_db_SOURCES = tests/itest_db.c
tests_itest_db_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_itest_db_LDADD = $(REFERD_LIBS) -lpthread
