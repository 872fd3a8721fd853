#!/bin/bash
# A table dropped, another altered and rows inserted while the backup runs:
# the exported snapshot and the backup's locks keep the artifact consistent
# (the DROP and ALTER wait for the backup; the inserts are not in it).
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; pg_drop "$src" "$dst"; rm -rf "$T"' EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\""
q -d "$src" >/dev/null <<'EOF2'
CREATE TABLE victim (id int PRIMARY KEY, v text);
INSERT INTO victim SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
CREATE TABLE altered (id int PRIMARY KEY, v text);
INSERT INTO altered SELECT g, 'a' FROM generate_series(1, 100) g;
CREATE TABLE growing (id serial PRIMARY KEY, v text);
INSERT INTO growing (v) SELECT 'before' FROM generate_series(1, 50);
CREATE TABLE slow (id int);
INSERT INTO slow SELECT generate_series(1, 6);
EOF2
# one worker; the row filter on `slow` sleeps 0.5 s per row, so the backup
# is still running while the test changes the source
ES_JOBS=1 pg_conf "$T/es.conf" concurrent "$src" "$dst" 'where = ( "public.slow: pg_sleep(0.5) IS NOT NULL" );'
"$ENVSYNC" -c "$T/es.conf" run concurrent >"$T/run.out" 2>&1 &
bg=$!
pids="$bg"
for _ in $(seq 1 600); do
    n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$src' AND wait_event = 'PgSleep' AND application_name = 'envsync'")
    [ "$n" -gt 0 ] && break
    kill -0 $bg 2>/dev/null || break
    sleep 0.1
done
[ "$n" -gt 0 ] || fail "backup never reached the slow table: $(cat "$T/run.out")"
q -d "$src" -c "INSERT INTO growing (v) SELECT 'during' FROM generate_series(1, 10)"
psql -X -q -d "$src" -c "DROP TABLE victim" >"$T/drop.out" 2>&1 &
drop=$!
psql -X -q -d "$src" -c "ALTER TABLE altered ADD COLUMN extra int DEFAULT 7" >"$T/alter.out" 2>&1 &
alter=$!
pids="$bg $drop $alter"
set +e; wait $bg; rc=$?; set -e
out=$(cat "$T/run.out")
expect_rc 0 "backup with concurrent DDL"
wait $drop || fail "DROP TABLE failed: $(cat "$T/drop.out")"
wait $alter || fail "ALTER TABLE failed: $(cat "$T/alter.out")"
pids=""
[ "$(q -d "$src" -c "SELECT count(*) FROM pg_class WHERE relname = 'victim'")" = 0 ] ||
    fail "the DROP did not happen after the backup"
[ "$(q -d "$dst" -c "SELECT count(*) FROM victim")" = 5000 ] || fail "dropped table not in the backup"
[ "$(q -d "$dst" -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'altered' AND column_name = 'extra'")" = 0 ] ||
    fail "the ALTER leaked into the backup"
[ "$(q -d "$dst" -c "SELECT count(*) FROM growing")" = 50 ] || fail "rows inserted during the backup leaked into it"
[ "$(q -d "$dst" -c "SELECT count(*) FROM slow")" = 6 ] || fail "filtered table rows"

# connection lost mid-backup: terminate the backup's sessions while it
# copies; the run fails with a connection error and commits no artifact
ES_JOBS=1 pg_conf "$T/kill.conf" killbackup "$src" "$dst" 'where = ( "public.slow: pg_sleep(0.5) IS NOT NULL" );'
"$ENVSYNC" -c "$T/kill.conf" run killbackup >"$T/kill.out" 2>&1 &
bg=$!
pids="$bg"
for _ in $(seq 1 600); do
    n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$src' AND wait_event = 'PgSleep' AND application_name = 'envsync'")
    [ "$n" -gt 0 ] && break
    kill -0 $bg 2>/dev/null || break
    sleep 0.1
done
[ "$n" -gt 0 ] || fail "second backup never reached the slow table: $(cat "$T/kill.out")"
q -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$src' AND application_name = 'envsync'" >/dev/null
set +e; wait $bg; rc=$?; set -e
pids=""
out=$(cat "$T/kill.out")
expect_rc 5 "connection lost mid-backup"
if find "$T/store/killbackup" -name '*.envsync' 2>/dev/null | grep -q .; then
    fail "connection lost mid-backup: an artifact was committed"
fi
pass
