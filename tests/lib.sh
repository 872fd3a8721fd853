# tests/lib.sh - sourced by integration test scripts.
#
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, other fail.
# Server coordinates come from the rig's env file ($ENVSYNC_RIG_ENV).
# Under ENVSYNC_REQUIRE_SERVERS=1 (CI) a missing server fails the test
# instead of skipping it, so a broken rig cannot hide behind skips.

set -u
: "${top_srcdir:?top_srcdir not set (run through make check)}"
: "${top_builddir:?top_builddir not set (run through make check)}"
# ENVSYNC_TEST_BINARY: run the tests through a wrapper (e.g. valgrind)
ENVSYNC="${ENVSYNC_TEST_BINARY:-$top_builddir/envsync}"
if [ -z "${ENVSYNC_PLUGIN_PATH:-}" ]; then
    ENVSYNC_PLUGIN_PATH="$top_builddir/tests/plugins/.libs"
    for _p in file postgres mysql s3 sanitise elasticsearch; do
        ENVSYNC_PLUGIN_PATH="$ENVSYNC_PLUGIN_PATH:$top_builddir/plugins/$_p/.libs"
    done
fi
export ENVSYNC_PLUGIN_PATH

if [ -n "${ENVSYNC_RIG_ENV:-}" ] && [ -r "$ENVSYNC_RIG_ENV" ]; then
    # shellcheck disable=SC1090
    . "$ENVSYNC_RIG_ENV"
fi

TEST_NAME=$(basename "$0" .sh)

fail() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
pass() { echo "PASS: $TEST_NAME"; exit 0; }
skip() { echo "SKIP: $TEST_NAME: $*" >&2; exit 77; }
note() { echo "# $*"; }

_need() {  # what varnames...
    local what=$1 v; shift
    for v in "$@"; do
        if [ -z "${!v:-}" ]; then
            if [ "${ENVSYNC_REQUIRE_SERVERS:-0}" = 1 ]; then
                fail "$what required but $v is not set (test rig not started?)"
            fi
            skip "$what not available ($v unset; start tests/rig/start.sh)"
        fi
    done
}
need_pg()    { _need PostgreSQL PGHOST PGPORT PGUSER; export PGHOST PGPORT PGUSER; }
need_mysql() { _need MariaDB MYSQL_HOST MYSQL_PORT MYSQL_USER; }
need_s3()    { _need S3 S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY; }

# es_tmpdir: make $T, a scratch directory removed when the test exits.
es_tmpdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/envsync-test.XXXXXX")
    trap 'rm -rf "$T"' EXIT
}

# run_envsync ARGS...: runs the binary; $rc = exit code, $out = stdout+stderr.
run_envsync() {
    set +e
    out=$("$ENVSYNC" "$@" 2>&1)
    rc=$?
    set -e
    return 0
}

# expect_rc N MSG: fail unless the last run_envsync exited with N.
expect_rc() {
    [ "$rc" = "$1" ] || fail "$2: expected exit $1, got $rc; output:
$out"
}

# expect_out REGEX MSG: fail unless the last output matches (grep -E).
expect_out() {
    printf '%s\n' "$out" | grep -Eq -- "$1" || fail "$2: output does not match /$1/:
$out"
}
