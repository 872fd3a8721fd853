#!/bin/bash
# Bad input and failures: unreachable server, database does not exist,
# wrong password (a private scram-sha-256 server started here), missing
# privileges for backup and for restore, production guard.  Each must give
# the right exit code, a clear message without the password, and commit no
# artifact.
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst) role="es_nopriv_$$" crole="es_creator_$$"
PWD_DIR=""
cleanup() {
    pg_drop "$src" "$dst"
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $crole" >/dev/null 2>&1 || true
    if [ -n "$PWD_DIR" ] && [ -d "$PWD_DIR/data" ]; then
        as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$PWD_DIR/data" stop -m immediate >/dev/null 2>&1 || true
        rm -rf "$PWD_DIR"
    fi
    rm -rf "$T"
}
trap cleanup EXIT
pg_drop "$src" "$dst"
q -d postgres -c "CREATE DATABASE \"$src\""
q -d "$src" -c "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');"

no_artifact() {  # JOB
    if find "$T/store/$1" -name '*.envsync' 2>/dev/null | grep -q .; then
        fail "$1: an artifact was committed"
    fi
}

backup_conf() {  # FILE JOB HOST PORT USER DB [extra]
    cat >"$1" <<EOC
envsync: { environment = "staging"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( { name = "$2";
    backup = { plugin = "postgres"; host = "$3"; port = "$4"; user = "$5"; database = "$6";
               connect_timeout = "3s"; ${7:-} };
    store = { storage = "local"; }; } );
EOC
    mkdir -p "$T/store"
}

# 1. unreachable server (nothing listens on port 1)
backup_conf "$T/a.conf" unreachable 127.0.0.1 1 postgres "$src"
run_envsync -c "$T/a.conf" run unreachable
expect_rc 5 "unreachable server"
expect_out 'cannot connect to PostgreSQL database' "unreachable server message"
no_artifact unreachable

# 2. database does not exist
backup_conf "$T/b.conf" nodb "$PGHOST" "$PGPORT" "$PGUSER" "es_no_such_db_$$"
run_envsync -c "$T/b.conf" run nodb
expect_rc 5 "missing database"
expect_out "es_no_such_db_$$.*does not exist" "missing database message"
no_artifact nodb

# 3. missing privileges: a role that may connect but not read the table
q -d postgres -c "CREATE ROLE $role LOGIN"
backup_conf "$T/c.conf" nopriv "$PGHOST" "$PGPORT" "$role" "$src"
run_envsync -c "$T/c.conf" run nopriv
expect_rc 6 "backup without privileges"
expect_out 'permission denied' "backup without privileges message"
no_artifact nopriv

# 4. restore by a role that may not create databases
ES_RESTORE_USER=$role pg_conf "$T/d.conf" restnopriv "$src" "$dst"
run_envsync -c "$T/d.conf" run restnopriv
expect_rc 6 "restore without CREATEDB"
expect_out 'permission denied to create database' "restore without CREATEDB message"
pg_exists "$dst" && fail "restore without privileges created the target"

# 4b. a role that may create databases but not take over the source's
# owners: the failing pre-data statement is named, the temporary copy gone
q -d postgres -c "CREATE ROLE $crole LOGIN CREATEDB"
ES_RESTORE_USER=$crole pg_conf "$T/d2.conf" restowner "$src" "$dst"
run_envsync -c "$T/d2.conf" run restowner
expect_rc 6 "restore that cannot set owners"
expect_out 'pre-data statement [0-9]+ "ALTER TABLE public.t OWNER TO' "failing statement named"
pg_exists "$dst" && fail "failed pre-data: target created"
pg_exists "${dst}_envsync_new" && fail "failed pre-data: temporary database left behind"

# 5. production guard
ES_ENVIRONMENT=production pg_conf "$T/e.conf" prod "$src" "$dst"
run_envsync -c "$T/e.conf" run prod
expect_rc 11 "production guard"
expect_out 'production' "production guard message"
pg_exists "$dst" && fail "production guard: target created"
pg_exists "${dst}_envsync_new" && fail "production guard: temporary database created"

# 5a. a pg_dump older than the server: clear configuration error
printf '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n' >"$T/old_pg_dump"
chmod +x "$T/old_pg_dump"
backup_conf "$T/o.conf" oldpgdump "$PGHOST" "$PGPORT" "$PGUSER" "$src" "pg_dump = \"$T/old_pg_dump\";"
run_envsync -c "$T/o.conf" run oldpgdump
expect_rc 3 "pg_dump older than the server"
expect_out 'is pg_dump 9 but the server is PostgreSQL 1[0-9]' "old pg_dump message"
no_artifact oldpgdump

# 5b. restoring into the maintenance database is refused
pg_conf "$T/m.conf" maint "$src" postgres
run_envsync -c "$T/m.conf" run maint
expect_rc 3 "restore into the maintenance database"
expect_out 'maintenance database' "maintenance database message"

# 6. an artifact from another engine (the core's test engine, if built)
if ls "$top_builddir"/tests/plugins/.libs/testdb.so >/dev/null 2>&1; then
    mkdir -p "$T/tdb/x"
    cat >"$T/h.conf" <<EOC
envsync: { environment = "staging"; };
jobs = ( { name = "foreign";
    backup = { plugin = "testdb"; dir = "$T/tdb"; database = "x"; generate = 10; };
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                database = "$dst"; }; } );
EOC
    run_envsync -c "$T/h.conf" run foreign
    expect_rc 11 "artifact of another engine"
    expect_out 'testdb backup' "foreign engine message"
    pg_exists "$dst" && fail "foreign engine: target created"
