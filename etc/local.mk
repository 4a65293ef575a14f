# etc/: configs, the domain list and the developer-stack scripts.
dist_pkgdata_DATA = etc/disposable_domains.txt
EXTRA_DIST += \
	etc/referd.conf \
	etc/dev/lib.sh etc/dev/up etc/dev/down etc/dev/test etc/dev/console \
	etc/dev/parts/25-webservers.sh etc/dev/parts/30-receiver.sh \
	etc/dev/parts/40-dispatch.sh \
	etc/nginx/referd-fastcgi.conf \
	etc/lighttpd/referd.conf.in etc/apache/referd.conf.in \
	etc/systemd/referd-fcgi.socket etc/systemd/referd-fcgi.service \
	etc/systemd/referd-dispatch.service \
	etc/m4/.keep \
	README.md .ci/run
