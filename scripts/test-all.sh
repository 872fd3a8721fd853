#!/bin/bash
# scripts/test-all.sh - THE one command that builds envsync and runs every
# test on a Debian 12 machine, as root:
#
#   1. scripts/install-deps.sh (apt-get, only when something is missing)
#   2. autoreconf -fi; configure --enable-debug --enable-werror in
#      build/debug (out of tree); make
#   3. start the real-server rig (tests/rig/start.sh: PostgreSQL 15,
#      MariaDB 10.11, Swift+s3api) in a temp dir, always stopped at exit
#   4. make check with ENVSYNC_REQUIRE_SERVERS=1 (a missing server fails)
#   5. every unit test program (check_PROGRAMS registered in TESTS) under
#      valgrind --leak-check=full
#   6. configure --enable-asan in build/asan; the unit tests under ASan/UBSan
#   7. make distcheck (tarball builds, its unit tests pass; server tests skip)
#
# Then it prints the failures (name + log tail) and, as its last line,
#   N passed, N failed, N skipped
# counted from the automake .trs files plus one result per valgrind run,
# per ASan unit test and for distcheck.  Exit status 0 only if none failed.
#
# Options:
#   --quick     stop after step 4 (no valgrind, ASan, distcheck)
#   --no-deps   skip step 1 (packages already installed, or not root)
# Environment:
#   ENVSYNC_BUILD_ROOT  where build dirs and logs go [SRC/build]
#   JOBS                make -j [2]
#   RIG_*_PORT          rig ports (tests/rig/README.md)
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_ROOT=${ENVSYNC_BUILD_ROOT:-$SRC/build}
JOBS=${JOBS:-2}
QUICK=0
DEPS=1
for a in "$@"; do
    case $a in
        --quick) QUICK=1 ;;
        --no-deps) DEPS=0 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-all: unknown option $a (try --help)" >&2; exit 2 ;;
    esac
done

T0=$(date +%s)
elapsed() {
    local s=$(( $(date +%s) - T0 ))
    printf '%d:%02d' $((s / 60)) $((s % 60))
}
stage() { printf '[test-all %6s] %s\n' "$(elapsed)" "$*"; }

mkdir -p "$BUILD_ROOT" || { echo "test-all: cannot create $BUILD_ROOT" >&2; exit 1; }
BUILD_ROOT=$(cd "$BUILD_ROOT" && pwd)
LOGS=$BUILD_ROOT/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
RESULTS=$LOGS/results.txt
: > "$RESULTS"

# record RESULT NAME LOG: one counted result (PASS FAIL SKIP XFAIL XPASS ERROR)
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$RESULTS"; }

# run DIR LOG TIMEOUT CMD...: run CMD in DIR with all output in LOG,
# killed after TIMEOUT s.  It runs in the background (timeout leads its own
# process group) so that a signal to this script is handled at once: the
# traps below end the command's whole group, then stop the rig.
RUN_PID=
run() {
    local dir=$1 log=$2 tmo=$3 rc
    shift 3
    ( cd "$dir" && exec timeout --kill-after=30 "$tmo" "$@" ) >> "$log" 2>&1 < /dev/null &
    RUN_PID=$!
    wait "$RUN_PID"
    rc=$?
    RUN_PID=
    return $rc
}

