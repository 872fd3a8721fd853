#!/bin/bash
# Plugin-level tests (s3drive: the storage callbacks behind a minimal host)
# against the real S3: object sizes around the part and range boundaries
# (0, 1, part-1, part, part+1, several parts), growing part sizes,
# byte-exact round trips,
# create-if-absent (exit 12), missing object (exit 13), remove, list, and
# virtual-hosted-style addressing (Swift's storage_domain is localhost).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup
DRIVE="$top_builddir/plugins/s3/tests/s3drive"
SO="$top_builddir/plugins/s3/.libs/s3.so"
[ -x "$DRIVE" ] && [ -f "$SO" ] || fail "s3drive or s3.so not built"
O="bucket=$BUCKET endpoint=$S3_ENDPOINT region=$S3_REGION access_key_id=$S3_ACCESS_KEY
   secret_access_key=$S3_SECRET_KEY part_size=5M range_size=1M concurrency=3"
drive() { "$DRIVE" "$SO" "$@" $O; }

P=$((5 * 1024 * 1024))
head -c $((3 * P + 7)) /dev/urandom >"$T/data"
for size in 0 1 $((P - 1)) $P $((P + 1)) $((3 * P + 7)); do
    head -c "$size" "$T/data" >"$T/in"
    drive put "obj/$size" <"$T/in" || fail "put of $size bytes failed"
    drive get "obj/$size" >"$T/out" || fail "get of $size bytes failed"
    cmp -s "$T/in" "$T/out" || fail "object of $size bytes differs after the round trip"
done
no_uploads_left

# part sizes grow (part_growth = 2: 5M, 5M, 10M...): the 3-part-and-a-bit
# object takes 3 parts instead of 4 (a multipart ETag ends in -<parts>)
"$DRIVE" "$SO" put grow/x $O part_growth=2 <"$T/data" || fail "put with growing parts failed"
drive get grow/x | cmp -s - "$T/data" || fail "object with growing parts differs"
case $(s3u etag "$BUCKET" grow/x) in *-3) ;; *) fail "growing parts: ETag $(s3u etag "$BUCKET" grow/x), expected 3 parts";; esac
case $(s3u etag "$BUCKET" "obj/$((3 * P + 7))") in *-4) ;; *) fail "fixed parts: expected 4 parts";; esac
drive rm grow/x

n=$(drive list obj/ | wc -l)
[ "$n" = 6 ] || fail "list obj/ gave $n objects, expected 6"
drive list obj/ | grep -qx "obj/$((P + 1)) $((P + 1))" || fail "list misses a key or its size"

set +e
EXCLUSIVE=1 drive put obj/1 </dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 12 ] || fail "create-if-absent over an existing key: exit $rc, expected 12"
EXCLUSIVE=1 drive put obj/new </dev/null || fail "create-if-absent of a new key failed"

# a key with characters SigV4 must encode (space, + = & ~ UTF-8 ( ) ! *),
# and a prefix with a space for ListObjectsV2's query
K='odd/a b+c=d&e~é(1)!*.bin'
echo "odd key" | drive put "$K" || fail "put of an odd key failed"
[ "$(drive get "$K")" = "odd key" ] || fail "get of an odd key gave other bytes"
drive list "odd/a b" | grep -qxF "$K 8" || fail "list with an odd prefix misses the key"

drive rm obj/1 || fail "remove failed"
drive rm obj/1 || fail "removing a missing key must succeed"
set +e
drive get obj/1 >/dev/null 2>"$T/err"; rc=$?
set -e
[ "$rc" = 13 ] || fail "get of a removed key: exit $rc, expected 13"
grep -q "obj/1" "$T/err" || fail "not-found message does not name the key"

# endpoint and region from the environment, as the AWS SDKs take them
echo "env endpoint" | AWS_ENDPOINT_URL_S3=$S3_ENDPOINT AWS_REGION=$S3_REGION \
    "$DRIVE" "$SO" put obj/env bucket="$BUCKET" access_key_id="$S3_ACCESS_KEY" \
    secret_access_key="$S3_SECRET_KEY" || fail "put with AWS_ENDPOINT_URL_S3 failed"
[ "$(drive get obj/env)" = "env endpoint" ] || fail "object stored via AWS_ENDPOINT_URL_S3 differs"

# virtual-hosted style: http://BUCKET.localhost:PORT/key (curl resolves
# *.localhost to the loopback address)
port=${S3_ENDPOINT##*:}
port=${port%%/*}
case "$S3_ENDPOINT" in
http://127.0.0.1:*|http://localhost:*)
    "$DRIVE" "$SO" get "obj/$P" bucket="$BUCKET" endpoint="http://localhost:$port" \
        path_style=false access_key_id="$S3_ACCESS_KEY" secret_access_key="$S3_SECRET_KEY" \
        region="$S3_REGION" >"$T/out" || fail "virtual-hosted-style get failed"
    head -c "$P" "$T/data" | cmp -s - "$T/out" || fail "virtual-hosted-style get differs";;
*) note "endpoint is not loopback: virtual-hosted check skipped";;
esac
pass
