# es-lib.sh - sourced by the elasticsearch plugin tests (after tests/lib.sh).
#
# es_start NAME FLAVOR [server options...]: start the Elasticsearch-API test
#   double (tests/es-server/es_server.py) on a port it picks itself; sets
#   ${NAME}_URL and remembers the pid so es_stop_all (run at exit) stops it.
# es_conf FILE JOB SRC_URL DST_URL [BACKUP_EXTRA [RESTORE_EXTRA]]: a
#   backup -> file store -> fetch -> restore job.
# esu ARGS...: plugins/elasticsearch/tests/esutil.py.
ES_SERVER="$top_srcdir/tests/es-server/es_server.py"
ES_UTIL="$top_srcdir/plugins/elasticsearch/tests/esutil.py"
ES_PIDS=""
command -v python3 >/dev/null 2>&1 || skip "python3 is needed for the Elasticsearch test double"
command -v curl >/dev/null 2>&1 || skip "curl is needed"
# plugins live next to their .la in a non-recursive build
export ENVSYNC_PLUGIN_PATH="$ENVSYNC_PLUGIN_PATH:$top_builddir/plugins/elasticsearch/.libs:$top_builddir/plugins/file/.libs:$top_builddir/plugins/sanitise/.libs"

es_stop_all() {
    local p
    for p in $ES_PIDS; do
        kill "$p" 2>/dev/null || true
    done
    for p in $ES_PIDS; do
        wait "$p" 2>/dev/null || true
    done
    ES_PIDS=""
}

es_start() {
    local name=$1 flavor=$2 i
    shift 2
    rm -f "$T/$name.port"
    python3 "$ES_SERVER" --flavor "$flavor" --port 0 --port-file "$T/$name.port" "$@" \
        2>"$T/$name.log" &
    ES_PIDS="$ES_PIDS $!"
    for i in $(seq 1 100); do
        [ -s "$T/$name.port" ] && break
        sleep 0.1
    done
    [ -s "$T/$name.port" ] || fail "test server $name did not start: $(cat "$T/$name.log")"
    eval "${name}_URL=http://127.0.0.1:$(cat "$T/$name.port")"
}

esu() { python3 "$ES_UTIL" "$@"; }

# es_curl METHOD URL [JSON]: prints the body; $code = HTTP status
es_curl() {
    local m=$1 u=$2 b=${3:-}
    if [ -n "$b" ]; then
        code=$(curl -s -o "$T/curl.out" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' --data-binary "$b" "$u")
    else
        code=$(curl -s -o "$T/curl.out" -w '%{http_code}' -X "$m" "$u")
    fi
    cat "$T/curl.out"
}

es_faults() {  # URL JSON
    curl -s -f -X POST -H 'Content-Type: application/json' --data-binary "$2" "$1/_test/faults" >/dev/null ||
        fail "cannot set faults"
}

es_conf() {
    local file=$1 job=$2 src=$3 dst=$4 bx=${5:-} rx=${6:-} tx=${7:-}
    mkdir -p "$(dirname "$file")/store"
    cat > "$file" <<CONF
envsync: { environment = "test"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$(dirname "$file")/store"; }; };
jobs = ( {
    name = "$job";
    backup  = { plugin = "elasticsearch"; url = "$src"; $bx };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    $tx
    restore = { plugin = "elasticsearch"; url = "$dst"; $rx };
} );
CONF
}
