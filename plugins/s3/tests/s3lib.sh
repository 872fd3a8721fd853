# plugins/s3/tests/s3lib.sh - sourced by the s3 plugin's integration tests
# (after tests/lib.sh).  Real S3 only (the rig's Swift s3api); the fault
# proxy and fake credential endpoints are local helpers in this directory.
#
#   s3_setup            need_s3, $T scratch dir, a fresh bucket $BUCKET,
#                       cleanup at exit (objects, uploads, helpers)
#   s3_conf FILE JOB [storage options...]   write a config: testdb backup ->
#                       s3 store -> s3 fetch -> testdb restore
#   start_proxy         fault proxy in front of S3: $PROXY_URL
#   proxy_rules JSON / proxy_stats / proxy_down SECONDS
#   s3u ARGS...         s3util.py against the real endpoint

S3T_DIR="$top_srcdir/plugins/s3/tests"
_s3_pids=""

s3u() { python3 "$S3T_DIR/s3util.py" "$@"; }

_s3_cleanup() {
    local p
    for p in $_s3_pids; do kill "$p" 2>/dev/null || true; done
    if [ -n "${BUCKET:-}" ]; then
        s3u abort-uploads "$BUCKET" >/dev/null 2>&1 || true
        s3u rm-prefix "$BUCKET" "" >/dev/null 2>&1 || true
        s3u rmbucket "$BUCKET" >/dev/null 2>&1 || true
    fi
    rm -rf "$T"
}

s3_setup() {
    need_s3
    command -v python3 >/dev/null || skip "python3 not installed"
    es_tmpdir
    trap _s3_cleanup EXIT
    BUCKET=$(printf 'es-%s-%s' "$TEST_NAME" "$$" | tr 'A-Z_' 'a-z-' | cut -c1-60)
    s3u mkbucket "$BUCKET" || fail "cannot create bucket $BUCKET at $S3_ENDPOINT"
    mkdir -p "$T/db"
}

# wait_port_file FILE: wait (bounded) for a helper to write its port
wait_port_file() {
    local i
    for i in $(seq 1 100); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    fail "helper did not start ($1)"
}

# start_proxy [--tls-cert PEM --tls-key PEM]: PROXY_URL (https with TLS)
start_proxy() {
    local up=${S3_ENDPOINT#*://} scheme=http
    up=${up%%/*}
    [ $# -gt 0 ] && scheme=https
    rm -f "$T/proxy.port"
    python3 "$S3T_DIR/faultproxy.py" --upstream "$up" --port-file "$T/proxy.port" "$@" \
        >>"$T/proxy.log" 2>&1 &
    _s3_pids="$_s3_pids $!"
    wait_port_file "$T/proxy.port"
    PROXY_URL="$scheme://127.0.0.1:$(cat "$T/proxy.port")"
}

proxy_rules() { curl -skf -X POST --data-binary "$1" "$PROXY_URL/__fault/rules" >/dev/null; }
proxy_stats() { curl -skf "$PROXY_URL/__fault/stats"; }
proxy_down()  { curl -skf -X POST "$PROXY_URL/__fault/down?seconds=$1" >/dev/null; }
# json_get JSON EXPR: python expression over `d`
json_get() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }

# s3_conf FILE JOB [key = value; ...]: job JOB runs testdb backup (rows from
# $ROWS, default 2000) -> store -> fetch -> restore into database
# "${JOB}_dst"; extra storage options are appended verbatim.
s3_conf() {
    local file=$1 job=$2 extra=${3:-} endpoint=${ENDPOINT:-$S3_ENDPOINT} creds
    # CREDS (may be empty) replaces the explicit keys, for credential tests
    if [ "${CREDS+set}" = set ]; then
        creds=$CREDS
    else
        creds='access_key_id = "${S3_ACCESS_KEY}"; secret_access_key = "${S3_SECRET_KEY}";'
    fi
    cat >"$file" <<EOF
envsync: { environment = "staging"; log_level = "${LOG_LEVEL:-info}"; };
storage: {
  up: { plugin = "s3"; prefix = "backups"; bucket = "$BUCKET"; endpoint = "$endpoint";
        region = "$S3_REGION"; $creds
        $extra };
};
jobs = ( {
  name = "$job";
  artifact = { compression = "${COMPRESSION:-none}"; };
  backup = { plugin = "testdb"; dir = "$T/db"; database = "src"; generate = ${ROWS:-2000}; tables = 3; ${BACKUP_EXTRA:-} };
  store = { storage = "up"; };
  fetch = { storage = "up"; };
  restore = { plugin = "testdb"; dir = "$T/db"; database = "${job}_dst"; };
} );
EOF
}

# no_uploads_left [PREFIX]: fail if a multipart upload is still open
no_uploads_left() {
    local n
    n=$(s3u uploads "$BUCKET" "${1:-}") || fail "ListMultipartUploads failed"
    [ "$n" = 0 ] || fail "$n multipart upload(s) left open in $BUCKET"
}

# artifacts JOB: number of .envsync objects stored for JOB
artifacts() { s3u ls "$BUCKET" "backups/$1/" | grep -c '\.envsync$' || true; }
