#!/bin/bash
# The S3 server really killed (SIGKILL of the Swift proxy) in the middle of
# a multipart upload and restarted 2 s later: the run either completes after
# retries (artifact verified and restored) or fails as a connection /
# timeout / transient error with no artifact visible and no multipart
# upload left open.
#
# Killing the shared rig's S3 would break the tests running beside this one,
# so by default the test starts a private Swift + s3api of its own (ports
# from RIG_KILL_S3_PORT, default 18380, and the next ones) and kills that.
# With ENVSYNC_S3_KILL=1 it kills the rig's S3 instead (run it alone then).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
command -v swift-proxy-server >/dev/null || skip "swift-proxy-server not installed"
PRIVATE=""
if [ "${ENVSYNC_S3_KILL:-0}" != 1 ]; then
    need_s3   # the rig is up: so are Swift's packages
    PRIVATE=$(mktemp -d "${TMPDIR:-/tmp}/envsync-s3kill.XXXXXX")
    chmod 755 "$PRIVATE"
    kp=${RIG_KILL_S3_PORT:-18380}
    if ! RIG_S3_PORT=$kp RIG_SWIFT_OBJECT_PORT=$((kp - 2070)) RIG_SWIFT_CONTAINER_PORT=$((kp - 2069)) \
         RIG_SWIFT_ACCOUNT_PORT=$((kp - 2068)) RIG_MEMCACHED_PORT=$((kp - 1969)) \
         bash "$top_srcdir/tests/rig/start.sh" "$PRIVATE" s3 > "$PRIVATE/start.log" 2>&1; then
        cat "$PRIVATE/start.log" >&2
        rm -rf "$PRIVATE"
        fail "could not start a private S3 for the kill test"
    fi
    # shellcheck disable=SC1091
    . "$PRIVATE/env.sh"
fi
SW=""
for d in "${ENVSYNC_RIG_DIR:-/nonexistent}/s3" "${ENVSYNC_RIG_DIR:-/nonexistent}"; do
    if [ -f "$d/pids" ] && [ -f "$d/etc/proxy-server.conf" ]; then SW=$d; break; fi
done
[ -n "$SW" ] || fail "no Swift directory with pids and etc/proxy-server.conf under ENVSYNC_RIG_DIR"
s3_setup
if [ -n "$PRIVATE" ]; then
    trap '_s3_cleanup; bash "$top_srcdir/tests/rig/stop.sh" "$PRIVATE" >/dev/null 2>&1; rm -rf "$PRIVATE"' EXIT
fi

restart_proxy() {
    nohup swift-proxy-server "$SW/etc/proxy-server.conf" -v >>"$SW/log/proxy.log" 2>&1 </dev/null &
    local pid=$!
    sed -i "s/^proxy .*/proxy $pid/" "$SW/pids"
    for i in $(seq 1 300); do
        curl -sf --max-time 1 "$S3_ENDPOINT/healthcheck" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "the Swift proxy did not come back"
}

ROWS=400000 s3_conf "$T/kill.conf" killed 'part_size = "5M"; concurrency = 1; retries = 12;'
"$ENVSYNC" run -c "$T/kill.conf" killed >"$T/kill.out" 2>&1 &
run=$!
for i in $(seq 1 600); do
    [ "$(s3u uploads "$BUCKET" 2>/dev/null || echo 0)" -ge 1 ] && break
    kill -0 "$run" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$run" 2>/dev/null || fail "the upload finished before the kill; raise ROWS"
old=$(awk '$1 == "proxy" { print $2 }' "$SW/pids")
kill -9 "$old"
note "killed the Swift proxy (pid $old) during the upload"
sleep 2
restart_proxy
set +e; wait "$run"; rc=$?; set -e
out=$(cat "$T/kill.out")
if [ "$rc" = 0 ]; then
    note "the run completed after the restart"
    [ "$(artifacts killed)" = 1 ] || fail "run succeeded but no artifact"
    [ -s "$T/db/killed_dst/t0" ] || fail "run succeeded but nothing restored"
else
    case $rc in 5|8|14) ;; *) fail "unexpected exit $rc:
$out";; esac
    note "the run failed with exit $rc (allowed)"
    [ "$(artifacts killed)" = 0 ] || fail "failed run left an artifact visible"
fi
no_uploads_left
pass
