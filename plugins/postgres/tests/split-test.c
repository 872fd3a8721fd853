/*
 * split-test.c - unit tests of the SQL statement splitter and the
 * "ALTER ... OWNER TO" recogniser (plugins/postgres/ddl.c); no server.
 */
#include "config.h"
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const envsync_host *pg_host;   /* unused by the functions under test */

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* A statement and the two statements a splitter should make of it (NULL:
 * left whole). */
typedef struct pair_case {
    const char *sql, *first, *second;
} pair_case;

typedef int (*splitter)(const char *stmt, size_t len, es_buf *first, es_buf *second);

static void
check_splits(const char *what, splitter fn, const pair_case *cs, size_t n)
{
    size_t k;

    for (k = 0; k < n; k++) {
        es_buf a = ES_BUF_INIT, b = ES_BUF_INIT;
        int rc = fn(cs[k].sql, strlen(cs[k].sql), &a, &b);
        if (!cs[k].first)
            CHECK(rc == 0, "%s: no split expected of <<%s>>: %d", what, cs[k].sql, rc);
        else
            CHECK(rc == 1 && strcmp(a.data, cs[k].first) == 0 && strcmp(b.data, cs[k].second) == 0,
                  "%s of <<%s>>: rc %d, <<%s>> <<%s>>", what, cs[k].sql, rc,
                  rc == 1 ? a.data : "", rc == 1 ? b.data : "");
        es_buf_free(&a);
        es_buf_free(&b);
    }
}

typedef struct collected {
    char *stmts[32];
    size_t n;
} collected;

static int
collect(void *arg, const char *stmt, size_t len)
{
    collected *c = arg;

    if (c->n < 32)
        c->stmts[c->n++] = strndup(stmt, len);
    return 0;
}

static void
split_case(const char *sql, size_t want, const char *const *expect)
{
    collected c;
    size_t i;

    memset(&c, 0, sizeof c);
    pg_split_sql(sql, strlen(sql), collect, &c);
    CHECK(c.n == want, "%zu statements instead of %zu in <<%s>>", c.n, want, sql);
    for (i = 0; i < c.n && i < want; i++)
        CHECK(strcmp(c.stmts[i], expect[i]) == 0, "statement %zu is <<%s>>, want <<%s>>", i,
              c.stmts[i], expect[i]);
    for (i = 0; i < c.n; i++)
        free(c.stmts[i]);
}

static int
stop_at_second(void *arg, const char *stmt, size_t len)
{
    int *n = arg;

    (void)stmt;
    (void)len;
    return ++*n == 2 ? 7 : 0;
}

