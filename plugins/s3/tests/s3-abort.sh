#!/bin/bash
# A backup failing in the middle of a multipart store: the plugin aborts the
# multipart upload (ListMultipartUploads is empty afterwards) and nothing
# becomes visible; the run exits with the backup's status.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/s3lib.sh"
set -e
s3_setup

# ~19 MiB of rows in 64 KiB chunks; fail after ~9 MiB: parts 1 (and maybe
# 2) are uploaded or in flight when the failure comes
ROWS=120000 LOG_LEVEL=debug \
    BACKUP_EXTRA='fail_in = "backup"; fail_after = 140; fail_status = 7;' \
    s3_conf "$T/abort.conf" aborted 'part_size = "5M"; concurrency = 2;'
run_envsync run -c "$T/abort.conf" aborted
expect_rc 7 "failed backup"
expect_out 'multipart upload of .* started' "the store had started a multipart upload"
expect_out 'multipart upload of .* aborted' "the multipart upload was aborted"
no_uploads_left
# (the core keeps its own bookkeeping objects, e.g. lock and last-run)
visible=$(s3u ls "$BUCKET" backups/aborted/ | grep -E '\.envsync$|\.manifest$|/latest$' || true)
[ -z "$visible" ] || fail "artifact objects visible after an aborted store:
$visible"
pass
