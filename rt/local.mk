# rt/: the runtime beside core (clocks, logger, files, process, daemon).
# Built into libreferd.a with core/ and sql/.
libreferd_a_SOURCES += \
	rt/rt.h \
	rt/clock.c \
	rt/daemon.c \
	rt/file.c \
	rt/log.c \
	rt/proc.c
