#!/bin/bash
# innodb_autoinc_lock_mode = 2 (MySQL 8's default; MariaDB's is 1): InnoDB
# then lets LOAD DATA statements into one AUTO_INCREMENT table run side by
# side, so load = "auto" sends every table, the dominant AUTO_INCREMENT one
# too, through LOAD DATA LOCAL INFILE, says why, and the copy still equals
# the source (schema, data hashes, AUTO_INCREMENT values).
#
# The lock mode can only be set at server start, so the test starts a
# private MariaDB of its own (port RIG_AUTOINC_MYSQL_PORT, default 13316)
# and stops it at the end.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
chmod 755 "$T"
trap 'bash "$top_srcdir/tests/rig/stop.sh" "$T/rig" > /dev/null 2>&1; rm -rf "$T"' EXIT
if ! RIG_MYSQL_PORT=${RIG_AUTOINC_MYSQL_PORT:-13316} \
     RIG_MYSQL_ARGS="--innodb-autoinc-lock-mode=2 --innodb-buffer-pool-size=64M --innodb-log-file-size=48M" \
     bash "$top_srcdir/tests/rig/start.sh" "$T/rig" mysql > "$T/start.log" 2>&1; then
    cat "$T/start.log" >&2
    fail "could not start a private MariaDB with innodb_autoinc_lock_mode = 2"
fi
# shellcheck disable=SC1091
. "$T/rig/env.sh"
[ "$(my_sql -N -B -e 'SELECT @@innodb_autoinc_lock_mode')" = 2 ] ||
    fail "the private server does not run with innodb_autoinc_lock_mode = 2"

SRC=esmy_ai2_src
DST=esmy_ai2_dst
my_fidelity_db "$SRC"
my_dominant_table "$SRC"

my_conf "$T/envsync.conf" ai2 "$SRC" "$DST" 'jobs = 2; chunk_size = "256k";' 'jobs = 2;'
run_envsync -c "$T/envsync.conf" run ai2
expect_rc 0 "restore with innodb_autoinc_lock_mode = 2"
expect_out "table dominant: loading with LOAD DATA although it holds [0-9]+% of the data: innodb_autoinc_lock_mode = 2" \
    "the log says why the dominant table is not sent as INSERTs"
if printf '%s\n' "$out" | grep -q "multi-row INSERTs"; then
    fail "a table was sent as INSERTs under innodb_autoinc_lock_mode = 2:
$out"
fi
my_same "$SRC" "$DST" "innodb_autoinc_lock_mode = 2"
pass
