# etc/: configs, the domain list and the developer-stack scripts.
dist_pkgdata_DATA = etc/disposable_domains.txt
EXTRA_DIST += \
	etc/dev/lib.sh etc/dev/up etc/dev/down etc/dev/test \
	etc/m4/.keep \
	tests/receiver/receiver.py tests/receiver/test_receiver.sh \
	README.md .ci/run
