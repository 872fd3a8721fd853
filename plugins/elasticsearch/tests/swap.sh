#!/bin/bash
# The alias swap is atomic from a reader's point of view: while a restore
# replaces the copy behind "books" (an alias) and "logs" (a concrete index
# the first time, an alias afterwards), a reader counting through those
# names never gets an error: it sees the old count, then the new one.
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
. "$top_srcdir/plugins/elasticsearch/tests/es-lib.sh"
trap 'es_stop_all; rm -rf "$T"' EXIT

es_start SRC es8
es_start DST es8
esu seed "$SRC_URL"
# the target starts with a concrete index "logs" of 7 documents
es_curl PUT "$DST_URL/logs" '{"settings":{"number_of_shards":1}}' >/dev/null
for i in 1 2 3 4 5 6 7; do
    es_curl PUT "$DST_URL/_bulk" "{\"index\":{\"_index\":\"logs\",\"_id\":\"$i\"}}
{\"old\":true}
" >/dev/null
done
es_curl POST "$DST_URL/logs/_refresh" >/dev/null
es_conf "$T/envsync.conf" swap "$SRC_URL" "$DST_URL" 'include = ( "books-*", "logs" );' 'batch_size = 100;'

watch_run() {  # NAME: run the job while two readers poll
    local i
    rm -f "$T/stop" "$T/ready1" "$T/ready2"
    esu watch "$DST_URL" books "$T/stop" "$T/ready1" > "$T/books.$1" &
    w1=$!
    esu watch "$DST_URL" logs "$T/stop" "$T/ready2" > "$T/logs.$1" &
    w2=$!
    # both readers have seen the state before the run (a loaded machine
    # can take longer than any fixed pause to start them)
    for i in $(seq 600); do
        [ -e "$T/ready1" ] && [ -e "$T/ready2" ] && break
        sleep 0.05
    done
    [ -e "$T/ready1" ] && [ -e "$T/ready2" ] || fail "the readers did not start in 30 s"
    run_envsync -c "$T/envsync.conf" run swap
    sleep 0.5
    touch "$T/stop"
    wait $w1 $w2
}

watch_run 1
expect_rc 0 "first run"
note "books reader saw: $(tr '\n' ' ' < "$T/books.1")"
note "logs reader saw: $(tr '\n' ' ' < "$T/logs.1")"
# books did not exist before: 404 until the swap, then 1200, nothing else
[ "$(cat "$T/books.1")" = "404 index_not_found_exception
200 1200" ] || fail "books reader saw: $(cat "$T/books.1")"
grep -q '^200 1200$' "$T/books.1" || fail "books reader never saw the new copy"
[ "$(cat "$T/logs.1")" = "200 7
200 300" ] || fail "logs reader saw: $(cat "$T/logs.1")"

# second run: 5 more documents in the source; both names are aliases now
es_curl PUT "$SRC_URL/_bulk" '{"index":{"_index":"books-v1","_id":"n1"}}
{"title":"new 1"}
{"index":{"_index":"books-v1","_id":"n2"}}
{"title":"new 2"}
{"index":{"_index":"books-v1","_id":"n3"}}
{"title":"new 3"}
{"index":{"_index":"books-v1","_id":"n4"}}
{"title":"new 4"}
{"index":{"_index":"books-v1","_id":"n5"}}
{"title":"new 5"}
' >/dev/null
es_curl POST "$SRC_URL/books-v1/_refresh" >/dev/null
sleep 1.1
watch_run 2
expect_rc 0 "second run"
note "books reader saw: $(tr '\n' ' ' < "$T/books.2")"
[ "$(cat "$T/books.2")" = "200 1200
200 1205" ] || fail "books reader saw: $(cat "$T/books.2")"
[ "$(cat "$T/logs.2")" = "200 300" ] || fail "logs reader saw: $(cat "$T/logs.2")"
pass
