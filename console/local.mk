# console/: the ops console, referd-console (ncursesw).
bin_PROGRAMS += referd-console
referd_console_SOURCES = \
	console/console.h \
	console/cmd.c \
	console/draw.c \
	console/input.c \
	console/main.c \
	console/screen.c
referd_console_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(NCURSES_CFLAGS)
referd_console_LDADD = $(REFERD_LIBS) $(NCURSES_LIBS)

# The console's end-to-end tests seed their data set through the data
# layer with this tool (tests/e2e/console_*.sh run it).
noinst_PROGRAMS += tests/console_seed
tests_console_seed_SOURCES = tests/console_seed.c
tests_console_seed_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS)
tests_console_seed_LDADD = $(REFERD_LIBS)

EXTRA_DIST += etc/dev/console tests/e2e/console_lib.sh \
	tests/e2e/console_referrers.sh tests/e2e/console_actions.sh \
	tests/e2e/console_terminal.sh
