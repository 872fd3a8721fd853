#!/bin/bash
# ListObjectsV2 paging with continuation tokens: more than 1000 stored
# artifacts listed through `envsync list` in small pages (max_keys = 97).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup

N=1010
s3u put-artifacts "$BUCKET" backups/many/ "$N" || fail "could not create $N objects"
s3_conf "$T/list.conf" many 'max_keys = 97;'
run_envsync list -c "$T/list.conf" many
expect_rc 0 "list of $N artifacts"
rows=$(printf '%s\n' "$out" | grep -c '^20[0-9]\{6\}T[0-9]\{6\}Z' || true)
[ "$rows" = "$N" ] || fail "envsync list shows $rows artifacts, expected $N:
$(printf '%s\n' "$out" | head -5)"
# first and last of the generated timestamps are both there
expect_out '^20200101T000000Z' "oldest artifact listed"
expect_out '^20200101T001649Z' "newest artifact listed"
pass
