# plugins/file: local directory storage (the default storage).
pkglib_LTLIBRARIES += plugins/file/file.la
plugins_file_file_la_SOURCES = plugins/file/file.c
plugins_file_file_la_CPPFLAGS = $(AM_CPPFLAGS) -include config.h
plugins_file_file_la_LDFLAGS = $(PLUGIN_LDFLAGS)
