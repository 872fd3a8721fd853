#!/bin/bash
# A table altered during the backup: the dump is either a consistent
# snapshot or a clear failure, never a mix.  The backup's first table is
# read through a `where` predicate that waits for a user lock held by the
# test, so the ALTER provably happens after the snapshot and before the
# second table is read (a lock, not a timing guess).
#   1. ALTER TABLE b FORCE (rebuild): the dump fails with exit 7 naming b,
#      nothing is stored;
#   2. ALTER TABLE b ADD COLUMN (instant): either the same clear failure or
#      a dump of b as it was at the snapshot (old columns, old rows).
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_alt_src_$$
DST=esmy_alt_dst_$$
LOCK=esmy_gate_$$
holder=
trap 'my_drop "$SRC" "$DST"; [ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_sql -e "CREATE DATABASE \`$SRC\`"
mkdir -p "$T/store"
cat > "$T/envsync.conf" <<CONF
envsync: { environment = "test"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "alt";
    backup = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
               database = "$SRC"; jobs = 1; where = ( "a: gate() = 1" ); };
    store = { storage = "local"; };
}, {
    name = "altr";
    fetch = { storage = "local"; job = "alt"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                database = "$DST"; };
} );
CONF

# run_altered "ALTER ...": backup while the ALTER happens; sets rc and out
run_altered() {
    my_sql "$SRC" -e "
        DROP TABLE IF EXISTS a, b; DROP FUNCTION IF EXISTS gate;
        CREATE TABLE a (id INT PRIMARY KEY, pad CHAR(200));
        INSERT INTO a SELECT seq, 'x' FROM seq_1_to_3000;
        CREATE TABLE b (id INT PRIMARY KEY, v INT);
        INSERT INTO b VALUES (1, 1), (2, 2);
        CREATE FUNCTION gate() RETURNS INT NOT DETERMINISTIC RETURN GET_LOCK('$LOCK', 600);
        ANALYZE TABLE a, b;" > /dev/null
    my_sql -e "SELECT GET_LOCK('$LOCK', 0); SELECT SLEEP(600)" > /dev/null 2>&1 &
    holder=$!
    for _ in $(seq 1 600); do
        [ "$(my_sql -N -B -e "SELECT IS_USED_LOCK('$LOCK') IS NOT NULL")" = 1 ] && break
        sleep 0.1
    done
    "$ENVSYNC" -c "$T/envsync.conf" run alt > "$T/run.out" 2>&1 &
    local run=$! waiting=
    for _ in $(seq 1 1200); do
        waiting=$(my_sql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST
                                   WHERE INFO LIKE 'SELECT %gate()%' AND STATE LIKE '%lock%'")
        [ -n "$waiting" ] && break
        kill -0 "$run" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$waiting" ] || { cat "$T/run.out"; fail "the backup never waited on the gate"; }
    my_sql "$SRC" -e "$1"
    my_sql -e "KILL $(my_sql -N -B -e "SELECT IS_USED_LOCK('$LOCK')")"
    wait "$holder" 2>/dev/null || true
    holder=
    set +e
    wait "$run"
    rc=$?
    set -e
    out=$(cat "$T/run.out")
}

# 1. rebuild: a clear failure
run_altered "ALTER TABLE b FORCE"
expect_rc 7 "table rebuilt during the backup"
expect_out "table .*\\.b|b: " "the message names the table"
expect_out "definition has changed" "the message says why"
if ls "$T/store/alt"/*.envsync >/dev/null 2>&1; then fail "an artifact was stored"; fi

# 2. instant ADD COLUMN: failure, or b exactly as at the snapshot
run_altered "ALTER TABLE b ADD COLUMN w INT DEFAULT 5; UPDATE b SET v = 10"
if [ "$rc" = 7 ]; then
    expect_out "definition has changed" "instant ADD COLUMN"
else
    expect_rc 0 "instant ADD COLUMN"
    run_envsync -c "$T/envsync.conf" run altr
    expect_rc 0 "restore of the dump taken during ADD COLUMN"
    [ "$(my_sql -N -B -e "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS
                          WHERE TABLE_SCHEMA = '$DST' AND TABLE_NAME = 'b'")" = "id,v" ] ||
        fail "dump taken during ADD COLUMN: schema of b is not the snapshot's"
    [ "$(my_sql -N -B -e "SELECT GROUP_CONCAT(v ORDER BY id) FROM \`$DST\`.b")" = "1,2" ] ||
        fail "dump taken during ADD COLUMN: rows of b are not the snapshot's"
fi
pass
