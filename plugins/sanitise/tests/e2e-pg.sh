#!/bin/bash
# End to end through a real PostgreSQL: backup -> file store -> fetch ->
# sanitise -> restore.  The target holds no original value of a sanitised
# column, joins and foreign keys on sanitised keys still match, unique
# indexes survive, filters/truncate apply, SQL-script mode runs before the
# swap, and strict mode stops a run before the target changes.
. "$top_srcdir/tests/lib.sh"
need_pg
set -e
es_tmpdir
export ENVSYNC_PLUGIN_PATH="${ENVSYNC_PLUGIN_PATH:-}:$top_builddir/plugins/postgres/.libs:$top_builddir/plugins/file/.libs:$top_builddir/plugins/sanitise/.libs"

SRC="es_san_src_$$"
DST="es_san_dst_$$"
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
drop_all() {
    for d in "$SRC" "$DST" "${DST}_envsync_new" "${DST}_envsync_old"; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
trap 'drop_all; rm -rf "$T"' EXIT
drop_all
q -d postgres -c "CREATE DATABASE \"$SRC\""
q -d "$SRC" <<'SQL'
CREATE TABLE users (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    phone text,
    ip inet,
    notes text,
    prefs jsonb,
    access_limited boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    user_id int NOT NULL REFERENCES users(id),
    user_email text NOT NULL,
    amount numeric(10,2),
    created_at timestamptz NOT NULL
);
CREATE INDEX ON orders (user_email);
CREATE TABLE sessions (id int PRIMARY KEY, token text);
CREATE TABLE audit_log (id int PRIMARY KEY, who text);
INSERT INTO audit_log SELECT i, 'person' || i || '@corp-mail.co.uk' FROM generate_series(1, 20) i;
INSERT INTO users (name, email, phone, ip, notes, prefs, access_limited, created_at)
SELECT 'Person Number' || i,
       'person' || i || '@corp-mail.co.uk',
       '+44 20 7946 ' || lpad(i::text, 4, '0'),
       ('192.168.' || (i / 250) || '.' || (i % 250 + 1))::inet,
       CASE WHEN i % 3 = 0 THEN E'Dear person' || i || E'@corp-mail.co.uk,\n\tsee C:\\temp\\file ' || i
            WHEN i % 3 = 1 THEN NULL
            ELSE 'Écrit à person' || i || '@corp-mail.co.uk — ok' END,
       jsonb_build_object('email', 'person' || i || '@corp-mail.co.uk', 'theme', 'dark', 'n', i),
       i % 10 = 0,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(1, 300) i;
INSERT INTO orders (user_id, user_email, amount, created_at)
SELECT 1 + (i * 7) % 300, 'person' || (1 + (i * 7) % 300) || '@corp-mail.co.uk', i * 1.5,
       timestamptz '2024-01-10 00:00:00+00' + i * interval '1 day'
FROM generate_series(1, 200) i;
INSERT INTO sessions SELECT i, md5(i::text) FROM generate_series(1, 50) i;
SQL

cat > "$T/rules" <<'EOF'
table public.users
    id, created_at, access_limited   keep
    name                             name
    email                            email
    phone                            phone
    ip                               ip
    notes                            lorem    when access_limited = 't'
    notes                            replace_emails
    prefs                            json($.email: email)

table public.orders
    id, user_id, amount, created_at  keep
    user_email                       email
    filter created_at >= now - 100 days

table public.sessions truncate
table public.audit_log drop
EOF
printf 'UPDATE public.users SET phone = NULL WHERE id = 1;\n' > "$T/extra.sql"
printf '%s\n' "e2e-test-key-0123456789abcdef" > "$T/key"

conf() {  # conf RULES [EXTRA_TRANSFORM_OPTIONS]
    mkdir -p "$T/store"
    cat > "$T/envsync.conf" <<EOF
envsync: { environment = "staging"; log_level = "info"; progress_interval = "0"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "san";
    backup    = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                  database = "$SRC"; jobs = 2; chunk_size = "16k"; };
    store     = { storage = "local"; };
    fetch     = { storage = "local"; job = "san"; };
    transform = ( { plugin = "sanitise"; rules = "$1"; key_file = "$T/key"; now = "2024-08-01 00:00:00+00"; ${2:-} } );
    restore   = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
                  database = "$DST"; jobs = 2; swap_delay = "100ms"; };
} );
EOF
}

conf "$T/rules" "sql = ( \"$T/extra.sql\" ); verify = true;"
run_envsync -c "$T/envsync.conf" run san
expect_rc 0 "sanitised full cycle"
expect_out 'public.users.*email email .*: 300 value\(s\) changed' "email count logged"
expect_out 'verification scan: 0 value\(s\) look personal' "verification scan clean"

# no original value of a sanitised column anywhere in the target
pg_dump -d "$DST" --data-only > "$T/dst.sql"
for col in name email phone host\(ip\); do
    q -d "$SRC" -c "SELECT DISTINCT $col FROM users WHERE $col IS NOT NULL" > "$T/orig.txt"
    hits=$(grep -cFf "$T/orig.txt" "$T/dst.sql" || true)
    [ "$hits" = 0 ] || fail "$hits line(s) of the target contain original users.$col values"
