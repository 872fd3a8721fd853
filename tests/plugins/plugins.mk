# tests/plugins: plugins that exist only for tests (built by make check).
# -rpath makes libtool build shared modules even though they are not installed.
TEST_PLUGIN_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
check_LTLIBRARIES += tests/plugins/testdb.la tests/plugins/testxform.la \
	tests/plugins/badabi.la tests/plugins/nophase.la tests/plugins/notplugin.la
tests_plugins_testdb_la_SOURCES = tests/plugins/testdb.c
tests_plugins_testdb_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_testxform_la_SOURCES = tests/plugins/testxform.c
tests_plugins_testxform_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_testxform_la_LIBADD = lib/libesutil.la
tests_plugins_badabi_la_SOURCES = tests/plugins/broken.c
tests_plugins_badabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DBAD_ABI
tests_plugins_badabi_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_nophase_la_SOURCES = tests/plugins/broken.c
tests_plugins_nophase_la_CPPFLAGS = $(AM_CPPFLAGS) -DNO_PHASE
tests_plugins_nophase_la_LDFLAGS = $(TEST_PLUGIN_LDFLAGS)
tests_plugins_notplugin_la_SOURCES = tests/plugins/broken.c
tests_plugins_notplugin_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