# ------------------------------------------------------------ rig lifecycle
RIG_DIR=
RIG_STOPPING=
rig_stop() {
    # A trap may fire while this runs (after stop.sh returns): then it
    # comes here again, finds RIG_STOPPING and finishes the job.
    local dir=${RIG_DIR:-$RIG_STOPPING}
    [ -n "$dir" ] || return 0
    RIG_DIR=
    RIG_STOPPING=$dir
    bash "$SRC/tests/rig/stop.sh" "$dir" >> "$LOGS/rig.log" 2>&1
    rm -rf "$dir"
    RIG_STOPPING=
}
on_signal() {  # exit status
    trap '' INT TERM
    echo "test-all: interrupted: stopping the running step and the rig" >&2
    if [ -n "$RUN_PID" ]; then
        kill -TERM "$RUN_PID" 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    rig_stop
    exit "$1"
}
trap 'rig_stop' EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# collect_trs BUILDDIR PREFIX TESTS...: record the result lines of each
# test's .trs file (a test without one failed to build or to run).
collect_trs() {
    local bdir=$1 prefix=$2 t base trs res n
    shift 2
    for t in "$@"; do
        base=${t%.sh}
        trs=$bdir/$base.trs
        if [ ! -s "$trs" ]; then
            record FAIL "$prefix$t (no result: not built or not run)" "$bdir/$base.log"
            continue
        fi
        n=0
        while read -r _ res; do
            n=$((n + 1))
            if [ "$n" = 1 ]; then record "$res" "$prefix$t" "$bdir/$base.log"
            else record "$res" "$prefix$t #$n" "$bdir/$base.log"; fi
        done < <(grep '^:test-result:' "$trs")
        [ "$n" -gt 0 ] || record ERROR "$prefix$t (empty .trs)" "$bdir/$base.log"
    done
}

# configure_build NAME DIR LOG FLAGS...: configure DIR out of tree and make.
configure_build() {
    local name=$1 dir=$2 log=$3
    shift 3
    mkdir -p "$dir"
    stage "configure ($name): $* in ${dir#"$SRC"/}"
    if ! run "$dir" "$log" 600 "$SRC/configure" "$@"; then
        record FAIL "configure ($name)" "$log"
        return 1
    fi
    stage "make -j$JOBS ($name)"
    if ! run "$dir" "$log" 1800 make -j"$JOBS"; then
        record FAIL "build ($name)" "$log"
        return 1
    fi
}

summary() {
    local pass=0 failn=0 skip=0 res name log
    while IFS=$'\t' read -r res name log; do
        case $res in
            PASS|XFAIL) pass=$((pass + 1)) ;;
            SKIP) skip=$((skip + 1)) ;;
            *) failn=$((failn + 1)) ;;
        esac
    done < "$RESULTS"
    if [ "$skip" -gt 0 ]; then
        echo
        echo "Skipped:"
        awk -F'\t' '$1 == "SKIP" { print "  " $2 }' "$RESULTS"
    fi
    if [ "$failn" -gt 0 ]; then
        echo
        echo "Failures:"
        while IFS=$'\t' read -r res name log; do
            case $res in PASS|XFAIL|SKIP) continue ;; esac
            echo "======== $res: $name"
            echo "         log: $log"
            if [ -s "$log" ]; then
                tail -n 40 "$log" | sed 's/^/  | /'
            fi
        done < "$RESULTS"
    fi
    echo
    stage "done; logs in ${LOGS}"
    echo "$pass passed, $failn failed, $skip skipped"
    [ "$failn" = 0 ]
}

# over_budget STAGE: true (and a failure recorded) once the run has used
# its time budget, so that a hang cannot eat CI's whole allowance.
BUDGET=${TEST_ALL_BUDGET:-4500}
over_budget() {
    if [ $(( $(date +%s) - T0 )) -ge "$BUDGET" ]; then
        stage "time budget of ${BUDGET}s used up: skipping $1"
        record FAIL "$1 (not run: time budget TEST_ALL_BUDGET=${BUDGET}s used up)" "$LOGS/results.txt"
        return 0
    fi
    return 1
}

finish() {
    rig_stop
    summary
    exit $?
}

# ------------------------------------------------------------ 1. packages
stage "start: $SRC ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
if [ "$DEPS" = 1 ]; then
    stage "install-deps"
    if ! run "$SRC" "$LOGS/deps.log" 1800 bash "$SRC/scripts/install-deps.sh"; then
        record FAIL "install-deps" "$LOGS/deps.log"
    fi
