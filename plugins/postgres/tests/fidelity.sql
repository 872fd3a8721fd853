-- fidelity.sql - a source database exercising what the postgres plugin
-- must carry faithfully (issue 3, "Fidelity").  Loaded with
-- psql -v ON_ERROR_STOP=1 into an empty database.
SET client_min_messages = warning;

CREATE EXTENSION citext;
CREATE EXTENSION hstore;
CREATE EXTENSION pgcrypto;

CREATE SCHEMA app;
CREATE SCHEMA "Mixed Case";
CREATE SCHEMA "we""ird schema";
COMMENT ON SCHEMA app IS 'application schema';

-- types
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy', 'it''s complicated');
CREATE DOMAIN app.posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN app.email AS citext CHECK (VALUE ~ '@');
CREATE TYPE app.address AS (street text, city text, zip varchar(10));
CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
COMMENT ON TYPE app.mood IS 'how it feels';

-- every built-in scalar type we can think of, with edge values
CREATE TABLE app.scalars (
    id integer PRIMARY KEY,
    b boolean, i2 smallint, i4 integer, i8 bigint,
    n numeric, n2 numeric(10, 3), r4 real, r8 double precision,
    m money, c char(5), vc varchar(20), t text, nm name,
    ba bytea, d date, tm time, tmtz timetz, ts timestamp, tstz timestamptz,
    iv interval, u uuid, ip inet, cidr_ cidr, mac macaddr, mac8 macaddr8,
    bt bit(8), vb varbit(16), tsv tsvector, tsq tsquery,
    j json, jb jsonb, x xml, pt point, ln line, ls lseg, bx box, ph path,
    pg polygon, ci circle, o oid, rc regclass, pl pg_lsn,
    i4r int4range, i8r int8range, nr numrange, tsr tsrange, tstzr tstzrange, dr daterange,
    mr int4multirange,
    ct citext, hs hstore, mo app.mood, pi app.posint, em app.email, ad app.address,
    fr app.floatrange
);
INSERT INTO app.scalars VALUES
 (1, true, 32767, 2147483647, 9223372036854775807,
  'NaN', 1234567.891, 'Infinity', '-Infinity',
  '12.34', 'ab', 'varchar', 'plain', 'aname',
  '\x00ff', '2024-02-29', '23:59:59.999999', '12:00+05:30', '1999-12-31 23:59:59.123456', '2000-01-01 00:00:00+00',
  '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
  B'10101010', B'1101', 'a fat cat sat on a mat', 'fat & (rat | cat)',
  '{"a": [1, 2, {"b": null}]}', '{"z": 1, "a": [true, false, null], "u": "\u00e9"}', '<a x="1">text &amp; more</a>',
  '(1.5,-2)', '{1,-1,0}', '[(0,0),(1,1)]', '((0,0),(2,2))', '[(0,0),(1,1),(2,0)]',
  '((0,0),(1,1),(1,0))', '<(0,0),5>', 12345, 'pg_class', '16/B374D848',
  '[1,10)', '[-9223372036854775808,9223372036854775807)', '(,1.5]', '[2020-01-01,2021-01-01)', 'empty', '[2020-01-01,infinity)',
  '{[1,3), [5,9)}',
  'MiXeD', 'a=>1, "b c"=>NULL', 'it''s complicated', 42, 'x@example.org', ROW('1 "Main" St', 'Town, \ City', '12345'),
  '[1.5,2.5)'),
 (2, false, -32768, -2147483648, -9223372036854775808,
  '123456789012345678901234567890123456789012345678901234567890.123456789012345678901234567890', -0.001, 'NaN', 1e-300,
  '-0.01', NULL, '', E'tab\there\nnewline\\backslash \\N and \r cr', '',
  NULL, 'infinity', '00:00', '00:00-12', '-infinity', 'infinity',
  '-178000000 years', '00000000-0000-0000-0000-000000000000', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', NULL,
  B'00000000', B'', '', NULL,
  '[]', '"just a string with \\ and \" and \t"', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, '-', '0/0',
  'empty', NULL, '[-1e30,1e30]', NULL, NULL, '(-infinity,)', '{}',
  NULL, '', 'sad', 1, NULL, ROW(NULL, '', NULL), 'empty'),
 (3, NULL, NULL, NULL, NULL, '-0', 0, '-0', 4.9e-324, NULL, NULL, NULL, '\N', NULL,
  NULL, NULL, NULL, NULL, NULL, '1970-01-01 00:00:00.000001+14',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null', 'null', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- bytea with every byte value, text with every awkward character
CREATE TABLE app.blobs (id integer PRIMARY KEY, data bytea NOT NULL, note text);
INSERT INTO app.blobs
SELECT 1, string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea ORDER BY b), 'all 256 bytes'
FROM generate_series(0, 255) AS b;
INSERT INTO app.blobs VALUES (2, '', E'\\N'), (3, '\x5c4e', E'line1\nline2\r\n\ttabbed\\'),
  (4, gen_random_bytes(64), E'\x01\x02\x7f unicode: \u00e9\u4e2d\U0001F600');
