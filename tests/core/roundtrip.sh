#!/bin/bash
# Lifecycle round trips through the file storage with the test engine.
. "$top_srcdir/tests/core/common.sh"

conf "$PROD_JOB, $(stage_job), $(stage_job '' 'transform = ( { plugin = "testxform"; drop = ( "t2" ); } );' | sed 's/"stage"/"stage-sanitised"/; s/"dst"/"dst2"/')"

run_envsync -c "$T/envsync.conf" run prod
expect_rc 0 "backup+store"
expect_out 'stored artifact [0-9]{8}T[0-9]{6}Z' "store log line"
ts=$(cat "$STORE/prod/latest")
[ -f "$STORE/prod/$ts.envsync" ] && [ -f "$STORE/prod/$ts.manifest" ] || fail "artifact or manifest missing for $ts"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["artifact"]["size"]>0 and len(m["artifact"]["sha256"])==64 and m["engine"]=="testdb", m' "$STORE/prod/$ts.manifest" \
    || fail "manifest content"

run_envsync -c "$T/envsync.conf" list prod
expect_rc 0 "list"
expect_out "$ts .* complete +latest" "list shows the artifact complete and latest"

run_envsync -c "$T/envsync.conf" inspect "prod@$ts"
expect_rc 0 "inspect JOB@TS"
expect_out '"sha256"' "inspect prints the manifest"
run_envsync inspect "$STORE/prod/$ts.envsync"
expect_rc 0 "inspect FILE verifies a local artifact"
expect_out 'verified: ' "inspect FILE says verified"

# restore: the target equals a direct restore of the source
mkdir -p "$DB/src"   # generate mode has no source dir; compare against a direct copy
run_envsync -c "$T/envsync.conf" run stage
expect_rc 0 "fetch+restore"
for t in t0 t1 t2; do
    [ "$(wc -l < "$DB/dst/$t")" = 2000 ] || fail "table $t has $(wc -l < "$DB/dst/$t") rows, want 2000"
done
grep -q 'user5@example.com' "$DB/dst/t0" || fail "original values expected in the unsanitised copy"
[ ! -e "$DB/dst.envsync_new" ] || fail "temporary database left behind"

# transform: column rewritten, t2 dropped (empty), joins unaffected
run_envsync -c "$T/envsync.conf" run stage-sanitised
expect_rc 0 "fetch+transform+restore"
grep -q 'example.com' "$DB/dst2/t0" && fail "transform did not rewrite the email column"
[ ! -s "$DB/dst2/t2" ] || fail "dropped table t2 still has rows"
[ "$(wc -l < "$DB/dst2/t1")" = 2000 ] || fail "t1 row count after transform"

# restoring twice swaps cleanly and keeps content
before=$(db_sum dst)
run_envsync -c "$T/envsync.conf" run stage
expect_rc 0 "second restore"
[ "$(db_sum dst)" = "$before" ] || fail "second restore changed content"

# full cycle in one job, and a direct (laptop) job without storage
conf "$PROD_JOB,
 { name = \"cycle\"; backup = { plugin = \"testdb\"; dir = \"$DB\"; database = \"dst\"; };
   store = { storage = \"local\"; }; fetch = { storage = \"local\"; };
   restore = { plugin = \"testdb\"; dir = \"$DB\"; database = \"cycled\"; }; },
 { name = \"direct\"; backup = { plugin = \"testdb\"; dir = \"$DB\"; database = \"dst\"; };
   transform = ( { plugin = \"testxform\"; } );
   restore = { plugin = \"testdb\"; dir = \"$DB\"; database = \"direct\"; }; },
 { name = \"tee\"; fetch = { storage = \"local\"; job = \"prod\"; };
   transform = ( { plugin = \"testxform\"; } ); store = { storage = \"local\"; };
   restore = { plugin = \"testdb\"; dir = \"$DB\"; database = \"tee\"; }; }"
run_envsync -c "$T/envsync.conf" run cycle direct tee
expect_rc 0 "full cycle, direct and tee jobs"
[ "$(db_sum cycled)" = "$(db_sum dst)" ] || fail "full cycle copy differs from its source"
grep -q 'example.com' "$DB/direct/t0" && fail "direct job did not transform"
[ -f "$STORE/tee/latest" ] || fail "tee job stored no artifact"
grep -q 'example.com' "$DB/tee/t0" && fail "tee restore not transformed"
run_envsync inspect "$STORE/tee/$(cat "$STORE/tee/latest").envsync"
expect_out '"derived_from"' "tee artifact records its origin"

# --all runs every job and reports each
run_envsync -c "$T/envsync.conf" run --all
expect_rc 0 "--all"
expect_out 'all: 4 job\(s\) succeeded, 0 failed' "--all summary"

# explicit selection and retention
sleep 1.1; run_envsync -c "$T/envsync.conf" run prod; expect_rc 0 "second backup"
sleep 1.1; run_envsync -c "$T/envsync.conf" run prod; expect_rc 0 "third backup"
run_envsync -c "$T/envsync.conf" list prod
[ "$(printf '%s\n' "$out" | grep -c complete)" -ge 3 ] || fail "expected 3+ artifacts: $out"
oldest=$(printf '%s\n' "$out" | grep complete | tail -1 | cut -d' ' -f1)
conf "$PROD_JOB, $(stage_job)"
run_envsync -c "$T/envsync.conf" run stage --at "$oldest"
expect_rc 0 "restore of an explicit older artifact"
expect_out "fetching prod/$oldest.envsync" "--at selects the artifact"
run_envsync -c "$T/envsync.conf" prune prod --keep 1 --dry-run
expect_rc 0 "prune dry run"
expect_out "would remove prod/$oldest.manifest" "dry run lists removals"
[ -f "$STORE/prod/$oldest.envsync" ] || fail "dry run removed something"
run_envsync -c "$T/envsync.conf" prune prod --keep 1
expect_rc 0 "prune"
[ "$(ls "$STORE/prod" | grep -c '\.envsync$')" = 1 ] || fail "prune kept $(ls "$STORE/prod")"
latest=$(cat "$STORE/prod/latest")
[ -f "$STORE/prod/$latest.envsync" ] || fail "prune removed the latest artifact"
pass
