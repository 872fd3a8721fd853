#!/bin/bash
# Per-table index deferral: a table of wide rows (> 64 MiB) under small
# secondary keys keeps them during the load (a build afterwards would be
# one more pass over all of it), a narrow table with a big share of index
# gets them built after the load; the copy equals the source either way.
. "$top_srcdir/tests/lib.sh"
need_mysql
. "$top_srcdir/plugins/mysql/tests/my-lib.sh"
set -e
es_tmpdir
SRC=esmy_wide_src_$$
DST=esmy_wide_dst_$$
trap 'my_drop "$SRC" "$DST"; rm -rf "$T"' EXIT

my_drop "$SRC" "$DST"
my_sql -e "CREATE DATABASE \`$SRC\`"
my_sql "$SRC" <<'EOF2' || fail "generating the tables"
CREATE TABLE owners (id int PRIMARY KEY, name varchar(40)) ENGINE=InnoDB;
INSERT INTO owners SELECT seq, CONCAT('o', seq) FROM seq_1_to_100;
CREATE TABLE wide (
    id bigint AUTO_INCREMENT PRIMARY KEY,
    owner int NOT NULL,
    state enum('a','b','c') NOT NULL,
    body mediumtext,
    KEY k_owner (owner),
    KEY k_state (state, id),
    CONSTRAINT fk_wide_owner FOREIGN KEY (owner) REFERENCES owners (id)
) ENGINE=InnoDB;
INSERT INTO wide (owner, state, body)
SELECT 1 + seq % 100, ELT(1 + seq % 3, 'a', 'b', 'c'), REPEAT(MD5(seq), 64) FROM seq_1_to_40000;
CREATE TABLE narrow (
    id int PRIMARY KEY, a int, b int, c varchar(20),
    KEY k_a (a), KEY k_bc (b, c)
) ENGINE=InnoDB;
INSERT INTO narrow SELECT seq, seq % 97, seq % 13, CONCAT('c', seq % 1000) FROM seq_1_to_20000;
ANALYZE TABLE owners, wide, narrow;
EOF2
my_conf "$T/envsync.conf" wide "$SRC" "$DST" 'jobs = 2;' 'jobs = 2;'
run_envsync -c "$T/envsync.conf" run wide
expect_rc 0 "full cycle"
expect_out "1 wide table kept its secondary indexes during the load" "wide keeps its keys"
my_same "$SRC" "$DST" "per-table deferral"
pass
