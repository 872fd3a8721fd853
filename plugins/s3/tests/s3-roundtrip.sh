#!/bin/bash
# s3 plugin against the real S3: backup -> multipart store (several parts,
# uploaded in parallel) -> parallel ranged fetch -> restore; a second job
# fetches the stored artifact on its own; a small artifact takes one PUT;
# `envsync list`, `envsync prune` and `envsync check` go through
# ListObjectsV2 (and DELETE).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup

# ~19 MiB uncompressed: 4 parts of 5 MiB, ranges of 1 MiB
ROWS=120000 s3_conf "$T/big.conf" big 'part_size = "5M"; range_size = "1M"; concurrency = 3;'
run_envsync run -c "$T/big.conf" big
expect_rc 0 "multipart round trip"
for t in t0 t1 t2; do
    [ -s "$T/db/big_dst/$t" ] || fail "table $t not restored"
done
[ "$(artifacts big)" = 1 ] || fail "expected one artifact for job big"
no_uploads_left

# the same artifact fetched by a fetch-only job into another database
cat >"$T/fetch.conf" <<CONF
envsync: { environment = "staging"; };
storage: { up: { plugin = "s3"; prefix = "backups"; bucket = "$BUCKET"; endpoint = "$S3_ENDPOINT";
                 access_key_id = "\${S3_ACCESS_KEY}"; secret_access_key = "\${S3_SECRET_KEY}";
                 range_size = "256k"; concurrency = 4; }; };
jobs = ( { name = "again"; fetch = { storage = "up"; job = "big"; };
           restore = { plugin = "testdb"; dir = "$T/db"; database = "again_dst"; }; } );
CONF
run_envsync run -c "$T/fetch.conf" again
expect_rc 0 "fetch-only job"
for t in t0 t1 t2; do
    cmp -s "$T/db/big_dst/$t" "$T/db/again_dst/$t" || fail "table $t differs after a second fetch"
done

# a small artifact (below one part): single PUT
ROWS=50 COMPRESSION=zstd s3_conf "$T/small.conf" small
run_envsync run -c "$T/small.conf" small
expect_rc 0 "small artifact round trip"
[ -s "$T/db/small_dst/t0" ] || fail "small: table t0 not restored"

# retention: three artifacts, prune keeps the newest (ListObjectsV2 + DELETE)
for i in 2 3; do
    sleep 1    # artifact names have one-second resolution
    run_envsync run -c "$T/small.conf" small
    expect_rc 0 "small artifact, run $i"
done
[ "$(artifacts small)" = 3 ] || fail "expected 3 small artifacts, found $(artifacts small)"
run_envsync prune -c "$T/small.conf" small --keep 1
expect_rc 0 "prune --keep 1"
[ "$(artifacts small)" = 1 ] || fail "after prune --keep 1: $(artifacts small) artifacts"

run_envsync list -c "$T/big.conf" big
expect_rc 0 "list"
expect_out 'complete' "list shows the artifact"

run_envsync check -c "$T/big.conf"
expect_rc 0 "check"
no_uploads_left
pass
