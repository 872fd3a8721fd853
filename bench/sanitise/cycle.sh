#!/bin/bash
# bench/sanitise/cycle.sh - what sanitising adds to a fetch -> restore cycle
# through a real PostgreSQL.
#
#   ENVSYNC_RIG_ENV=/tmp/rig/env.sh bench/sanitise/cycle.sh BUILDDIR [ROWS] [RUNS]
#
# Makes a source table of ROWS rows (default 1,000,000, ~370 bytes each,
# the shape of bench_sanitise), backs it up once into a file store, then
# times RUNS fetch->restore runs without and with the sanitise transform
# (typical rules: ten columns kept, email + hash), alternating, and prints
# the median wall time of each and the overhead.  Needs psql and a rig.
set -eu
builddir=$(cd "${1:?usage: cycle.sh BUILDDIR [ROWS] [RUNS]}" && pwd)
rows=${2:-1000000}
runs=${3:-3}
: "${ENVSYNC_RIG_ENV:?set ENVSYNC_RIG_ENV (tests/rig/start.sh)}"
. "$ENVSYNC_RIG_ENV"
export PGHOST PGPORT PGUSER
export ENVSYNC_PLUGIN_PATH="$builddir/plugins/postgres/.libs:$builddir/plugins/file/.libs:$builddir/plugins/sanitise/.libs"
T=$(mktemp -d "${TMPDIR:-/tmp}/san-cycle.XXXXXX")
SRC=san_cycle_src DST=san_cycle_dst
q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
cleanup() {
    for d in $SRC $DST ${DST}_envsync_new ${DST}_envsync_old; do
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
cleanup; mkdir -p "$T/store"
q -d postgres -c "CREATE DATABASE $SRC"
q -d "$SRC" <<SQL
CREATE TABLE documents (id bigint PRIMARY KEY, created_at timestamptz, updated_at timestamptz,
  title text, summary text, body text, status text, locale text, amount numeric(10,2), flags text[],
  author_email text, author_ref text);
INSERT INTO documents SELECT i, timestamptz '2023-01-01' + i * interval '1 minute', now(),
  'How to apply for a passport ' || i, 'Summary of the rules for applications in England and Wales',
  E'The service lets you apply online. You need your number. Contact the team if you have questions.\nIt takes 3 weeks.\tEnd',
  CASE WHEN i % 4 = 0 THEN 'draft' ELSE 'published' END, 'en', (i % 10000) / 100.0,
  CASE WHEN i % 8 = 0 THEN NULL ELSE '{a,b}'::text[] END,
  'user' || (i % 50000) || '@council.example.co.uk', 'ref-' || (i % 50000)
FROM generate_series(1, $rows) i;
SQL
size=$(q -d "$SRC" -c "SELECT pg_size_pretty(pg_table_size('documents'))")
cat > "$T/rules" <<'EOF'
table public.documents
  id, created_at, updated_at, title, summary, body, status, locale, amount, flags keep
  author_email email
  author_ref hash(length=16)
EOF
job() {  # job NAME TRANSFORM
    cat <<EOF
 { name = "$1"; fetch = { storage = "local"; job = "prod"; }; $2
   restore = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT"; user = "$PGUSER";
               database = "$DST"; jobs = 2; swap_delay = "100ms"; }; }
EOF
}
cat > "$T/envsync.conf" <<EOF
envsync: { environment = "bench"; progress_interval = "0"; };
storage: { local: { plugin = "file"; path = "$T/store"; fsync = false; }; };
jobs = ( { name = "prod"; backup = { plugin = "postgres"; host = "$PGHOST"; port = "$PGPORT";
           user = "$PGUSER"; database = "$SRC"; jobs = 2; }; store = { storage = "local"; }; },
$(job plain ""),
$(job sanitised "transform = ( { plugin = \"sanitise\"; rules = \"$T/rules\"; key = \"bench-key-0123456789\"; } );")
);
EOF
"$builddir/envsync" -c "$T/envsync.conf" run prod >/dev/null 2>&1
art=$(du -b "$T"/store/prod/*.envsync | cut -f1)
t_plain=() t_san=()
for _ in $(seq "$runs"); do
    for j in plain sanitised; do
        s=$(date +%s.%N)
        "$builddir/envsync" -c "$T/envsync.conf" run $j >/dev/null 2>&1 || { echo "run $j failed" >&2; exit 1; }
        e=$(date +%s.%N)
        d=$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}')
        if [ $j = plain ]; then t_plain+=("$d"); else t_san+=("$d"); fi
    done
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
mp=$(med "${t_plain[@]}") ms=$(med "${t_san[@]}")
echo "# $(date -u +%FT%TZ) $(nproc) cpu(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rows=$rows table=$size artifact_bytes=$art runs=$runs"
echo "fetch->restore: ${t_plain[*]} (median $mp s)"
echo "fetch->sanitise->restore: ${t_san[*]} (median $ms s)"
awk -v a="$mp" -v b="$ms" 'BEGIN{printf "overhead: %.1f%%\n", (b-a)/a*100}'