else
    note "foreign-engine case skipped: tests/plugins/testdb.so not built"
fi

# 7. wrong password, against a private server with scram-sha-256
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then "$@"
    else return 99; fi
}
free_port() {
    local p
    for p in $(seq $((26000 + $$ % 500)) 26999); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
if [ -x /usr/lib/postgresql/15/bin/initdb ] && { [ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ]; }; then
    PWD_DIR=$(mktemp -d /tmp/es-pgpw.XXXXXX)
    chmod 755 "$PWD_DIR"
    echo 'right-Pa55word' >"$PWD_DIR/pw"
    [ "$(id -u)" = 0 ] && chown -R postgres "$PWD_DIR"
    port=$(free_port)
    as_pg /usr/lib/postgresql/15/bin/initdb -D "$PWD_DIR/data" -A scram-sha-256 \
        --pwfile="$PWD_DIR/pw" -U postgres >/dev/null
    as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$PWD_DIR/data" -w -l "$PWD_DIR/log" \
        -o "-p $port -k $PWD_DIR -c listen_addresses=127.0.0.1 -c max_connections=20 -c max_locks_per_transaction=10" \
        start >/dev/null
    backup_conf "$T/f.conf" badpw 127.0.0.1 "$port" postgres postgres 'password = "Wr0ng-Secret-42";'
    run_envsync -c "$T/f.conf" run badpw
    expect_rc 6 "wrong password"
    expect_out 'password authentication failed' "wrong password message"
    printf '%s\n' "$out" | grep -q 'Wr0ng-Secret-42' && fail "the password appears in the output"
    no_artifact badpw
    # and the right one works (password_file); with 40 tables and a small
    # lock table the workers lock table by table
    for i in $(seq 1 40); do echo "CREATE TABLE t$i (id int); INSERT INTO t$i VALUES ($i);"; done |
        PGPASSWORD=right-Pa55word psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres >/dev/null
    backup_conf "$T/g.conf" goodpw 127.0.0.1 "$port" postgres postgres "password_file = \"$PWD_DIR/pw\";"
    run_envsync -c "$T/g.conf" run goodpw
    expect_rc 0 "right password"
    expect_out 'workers lock each table' "lock-as-you-go mode with a small lock table"
    printf '%s\n' "$out" | grep -q 'right-Pa55word' && fail "the password appears in the output"
else
    note "wrong-password case skipped: needs root or the postgres user to run initdb"
fi
pass
