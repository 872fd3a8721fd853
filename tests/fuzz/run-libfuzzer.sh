#!/bin/sh
# run-libfuzzer.sh - build the fuzz targets with clang's libFuzzer + ASan/UBSan
# and run each for a while.  Not part of `make check` (see fuzz.mk).
#
#   tests/fuzz/run-libfuzzer.sh [SECONDS [TARGET...]]
#     SECONDS  per target (default 60)
#     TARGET   artifact_reader, rowcodec, mysql_literal (default: all)
#   FUZZ_WORKDIR=dir   keep binaries, corpora and crash files there
#                      (default: a new /tmp/envsync-fuzz.XXXXXX, kept)
#   CLANG=clang-14     compiler
#
# Exit status: 0 when no target crashed; otherwise libFuzzer's status, with
# the crashing input in the work dir (reproduce it with the standalone
# driver: `tests/fuzz/fuzz_<target> crash-...` in a build tree).
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-artifact_reader rowcodec mysql_literal}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_WORKDIR:-$(mktemp -d /tmp/envsync-fuzz.XXXXXX)}
cc=${CLANG:-clang}
mkdir -p "$work"

command -v "$cc" >/dev/null 2>&1 || { echo "run-libfuzzer: $cc not found (apt-get install clang)" >&2; exit 77; }

common="-g -O1 -fno-omit-frame-pointer -I$srcdir/include -I$srcdir/lib -I$srcdir/core -I$srcdir/tests/unit"
for t in $targets; do
    case $t in
    artifact_reader)
        srcs="$srcdir/core/artifact.c $srcdir/core/artifact_crypt.c"
        libs=$(pkg-config --cflags --libs libarchive libzstd zlib jansson libcrypto) ;;
    rowcodec)
        srcs="$srcdir/lib/rowcodec.c $srcdir/lib/buf.c"
        libs= ;;
    mysql_literal)
        srcs="$srcdir/plugins/mysql/literal.c $srcdir/lib/rowcodec.c $srcdir/lib/buf.c -I$srcdir/plugins/mysql"
        libs= ;;
    *)
        echo "run-libfuzzer: unknown target $t" >&2
        exit 2 ;;
    esac
    echo "== $t: building in $work"
    # shellcheck disable=SC2086
    "$cc" -fsanitize=fuzzer,address,undefined $common -o "$work/fuzz_$t" \
        "$srcdir/tests/fuzz/fuzz_$t.c" $srcs $libs
    # the seed corpus comes from the target's own fuzz_seeds()
    # shellcheck disable=SC2086
    "$cc" -fsanitize=address $common -o "$work/seed_$t" \
        "$srcdir/tests/fuzz/fuzz_$t.c" "$srcdir/tests/fuzz/driver.c" $srcs $libs
    mkdir -p "$work/corpus_$t"
    "$work/seed_$t" -w "$work/corpus_$t"
    echo "== $t: fuzzing for ${secs}s"
    "$work/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=262144 \
        -timeout=30 -artifact_prefix="$work/$t-" -print_final_stats=1 "$work/corpus_$t"
done
echo "run-libfuzzer: no crash; work dir $work"
