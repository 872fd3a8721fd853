#!/bin/bash
# Connection killed mid-restore: the test holds a metadata lock on one
# live table so the restore's final RENAME TABLE has to wait, KILLs the
# restore's connection while it waits, and checks that the target is
# exactly as before (data, schema, triggers) and the temporary schemas are
# gone.  The wait is a lock, not a timing guess.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_kill_src_$$
DST=esmy_kill_dst_$$
blocker=
trap 'my_drop "$SRC" "$DST"; [ -n "$blocker" ] && kill "$blocker" 2>/dev/null; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_sql -e "CREATE DATABASE \`$SRC\`" 
my_sql "$SRC" -e "
    CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20));
    CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, note VARCHAR(20), KEY (parent_id),
                        FOREIGN KEY (parent_id) REFERENCES parent (id));
    CREATE TRIGGER child_bi BEFORE INSERT ON child FOR EACH ROW SET NEW.note = 'trg';
    CREATE VIEW v AS SELECT COUNT(*) AS n FROM child;
    INSERT INTO parent VALUES (1, 'a'), (2, 'b');
    INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 2), (3, 1);"
my_conf "$T/envsync.conf" kill "$SRC" "$DST" 'jobs = 2;' 'jobs = 2;'
run_envsync -c "$T/envsync.conf" run kill
expect_rc 0 "first restore"

my_schema "$DST" > "$T/before.schema"
my_data "$DST" > "$T/before.data"
# the next restore would bring different data
my_sql "$SRC" -e "INSERT INTO parent VALUES (3, 'c'); DELETE FROM child WHERE id = 3"

# hold a shared metadata lock on a live table (one without triggers)
my_sql "$DST" -e "START TRANSACTION; SELECT COUNT(*) FROM parent; SELECT SLEEP(600)" >/dev/null 2>&1 &
blocker=$!
"$ENVSYNC" -c "$T/envsync.conf" run kill > "$T/run.out" 2>&1 &
run=$!

victim=
for _ in $(seq 1 1200); do
    victim=$(my_sql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST
                              WHERE INFO LIKE 'RENAME TABLE %$DST%' LIMIT 1")
    [ -n "$victim" ] && break
    kill -0 "$run" 2>/dev/null || break
    sleep 0.1
done
[ -n "$victim" ] || { cat "$T/run.out"; fail "the restore never reached its RENAME TABLE"; }
my_sql -e "KILL $victim"
set +e
wait "$run"
rc=$?
set -e
out=$(cat "$T/run.out")
holder=$(my_sql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(600)'")
[ -n "$holder" ] && my_sql -e "KILL $holder"
wait "$blocker" 2>/dev/null || true
blocker=

expect_rc 5 "restore whose connection was killed"
expect_out "RENAME TABLE|swap" "the message names the swap"
my_schema "$DST" > "$T/after.schema"
my_data "$DST" > "$T/after.data"
diff -u "$T/before.schema" "$T/after.schema" || fail "target schema changed (triggers, views, tables)"
diff -u "$T/before.data" "$T/after.data" || fail "target data changed"
n=$(my_sql -N -B -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
[ "$n" = 0 ] || fail "temporary schemas left behind: $(my_sql -N -B -e "SHOW DATABASES LIKE '${DST}_envsync%'")"

# and the next run goes through
run_envsync -c "$T/envsync.conf" run kill
expect_rc 0 "restore after the killed one"
my_same "$SRC" "$DST" "restore after the killed one"

# Killed before the swap: a post-load script (sanitise SQL-script mode)
# waits for a user lock the test holds; the test KILLs that connection.
if [ -e "$top_builddir/plugins/sanitise/.libs/sanitise.so" ] || [ -e "$top_builddir/plugins/sanitise/sanitise.la" ]; then
    LOCK=esmy_kill_gate_$$
    my_sql "$SRC" -e "INSERT INTO parent VALUES (4, 'd')"
    my_schema "$DST" > "$T/before2.schema"
    my_data "$DST" > "$T/before2.data"
    printf 'table *\n    * keep\n' > "$T/rules"
    echo "DO GET_LOCK('$LOCK', 600); UPDATE parent SET name = 'sanitised';" > "$T/post.sql"
    sed -e 's|fetch   = { storage = "local"; };|fetch   = { storage = "local"; };\n    transform = ( { plugin = "sanitise"; rules = "'"$T/rules"'"; policy = "warn"; sql = ( "'"$T/post.sql"'" ); } );|' \
        "$T/envsync.conf" > "$T/post.conf"
    my_sql -e "SELECT GET_LOCK('$LOCK', 0); SELECT SLEEP(600)" > /dev/null 2>&1 &
    blocker=$!
    for _ in $(seq 1 600); do
        [ "$(my_sql -N -B -e "SELECT IS_USED_LOCK('$LOCK') IS NOT NULL")" = 1 ] && break
        sleep 0.1
    done
    "$ENVSYNC" -c "$T/post.conf" run kill > "$T/run2.out" 2>&1 &
    run=$!
    victim=
    for _ in $(seq 1 1200); do
        victim=$(my_sql -N -B -e "SELECT ID FROM information_schema.PROCESSLIST
                                  WHERE INFO LIKE 'DO GET_LOCK%$LOCK%' LIMIT 1")
        [ -n "$victim" ] && break
        kill -0 "$run" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$victim" ] || { cat "$T/run2.out"; fail "the restore never ran its post-load script"; }
    # the load is complete and unswapped at this point
    [ "$(my_sql -N -B -e "SELECT COUNT(*) FROM \`${DST}_envsync_new\`.parent")" = 4 ] ||
        fail "the new database is not loaded while the post-load script runs"
    my_sql -e "KILL $victim"
    set +e
    wait "$run"
    rc=$?
    set -e
    out=$(cat "$T/run2.out")
    my_sql -e "KILL $(my_sql -N -B -e "SELECT IS_USED_LOCK('$LOCK')")"
    wait "$blocker" 2>/dev/null || true
    blocker=
    expect_rc 5 "restore killed in its post-load script"
    expect_out "post-load" "the message names the post-load step"
    my_schema "$DST" > "$T/after2.schema"
    my_data "$DST" > "$T/after2.data"
    diff -u "$T/before2.schema" "$T/after2.schema" || fail "target schema changed (post-load kill)"
    diff -u "$T/before2.data" "$T/after2.data" || fail "target data changed (post-load kill)"
    n=$(my_sql -N -B -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
    [ "$n" = 0 ] || fail "temporary schemas left behind after the post-load kill"
else
    note "sanitise plugin not built: post-load kill not run"
fi
pass
