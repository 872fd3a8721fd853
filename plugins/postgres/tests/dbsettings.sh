#!/bin/bash
# Database-level properties: ALTER DATABASE ... SET (list and plain values),
# ALTER ROLE ... IN DATABASE ... SET, the database comment and its ACL go
# backup -> store -> restore and are re-applied to the new database before
# the swap (mode swap) or in place (mode replace); no_owner skips the
# per-role settings, no_privileges the grants; a per-role setting of a role
# missing on the target is skipped with a warning; a grantee missing on the
# target fails the restore before anything is touched.
. "$top_srcdir/tests/lib.sh"
need_pg
. "$top_srcdir/plugins/postgres/tests/pg-lib.sh"
es_tmpdir
set -e

src=$(pg_name src) dst=$(pg_name dst) dst2=$(pg_name dst2)
grantee="es_dbs_grantee_$$" rsrole="es_dbs_rs_$$" gone="es_dbs_gone_$$" lost="es_dbs_lost_$$"
cleanup() {
    pg_drop "$src" "$dst" "$dst2"
    for r in "$grantee" "$rsrole" "$gone" "$lost"; do
        psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
pg_drop "$src" "$dst" "$dst2"
for r in "$grantee" "$rsrole" "$gone"; do q -d postgres -c "CREATE ROLE $r"; done
q -d postgres -c "CREATE DATABASE \"$src\" TEMPLATE template0 ENCODING 'UTF8'"
q -d "$src" -c "CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, v text);
                INSERT INTO app.t VALUES (1, 'a'), (2, 'b');"
q -d postgres >/dev/null <<EOF2
ALTER DATABASE "$src" SET search_path = app, public, "\$user";
ALTER DATABASE "$src" SET work_mem = '8MB';
ALTER DATABASE "$src" SET timezone TO 'Europe/London';
ALTER DATABASE "$src" SET temp_tablespaces = '';
-- applied after the load, so it cannot break it
ALTER DATABASE "$src" SET default_transaction_read_only = on;
COMMENT ON DATABASE "$src" IS 'Bob''s app: "main" database — ünïcode';
REVOKE ALL ON DATABASE "$src" FROM PUBLIC;
GRANT CONNECT ON DATABASE "$src" TO PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "$src" TO $grantee;
GRANT CREATE ON DATABASE "$src" TO $grantee WITH GRANT OPTION;
ALTER ROLE $rsrole IN DATABASE "$src" SET work_mem = '16MB';
ALTER ROLE $rsrole IN DATABASE "$src" SET search_path = app;
ALTER ROLE $gone IN DATABASE "$src" SET statement_timeout = '5s';
EOF2

# dbprops DB: the properties under test, as text (the owner's own ACL
# entries left out: the target's owner is the restoring role)
dbprops() {
    q -d postgres -v db="$1" <<'EOF2'
SELECT 'setting', coalesce(r.rolname, '-'), c.item
FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c(item)
WHERE d.datname = :'db' ORDER BY 1, 2, 3;
SELECT 'comment', shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :'db';
SELECT 'acl', coalesce(g.rolname, 'PUBLIC'), a.privilege_type, a.is_grantable
FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE d.datname = :'db' AND a.grantee <> d.datdba ORDER BY 1, 2, 3;
EOF2
}

conf() {  # FILE: a backup job and restore jobs reading its artifacts
    cat >"$1" <<EOC
envsync: { environment = "staging"; log_level = "info"; progress_interval = "0"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = (
  { name = "dbs";
    backup = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
               database = "$src"; };
    store = { storage = "local"; }; },
  { name = "dbs_swap";
    fetch = { storage = "local"; job = "dbs"; };
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                database = "$dst"; swap_delay = "100ms"; }; },
  { name = "dbs_replace";
    fetch = { storage = "local"; job = "dbs"; };
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                database = "$dst2"; mode = "replace"; no_owner = true; no_privileges = true; }; }
);
EOC
    mkdir -p "$T/store"
}
conf "$T/es.conf"

