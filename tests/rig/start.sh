#!/bin/bash
# tests/rig/start.sh DIR [pg|mysql|s3|all]...
#
# Starts throwaway servers for the integration tests in DIR (created if
# missing): PostgreSQL 15, MariaDB 10.11 and a real S3 (Swift + s3api), all
# on 127.0.0.1.  With no server names it starts all three.  Waits until each
# one answers (bounded by RIG_START_TIMEOUT, default 120 s) and writes
# DIR/env.sh with their coordinates:
#     PGHOST PGPORT PGUSER PGSOCKET_DIR
#     MYSQL_HOST MYSQL_PORT MYSQL_USER MYSQL_SOCKET
#     S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY
#     ENVSYNC_RIG_DIR
# Point the tests at it:  export ENVSYNC_RIG_ENV=DIR/env.sh
# Idempotent: a server already running in DIR is left alone.  On failure
# the servers this call started are stopped again and it exits 1.
# Stop with tests/rig/stop.sh DIR.  Ports: see tests/rig/README.md.
set -uo pipefail

RIG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$RIG_SRC/rig-lib.sh"
. "$RIG_SRC/pg.sh"
. "$RIG_SRC/mysql.sh"
. "$RIG_SRC/s3.sh"

usage() { echo "usage: $0 DIR [pg|mysql|s3|all]..." >&2; exit 2; }
[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
[ "$(id -u)" = 0 ] || { rig_log "must run as root (servers run as root and postgres)"; exit 1; }

DIR=$(rig_abs "$1") || { rig_log "cannot create $1"; exit 1; }
shift
# PostgreSQL runs as `postgres` and must reach DIR/pg.
chmod 755 "$DIR"

servers=()
[ $# -gt 0 ] || set -- all
for s in "$@"; do
    case $s in
        all) servers+=(pg mysql s3) ;;
        pg|postgres|postgresql) servers+=(pg) ;;
        mysql|mariadb) servers+=(mysql) ;;
        s3|swift) servers+=(s3) ;;
        *) usage ;;
    esac
done

started=()
for s in "${servers[@]}"; do
    # each server starts in a subshell: its helpers may cd and set vars
    if ( "rig_start_$s" "$DIR" ); then
        started+=("$s")
    else
        rig_log "$s: failed to start (logs in $DIR/$s)"
        for t in "${started[@]}"; do ( "rig_stop_$t" "$DIR" ); done
        rig_write_env "$DIR"
        exit 1
    fi
done
rig_write_env "$DIR"
rig_log "ready: export ENVSYNC_RIG_ENV=$DIR/env.sh"
