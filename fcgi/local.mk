# fcgi/: the FastCGI program, its unit tests and the test signer.
sbin_PROGRAMS += referd-fcgi
FCGI_SOURCES = \
	fcgi/fcgi.h \
	fcgi/app.c \
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

# The handlers without a socket: routing, limits, auth, validators.
check_PROGRAMS += tests/test_fcgi_http
TESTS += tests/test_fcgi_http
tests_test_fcgi_http_SOURCES = tests/test_fcgi_http.c $(FCGI_SOURCES)
tests_test_fcgi_http_CPPFLAGS = $(referd_fcgi_CPPFLAGS)
tests_test_fcgi_http_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_test_fcgi_http_LDADD = $(REFERD_LIBS) $(JSONC_LIBS) $(CMOCKA_LIBS)

EXTRA_DIST += etc/nginx/referd.conf.in etc/dev/parts/20-fcgi.sh
