# scripts/local.mk - developer and CI scripts (see tests/rig/README.md).
EXTRA_DIST += \
	scripts/install-deps.sh \
	scripts/test-all.sh \
	scripts/summary.sh
