#!/bin/bash
# --dry-run on real PostgreSQL and MariaDB restores: the plan names the
# artifact and the target database, and no database changes.
. "$top_srcdir/tests/core/common.sh"
need_pg
need_mysql
C="$T/envsync.conf"
pgdb="envsync_dry_$$"
mydb="envsync_dry_$$"
psql_() { psql -X -q -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"; }
my_() { mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -N -B "$@"; }
cleanup() {
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1
    psql_ -d postgres -c "DROP DATABASE IF EXISTS ${pgdb}_copy" >/dev/null 2>&1
    my_ -e "DROP DATABASE IF EXISTS $mydb; DROP DATABASE IF EXISTS ${mydb}_copy" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
psql_ -d postgres -c "CREATE DATABASE $pgdb" && psql_ -d "$pgdb" -c "CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g"
psql_ -d postgres -c "CREATE DATABASE ${pgdb}_copy" && psql_ -d "${pgdb}_copy" -c "CREATE TABLE old (id int)"
my_ -e "CREATE DATABASE $mydb; CREATE TABLE $mydb.t (id int primary key, v text); INSERT INTO $mydb.t VALUES (1, 'a'), (2, 'b');
        CREATE DATABASE ${mydb}_copy; CREATE TABLE ${mydb}_copy.old (id int);"

cat > "$C" <<EOC
envsync: { environment = "test"; progress_interval = "1h"; };
storage: { local: { plugin = "file"; path = "$STORE"; fsync = false; }; };
jobs = (
  { name = "pg"; backup = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER"; database = "$pgdb"; };
    store = { storage = "local"; }; },
  { name = "pg-restore"; fetch = { storage = "local"; job = "pg"; };
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER"; database = "${pgdb}_copy"; }; },
  { name = "my"; backup = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER"; database = "$mydb"; };
    store = { storage = "local"; }; },
  { name = "my-restore"; fetch = { storage = "local"; job = "my"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER"; database = "${mydb}_copy"; }; }
);
EOC
run_envsync -c "$C" run pg my
expect_rc 0 "backups"
pg_before=$(psql_ -d postgres -c "SELECT datname FROM pg_database ORDER BY 1")
pg_tables=$(psql_ -d "${pgdb}_copy" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
my_before=$(my_ -e "SHOW DATABASES")
my_tables=$(my_ -e "SHOW TABLES FROM ${mydb}_copy")
store_before=$(stored)

run_envsync -c "$C" run pg-restore my-restore --dry-run
expect_rc 0 "dry runs"
expect_out "plan: fetch: pg/[0-9TZ]+\.envsync from storage local \(select latest\): [0-9]+ bytes, sha256 [0-9a-f]{64}, engine postgres" "postgres plan"
expect_out "plan: restore: plugin postgres .*database=${pgdb}_copy" "postgres target"
expect_out "plan: fetch: my/[0-9TZ]+\.envsync .* engine mysql" "mysql plan"
expect_out "plan: restore: plugin mysql .*database=${mydb}_copy" "mysql target"

[ "$(psql_ -d postgres -c "SELECT datname FROM pg_database ORDER BY 1")" = "$pg_before" ] || fail "PostgreSQL databases changed"
[ "$(psql_ -d "${pgdb}_copy" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")" = "$pg_tables" ] \
    || fail "PostgreSQL target changed"
[ "$(my_ -e "SHOW DATABASES")" = "$my_before" ] || fail "MariaDB databases changed"
[ "$(my_ -e "SHOW TABLES FROM ${mydb}_copy")" = "$my_tables" ] || fail "MariaDB target changed"
[ "$(stored)" = "$store_before" ] || fail "storage changed"
pass
