#!/bin/bash
# The sanitise plugin through the real core, with the test engine (testdb:
# a "database" is a directory of row files with columns id, name, email,
# note), so no server is needed: rewriting, joins on hashed keys, table
# rules, policies, key handling, rules-file errors, verification scan.
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
DB="$T/db"
mkdir -p "$DB/src"

printf '1\tJane Doe\tjane@corp.co.uk\tcall 020 7946 0958\n2\tBob\tbob@corp.co.uk\tcontact jane@corp.co.uk please\n3\tEve\t\\N\tsee \\\\N\\ttab\n' > "$DB/src/users"
printf '10\tx\tjane@corp.co.uk\torder\n11\tx\tbob@corp.co.uk\torder\n12\tx\tbob@corp.co.uk\trefund\n' > "$DB/src/orders"
printf '1\ttoken\tjane@corp.co.uk\tsession\n' > "$DB/src/sessions"
printf '1\tx\tjane@corp.co.uk\taudit\n' > "$DB/src/audit_2024"
printf '%s\n' "0123456789abcdef-test-key" > "$T/key"

cat > "$T/rules" <<'EOF'
# users: every column classified
table main.users
    id          keep
    name        name
    email       hash(length=24)
    note        replace_emails

table orders
    id, name    keep
    email       hash(length=24)        # same rule: joins still match
    note        keep
    filter      note = 'order' and id >= 10

table sessions truncate
table audit_*  drop
EOF

conf() {  # conf TRANSFORM_OPTIONS [DATABASE]
    cat > "$T/envsync.conf" <<EOC
envsync: { environment = "test"; progress_interval = "1h"; };
jobs = ( { name = "direct";
    backup = { plugin = "testdb"; dir = "$DB"; database = "src"; };
    transform = ( { plugin = "sanitise"; $1 } );
    restore = { plugin = "testdb"; dir = "$DB"; database = "${2:-dst}"; }; } );
EOC
}
db_sum() { (cd "$DB/$1" && for f in $(ls); do echo "$f"; cat "$f"; done) | sha256sum; }

# --- a sanitised copy
conf "rules = \"$T/rules\"; key_file = \"$T/key\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 0 "sanitised run"
for v in 'jane@corp.co.uk' 'bob@corp.co.uk' 'Jane Doe'; do
    if grep -rqF "$v" "$DB/dst"; then fail "original value '$v' reached the target"; fi
