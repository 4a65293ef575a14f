# man/: the manual pages, in mdoc (mandoc -Tlint clean).
dist_man_MANS = man/referd-fcgi.8 man/referd-dispatch.8 \
	man/referd-console.8 man/referd-migrate.8 man/referd-consume.8 \
	man/referd.conf.5
