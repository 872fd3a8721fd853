#!/bin/bash
# Round trip per server flavor: indices with custom analysis settings,
# strict/nested/geo mappings, aliases with filter/routing/write index and
# routed documents go through backup -> file store -> fetch -> sanitise ->
# restore into a second cluster, and come out equal (settings minus index
# identity, mappings, aliases, every document's _id, _routing and _source).
# A second run swaps over the first copy, whose indices must be gone; a
# pre-existing concrete index named like a source index is replaced by an
# alias in the same _aliases request.  Then across versions (6.x <-> 8.x,
# OpenSearch 1 -> 2).
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
. "$top_srcdir/plugins/elasticsearch/tests/es-lib.sh"
trap 'es_stop_all; rm -rf "$T"' EXIT

cat > "$T/rules.conf" <<'RULES'
index books-*
    $._source.isbn    hash
RULES

for flavor in ${ES_FLAVORS:-es6 es7 es8 opensearch1 opensearch2}; do
    note "flavor $flavor"
    es_start SRC "$flavor"
    es_start DST "$flavor"
    esu seed "$SRC_URL"
    # the target already has a concrete index "logs" and an unrelated one
    es_curl PUT "$DST_URL/logs" '{"settings":{"number_of_shards":1}}' >/dev/null
    es_curl PUT "$DST_URL/unrelated" '{"settings":{"number_of_shards":1}}' >/dev/null
    es_conf "$T/envsync.conf" "rt-$flavor" "$SRC_URL" "$DST_URL" \
        'jobs = 3; batch_size = 97; chunk_size = "32k";' 'batch_size = 50; bulk_concurrency = 3;' \
        "transform = ( { plugin = \"sanitise\"; rules = \"$T/rules.conf\"; policy = \"warn\"; key = \"test-key-0123456789abcdef\"; } );"
    run_envsync -c "$T/envsync.conf" run "rt-$flavor"
    expect_rc 0 "$flavor: first run"
    expect_out "books-v1.*1200 documents, count verified" "$flavor: books-v1 count"
    esu dump "$SRC_URL" books-v1 logs empty > "$T/src.json"
    esu dump "$DST_URL" books-v1 logs empty > "$T/dst.json"
    # isbn was sanitised: equal elsewhere, different there
    python3 - "$T/src.json" "$T/dst.json" <<'PY' || fail "$flavor: restored indices differ from the source"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
changed = 0
for d in b["books-v1"]["docs"].values():
    src = a["books-v1"]["docs"]
for k, d in b["books-v1"]["docs"].items():
    if d["_source"]["isbn"] != a["books-v1"]["docs"][k]["_source"]["isbn"]:
        changed += 1
    d["_source"]["isbn"] = a["books-v1"]["docs"][k]["_source"]["isbn"]
if changed != 1200:
    sys.exit("isbn sanitised in %d of 1200 documents" % changed)
for name in a:
    for part in ("settings", "mappings", "aliases", "docs", "count"):
        if a[name][part] != b[name][part]:
            sys.exit("%s: %s differ:\n%s\n%s" % (name, part, json.dumps(a[name][part])[:800], json.dumps(b[name][part])[:800]))
PY
    # the concrete "logs" became an alias of the new copy; "unrelated" stays
    es_curl GET "$DST_URL/_alias/logs" >/dev/null
    [ "$code" = 200 ] || fail "$flavor: logs is not an alias after the swap"
    es_curl GET "$DST_URL/unrelated" >/dev/null
    [ "$code" = 200 ] || fail "$flavor: an unrelated index was touched"
    # system and hidden indices were not copied
    es_curl GET "$DST_URL/.internal" >/dev/null
    [ "$code" = 404 ] || fail "$flavor: system index .internal was copied"
    es_curl GET "$DST_URL/hidden-one" >/dev/null
    [ "$code" = 404 ] || fail "$flavor: hidden index hidden-one was copied"
    first=$(es_curl GET "$DST_URL/_alias/books" | python3 -c 'import json,sys; print(list(json.load(sys.stdin))[0])')
    # auto_create_index is back to unset
    es_curl GET "$DST_URL/_cluster/settings?flat_settings=true" | grep -q auto_create_index &&
        fail "$flavor: action.auto_create_index not reset"

    # second run: swaps over the first copy and removes it
    sleep 1.1   # the new copy's name carries the second
    run_envsync -c "$T/envsync.conf" run "rt-$flavor"
    expect_rc 0 "$flavor: second run"
    esu dump "$DST_URL" books-v1 logs empty > "$T/dst2.json"
    cmp -s "$T/dst.json" "$T/dst2.json" || fail "$flavor: second run restored something else"
    es_curl GET "$DST_URL/$first" >/dev/null
    [ "$code" = 404 ] || fail "$flavor: previous copy $first not removed by the swap"
    n=$(es_curl GET "$DST_URL/_cat/indices?format=json&h=index" | python3 -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if "-envsync-" in r["index"]]))')
    [ "$n" = 3 ] || fail "$flavor: $n envsync copies in the target, expected 3"
    es_stop_all
    rm -rf "$T/store"
done

# across versions: 6.x typed mappings to 8.x and back, OpenSearch 1 -> 2
for pair in es6:es8 es8:es6 opensearch1:opensearch2; do
    note "from ${pair%%:*} to ${pair##*:}"
    es_start SRC "${pair%%:*}"
    es_start DST "${pair##*:}"
    esu seed "$SRC_URL"
    es_conf "$T/envsync.conf" cross "$SRC_URL" "$DST_URL" '' ''
    run_envsync -c "$T/envsync.conf" run cross
    expect_rc 0 "$pair"
    esu dump "$SRC_URL" books-v1 logs empty > "$T/src.json"
    esu dump "$DST_URL" books-v1 logs empty > "$T/dst.json"
    cmp -s "$T/src.json" "$T/dst.json" || fail "$pair: restored indices differ: $(diff "$T/src.json" "$T/dst.json" | head -20)"
    es_stop_all
    rm -rf "$T/store"
done
pass
