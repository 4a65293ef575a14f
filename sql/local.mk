# sql/: the data layer (part of libreferd.a) and the migrator.
libreferd_a_SOURCES += \
	sql/sql.h \
	sql/click.c \
	sql/code.c \
	sql/console.c \
	sql/db.c \
	sql/event.c \
	sql/outbox.c \
	sql/referral.c \
	sql/signup.c \
	sql/stats.c \
	sql/stmt.c

sbin_PROGRAMS += referd-migrate
referd_migrate_SOURCES = sql/migrate.c
referd_migrate_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) \
	-DMIGRATIONS_DIR='"$(pkgdatadir)/migrations"'
referd_migrate_LDADD = $(REFERD_LIBS)

migrationsdir = $(pkgdatadir)/migrations
dist_migrations_DATA = sql/migrations/001_initial.sql \
	sql/migrations/002_events_order.sql \
	sql/migrations/003_code_changes.sql \
	sql/migrations/004_audit_request.sql \
	sql/migrations/005_outbox_order.sql \
	sql/migrations/006_event_payment.sql \
	sql/migrations/007_signup_counters.sql \
	sql/migrations/008_event_time.sql \
	sql/migrations/009_outbox_purge.sql \
	sql/migrations/010_intake_order.sql \
	sql/migrations/011_outbox_maybe_sent.sql
