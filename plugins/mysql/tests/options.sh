#!/bin/bash
# Options: include/exclude, exclude_data, where, keep_previous,
# mode = "replace", defer_indexes = false, jobs = 1.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_opt_src_$$
DST=esmy_opt_dst_$$
trap 'my_drop "$SRC" "$DST"; rm -rf "$T"' EXIT
q() { my_sql -N -B -e "$1"; }

my_drop "$SRC" "$DST"
my_sql -e "CREATE DATABASE \`$SRC\`"
my_sql "$SRC" -e "
    CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10), KEY kv (v));
    CREATE TABLE b (id INT PRIMARY KEY);
    CREATE TABLE c_log (id INT);
    CREATE TABLE secret (id INT PRIMARY KEY, token VARCHAR(40));
    INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z');
    INSERT INTO b VALUES (1), (2);
    INSERT INTO c_log VALUES (1);
    INSERT INTO secret VALUES (1, 'do-not-copy');"

my_conf "$T/envsync.conf" opt "$SRC" "$DST" \
    'exclude = ( "c_*" ); exclude_data = ( "secret" ); where = ( "a: id > 1" ); jobs = 1;' \
    'keep_previous = true;'
run_envsync -c "$T/envsync.conf" run opt
expect_rc 0 "run with include/exclude/where"
[ "$(q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DST'")" = "a,b,secret" ] ||
    fail "exclude: wrong tables in the target"
[ "$(q "SELECT GROUP_CONCAT(id ORDER BY id) FROM \`$DST\`.a")" = "2,3" ] || fail "where not applied"
[ "$(q "SELECT COUNT(*) FROM \`$DST\`.secret")" = 0 ] || fail "exclude_data: rows copied"
[ "$(q "SELECT COUNT(*) FROM \`$DST\`.b")" = 2 ] || fail "table b incomplete"

# keep_previous: the replaced tables stay in <db>_envsync_old
my_sql "$SRC" -e "INSERT INTO b VALUES (3)"
run_envsync -c "$T/envsync.conf" run opt
expect_rc 0 "second run with keep_previous"
[ "$(q "SELECT COUNT(*) FROM \`$DST\`.b")" = 3 ] || fail "second run: new data missing"
[ "$(q "SELECT COUNT(*) FROM \`${DST}_envsync_old\`.b")" = 2 ] || fail "keep_previous: previous tables not kept"

# mode = replace, defer_indexes = false, jobs = 1 on both sides; the
# leftover _envsync_old is cleaned up
my_conf "$T/replace.conf" rep "$SRC" "$DST" 'jobs = 1;' 'mode = "replace"; defer_indexes = false; jobs = 1;'
run_envsync -c "$T/replace.conf" run rep
expect_rc 0 "mode = replace"
my_same "$SRC" "$DST" "mode = replace"
n=$(q "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
[ "$n" = 0 ] || fail "replace: temporary schemas left behind"

# the smallest chunk_size with rows larger than a chunk: one row per entry,
# nothing lost, split key ranges with jobs = 3
my_sql "$SRC" -e "CREATE TABLE wide (id INT PRIMARY KEY, b MEDIUMBLOB);
    INSERT INTO wide SELECT seq, REPEAT(CHAR(seq % 256), 3000 + seq * 7) FROM seq_1_to_300;
    ANALYZE TABLE wide" > /dev/null
my_conf "$T/small.conf" small "$SRC" "$DST" 'jobs = 3; chunk_size = "4k";' 'jobs = 3;'
run_envsync -c "$T/small.conf" run small
expect_rc 0 "chunk_size = 4k"
my_same "$SRC" "$DST" "chunk_size = 4k"

# strip_definers: objects owned by a definer the restoring user may not
# name fail the restore before the swap; strip_definers creates them as
# the restoring user
U=esmy_ou_$$
PW="pw-$$-x"
DST2=esmy_opt_dst2_$$
trap 'my_drop "$SRC" "$DST" "$DST2"; my_sql -e "DROP USER IF EXISTS $U@'"'"'%'"'"', $U@localhost"; rm -rf "$T"' EXIT
my_drop "$DST2"
my_sql -e "CREATE USER $U@'%' IDENTIFIED BY '$PW'; CREATE USER $U@localhost IDENTIFIED BY '$PW'"
for h in "'%'" localhost; do
    for d in "$DST2" "${DST2}_envsync_new" "${DST2}_envsync_old"; do
        my_sql -e "GRANT ALL ON \`$d\`.* TO $U@$h"
    done
done
my_sql "$SRC" -e "
    CREATE DEFINER = esmy_nobody@localhost VIEW owned_view AS SELECT id FROM b;
    CREATE DEFINER = esmy_nobody@localhost TRIGGER owned_trg BEFORE INSERT ON b FOR EACH ROW SET NEW.id = NEW.id;
    CREATE DEFINER = esmy_nobody@localhost PROCEDURE owned_proc() SELECT 1;" 2> /dev/null
restricted_conf() {  # file extra
    cat > "$1" <<CONF
envsync: { environment = "test"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "defs";
    backup  = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                ${MYSQL_PASSWORD:+password = \"$MYSQL_PASSWORD\";} database = "$SRC"; };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$U";
                password = "$PW"; database = "$DST2"; $2 };
} );
CONF
}
restricted_conf "$T/defs.conf" ""
run_envsync -c "$T/defs.conf" run defs
expect_rc 6 "restore of another definer's objects without privilege"
expect_out "owned_|DEFINER|SUPER|SET USER" "the message names the object or privilege"
[ "$(q "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST2}%'")" = 0 ] ||
    fail "definer failure: something was left behind or swapped in"
restricted_conf "$T/defs.conf" "strip_definers = true;"
run_envsync -c "$T/defs.conf" run defs
expect_rc 0 "strip_definers"
[ "$(q "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '$DST2' AND TABLE_NAME = 'owned_view' AND DEFINER LIKE '$U@%'")" = 1 ] ||
    fail "strip_definers: view not owned by the restoring user"
[ "$(q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$DST2' AND DEFINER LIKE '$U@%'")" = 1 ] ||
    fail "strip_definers: trigger not owned by the restoring user"
[ "$(q "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '$DST2' AND DEFINER LIKE '$U@%'")" = 1 ] ||
    fail "strip_definers: procedure not owned by the restoring user"

# a bad option value is a config error naming the file and line
my_conf "$T/bad.conf" bad "$SRC" "$DST" '' 'mode = "sideways";'
run_envsync -c "$T/bad.conf" run bad
expect_rc 3 "bad mode"
expect_out "bad.conf:[0-9]+" "bad mode names file:line"
pass
