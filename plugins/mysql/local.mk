# plugins/mysql: MySQL/MariaDB backup and restore (issue 4)
pkglib_LTLIBRARIES += plugins/mysql/mysql.la
plugins_mysql_mysql_la_SOURCES = plugins/mysql/plugin.c plugins/mysql/conn.c \
	plugins/mysql/schema.c plugins/mysql/backup.c plugins/mysql/restore.c \
	plugins/mysql/literal.c plugins/mysql/literal.h plugins/mysql/my.h
plugins_mysql_mysql_la_CFLAGS = $(AM_CFLAGS) $(LIBMARIADB_CFLAGS) $(JANSSON_CFLAGS)
plugins_mysql_mysql_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mysql_mysql_la_LIBADD = lib/libesutil.la $(LIBMARIADB_LIBS) $(JANSSON_LIBS)

# integration tests (need the rig's MariaDB; skip without it)
MYSQL_TESTS = plugins/mysql/tests/fidelity.sh plugins/mysql/tests/failures.sh \
	plugins/mysql/tests/altered.sh \
	plugins/mysql/tests/kill.sh plugins/mysql/tests/noinfile.sh plugins/mysql/tests/options.sh \
	plugins/mysql/tests/snapshot-lock.sh plugins/mysql/tests/wide.sh \
	plugins/mysql/tests/load.sh plugins/mysql/tests/autoinc2.sh
TESTS += $(MYSQL_TESTS)
dist_check_SCRIPTS += $(MYSQL_TESTS)
EXTRA_DIST += plugins/mysql/tests/my-lib.sh plugins/mysql/tests/fidelity.sql \
	plugins/mysql/README.md

# benchmark (not a test): bench/mysql/bench.sh, results in docs/benchmarks-mysql.md
EXTRA_DIST += bench/mysql/bench.sh bench/mysql/gen.sql docs/benchmarks-mysql.md

# unit test of the DDL splitter (no server needed)
check_PROGRAMS += plugins/mysql/tests/split_create
TESTS += plugins/mysql/tests/split_create
plugins_mysql_tests_split_create_SOURCES = plugins/mysql/tests/split_create.c plugins/mysql/schema.c
plugins_mysql_tests_split_create_CFLAGS = $(AM_CFLAGS) $(LIBMARIADB_CFLAGS)
plugins_mysql_tests_split_create_LDADD = lib/libesutil.la