run_envsync -c "$T/es.conf" run dbs
expect_rc 0 "backup"
# the role disappears between backup and restore: its setting is skipped
q -d postgres -c "DROP ROLE $gone"

# 1. mode swap: everything re-applied, the missing role's setting skipped
run_envsync -c "$T/es.conf" run dbs_swap
expect_rc 0 "restore (swap)"
expect_out "role \"$gone\" does not exist on the target" "warning about the missing role"
pg_exists "${dst}_envsync_new" && fail "temporary database left behind"
dbprops "$src" >"$T/src.txt"
dbprops "$dst" >"$T/dst.txt"
diff -u "$T/src.txt" "$T/dst.txt" >&2 || fail "database properties differ from the source's"
grep -qx "setting|-|search_path=app, public, \"\$user\"" "$T/dst.txt" || fail "search_path"
grep -qx 'setting|-|temp_tablespaces=""' "$T/dst.txt" || fail "empty temp_tablespaces"
grep -qx "setting|-|TimeZone=Europe/London" "$T/dst.txt" || fail "timezone"
grep -qx "setting|$rsrole|work_mem=16MB" "$T/dst.txt" || fail "per-role setting"
grep -qx "comment|Bob's app: \"main\" database — ünïcode" "$T/dst.txt" || fail "comment"
grep -qx "acl|$grantee|CREATE|t" "$T/dst.txt" || fail "grant with grant option"
grep -qx "acl|PUBLIC|CONNECT|f" "$T/dst.txt" || fail "PUBLIC's CONNECT"
grep -q "acl|PUBLIC|TEMPORARY" "$T/dst.txt" && fail "PUBLIC's TEMPORARY not revoked"
# the settings work in a new session, and the data was loaded despite
# default_transaction_read_only
[ "$(q -d "$dst" -c "SHOW search_path")" = 'app, public, "$user"' ] || fail "search_path in a session"
[ "$(q -d "$dst" -c "SELECT count(*) FROM t")" = 2 ] || fail "data (through search_path)"
[ "$(q -d "$dst" -c "SHOW default_transaction_read_only")" = on ] || fail "read-only setting"

# 2. mode replace with no_owner and no_privileges: settings and comment,
# no per-role settings, no grants (the default ACL)
run_envsync -c "$T/es.conf" run dbs_replace
expect_rc 0 "restore (replace, no_owner, no_privileges)"
dbprops "$dst2" >"$T/dst2.txt"
grep -v -e '^acl|' -e "^setting|$rsrole|" "$T/src.txt" | diff -u - "$T/dst2.txt" >&2 ||
    fail "replace: properties differ"
[ "$(q -d postgres -c "SELECT datacl IS NULL FROM pg_database WHERE datname = '$dst2'")" = t ] ||
    fail "no_privileges: the source's grants were applied"

# 3. a grantee missing on the target: the restore fails before touching it
q -d postgres -c "CREATE ROLE $lost"
q -d postgres -c "GRANT CONNECT ON DATABASE \"$src\" TO $lost"
run_envsync -c "$T/es.conf" run dbs
expect_rc 0 "second backup"
q -d postgres -c "REVOKE ALL ON DATABASE \"$src\" FROM $lost; DROP ROLE $lost"
PGOPTIONS="-c default_transaction_read_only=off" q -d "$dst" -c "CREATE TABLE marker_of_old_copy (x int)"
dbprops "$dst" >"$T/before.txt"
run_envsync -c "$T/es.conf" run dbs_swap
[ "$rc" != 0 ] || fail "restore with a missing grantee succeeded"
expect_out "role.*\"$lost\".*missing on the target.*no_privileges" "missing grantee message"
pg_exists "${dst}_envsync_new" && fail "missing grantee: temporary database left behind"
[ "$(q -d "$dst" -c "SELECT count(*) FROM pg_class WHERE relname = 'marker_of_old_copy'")" = 1 ] ||
    fail "missing grantee: the target was replaced"
dbprops "$dst" | diff -u "$T/before.txt" - >&2 || fail "missing grantee: target properties changed"
pass
