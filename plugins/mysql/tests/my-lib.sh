# plugins/mysql/tests/my-lib.sh - helpers for the MySQL plugin's tests
# (sourced after tests/lib.sh and need_mysql).

MYSQL_PASSWORD=${MYSQL_PASSWORD:-}

# my_sql [ARGS...]: the command-line client as the rig's admin user
my_sql() {
    MYSQL_PWD="$MYSQL_PASSWORD" mariadb --no-defaults --default-character-set=utf8mb4 \
        -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" "$@"
}

my_dump() {
    MYSQL_PWD="$MYSQL_PASSWORD" mysqldump --no-defaults --default-character-set=utf8mb4 \
        -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" "$@"
}

# my_drop DB...: drop databases and the plugin's temporary ones
my_drop() {
    local db
    for db in "$@"; do
        my_sql -e "SET foreign_key_checks=0; DROP DATABASE IF EXISTS \`$db\`;
                   DROP DATABASE IF EXISTS \`${db}_envsync_new\`;
                   DROP DATABASE IF EXISTS \`${db}_envsync_old\`" 2>/dev/null || true
    done
}

# my_fidelity_db DB [CREATE_OPTIONS]: create DB (with e.g. a CHARACTER SET
# clause) and load fidelity.sql, every column type and object kind, into it
my_fidelity_db() {
    my_sql -e "CREATE DATABASE \`$1\` ${2:-}"
    my_sql "$1" < "$top_srcdir/plugins/mysql/tests/fidelity.sql" > /dev/null ||
        fail "loading fidelity.sql"
}

# my_dominant_table DB: add `dominant`, an InnoDB table with an
# AUTO_INCREMENT key (ids with gaps) and about 20 MB of rows full of
# escapes, so that it holds most of the data beside fidelity.sql's tables
my_dominant_table() {
    my_sql "$1" <<'EOF2' || fail "generating the dominant table"
CREATE TABLE dominant (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ref int NOT NULL,
    note varchar(100),
    body text,
    KEY k_ref (ref)
) ENGINE=InnoDB;
INSERT INTO dominant (ref, note, body)
SELECT seq % 500, IF(seq % 7 = 0, NULL, CONCAT('it''s \\ row ', seq, '\t', CHAR(32 + seq % 90))),
       REPEAT(CONCAT(MD5(seq), '\n'), 20) FROM seq_1_to_30000;
DELETE FROM dominant WHERE id % 100 = 0;
ANALYZE TABLE dominant;
EOF2
}

# my_conf FILE JOB SRC DST [BACKUP_EXTRA [RESTORE_EXTRA]]: a backup -> file
# store -> fetch -> restore job (full cycle).  Extras are libconfig
# settings ("jobs = 3; chunk_size = \"64k\";").
my_conf() {
    local file=$1 job=$2 src=$3 dst=$4 bx=${5:-} rx=${6:-}
    local pw=""
    [ -n "$MYSQL_PASSWORD" ] && pw="password = \"$MYSQL_PASSWORD\";"
    mkdir -p "$(dirname "$file")/store"
    cat > "$file" <<CONF
envsync: { environment = "test"; log_level = "info"; };
storage: { local: { plugin = "file"; path = "$(dirname "$file")/store"; }; };
jobs = ( {
    name = "$job";
    backup  = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT;
                user = "$MYSQL_USER"; $pw database = "$src"; $bx };
    store   = { storage = "local"; };
    fetch   = { storage = "local"; };
    restore = { plugin = "mysql"; host = "$MYSQL_HOST"; port = $MYSQL_PORT;
                user = "$MYSQL_USER"; $pw database = "$dst"; $rx };
} );
CONF
}

# my_schema DB: normalised mysqldump of the schema, routines, triggers, events
my_schema() {
    my_dump --no-data --routines --triggers --events --compact --skip-dump-date "$1" |
        sed -e "s/\`$1\`/\`DB\`/g"
}

# my_data DB: one line per table: name, then an md5 of its rows in key order
# (every column; FLOAT widened, BIT as numbers, strings/temporal/spatial as
# hex so no byte or digit can hide).
my_data() {
    local db=$1
    my_sql -N -B -e "
        SELECT TABLE_NAME, CONCAT('SELECT ', GROUP_CONCAT(
            CASE WHEN DATA_TYPE IN ('tinyint','smallint','mediumint','int','bigint','decimal','double')
                   THEN CONCAT('\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\`')
                 WHEN DATA_TYPE = 'float'
                   THEN CONCAT('CAST(\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\` AS DOUBLE)')
                 WHEN DATA_TYPE = 'bit'
                   THEN CONCAT('\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\`+0')
                 ELSE CONCAT('HEX(\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\`)') END
            ORDER BY ORDINAL_POSITION SEPARATOR ', '),
            ' FROM \`', REPLACE(TABLE_NAME, '\`', '\`\`'), '\` ORDER BY ',
            GROUP_CONCAT(ORDINAL_POSITION ORDER BY ORDINAL_POSITION SEPARATOR ','))
        FROM information_schema.COLUMNS c
        WHERE TABLE_SCHEMA = '$db' AND TABLE_NAME IN
            (SELECT TABLE_NAME FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = '$db' AND TABLE_TYPE = 'BASE TABLE')
        GROUP BY TABLE_NAME ORDER BY TABLE_NAME" |
    while IFS=$'\t' read -r t q; do
        printf '%s\t%s\n' "$t" "$(my_sql -N -B "$db" -e "$q" | md5sum | cut -c1-32)"
    done
}

# my_autoinc DB: AUTO_INCREMENT per table
my_autoinc() {
    my_sql -N -B -e "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES
                     WHERE TABLE_SCHEMA = '$1' AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
}

# my_same SRC DST WHAT: compare schema, data and AUTO_INCREMENT of two dbs
my_same() {
    local src=$1 dst=$2 what=$3
    my_schema "$src" > "$T/schema.src"
    my_schema "$dst" > "$T/schema.dst"
    # nothing restored may still point at the source database
    my_dump --no-data --routines --triggers --events --compact "$dst" |
        grep -F "\`$src\`." > "$T/schema.leak" &&
        fail "$what: restored objects refer to the source database $src:
$(head -5 "$T/schema.leak")"
    diff -u "$T/schema.src" "$T/schema.dst" > "$T/schema.diff" ||
        fail "$what: schema differs:
$(head -60 "$T/schema.diff")"
    my_data "$src" > "$T/data.src"
    my_data "$dst" > "$T/data.dst"
    [ -s "$T/data.src" ] || fail "$what: no data hashes for $src"
    diff -u "$T/data.src" "$T/data.dst" > "$T/data.diff" ||
        fail "$what: table data differs:
$(cat "$T/data.diff")"
    my_autoinc "$src" > "$T/ai.src"
    my_autoinc "$dst" > "$T/ai.dst"
    diff -u "$T/ai.src" "$T/ai.dst" > "$T/ai.diff" ||
        fail "$what: AUTO_INCREMENT differs:
$(cat "$T/ai.diff")"
}
