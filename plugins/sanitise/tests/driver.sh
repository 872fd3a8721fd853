#!/bin/bash
# The plugin behind a minimal fake host (host_driver dlopens the .so):
# what the test engine cannot show: DOCS entries, index policy, emitted
# POSTLOAD and META entries, chunk renumbering, drop omitting a schema entry.
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
drv="$top_builddir/plugins/sanitise/tests/host_driver"
so="$top_builddir/plugins/sanitise/.libs/sanitise.so"
[ -x "$drv" ] && [ -f "$so" ] || fail "host_driver or sanitise.so not built"

cat > "$T/rules" <<'EOF2'
table main.users
    id        keep
    email     email
    filter    id > 1
table secrets drop
index books-*
    $._source.author.email   email
    $._source.token          remove
    filter $._source.kind != 'draft'
index cache truncate
EOF2
cat > "$T/in" <<'EOF2'
@@ SCHEMA main secrets pre-data type=table
CREATE TABLE secrets (id int);
@@ SCHEMA - - pre-data
CREATE TABLE users (id int, email text);
@@ SCHEMA main schema pre-data
-- a whole-section script (object "schema", no type=table) is never omitted
@@ DATA main users id,email
1	a@corp.com
@@ DATA main users id,email
2	b@corp.com
3	\N
@@ DATA main secrets id
1
@@ DOCS - books-1
{"_id":"1","_source":{"author":{"email":"x@corp.com"},"token":"t","kind":"book"}}
{"_id":"2","_source":{"kind":"draft"}}
{"_id":"3","_source":{"author":{"name":"n"},"price":1.5,"kind":"book"}}
@@ DOCS - cache
{"_id":"c"}
@@ META - database
{"encoding":"UTF8"}
EOF2
printf 'UPDATE users SET email = NULL;\n' > "$T/a.sql"
printf 'SELECT 1;\n' > "$T/b.sql"

set +e
"$drv" "$so" "$T/in" rules="$T/rules" key=driver-key-0123456789 sql="$T/a.sql,$T/b.sql" > "$T/out" 2> "$T/err"
rc=$?
set -e
[ "$rc" = 0 ] || fail "driver run: exit $rc: $(cat "$T/err")"
out=$(cat "$T/out")
# chunk 0 of users filtered to nothing: the first emitted chunk is seq 0
expect_out '^@@ DATA main users - rows=2 seq=0$' "users chunk renumbered from 0 with filtered row count"
grep -q 'a@corp.com\|b@corp.com\|x@corp.com' "$T/out" && fail "an original email was emitted"
expect_out '^3	\\N$' "NULL stays NULL"
grep -q 'secrets' <<<"$(grep '^@@' "$T/out")" && fail "dropped table: schema or data emitted"
expect_out '^@@ SCHEMA - - pre-data' "other schema entries pass"
expect_out '^@@ SCHEMA main schema pre-data' "whole-section scripts pass"
expect_out '^@@ DOCS - books-1 - rows=2 seq=0$' "docs filtered"
expect_out '"author":\{"email":"anon-[0-9a-f]{16}@example.invalid"\}' "document email rewritten"
grep -q '"token"' "$T/out" && fail "removed key still present"
expect_out '^\{"_id":"3","_source":\{"author":\{"name":"n"\},"price":1.5,"kind":"book"\}\}$' "unchanged document byte-exact"
grep -q 'DOCS - cache' "$T/out" && fail "truncated index emitted documents"
expect_out '^@@ META - database' "foreign META passes"
expect_out '^@@ POSTLOAD - a.sql sanitise rows=0 seq=0$' "first sql script"
expect_out '^UPDATE users SET email = NULL;$' "script text"
expect_out '^@@ POSTLOAD - b.sql sanitise rows=0 seq=1$' "second sql script"
expect_out '^@@ META - sanitise-report' "report entry"
python3 - "$T/out" <<'PY' || fail "report JSON"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index([l for l in lines if l.startswith("@@ META - sanitise-report")][0])
r = json.loads(lines[i + 1])
rules = {(x.get("table") or x.get("index"), x.get("column") or x.get("path")): x["changed"] for x in r["rules"]}
assert rules[("main.users", "email")] == 1, rules          # b@corp.com; 3 is NULL; 1 filtered
assert rules[("books-*", "$._source.author.email")] == 1, rules
assert rules[("books-*", "$._source.token")] == 1, rules
t = {x["table"]: x for x in r["tables"]}
assert t["main.users"]["rows_in"] == 3 and t["main.users"]["rows_out"] == 2, t
assert t["main.secrets"]["action"] == "drop", t
ix = {x["index"]: x for x in r["indexes"]}
assert ix["books-1"]["docs_in"] == 3 and ix["books-1"]["docs_out"] == 2, ix
assert r["policy"] == "strict"
assert "driver-key" not in json.dumps(r)
PY

# strict: an index without a block is refused, with the table problems
printf '@@ DOCS - other\n{"a":1}\n@@ DATA main users id,email,phone\n1\tx\ty\n' > "$T/in2"
set +e
"$drv" "$so" "$T/in2" rules="$T/rules" key=driver-key-0123456789 > "$T/out" 2> "$T/err"
rc=$?
set -e
[ "$rc" = 11 ] || fail "strict with an unlisted index: exit $rc"
grep -q 'index other (no index block); main.users: phone' "$T/err" || fail "strict message: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "refused run emitted entries: $(cat "$T/out")"

# report = false: no META entry
"$drv" "$so" "$T/in" rules="$T/rules" key=driver-key-0123456789 report=false > "$T/out" 2> "$T/err"
grep -q 'sanitise-report' "$T/out" && fail "report = false still emitted the report"
pass
