#!/bin/bash
# bench/mysql/bench.sh - MySQL/MariaDB copy benchmark (not a test).
#
# Generates the application database (bench/mysql/gen.sql) at SCALE
# editions, then copies it into another database on the same server with
#   1. envsync: backup -> store (file, default zstd) -> fetch -> restore;
#      and the same through the s3 storage plugin when S3_ENDPOINT,
#      S3_ACCESS_KEY and S3_SECRET_KEY are set (the rig's env.sh sets them);
#   2. the reference pipeline: mysqldump --single-transaction | gzip -1 >
#      file; gzip -d < file | mysql into a dropped-and-recreated database;
#   3. mydumper -c / myloader with the same thread count;
#   4. the engine ceiling: SELECT ... INTO OUTFILE and server-side LOAD
#      DATA INFILE of ~16 MiB primary-key ranges, THREADS at a time and
#      interleaved across tables as envsync's chunks are, into index-less
#      tables, then the index build (no client, no network, no
#      compression).
# and prints wall time, peak RSS (/usr/bin/time -v) and artifact size as a
# Markdown table.
#
# Usage: bench/mysql/bench.sh            (from a build directory, or set
#        ENVSYNC=/path/to/envsync and ENVSYNC_PLUGIN_PATH)
# Environment: MYSQL_HOST MYSQL_PORT MYSQL_USER (or ENVSYNC_RIG_ENV naming
# a file that sets them), SCALE (default 80000 editions, ~200 MB of table
# data), THREADS (default 2), KEEP=1 keeps the databases and files,
# REUSE=1 reuses an existing source database (same SCALE!), ROUNDS=N
# (default 1) runs methods 1-3 N times, interleaved, and reports medians.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${ENVSYNC_RIG_ENV:-}" ] && [ -r "$ENVSYNC_RIG_ENV" ]; then
    # shellcheck disable=SC1090
    . "$ENVSYNC_RIG_ENV"
