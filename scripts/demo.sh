#!/bin/bash
# scripts/demo.sh: the README's try-it command.  On a new Debian 12 machine,
# as root: installs every package, builds envsync, starts a throwaway
# PostgreSQL on 127.0.0.1, loads a small sample shop database, and runs a
# full sync through the `file` storage:
#
#   shop-backup:   backup (postgres) -> store (file)
#   shop-staging:  fetch (file) -> transform (sanitise) -> restore (postgres, atomic swap)
#
# then shows what it did and stops the server.  Everything lives in a
# temporary directory (kept with DEMO_KEEP=1).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRC"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it installs packages and starts PostgreSQL)" >&2; exit 1; }

say "installing packages (apt-get)"
bash scripts/install-deps.sh

say "building envsync"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build/demo
( cd build/demo && { [ -f Makefile ] || ../../configure -q; } && make -j"$(nproc)" -s >/dev/null )

export DEMO_DIR
DEMO_DIR=$(mktemp -d /tmp/envsync-demo.XXXXXX)
chmod 755 "$DEMO_DIR"
export DEMO_PGPORT=${DEMO_PGPORT:-15499}
export DEMO_RULES="$SRC/scripts/demo/shop.rules"
cleanup() {
    RIG_PG_PORT=$DEMO_PGPORT bash tests/rig/stop.sh "$DEMO_DIR/rig" >/dev/null 2>&1 || true
    if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "demo: kept $DEMO_DIR"; else rm -rf "$DEMO_DIR"; fi
}
trap cleanup EXIT

say "starting PostgreSQL on 127.0.0.1:$DEMO_PGPORT"
RIG_PG_PORT=$DEMO_PGPORT bash tests/rig/start.sh "$DEMO_DIR/rig" pg
psql() { command psql -X -q -h 127.0.0.1 -p "$DEMO_PGPORT" -U postgres "$@"; }

say "loading the sample database 'shop' (5,000 customers, 50,000 orders)"
psql -c 'CREATE DATABASE shop'
psql -d shop -f scripts/demo/shop.sql

export ENVSYNC_PLUGIN_PATH="$SRC/build/demo/plugins/file/.libs:$SRC/build/demo/plugins/postgres/.libs:$SRC/build/demo/plugins/sanitise/.libs"
ENVSYNC="$SRC/build/demo/envsync -c $SRC/etc/local.conf"

say "envsync check"
$ENVSYNC check

say "envsync run shop-backup   (backup -> store in $DEMO_DIR/store)"
$ENVSYNC run shop-backup

say "envsync list shop-backup"
$ENVSYNC list shop-backup

say "envsync run shop-staging  (fetch -> sanitise -> restore into shop_staging)"
$ENVSYNC run shop-staging

say "what arrived in shop_staging"
psql -d shop_staging -c "SELECT (SELECT count(*) FROM customers) AS customers,
                               (SELECT count(*) FROM orders) AS orders,
                               (SELECT count(*) FROM products) AS products"
echo "production rows (shop):"
psql -d shop -c "SELECT id, name, email, phone FROM customers ORDER BY id LIMIT 3"
echo "the same rows after sanitising (shop_staging):"
psql -d shop_staging -c "SELECT id, name, email, phone FROM customers ORDER BY id LIMIT 3"
leaks=$(psql -At -d shop_staging -c "SELECT count(*) FROM customers WHERE email LIKE '%@shopmail.net'")
leaks=$((leaks + $(psql -At -d shop_staging -c "SELECT count(*) FROM orders WHERE note LIKE '%@shopmail.net%'")))
echo "rows in shop_staging still holding a production email address: $leaks"
[ "$leaks" = 0 ]

say "done: backup, store, fetch, sanitise and an atomic restore, with the file storage"