done
grep -q 'corp-mail' "$T/dst.sql" && fail "an original email domain reached the target"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE email LIKE 'anon-%@example.invalid'")" = 300 ] ||
    fail "emails not anonymised"
[ "$(q -d "$DST" -c "SELECT count(DISTINCT email) FROM users")" = 300 ] || fail "email mapping not unique"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE prefs->>'email' = email")" = 300 ] ||
    fail "json(\$.email: email) must map like the email column"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE prefs->>'theme' = 'dark'")" = 300 ] ||
    fail "json() changed other keys"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE access_limited AND notes LIKE 'Lorem%'")" = \
  "$(q -d "$SRC" -c "SELECT count(*) FROM users WHERE access_limited AND notes IS NOT NULL")" ] ||
    fail "conditional lorem"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE notes LIKE 'Dear anon-%@example.invalid,%'
      AND strpos(notes, E',\\n\\tsee C:' || chr(92) || 'temp' || chr(92) || 'file ') > 0")" = 90 ] ||
    fail "replace_emails must keep the text, tabs, newlines and backslashes around the address"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE notes LIKE 'Écrit à anon-%@example.invalid — ok'")" -gt 0 ] ||
    fail "UTF-8 text around a replaced address"
[ "$(q -d "$DST" -c "SELECT count(*) FROM users WHERE host(ip) LIKE '10.%'")" = 300 ] || fail "ip rule"
[ "$(q -d "$DST" -c "SELECT phone IS NULL FROM users WHERE id = 1")" = t ] || fail "sql script did not run"
# joins and foreign keys on the sanitised key still match
[ "$(q -d "$DST" -c "SELECT count(*) FROM orders o JOIN users u ON u.email = o.user_email AND u.id = o.user_id")" = \
  "$(q -d "$DST" -c "SELECT count(*) FROM orders")" ] || fail "join on the sanitised email lost rows"
# filter: orders of the last 100 days before 2024-08-01
want=$(q -d "$SRC" -c "SELECT count(*) FROM orders WHERE created_at >= timestamptz '2024-08-01 00:00:00+00' - interval '100 days'")
[ "$(q -d "$DST" -c "SELECT count(*) FROM orders")" = "$want" ] || fail "filter: want $want orders"
[ "$(q -d "$DST" -c "SELECT count(*) FROM sessions")" = 0 ] || fail "sessions not truncated"
[ "$(q -d "$DST" -c "SELECT to_regclass('public.audit_log') IS NULL")" = t ] || fail "dropped table exists"
before=$(q -d "$DST" -c "SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM users u")

# deterministic: a second run restores identical users
run_envsync -c "$T/envsync.conf" run san
expect_rc 0 "second run"
[ "$(q -d "$DST" -c "SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM users u")" = "$before" ] ||
    fail "same data and key gave different output"

# rules that cannot fit the schema are refused before any row: a text rule
# on a boolean, a non-injective rule on a column under a unique key
sed -e 's/^    id, created_at, access_limited   keep/    id, created_at   keep\n    access_limited   phone/' \
    "$T/rules" > "$T/rules-bad"
conf "$T/rules-bad"
run_envsync -c "$T/envsync.conf" run san
expect_rc 3 "a rule that does not fit a column type"
expect_out "rules-bad:3: rule 'phone' does not fit public.users.access_limited \(boolean\): the rule produces text" "type mismatch named"
if grep -q 'data loaded' <<<"$out"; then fail "rows reached the restore before the refusal"; fi
# (pg_dump puts unique constraints in post-data, after the rows: this one is
# caught before the swap, not before the load)
sed -e 's/^    email                            email/    email                            lorem/' "$T/rules" > "$T/rules-bad"
run_envsync -c "$T/envsync.conf" run san
expect_rc 3 "a non-injective rule on a unique column"
expect_out "rules-bad:4: rule 'lorem' on public.users.email, which has a unique key: not injective" "unique key named"
[ "$(q -d "$DST" -c "SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM users u")" = "$before" ] ||
    fail "the refused runs changed the target"
conf "$T/rules"

# strict: a new column without a rule stops the run; the target is untouched
q -d "$SRC" -c "ALTER TABLE users ADD COLUMN national_insurance text DEFAULT 'QQ123456C'"
run_envsync -c "$T/envsync.conf" run san
expect_rc 11 "strict policy with a new column"
expect_out 'public.users: national_insurance' "the new column is named"
expect_out 'table public.users has unclassified columns: national_insurance \(from its CREATE TABLE\)' "refused from the schema, before any row"
if grep -q 'data loaded' <<<"$out"; then fail "rows reached the restore before the refusal"; fi

[ "$(q -d "$DST" -c "SELECT md5(string_agg(u::text, ',' ORDER BY id)) FROM users u")" = "$before" ] ||
    fail "the refused run changed the target"
[ "$(q -d "$DST" -c "SELECT count(*) FROM information_schema.columns WHERE column_name = 'national_insurance'")" = 0 ] ||
    fail "the refused run changed the target's schema"
[ "$(q -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE '${DST}_envsync%'")" = 0 ] ||
    fail "temporary database left behind"
pass
