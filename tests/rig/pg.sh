# shellcheck shell=bash
# tests/rig/pg.sh - throwaway PostgreSQL 15 for the test rig (sourced by
# start.sh / stop.sh; needs rig-lib.sh).
#
# Runs as the `postgres` user (PostgreSQL refuses root), trust auth,
# listening on 127.0.0.1:$RIG_PG_PORT (default 15432) and a Unix socket in
# DIR/pg.  Durability is off (fsync, full_page_writes, synchronous_commit):
# the data is thrown away anyway.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
RIG_PG_PORT=${RIG_PG_PORT:-15432}

_pg_as_postgres() {
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
}

_pg_ok() {
    [ "$(PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -A -t -w -h 127.0.0.1 \
          -p "$RIG_PG_PORT" -U postgres -d postgres -c 'select 1' 2>/dev/null)" = 1 ]
}

_pg_alive() {
    rig_pid_is "$(cat "$PGD/pid" 2>/dev/null)" 'postgres'
}

# rig_start_pg DIR (run in a subshell: exits on error)
rig_start_pg() {
    local dir=$1 pid
    PGD=$dir/pg
    if _pg_alive && _pg_ok; then
        rig_log "pg: already running on port $RIG_PG_PORT (pid $(cat "$PGD/pid"))"
        return 0
    fi
    if [ -e "$PGD/pid" ]; then
        rig_log "pg: stale instance in $PGD: stopping it first"
        rig_stop_pg "$dir"
    fi
    [ -x "$PG_BIN/postgres" ] || { rig_log "pg: $PG_BIN/postgres not found (scripts/install-deps.sh installs postgresql-15)"; return 1; }
    id postgres >/dev/null 2>&1 || { rig_log "pg: no 'postgres' user (install postgresql-15)"; return 1; }
    rig_port_free pg "$RIG_PG_PORT" || return 1

    mkdir -p "$PGD"
    chown postgres:postgres "$PGD"
    chmod 700 "$PGD"
    if ! _pg_as_postgres test -w "$PGD"; then
        rig_log "pg: user postgres cannot write $PGD: every parent directory" \
                "of the rig directory must be searchable by others (chmod o+x)"
        return 1
    fi
    cd "$PGD" || return 1
    if [ ! -s "$PGD/data/PG_VERSION" ]; then
        rm -rf "$PGD/data"
        if ! _pg_as_postgres "$PG_BIN/initdb" -D "$PGD/data" -A trust -U postgres \
                -E UTF8 --locale=C.UTF-8 --no-sync > "$PGD/initdb.log" 2>&1; then
            rig_log "pg: initdb failed"
            rig_tail "$PGD/initdb.log"
            return 1
        fi
    fi
    # Settings in their own file, included from postgresql.conf.
    cat > "$PGD/data/rig.conf" <<EOF
# written by tests/rig/pg.sh at every start
listen_addresses = '127.0.0.1'
port = $RIG_PG_PORT
unix_socket_directories = '$PGD'
max_connections = 100
fsync = off
full_page_writes = off
synchronous_commit = off
max_wal_size = '1GB'
logging_collector = off
log_min_messages = warning
EOF
    chown postgres:postgres "$PGD/data/rig.conf"
    grep -q "^include_if_exists = 'rig.conf'" "$PGD/data/postgresql.conf" ||
        echo "include_if_exists = 'rig.conf'" >> "$PGD/data/postgresql.conf"

    rm -f "$PGD/env"
    nohup setpriv --reuid=postgres --regid=postgres --init-groups -- \
        "$PG_BIN/postgres" -D "$PGD/data" >> "$PGD/postgres.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PGD/pid"
    if ! rig_wait pg _pg_ok _pg_alive "$PGD/postgres.log"; then
        rig_stop_pg "$dir"
        return 1
    fi
    cat > "$PGD/env" <<EOF
export PGHOST=127.0.0.1
export PGPORT=$RIG_PG_PORT
export PGUSER=postgres
export PGSOCKET_DIR='$PGD'
EOF
    rig_log "pg: PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$RIG_PG_PORT (pid $pid)"
}

rig_stop_pg() {
    local dir=$1 pid
    PGD=$dir/pg
    rm -f "$PGD/env"
    pid=$(cat "$PGD/pid" 2>/dev/null) || { rig_log "pg: not started in $dir"; return 0; }
    # SIGINT = fast shutdown: abort sessions, checkpoint, exit.
    rig_stop_pids pg 'postgres' INT 30 "$pid"
    rm -f "$PGD/pid"
}
