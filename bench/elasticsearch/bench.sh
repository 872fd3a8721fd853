#!/bin/bash
# bench/elasticsearch/bench.sh - documents per second for the elasticsearch
# plugin's backup and restore, and its peak RSS at two corpus sizes, against
# the Elasticsearch-API test double (tests/es-server), compared in the same
# run with elasticdump (npm) on the same corpus.
#
#   bench/elasticsearch/bench.sh [BUILD_DIR]
#
# BUILD_DIR holds the built envsync (default: $top_builddir or .).
# ES_BENCH_DOCS (100000) and ES_BENCH_DOCS_BIG (1000000; 0 skips) set the
# corpus sizes; ES_BENCH_ELASTICDUMP=0 skips elasticdump (else it is
# installed with npm into a temporary directory, or taken from
# ES_BENCH_NPM_DIR).  Prints a Markdown table.
#
# The test double is single-threaded Python: it, not the plugin, is the
# bottleneck, so the numbers compare clients against the same slow server
# (and show the plugin's own CPU time), not what a real cluster sustains.
set -eu
S=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-${top_builddir:-.}}" && pwd)
N1=${ES_BENCH_DOCS:-100000}
N2=${ES_BENCH_DOCS_BIG:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/es-bench.XXXXXX")
PIDS=""
cleanup() {
    local p
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
export ENVSYNC_PLUGIN_PATH="$B/plugins/elasticsearch/.libs:$B/plugins/file/.libs"

start() {  # NAME -> NAME_URL
    rm -f "$W/$1.port"
    python3 "$S/tests/es-server/es_server.py" --flavor es7 --port 0 --port-file "$W/$1.port" \
        2>"$W/$1.log" &
    PIDS="$PIDS $!"
    for _ in $(seq 1 100); do [ -s "$W/$1.port" ] && break; sleep 0.1; done
    eval "$1_URL=http://127.0.0.1:$(cat "$W/$1.port")"
}

# measure LABEL CMD...: wall seconds, CPU seconds and peak RSS (KiB) of CMD
measure() {
    local label=$1
    shift
    python3 - "$@" > "$W/m" <<'PY'
import resource, subprocess, sys, time
t = time.time()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
el = time.time() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
if r.returncode != 0:
    sys.stderr.write(r.stderr.decode(errors="replace")[-3000:])
    sys.exit("command failed (%d): %s" % (r.returncode, " ".join(sys.argv[1:])))
print("%.2f %.2f %d" % (el, u.ru_utime + u.ru_stime, u.ru_maxrss))
PY
    read -r WALL CPU RSS < "$W/m"
    echo "$label $WALL $CPU $RSS" >> "$W/results"
    echo "# $label: ${WALL}s wall, ${CPU}s CPU, ${RSS} KiB peak RSS" >&2
}

conf() {  # FILE: backup job "b" (to a local store) and restore job "r" (from it)
    cat > "$1" <<CONF
envsync: { environment = "bench"; log_level = "warn"; };
storage: { local: { plugin = "file"; path = "$W/store"; }; };
jobs = ( {
    name = "b";
    artifact = { compression = "zstd"; level = 1; };
    backup = { plugin = "elasticsearch"; url = "$SRC_URL"; include = ( "corpus" );
               jobs = 2; batch_size = 1000; };
    store  = { storage = "local"; };
  }, {
    name = "r";
    fetch   = { storage = "local"; job = "b"; };
    restore = { plugin = "elasticsearch"; url = "$DST_URL"; batch_size = 1000;
                bulk_concurrency = 2; };
} );
CONF
}

count() { curl -s "$1/$2/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

run_size() {  # N
    local n=$1
    start SRC
    start DST
    mkdir -p "$W/store"
    echo "# generating $n documents" >&2
    python3 "$S/plugins/elasticsearch/tests/esutil.py" corpus "$SRC_URL" corpus "$n"
    bytes=$(curl -s "$SRC_URL/_cat/indices/corpus?format=json&h=store.size" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["store.size"])')
    echo "# corpus: $n documents, $bytes of _source" >&2
    conf "$W/bench.conf"
    measure "envsync-backup-$n" "$B/envsync" -c "$W/bench.conf" run b
    measure "envsync-restore-$n" "$B/envsync" -c "$W/bench.conf" run r
    [ "$(count "$DST_URL" corpus)" = "$n" ] || { echo "restore count mismatch" >&2; exit 1; }
    if [ "${ES_BENCH_ELASTICDUMP:-1}" = 1 ] && [ -x "$W/npm/node_modules/.bin/elasticdump" ]; then
        ED="$W/npm/node_modules/.bin/elasticdump"
        measure "elasticdump-backup-$n" "$ED" --input="$SRC_URL/corpus" --output="$W/ed.json" \
            --type=data --limit=1000
        measure "elasticdump-restore-$n" "$ED" --input="$W/ed.json" --output="$DST_URL/corpus-ed" \
            --type=data --limit=1000
        curl -s -X POST "$DST_URL/corpus-ed/_refresh" >/dev/null
        [ "$(count "$DST_URL" corpus-ed)" = "$n" ] || { echo "elasticdump restore count mismatch" >&2; exit 1; }
        rm -f "$W/ed.json"
    fi
    for p in $PIDS; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    PIDS=""
    rm -rf "$W/store"
}

if [ -n "${ES_BENCH_NPM_DIR:-}" ]; then
    ln -s "$ES_BENCH_NPM_DIR" "$W/npm"      # an existing `npm install elasticdump` directory
elif [ "${ES_BENCH_ELASTICDUMP:-1}" = 1 ]; then
    mkdir -p "$W/npm"
    if ! (cd "$W/npm" && npm install --no-audit --no-fund --silent elasticdump >/dev/null 2>&1); then
        echo "# elasticdump could not be installed with npm: compared runs skipped" >&2
    fi
    [ -x "$W/npm/node_modules/.bin/elasticdump" ] &&
        echo "# elasticdump $("$W/npm/node_modules/.bin/elasticdump" --version 2>/dev/null | tail -1)" >&2
fi
: > "$W/results"
run_size "$N1"
[ "$N2" -gt 0 ] && run_size "$N2"

echo "| run | documents | wall s | docs/s | client CPU s | client peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
while read -r label wall cpu rss; do
    n=${label##*-}
    name=${label%-*}
    awk -v l="$name" -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" \
        'BEGIN { printf "| %s | %d | %.1f | %.0f | %.1f | %.1f |\n", l, n, w, n / w, c, r / 1024 }'
done < "$W/results"
