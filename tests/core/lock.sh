#!/bin/bash
# The per-job run lock: two runs of one job never interleave; the loser's
# message names the holder; a stale lease is taken over; --force-unlock.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
slow=$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/chunk_size = "16k"; delay_ms = "100ms";/; s/name = "prod";/name = "prod"; lock = { ttl = "6s"; };/')
conf "$slow"

"$ENVSYNC" -c "$C" run prod > "$T/first.out" 2>&1 &
first=$!
for _ in $(seq 100); do [ -f "$STORE/prod/lock" ] && break; sleep 0.05; done
[ -f "$STORE/prod/lock" ] || fail "the first run took no lock"
run_envsync -c "$C" run prod
expect_rc 12 "second concurrent run"
expect_out "job prod is already running: the run lock prod/lock is held by $(hostname) \(pid $first" "message names the holder"
set +e; wait $first; frc=$?; set -e
[ "$frc" = 0 ] || fail "the first run failed ($frc): $(cat "$T/first.out")"
[ ! -f "$STORE/prod/lock" ] || fail "lock not released at the end"
[ "$(ls "$STORE/prod" | grep -c '\.manifest$')" = 1 ] || fail "expected exactly one artifact"

# a stale lease (its holder died) is taken over with a warning
printf '{"owner":"deadhost:1:x","host":"deadhost","pid":1,"acquired":"2026-01-01T00:00:00Z","expires":%s}' \
    $(( $(date +%s) - 30 )) > "$STORE/prod/lock"
conf "$PROD_JOB"
run_envsync -c "$C" run prod
expect_rc 0 "run over a stale lease"
expect_out "taking over the stale run lock prod/lock of deadhost" "stale lease warning"

# a live lease of another host blocks; wait gives up; --force-unlock removes it
printf '{"owner":"otherhost:7:y","host":"otherhost","pid":7,"acquired":"2026-01-01T00:00:00Z","expires":%s}' \
    $(( $(date +%s) + 600 )) > "$STORE/prod/lock"
run_envsync -c "$C" run prod
expect_rc 12 "live foreign lease"
expect_out "held by otherhost \(pid 7" "foreign holder named"
conf "$(echo "$PROD_JOB" | sed 's/name = "prod";/name = "prod"; lock = { wait = "3s"; };/')"
start=$(date +%s)
run_envsync -c "$C" run prod
expect_rc 12 "lock wait gives up"
[ $(( $(date +%s) - start )) -ge 2 ] || fail "wait = 3s did not wait"
run_envsync -c "$C" run prod --force-unlock
expect_rc 0 "--force-unlock"
expect_out "force-unlock: removed prod/lock" "force-unlock logged"

# lock = { enabled = false; } takes none
conf "$(echo "$PROD_JOB" | sed 's/name = "prod";/name = "prod"; lock = { enabled = false; };/')"
printf '{"owner":"otherhost:7:y","host":"otherhost","pid":7,"acquired":"x","expires":%s}' $(( $(date +%s) + 600 )) > "$STORE/prod/lock"
run_envsync -c "$C" run prod
expect_rc 0 "lock disabled"
pass
