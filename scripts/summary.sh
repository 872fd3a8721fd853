#!/bin/bash
# scripts/summary.sh [BUILDDIR...] - count the automake test results
# (.trs files) of one or more build directories after `make check`, print
# the failures with the end of their logs, and end with the line
#     N passed, N failed, N skipped
# Exit status 0 only if nothing failed.  Default BUILDDIR: the current dir.
# (scripts/test-all.sh does the same for its own runs, plus valgrind, ASan
# and distcheck.)
set -uo pipefail
[ $# -gt 0 ] || set -- .
pass=0 failn=0 skip=0
failed=()
for dir in "$@"; do
    [ -d "$dir" ] || { echo "summary: no directory $dir" >&2; exit 2; }
    while IFS= read -r -d '' trs; do
        while read -r _ res; do
            case $res in
                PASS|XFAIL) pass=$((pass + 1)) ;;
                SKIP) skip=$((skip + 1)) ;;
                *) failn=$((failn + 1)); failed+=("$res ${trs%.trs}") ;;
            esac
        done < <(grep '^:test-result:' "$trs")
    # skip the dist tree distcheck leaves while it runs
    done < <(find "$dir" -name '*.trs' -not -path '*/_build/*' -print0 | sort -z)
done
for f in "${failed[@]}"; do
    echo "======== ${f%% *}: ${f#* }"
    [ -s "${f#* }.log" ] && tail -n 30 "${f#* }.log" | sed 's/^/  | /'
done
echo "$pass passed, $failn failed, $skip skipped"
[ "$failn" = 0 ]
