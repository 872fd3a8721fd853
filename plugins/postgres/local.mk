# plugins/postgres: PostgreSQL backup and restore (libpq; pg_dump for DDL)
pkglib_LTLIBRARIES += plugins/postgres/postgres.la
plugins_postgres_postgres_la_SOURCES = \
	plugins/postgres/pg.h \
	plugins/postgres/plugin.c \
	plugins/postgres/conn.c \
	plugins/postgres/ddl.c \
	plugins/postgres/backup.c \
	plugins/postgres/restore.c \
	plugins/postgres/dbsettings.h \
	plugins/postgres/dbsettings.c
plugins_postgres_postgres_la_CPPFLAGS = $(AM_CPPFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
plugins_postgres_postgres_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_postgres_postgres_la_LIBADD = lib/libesutil.la $(LIBPQ_LIBS) $(JANSSON_LIBS)

# Integration tests against a real PostgreSQL (the rig's; skipped without it).
PG_TESTS = \
	plugins/postgres/tests/fidelity.sh \
	plugins/postgres/tests/failures.sh \
	plugins/postgres/tests/swap.sh \
	plugins/postgres/tests/concurrent.sh \
	plugins/postgres/tests/options.sh \
	plugins/postgres/tests/dbsettings.sh \
	plugins/postgres/tests/chunks.sh
TESTS += $(PG_TESTS)
dist_check_SCRIPTS += $(PG_TESTS)
EXTRA_DIST += \
	plugins/postgres/README.md \
	plugins/postgres/tests/pg-lib.sh \
	plugins/postgres/tests/fidelity.sql \
	bench/postgres/bench.sh

# Unit tests (no server): SQL splitting and owner-statement recognition.
check_PROGRAMS += plugins/postgres/tests/split-test
TESTS += plugins/postgres/tests/split-test
plugins_postgres_tests_split_test_SOURCES = plugins/postgres/tests/split-test.c \
	plugins/postgres/ddl.c plugins/postgres/conn.c plugins/postgres/pg.h
plugins_postgres_tests_split_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/postgres $(LIBPQ_CFLAGS)
plugins_postgres_tests_split_test_LDADD = lib/libesutil.la $(LIBPQ_LIBS)

# Unit tests (no server): "SET name TO value" from database settings.
check_PROGRAMS += plugins/postgres/tests/dbsettings-test
TESTS += plugins/postgres/tests/dbsettings-test
plugins_postgres_tests_dbsettings_test_SOURCES = plugins/postgres/tests/dbsettings-test.c \
	plugins/postgres/dbsettings.c plugins/postgres/dbsettings.h plugins/postgres/conn.c \
	plugins/postgres/pg.h
plugins_postgres_tests_dbsettings_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/postgres \
	$(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
plugins_postgres_tests_dbsettings_test_LDADD = lib/libesutil.la $(LIBPQ_LIBS) $(JANSSON_LIBS)
