# plugins/postgres/tests/pg-lib.sh - helpers shared by the postgres plugin's
# integration tests (sourced after tests/lib.sh and need_pg).

# The plugins this build made, wherever libtool left them.
export ENVSYNC_PLUGIN_PATH="${ENVSYNC_PLUGIN_PATH:-}:$top_builddir/.libs:$top_builddir/plugins/postgres/.libs:$top_builddir/plugins/file/.libs:$top_builddir/tests/plugins/.libs"
PG_FIXTURES="$top_srcdir/plugins/postgres/tests"

# Unique database names per test run: tests may run in parallel.
pg_name() { printf 'es_%s_%s_%s' "$1" "$(echo "$TEST_NAME" | tr -c 'a-z0-9\n' _)" "$$"; }

q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# pg_drop DB...: drop each database and its envsync companions.
pg_drop() {
    local d
    for d in "$@"; do
        for x in "$d" "${d}_envsync_new" "${d}_envsync_old"; do
            psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$x\" WITH (FORCE)" >/dev/null 2>&1 || true
        done
    done
}

pg_exists() {
    [ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]
}

# pg_conf FILE JOB SRC DST [extra backup options] [extra restore options]:
# a full-cycle job, backup -> file store -> fetch -> restore.
pg_conf() {
    cat >"$1" <<EOF
envsync: { environment = "${ES_ENVIRONMENT:-staging}"; log_level = "info"; progress_interval = "0";
           allow_production_restore = ${ES_ALLOW_PROD:-false}; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "$2";
    backup  = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                database = "$3"; jobs = ${ES_JOBS:-2}; chunk_size = "64k"; ${5:-} };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; job = "$2"; };
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "${ES_RESTORE_USER:-$PGUSER}";
                database = "$4"; jobs = 2; swap_delay = "100ms"; ${6:-} };
} );
EOF
    mkdir -p "$T/store"
}

# pg_snapshot DB OUT: a text picture of a database for comparison:
# schema (pg_dump, normalised), per-table row count and hash in row order,
# sequence states, large objects.
pg_snapshot() {
    local db=$1 out=$2
    pg_dump --schema-only --no-tablespaces -d "$db" |
        grep -v -e '^-- Dumped' -e '^\\restrict' -e '^\\unrestrict' |
        sed "s/$db/DBNAME/g" >"$out"
    echo "== data" >>"$out"
    q -d "$db" >>"$out" <<'EOF'
SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s %I.%I t',
              n.nspname || '.' || c.relname, CASE WHEN c.relkind = 'r' THEN 'ONLY' ELSE '' END,
              n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND c.relispopulated
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
ORDER BY n.nspname, c.relname
\gexec
EOF
    echo "== sequences" >>"$out"
    q -d "$db" >>"$out" <<'EOF'
SELECT format('SELECT %L, last_value, is_called FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' ORDER BY n.nspname, c.relname
\gexec
EOF
    echo "== large objects" >>"$out"
    q -d "$db" -c "SELECT oid, md5(lo_get(oid)), pg_get_userbyid(lomowner) FROM pg_largeobject_metadata ORDER BY oid" >>"$out"
}
