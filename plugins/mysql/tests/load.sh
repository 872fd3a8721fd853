#!/bin/bash
# Restore option load: "auto" sends the table that holds most of the data
# and has an AUTO_INCREMENT column as multi-row INSERTs (parallel LOAD DATA
# into it would serialise on InnoDB's AUTO-INC lock) and the others as
# LOAD DATA; "insert" sends every table as INSERTs, "infile" none.  Each
# copy of the fidelity database plus one dominant table equals the source;
# a bad value is a config error with file:line.  The backup spreads the
# chunks of the two big tables over the artifact instead of writing one
# table after the other.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_load_src_$$
DST=esmy_load_dst_$$
trap 'my_drop "$SRC" "$DST"; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_fidelity_db "$SRC"
my_dominant_table "$SRC"
my_sql "$SRC" <<'EOF2' || fail "generating the second table"
CREATE TABLE second (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    body text
) ENGINE=InnoDB;
INSERT INTO second (body) SELECT REPEAT(MD5(seq), 20) FROM seq_1_to_7000;
ANALYZE TABLE second;
EOF2

for load in auto insert infile; do
    my_drop "$DST"
    rm -rf "$T/store"
    my_conf "$T/envsync.conf" load "$SRC" "$DST" 'jobs = 2; chunk_size = "256k";' \
        "jobs = 2; load = \"$load\";"
    run_envsync -c "$T/envsync.conf" run load
    expect_rc 0 "load = $load"
    n=$(printf '%s\n' "$out" | grep -c "loading with multi-row INSERTs" || true)
    case $load in
    auto)
        # artifact order: how often the data entries switch between the two
        # big tables (one table after the other would be 1 switch)
        switches=$(tar -tf "$T"/store/load/*.envsync | awk -F/ '$1 == "data" {
                       t = $2; sub(/.*\./, "", t)
                       if (t == "dominant" || t == "second") { if (prev != "" && t != prev) n++; prev = t }
                   } END { print n + 0 }')
        [ "$switches" -ge 8 ] || fail "the chunks of dominant and second are not interleaved" \
            "($switches switches): $(tar -tf "$T"/store/load/*.envsync | grep -E 'dominant|second' | tr '\n' ' ')"

        expect_out "table dominant: loading with multi-row INSERTs: it holds [0-9]+% of the data" \
            "auto picks the dominant AUTO_INCREMENT table"
        [ "$n" = 1 ] || fail "auto: $n tables sent as INSERTs, expected only the dominant one:
$out" ;;
    insert)
        expect_out "loading every table with multi-row INSERTs" "insert says so"
        [ "$n" = 0 ] || fail "insert: per-table lines as well" ;;
    infile)
        [ "$n" = 0 ] || fail "infile: a table was sent as INSERTs:
$out"
        if printf '%s\n' "$out" | grep -q "every table with multi-row"; then fail "infile: INSERTs"; fi ;;
    esac
    # schema, data and every table's AUTO_INCREMENT
    my_same "$SRC" "$DST" "load = $load"
done

my_conf "$T/bad.conf" bad "$SRC" "$DST" '' 'load = "sideways";'
run_envsync -c "$T/bad.conf" run bad
expect_rc 3 "bad load"
expect_out 'bad.conf:[0-9]+.*load must be "auto", "infile" or "insert"' "bad load names file:line"
pass
