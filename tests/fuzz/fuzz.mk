# tests/fuzz/fuzz.mk: fuzz targets, built with tests/fuzz/driver.c as
# ordinary check programs: each runs its seeds plus a few thousand
# deterministic mutations in `make check`.  tests/fuzz/run-libfuzzer.sh
# builds the same targets with clang -fsanitize=fuzzer,address.
check_PROGRAMS += tests/fuzz/fuzz_artifact_reader tests/fuzz/fuzz_rowcodec \
	tests/fuzz/fuzz_mysql_literal
TESTS += tests/fuzz/fuzz_artifact_reader tests/fuzz/fuzz_rowcodec \
	tests/fuzz/fuzz_mysql_literal

tests_fuzz_fuzz_artifact_reader_SOURCES = tests/fuzz/fuzz_artifact_reader.c \
	tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_artifact_reader_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-I$(top_srcdir)/tests/unit
tests_fuzz_fuzz_artifact_reader_LDADD = core/libartifact.la

tests_fuzz_fuzz_rowcodec_SOURCES = tests/fuzz/fuzz_rowcodec.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_rowcodec_CPPFLAGS = $(AM_CPPFLAGS)
tests_fuzz_fuzz_rowcodec_LDADD = lib/libesutil.la

tests_fuzz_fuzz_mysql_literal_SOURCES = tests/fuzz/fuzz_mysql_literal.c tests/fuzz/driver.c \
	tests/fuzz/fuzz.h plugins/mysql/literal.c plugins/mysql/literal.h
tests_fuzz_fuzz_mysql_literal_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/mysql \
	-I$(top_srcdir)/tests/unit
tests_fuzz_fuzz_mysql_literal_LDADD = lib/libesutil.la

EXTRA_DIST += tests/fuzz/run-libfuzzer.sh
