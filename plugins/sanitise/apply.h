/*
 * apply.h - the sanitiser engine: rewrites DATA chunks (shared row format)
 * and DOCS chunks (NDJSON) according to a ruleset.  Host-independent: the
 * plugin (plugin.c), the unit tests, the fuzz targets and the benchmark all
 * drive it directly.
 *
 * Memory: one output buffer of about the chunk size (flushed through the
 * emit callback whenever it passes `flush_at`), one scratch buffer of the
 * longest field, and one plan per (schema, object, columns) seen.
 *
 * Not thread-safe: one sz per transform instance; entries arrive in order.
 */
#ifndef SANITISE_APPLY_H
#define SANITISE_APPLY_H

#include <stdint.h>
#include <jansson.h>

#include "rules.h"
#include "rowcodec.h"

/* What the verification scan found in the output. */
typedef struct sz_scan {
    uint64_t emails;     /* addresses outside reserved example domains */
    uint64_t phones;     /* whole values shaped like phone numbers */
    uint64_t cards;      /* 13-19 digit numbers passing Luhn */
} sz_scan;

void sz_scan_value(sz_scan *s, const char *p, size_t len);
int sz_luhn(const char *digits, size_t n);

/* One column of a plan. */
typedef struct sz_col {
    const char *name;            /* points into plan->colbuf */
    sr_colrule **rules;          /* rules for this column, in file order */
    size_t nrules;
    int **when_idx;              /* per rule: column index of each cmp */
    int classified;
    int personal;                /* name looks personal (warn policy) */
    sz_scan found;               /* verification scan hits */
} sz_col;

typedef struct sz_plan {
    struct sz_plan *next;
    char *schema, *object, *columns;
    char *display;               /* "schema.object" */
    sr_table *table;             /* NULL: no block in the rules */
    size_t ncols;
    sz_col *cols;
    char *colbuf;
    size_t *active;              /* columns with a non-keep rule */
    size_t nactive;
    unsigned char *flags;        /* per column, per row: scanned/replaced */
    char *missing;               /* rule columns absent from the table */
    int **filter_idx;            /* per table filter: cmp column indexes */
    int passthrough;             /* nothing to rewrite or filter */
    int checked;                 /* policy check done */
    size_t nunclassified;
    uint64_t rows_in, rows_out, seq_out;
    int scan_all;                /* verify: scan every kept column */
} sz_plan;

typedef struct sz_iplan {
    struct sz_iplan *next;
    char *name;
    sr_index *index;             /* NULL: no block in the rules */
    uint64_t docs_in, docs_out, seq_out;
    int checked;                 /* policy check done */
    sz_scan found;
} sz_iplan;

typedef struct sz {
    sr_ruleset *rs;
    sr_env env;
    int verify;
    sz_plan *plans;
    sz_iplan *iplans;
    es_buf out;
    es_buf scratch;              /* unescaped field */
    es_buf pscratch;             /* predicate values */
    es_field *fields;
    size_t nfields_cap;
    sz_scan found;               /* total */
    /* docs: json values created by rules (not scanned) */
    void **made;
    size_t nmade, capmade;
} sz;

/* Emit one rewritten chunk of `rows` rows / documents. */
typedef int (*sz_emit_fn)(void *arg, const char *data, size_t len, uint64_t rows);

int sz_init(sz *z, sr_ruleset *rs, const unsigned char *key, size_t keylen,
            double now, int verify, char *err, size_t errlen);
void sz_free(sz *z);

/* The plan for a table's chunk; built on first use.  A `columns` string
 * that differs from the cached one builds a new plan.  Errors (a filter or
 * condition naming a column the table lacks) are "file:line: ..." */
int sz_plan_get(sz *z, const char *schema, const char *object,
                const char *columns, sz_plan **out, char *err, size_t errlen);

/* Rewrite one DATA chunk.  Calls emit for every flush_at bytes of output
 * and once at the end if rows remain.  Returns 0, or -1 with err set
 * (malformed row: "row N: ..."). */
int sz_rows(sz *z, sz_plan *p, const char *data, size_t len, size_t flush_at,
            sz_emit_fn emit, void *arg, char *err, size_t errlen);

sz_iplan *sz_iplan_get(sz *z, const char *index);
int sz_docs(sz *z, sz_iplan *ip, const char *data, size_t len, size_t flush_at,
            sz_emit_fn emit, void *arg, char *err, size_t errlen);

/* json.c: apply index rules to one parsed document; 1 if changed. */
int sz_doc_rules(sz *z, sr_index *ix, json_t *root);
/* 1 = keep the document, 0 = filtered out. */
int sz_doc_filter(sz *z, sr_index *ix, json_t *root);
/* Scan every string/number in root not created by a rule. */
void sz_doc_scan(sz *z, json_t *root, sz_scan *s);

/* jansson dump flags for a rewritten document: compact, shortest reals. */
size_t sz_json_flags(json_t *root);

/* ddl.c: what the schema entries say about tables.  For a CREATE TABLE
 * whose column list is complete: columns ("a\tb"), their types (first
 * word, lower case, parallel) and single-column unique keys; for ALTER
 * TABLE ... ADD CONSTRAINT ... PRIMARY KEY|UNIQUE (c) and CREATE UNIQUE
 * INDEX ... (c): columns = types = NULL and unique = "c".  `schema` is used
 * for unqualified names (MySQL: the database); without one, no report. */
typedef struct sz_ddl_info {
    const char *schema, *table;
    const char *columns, *types;
    const char *unique;
} sz_ddl_info;
typedef void (*sz_ddl_fn)(void *arg, const sz_ddl_info *t);
void sz_ddl_tables(const char *ddl, size_t len, const char *schema, sz_ddl_fn cb, void *arg);

/* The problem with applying rule r to a column of this type (NULL = none
 * known): "produces text" etc. */
const char *sz_rule_type_problem(const sr_rule *r, const char *type);
/* Rules that can map distinct values to one (set, empty, lorem, mask, name). */
int sz_rule_not_injective(const sr_rule *r);

/* Column names that look personal (email, phone, name, address, ...). */
int sz_personal_name(const char *col);

#endif
