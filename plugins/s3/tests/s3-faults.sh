#!/bin/bash
# Faults injected by a proxy between the plugin and the real S3: connection
# reset in the middle of a part upload and of a ranged GET, 503 SlowDown
# bursts, a stalled server (request timeout, then retry), S3 going away and
# coming back during an upload, and a store that keeps failing.  In every
# case: no artifact visible unless complete and verified, no multipart
# upload left open, and the exit code names the failure class.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup
start_proxy
BASE='part_size = "5M"; range_size = "1M"; concurrency = 2;'
OPTS="$BASE retries = 6;"
fired() { json_get "$(proxy_stats)" "d['fired'].get('$1', 0)"; }

# --- reset in the middle of a part upload (twice)
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "reset_request",
               "after_bytes": 1000000, "count": 2}]'
ROWS=120000 ENDPOINT=$PROXY_URL s3_conf "$T/a.conf" reset_put "$OPTS"
run_envsync run -c "$T/a.conf" reset_put
expect_rc 0 "upload with connection resets mid-part"
[ "$(fired 0)" = 2 ] || fail "the part reset fired $(fired 0) times, expected 2"
no_uploads_left

# --- reset in the middle of ranged GETs (twice): fetch the artifact again
proxy_rules '[{"method": "GET", "range": true, "action": "reset_response",
               "after_bytes": 100000, "count": 2}]'
cat >"$T/b.conf" <<CONF
envsync: { environment = "staging"; };
storage: { up: { plugin = "s3"; prefix = "backups"; bucket = "$BUCKET"; endpoint = "$PROXY_URL";
                 access_key_id = "\${S3_ACCESS_KEY}"; secret_access_key = "\${S3_SECRET_KEY}";
                 $OPTS }; };
jobs = ( { name = "reset_get"; fetch = { storage = "up"; job = "reset_put"; };
           restore = { plugin = "testdb"; dir = "$T/db"; database = "reset_get_dst"; }; } );
CONF
run_envsync run -c "$T/b.conf" reset_get
expect_rc 0 "fetch with connection resets mid-range"
[ "$(fired 0)" = 2 ] || fail "the range reset fired $(fired 0) times, expected 2"
for t in t0 t1 t2; do
    cmp -s "$T/db/reset_put_dst/$t" "$T/db/reset_get_dst/$t" || fail "table $t differs"
done

# --- 503 SlowDown bursts on every kind of request
proxy_rules '[{"action": "status", "status": 503, "code": "SlowDown", "count": 6}]'
ROWS=60000 ENDPOINT=$PROXY_URL s3_conf "$T/c.conf" slowdown "$OPTS"
run_envsync run -c "$T/c.conf" slowdown
expect_rc 0 "SlowDown burst"
[ "$(fired 0)" = 6 ] || fail "SlowDown fired $(fired 0) times, expected 6"

# --- a stalled part upload: request timeout, then the retry succeeds
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "stall", "seconds": 30,
               "count": 1}]'
ROWS=60000 ENDPOINT=$PROXY_URL s3_conf "$T/d.conf" stall "$OPTS request_timeout = \"3s\";"
run_envsync run -c "$T/d.conf" stall
expect_rc 0 "stalled server"
[ "$(fired 0)" = 1 ] || fail "the stall fired $(fired 0) times, expected 1"
no_uploads_left

# --- S3 goes away for 3 s in the middle of an upload and comes back
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "delay", "seconds": 0.5,
               "count": -1}]'
curl -sf -X POST "$PROXY_URL/__fault/reset-stats" >/dev/null
ROWS=120000 ENDPOINT=$PROXY_URL s3_conf "$T/e.conf" outage "$BASE retries = 10;"
"$ENVSYNC" run -c "$T/e.conf" outage >"$T/e.out" 2>&1 &
pid=$!
for i in $(seq 1 300); do
    done_parts=$(json_get "$(proxy_stats)" "d['completed'].get('PUT part', 0)")
    [ "$done_parts" -ge 1 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
proxy_down 3
set +e; wait "$pid"; rc=$?; set -e
out=$(cat "$T/e.out")
if [ "$rc" = 0 ]; then
    [ "$(artifacts outage)" = 1 ] || fail "outage: run succeeded but no artifact"
    [ -s "$T/db/outage_dst/t0" ] || fail "outage: run succeeded but nothing restored"
else
    case $rc in 5|8|14) ;; *) fail "outage: unexpected exit $rc:
$out";; esac
    note "outage run failed with exit $rc (allowed): checking nothing is visible"
    printf "%s\n" "$out" | grep error | sed "s/^/# /"
    [ "$(artifacts outage)" = 0 ] || fail "outage: failed run left an artifact visible"
fi
no_uploads_left

# --- parts that keep failing: the store fails as transient, aborts cleanly
proxy_rules '[{"method": "PUT", "query": "partNumber", "action": "status", "status": 503,
               "code": "SlowDown", "count": -1}]'
ROWS=60000 ENDPOINT=$PROXY_URL s3_conf "$T/f.conf" hopeless 'part_size = "5M"; retries = 2;'
run_envsync run -c "$T/f.conf" hopeless
expect_rc 14 "store that keeps getting SlowDown"
expect_out 'SlowDown' "message names the S3 error code"
[ "$(artifacts hopeless)" = 0 ] || fail "hopeless: an artifact became visible"
no_uploads_left
pass
