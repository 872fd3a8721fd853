# tests/unit/unit.mk: Check-based unit tests (artifact layer, row codec,
# chunk pool, the MySQL plugin's SQL literals).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_artifact tests/unit/test_rowcodec tests/unit/test_chunkpool \
	tests/unit/test_mysql_literal
TESTS += tests/unit/test_artifact tests/unit/test_rowcodec tests/unit/test_chunkpool \
	tests/unit/test_mysql_literal

tests_unit_test_artifact_SOURCES = tests/unit/test_artifact.c tests/unit/artifact_testlib.h
tests_unit_test_artifact_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core
tests_unit_test_artifact_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBARCHIVE_CFLAGS) \
	$(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_test_artifact_LDADD = core/libartifact.la lib/libesutil.la $(CHECK_LIBS) \
	$(LIBARCHIVE_LIBS) $(JANSSON_LIBS) $(OPENSSL_LIBS)

tests_unit_test_rowcodec_SOURCES = tests/unit/test_rowcodec.c
tests_unit_test_rowcodec_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_rowcodec_LDADD = lib/libesutil.la $(CHECK_LIBS)

tests_unit_test_chunkpool_SOURCES = tests/unit/test_chunkpool.c
tests_unit_test_chunkpool_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_chunkpool_LDADD = lib/libesutil.la $(CHECK_LIBS)

tests_unit_test_mysql_literal_SOURCES = tests/unit/test_mysql_literal.c \
	tests/unit/mysql_literal_model.h plugins/mysql/literal.c plugins/mysql/literal.h
tests_unit_test_mysql_literal_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/mysql
tests_unit_test_mysql_literal_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_mysql_literal_LDADD = lib/libesutil.la $(CHECK_LIBS)
endif
