#!/bin/bash
# tests/rig/stop.sh DIR [pg|mysql|s3|all]...
#
# Stops the servers that tests/rig/start.sh DIR started (PIDs recorded in
# DIR), also after a partial or failed start.  With no server names it
# stops all of them.  Data stays in DIR; remove it yourself.
set -uo pipefail

RIG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$RIG_SRC/rig-lib.sh"
. "$RIG_SRC/pg.sh"
. "$RIG_SRC/mysql.sh"
. "$RIG_SRC/s3.sh"

usage() { echo "usage: $0 DIR [pg|mysql|s3|all]..." >&2; exit 2; }
[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
[ -d "$1" ] || { rig_log "no rig directory $1: nothing to stop"; exit 0; }
DIR=$(cd "$1" && pwd)
shift

servers=()
[ $# -gt 0 ] || set -- all
for s in "$@"; do
    case $s in
        all) servers+=(s3 mysql pg) ;;
        pg|postgres|postgresql) servers+=(pg) ;;
        mysql|mariadb) servers+=(mysql) ;;
        s3|swift) servers+=(s3) ;;
        *) usage ;;
    esac
done

rc=0
for s in "${servers[@]}"; do
    [ -d "$DIR/$s" ] || continue
    ( "rig_stop_$s" "$DIR" ) || rc=1
done
rig_write_env "$DIR"
exit $rc