fi
: "${MYSQL_HOST:?MYSQL_HOST not set}" "${MYSQL_PORT:?MYSQL_PORT not set}"
MYSQL_USER=${MYSQL_USER:-root}
SCALE=${SCALE:-80000}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-1}
builddir=${top_builddir:-$PWD}
ENVSYNC=${ENVSYNC:-$builddir/envsync}
export ENVSYNC_PLUGIN_PATH=${ENVSYNC_PLUGIN_PATH:-$builddir/plugins/mysql/.libs:$builddir/plugins/file/.libs:$builddir/plugins/s3/.libs}
S3=0
[ -n "${S3_ENDPOINT:-}" ] && [ -n "${S3_ACCESS_KEY:-}" ] && [ -n "${S3_SECRET_KEY:-}" ] && S3=1
[ -x "$ENVSYNC" ] || { echo "bench: $ENVSYNC not found (run from a build directory)" >&2; exit 2; }
for t in /usr/bin/time mysqldump mydumper myloader gzip; do
    command -v "$t" >/dev/null || { echo "bench: $t missing (apt-get install time mydumper mariadb-client)" >&2; exit 2; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/esbench-mysql.XXXXXX")
chmod 777 "$W"    # the server writes the ceiling's OUTFILEs here
SRC=${BENCH_SRC:-esbench_src}
DBS="esbench_envsync esbench_dump esbench_myd esbench_ceil"
my() { mariadb --no-defaults --default-character-set=utf8mb4 -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" "$@"; }
q() { my -N -B -e "$1"; }
cleanup() {
    if [ "${KEEP:-0}" != 1 ]; then
        for d in $SRC $DBS; do
            q "SET foreign_key_checks=0; DROP DATABASE IF EXISTS $d; DROP DATABASE IF EXISTS ${d}_envsync_new; DROP DATABASE IF EXISTS ${d}_envsync_old" || true
        done
        rm -rf "$W"
    fi
}
trap cleanup EXIT

# measure NAME CMD...: run under /usr/bin/time -v; sets wall_NAME (s) rss_NAME (KiB)
declare -A WALL RSS ALL
measure() {
    local name=$1; shift
    /usr/bin/time -v -o "$W/$name.time" "$@"
    WALL[$name]=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$W/$name.time")
    RSS[$name]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/$name.time")
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
size_of() { du -sb "$1" | awk '{ printf "%.1f", $1 / 1048576 }'; }
checksum_db() {  # DB: a checksum of every table, to prove the copies are complete
    local d=$1
    q "CHECKSUM TABLE $(q "SELECT GROUP_CONCAT(CONCAT('\`$d\`.\`', TABLE_NAME, '\`') ORDER BY TABLE_NAME)
                           FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$d' AND TABLE_TYPE = 'BASE TABLE'")" |
        awk '{ sub(/^[^.]*\./, "", $1); print $1, $2 }'
}

echo "# generating $SRC at SCALE=$SCALE" >&2
cleanup_dbs() { for d in $DBS; do q "SET foreign_key_checks=0; DROP DATABASE IF EXISTS $d"; done; }
cleanup_dbs
gen_start=$(date +%s)
if [ "${REUSE:-0}" = 1 ] && [ "$(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC'")" -gt 0 ]; then
    echo "# reusing the existing $SRC (REUSE=1)" >&2
else
    q "DROP DATABASE IF EXISTS $SRC; CREATE DATABASE $SRC"
    { echo "SET @n = $SCALE;"; cat "$here/gen.sql"; } | my "$SRC" > /dev/null
fi
gen_s=$(( $(date +%s) - gen_start ))
data_mb=$(q "SELECT ROUND(SUM(DATA_LENGTH) / 1048576) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC'")
index_mb=$(q "SELECT ROUND(SUM(INDEX_LENGTH) / 1048576) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC'")
rows=$(q "SELECT SUM(TABLE_ROWS) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC'")
checksum_db "$SRC" > "$W/src.sum"

# 1. envsync full cycle
mkdir -p "$W/store"
cat > "$W/envsync.conf" <<EOF
envsync: { environment = "bench"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$W/store"; }; };
jobs = ( {
    name = "bench";
    artifact = { compression = "zstd"; };
    backup  = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                database = "$SRC"; jobs = $THREADS; };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                database = "esbench_envsync"; jobs = $THREADS; };
} );
EOF
# the same job through S3 (one bucket per run; each round's artifact is new)
sed -e "s|^storage: .*|storage: { s3: { plugin = \"s3\"; bucket = \"es-mybench-$$\"; endpoint = \"${S3_ENDPOINT:-}\"; region = \"${S3_REGION:-us-east-1}\"; access_key_id = \"${S3_ACCESS_KEY:-}\"; secret_access_key = \"${S3_SECRET_KEY:-}\"; create_bucket = true; }; };|" \
    -e 's|storage = "local"|storage = "s3"|' "$W/envsync.conf" > "$W/envsync-s3.conf"
for r in $(seq 1 "$ROUNDS"); do
    # each round starts from empty targets and stores
    cleanup_dbs
    rm -rf "$W/store" "$W/myd" "$W/dump.sql.gz"
    mkdir -p "$W/store"
    echo "# round $r: envsync" >&2
    measure envsync_$r "$ENVSYNC" -c "$W/envsync.conf" run bench 2> "$W/envsync_$r.log"
    size_envsync=$(size_of "$W/store/bench")
    checksum_db esbench_envsync > "$W/envsync.sum"
    if [ "$S3" = 1 ]; then
        cleanup_dbs
        echo "# round $r: envsync through S3" >&2
        measure envsync_s3_$r "$ENVSYNC" -c "$W/envsync-s3.conf" run bench 2> "$W/envsync_s3_$r.log"
        checksum_db esbench_envsync > "$W/envsync_s3.sum"
    fi

    # 2. reference pipeline: mysqldump | gzip -1 ... gzip -d | mysql
    echo "# round $r: mysqldump | gzip" >&2
    measure dump_out_$r sh -c "mysqldump --no-defaults -h'$MYSQL_HOST' -P'$MYSQL_PORT' -u'$MYSQL_USER' \
        --single-transaction --routines --triggers --events '$SRC' | gzip -1 > '$W/dump.sql.gz'"
    q "DROP DATABASE IF EXISTS esbench_dump; CREATE DATABASE esbench_dump"
    measure dump_in_$r sh -c "gzip -d < '$W/dump.sql.gz' | mariadb --no-defaults -h'$MYSQL_HOST' -P'$MYSQL_PORT' \
        -u'$MYSQL_USER' esbench_dump"
    size_dump=$(size_of "$W/dump.sql.gz")
    checksum_db esbench_dump > "$W/dump.sum"

    # 3. mydumper / myloader
    echo "# round $r: mydumper / myloader" >&2
    measure myd_out_$r mydumper -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -B "$SRC" \
        -t "$THREADS" -c -r 50000 -G -E -R -o "$W/myd"
    measure myd_in_$r myloader -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -B esbench_myd \
        -t "$THREADS" -o -d "$W/myd"
    size_myd=$(size_of "$W/myd")
    checksum_db esbench_myd > "$W/myd.sum"

done
# medians over the rounds (times), maxima (RSS)
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
methods="envsync dump_out dump_in myd_out myd_in"
[ "$S3" = 1 ] && methods="$methods envsync_s3"
for m in $methods; do
    vals=() rss=0
    for r in $(seq 1 "$ROUNDS"); do
        vals+=("${WALL[${m}_$r]}")
        [ "${RSS[${m}_$r]}" -gt "$rss" ] && rss=${RSS[${m}_$r]}
    done
    WALL[$m]=$(median "${vals[@]}")
    RSS[$m]=$rss
    ALL[$m]=$(IFS=/; echo "${vals[*]}")
done
cp "$W/envsync_$ROUNDS.log" "$W/envsync.log"

# 4. engine ceiling: server-side files, no client
echo "# engine ceiling" >&2
tables=$(q "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$SRC' AND TABLE_TYPE = 'BASE TABLE'")
q "DROP DATABASE IF EXISTS esbench_ceil; CREATE DATABASE esbench_ceil"
for t in $tables; do
    q "CREATE TABLE esbench_ceil.$t LIKE $SRC.$t"
    drops=$(q "SELECT GROUP_CONCAT(DISTINCT CONCAT('DROP INDEX \`', INDEX_NAME, '\`')) FROM information_schema.STATISTICS
               WHERE TABLE_SCHEMA = 'esbench_ceil' AND TABLE_NAME = '$t' AND INDEX_NAME <> 'PRIMARY'")
    [ "$drops" = NULL ] || q "ALTER TABLE esbench_ceil.$t $drops"
    my -N -B -e "SHOW CREATE TABLE $SRC.$t" | sed 's/\\n/\n/g' |
        grep -E '^  (UNIQUE |FULLTEXT |SPATIAL )?KEY ' | sed -e 's/,$//' -e 's/^  /ADD /' |
        paste -sd, > "$W/$t.idx" || true
done
# pieces of about 16 MiB by primary-key range (every table of the app has
# an integer id), dumped and loaded in parallel like envsync's chunks
mkdir -p "$W/pieces"
chmod 777 "$W/pieces"
printf '%s\n' $tables > "$W/tables"
for t in $tables; do
    read -r lo hi n < <(q "SELECT MIN(id), MAX(id) + 1,
        GREATEST(1, CEIL(DATA_LENGTH / 16777216)) FROM $SRC.$t, information_schema.TABLES
        WHERE TABLE_SCHEMA = '$SRC' AND TABLE_NAME = '$t'")
    [ "$lo" = NULL ] && continue
    awk -v t="$t" -v lo="$lo" -v hi="$hi" -v n="$n" 'BEGIN {
        step = int((hi - lo) / n) + 1
        for (i = 0; i < n; i++) printf "%.6f %s %d %d %d\n", i / n, t, lo + i * step, lo + (i + 1) * step, i }'
done | sort -s -k1,1n | cut -d' ' -f2- > "$W/pieces.list"
ceil_out_one() { q "SELECT * FROM $SRC.$1 WHERE id >= $2 AND id < $3 INTO OUTFILE '$W/pieces/$1.$4'"; }
ceil_load_one() {  # two loads into one table may deadlock: retry (as envsync does)
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        q "SET foreign_key_checks=0, unique_checks=0; LOAD DATA INFILE '$W/pieces/$1.$4' INTO TABLE esbench_ceil.$1" 2>/dev/null && return 0
    done
    q "SET foreign_key_checks=0, unique_checks=0; LOAD DATA INFILE '$W/pieces/$1.$4' INTO TABLE esbench_ceil.$1"
}
ceil_index_one() { if [ -s "$W/$1.idx" ]; then q "ALTER TABLE esbench_ceil.$1 $(cat "$W/$1.idx")"; fi; }
export -f my q ceil_out_one ceil_load_one ceil_index_one
export MYSQL_HOST MYSQL_PORT MYSQL_USER W SRC
measure ceil_out xargs -P "$THREADS" -n4 -a "$W/pieces.list" bash -c 'ceil_out_one "$0" "$1" "$2" "$3"'
measure ceil_load xargs -P "$THREADS" -n4 -a "$W/pieces.list" bash -c 'ceil_load_one "$0" "$1" "$2" "$3"'
measure ceil_index xargs -P "$THREADS" -n1 -a "$W/tables" bash -c 'ceil_index_one "$0"'
checksum_db esbench_ceil > "$W/ceil.sum"

sums="envsync dump myd ceil"
[ "$S3" = 1 ] && sums="$sums envsync_s3"
for c in $sums; do
    if ! diff -q "$W/src.sum" "$W/$c.sum" > /dev/null; then
        echo "bench: $c copy differs from the source:" >&2
        diff "$W/src.sum" "$W/$c.sum" >&2 || true
    fi
done

sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
sum3() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.1f", a + b + c }'; }
maxk() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
dump_total=$(sum "${WALL[dump_out]}" "${WALL[dump_in]}")
myd_total=$(sum "${WALL[myd_out]}" "${WALL[myd_in]}")
ceil_total=$(sum3 "${WALL[ceil_out]}" "${WALL[ceil_load]}" "${WALL[ceil_index]}")
bk=$(sed -n 's/.*backup finished.* in \([0-9:.]*s\{0,1\}\)$/\1/p' "$W/envsync.log")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cat <<EOF
### MariaDB $(q "SELECT VERSION()"), SCALE=$SCALE, THREADS=$THREADS ($(date -u +%Y-%m-%dT%H:%MZ))

Source: $rows rows (estimate), $data_mb MiB table data + $index_mb MiB indexes
(generated in ${gen_s}s). $(nproc) CPUs (shared), server on loopback.

Times are medians of $ROUNDS interleaved round(s); all rounds (s): envsync ${ALL[envsync]};$([ "$S3" = 1 ] && echo " envsync through S3 ${ALL[envsync_s3]};")
mysqldump ${ALL[dump_out]} + ${ALL[dump_in]}; mydumper ${ALL[myd_out]} + ${ALL[myd_in]}.
Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg).

| method | dump s | load s | total s | peak RSS MiB | stored MiB | total vs envsync |
|---|---:|---:|---:|---:|---:|---:|
| envsync backup->store->fetch->restore (zstd 1, 2 threads) | (backup ${bk}) | | ${WALL[envsync]} | $(mib "${RSS[envsync]}") | $size_envsync | 1.00 |
$([ "$S3" = 1 ] && echo "| envsync, the same through S3 (s3 plugin, Swift s3api on loopback) | | | ${WALL[envsync_s3]} | $(mib "${RSS[envsync_s3]}") | | $(ratio "${WALL[envsync_s3]}" "${WALL[envsync]}") |")
| mysqldump --single-transaction \| gzip -1 / gzip -d \| mysql | ${WALL[dump_out]} | ${WALL[dump_in]} | $dump_total | $(mib "$(maxk "${RSS[dump_out]}" "${RSS[dump_in]}")") | $size_dump | $(ratio "$dump_total" "${WALL[envsync]}") |
| mydumper -c -r 50000 / myloader | ${WALL[myd_out]} | ${WALL[myd_in]} | $myd_total | $(mib "$(maxk "${RSS[myd_out]}" "${RSS[myd_in]}")") | $size_myd | $(ratio "$myd_total" "${WALL[envsync]}") |
| engine ceiling: INTO OUTFILE / LOAD DATA INFILE + index build | ${WALL[ceil_out]} | ${WALL[ceil_load]} + ${WALL[ceil_index]} | $ceil_total | (server) | (uncompressed) | $(ratio "$ceil_total" "${WALL[envsync]}") |

Peak RSS is that of the client processes (/usr/bin/time -v), not the server.
$([ "$S3" = 1 ] && echo "envsync through S3 took $(ratio "${WALL[envsync_s3]}" "$ceil_total")x the engine ceiling's time.")
Every copy's CHECKSUM TABLE was compared with the source's$(for c in $sums; do diff -q "$W/src.sum" "$W/$c.sum" >/dev/null || printf ' (%s DIFFERS)' "$c"; done).
EOF
