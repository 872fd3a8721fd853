#!/bin/bash
# Backup option snapshot_lock: the global lock under which the worker
# connections start their snapshots.
#   a. ftwrl, jobs = 2: the log names FLUSH TABLES WITH READ LOCK, the full
#      cycle (backup -> file store -> fetch -> restore) is exact, and while
#      a writer commits rows to two tables in one transaction without pause
#      the dump is never a mix (both tables hold the same keys);
#   b. auto as a user without RELOAD (the minimal grants of the README),
#      jobs = 2: a warning, one connection, the cycle is exact;
#   c. backup_stage and ftwrl as that user: exit 6, the message names the
#      database and the refused statement, nothing stored or restored;
#   d. none, jobs = 2 (as root): one connection, an info line, exact;
#   e. snapshot_lock = "sometimes": config error with file:line, exit 3,
#      from run and from check --offline.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_lock_src_$$
DST=esmy_lock_dst_$$
SRCW=esmy_lock_w_$$
DSTW=esmy_lock_wd_$$
DSTX=esmy_lock_x_$$
U=esmy_lu_$$
PW="pw-$$-lock"
writer=
# stop_writer: end the writer's connection (its CALL runs on in the server
# when only the client is killed)
stop_writer() {
    local id
    [ -n "$writer" ] || return 0
    id=$(my_sql -N -B -e "SELECT MAX(id) FROM \`$SRCW\`.wconn" 2>/dev/null) || id=
    [ -n "$id" ] && [ "$id" != NULL ] && { my_sql -e "KILL $id" 2>/dev/null || true; }
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    writer=
    return 0
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    set +e
    stop_writer
    my_drop "$SRC" "$DST" "$SRCW" "$DSTW" "$DSTX"
    my_sql -e "DROP USER IF EXISTS $U@'%', $U@localhost"
    rm -rf "$T"
}
trap cleanup EXIT
q() { my_sql -N -B -e "$1"; }

