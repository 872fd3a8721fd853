#!/bin/bash
# JSON log lines carry job, phase and plugin; progress lines appear at the
# configured interval; text logs too.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"
conf "$(echo "$PROD_JOB" | sed 's/chunk_size = "16k";/chunk_size = "16k"; delay_ms = "150ms";/')" 
sed -i 's/progress_interval = "1h";/progress_interval = "300ms";/' "$C"
run_envsync -c "$C" --log-format json run prod
expect_rc 0 "json run"
printf '%s\n' "$out" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
assert lines, "no lines"
for l in lines:
    assert {"ts", "level", "msg"} <= set(l), l
assert any(l.get("job") == "prod" and l.get("phase") == "backup" and l.get("plugin") == "testdb" for l in lines), "no backup line with job/phase/plugin"
assert any(l.get("progress") and l.get("bytes", 0) > 0 for l in lines), "no progress line"
end = [l for l in lines if l.get("result")]
assert end and end[-1]["result"] == "succeeded" and end[-1]["exit_code"] == 0, end
' || fail "json log lines: $out"
sed -i 's/environment = "test";/environment = "test"; log_format = "json";/' "$C"
run_envsync -c "$C" run prod
printf '%s\n' "$out" | head -1 | python3 -c 'import json,sys; json.loads(sys.stdin.read())' || fail "log_format in config ignored"
run_envsync -c "$C" --log-format text run prod
expect_out "info  \[prod/backup:testdb\] backup started" "text log format"
pass
