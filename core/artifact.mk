# core/artifact.mk - the artifact layer (owned by the artifact work).
noinst_LTLIBRARIES += core/libartifact.la
core_libartifact_la_SOURCES = core/artifact.c core/artifact.h core/artifact_crypt.c core/artifact_crypt.h
core_libartifact_la_CFLAGS = $(AM_CFLAGS) $(LIBARCHIVE_CFLAGS) $(LIBZSTD_CFLAGS) $(ZLIB_CFLAGS) \
	$(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
core_libartifact_la_LIBADD = $(LIBARCHIVE_LIBS) $(LIBZSTD_LIBS) $(ZLIB_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS)
dist_doc_DATA += docs/artifact-format.md
