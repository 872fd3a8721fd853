# shellcheck shell=bash
# tests/rig/s3.sh - a real S3 for the test rig: OpenStack Swift (Debian 12,
# 2.30) as a one-machine "all in one" with the s3api middleware in front
# of tempauth, so requests are really SigV4-checked.  Sourced by start.sh /
# stop.sh; needs rig-lib.sh.
#
# memcached + account/container/object servers + proxy, each one process
# (workers = 0), configs and one-replica rings in DIR/s3/etc, objects in
# DIR/s3/data (needs user xattrs: ext4/xfs, tmpfs only on Linux >= 6.6),
# logs in DIR/s3/log, PIDs in DIR/s3/pids.
#
# Ports (defaults): RIG_S3_PORT 18080, RIG_SWIFT_OBJECT_PORT 16010,
# RIG_SWIFT_CONTAINER_PORT 16011, RIG_SWIFT_ACCOUNT_PORT 16012,
# RIG_MEMCACHED_PORT 16211.  Credentials: access key test:tester, secret
# testing, region us-east-1.  RIG_S3_MIN_PART_SIZE (5 MiB, as AWS) is the
# smallest multipart part s3api accepts.

RIG_S3_PORT=${RIG_S3_PORT:-18080}
RIG_SWIFT_OBJECT_PORT=${RIG_SWIFT_OBJECT_PORT:-16010}
RIG_SWIFT_CONTAINER_PORT=${RIG_SWIFT_CONTAINER_PORT:-16011}
RIG_SWIFT_ACCOUNT_PORT=${RIG_SWIFT_ACCOUNT_PORT:-16012}
RIG_MEMCACHED_PORT=${RIG_MEMCACHED_PORT:-16211}
RIG_S3_MIN_PART_SIZE=${RIG_S3_MIN_PART_SIZE:-5242880}
_S3_ACCOUNT='test'
_S3_USER=tester
_S3_SECRET=testing
_S3_REGION=us-east-1
# Swift's python, whatever python3 is first on PATH (pyenv...).
_S3_PY=/usr/bin/python3

_s3_backends_ok() {
    local p
    for p in "$RIG_SWIFT_ACCOUNT_PORT" "$RIG_SWIFT_CONTAINER_PORT" "$RIG_SWIFT_OBJECT_PORT"; do
        [ "$(curl -s --max-time 2 "http://127.0.0.1:$p/healthcheck" 2>/dev/null)" = OK ] || return 1
    done
}

# A SigV4-signed ListBuckets through s3api + tempauth.  The access key
# contains ':' and curl's --user splits at the first ':', so the
# credentials go in the URL userinfo with ':' as %3A.
_s3_signed_ok() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        --aws-sigv4 "aws:amz:${_S3_REGION}:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        "http://${_S3_ACCOUNT}%3A${_S3_USER}:${_S3_SECRET}@127.0.0.1:${RIG_S3_PORT}/" 2>/dev/null) || true
    [ "$code" = 200 ]
}

_s3_ok() { _s3_backends_ok && _s3_signed_ok; }

_s3_alive() {  # every recorded process alive
    local name pid
    [ -s "$S3D/pids" ] || return 1
    while read -r name pid; do
        [ -n "$pid" ] || continue
        rig_pid_is "$pid" 'swift-|memcached' || return 1
    done < "$S3D/pids"
}

_s3_common_conf() {  # PORT
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $(id -un)
swift_dir = $S3D/etc
devices = $S3D/data
mount_check = false
disable_fallocate = true
log_level = INFO
# no syslog: swift's syslog handler is pointed at a dead loopback UDP
# port; with -v the servers log to stderr -> DIR/s3/log/*.log
log_udp_host = 127.0.0.1
log_udp_port = 9
EOF
}

_s3_backend_conf() {  # NAME PORT
    _s3_common_conf "$2"
    cat <<EOF
log_name = $1-server

[pipeline:main]
pipeline = healthcheck $1-server

[app:$1-server]
use = egg:swift#$1

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
}

_s3_proxy_conf() {
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $RIG_S3_PORT
workers = 0
user = $(id -un)
swift_dir = $S3D/etc
log_name = proxy-server
log_level = INFO
log_udp_host = 127.0.0.1
log_udp_port = 9

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit s3api tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = $_S3_REGION
allow_multipart_uploads = true
min_segment_size = $RIG_S3_MIN_PART_SIZE
dns_compliant_bucket_names = true
storage_domain = localhost

[filter:tempauth]
use = egg:swift#tempauth
reseller_prefix = AUTH
user_${_S3_ACCOUNT}_${_S3_USER} = ${_S3_SECRET} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$RIG_MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:ratelimit]
use = egg:swift#ratelimit
[filter:copy]
use = egg:swift#copy
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_object_versioning = true
[filter:symlink]
use = egg:swift#symlink
EOF
}

