#!/bin/bash
# Snapshot mode: the source cluster snapshots into a repository it already
# has (an fs repository both test clusters share, as clusters share an S3
# bucket); the artifact is a small reference; restore renames the indices
# and swaps aliases, or replaces them in place; retention keeps the newest
# N; FAILED and PARTIAL snapshots and a snapshot past its deadline fail the
# backup and leave the target alone.
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
. "$top_srcdir/plugins/elasticsearch/tests/es-lib.sh"
trap 'es_stop_all; rm -rf "$T"' EXIT

es_start SRC es7 --snapshot-delay 0.5
es_start DST es7
es_start DST2 es7
esu seed "$SRC_URL"
for u in "$SRC_URL" "$DST_URL" "$DST2_URL"; do
    es_curl PUT "$u/_snapshot/backups" "{\"type\":\"fs\",\"settings\":{\"location\":\"$T/repo\"}}" >/dev/null
    [ "$code" = 200 ] || fail "cannot register the repository"
done
SNAP='mode = "snapshot"; snapshot_repository = "backups";'
es_conf "$T/envsync.conf" snap "$SRC_URL" "$DST_URL" "$SNAP keep_snapshots = 2; include = ( \"books-*\", \"logs\" );" "$SNAP"

run_envsync -c "$T/envsync.conf" run snap
expect_rc 0 "snapshot backup + swap restore"
expect_out "snapshot backups:envsync-snap-[0-9]+ SUCCESS" "snapshot state"
esu dump "$SRC_URL" books-v1 logs > "$T/src.json"
esu dump "$DST_URL" books-v1 logs > "$T/dst.json"
cmp -s "$T/src.json" "$T/dst.json" || fail "snapshot restore differs from the source"
es_curl GET "$DST_URL/_alias/books-v1" | grep -q 'books-v1-envsync-' || fail "alias books-v1 not on the renamed copy"
first=$(es_curl GET "$DST_URL/_alias/books" | python3 -c 'import json,sys; print(list(json.load(sys.stdin))[0])')

# retention: three more runs, two snapshots left; the swap removed old copies
for i in 1 2 3; do
    sleep 1.1
    run_envsync -c "$T/envsync.conf" run snap
    expect_rc 0 "snapshot run $i"
done
n=$(es_curl GET "$SRC_URL/_snapshot/backups/_all" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))')
[ "$n" = 2 ] || fail "keep_snapshots = 2 left $n snapshots"
es_curl GET "$DST_URL/$first" >/dev/null
[ "$code" = 404 ] || fail "previous copy $first still there"
esu dump "$DST_URL" books-v1 logs > "$T/dst.json"
cmp -s "$T/src.json" "$T/dst.json" || fail "restore after retention differs from the source"

# restore_mode = replace (the reference system's way) into another cluster
es_curl PUT "$DST2_URL/books-v1" '{"settings":{"number_of_shards":1}}' >/dev/null
es_conf "$T/replace.conf" snap "$SRC_URL" "$DST2_URL" "$SNAP keep_snapshots = 2; include = ( \"books-*\", \"logs\" );" \
    "$SNAP restore_mode = \"replace\";"
sleep 1.1
run_envsync -c "$T/replace.conf" run snap
expect_rc 0 "replace restore"
expect_out "index books-v1 closed and deleted" "replace mode closes and deletes"
esu dump "$DST2_URL" books-v1 logs > "$T/dst2.json"
python3 - "$T/src.json" "$T/dst2.json" <<'PY' || fail "replace restore differs from the source"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for n in a:
    for part in ("mappings", "aliases", "docs", "count"):
        if a[n][part] != b[n][part]:
            sys.exit("%s %s differ" % (n, part))
PY

# FAILED and PARTIAL snapshots fail the backup; the target keeps its copy
before=$(es_curl GET "$DST_URL/_alias")
for outcome in FAILED PARTIAL; do
    es_faults "$SRC_URL" "{\"snapshot_outcome\":\"$outcome\"}"
    sleep 1.1
    run_envsync -c "$T/envsync.conf" run snap
    expect_rc 1 "$outcome snapshot"
    expect_out "snapshot backups:envsync-snap-[0-9]+ ended $outcome" "$outcome reported"
done
[ "$(es_curl GET "$DST_URL/_alias")" = "$before" ] || fail "target changed by a failed snapshot run"

# deadline
es_faults "$SRC_URL" '{"snapshot_outcome":"SUCCESS","snapshot_delay":30}'
es_conf "$T/slow.conf" snap "$SRC_URL" "$DST_URL" "$SNAP snapshot_timeout = \"1s\";" "$SNAP"
sleep 1.1
run_envsync -c "$T/slow.conf" run snap
expect_rc 8 "snapshot deadline"
expect_out "still IN_PROGRESS after snapshot_timeout" "deadline reported"
pass
