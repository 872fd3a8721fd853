#!/bin/bash
# `envsync check` checks the sanitise rules against the real schema: the
# schema of the artifact the job would fetch passes through its transforms.
# Rules naming a missing column, a phone rule on an integer column and a
# non-injective rule on a unique column are config errors naming file:line.
. "$top_srcdir/tests/core/common.sh"
need_pg
C="$T/envsync.conf"
db="envsync_ck_$$"
psql_() { psql -X -q -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$@"; }
trap 'psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; rm -rf "$T"' EXIT
psql_ -d postgres -c "CREATE DATABASE $db"
psql_ -d "$db" -c "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, age int, note text);
                   INSERT INTO users VALUES (1, 'a@corp.example.org', 30, 'x')"
printf 'check-key-0123456789abcdef\n' > "$T/key"
cat > "$C" <<EOC
envsync: { environment = "test"; progress_interval = "1h"; };
storage: { local: { plugin = "file"; path = "$STORE"; fsync = false; }; };
jobs = (
  { name = "pg"; backup = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER"; database = "$db"; };
    store = { storage = "local"; }; },
  { name = "stage"; fetch = { storage = "local"; job = "pg"; };
    transform = ( { plugin = "sanitise"; rules = "$T/rules"; key_file = "$T/key"; } );
    restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER"; database = "${db}_copy"; }; }
);
EOC
rules() { printf 'table public.users\n    id, note   keep\n%s\n' "$1" > "$T/rules"; }
rules '    email      email
    age        keep'
run_envsync -c "$C" run pg
expect_rc 0 "backup"
run_envsync -c "$C" check stage
expect_rc 0 "good rules"
expect_out "transforms accept the schema of pg/" "schema checked"

rules '    email      email
    age        keep
    shoe_size  null'
run_envsync -c "$C" check stage
expect_rc 3 "rule naming a missing column"
expect_out "rules:5" "names the rules file and line"
expect_out "shoe_size" "names the column"

printf 'table public.users\n    id, note, age   keep\n    email   email\ntable public.customers\n    id   keep\n' > "$T/rules"
run_envsync -c "$C" check stage
expect_rc 0 "rules naming a table the artifact does not have: a warning"
expect_out "rules:4: table public.customers is not in the artifact's schema" "missing table named with file:line"

rules '    email      email
    age        phone'
run_envsync -c "$C" check stage
expect_rc 3 "phone rule on an integer column"
expect_out "rules:4" "type mismatch names file:line"

rules '    email      set(nobody@example.invalid)
    age        keep'
# PostgreSQL declares unique keys in post-data, after the rows: --deep
run_envsync -c "$C" check --deep stage
expect_rc 3 "non-injective rule on a unique column"
expect_out "rules:3" "unique-column refusal names file:line"
expect_out "artifact pg/[0-9TZ]+\.envsync verified" "--deep verifies the artifact"
pass
