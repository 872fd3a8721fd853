# tests/core: lifecycle, config, loader and failure tests of the core, run
# with the test plugins and the file storage (no servers needed).
CORE_TESTS = \
	tests/core/roundtrip.sh \
	tests/core/config-errors.sh \
	tests/core/plugin-errors.sh \
	tests/core/integrity.sh \
	tests/core/failures.sh \
	tests/core/logging.sh \
	tests/core/out-of-tree.sh \
	tests/core/notify.sh \
	tests/core/lock.sh \
	tests/core/dry-run.sh \
	tests/core/lock-s3.sh \
	tests/core/dry-run-db.sh \
	tests/core/encryption.sh \
	tests/core/exports.sh \
	tests/core/examples.sh \
	tests/core/check-schema.sh \
	tests/core/report.sh
TESTS += $(CORE_TESTS)
dist_check_SCRIPTS += $(CORE_TESTS)
EXTRA_DIST += tests/core/common.sh tests/core/http_receiver.py docs/examples/rowcount.c

# Unit tests of config validation, the loader and core helpers (Check).
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/core/test_conf.c
tests_unit_test_conf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core
tests_unit_test_conf_CFLAGS = $(CORE_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_conf_LDADD = $(CORE_LIBS) $(CHECK_LIBS)
endif
