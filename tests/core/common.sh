# tests/core/common.sh - shared setup for the core's lifecycle tests.
# Sources tests/lib.sh, makes $T, and writes $T/envsync.conf via conf().
. "$top_srcdir/tests/lib.sh"
es_tmpdir
DB="$T/db"
STORE="$T/store"
mkdir -p "$DB"

# conf JOBS_TEXT [ENVSYNC_GROUP_EXTRA]: a config with the local storage.
conf() {
    cat > "$T/envsync.conf" <<EOC
envsync: { environment = "test"; progress_interval = "1h"; ${2:-} };
storage: { local: { plugin = "file"; path = "$STORE"; fsync = false; }; };
jobs = ( $1 );
EOC
}

# Job snippets.
PROD_JOB='{ name = "prod"; backup = { plugin = "testdb"; dir = "'"$DB"'"; database = "src"; generate = 2000; tables = 3; chunk_size = "16k"; }; store = { storage = "local"; }; }'
stage_job() {  # stage_job [restore extra] [transform]
    echo '{ name = "stage"; fetch = { storage = "local"; job = "prod"; }; '"${2:-}"' restore = { plugin = "testdb"; dir = "'"$DB"'"; database = "dst"; '"${1:-}"' }; }'
}

# A checksum of a testdb database directory (table files in name order).
db_sum() {
    [ -d "$DB/$1" ] || { echo absent; return; }
    (cd "$DB/$1" && for f in $(ls); do echo "$f"; cat "$f"; done) | sha256sum | cut -c1-64
}

# The job's stored objects, for "nothing visible" checks.
stored() { (cd "$STORE" 2>/dev/null && find . -type f | sort) || true; }
