/*
 * fuzz_rows.c - fuzz target for the row rewriter and the document
 * rewriter.  The input is used three ways: as DATA rows of a 5-column table
 * under rules using every rule kind, conditions and a filter; as rows
 * under all-keep rules (the output must then equal the input, byte for
 * byte, when every row is well-formed); as NDJSON documents; and as DDL
 * for the CREATE TABLE column scanner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "fuzz_main.h"

static const char *RULES =
    "table t\n"
    "  a hash(length=12)\n"
    "  b email when a = 'x'\n"
    "  b replace_emails\n"
    "  c json($.a: email, $.b[*]: mask(keep_last=2), $.c: remove, $.d: json($.e: null))\n"
    "  d mask(keep_last=3) when e > 5 and a is not null\n"
    "  d lorem\n"
    "  e replace('([0-9]+)', '<\\1>') | replace_emails | mask(keep_last=5)\n"
    "  filter e != 'drop'\n"
    "table k\n"
    "  a, b, c, d, e keep\n"
    "index i\n"
    "  $.user.email email\n"
    "  $.tags[*] phone\n"
    "  $.ip ip when $.n >= 3\n"
    "  $.x remove\n"
    "  $.name name\n"
    "  filter $.level != 'debug'\n";

static void
ddl_cb(void *arg, const sz_ddl_info *t)
{
    (void)arg;
    if (!t->schema || !t->table || !t->unique || (t->columns && !t->types))
        abort();
    sz_rule_type_problem(NULL, t->types);
}

static int
sink(void *arg, const char *data, size_t len, uint64_t rows)
{
    es_buf *b = arg;

    (void)rows;
    if (b)
        es_buf_append(b, data, len);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sr_ruleset *rs;
    sz z;
    sz_plan *p;
    sz_iplan *ip;
    char err[SR_ERRLEN];
    es_buf out = ES_BUF_INIT;
    const char *in = (const char *)data;

    if (!rs && sr_parse_buffer("fuzz", RULES, strlen(RULES), &rs, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    if (sz_init(&z, rs, (const unsigned char *)"fuzz-key", 8, 1700000000.0, 1, err, sizeof(err)) != 0)
        abort();
    if (sz_plan_get(&z, "s", "t", "a\tb\tc\td\te", &p, err, sizeof(err)) != 0)
        abort();
    sz_rows(&z, p, in, size, 256, sink, NULL, err, sizeof(err));
    /* all keep: byte-exact, with a final LF added if missing */
    if (sz_plan_get(&z, "s", "k", "a\tb\tc\td\te", &p, err, sizeof(err)) != 0)
        abort();
    if (sz_rows(&z, p, in, size, 1u << 30, sink, &out, err, sizeof(err)) == 0 && size > 0) {
        int same = (out.len == size && memcmp(out.data, in, size) == 0) ||
                   (out.len == size + 1 && memcmp(out.data, in, size) == 0 && out.data[size] == '\n');

        if (!same) {
            fprintf(stderr, "keep rules changed the rows\n");
            abort();
        }
    }
    es_buf_free(&out);
    sz_ddl_tables(in, size, "s", ddl_cb, NULL);
    ip = sz_iplan_get(&z, "i");
    if (ip)
        sz_docs(&z, ip, in, size, 256, sink, NULL, err, sizeof(err));
    sz_free(&z);
    return 0;
}

#ifndef FUZZING_LIBFUZZER
int
main(int argc, char **argv)
{
    return fz_main(argc, argv, "rows-", 20000);
}
#endif
