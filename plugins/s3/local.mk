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
endif
