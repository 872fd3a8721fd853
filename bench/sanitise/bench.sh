#!/bin/bash
# bench/sanitise/bench.sh - transform throughput of the sanitise engine.
#
#   bench/sanitise/bench.sh [BUILDDIR] [MiB]
#
# Runs bench_sanitise (built by `make` in BUILDDIR; configure WITHOUT
# --enable-debug, which means -O0) over generated rows for four rule mixes
# and prints one line each.  Throughput is reported per CPU-second (= per
# core: the engine is single-threaded per transform instance) and per wall
# second; on a loaded machine only the first is meaningful.
# Nothing is timed inside `make check`: this is run by hand.
set -eu
builddir=${1:-.}
mib=${2:-512}
bin="$builddir/bench/sanitise/bench_sanitise"
[ -x "$bin" ] || { echo "bench.sh: $bin not built (make bench/sanitise/bench_sanitise)" >&2; exit 1; }
if grep -q -- '-O0' "$builddir/Makefile" 2>/dev/null && grep -q '^ES_CFLAGS.*-O0' "$builddir/Makefile"; then
    echo "bench.sh: warning: $builddir is a debug (-O0) build; numbers will be low" >&2
fi
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cpu(s), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
for mode in "" -k -x -v -d; do
    best=""
    # three runs, keep the best per-CPU figure (least disturbed)
    for _ in 1 2 3; do
        line=$("$bin" -m "$mib" $mode)
        v=$(sed -n 's/.*mib_per_cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")
        if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN{exit !(a>b)}'; then
            best=$v; bestline=$line
        fi
    done
    echo "$bestline"
done