# lock_conf FILE JOB SRC DST USER PASSWORD BACKUP_EXTRA: full cycle, the
# backup as USER, the restore as the rig's admin user
lock_conf() {
    local pw=""
    [ -n "$MYSQL_PASSWORD" ] && pw="password = \"$MYSQL_PASSWORD\";"
    mkdir -p "$T/store"
    cat > "$1" <<CONF
envsync: { environment = "test"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "$2";
    backup  = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT;
                user = "$5"; password = "$6"; database = "$3"; $7 };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT;
                user = "$MYSQL_USER"; $pw database = "$4"; };
} );
CONF
}
committed() {  # job: an artifact or the latest pointer exists
    ls "$T/store/$1"/*.envsync >/dev/null 2>&1 || [ -e "$T/store/$1/latest" ]
}

my_drop "$SRC" "$DST" "$SRCW" "$DSTW" "$DSTX"
my_sql -e "CREATE DATABASE \`$SRC\`"
my_sql "$SRC" -e "
    CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20), KEY kv (v));
    CREATE TABLE b (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, a_id INT,
                    FOREIGN KEY (a_id) REFERENCES a (id));
    INSERT INTO a SELECT seq, CONCAT('v', seq) FROM seq_1_to_2000;
    INSERT INTO b (a_id) SELECT seq FROM seq_1_to_2000 WHERE seq % 3 = 0;
    CREATE VIEW av AS SELECT id, v FROM a WHERE id < 10;
    CREATE TRIGGER bt BEFORE INSERT ON b FOR EACH ROW SET NEW.a_id = NEW.a_id;
    CREATE PROCEDURE pp() SELECT COUNT(*) FROM a;
    CREATE FUNCTION ff() RETURNS INT DETERMINISTIC RETURN 7;
    CREATE EVENT ee ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM b WHERE id < 0;
    ANALYZE TABLE a, b;" > /dev/null

# a. ftwrl, jobs = 2: exact full cycle
my_conf "$T/ftwrl.conf" ftwrl "$SRC" "$DST" 'jobs = 2; snapshot_lock = "ftwrl";'
run_envsync -c "$T/ftwrl.conf" run ftwrl
expect_rc 0 "snapshot_lock = ftwrl"
expect_out "taken by 2 connections under FLUSH TABLES WITH READ LOCK" "ftwrl: the log names the lock"
printf '%s\n' "$out" | grep -q "BACKUP STAGE" && fail "ftwrl: BACKUP STAGE was used: $out"
committed ftwrl || fail "ftwrl: nothing stored"
my_same "$SRC" "$DST" "snapshot_lock = ftwrl"

# a. ...with a writer committing to pa and pb in one transaction without
#    pause: the two workers (one per table) must start their snapshots at
#    the same commit, so the dump holds as many pa rows as pb rows, and the
#    restore the same keys in both.  Without the lock, half of such backups
#    are mixed on the rig (measured: the snapshot starts are one round trip
#    apart, the writer commits every ~100 us), so 8 backups miss a broken
#    lock with a chance of about 1/256.  The writer stops by itself after
#    120 s at the latest.
my_sql -e "CREATE DATABASE \`$SRCW\`"
my_sql "$SRCW" -e "
    CREATE TABLE pa (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
    CREATE TABLE pb (id INT PRIMARY KEY, v INT);
    CREATE TABLE wconn (id BIGINT);
    DELIMITER //
    CREATE PROCEDURE writer()
    BEGIN
        DECLARE stop DATETIME DEFAULT SYSDATE() + INTERVAL 120 SECOND;
        WHILE SYSDATE() < stop DO
            START TRANSACTION;
            INSERT INTO pa (v) VALUES (1);
            INSERT INTO pb VALUES (LAST_INSERT_ID(), 1);
            COMMIT;
        END WHILE;
    END //
    DELIMITER ;"
cat > "$T/w.conf" <<CONF
envsync: { environment = "test"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$T/store"; }; };
jobs = ( {
    name = "wb";
    backup  = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                ${MYSQL_PASSWORD:+password = \"$MYSQL_PASSWORD\";} database = "$SRCW";
                jobs = 2; snapshot_lock = "ftwrl"; };
    store   = { storage = "local"; };
}, {
    name = "wr";
    fetch   = { storage = "local"; job = "wb"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT; user = "$MYSQL_USER";
                ${MYSQL_PASSWORD:+password = \"$MYSQL_PASSWORD\";} database = "$DSTW"; };
} );
CONF
my_sql "$SRCW" -e "INSERT INTO wconn VALUES (CONNECTION_ID()); CALL writer()" > /dev/null 2>&1 &
writer=$!
for _ in $(seq 1 100); do
    [ "$(q "SELECT COUNT(*) >= 1000 FROM \`$SRCW\`.pa")" = 1 ] && break
    sleep 0.1
done
[ "$(q "SELECT COUNT(*) >= 1000 FROM \`$SRCW\`.pa")" = 1 ] || fail "the writer does not write"
for i in 1 2 3 4 5 6 7 8; do
    before=$(q "SELECT COUNT(*) FROM \`$SRCW\`.pa")
    run_envsync -c "$T/w.conf" run wb
    expect_rc 0 "ftwrl with a writer, backup $i"
    expect_out "taken by 2 connections under FLUSH TABLES WITH READ LOCK" \
        "ftwrl with a writer, backup $i: the log names the lock"
    after=$(q "SELECT COUNT(*) FROM \`$SRCW\`.pb")
    "$ENVSYNC" -c "$T/w.conf" inspect wb > "$T/inspect.json" 2> "$T/inspect.err" ||
        fail "inspect of backup $i: $(cat "$T/inspect.err")"
    # rows of pa and pb in the manifest
    read -r na nb < <(python3 -c '
import json, sys
rows = {}
for o in json.load(open(sys.argv[1]))["objects"]:
    if o["kind"] == "data":
        rows[o["object"]] = rows.get(o["object"], 0) + o["rows"]
print(rows.get("pa", -1), rows.get("pb", -1))' "$T/inspect.json")
    if [ -z "$na" ] || [ "$na" -lt 0 ] || [ "$nb" -lt 0 ]; then
        fail "backup $i: no row counts of pa and pb in the manifest: $(head -c 2000 "$T/inspect.json")"
    fi
    note "backup $i: source had $before rows before, $after after; dump: pa $na, pb $nb"
    [ "$na" = "$nb" ] || fail "ftwrl with a writer, backup $i: mixed dump: pa $na rows, pb $nb rows"
    if [ "$na" -lt "$before" ] || [ "$na" -gt "$after" ]; then
        fail "ftwrl with a writer, backup $i: $na rows is not a state between $before and $after"
    fi
done
stop_writer
# the last of those backups, restored: the same keys in both tables
run_envsync -c "$T/w.conf" run wr
expect_rc 0 "restore of the backup taken with a writer"
res=$(q "SELECT (SELECT COUNT(*) FROM \`$DSTW\`.pa), (SELECT COUNT(*) FROM \`$DSTW\`.pb),
                (SELECT COUNT(*) FROM \`$DSTW\`.pa LEFT JOIN \`$DSTW\`.pb USING (id)
                 WHERE pb.id IS NULL)")
read -r ra rb orphans <<< "$res"
if [ "$ra" != "$na" ] || [ "$rb" != "$nb" ] || [ "$orphans" != 0 ]; then
    fail "restore of the backup taken with a writer: pa $ra rows, pb $rb rows, $orphans pa rows without pb (dump: $na)"
fi

# the backup user without RELOAD: what a complete backup needs and no more
# (see "Privileges" in plugins/mysql/README.md)
for h in "'%'" localhost; do
    my_sql -e "CREATE USER $U@$h IDENTIFIED BY '$PW';
               GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON \`$SRC\`.* TO $U@$h;
               GRANT SELECT ON mysql.proc TO $U@$h"
done

# b. auto without RELOAD, jobs = 2: warning, one connection, exact
my_drop "$DST"
lock_conf "$T/auto.conf" auto "$SRC" "$DST" "$U" "$PW" 'jobs = 2;'
run_envsync -c "$T/auto.conf" run auto
expect_rc 0 "auto without RELOAD"
expect_out "$SRC: the server refused a global lock .*RELOAD.*one connection instead of 2" \
    "auto without RELOAD: the warning"
expect_out "snapshot of $SRC taken by 1 connection\$" "auto without RELOAD: one connection"
printf '%s' "$out" | grep -q -- "$PW" && fail "the password was printed: $out"
my_same "$SRC" "$DST" "auto without RELOAD"

# c. a forced lock the server refuses: exit 6, nothing stored or restored
for kind in backup_stage ftwrl; do
    case $kind in
        backup_stage) stmt="BACKUP STAGE START" ;;
        ftwrl) stmt="FLUSH TABLES WITH READ LOCK" ;;
    esac
    lock_conf "$T/$kind.conf" "force_$kind" "$SRC" "$DSTX" "$U" "$PW" \
        "jobs = 2; snapshot_lock = \"$kind\";"
    run_envsync -c "$T/$kind.conf" run "force_$kind"
    expect_rc 6 "snapshot_lock = $kind without RELOAD"
    expect_out "database $SRC: snapshot_lock = \"$kind\": $stmt: permission denied" \
        "$kind refused: the message names the database, setting and statement"
    expect_out "RELOAD" "$kind refused: the message says which privilege"
    expect_out "force_$kind" "$kind refused: the message names the job"
    printf '%s\n' "$out" | grep -q "one connection" &&
        fail "$kind refused: fell back to one connection: $out"
    if committed "force_$kind"; then
        fail "$kind refused: something was committed: $(ls -R "$T/store/force_$kind")"
    fi
    [ "$(q "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '$DSTX%'")" = 0 ] ||
        fail "$kind refused: a restore target was created"
done

# d. none, jobs = 2: one connection, an info line, no lock, exact
my_drop "$DST"
my_conf "$T/none.conf" none "$SRC" "$DST" 'jobs = 2; snapshot_lock = "none";'
run_envsync -c "$T/none.conf" run none
expect_rc 0 "snapshot_lock = none"
expect_out "\\binfo\\b.*$SRC: snapshot_lock = \"none\": dumping with one connection instead of 2" \
    "none: the info line"
expect_out "snapshot of $SRC taken by 1 connection\$" "none: one connection, no lock"
printf '%s\n' "$out" | grep -Eq "refused|warn" && fail "none: a lock was tried: $out"
my_same "$SRC" "$DST" "snapshot_lock = none"

# e. a value that is none of the four: config error with file:line
my_conf "$T/bad.conf" bad "$SRC" "$DST" 'snapshot_lock = "sometimes";'
run_envsync -c "$T/bad.conf" run bad
expect_rc 3 "snapshot_lock = sometimes"
expect_out "bad.conf:[0-9]+.*snapshot_lock" "bad snapshot_lock names file:line and the option"
expect_out "sometimes" "bad snapshot_lock names the value"
if committed bad; then fail "bad snapshot_lock: something was committed"; fi
run_envsync -c "$T/bad.conf" check --offline
expect_rc 3 "envsync check with snapshot_lock = sometimes"
expect_out "bad.conf:[0-9]+.*snapshot_lock" "check: bad snapshot_lock names file:line"
pass
