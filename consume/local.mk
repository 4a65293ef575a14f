# consume/: referd-consume, conversion events from an AMQP 0-9-1 queue
# (SPEC.md section 12).
sbin_PROGRAMS += referd-consume
referd_consume_SOURCES = consume/consume.h consume/main.c consume/msg.c
referd_consume_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(JSONC_CFLAGS) \
	$(RABBITMQ_CFLAGS) -I$(top_srcdir)/consume
referd_consume_LDADD = $(REFERD_LIBS) $(RABBITMQ_LIBS)

# The test publisher of tests/e2e/queue.sh.
noinst_PROGRAMS += tests/amqp_pub
tests_amqp_pub_SOURCES = tests/amqp_pub.c
tests_amqp_pub_CPPFLAGS = $(AM_CPPFLAGS) $(RABBITMQ_CFLAGS)
tests_amqp_pub_LDADD = $(RABBITMQ_LIBS)



# consume/msg.c's unit test (cmocka), part of make check.
check_PROGRAMS += tests/test_consume_msg
TESTS += tests/test_consume_msg
tests_test_consume_msg_SOURCES = tests/test_consume_msg.c consume/msg.c
tests_test_consume_msg_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) \
	$(JSONC_CFLAGS) -I$(top_srcdir)/consume
tests_test_consume_msg_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_consume_msg_LDADD = $(REFERD_LIBS) $(CMOCKA_LIBS)