-- a row larger than the tests' 64k chunk_size
INSERT INTO app.blobs VALUES (5, decode(repeat('ab01', 60000), 'hex'), repeat('big ', 20000));

-- arrays
CREATE TABLE app.arrays (
    id integer PRIMARY KEY,
    ia integer[], ta text[], ja jsonb[], ma app.mood[], m2 integer[][], ba bytea[]
);
INSERT INTO app.arrays VALUES
 (1, '{1,NULL,3}', ARRAY['a', NULL, 'with "quotes"', 'with,comma', 'with {brace}', 'NULL', '', E'back\\slash', E'tab\tnl\n'],
  ARRAY['{"a":1}'::jsonb, NULL], '{sad,happy}', '{{1,2},{3,NULL}}', ARRAY['\x00'::bytea, '\xff']),
 (2, '{}', '{}', '{}', '{}', '{}', '{}'),
 (3, NULL, ARRAY[NULL]::text[], NULL, NULL, '[0:1]={7,8}', NULL);

-- identity, serial and generated columns
CREATE TABLE app.ids (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 7) PRIMARY KEY,
    s serial,
    b bigserial,
    label text NOT NULL,
    label_len integer GENERATED ALWAYS AS (length(label)) STORED,
    created timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00'
);
INSERT INTO app.ids (label) SELECT 'row ' || g FROM generate_series(1, 25) AS g;
DELETE FROM app.ids WHERE id % 3 = 0;
CREATE TABLE app.byid (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);
INSERT INTO app.byid (v) VALUES ('a'), ('b');
INSERT INTO app.byid (id, v) VALUES (1000, 'explicit');
CREATE SEQUENCE app.standalone_seq START 5 INCREMENT 5 CACHE 3;
SELECT nextval('app.standalone_seq'), nextval('app.standalone_seq');
CREATE SEQUENCE app.unused_seq;
CREATE SEQUENCE "Mixed Case"."Odd Seq";
SELECT setval('"Mixed Case"."Odd Seq"', 77, false);

-- a table with a dropped column in the middle
CREATE TABLE app.dropped (id integer PRIMARY KEY, gone text, kept text);
INSERT INTO app.dropped VALUES (1, 'x', 'one'), (2, 'y', 'two');
ALTER TABLE app.dropped DROP COLUMN gone;

-- partitioning: range with a default partition, list, and a sub-partition
CREATE TABLE app.events (
    id bigint NOT NULL, at timestamptz NOT NULL, kind text NOT NULL, payload jsonb
) PARTITION BY RANGE (at);
CREATE TABLE app.events_2023 PARTITION OF app.events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
    PARTITION BY LIST (kind);
CREATE TABLE app.events_2024_click PARTITION OF app.events_2024 FOR VALUES IN ('click');
CREATE TABLE app.events_2024_other PARTITION OF app.events_2024 DEFAULT;
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
CREATE INDEX events_kind_idx ON app.events (kind);
CREATE UNIQUE INDEX events_2023_id ON app.events_2023 (id);
ALTER TABLE app.events_2023 ADD CONSTRAINT events_2023_pk PRIMARY KEY USING INDEX events_2023_id;
INSERT INTO app.events
SELECT g, timestamptz '2023-06-01' + g * interval '1 day', CASE WHEN g % 2 = 0 THEN 'click' ELSE 'view' END,
       jsonb_build_object('n', g)
