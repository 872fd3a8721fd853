#!/bin/bash
# Faults injected by the test double: 429 storms (whole requests and bulk
# items), 503 and dropped connections are retried and the copy is still
# exact; a scroll page lost after the server advanced, an expired scroll, a
# failed bulk item, bad credentials and a stalled server fail clearly with
# the right exit code, and the old copy keeps serving.
. "$top_srcdir/tests/lib.sh"
set -e
es_tmpdir
. "$top_srcdir/plugins/elasticsearch/tests/es-lib.sh"
trap 'es_stop_all; rm -rf "$T"' EXIT

stat() {  # URL KEY
    curl -s "$1/_test/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
same() {  # MSG
    esu dump "$SRC_URL" books-v1 logs > "$T/src.json"
    esu dump "$DST_URL" books-v1 logs > "$T/dst.json"
    cmp -s "$T/src.json" "$T/dst.json" || fail "$1: restored data differ from the source"
}

# ---- 1. retried faults, PIT reader (es7)
es_start SRC es7
es_start DST es7
esu seed "$SRC_URL"
es_conf "$T/envsync.conf" f1 "$SRC_URL" "$DST_URL" \
    'jobs = 2; batch_size = 100; retries = 8;' 'batch_size = 100; bulk_concurrency = 2; retries = 8;'
es_faults "$SRC_URL" '{"rules":[
  {"match":"^GET /$","action":"503","count":2},
  {"match":"POST /_search$","action":"429","count":3},
  {"match":"POST /_search$","action":"drop","count":2,"after":4},
  {"match":"POST /_search$","action":"drop_after","count":2,"after":6},
  {"match":"_pit","action":"502","count":1}]}'
es_faults "$DST_URL" '{"rules":[
  {"match":"POST /_bulk","action":"429","count":3},
  {"match":"POST /_bulk","action":"item_429","count":150},
  {"match":"POST /_bulk","action":"504","count":1,"after":3},
  {"match":"POST /_bulk","action":"drop","count":1,"after":5}]}'
run_envsync -c "$T/envsync.conf" run f1
expect_rc 0 "retried faults (PIT)"
[ "$(stat "$SRC_URL" faults_fired)" = 10 ] || fail "source faults not all fired: $(stat "$SRC_URL" pending_faults)"
[ "$(stat "$DST_URL" faults_fired)" = 155 ] || fail "target faults not all fired: $(stat "$DST_URL" pending_faults)"
[ "$(stat "$SRC_URL" open_pits)" = 0 ] || fail "point in time left open"
same "retried faults (PIT)"

# ---- 2. failed bulk item: the run fails, names the document, old copy serves
old=$(es_curl GET "$DST_URL/_alias/books" | python3 -c 'import json,sys; print(list(json.load(sys.stdin))[0])')
before=$(es_curl GET "$DST_URL/_cat/indices?format=json&h=index")
es_faults "$DST_URL" '{"rules":[{"match":"POST /_bulk","action":"item_error","doc_id":"b00042",
  "error_type":"mapper_parsing_exception",
  "reason":"failed to parse field [pages] of type [integer] in document with id '"'"'b00042'"'"'"}]}'
sleep 1.1
run_envsync -c "$T/envsync.conf" run f1
expect_rc 7 "failed bulk item"
expect_out "_id=b00042 rejected: HTTP 400 mapper_parsing_exception" "failed item named"
expect_out "index books-v1" "failed item's index named"
cur=$(es_curl GET "$DST_URL/_alias/books" | python3 -c 'import json,sys; print(list(json.load(sys.stdin))[0])')
[ "$cur" = "$old" ] || fail "alias books moved to $cur after a failed restore"
[ "$(es_curl GET "$DST_URL/books/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" = 1200 ] ||
    fail "old copy not serving 1200 documents"
after=$(es_curl GET "$DST_URL/_cat/indices?format=json&h=index")
[ "$after" = "$before" ] || fail "new indices not removed after the failure: $after"
es_curl GET "$DST_URL/_cluster/settings?flat_settings=true" | grep -q auto_create_index &&
    fail "action.auto_create_index not reset after the failure"

# ---- 3. bad credentials: exit 6 (auth), secret not printed
es_start AUTH es8 --basic elastic:s3cret
es_conf "$T/auth.conf" f3 "$AUTH_URL" "$DST_URL" 'username = "elastic"; password = "wrong-pw";' ''
run_envsync -c "$T/auth.conf" run f3
expect_rc 6 "bad password"
expect_out "security_exception" "auth failure reason"
printf '%s' "$out" | grep -q "wrong-pw" && fail "password printed"
es_conf "$T/auth.conf" f3 "$AUTH_URL" "$DST_URL" 'username = "elastic"; password = "s3cret";' 'include = ( "nothing-*" );'
run_envsync -c "$T/auth.conf" run f3
expect_rc 0 "good password"

# ---- 4. scroll readers (opensearch1): dropped connection retried; a page
# lost after the server advanced the scroll, and an expired scroll, fail
es_stop_all
es_start SRC opensearch1
es_start DST opensearch1
esu seed "$SRC_URL"
es_conf "$T/envsync.conf" f4 "$SRC_URL" "$DST_URL" 'jobs = 2; batch_size = 100;' ''
es_faults "$SRC_URL" '{"rules":[{"match":"POST /_search/scroll","action":"drop","count":2,"after":3}]}'
run_envsync -c "$T/envsync.conf" run f4
expect_rc 0 "dropped connection mid-scroll"
same "dropped connection mid-scroll"
[ "$(stat "$SRC_URL" open_scrolls)" = 0 ] || fail "scroll contexts left open"

es_faults "$SRC_URL" '{"rules":[{"match":"POST /_search/scroll","action":"drop_after","count":1,"after":2}]}'
run_envsync -c "$T/envsync.conf" run f4
expect_rc 7 "scroll page lost"
expect_out "read [0-9]+ documents but the search announced [0-9]+" "lost page detected"

es_faults "$SRC_URL" '{"rules":[{"match":"POST /_search/scroll","action":"expire","count":1,"after":2}]}'
run_envsync -c "$T/envsync.conf" run f4
expect_rc 1 "scroll expired"
expect_out "search_context_missing_exception" "expiry reported"
same "old copy after failed backups"

# ---- 5. stalled server: per-request timeout, exit 8
es_faults "$SRC_URL" '{"rules":[{"match":"^GET /$","action":"stall","seconds":4,"count":2}]}'
es_conf "$T/envsync.conf" f5 "$SRC_URL" "$DST_URL" 'request_timeout = "1s"; retries = 1;' ''
run_envsync -c "$T/envsync.conf" run f5
expect_rc 8 "stalled server"
expect_out "timed out after 2 attempt" "timeout reported"
pass