done
grep -q 'contact anon-[0-9a-f]\{16\}@example.invalid please' "$DB/dst/users" || fail "email inside text not rewritten"
grep -qF 'see \\N\ttab' "$DB/dst/users" || fail "escapes in a replace_emails column changed"
grep -qP '^3\t[A-Za-z]+ [A-Za-z]+\t\\N\t' "$DB/dst/users" || fail "NULL email must stay NULL"
# joins: the hashed email of user 2 equals the hashed email on their orders
u2=$(awk -F'\t' '$1==2 {print $3}' "$DB/dst/users")
[ ${#u2} = 24 ] || fail "hash(length=24) gave '$u2'"
[ "$(awk -F'\t' -v h="$u2" '$3==h' "$DB/dst/orders" | wc -l)" = 1 ] || fail "join on hashed key lost (filter keeps order 11 only)"
[ "$(wc -l < "$DB/dst/orders")" = 2 ] || fail "filter: want orders 10 and 11"
[ ! -s "$DB/dst/sessions" ] || fail "truncated table has rows"
[ ! -s "$DB/dst/audit_2024" ] || fail "dropped table has rows"
expect_out 'main.users|users' "log names the table"
expect_out 'email hash\(length=24\) \(.*rules:5\): 2 value\(s\) changed' "per-rule count logged"
expect_out 'table orders filter .*: 3 row\(s\) in, 2 out' "filter count logged"
expect_out 'sanitised: [0-9]+ value\(s\) changed' "summary line"
first=$(db_sum dst)

# --- deterministic: a second run gives the same bytes
run_envsync -c "$T/envsync.conf" run direct
expect_rc 0 "second run"
[ "$(db_sum dst)" = "$first" ] || fail "same input and key must give the same output"

# --- another key gives other values
printf 'another-key-entirely-different\n' > "$T/key2"
conf "rules = \"$T/rules\"; key_file = \"$T/key2\";" dst2
run_envsync -c "$T/envsync.conf" run direct
expect_rc 0 "run with another key"
[ "$(awk -F'\t' '$1==2 {print $3}' "$DB/dst2/users")" != "$u2" ] || fail "the key must change hashes"

# --- strict: unclassified columns stop the run, target unchanged, all listed
cat > "$T/rules-strict" <<'EOF'
table users
    id, name    keep
table orders
    id          keep
EOF
conf "rules = \"$T/rules-strict\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 11 "strict policy refuses unclassified columns"
expect_out 'main.users: email, note' "users' unclassified columns listed"
expect_out 'main.orders: name, email, note' "orders' unclassified columns listed"
expect_out 'main.sessions \(no table block\)' "tables without a block listed"
[ "$(db_sum dst)" = "$first" ] || fail "strict failure changed the target"

# --- warn: runs, lists columns, flags personal-looking names
conf "rules = \"$T/rules-strict\"; policy = \"warn\";" dst3
run_envsync -c "$T/envsync.conf" run direct
expect_rc 0 "warn policy runs"
expect_out 'unclassified column\(s\) kept as they are: email \(looks personal!\), note' "warn lists and flags"

# --- verification scan: a kept column with real addresses fails the run
cat > "$T/rules-leaky" <<'EOF'
table *
    id, name, note keep
    email email
EOF
conf "rules = \"$T/rules-leaky\"; key = \"0123456789abcdef-inline\"; verify = true;" dst4
run_envsync -c "$T/envsync.conf" run direct
expect_rc 11 "verification scan above threshold"
expect_out 'verification scan found [0-9]+ value\(s\) that look like personal data' "scan verdict"
expect_out 'main.users.note \(1 emails, 1 phones, 0 cards\)' "scan names the column"
if grep -q '0123456789abcdef-inline' <<<"$out"; then fail "the key appeared in the output"; fi
[ ! -d "$DB/dst4" ] || fail "refused run created the target"
conf "rules = \"$T/rules-leaky\"; key = \"0123456789abcdef-inline\"; verify = true; verify_threshold = 5;" dst4
run_envsync -c "$T/envsync.conf" run direct
expect_rc 0 "verification scan under threshold"

# --- configuration errors: exit 3 with file:line
conf "rules = \"$T/rules\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "keyed rules without a key"
expect_out 'uses keyed rules .* but no key is set' "missing key message"
printf 'table t\n  a keep\n  b frobnicate(1)\n' > "$T/rules-bad"
conf "rules = \"$T/rules-bad\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "unknown rule"
expect_out "rules-bad:3: unknown rule 'frobnicate'" "unknown rule names file:line"
printf 'table t\n  a set(\n\n' > "$T/rules-bad"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "malformed rules"
expect_out "rules-bad:2: set\(\): expected a value" "malformed rule names file:line"
conf "rules = \"$T/nope\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "missing rules file"
expect_out "nope: cannot open rules file" "missing rules file named"
conf "rules = \"$T/rules\"; key = \"k\"; policy = \"lenient\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "bad policy"
conf "rules = \"$T/rules\"; key = \"0123456789abcdef\"; sql = ( \"$T/missing.sql\" );"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "missing sql script"
expect_out "missing.sql" "missing script named"
conf "rules = \"$T/rules\"; key = \"0123456789abcdef\"; colour = \"red\";"
run_envsync -c "$T/envsync.conf" run direct
expect_rc 3 "unknown option"

# --- check validates the rules offline
printf 'table t\n  a frobnicate\n' > "$T/rules-bad"
conf "rules = \"$T/rules-bad\";"
run_envsync -c "$T/envsync.conf" check --offline
[ "$rc" != 0 ] || fail "check accepted a broken rules file"
expect_out "rules-bad:2: unknown rule" "check names file:line"

pass
