# core/: the envsync binary.
bin_PROGRAMS += envsync
envsync_SOURCES = \
	core/main.c \
	core/conf.c core/conf.h \
	core/loader.c core/loader.h \
	core/host.c core/run.c core/run.h \
	core/stored.c core/stored.h \
	core/log.c core/log.h \
	core/util.c core/util.h
envsync_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBARCHIVE_CFLAGS) $(LIBZSTD_CFLAGS) $(ZLIB_CFLAGS)
envsync_LDADD = core/libartifact.la lib/libesutil.la \
	$(LIBCONFIG_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS) $(LIBARCHIVE_LIBS) \
	$(LIBZSTD_LIBS) $(ZLIB_LIBS)
# The core exports nothing to plugins: they reach it through envsync_host.
include core/artifact.mk
