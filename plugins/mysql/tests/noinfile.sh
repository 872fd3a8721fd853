#!/bin/bash
# LOCAL INFILE disabled on the server: the restore falls back to batched
# multi-row INSERTs by itself, says so in the log, and the result is still
# equal to the source (same fidelity database as fidelity.sh).
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_noinf_src_$$
DST=esmy_noinf_dst_$$
orig=$(my_sql -N -B -e "SELECT @@GLOBAL.local_infile")
trap 'my_sql -e "SET GLOBAL local_infile = $orig"; my_drop "$SRC" "$DST"; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_fidelity_db "$SRC"
my_conf "$T/envsync.conf" noinf "$SRC" "$DST" 'jobs = 2; chunk_size = "64k";' 'jobs = 2;'

my_sql -e "SET GLOBAL local_infile = 0"
run_envsync -c "$T/envsync.conf" run noinf
my_sql -e "SET GLOBAL local_infile = $orig"
expect_rc 0 "restore with LOCAL INFILE disabled"
expect_out "refused LOAD DATA LOCAL INFILE.*INSERT" "the fallback is logged"
my_same "$SRC" "$DST" "INSERT fallback"
pass
