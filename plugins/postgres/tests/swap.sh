#!/bin/bash
# Restore safety: target in use during the swap (retries, then a clear
# failure with the old database intact), connection killed mid-restore
# (old database intact, temporary database removed), leftovers of a killed
# run cleaned up, keep_previous, mode replace and owner.
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst) role="es_restorer_$$"
holder=""
cleanup() {
    [ -n "$holder" ] && kill "$holder" 2>/dev/null
    psql -X -q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$dst'" >/dev/null 2>&1
    pg_drop "$src" "$dst"
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\""
q -d "$src" >/dev/null <<'EOF2'
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 2000) g;
-- a check that sleeps only inside the database being restored, so the
-- test can kill the restore's connections while it loads data
CREATE FUNCTION es_slow_check(v int) RETURNS boolean LANGUAGE sql AS
$$ SELECT CASE WHEN current_database() LIKE '%envsync_new' THEN pg_sleep(60) IS NOT NULL ELSE true END $$;
CREATE DOMAIN slowint AS int CHECK (es_slow_check(VALUE));
CREATE TABLE slow (v slowint);
INSERT INTO slow VALUES (1);
EOF2
q -d postgres -c "CREATE ROLE $role LOGIN CREATEDB"

marker() {  # DB: the marker table's value, or nothing
    q -d "$1" -c "SELECT v FROM marker" 2>/dev/null || true
}

# --- 1. killed mid-restore: the load blocks in es_slow_check; kill it
pg_conf "$T/kill.conf" kill "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$dst\""
q -d "$dst" -c "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('old')"
"$ENVSYNC" -c "$T/kill.conf" run kill >"$T/kill.out" 2>&1 &
bg=$!
for _ in $(seq 1 600); do
    n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '${dst}_envsync_new' AND wait_event = 'PgSleep'")
    [ "$n" -gt 0 ] && break
    kill -0 $bg 2>/dev/null || break
    sleep 0.1
done
[ "$n" -gt 0 ] || { kill $bg; fail "the restore never reached the slow load: $(cat "$T/kill.out")"; }
q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dst}_envsync_new'" >/dev/null
set +e; wait $bg; rc=$?; set -e
out=$(cat "$T/kill.out")
expect_rc 5 "connection killed mid-restore"
expect_out 'terminat' "killed restore message"
[ "$(marker "$dst")" = old ] || fail "killed restore: target not intact"
pg_exists "${dst}_envsync_new" && fail "killed restore: temporary database left behind"

# --- 1b. SIGTERM while the load is stuck: interrupted, nothing left behind
"$ENVSYNC" -c "$T/kill.conf" run kill >"$T/term.out" 2>&1 &
bg=$!
for _ in $(seq 1 600); do
    n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '${dst}_envsync_new' AND wait_event = 'PgSleep'")
    [ "$n" -gt 0 ] && break
    kill -0 $bg 2>/dev/null || break
    sleep 0.1
done
[ "$n" -gt 0 ] || { kill $bg; fail "the restore never reached the slow load: $(cat "$T/term.out")"; }
kill -TERM $bg
set +e; wait $bg; rc=$?; set -e
out=$(cat "$T/term.out")
expect_rc 9 "SIGTERM mid-restore"
[ "$(marker "$dst")" = old ] || fail "SIGTERM: target not intact"
pg_exists "${dst}_envsync_new" && fail "SIGTERM: temporary database left behind"

# the slow domain must not hinder the rest of the tests
q -d "$src" -c "DROP TABLE slow; DROP DOMAIN slowint"

# --- 2. leftovers of a killed run are dropped; target replaced through the swap
q -d postgres -c "CREATE DATABASE \"${dst}_envsync_new\""
q -d postgres -c "CREATE DATABASE \"${dst}_envsync_old\""
pg_conf "$T/ok.conf" ok "$src" "$dst"
# an application session on the target: the swap ends it
psql -X -q -d "$dst" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
app=$!
holder=$app
for _ in $(seq 1 100); do
    [ "$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$dst' AND wait_event = 'PgSleep'")" -gt 0 ] && break
    sleep 0.1
done
run_envsync -c "$T/ok.conf" run ok
expect_rc 0 "run after leftovers"
wait $app 2>/dev/null && fail "the application session on the target survived the swap"
holder=""
expect_out 'dropping leftover database' "leftover cleanup message"
[ -z "$(marker "$dst")" ] || fail "target not replaced"
[ "$(q -d "$dst" -c "SELECT count(*) FROM t")" = 2000 ] || fail "restored rows"
pg_exists "${dst}_envsync_new" && fail "leftover new database remains"
pg_exists "${dst}_envsync_old" && fail "leftover old database remains"

# --- 3. target in use by a session the restore role cannot end
pg_drop "$dst"
q -d postgres -c "CREATE DATABASE \"$dst\" OWNER $role"
q -d "$dst" -c "CREATE TABLE marker (v text); INSERT INTO marker VALUES ('old'); ALTER TABLE marker OWNER TO $role"
psql -X -q -d "$dst" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
holder=$!
for _ in $(seq 1 100); do
    [ "$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$dst' AND wait_event = 'PgSleep'")" -gt 0 ] && break
    sleep 0.1
done
ES_RESTORE_USER=$role pg_conf "$T/busy.conf" busy "$src" "$dst" "" 'no_owner = true; swap_retries = 2;'
run_envsync -c "$T/busy.conf" run busy
expect_rc 14 "target in use"
expect_out 'still in use after 2 swap attempts' "target in use message"
expect_out 'swap attempt 1/2 failed' "swap retry logged"
[ "$(marker "$dst")" = old ] || fail "target in use: old database not intact"
[ "$(q -d postgres -c "SELECT datallowconn FROM pg_database WHERE datname = '$dst'")" = t ] ||
    fail "target in use: connections still refused"
pg_exists "${dst}_envsync_new" && fail "target in use: temporary database left behind"
kill "$holder"; wait "$holder" 2>/dev/null || true; holder=""
q -d postgres -c "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = '$dst'" >/dev/null

# --- 4. keep_previous and owner, by the non-superuser role
ES_RESTORE_USER=$role pg_conf "$T/keep.conf" keep "$src" "$dst" "" \
    "no_owner = true; keep_previous = true; owner = \"$role\";"
run_envsync -c "$T/keep.conf" run keep
expect_rc 0 "keep_previous"
[ "$(marker "${dst}_envsync_old")" = old ] || fail "keep_previous: previous copy not kept"
[ -z "$(marker "$dst")" ] || fail "keep_previous: target not replaced"
[ "$(q -d postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$dst'")" = "$role" ] ||
    fail "owner not set"

# --- 5. mode replace
q -d "$dst" -c "CREATE TABLE marker (v text)"
pg_conf "$T/replace.conf" replace "$src" "$dst" "" 'mode = "replace";'
run_envsync -c "$T/replace.conf" run replace
expect_rc 0 "mode replace"
[ "$(q -d "$dst" -c "SELECT count(*) FROM pg_class WHERE relname = 'marker'")" = 0 ] ||
    fail "mode replace: target not replaced"
[ "$(q -d "$dst" -c "SELECT count(*) FROM t")" = 2000 ] || fail "mode replace: rows"
pg_exists "${dst}_envsync_new" && fail "mode replace: temporary database created"
pass
