#!/bin/bash
# Fidelity: a database exercising types, DDL features, sequences and large
# objects goes backup -> file store -> fetch -> restore; the restored copy
# must equal the source (schema, data, sequences, large objects).  A second
# run restores over the existing target through the rename swap.
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst)
trap 'pg_drop "$src" "$dst"; rm -rf "$T"' EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\" TEMPLATE template0 ENCODING 'UTF8'"
q -d "$src" -f "$PG_FIXTURES/fidelity.sql" >/dev/null
# split_size: tables above 16k are copied in parallel page ranges
pg_conf "$T/es.conf" fidelity "$src" "$dst" 'split_size = "16k";'


run_envsync -c "$T/es.conf" run fidelity
expect_rc 0 "first run"
pg_exists "$dst" || fail "target $dst missing after the run"
pg_exists "${dst}_envsync_new" && fail "temporary database left behind"
# primary and unique keys of tables with data were built as plain unique
# indexes beside the table's other builds, then attached
echo "$out" | grep -Eq ', [1-9][0-9]* keys built as unique indexes and attached' ||
    fail "no key was built apart and attached: $(echo "$out" | grep 'post-data:')"
pg_snapshot "$src" "$T/src.txt"
sed -i "s/$dst/DBNAME/g" "$T/src.txt"
pg_snapshot "$dst" "$T/dst.txt"
diff -u "$T/src.txt" "$T/dst.txt" >&2 || fail "restored database differs from the source"
grep -q 'app.scalars|3|' "$T/dst.txt" || fail "snapshot lacks table data"

# triggers were not fired by the load, matviews refreshed, RLS data all there
[ "$(q -d "$dst" -c "SELECT count(*) FROM app.blobs WHERE note LIKE '%touched%'")" = 0 ] ||
    fail "a trigger fired during the load"
[ "$(q -d "$dst" -c "SELECT count(*) FROM app.event_counts")" = 2 ] || fail "matview not refreshed"
[ "$(q -d "$dst" -c "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'never_filled'")" = f ] ||
    fail "an unpopulated matview was populated"
# identity/serial continue where the source stopped
[ "$(q -d "$dst" -c "INSERT INTO app.ids (label) VALUES ('next') RETURNING id")" = \
  "$(q -d "$src" -c "INSERT INTO app.ids (label) VALUES ('next') RETURNING id")" ] ||
    fail "identity sequence not preserved"

# second run: the target exists, so the swap renames it away and drops it
q -d "$dst" -c "CREATE TABLE marker_of_old_copy (x int)"
run_envsync -c "$T/es.conf" run fidelity
expect_rc 0 "second run (swap)"
[ "$(q -d "$dst" -c "SELECT count(*) FROM pg_class WHERE relname = 'marker_of_old_copy'")" = 0 ] ||
    fail "second run did not replace the target"
pg_exists "${dst}_envsync_old" && fail "old copy not dropped"
pg_snapshot "$src" "$T/src2.txt"
sed -i "s/$dst/DBNAME/g" "$T/src2.txt"
pg_snapshot "$dst" "$T/dst2.txt"
diff -u "$T/src2.txt" "$T/dst2.txt" >&2 || fail "second restore differs from the source"
pass
