#!/bin/bash
# The run lock against the real S3 store (Swift s3api): two concurrent runs
# of one job, one waits or fails clearly and never both proceed; a stale
# lease left by a killed run expires and is taken over.
. "$top_srcdir/tests/core/common.sh"
need_s3
C="$T/envsync.conf"
bucket="envsync-lock-$$-$RANDOM"
s3conf() {  # job text
    cat > "$C" <<EOC
envsync: { environment = "test"; progress_interval = "1h"; };
storage: { s3: { plugin = "s3"; bucket = "$bucket"; endpoint = "$S3_ENDPOINT"; region = "$S3_REGION";
                 access_key_id = "$S3_ACCESS_KEY"; secret_access_key = "$S3_SECRET_KEY"; create_bucket = true; }; };
jobs = ( $1 );
EOC
}
job='{ name = "prod"; lock = { ttl = "6s"; }; backup = { plugin = "testdb"; dir = "'"$DB"'"; database = "src"; generate = 2000; tables = 3; chunk_size = "16k"; delay_ms = "150ms"; }; store = { storage = "s3"; }; }'
s3conf "$job"

# two runs at once: exactly one succeeds, the other exits 12 naming the holder
"$ENVSYNC" -c "$C" run prod > "$T/a.out" 2>&1 &
a=$!
sleep 0.3
"$ENVSYNC" -c "$C" run prod > "$T/b.out" 2>&1 &
b=$!
set +e; wait $a; arc=$?; wait $b; brc=$?; set -e
note "first run: $arc, second run: $brc"
if [ "$arc" = 0 ] && [ "$brc" = 12 ]; then loser=$T/b.out
elif [ "$arc" = 12 ] && [ "$brc" = 0 ]; then loser=$T/a.out
else fail "expected one success and one exit 12, got $arc and $brc:
$(cat "$T/a.out") 
---
$(cat "$T/b.out")"; fi
grep -Eq "job prod is already running: the run lock prod/lock is held by $(hostname) \(pid [0-9]+" "$loser" \
    || fail "loser's message: $(cat "$loser")"
run_envsync -c "$C" list prod
[ "$(printf '%s\n' "$out" | grep -c complete)" = 1 ] || fail "expected exactly one complete artifact: $out"

# a run killed with SIGKILL leaves its lease; it expires after ttl and the next run takes over
"$ENVSYNC" -c "$C" run prod > "$T/k.out" 2>&1 &
k=$!
sleep 1.5
kill -KILL $k; wait $k 2>/dev/null || true
run_envsync -c "$C" run prod
expect_rc 12 "lease of the killed run still live"
sleep 6.5
s3conf "$(echo "$job" | sed 's/delay_ms = "150ms";//')"
run_envsync -c "$C" run prod
expect_rc 0 "run after the killed run's lease expired"
expect_out "taking over the stale run lock prod/lock of $(hostname)" "stale lease taken over"

# a failing run releases its lease: the next run starts at once
s3conf "$(echo "$job" | sed 's/delay_ms = "150ms";/fail_in = "backup"; fail_after = 2; fail_status = 5;/')"
run_envsync -c "$C" run prod
expect_rc 5 "failing run"
s3conf "$(echo "$job" | sed 's/delay_ms = "150ms";//')"
run_envsync -c "$C" run prod
expect_rc 0 "run right after a failed one (lease released)"
printf '%s' "$out" | grep -q "stale run lock" && fail "the failed run did not release its lease"
pass
