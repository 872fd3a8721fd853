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

.PHONY: rig-start rig-stop
