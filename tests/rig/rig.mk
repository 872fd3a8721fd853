# tests/rig/rig.mk - the real-server test rig (included by tests/local.mk).
# See tests/rig/README.md.

EXTRA_DIST += \
	tests/rig/README.md \
	tests/rig/rig-lib.sh \
	tests/rig/pg.sh \
	tests/rig/mysql.sh \
	tests/rig/s3.sh \
	tests/rig/start.sh \
	tests/rig/stop.sh \
	tests/rig/valgrind.supp

# Self-test: the servers named by $ENVSYNC_RIG_ENV really answer.
TESTS += tests/rig/test-rig.sh
dist_check_SCRIPTS += tests/rig/test-rig.sh

# Developer conveniences: a rig in the build tree.
#   make rig-start; make check ENVSYNC_RIG_ENV=$PWD/test-rig/env.sh; make rig-stop
RIG_DIR = $(abs_top_builddir)/test-rig
rig-start:
	$(SHELL) $(abs_top_srcdir)/tests/rig/start.sh '$(RIG_DIR)'
rig-stop:
	$(SHELL) $(abs_top_srcdir)/tests/rig/stop.sh '$(RIG_DIR)'

# Used by scripts/test-all.sh to know what to expect and what to run.
rig-print-tests:
	@echo $(TESTS)
rig-print-unit-programs:
	@echo $(filter tests/unit/%,$(check_PROGRAMS))

.PHONY: rig-start rig-stop rig-print-tests rig-print-unit-programs
