#!/bin/bash
# s3 plugin failure classes against the real S3: wrong secret and unknown
# access key (exit 6, secret never printed), missing bucket (exit 10,
# NoSuchBucket), wrong region (exit 3, the bucket's region named),
# unreachable endpoint (exit 5), invalid options (exit 3 with file:line);
# nothing is left behind by a failed store.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup

WRONG="wrong-secret-Zq81x0PLm"
CREDS="access_key_id = \"\${S3_ACCESS_KEY}\"; secret_access_key = \"$WRONG\";" \
    s3_conf "$T/wrong.conf" wrong 'retries = 1;'
run_envsync run -c "$T/wrong.conf" wrong
expect_rc 6 "wrong secret"
expect_out 'SignatureDoesNotMatch' "wrong secret names the S3 error code"
case "$out" in *"$WRONG"*) fail "the wrong secret appears in the output";; esac
[ "$(artifacts wrong)" = 0 ] || fail "wrong secret: an artifact became visible"

CREDS='access_key_id = "nosuch:user"; secret_access_key = "whatever-secret-1";' \
    s3_conf "$T/nokey.conf" nokey 'retries = 1;'
run_envsync run -c "$T/nokey.conf" nokey
expect_rc 6 "unknown access key"

s3_conf "$T/nobucket.conf" nob 'retries = 1;'
sed -i "s/bucket = \"$BUCKET\"/bucket = \"$BUCKET-missing\"/" "$T/nobucket.conf"
run_envsync run -c "$T/nobucket.conf" nob
expect_rc 10 "missing bucket"
expect_out "NoSuchBucket" "missing bucket names the S3 error code"
expect_out "$BUCKET-missing" "missing bucket names the bucket"

s3_conf "$T/region.conf" region 'retries = 1;'
sed -i "s/region = \"$S3_REGION\"/region = \"xx-nowhere-9\"/" "$T/region.conf"
run_envsync run -c "$T/region.conf" region
expect_rc 3 "wrong region"
expect_out "bucket is in region $S3_REGION" "wrong region: the right one is named"

ENDPOINT="http://127.0.0.1:1" s3_conf "$T/down.conf" down 'retries = 1;'
run_envsync run -c "$T/down.conf" down
expect_rc 5 "unreachable endpoint"

s3_conf "$T/badopt.conf" badopt 'part_size = "1M";'
run_envsync run -c "$T/badopt.conf" badopt
expect_rc 3 "part_size below 5M"
expect_out 'badopt.conf:[0-9]+' "bad option names file:line"

s3_conf "$T/badsse.conf" badsse 'sse = "rot13";'
run_envsync run -c "$T/badsse.conf" badsse
expect_rc 3 "unknown sse"

no_uploads_left
pass
