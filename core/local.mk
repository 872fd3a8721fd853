# core/: the envsync binary.  Everything but main.c is a convenience
# library so unit tests link the same code the binary runs.
noinst_LTLIBRARIES += core/libcore.la
core_libcore_la_SOURCES = \
	core/conf.c core/conf.h \
	core/loader.c core/loader.h \
	core/host.c core/run.c core/run.h \
	core/stored.c core/stored.h \
	core/lock.c core/lock.h \
	core/notify.c core/notify.h \
	core/log.c core/log.h \
	core/util.c core/util.h
CORE_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) $(LIBCURL_CFLAGS) \
	$(LIBARCHIVE_CFLAGS) $(LIBZSTD_CFLAGS) $(ZLIB_CFLAGS)
CORE_LIBS = core/libcore.la core/libartifact.la lib/libesutil.la \
	$(LIBCONFIG_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBCURL_LIBS) $(LIBARCHIVE_LIBS) \
	$(LIBZSTD_LIBS) $(ZLIB_LIBS)
core_libcore_la_CFLAGS = $(CORE_CFLAGS)

bin_PROGRAMS += envsync
envsync_SOURCES = core/main.c
envsync_CFLAGS = $(CORE_CFLAGS)
envsync_LDADD = $(CORE_LIBS)
# The core exports nothing to plugins: they reach it through envsync_host.
include core/artifact.mk
