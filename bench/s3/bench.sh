#!/bin/bash
# bench/s3/bench.sh - throughput and peak RSS of the s3 plugin against
# `aws s3 cp` (Debian's awscli), same data, same S3 server, one run.
#
#   bench/s3/bench.sh [-b BUILDDIR] [-r ROUNDS] [SIZE_MIB...]   (default: 1024)
#   RSS_SIZES="256 2048" bench/s3/bench.sh      also: plugin peak RSS per size
#
# Needs S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY (or ENVSYNC_RIG_ENV
# naming a file that sets them), GNU time (/usr/bin/time), awscli, and a
# built tree (plugins/s3/.libs/s3.so and plugins/s3/tests/s3drive:
# `make plugins/s3/s3.la plugins/s3/tests/s3drive`).
#
# The plugin is driven by s3drive (the storage callbacks behind a minimal
# host): upload = write_open/write/commit from a file, download =
# read_open/read into a file, so both tools do the same work.  Plugin
# settings come from PLUGIN_OPTS (default: the plugin's defaults,
# part_size 16M, concurrency 4, range_size 8M); awscli runs with its
# defaults (8 MiB parts, 10 concurrent requests).  Rounds are interleaved
# (plugin, awscli, plugin, awscli...) so background load hits both alike.
# Prints a Markdown table; numbers are whatever this machine measured.
set -euo pipefail

BUILDDIR=${top_builddir:-$(pwd)}
ROUNDS=2
while getopts b:r: o; do
    case $o in
    b) BUILDDIR=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
SIZES=${*:-1024}

if [ -n "${ENVSYNC_RIG_ENV:-}" ] && [ -r "$ENVSYNC_RIG_ENV" ]; then
    # shellcheck disable=SC1090
    . "$ENVSYNC_RIG_ENV"
fi
: "${S3_ENDPOINT:?S3_ENDPOINT not set}" "${S3_ACCESS_KEY:?}" "${S3_SECRET_KEY:?}"
S3_REGION=${S3_REGION:-us-east-1}
DRIVE="$BUILDDIR/plugins/s3/tests/s3drive"
SO="$BUILDDIR/plugins/s3/.libs/s3.so"
AWS=${AWS:-/usr/bin/aws}
[ -x "$DRIVE" ] && [ -f "$SO" ] || { echo "build s3drive and s3.la first ($BUILDDIR)" >&2; exit 1; }
[ -x "$AWS" ] || AWS=$(command -v aws) || { echo "awscli not installed (apt-get install awscli)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/s3bench.XXXXXX")
BUCKET="bench-$$"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=$S3_REGION AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_PAGER=""
awsx() { "$AWS" --endpoint-url "$S3_ENDPOINT" "$@"; }
PLUGIN_OPTS=${PLUGIN_OPTS:-}
# shellcheck disable=SC2206
PO=(bucket="$BUCKET" endpoint="$S3_ENDPOINT" region="$S3_REGION"
    access_key_id="$S3_ACCESS_KEY" secret_access_key="$S3_SECRET_KEY" $PLUGIN_OPTS)
AWSC=("$AWS" --endpoint-url "$S3_ENDPOINT")
cleanup() {
    awsx s3 rm --recursive --quiet "s3://$BUCKET" >/dev/null 2>&1 || true
    awsx s3api delete-bucket --bucket "$BUCKET" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
awsx s3api create-bucket --bucket "$BUCKET" >/dev/null

# measure NAME CMD...: sets SECS and RSS_MB (GNU time), fails on error
measure() {
    local name=$1; shift
    if ! /usr/bin/time -f '%e %M' -o "$W/time" "$@" 2>"$W/err.$name"; then
        echo "$name failed:" >&2; cat "$W/err.$name" >&2; exit 1
    fi
    read -r SECS RSS_KB <"$W/time"
    RSS_MB=$((RSS_KB / 1024))
}
mibps() { python3 -c "print('%.0f' % ($1 / $2))" ; }
median() { python3 -c "import statistics,sys; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }

echo "# s3 plugin vs awscli: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# plugin: ${PLUGIN_OPTS:-defaults}; awscli: $("$AWS" --version 2>&1 | cut -d' ' -f1)"
echo
echo "| size | tool | op | seconds (median of $ROUNDS) | MiB/s | peak RSS MiB (max) |"
echo "|---|---|---|---|---|---|"
for size in $SIZES; do
    head -c "$((size * 1024 * 1024))" /dev/urandom >"$W/data"
    sum=$(sha256sum <"$W/data" | cut -d' ' -f1)
    declare -A t=() r=()
    for round in $(seq 1 "$ROUNDS"); do
        measure plugin_put "$DRIVE" "$SO" put "obj-$size" "${PO[@]}" <"$W/data"
        t[plugin_put]+="$SECS "; r[plugin_put]=$(( RSS_MB > ${r[plugin_put]:-0} ? RSS_MB : ${r[plugin_put]:-0} ))
        measure aws_put "${AWSC[@]}" s3 cp --quiet "$W/data" "s3://$BUCKET/aws-$size"
        t[aws_put]+="$SECS "; r[aws_put]=$(( RSS_MB > ${r[aws_put]:-0} ? RSS_MB : ${r[aws_put]:-0} ))
        # both download the same object (the one the plugin uploaded)
        measure plugin_get sh -c 'out=$1; shift; exec "$@" >"$out"' sh "$W/out" \
            "$DRIVE" "$SO" get "obj-$size" "${PO[@]}"
        t[plugin_get]+="$SECS "; r[plugin_get]=$(( RSS_MB > ${r[plugin_get]:-0} ? RSS_MB : ${r[plugin_get]:-0} ))
        [ "$(sha256sum <"$W/out" | cut -d' ' -f1)" = "$sum" ] || { echo "plugin download differs" >&2; exit 1; }
        rm -f "$W/out"
        measure aws_get "${AWSC[@]}" s3 cp --quiet "s3://$BUCKET/obj-$size" "$W/out"
        t[aws_get]+="$SECS "; r[aws_get]=$(( RSS_MB > ${r[aws_get]:-0} ? RSS_MB : ${r[aws_get]:-0} ))
        [ "$(sha256sum <"$W/out" | cut -d' ' -f1)" = "$sum" ] || { echo "awscli download differs" >&2; exit 1; }
        rm -f "$W/out"
    done
    for k in plugin_put aws_put plugin_get aws_get; do
        # shellcheck disable=SC2086
        m=$(median ${t[$k]})
        tool=${k%_*}; op=${k#*_}
        [ "$tool" = aws ] && tool="aws s3 cp"
        [ "$op" = put ] && op=upload || op=download
        echo "| $size MiB | $tool | $op | $m | $(mibps "$size" "$m") | ${r[$k]} |"
    done
    unset t r
    rm -f "$W/data"
done

if [ -n "${RSS_SIZES:-}" ]; then
    echo
    echo "| object size | plugin upload peak RSS MiB | plugin download peak RSS MiB |"
    echo "|---|---|---|"
    for size in $RSS_SIZES; do
        # a stream, not a file: the plugin never sees the size in advance
        measure rss_put sh -c 'n=$1; shift; head -c "$n" /dev/zero | "$@"' sh \
            "$((size * 1024 * 1024))" "$DRIVE" "$SO" put rss-obj "${PO[@]}"
        up=$RSS_MB
        measure rss_get sh -c 'exec "$@" >/dev/null' sh "$DRIVE" "$SO" get rss-obj "${PO[@]}"
        echo "| $size MiB | $up | $RSS_MB |"
    done
fi
