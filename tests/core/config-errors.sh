#!/bin/bash
# Malformed configs: each is a config error (exit 3) naming file:line.
. "$top_srcdir/tests/core/common.sh"
C="$T/envsync.conf"

check_bad() {  # name expected-regex
    run_envsync -c "$C" check --offline
    expect_rc 3 "$1"
    expect_out "$2" "$1"
}

printf 'envsync: { environment = "test"; };\nstorage: {\n  local: { plugin = "file"; path = ; };\n};\n' > "$C"
check_bad "syntax error" "envsync.conf:3: syntax error"

conf "$PROD_JOB"
sed -i 's/fsync = false;/fsync = false; colour = "blue";/' "$C"
check_bad "unknown plugin key" "envsync.conf:2: storage local: unknown key 'colour' for plugin 'file' \(it accepts: path, fsync, create\)"

conf "$PROD_JOB"
sed -i 's/fsync = false;/fsync = "no";/' "$C"
check_bad "wrong type" "envsync.conf:2: storage local: 'fsync' must be true or false"

conf "$PROD_JOB"
sed -i 's/generate = 2000;/generate = "lots";/' "$C"
check_bad "wrong type in a job" "envsync.conf:3: job prod: backup: 'generate' must be an integer, not a string"

conf "$PROD_JOB"
sed -i 's/database = "src";//' "$C"
check_bad "missing required key" "envsync.conf:3: job prod: backup: plugin 'testdb' requires 'database'"

conf "$PROD_JOB"
sed -i 's|path = "[^"]*";|path = "${ENVSYNC_TEST_UNSET_VAR}";|' "$C"
check_bad "undefined env var" "envsync.conf:2: environment variable ENVSYNC_TEST_UNSET_VAR is not set"

conf "$PROD_JOB"
sed -i 's/storage = "local"; }; }/storage = "nowhere"; }; }/' "$C"
check_bad "undefined storage" "envsync.conf:3: job prod: store: storage 'nowhere' is not defined"

conf "$PROD_JOB"
sed -i 's/^jobs = (/bogus = 1;\njobs = (/' "$C"
check_bad "unknown top-level key" "envsync.conf:3: top level: unknown key 'bogus'"

conf "$PROD_JOB"
sed -i 's/name = "prod";/name = "prod"; timeout = "soon";/' "$C"
check_bad "bad duration" "envsync.conf:3: job prod: 'timeout' = \"soon\" is not a valid duration"

conf '{ name = "nosink"; backup = { plugin = "testdb"; dir = "/x"; database = "y"; }; }'
check_bad "job without destination" "job nosink has no destination"

conf "$PROD_JOB, $PROD_JOB"
check_bad "duplicate job" "job 'prod' is defined twice"

# @include works and errors inside included files name that file
conf "$PROD_JOB"
printf 'storage: { local: { plugin = "file"; path = "%s"; }; };\n' "$STORE" > "$T/storage.conf"
printf '@include "storage.conf"\njobs = ( %s );\n' "$PROD_JOB" > "$C"
run_envsync -c "$C" check --offline
expect_rc 0 "@include"
printf 'storage: { local: { plugin = "file"; pth = "/x"; }; };\n' > "$T/storage.conf"
check_bad "error inside an included file" "storage.conf:1: storage local: unknown key 'pth'"

# secrets: inline via ${VAR} and via *_file; never printed
conf "$PROD_JOB"
sed -i 's/generate = 2000;/generate = 10; password = "${ENVSYNC_TEST_PW}"; log_secret = true;/' "$C"
ENVSYNC_TEST_PW='s3cr3t-Passw0rd' run_envsync -c "$C" run prod
expect_rc 0 "run with a secret from the environment"
printf '%s' "$out" | grep -q 's3cr3t-Passw0rd' && fail "secret from env leaked into the output: $out"
expect_out 'connecting with password \*\*\*' "secret redacted"
printf 'file-Secret-42\n' > "$T/pw"
conf "$PROD_JOB"
sed -i "s|generate = 2000;|generate = 10; password_file = \"$T/pw\"; log_secret = true;|" "$C"
run_envsync -c "$C" run prod
expect_rc 0 "run with a secret file"
printf '%s' "$out" | grep -q 'file-Secret-42' && fail "secret from file leaked: $out"
sed -i "s|password_file = \"$T/pw\";|password_file = \"$T/missing\";|" "$C"
check_bad "unreadable secret file" "cannot read password_file '$T/missing'"

# missing config file
run_envsync -c "$T/nope.conf" check
expect_rc 3 "missing config file"
expect_out "nope.conf" "missing config names the file"

# usage errors
run_envsync frobnicate
expect_rc 2 "unknown command"
run_envsync -c "$C" run
expect_rc 2 "run without job"
conf "$PROD_JOB"
run_envsync -c "$C" run nosuchjob
expect_rc 3 "unknown job"
pass
