# plugins/sanitise: the transform that rewrites rows and documents by rules
# (docs/sanitise.md).  The engine is a convenience library so the unit
# tests, fuzz targets and the benchmark drive it without the core.
noinst_LTLIBRARIES += plugins/sanitise/libsanitise.la
plugins_sanitise_libsanitise_la_SOURCES = \
	plugins/sanitise/rules.h \
	plugins/sanitise/rules.c \
	plugins/sanitise/rules_keyed.c \
	plugins/sanitise/rules_text.c \
	plugins/sanitise/json.c \
	plugins/sanitise/scan.c \
	plugins/sanitise/ddl.c \
	plugins/sanitise/apply.h \
	plugins/sanitise/apply.c
plugins_sanitise_libsanitise_la_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
SANITISE_LIBS = plugins/sanitise/libsanitise.la lib/libesutil.la $(JANSSON_LIBS) $(OPENSSL_LIBS)

pkglib_LTLIBRARIES += plugins/sanitise/sanitise.la
plugins_sanitise_sanitise_la_SOURCES = plugins/sanitise/plugin.c
plugins_sanitise_sanitise_la_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
plugins_sanitise_sanitise_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_sanitise_sanitise_la_LIBADD = $(SANITISE_LIBS)

# unit tests (Check)
if HAVE_CHECK
check_PROGRAMS += plugins/sanitise/tests/test_sanitise
TESTS += plugins/sanitise/tests/test_sanitise
plugins_sanitise_tests_test_sanitise_SOURCES = plugins/sanitise/tests/test_sanitise.c
plugins_sanitise_tests_test_sanitise_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/sanitise \
	$(JANSSON_CFLAGS) $(CHECK_CFLAGS)
plugins_sanitise_tests_test_sanitise_LDADD = $(SANITISE_LIBS) $(CHECK_LIBS)
endif

# fuzz targets (libFuzzer entry + a standalone driver running seeds and
# deterministic mutations as a regression test)
check_PROGRAMS += plugins/sanitise/tests/fuzz_rules plugins/sanitise/tests/fuzz_rows
TESTS += plugins/sanitise/tests/fuzz_rules plugins/sanitise/tests/fuzz_rows
plugins_sanitise_tests_fuzz_rules_SOURCES = plugins/sanitise/tests/fuzz_rules.c \
	plugins/sanitise/tests/fuzz_main.h
plugins_sanitise_tests_fuzz_rules_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/sanitise $(JANSSON_CFLAGS)
plugins_sanitise_tests_fuzz_rules_LDADD = $(SANITISE_LIBS)
plugins_sanitise_tests_fuzz_rows_SOURCES = plugins/sanitise/tests/fuzz_rows.c \
	plugins/sanitise/tests/fuzz_main.h
plugins_sanitise_tests_fuzz_rows_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/sanitise $(JANSSON_CFLAGS)
plugins_sanitise_tests_fuzz_rows_LDADD = $(SANITISE_LIBS)
EXTRA_DIST += \
	plugins/sanitise/tests/seeds/rules-full.rules \
	plugins/sanitise/tests/seeds/rules-bad1.rules \
	plugins/sanitise/tests/seeds/rules-bad2.rules \
	plugins/sanitise/tests/seeds/rules-index.rules \
	plugins/sanitise/tests/seeds/rows-basic.txt \
	plugins/sanitise/tests/seeds/rows-bad.txt \
	plugins/sanitise/tests/seeds/rows-docs.txt \
	plugins/sanitise/tests/seeds/rows-ddl.txt

# the plugin through the core with the test engine, and behind a minimal
# fake host (host_driver dlopens the .so); no server needed
check_PROGRAMS += plugins/sanitise/tests/host_driver
plugins_sanitise_tests_host_driver_SOURCES = plugins/sanitise/tests/host_driver.c
plugins_sanitise_tests_host_driver_LDADD = $(LIBS)
TESTS += plugins/sanitise/tests/plugin.sh plugins/sanitise/tests/driver.sh
dist_check_SCRIPTS += plugins/sanitise/tests/plugin.sh plugins/sanitise/tests/driver.sh

# benchmark: transform throughput alone (bench/sanitise/bench.sh)
noinst_PROGRAMS += bench/sanitise/bench_sanitise
bench_sanitise_bench_sanitise_SOURCES = bench/sanitise/bench_sanitise.c
bench_sanitise_bench_sanitise_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/sanitise $(JANSSON_CFLAGS)
bench_sanitise_bench_sanitise_LDADD = $(SANITISE_LIBS)
EXTRA_DIST += bench/sanitise/bench.sh bench/sanitise/cycle.sh

# end to end through real servers (skip without the rig)
TESTS += plugins/sanitise/tests/e2e-pg.sh plugins/sanitise/tests/e2e-mysql.sh
dist_check_SCRIPTS += plugins/sanitise/tests/e2e-pg.sh plugins/sanitise/tests/e2e-mysql.sh
dist_doc_DATA += docs/sanitise.md docs/benchmarks-sanitise.md
