#!/bin/bash
# Big-table paths with real sizes: the automatic split plan (split_size
# unset: a table is cut into page ranges only when it is bigger than its
# share of the work, table data / jobs, and 32 MiB) and restore chunks of
# 2 MiB (1 MiB and more are mapped buffers the workers hand back to a
# pool).  The copy must equal the source either way.
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst)
trap 'pg_drop "$src" "$dst"; rm -rf "$T"' EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\""
# big: ~45 MiB of heap; small: a few pages
q -d "$src" >/dev/null <<'EOF2'
CREATE TABLE big (id bigint PRIMARY KEY, pad text NOT NULL);
INSERT INTO big SELECT g, repeat(md5(g::text), 9) FROM generate_series(1, 140000) g;
CREATE TABLE small (id int PRIMARY KEY, v text);
INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 500) g;
VACUUM ANALYZE;
EOF2
pg_snapshot "$src" "$T/src.snap"

cycle() {  # NAME JOBS [backup options]: run, then compare with the source
    pg_conf "$T/$1.conf" "$1" "$src" "$dst" "${3:-}"
    sed -i -e 's/chunk_size = "64k";/chunk_size = "2M";/' -e "s/jobs = ${ES_JOBS:-2}; chunk/jobs = $2; chunk/" "$T/$1.conf"
    run_envsync -c "$T/$1.conf" run "$1"
    expect_rc 0 "$1: full cycle"
    pg_snapshot "$dst" "$T/$1.snap"
    diff -u "$T/src.snap" "$T/$1.snap" >&2 || fail "$1: the copy differs from the source"
}

# jobs 2: big (45 of 45.1 MiB) is above its share -> page ranges
cycle auto 2
grep -q 'table public.big pages 0-' <<<"$out" || fail "auto: big was not split: $out"
grep -q 'table public.small: 500 rows' <<<"$out" || fail "auto: small was split or not logged"
# jobs 1: nothing to balance, no split
cycle single 1
grep -q 'pages' <<<"$out" && fail "jobs 1: a table was split"
# split_size = 0: never
cycle never 2 'split_size = "0";'
grep -q 'pages' <<<"$out" && fail "split_size 0: a table was split"
pass
