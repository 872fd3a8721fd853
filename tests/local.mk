# tests/: unit tests, test plugins, integration tests of the core.
EXTRA_DIST += tests/lib.sh
include tests/plugins/plugins.mk
include tests/core/core.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include tests/rig/rig.mk
