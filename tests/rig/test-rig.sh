#!/bin/bash
# tests/rig/test-rig.sh - the rig self-test: proves the servers named by
# $ENVSYNC_RIG_ENV really answer (PostgreSQL and MariaDB run `select 1`,
# S3 answers a SigV4-signed ListBuckets and refuses a wrong secret).
# Skips without a rig, fails without one under ENVSYNC_REQUIRE_SERVERS=1.
# shellcheck disable=SC2154  # top_srcdir comes from make check
. "$top_srcdir/tests/lib.sh" || { echo "test-rig: cannot source tests/lib.sh" >&2; exit 99; }
need_pg
need_mysql
need_s3

for tool in psql mariadb curl; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (run scripts/install-deps.sh)"
done

# PostgreSQL
v=$(PGCONNECT_TIMEOUT=5 psql -X -A -t -w -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" \
        -d postgres -c 'select 1' 2>&1) ||
    fail "PostgreSQL $PGUSER@$PGHOST:$PGPORT: select 1 failed: $v"
[ "$v" = 1 ] || fail "PostgreSQL $PGHOST:$PGPORT: select 1 returned '$v'"
ver=$(psql -X -A -t -w -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres \
        -c 'show server_version_num' 2>&1)
[ "${ver:-0}" -ge 150000 ] 2>/dev/null ||
    fail "PostgreSQL $PGHOST:$PGPORT: server_version_num '$ver', want >= 150000"
note "PostgreSQL $ver at $PGHOST:$PGPORT"

# MariaDB
my() {
    mariadb --no-defaults --connect-timeout=5 -u"$MYSQL_USER" -h"$MYSQL_HOST" \
        -P"$MYSQL_PORT" -N -B "$@"
}
v=$(my -e 'select 1' 2>&1) ||
    fail "MariaDB $MYSQL_USER@$MYSQL_HOST:$MYSQL_PORT: select 1 failed: $v"
[ "$v" = 1 ] || fail "MariaDB $MYSQL_HOST:$MYSQL_PORT: select 1 returned '$v'"
ver=$(my -e 'select version()' 2>&1)
case $ver in
    *MariaDB*) note "MariaDB $ver at $MYSQL_HOST:$MYSQL_PORT" ;;
    *) fail "MariaDB $MYSQL_HOST:$MYSQL_PORT: version() is '$ver', not MariaDB" ;;
esac

# S3: signed ListBuckets.  The access key holds ':' (tempauth account:user)
# and curl's --user splits at the first ':', so credentials go in the URL.
es_tmpdir
hostport=${S3_ENDPOINT#*://}
scheme=${S3_ENDPOINT%%://*}
enc() { printf '%s' "$1" | sed 's/%/%25/g; s/:/%3A/g; s/@/%40/g; s:/:%2F:g'; }
s3_list() {  # SECRET -> http code; body in $T/body
    curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
        --aws-sigv4 "aws:amz:$S3_REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        "$scheme://$(enc "$S3_ACCESS_KEY"):$(enc "$1")@$hostport/"
}
code=$(s3_list "$S3_SECRET_KEY") || true
[ "$code" = 200 ] || fail "S3 $S3_ENDPOINT: signed ListBuckets gave HTTP $code: $(head -c 300 "$T/body")"
grep -q 'ListAllMyBucketsResult' "$T/body" ||
    fail "S3 $S3_ENDPOINT: ListBuckets body is not a ListAllMyBucketsResult: $(head -c 300 "$T/body")"
code=$(s3_list "not-the-secret") || true
[ "$code" = 403 ] || fail "S3 $S3_ENDPOINT: a wrong secret gave HTTP $code, want 403 (signatures not checked?)"
note "S3 at $S3_ENDPOINT checks SigV4 signatures"
pass
