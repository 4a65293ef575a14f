# core/: domain logic, no I/O.  Built into libreferd.a with sql/.
noinst_LIBRARIES += libreferd.a
libreferd_a_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(JSONC_CFLAGS) \
	$(CRYPTO_CFLAGS)
libreferd_a_SOURCES = \
	core/core.h \
	core/attr.c \
	core/code.c \
	core/conf.c \
	core/confcheck.c \
	core/conv.c \
	core/fsm.c \
	core/intake.c \
	core/intakesig.c \
	core/money.c \
	core/sig.c \
	core/sqlsplit.c \
	core/util.c
