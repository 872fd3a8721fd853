#!/bin/bash
# Every plugin exports exactly one symbol, envsync_plugin_entry, and the
# core binary exports nothing plugins could link against.
. "$top_srcdir/tests/lib.sh"
command -v nm >/dev/null || fail "nm (binutils) is required"
n=0
for so in "$top_builddir"/plugins/*/.libs/*.so; do
    [ -e "$so" ] || continue
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sort -u)
    [ "$syms" = envsync_plugin_entry ] || fail "$so exports: $syms"
    n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "expected at least 6 plugins, found $n"
note "$n plugins export only envsync_plugin_entry"
pass
