# lib/: libesutil, a convenience library linked statically into the core and
# into plugins that need it (row codec, buffers, AWS SigV4, HTTP helpers).
# Plugins still link no core symbols: they carry their own copy.
noinst_LTLIBRARIES += lib/libesutil.la
lib_libesutil_la_SOURCES = lib/buf.c lib/buf.h lib/rowcodec.c lib/rowcodec.h \
	lib/chunkpool.c lib/chunkpool.h
lib_libesutil_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(LIBCURL_CFLAGS)
lib_libesutil_la_LIBADD = $(OPENSSL_LIBS) $(LIBCURL_LIBS)
include lib/aws.mk
