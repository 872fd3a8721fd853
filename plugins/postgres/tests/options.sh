#!/bin/bash
# Table selection: include / exclude patterns (schema.table with *, or a
# bare table name in any schema), exclude_data (definition only), where
# (row filter), on a partitioned table too (patterns on the parent select
# its partitions).
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst) reader="es_reader_$$"
trap 'pg_drop "$src" "$dst"; psql -X -q -d postgres -c "DROP ROLE IF EXISTS $reader" >/dev/null 2>&1; rm -rf "$T"' EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\""
q -d "$src" >/dev/null <<'EOF2'
CREATE SCHEMA app;
CREATE SCHEMA other;
CREATE TABLE app.users (id int PRIMARY KEY, name text);
INSERT INTO app.users SELECT g, 'u' || g FROM generate_series(1, 10) g;
CREATE TABLE app.logs (id serial PRIMARY KEY, line text);
INSERT INTO app.logs (line) SELECT 'log ' || g FROM generate_series(1, 20) g;
CREATE TABLE app.skip_me (id int);
INSERT INTO app.skip_me VALUES (1);
CREATE TABLE app.tmp_cache (id int);
INSERT INTO app.tmp_cache VALUES (1);
CREATE TABLE app.parts (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE app.parts_2023 PARTITION OF app.parts FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE app.parts_2024 PARTITION OF app.parts FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO app.parts SELECT g, date '2023-06-01' + g * 30 FROM generate_series(1, 12) g;
CREATE TABLE other.elsewhere (id int);
INSERT INTO other.elsewhere VALUES (1);
EOF2
q -d "$src" -c "CREATE ROLE $reader; GRANT SELECT ON app.users TO $reader"
pg_conf "$T/es.conf" options "$src" "$dst" \
    'include = ( "app.*" ); exclude = ( "app.skip*", "tmp_cache" ); exclude_data = ( "app.logs" );
     where = ( "app.users: id <= 3", "app.parts: id % 2 = 0" );' 'no_privileges = true; maintenance_work_mem = "32MB";'
run_envsync -c "$T/es.conf" run options
expect_rc 0 "selective backup and restore"
tables=$(q -d "$dst" -c "SELECT string_agg(n.nspname || '.' || c.relname, ' ' ORDER BY n.nspname, c.relname) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('app', 'other')")
[ "$tables" = "app.logs app.parts app.parts_2023 app.parts_2024 app.users" ] ||
    fail "selected tables: $tables"
[ "$(q -d "$dst" -c "SELECT count(*) FROM app.logs")" = 0 ] || fail "exclude_data: rows copied"
[ "$(q -d "$dst" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM app.users")" = "1,2,3" ] ||
    fail "where on app.users"
[ "$(q -d "$dst" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM app.parts")" = "2,4,6,8,10,12" ] ||
    fail "where on the partitions of app.parts"
[ -z "$(q -d "$dst" -c "SELECT relacl FROM pg_class WHERE relname = 'users'")" ] ||
    fail "no_privileges: the source's GRANT was restored"
# the sequence of the definition-only table still exists and works
q -d "$dst" -c "INSERT INTO app.logs (line) VALUES ('x')" >/dev/null
pass
