#!/bin/bash
# Fidelity: a database using every MariaDB column type and schema object
# goes through backup -> file store -> fetch -> restore into another
# database and comes out equal: normalised mysqldump of schema, routines,
# triggers and events, per-table data hashes in key order, AUTO_INCREMENT.
# Run twice: into a missing target, then over the previous copy (swap).
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_fid_src_$$
DST=esmy_fid_dst_$$
trap 'my_drop "$SRC" "$DST"; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_fidelity_db "$SRC" "CHARACTER SET latin1 COLLATE latin1_swedish_ci"

my_conf "$T/envsync.conf" fid "$SRC" "$DST" 'jobs = 3; chunk_size = "64k";' 'jobs = 3;'
run_envsync -c "$T/envsync.conf" run fid
expect_rc 0 "first run (new target)"
my_same "$SRC" "$DST" "first run"
n=$(my_sql -N -B -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
[ "$n" = 0 ] || fail "temporary schemas left behind after the first run"
[ "$(my_sql -N -B -e "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$DST'")" = latin1_swedish_ci ] ||
    fail "target database collation not carried over"

# the second run swaps over the first copy (triggers, views, routines and
# events already exist there); a stale temp schema must be cleaned up
my_sql -e "CREATE DATABASE \`${DST}_envsync_new\`; CREATE TABLE \`${DST}_envsync_new\`.junk (a int)"
my_sql "$DST" -e "INSERT INTO child (id, parent_id) VALUES (99, 1); CREATE TABLE extra (a INT)"
run_envsync -c "$T/envsync.conf" run fid
expect_rc 0 "second run (swap over the previous copy)"
my_same "$SRC" "$DST" "second run"
n=$(my_sql -N -B -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
[ "$n" = 0 ] || fail "temporary schemas left behind after the second run"

# the triggers work in the target
my_sql "$DST" -e "INSERT INTO child (id, parent_id) VALUES (50, 1)"
[ "$(my_sql -N -B "$DST" -e "SELECT note FROM child WHERE id = 50")" = "ins:!" ] ||
    fail "triggers not active in the target"
[ "$(my_sql -N -B "$DST" -e "SELECT twice(21)")" = 42 ] || fail "function not usable"
pass
