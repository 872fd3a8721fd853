#!/bin/bash
# Faults at every point of the lifecycle: the exit code names the failure
# class, no partial artifact becomes visible or latest, and the target is
# never half-restored.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
conf "$PROD_JOB, $(stage_job)"
run_envsync -c "$C" run prod stage
expect_rc 0 "baseline"
good=$(db_sum dst)
latest=$(cat "$STORE/prod/latest")
before=$(stored)

unchanged() {  # what
    [ "$(cat "$STORE/prod/latest")" = "$latest" ] || fail "$1: latest pointer moved"
    [ "$(stored)" = "$before" ] || fail "$1: stored objects changed: $(stored)"
    [ "$(db_sum dst)" = "$good" ] || fail "$1: target database changed"
    [ ! -e "$DB/dst.envsync_new" ] || fail "$1: temporary database left behind"
    [ -z "$(find "$STORE" -name '.*.tmp.*')" ] || fail "$1: temporary file left in storage"
}

# backup fails after some entries (connection class) -> 5, nothing stored
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/chunk_size = "16k"; fail_in = "backup"; fail_after = 4; fail_status = 5;/'), $(stage_job)"
run_envsync -c "$C" run prod
expect_rc 5 "backup fault"
expect_out "\[prod/backup:testdb\] injected fault in backup \(database src\) \(connection error\)" "fault message names job, phase, plugin, object"
expect_out "artifact .* aborted: nothing was committed" "store aborted"
unchanged "backup fault"

# init fault (authentication class) -> 6
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/fail_in = "init"; fail_status = 6;/'), $(stage_job)"
run_envsync -c "$C" run prod
expect_rc 6 "init fault"
unchanged "init fault"

# restore faults: begin, entry, finish -> target untouched
for where in begin entry finish; do
    conf "$PROD_JOB, $(stage_job "fail_in = \"$where\"; fail_after = 3; fail_status = 5;")"
    run_envsync -c "$C" run stage
    expect_rc 5 "restore fault in $where"
    expect_out "restore aborted: the target was left as it was" "abort logged ($where)"
    unchanged "restore fault in $where"
done

# transform fault -> restore aborted
conf "$PROD_JOB, $(stage_job '' 'transform = ( { plugin = "testxform"; fail_after = 5; } );')"
run_envsync -c "$C" run stage
expect_rc 1 "transform fault"
expect_out "\[stage/transform:testxform\] injected transform fault" "transform fault message"
unchanged "transform fault"

# production guard
conf "$PROD_JOB, $(stage_job)" 'environment = "production";'
sed -i 's/environment = "test"; //' "$C"
run_envsync -c "$C" run stage
expect_rc 11 "restore into production refused"
expect_out "environment production is production" "guard message"
unchanged "production guard"

# storage directory not writable: a path below a regular file
conf "$PROD_JOB, $(stage_job)"
touch "$T/afile"
sed -i "s|path = \"$STORE\";|path = \"$T/afile/store\";|" "$C"
run_envsync -c "$C" run prod
expect_rc 10 "unwritable storage"
expect_out "afile" "the storage path is named"
[ ! -e "$T/afile/store" ] || fail "something was created"

# storage full: a tiny tmpfs (needs root and mount; skipped quietly otherwise)
if mkdir -p "$T/full" && mount -t tmpfs -o size=64k tmpfs "$T/full" 2>/dev/null; then
    conf "$(echo "$PROD_JOB" | sed 's/generate = 2000;/generate = 200000;/; s/chunk_size = "16k";/chunk_size = "1M";/')"
    sed -i "s|path = \"$STORE\";|path = \"$T/full\";|" "$C"
    sed -i 's/^jobs = (/jobs = (/' "$C"
    printf '%s\n' 'ok' > /dev/null
    sed -i 's/};$/};/' "$C"
    run_envsync -c "$C" run prod
    full_rc=$rc; full_out=$out
    leftovers=$(find "$T/full" -type f \( -name '*.envsync' -o -name '*.manifest' -o -name latest -o -name '.*' \) | wc -l)
    umount "$T/full"
    rc=$full_rc; out=$full_out
    expect_rc 10 "storage full"
    expect_out "storage full" "full storage reported"
    [ "$leftovers" = 0 ] || fail "storage full: $leftovers file(s) left visible"
else
    note "tmpfs mount not permitted here: storage-full case not exercised"
fi

# timeout: a slow backup with a 1 s job deadline -> 8
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/chunk_size = "16k"; delay_ms = "200ms";/; s/name = "prod";/name = "prod"; timeout = "1s";/'), $(stage_job)"
run_envsync -c "$C" run prod
expect_rc 8 "job timeout"
unchanged "timeout"

# SIGTERM mid-backup and mid-restore -> 9
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/chunk_size = "16k"; delay_ms = "100ms";/'), $(stage_job 'delay_ms = "100ms";')"
for job in prod stage; do
    "$ENVSYNC" -c "$C" run "$job" > "$T/sig.out" 2>&1 &
    pid=$!
    sleep 1
    kill -TERM $pid
    set +e; wait $pid; rc=$?; set -e
    out=$(cat "$T/sig.out")
    expect_rc 9 "SIGTERM during $job"
    unchanged "SIGTERM during $job"
done
pass