fi

# ------------------------------------------------------------ 2. build
if [ -f "$SRC/config.status" ]; then
    stage "the source tree is configured in place; out-of-tree builds need 'make distclean' in $SRC first"
    record FAIL "configure (source tree already configured)" "$SRC/config.log"
    finish
fi
stage "autoreconf -fi"
if ! run "$SRC" "$LOGS/autoreconf.log" 600 autoreconf -fi; then
    record FAIL "autoreconf" "$LOGS/autoreconf.log"
    finish
fi
DEBUG=$BUILD_ROOT/debug
if ! configure_build debug "$DEBUG" "$LOGS/build-debug.log" --enable-debug --enable-werror; then
    finish
fi
# mkvar DIR VAR: the value of a make variable of the Makefile in DIR.
mkvar() {
    make -s --no-print-directory -C "$1" -f Makefile \
        -f <(printf 'test-all-print-var:\n\t@echo $(%s)\n' "$2") test-all-print-var 2>/dev/null
}
read -r -a ALL_TESTS <<< "$(mkvar "$DEBUG" TESTS)"
# Unit programs: every check program that is itself a registered test (the
# core's and the plugins' unit tests and fuzz regression drivers; helper
# programs that shell tests drive, like s3drive, are not tests themselves).
UNIT_PROGS=()
for p in $(mkvar "$DEBUG" check_PROGRAMS); do
    for t in "${ALL_TESTS[@]}"; do
        if [ "$t" = "$p" ]; then UNIT_PROGS+=("$p"); break; fi
    done
done
stage "${#ALL_TESTS[@]} tests registered, ${#UNIT_PROGS[@]} unit test programs"
[ ${#ALL_TESTS[@]} -gt 0 ] || record FAIL "no tests registered in TESTS" "$LOGS/build-debug.log"

# ------------------------------------------------------------ 3. rig
RIG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/envsync-rig.XXXXXX")
stage "start test rig in $RIG_DIR"
if ! run "$SRC" "$LOGS/rig.log" 300 bash "$SRC/tests/rig/start.sh" "$RIG_DIR"; then
    record FAIL "test rig start (tests/rig/start.sh)" "$LOGS/rig.log"
fi

# ------------------------------------------------------------ 4. make check
stage "make -j$JOBS check (servers required)"
# remove results of an earlier run so only this run's .trs are counted
find "$DEBUG" -name '*.trs' -delete 2>/dev/null
run "$DEBUG" "$LOGS/check.log" 2400 \
    env ENVSYNC_RIG_ENV="$RIG_DIR/env.sh" ENVSYNC_REQUIRE_SERVERS=1 \
    make -k -j"$JOBS" check
collect_trs "$DEBUG" "" "${ALL_TESTS[@]}"
rig_stop
stage "make check: $(grep -c . "$RESULTS") results, $(grep -vc -e '^PASS' -e '^SKIP' -e '^XFAIL' "$RESULTS") not passed"

if [ "$QUICK" = 1 ]; then
    stage "--quick: skipping valgrind, ASan and distcheck"
    finish
fi

# ------------------------------------------------------------ 5. valgrind
if over_budget valgrind; then
    :
elif [ ${#UNIT_PROGS[@]} -gt 0 ]; then
    stage "valgrind: ${#UNIT_PROGS[@]} unit test programs, $JOBS at a time"
    VG=$LOGS/valgrind
    mkdir -p "$VG"
    # A makefile read after the build's own, so each program runs under
    # exactly the environment `make check` gives it (AM_TESTS_ENVIRONMENT)
    # and make -j runs them in parallel.  Each rule writes NAME.rc.
    {
        echo "VALGRIND_CMD = valgrind -q --leak-check=full --show-leak-kinds=definite,possible \\"
        echo "  --errors-for-leak-kinds=definite,possible --error-exitcode=1 --num-callers=30 \\"
        echo "  --suppressions=$SRC/tests/rig/valgrind.supp"
        targets=()
        for p in "${UNIT_PROGS[@]}"; do
            n=$(basename "$p")
            targets+=("test-all-vg-$n")
            printf 'test-all-vg-%s:\n' "$n"
            printf '\t@%s\n\t%s\n' \
                "\$(AM_TESTS_ENVIRONMENT) unset ENVSYNC_RIG_ENV; CK_FORK=no; CK_DEFAULT_TIMEOUT=600; ENVSYNC_REQUIRE_SERVERS=0; ENVSYNC_TEST_VALGRIND=1; export CK_FORK CK_DEFAULT_TIMEOUT ENVSYNC_REQUIRE_SERVERS ENVSYNC_TEST_VALGRIND; \\" \
                "timeout --kill-after=30 900 \$(LIBTOOL) --mode=execute \$(VALGRIND_CMD) ./$p > $VG/$n.log 2>&1; echo \$\$? > $VG/$n.rc"
        done
        echo "test-all-vg: ${targets[*]}"
        echo ".PHONY: test-all-vg ${targets[*]}"
    } > "$VG/valgrind.mk"
    run "$DEBUG" "$LOGS/valgrind.log" 2400 \
        make -k -j"$JOBS" --no-print-directory -f Makefile -f "$VG/valgrind.mk" test-all-vg
    for p in "${UNIT_PROGS[@]}"; do
        n=$(basename "$p")
        log=$VG/$n.log
        if [ ! -x "$DEBUG/$p" ]; then
            record FAIL "valgrind:$p (not built)" "$LOGS/check.log"
            continue
        fi
        case $(cat "$VG/$n.rc" 2>/dev/null) in
            0) record PASS "valgrind:$p" "$log" ;;
            77) record SKIP "valgrind:$p" "$log" ;;
            124|137) record FAIL "valgrind:$p (timed out after 900 s)" "$log" ;;
            '') record FAIL "valgrind:$p (did not run)" "$LOGS/valgrind.log" ;;
            *) record FAIL "valgrind:$p" "$log" ;;
        esac
    done
