# fcgi/: the FastCGI program.  Its tests (tests/test_fcgi_http,
# tests/test_handlers) are built by tests/local.mk from FCGI_SOURCES.
sbin_PROGRAMS += referd-fcgi
FCGI_SOURCES = \
	fcgi/fcgi.h \
	fcgi/app.c \
	fcgi/auth.c \
	fcgi/body.c \
	fcgi/clicks.c \
	fcgi/codecache.c \
	fcgi/handlers.c \
	fcgi/http.c \
	fcgi/metrics.c
referd_fcgi_SOURCES = $(FCGI_SOURCES) fcgi/main.c fcgi/worker.c
referd_fcgi_CPPFLAGS = $(AM_CPPFLAGS) $(MARIADB_CFLAGS) $(FCGI_CFLAGS) \
	$(JSONC_CFLAGS) -I$(top_srcdir)/fcgi
referd_fcgi_LDADD = $(REFERD_LIBS) $(FCGI_LIBS) $(JSONC_LIBS)

EXTRA_DIST += etc/nginx/referd.conf.in etc/dev/parts/20-fcgi.sh
