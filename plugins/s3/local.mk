# plugins/s3: S3 storage plugin (store, fetch, list, remove)
pkglib_LTLIBRARIES += plugins/s3/s3.la
plugins_s3_s3_la_SOURCES = plugins/s3/plugin.c plugins/s3/multipart.c \
	plugins/s3/fetch.c plugins/s3/credentials.c plugins/s3/xml.c plugins/s3/s3.h
plugins_s3_s3_la_CFLAGS = $(AM_CFLAGS) $(LIBCURL_CFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBXML2_CFLAGS) $(JANSSON_CFLAGS)
plugins_s3_s3_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_s3_s3_la_LIBADD = lib/libesutil.la $(LIBCURL_LIBS) $(OPENSSL_LIBS) \
	$(LIBXML2_LIBS) $(JANSSON_LIBS)

if HAVE_CHECK
check_PROGRAMS += plugins/s3/tests/test_sigv4
TESTS += plugins/s3/tests/test_sigv4
plugins_s3_tests_test_sigv4_SOURCES = plugins/s3/tests/test_sigv4.c
plugins_s3_tests_test_sigv4_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(OPENSSL_CFLAGS)
plugins_s3_tests_test_sigv4_LDADD = lib/libesutil.la $(CHECK_LIBS) $(OPENSSL_LIBS)
check_PROGRAMS += plugins/s3/tests/test_xml
TESTS += plugins/s3/tests/test_xml
plugins_s3_tests_test_xml_SOURCES = plugins/s3/tests/test_xml.c plugins/s3/xml.c
plugins_s3_tests_test_xml_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBXML2_CFLAGS) \
	$(LIBCURL_CFLAGS)
plugins_s3_tests_test_xml_LDADD = $(CHECK_LIBS) $(LIBXML2_LIBS)
endif

# fuzz target (tests/fuzz/fuzz.h): XML parsers and SigV4 canonicalisation
check_PROGRAMS += plugins/s3/tests/fuzz_s3
TESTS += plugins/s3/tests/fuzz_s3
plugins_s3_tests_fuzz_s3_SOURCES = plugins/s3/tests/fuzz_s3.c plugins/s3/xml.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
plugins_s3_tests_fuzz_s3_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/fuzz
plugins_s3_tests_fuzz_s3_CFLAGS = $(AM_CFLAGS) $(LIBXML2_CFLAGS) $(LIBCURL_CFLAGS)
plugins_s3_tests_fuzz_s3_LDADD = lib/libesutil.la $(LIBXML2_LIBS)

# s3drive: the plugin's storage callbacks behind a minimal host (plugin-level
# tests, benchmark)
check_PROGRAMS += plugins/s3/tests/s3drive
plugins_s3_tests_s3drive_SOURCES = plugins/s3/tests/s3drive.c

# integration tests against the real S3 (need_s3); helpers: an independent
# stdlib S3 client, a fault-injecting proxy, fake credential endpoints
S3_TESTS = plugins/s3/tests/s3-roundtrip.sh plugins/s3/tests/s3-errors.sh \
	plugins/s3/tests/s3-abort.sh plugins/s3/tests/s3-list.sh \
	plugins/s3/tests/s3-faults.sh plugins/s3/tests/s3-credentials.sh \
	plugins/s3/tests/s3-objects.sh plugins/s3/tests/s3-tls.sh \
	plugins/s3/tests/s3-kill.sh
TESTS += $(S3_TESTS)
dist_check_SCRIPTS += $(S3_TESTS)
EXTRA_DIST += plugins/s3/tests/s3lib.sh plugins/s3/tests/s3util.py \
	plugins/s3/tests/faultproxy.py plugins/s3/tests/fake_aws.py \
	bench/s3/bench.sh docs/benchmarks-s3.md plugins/s3/README.md
