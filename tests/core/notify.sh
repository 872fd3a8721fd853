#!/bin/bash
# Metrics pushed to a (local stand-in) Pushgateway in valid exposition
# format at start and end, the textfile written, and the webhook called on
# failure and on recovery.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
python3 "$top_srcdir/tests/core/http_receiver.py" "$T/port" "$T/requests.jsonl" &
rpid=$!
trap 'kill $rpid 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
base="http://127.0.0.1:$port"

extra="metrics_pushgateway = \"$base\"; metrics_textfile = \"$T/envsync.prom\"; webhook_url = \"$base/hook?token=sekrit-token-123\";"
conf "$PROD_JOB" "$extra"
run_envsync -c "$C" run prod
expect_rc 0 "run with metrics"
printf '%s' "$out" | grep -q 'sekrit-token-123' && fail "webhook token leaked into the log"
python3 - "$T/requests.jsonl" <<'PY' || fail "pushgateway requests: $(cat "$T/requests.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
pushes = [r for r in reqs if r['path'].startswith('/metrics/')]
assert len(pushes) == 2, "expected a push at start and at end, got %d" % len(pushes)
for r in pushes:
    assert r['status'] == 200, r['reason']
    assert r['method'] == 'POST' and r['path'] == '/metrics/job/prod/environment/test', r['path']
    assert r['content_type'].startswith('text/plain'), r['content_type']
start, end = pushes[0]['body'], pushes[1]['body']
assert 'envsync_job_state{state="started"} 1' in start, start
assert 'envsync_job_state{engine="testdb",state="succeeded"} 1' in end, end
assert 'envsync_job_state{engine="testdb",state="failed"} 0' in end, end
for fam in ('envsync_job_duration_seconds', 'envsync_job_last_success_timestamp_seconds',
            'envsync_phase_duration_seconds{engine="testdb",phase="backup"}',
            'envsync_rows_total{engine="testdb",phase="backup"} 6000', 'envsync_artifact_size_bytes',
            'envsync_job_exit_code{engine="testdb"} 0'):
    assert fam in end, (fam, end)
assert not [r for r in reqs if r['path'].startswith('/hook')], "webhook called on a first success"
PY
grep -q '^envsync_job_state{job="prod",environment="test",engine="testdb",state="succeeded"} 1$' "$T/envsync.prom" \
    || fail "textfile: $(cat "$T/envsync.prom")"

# failure: webhook with the failure, metrics say failed, last success kept
: > "$T/requests.jsonl"
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/fail_in = "backup"; fail_after = 2; fail_status = 5;/')" "$extra"
run_envsync -c "$C" run prod
expect_rc 5 "failing run"
python3 - "$T/requests.jsonl" <<'PY' || fail "failure notifications: $(cat "$T/requests.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
end = [r for r in reqs if r['path'].startswith('/metrics/')][-1]['body']
assert 'state="failed"} 1' in end and 'envsync_job_exit_code{engine="testdb"} 5' in end, end
assert 'envsync_job_last_success_timestamp_seconds' not in end, "a failed run must not overwrite the last success"
hooks = [json.loads(r['body']) for r in reqs if r['path'].startswith('/hook')]
assert len(hooks) == 1, hooks
h = hooks[0]
assert h['event'] == 'failure' and h['job'] == 'prod' and h['exit_code'] == 5 and h['status'] == 'connection', h
assert 'injected fault in backup' in h['message'], h
PY

# recovery: the next success after a failure calls the webhook once
: > "$T/requests.jsonl"
conf "$PROD_JOB" "$extra"
run_envsync -c "$C" run prod
expect_rc 0 "recovering run"
expect_out "recovered after a failed run" "recovery logged"
python3 - "$T/requests.jsonl" <<'PY' || fail "recovery webhook: $(cat "$T/requests.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
hooks = [json.loads(r['body']) for r in reqs if r['path'].startswith('/hook')]
assert len(hooks) == 1 and hooks[0]['event'] == 'recovery', hooks
PY

# an unreachable Pushgateway warns and does not fail the sync
conf "$PROD_JOB" "metrics_pushgateway = \"http://127.0.0.1:1\";"
run_envsync -c "$C" run prod
expect_rc 0 "run with an unreachable Pushgateway"
expect_out "pushing metrics to the Pushgateway failed" "warning about the Pushgateway"
pass
