# etc/: configs, the domain list, the systemd units, the files an
# installation needs (sysusers.d, tmpfiles.d, logrotate) and the
# developer-stack scripts.
dist_pkgdata_DATA = etc/disposable_domains.txt

# The systemd units, made from etc/systemd/*.in with the paths of this
# build.  Their directory comes from configure (systemd.pc, or
# --with-systemdsystemunitdir).
systemdsystemunit_DATA = etc/systemd/referd-fcgi.socket \
	etc/systemd/referd-fcgi.service etc/systemd/referd-dispatch.service \
	etc/systemd/referd-consume.service
CLEANFILES += $(systemdsystemunit_DATA)
EXTRA_DIST += etc/systemd/referd-fcgi.socket.in \
	etc/systemd/referd-fcgi.service.in etc/systemd/referd-dispatch.service.in \
	etc/systemd/referd-consume.service.in
# Only these names: SystemCallFilter=@system-service stays as it is.
referd_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g'
etc/systemd/referd-fcgi.socket: $(srcdir)/etc/systemd/referd-fcgi.socket.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(referd_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
etc/systemd/referd-fcgi.service: $(srcdir)/etc/systemd/referd-fcgi.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(referd_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
etc/systemd/referd-dispatch.service: $(srcdir)/etc/systemd/referd-dispatch.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(referd_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
etc/systemd/referd-consume.service: $(srcdir)/etc/systemd/referd-consume.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc/systemd && \
	$(referd_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@

# The referd account and /run/referd (systemd-sysusers, systemd-tmpfiles).
dist_sysusers_DATA = etc/sysusers.d/referd.conf
dist_tmpfiles_DATA = etc/tmpfiles.d/referd.conf
logrotatedir = $(sysconfdir)/logrotate.d
dist_logrotate_DATA = etc/logrotate.d/referd

# The web server configs, as examples: nginx's FastCGI parameters and a
# site, and the lighttpd and Apache templates of the developer stack.
nginxexampledir = $(pkgdatadir)/nginx
dist_nginxexample_DATA = etc/nginx/referd-fastcgi.conf etc/nginx/referd-site.conf \
	etc/nginx/referd-errors.conf
lighttpdexampledir = $(pkgdatadir)/lighttpd
dist_lighttpdexample_DATA = etc/lighttpd/referd.conf.in
lighttpderrorsdir = $(pkgdatadir)/lighttpd/errors
dist_lighttpderrors_DATA = etc/lighttpd/errors/400.html \
	etc/lighttpd/errors/405.html etc/lighttpd/errors/411.html \
	etc/lighttpd/errors/413.html etc/lighttpd/errors/414.html \
	etc/lighttpd/errors/431.html etc/lighttpd/errors/501.html \
	etc/lighttpd/errors/502.html etc/lighttpd/errors/503.html \
	etc/lighttpd/errors/504.html etc/lighttpd/errors/505.html
apacheexampledir = $(pkgdatadir)/apache
dist_apacheexample_DATA = etc/apache/referd.conf.in

dist_doc_DATA = README.md

# The configuration: installed once, never over an existing file (it
# holds the operator's secrets), mode 0640, group referd when that group
# exists (the Debian package sets it in postinst).  Its paths follow this
# build's pkgdatadir.
EXTRA_DIST += etc/referd.conf
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/referd'
	@if test -f '$(DESTDIR)$(sysconfdir)/referd/referd.conf'; then \
		echo "keeping $(DESTDIR)$(sysconfdir)/referd/referd.conf"; \
	else \
		sed 's|/usr/share/referd/|$(pkgdatadir)/|g' \
		    $(srcdir)/etc/referd.conf >referd.conf.tmp && \
		echo " $(INSTALL) -m 0640 referd.conf $(DESTDIR)$(sysconfdir)/referd/referd.conf" && \
		$(INSTALL) -m 0640 referd.conf.tmp \
		    '$(DESTDIR)$(sysconfdir)/referd/referd.conf' && \
		rm -f referd.conf.tmp && \
		{ chgrp referd '$(DESTDIR)$(sysconfdir)/referd/referd.conf' \
		    2>/dev/null || true; }; \
	fi
# Left in place, like any edited configuration file.
uninstall-local:
	@echo "not removing $(DESTDIR)$(sysconfdir)/referd/referd.conf (your configuration)"

EXTRA_DIST += \
	etc/dev/lib.sh etc/dev/up etc/dev/down etc/dev/test etc/dev/console \
	etc/dev/parts/25-webservers.sh etc/dev/parts/30-receiver.sh \
	etc/dev/parts/35-amqp.sh etc/dev/parts/40-dispatch.sh \
	etc/m4/.keep \
	.ci/run