else
    stage "valgrind: no unit test programs registered"
fi

# ------------------------------------------------------------ 6. ASan
if [ ${#UNIT_PROGS[@]} -gt 0 ] && ! over_budget asan; then
    ASAN=$BUILD_ROOT/asan
    if configure_build asan "$ASAN" "$LOGS/build-asan.log" \
            --enable-debug --enable-werror --enable-asan; then
        stage "make check of the unit tests under ASan/UBSan"
        find "$ASAN" -name '*.trs' -delete 2>/dev/null
        run "$ASAN" "$LOGS/check-asan.log" 1800 env -u ENVSYNC_RIG_ENV \
            ENVSYNC_REQUIRE_SERVERS=0 \
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            make -k -j"$JOBS" check TESTS="${UNIT_PROGS[*]}"
        collect_trs "$ASAN" "asan:" "${UNIT_PROGS[@]}"
    fi
fi

# ------------------------------------------------------------ 7. distcheck
over_budget distcheck && finish
stage "make distcheck (servers not used: their tests skip)"
if run "$DEBUG" "$LOGS/distcheck.log" 2400 env -u ENVSYNC_RIG_ENV -u ENVSYNC_RIG_DIR \
        -u PGHOST -u PGPORT -u PGUSER -u MYSQL_HOST -u MYSQL_PORT -u MYSQL_USER \
        -u S3_ENDPOINT -u S3_REGION -u S3_ACCESS_KEY -u S3_SECRET_KEY \
        ENVSYNC_REQUIRE_SERVERS=0 \
        make -j"$JOBS" distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-debug --enable-werror"; then
    record PASS "distcheck" "$LOGS/distcheck.log"
else
    record FAIL "distcheck" "$LOGS/distcheck.log"
fi

finish
