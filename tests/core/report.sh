#!/bin/bash
# A stored sanitised copy carries the sanitise report in its manifest:
# `envsync inspect` shows which rules applied and how many values each
# changed (issue 6), never the key or the values.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
printf 'report-key-0123456789abcdef\n' > "$T/key"
cat > "$T/rules" <<'EOR'
table main.t0
    id, name, note   keep
    email            email
table main.t1
    id, name, note   keep
    email            hash(length=16)
table main.t2 truncate
EOR
conf "$PROD_JOB, { name = \"tee\"; fetch = { storage = \"local\"; job = \"prod\"; };
   transform = ( { plugin = \"sanitise\"; rules = \"$T/rules\"; key_file = \"$T/key\"; } );
   store = { storage = \"local\"; };
   restore = { plugin = \"testdb\"; dir = \"$DB\"; database = \"tee\"; }; }"
run_envsync -c "$C" run prod tee
expect_rc 0 "backup, then fetch -> sanitise -> store + restore"
# the job fetches and stores in the same storage: inspect the stored copy by file
run_envsync -c "$C" inspect "$STORE/tee/$(cat "$STORE/tee/latest").envsync"
expect_rc 0 "inspect the sanitised copy"
printf '%s\n' "$out" | sed -n '/^manifest: /,/^verified: /p' | sed '1s/^manifest: //; $d' > "$T/manifest.json"
python3 - "$T/manifest.json" <<'PY' || fail "manifest report: $out"
import json, sys
m = json.load(open(sys.argv[1]))
rep = m["reports"]["sanitise-report"]
rules = {(r["table"], r["column"]): r for r in rep["rules"]}
assert rules[("main.t0", "email")]["rule"] == "email" and rules[("main.t0", "email")]["changed"] == 2000, rules
assert rules[("main.t1", "email")]["changed"] == 2000, rules
assert any(t["table"].endswith("t2") and t["action"] == "truncate" for t in rep["tables"]), rep["tables"]
PY
grep -q "report-key" "$STORE/tee/"*.manifest && fail "key in the manifest"
grep -q "user5@example.com" "$STORE/tee/"*.manifest && fail "a value in the manifest"
pass