FROM generate_series(1, 800) AS g;
CREATE TABLE app.regions (code text NOT NULL, name text) PARTITION BY LIST (code);
CREATE TABLE app.regions_eu PARTITION OF app.regions FOR VALUES IN ('de', 'fr');
CREATE TABLE app.regions_other PARTITION OF app.regions DEFAULT;
INSERT INTO app.regions VALUES ('de', 'Germany'), ('fr', 'France'), ('jp', 'Japan');
-- a key on a partitioned parent (stays one statement at restore) and on
-- its leaves (built as unique indexes, then attached)
ALTER TABLE app.regions ADD PRIMARY KEY (code);
-- keys with storage parameters, INCLUDE and NULLS NOT DISTINCT
CREATE TABLE app.keyed (
    a integer NOT NULL, b integer, c text,
    CONSTRAINT keyed_pk PRIMARY KEY (a) WITH (fillfactor = 60),
    CONSTRAINT keyed_u UNIQUE NULLS NOT DISTINCT (b) INCLUDE (c),
    CONSTRAINT keyed_d UNIQUE (c) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO app.keyed SELECT g, NULLIF(g, 3), 'c' || g FROM generate_series(1, 50) g;

-- inheritance (COPY must take each table ONLY)
CREATE TABLE app.vehicle (id integer PRIMARY KEY, wheels integer);
CREATE TABLE app.car (seats integer) INHERITS (app.vehicle);
INSERT INTO app.vehicle VALUES (1, 2);
INSERT INTO app.car VALUES (2, 4, 5), (3, 4, 7);

-- unlogged, empty and column-less tables
CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v text);
INSERT INTO app.cache VALUES ('a', '1');
CREATE TABLE app.empty (id integer PRIMARY KEY, v text);
-- storage parameters: the restore switches autovacuum off while it loads
-- and must leave these exactly as they were
CREATE TABLE app.tuned (id integer PRIMARY KEY, v text) WITH (fillfactor = 70, autovacuum_enabled = false);
INSERT INTO app.tuned SELECT g, 'v' || g FROM generate_series(1, 50) g;
CREATE TABLE app.tuned_on (id integer) WITH (autovacuum_enabled = true, autovacuum_vacuum_scale_factor = 0.05);
INSERT INTO app.tuned_on VALUES (1);
CREATE TABLE app.nocols ();
INSERT INTO app.nocols DEFAULT VALUES;
INSERT INTO app.nocols DEFAULT VALUES;

-- quoted, mixed-case and reserved-word identifiers
CREATE TABLE "Mixed Case"."Order" ("Id" integer PRIMARY KEY, "select" text, "from" text, "Col With Space" text,
    "tab	in name" text);
INSERT INTO "Mixed Case"."Order" VALUES (1, 'sel', 'fr', 'sp', 'tab');
CREATE TABLE "we""ird schema"."ta""ble" ("co""l" integer PRIMARY KEY, "ünïcødé" text);
INSERT INTO "we""ird schema"."ta""ble" VALUES (1, 'ü');

-- constraints: check, unique, exclusion, deferrable foreign keys with a cycle
CREATE TABLE app.rooms (id integer PRIMARY KEY, name text UNIQUE NOT NULL CHECK (name <> ''));
CREATE TABLE app.bookings (
    id integer PRIMARY KEY,
    room integer NOT NULL REFERENCES app.rooms (id) ON DELETE CASCADE,
    during tstzrange NOT NULL,
    EXCLUDE USING gist (during WITH &&),
    CONSTRAINT sane CHECK (NOT isempty(during))
);
INSERT INTO app.rooms VALUES (1, 'blue'), (2, 'red');
INSERT INTO app.bookings VALUES (1, 1, '[2024-01-01 10:00+00,2024-01-01 11:00+00)'),
    (2, 2, '[2024-01-01 11:00+00,2024-01-01 12:00+00)');
