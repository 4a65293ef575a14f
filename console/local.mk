# console/: the ops console, referd-console (ncursesw).  Its test tools
# are built by tests/local.mk.
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

EXTRA_DIST += etc/dev/console
