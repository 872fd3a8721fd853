# plugins/elasticsearch: Elasticsearch / OpenSearch backup and restore
pkglib_LTLIBRARIES += plugins/elasticsearch/elasticsearch.la
plugins_elasticsearch_elasticsearch_la_SOURCES = \
	plugins/elasticsearch/es.h \
	plugins/elasticsearch/plugin.c \
	plugins/elasticsearch/client.c \
	plugins/elasticsearch/json.c \
	plugins/elasticsearch/backup.c \
	plugins/elasticsearch/restore.c \
	plugins/elasticsearch/snapshot.c
plugins_elasticsearch_elasticsearch_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBCURL_CFLAGS)
plugins_elasticsearch_elasticsearch_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_elasticsearch_elasticsearch_la_LIBADD = lib/libesutil.la $(JANSSON_LIBS) $(LIBCURL_LIBS) \
	$(OPENSSL_LIBS)

# The Elasticsearch-API test double (Python 3 standard library)
EXTRA_DIST += tests/es-server/es_server.py tests/es-server/README.md

# Tests: each starts its own test-double servers on kernel-chosen ports.
ES_TESTS = plugins/elasticsearch/tests/roundtrip.sh plugins/elasticsearch/tests/faults.sh \
	plugins/elasticsearch/tests/swap.sh plugins/elasticsearch/tests/snapshot.sh \
	plugins/elasticsearch/tests/auth.sh
TESTS += $(ES_TESTS)
dist_check_SCRIPTS += $(ES_TESTS)
EXTRA_DIST += plugins/elasticsearch/tests/es-lib.sh plugins/elasticsearch/tests/esutil.py
EXTRA_DIST += plugins/elasticsearch/README.md bench/elasticsearch/bench.sh \
	docs/benchmarks-elasticsearch.md

# Unit tests of the response scanner
check_PROGRAMS += plugins/elasticsearch/tests/test_json
TESTS += plugins/elasticsearch/tests/test_json
plugins_elasticsearch_tests_test_json_SOURCES = plugins/elasticsearch/tests/test_json.c \
	plugins/elasticsearch/json.c plugins/elasticsearch/client.c
plugins_elasticsearch_tests_test_json_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) \
	$(LIBCURL_CFLAGS)
plugins_elasticsearch_tests_test_json_LDADD = lib/libesutil.la $(CHECK_LIBS) $(JANSSON_LIBS) \
	$(LIBCURL_LIBS) $(OPENSSL_LIBS)