CREATE TABLE app.parent (id integer PRIMARY KEY, favourite_child integer);
CREATE TABLE app.child (id integer PRIMARY KEY, parent_id integer NOT NULL);
ALTER TABLE app.parent ADD CONSTRAINT parent_fav_fk FOREIGN KEY (favourite_child)
    REFERENCES app.child (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE app.child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id)
    REFERENCES app.parent (id) DEFERRABLE INITIALLY IMMEDIATE;
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO app.parent VALUES (1, 10), (2, NULL);
INSERT INTO app.child VALUES (10, 1), (11, 1), (12, 2);
COMMIT;
ALTER TABLE app.rooms ADD CONSTRAINT rooms_name_len CHECK (length(name) < 100) NOT VALID;
COMMENT ON CONSTRAINT child_parent_fk ON app.child IS 'cycle, deferrable';
-- foreign keys to a partitioned table, from a partitioned table (no ONLY:
-- restored as is, NOT VALID is refused there), and one NOT VALID over a
-- row that breaks it (must stay not valid, unchecked)
CREATE TABLE app.visits (id integer PRIMARY KEY, region text REFERENCES app.regions (code), room integer);
INSERT INTO app.visits VALUES (1, 'de', 1), (2, 'jp', 2), (3, NULL, 99);
ALTER TABLE app.visits ADD CONSTRAINT visits_room_fk FOREIGN KEY (room) REFERENCES app.rooms (id) NOT VALID;
CREATE TABLE app.tagged (code text NOT NULL, room integer) PARTITION BY LIST (code);
CREATE TABLE app.tagged_all PARTITION OF app.tagged DEFAULT;
INSERT INTO app.tagged VALUES ('x', 1), ('y', 2);
ALTER TABLE app.tagged ADD CONSTRAINT tagged_room_fk FOREIGN KEY (room) REFERENCES app.rooms (id);

-- indexes: partial, expression, covering, gin, brin, unique
CREATE INDEX scalars_partial_idx ON app.scalars (i4) WHERE i4 > 0;
CREATE INDEX scalars_expr_idx ON app.scalars (lower(t), (i8 % 10));
CREATE UNIQUE INDEX scalars_u_idx ON app.scalars (u) INCLUDE (t);
CREATE INDEX scalars_jb_gin ON app.scalars USING gin (jb jsonb_path_ops);
CREATE INDEX scalars_ts_brin ON app.scalars USING brin (ts);
CREATE INDEX "Order_select_idx" ON "Mixed Case"."Order" ("select" DESC NULLS LAST);
COMMENT ON INDEX app.scalars_partial_idx IS 'positive only';
CREATE STATISTICS app.scalars_stats (dependencies) ON i2, i4 FROM app.scalars;

-- functions, triggers, rules, views, materialized views, policies
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    -- a body with ; and 'quotes' and $$ inside
    NEW.note := coalesce(NEW.note, '') || ';touched $$';
    RETURN NEW;
END
$body$;
COMMENT ON FUNCTION app.touch() IS 'trigger function';
CREATE TRIGGER blobs_touch BEFORE INSERT OR UPDATE ON app.blobs FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE FUNCTION app.add(a integer, b integer DEFAULT 1) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a + b';
CREATE PROCEDURE app.noop() LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;
CREATE TABLE app.audit (id serial PRIMARY KEY, what text);
CREATE RULE rooms_audit AS ON DELETE TO app.rooms DO ALSO INSERT INTO app.audit (what) VALUES ('deleted ' || OLD.name);
CREATE VIEW app.room_bookings AS
    SELECT r.name, b.during FROM app.rooms r JOIN app.bookings b ON b.room = r.id;
CREATE VIEW "Mixed Case"."V" WITH (security_barrier) AS SELECT "Id" FROM "Mixed Case"."Order" WHERE "Id" > 0
    WITH CHECK OPTION;
CREATE MATERIALIZED VIEW app.event_counts AS SELECT kind, count(*) AS n FROM app.events GROUP BY kind;
CREATE UNIQUE INDEX event_counts_kind ON app.event_counts (kind);
CREATE MATERIALIZED VIEW app.never_filled AS SELECT 1 AS one WITH NO DATA;
CREATE TABLE app.secrets (id integer PRIMARY KEY, owner_name text NOT NULL, secret text);
ALTER TABLE app.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY secrets_own ON app.secrets USING (owner_name = current_user);
CREATE POLICY secrets_ins ON app.secrets FOR INSERT WITH CHECK (owner_name = current_user);
INSERT INTO app.secrets VALUES (1, 'postgres', 's1'), (2, 'someone', 's2');
COMMENT ON TABLE app.secrets IS 'row level security';
COMMENT ON COLUMN app.secrets.secret IS 'do not print';

-- large objects
SELECT lo_from_bytea(424242, convert_to('hello large object', 'UTF8'));
SELECT lo_from_bytea(424243, decode(repeat('00ff7f80', 50000), 'hex'));
SELECT lo_create(424244);