int
main(void)
{
    {
        const char *e[] = { "SELECT 1", "SELECT 2" };
        split_case("SELECT 1; SELECT 2;", 2, e);
    }
    {   /* meta-commands of pg_dump >= 15.14 and comments between statements */
        const char *e[] = { "SET a = 1", "CREATE TABLE t (x int)" };
        split_case("\\restrict abc123\n-- comment; with semicolon\nSET a = 1;\n\n"
                   "/* block; */ CREATE TABLE t (x int);\n\\unrestrict abc123\n", 2, e);
    }
    {   /* quotes, doubled quotes, E'' escapes, quoted identifiers */
        const char *e[] = { "SELECT 'a;b', 'it''s;', E'x\\';y', \"we;ird\"\"x\"", "SELECT 3" };
        split_case("SELECT 'a;b', 'it''s;', E'x\\';y', \"we;ird\"\"x\";SELECT 3", 2, e);
    }
    {   /* dollar quotes with and without tags, nested other tags */
        const char *e[] = {
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
            "CREATE FUNCTION g() RETURNS text AS $body$ BEGIN RETURN '$$;'; END $body$ LANGUAGE plpgsql",
            "SELECT $1x"
        };
        split_case("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
                   "CREATE FUNCTION g() RETURNS text AS $body$ BEGIN RETURN '$$;'; END $body$ LANGUAGE plpgsql;\n"
                   "SELECT $1x", 3, e);
    }
    {   /* nested block comments, a line comment inside a statement */
        const char *e[] = { "SELECT /* a /* b; */ c; */ 1", "SELECT 2 -- x;\n + 1" };
        split_case("SELECT /* a /* b; */ c; */ 1; SELECT 2 -- x;\n + 1;", 2, e);
    }
    {   /* empty statements and a backslash that is no meta-command */
        const char *e[] = { "SELECT '\\n'" };
        split_case(";;\n ; SELECT '\\n';;", 1, e);
    }
    {
        int n = 0;
        const char *sql = "SELECT 1; SELECT 2; SELECT 3;";
        CHECK(pg_split_sql(sql, strlen(sql), stop_at_second, &n) == 7 && n == 2,
              "callback's non-zero return stops the split");
    }
    CHECK(pg_is_owner_stmt("ALTER TABLE public.t OWNER TO postgres", 38), "table owner");
    CHECK(pg_is_owner_stmt("ALTER FUNCTION app.f(a integer) OWNER TO \"Some Role\"", 52),
          "quoted role");
    CHECK(!pg_is_owner_stmt("ALTER TABLE t ADD COLUMN x int", 30), "not an owner statement");
    CHECK(!pg_is_owner_stmt("CREATE TABLE \" OWNER TO x\" (a int)", 34), "not ALTER");
    CHECK(!pg_is_owner_stmt("ALTER TABLE t OWNER TO x, ADD COLUMN y int", 41), "trailing text");
    CHECK(pg_is_privilege_stmt("GRANT SELECT ON TABLE app.t TO reader", 37), "grant");
    CHECK(pg_is_privilege_stmt("REVOKE ALL ON SCHEMA public FROM PUBLIC", 39), "revoke");
    CHECK(pg_is_privilege_stmt("ALTER DEFAULT PRIVILEGES FOR ROLE x GRANT SELECT ON TABLES TO y", 63),
          "default privileges");
    CHECK(!pg_is_privilege_stmt("CREATE TABLE grants (x int)", 27), "not a privilege statement");
    {
        static const struct { const char *sql; int par; } ps[] = {
            { "CREATE INDEX t_x ON public.t USING btree (x)", 1 },
            { "CREATE UNIQUE INDEX \"U i\" ON ONLY app.\"T\" USING btree (lower(x))", 1 },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)", 1 },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT \"my \"\"key\" UNIQUE (a, b)", 1 },
            { "ALTER TABLE ONLY app.b\n    ADD CONSTRAINT b_excl EXCLUDE USING gist (during WITH &&)", 1 },
            { "ALTER TABLE ONLY public.c\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES public.p(id)", 0 },
            { "ALTER TABLE public.r\n    ADD CONSTRAINT r_len CHECK ((length(name) < 100)) NOT VALID", 0 },
            { "ALTER INDEX public.parent_pkey ATTACH PARTITION public.child_pkey", 0 },
            { "CREATE TRIGGER tr BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION f()", 0 },
            { "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT 1", 0 },
        };
        size_t k;
        for (k = 0; k < sizeof ps / sizeof ps[0]; k++)
            CHECK(pg_is_parallel_stmt(ps[k].sql, strlen(ps[k].sql)) == ps[k].par,
                  "parallel classification of <<%s>>", ps[k].sql);
    }
    {
        static const struct { const char *sql, *schema, *name; } ts[] = {
            { "CREATE INDEX t_x ON public.t USING btree (x)", "public", "t" },
            { "CREATE UNIQUE INDEX \"U on i\" ON ONLY app.\"T.\"\"x\" USING btree (lower(x))", "app", "T.\"x" },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)", "public", "t" },
            { "ALTER TABLE \"Mixed Schema\".events_2024\n    ADD CONSTRAINT e_u UNIQUE (a)", "Mixed Schema", "events_2024" },
            { "create index i on s.t (x)", "s", "t" },
            { "CREATE INDEX t_x ON t USING btree (x)", NULL, NULL },
            { "CREATE INDEX ON public.t (x)", NULL, NULL },
            { "ALTER TABLE ONLY \"unterminated", NULL, NULL },
            { "CREATE TRIGGER tr BEFORE INSERT ON public.t", NULL, NULL },
        };
        size_t k;
        for (k = 0; k < sizeof ts / sizeof ts[0]; k++) {
            char sc[64], nm[64];
            int rc = pg_parallel_target(ts[k].sql, strlen(ts[k].sql), sc, sizeof sc, nm, sizeof nm);
            if (!ts[k].schema)
                CHECK(rc != 0, "no target expected in <<%s>>", ts[k].sql);
            else
                CHECK(rc == 0 && strcmp(sc, ts[k].schema) == 0 && strcmp(nm, ts[k].name) == 0,
                      "target of <<%s>>: rc %d, %s.%s", ts[k].sql, rc, rc ? "" : sc, rc ? "" : nm);
        }
    }
    {
        /* keys split into an index build and an instant attachment */
        static const pair_case ks[] = {
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)",
              "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)",
              "ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey" },
            { "ALTER TABLE ONLY \"Mixed\".\"T t\"\n    ADD CONSTRAINT \"my \"\"key\" UNIQUE (a, \"B)\")",
              "CREATE UNIQUE INDEX \"my \"\"key\" ON \"Mixed\".\"T t\" USING btree (a, \"B)\")",
              "ALTER TABLE ONLY \"Mixed\".\"T t\" ADD CONSTRAINT \"my \"\"key\" UNIQUE USING INDEX \"my \"\"key\"" },
            { "ALTER TABLE ONLY public.u\n    ADD CONSTRAINT u_k UNIQUE NULLS NOT DISTINCT (a) INCLUDE (b, c) WITH (fillfactor='70')",
              "CREATE UNIQUE INDEX u_k ON public.u USING btree (a) INCLUDE (b, c) NULLS NOT DISTINCT WITH (fillfactor='70')",
              "ALTER TABLE ONLY public.u ADD CONSTRAINT u_k UNIQUE USING INDEX u_k" },
            { "ALTER TABLE public.v\n    ADD CONSTRAINT v_pkey PRIMARY KEY (id) WITH (fillfactor='50')\n",
              "CREATE UNIQUE INDEX v_pkey ON public.v USING btree (id) WITH (fillfactor='50')",
              "ALTER TABLE public.v ADD CONSTRAINT v_pkey PRIMARY KEY USING INDEX v_pkey" },
            /* other forms stay one statement */
            { "ALTER TABLE ONLY public.d\n    ADD CONSTRAINT d_u UNIQUE (a) DEFERRABLE INITIALLY DEFERRED", NULL, NULL },
            { "ALTER TABLE ONLY public.d\n    ADD CONSTRAINT d_pkey PRIMARY KEY (id) USING INDEX TABLESPACE fast", NULL, NULL },
            { "ALTER TABLE ONLY app.b\n    ADD CONSTRAINT b_excl EXCLUDE USING gist (during WITH &&)", NULL, NULL },
            { "ALTER TABLE ONLY public.c\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES public.p(id)", NULL, NULL },
            { "CREATE INDEX t_x ON public.t USING btree (x)", NULL, NULL },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id", NULL, NULL },
            { "ALTER TABLE ONLY t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)", NULL, NULL },
        };
        check_splits("key split", pg_split_key_stmt, ks, sizeof ks / sizeof ks[0]);
    }
    {
        /* foreign keys: added NOT VALID, validated apart */
        static const pair_case fs[] = {
            { "ALTER TABLE ONLY public.c\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES public.p(id)",
              "ALTER TABLE ONLY public.c\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES public.p(id) NOT VALID",
              "ALTER TABLE ONLY public.c VALIDATE CONSTRAINT c_fk" },
            { "ALTER TABLE ONLY \"Mixed\".\"T t\"\n    ADD CONSTRAINT \"fk \"\"x\" FOREIGN KEY (a) REFERENCES \"Mixed\".\"T t\"(b) DEFERRABLE INITIALLY DEFERRED\n",
              "ALTER TABLE ONLY \"Mixed\".\"T t\"\n    ADD CONSTRAINT \"fk \"\"x\" FOREIGN KEY (a) REFERENCES \"Mixed\".\"T t\"(b) DEFERRABLE INITIALLY DEFERRED NOT VALID",
              "ALTER TABLE ONLY \"Mixed\".\"T t\" VALIDATE CONSTRAINT \"fk \"\"x\"" },
            /* a partitioned table (no ONLY), one already NOT VALID, others */
            { "ALTER TABLE public.parted\n    ADD CONSTRAINT p_fk FOREIGN KEY (a) REFERENCES public.p(id)", NULL, NULL },
            { "ALTER TABLE ONLY public.c\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES public.p(id) NOT VALID", NULL, NULL },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id)", NULL, NULL },
            { "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_chk CHECK ((a > 0))", NULL, NULL },
            { "ALTER TABLE ONLY t\n    ADD CONSTRAINT c_fk FOREIGN KEY (p) REFERENCES p(id)", NULL, NULL },
            { "CREATE TRIGGER tr BEFORE INSERT ON public.t", NULL, NULL },
        };
        check_splits("fk split", pg_split_fk_stmt, fs, sizeof fs / sizeof fs[0]);
    }
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("PASS: split-test\n");
    return 0;
}
