#!/bin/bash
# --dry-run resolves the plan and changes nothing.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
conf "$PROD_JOB, $(stage_job '' 'transform = ( { plugin = "testxform"; } );')"
run_envsync -c "$C" run prod stage
expect_rc 0 "baseline"
sleep 1.1
run_envsync -c "$C" run prod
ts=$(cat "$STORE/prod/latest")
before=$(stored); dst=$(db_sum dst)
run_envsync -c "$C" run stage --dry-run
expect_rc 0 "dry run"
expect_out "plan: fetch: prod/$ts.envsync from storage local \(select latest\): [0-9]+ bytes, sha256 [0-9a-f]{64}, engine testdb" "artifact that would be fetched"
expect_out "plan: transform: plugin testxform" "transforms listed"
expect_out "plan: restore: plugin testdb .*database=dst" "target listed"
expect_out "plan: nothing was changed" "says nothing changed"
run_envsync -c "$C" run prod --dry-run
expect_rc 0 "dry run of a backup"
expect_out "plan: store: prod/<timestamp>.envsync in storage local" "store plan"
[ "$(stored)" = "$before" ] || fail "dry run changed storage"
[ "$(db_sum dst)" = "$dst" ] || fail "dry run changed the target"
[ ! -e "$DB/dst.envsync_new" ] || fail "dry run created a temporary database"
# production guard shows in the plan
conf "$PROD_JOB, $(stage_job)" 'environment = "production";'
sed -i 's/environment = "test"; //' "$C"
run_envsync -c "$C" run stage --dry-run
expect_out "restore would be REFUSED: environment production is production" "guard in the plan"
pass
