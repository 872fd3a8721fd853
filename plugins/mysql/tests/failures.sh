#!/bin/bash
# Bad input and failures: unreachable server, wrong password (never
# printed), missing privileges, missing database, production guard.  Each
# gives a clear message naming the job and plugin, the right exit code,
# and commits nothing (no artifact, target untouched).
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_fail_src_$$
DST=esmy_fail_dst_$$
U=esmy_u_$$
PW="S3cret-$$-pw"
BADPW="wrong-secret-$$-xyz"
# the user exists for '%' and 'localhost' (an anonymous ''@localhost would
# otherwise shadow it for connections from 127.0.0.1)
trap 'my_drop "$SRC" "$DST"; my_sql -e "DROP USER IF EXISTS $U@'"'"'%'"'"', $U@localhost"; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_sql -e "CREATE DATABASE \`$SRC\`; CREATE TABLE \`$SRC\`.t (id INT PRIMARY KEY, v TEXT);
           INSERT INTO \`$SRC\`.t VALUES (1, 'one'), (2, 'two');
           CREATE DATABASE \`$DST\`; CREATE TABLE \`$DST\`.keep (a INT); INSERT INTO \`$DST\`.keep VALUES (7);
           CREATE USER $U@'%' IDENTIFIED BY '$PW'; CREATE USER $U@localhost IDENTIFIED BY '$PW';"

no_artifact() {  # what
    if ls "$T/store/$1"/*.envsync >/dev/null 2>&1 || [ -e "$T/store/$1/latest" ]; then
        fail "$1: an artifact was committed: $(ls "$T/store/$1")"
    fi
}
target_untouched() {  # what
    [ "$(my_sql -N -B -e "SELECT GROUP_CONCAT(a) FROM \`$DST\`.keep")" = 7 ] ||
        fail "$1: target database changed"
    n=$(my_sql -N -B -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${DST}_envsync%'")
    [ "$n" = 0 ] || fail "$1: temporary schema left behind"
}

# 1. unreachable server: nothing listens on port 1
my_conf "$T/c1.conf" unreach "$SRC" "$DST"
sed -i "0,/port = $MYSQL_PORT;/s//port = 1;/" "$T/c1.conf"
run_envsync -c "$T/c1.conf" run unreach
expect_rc 5 "unreachable server"
expect_out 'mysql' "unreachable server message names the plugin"
expect_out 'unreach' "unreachable server message names the job"
expect_out "127.0.0.1:1|:1\\)" "unreachable server message names the address"
no_artifact unreach

# 2. wrong password: exit 6, the password never printed
MYSQL_USER=$U MYSQL_PASSWORD=$BADPW my_conf "$T/c2.conf" badpw "$SRC" "$DST"
run_envsync -c "$T/c2.conf" run badpw
expect_rc 6 "wrong password"
printf '%s' "$out" | grep -q -- "$BADPW" && fail "the wrong password was printed: $out"
expect_out "$U" "wrong password message names the user"
no_artifact badpw

# 3a. missing privileges on the source database
MYSQL_USER=$U MYSQL_PASSWORD=$PW my_conf "$T/c3.conf" nopriv "$SRC" "$DST"
run_envsync -c "$T/c3.conf" run nopriv
expect_rc 6 "backup without privileges"
expect_out "1044|denied for user '$U'@'[^']*' to database" "backup privilege message"
printf '%s' "$out" | grep -q -- "$PW" && fail "the password was printed: $out"
no_artifact nopriv

# 3b. may read the source but not create databases: the restore fails,
#     the target stays as it was
my_sql -e "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON \`$SRC\`.* TO $U@'%';
           GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON \`$SRC\`.* TO $U@localhost"
run_envsync -c "$T/c3.conf" run nopriv
expect_rc 6 "restore without privileges"
expect_out "${DST}_envsync_new" "restore privilege message names the database"
target_untouched "restore without privileges"

# 4. missing database
my_conf "$T/c4.conf" nodb "esmy_missing_$$" "$DST"
run_envsync -c "$T/c4.conf" run nodb
expect_rc 3 "missing database"
expect_out "esmy_missing_$$" "missing database message names it"
expect_out "does not exist" "missing database message says so"
no_artifact nodb

# 5. production guard: a restore into an environment named production
my_conf "$T/c5.conf" prod "$SRC" "$DST"
sed -i 's/environment = "test"/environment = "production"/' "$T/c5.conf"
run_envsync -c "$T/c5.conf" run prod
expect_rc 11 "restore into production"
target_untouched "restore into production"
# 7. TLS required against a server without TLS: a connection error
if [ "$(my_sql -N -B -e "SELECT @@have_ssl")" != YES ]; then
    my_conf "$T/c7.conf" tls "$SRC" "$DST" 'ssl_mode = "required";'
    run_envsync -c "$T/c7.conf" run tls
    expect_rc 5 "ssl_mode = required without TLS on the server"
    expect_out "SSL|TLS" "the TLS failure is named"
    no_artifact tls
else
    note "the server has TLS: ssl_mode failure case not run"
fi

# 6. an artifact written by another engine (the core's test engine) is
#    refused by the restore, the target untouched
mkdir -p "$T/tdb"
cat > "$T/c6.conf" <<CONF
envsync: { environment = "test"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "engine";
    backup  = { plugin = "testdb"; dir = "$T/tdb"; database = "x"; generate = 5; };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                database = "$DST"; };
} );
CONF
run_envsync -c "$T/c6.conf" run engine
if [ "$rc" = 4 ] && printf '%s' "$out" | grep -q testdb; then
    note "test engine plugin not built: engine check not run"
else
    expect_rc 11 "artifact of another engine"
    expect_out 'testdb' "the engine mismatch message names the engine"
    target_untouched "artifact of another engine"
fi
pass
