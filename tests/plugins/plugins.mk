# tests/plugins/plugins.mk
