# tests/core: lifecycle, config, loader and failure tests of the core, run
# with the test plugins and the file storage (no servers needed).
CORE_TESTS = \
	tests/core/roundtrip.sh \
	tests/core/config-errors.sh \
	tests/core/plugin-errors.sh \
	tests/core/integrity.sh \
	tests/core/failures.sh \
	tests/core/logging.sh
TESTS += $(CORE_TESTS)
dist_check_SCRIPTS += $(CORE_TESTS)
EXTRA_DIST += tests/core/common.sh
