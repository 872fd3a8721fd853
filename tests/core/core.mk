# tests/core/core.mk