# rig_start_s3 DIR (run in a subshell: exits on error)
rig_start_s3() {
    local dir=$1 b p
    S3D=$dir/s3
    if _s3_alive && _s3_ok; then
        rig_log "s3: already running on port $RIG_S3_PORT"
        return 0
    fi
    if [ -e "$S3D/pids" ]; then
        rig_log "s3: stale or partial instance in $S3D: stopping it first"
        rig_stop_s3 "$dir"
    fi
    for b in swift-proxy-server swift-account-server swift-container-server \
             swift-object-server memcached curl; do
        command -v "$b" >/dev/null 2>&1 ||
            { rig_log "s3: $b not found (scripts/install-deps.sh installs swift, memcached, curl)"; return 1; }
    done
    for p in "$RIG_S3_PORT" "$RIG_SWIFT_ACCOUNT_PORT" "$RIG_SWIFT_CONTAINER_PORT" \
             "$RIG_SWIFT_OBJECT_PORT" "$RIG_MEMCACHED_PORT"; do
        rig_port_free s3 "$p" || return 1
    done

    # Swift reads the hash prefix/suffix and the storage policies from the
    # fixed path /etc/swift/swift.conf; Debian ships none: write one.
    if ! grep -qs '^swift_hash_path_\(suffix\|prefix\)' /etc/swift/swift.conf; then
        mkdir -p /etc/swift
        printf '[swift-hash]\nswift_hash_path_suffix = envsync-rig\nswift_hash_path_prefix = envsync-rig\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
            > /etc/swift/swift.conf
    fi

    mkdir -p "$S3D/etc" "$S3D/data/sdb1" "$S3D/log"
    rm -f "$S3D/pids" "$S3D/env"
    cd "$S3D" || return 1

    # Swift keeps metadata in user.* xattrs: refuse early if the fs lacks them.
    if ! "$_S3_PY" - "$S3D/data" <<'EOF'
import os, sys
p = os.path.join(sys.argv[1], '.xattr-probe')
open(p, 'w').close()
try:
    os.setxattr(p, 'user.swift.probe', b'x' * 254)
finally:
    os.unlink(p)
EOF
    then
        rig_log "s3: the filesystem of $S3D/data has no user xattrs;" \
                "put the rig directory on ext4/xfs (or tmpfs on Linux >= 6.6)"
        return 1
    fi

    _s3_backend_conf account   "$RIG_SWIFT_ACCOUNT_PORT"   > "$S3D/etc/account-server.conf"
    _s3_backend_conf container "$RIG_SWIFT_CONTAINER_PORT" > "$S3D/etc/container-server.conf"
    _s3_backend_conf object    "$RIG_SWIFT_OBJECT_PORT"    > "$S3D/etc/object-server.conf"
    _s3_proxy_conf > "$S3D/etc/proxy-server.conf"

    # One device, one replica per ring; rebuilt at every start so changed
    # ports are picked up.
    if ! "$_S3_PY" - "$S3D/etc" "$RIG_SWIFT_ACCOUNT_PORT" "$RIG_SWIFT_CONTAINER_PORT" \
            "$RIG_SWIFT_OBJECT_PORT" > "$S3D/log/rings.log" 2>&1 <<'EOF'
import sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
ports = dict(zip(('account', 'container', 'object'), sys.argv[2:5]))
for name, port in ports.items():
    b = RingBuilder(8, 1, 1)      # part_power 8, 1 replica, min_part_hours 1
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
               'port': int(port), 'device': 'sdb1', 'weight': 100})
    b.rebalance()
    b.save('%s/%s.builder' % (etc, name))
    b.get_ring().save('%s/%s.ring.gz' % (etc, name))
EOF
    then
        rig_log "s3: building the swift rings failed"
        rig_tail "$S3D/log/rings.log"
        return 1
    fi

    _s3_bg() {  # name command...
        local name=$1
        shift
        nohup "$@" >> "$S3D/log/$name.log" 2>&1 < /dev/null &
        echo "$name $!" >> "$S3D/pids"
    }
    _s3_bg memcached memcached -l 127.0.0.1 -p "$RIG_MEMCACHED_PORT" -U 0 -m 64 -c 1024 -u nobody
    _s3_bg account   swift-account-server   "$S3D/etc/account-server.conf"   -v
    _s3_bg container swift-container-server "$S3D/etc/container-server.conf" -v
    _s3_bg object    swift-object-server    "$S3D/etc/object-server.conf"    -v
    _s3_bg proxy     swift-proxy-server     "$S3D/etc/proxy-server.conf"     -v

    if ! rig_wait s3 _s3_ok _s3_alive "$S3D"/log/*.log; then
        rig_stop_s3 "$dir"
        return 1
    fi
    cat > "$S3D/env" <<EOF
export S3_ENDPOINT=http://127.0.0.1:$RIG_S3_PORT
export S3_REGION=$_S3_REGION
export S3_ACCESS_KEY=$_S3_ACCOUNT:$_S3_USER
export S3_SECRET_KEY=$_S3_SECRET
EOF
    rig_log "s3: Swift $("$_S3_PY" -c 'import swift; print(swift.__version__)' 2>/dev/null) s3api on http://127.0.0.1:$RIG_S3_PORT"
}

rig_stop_s3() {
    local dir=$1 name pid pids=()
    S3D=$dir/s3
    rm -f "$S3D/env"
    [ -s "$S3D/pids" ] || { rig_log "s3: not started in $dir"; rm -f "$S3D/pids"; return 0; }
    while read -r name pid; do
        [ -n "${pid:-}" ] && pids+=("$pid")
    done < "$S3D/pids"
    rig_stop_pids s3 'swift-|memcached' TERM 10 "${pids[@]}"
    rm -f "$S3D/pids"
}
