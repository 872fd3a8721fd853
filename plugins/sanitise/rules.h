/*
 * rules.h - the sanitise plugin's internal model (docs/sanitise.md).
 *
 * A rules file (rules.c) becomes an sr_ruleset: table blocks with column
 * rules, row filters and conditions, and index blocks with JSON-path rules.
 * A value rule (sr_rule) maps one raw value to one raw value; the functions
 * in rules_*.c implement them.  Everything here is independent of the host:
 * unit tests and fuzz targets link it without the core.
 *
 * Invariants
 * - Every rule, table, index and condition remembers the line it was
 *   written on; every parse or run-time error names "file:line".
 * - Rules are pure functions of (value, key): the same input and key give
 *   the same output in every table, every run, every machine.
 * - NULL stays NULL for the value-derived rules (hash, email, ...); only
 *   set, empty and null ignore the input.
 */
#ifndef SANITISE_RULES_H
#define SANITISE_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <regex.h>

#include "buf.h"

#define SR_ERRLEN 512

/* ------------------------------------------------------------ predicates */
typedef enum sr_op {
    SR_OP_EQ, SR_OP_NE, SR_OP_LT, SR_OP_LE, SR_OP_GT, SR_OP_GE,
    SR_OP_ISNULL, SR_OP_NOTNULL
} sr_op;

typedef enum sr_lit {
    SR_LIT_NUM,        /* 42, -1.5: the value is parsed as a number */
    SR_LIT_STR,        /* 'text': bytewise comparison */
    SR_LIT_TIME        /* now - 1 day, '2024-01-01 10:00': timestamps */
} sr_lit;

typedef struct sr_cmp {
    char *column;      /* column name, or JSON path in an index block */
    sr_op op;
    sr_lit lit;
    double num;        /* SR_LIT_NUM */
    char *str;         /* SR_LIT_STR (also the literal as written) */
    size_t slen;
    int rel;           /* SR_LIT_TIME: 1 = relative to now */
    double secs;       /* SR_LIT_TIME: absolute epoch seconds, or offset */
} sr_cmp;

/* A conjunction: every comparison must hold.  NULL never compares. */
typedef struct sr_pred {
    sr_cmp *cmps;
    size_t n;
    int line;
} sr_pred;

/* ------------------------------------------------------------ value rules */
typedef enum sr_kind {
    SR_KEEP, SR_NULL, SR_EMPTY, SR_SET, SR_HASH, SR_EMAIL, SR_NAME,
    SR_PHONE, SR_IP, SR_MASK, SR_LOREM, SR_REPLACE, SR_REPLACE_EMAILS,
    SR_JSON, SR_REMOVE   /* SR_REMOVE: inside json() / index blocks only */
} sr_kind;

typedef enum sr_enc { SR_ENC_HEX, SR_ENC_BASE32, SR_ENC_DECIMAL } sr_enc;
typedef enum sr_part { SR_PART_FULL, SR_PART_FIRST, SR_PART_LAST } sr_part;

struct sr_jrule;

typedef struct sr_rule {
    sr_kind kind;
    int line;
    char *text;                /* the rule as written, for reports */
    /* set */
    char *value;
    size_t vlen;
    /* hash */
    sr_enc enc;
    int length;                /* 0 = encoding's full length */
    /* email */
    char *domain;
    /* name */
    sr_part part;
    /* mask */
    int keep_last;
    char mask_char;
    /* replace */
    regex_t re;
    int re_compiled;
    char *repl;
    /* json */
    struct sr_jrule *json;
    size_t njson;
    /* pipeline: `a | b` applies b to a's result */
    struct sr_rule *next;
} sr_rule;

/* A JSON path: segments of object keys, array indexes and wildcards. */
typedef enum sr_jseg_kind { SR_JSEG_KEY, SR_JSEG_INDEX, SR_JSEG_ANY } sr_jseg_kind;
typedef struct sr_jseg {
    sr_jseg_kind kind;
    char *key;
    size_t index;
} sr_jseg;
typedef struct sr_jpath {
    sr_jseg *segs;
    size_t n;
    char *text;
} sr_jpath;

typedef struct sr_jrule {
    sr_jpath path;
    sr_rule *rule;
    sr_pred *when;             /* index blocks only; NULL = always */
    int line;
    uint64_t changed;
} sr_jrule;

/* ------------------------------------------------------------ tables */
typedef struct sr_colrule {
    char *column;
    sr_rule *rule;             /* shared between columns of one line */
    sr_pred *when;             /* NULL = always */
    int line;
    uint64_t changed;          /* values this line's rule changed */
} sr_colrule;

typedef enum sr_taction { SR_TABLE_ROWS, SR_TABLE_TRUNCATE, SR_TABLE_DROP } sr_taction;

typedef struct sr_table {
    char *pattern;             /* "schema.table" or "table"; fnmatch globs */
    int has_glob;
    int qualified;             /* pattern names a schema */
    sr_taction action;
    int line;
    sr_colrule *cols;
    size_t ncols;
    sr_pred **filters;         /* all must hold (AND) */
    size_t nfilters;
    uint64_t rows_in, rows_out;
    int seen_in_ddl;           /* a CREATE TABLE matched this block */
} sr_table;

typedef struct sr_index {
    char *pattern;             /* index name, fnmatch globs */
    int has_glob;
    sr_taction action;
    int line;
    sr_jrule *rules;
    size_t nrules;
    sr_pred **filters;
    size_t nfilters;
    uint64_t docs_in, docs_out;
} sr_index;

typedef struct sr_ruleset {
    char *file;
    sr_table *tables;
    size_t ntables;
    sr_index *indexes;
    size_t nindexes;
    int needs_key;             /* some rule is keyed (hash, email, ...) */
    /* every sr_rule allocated, for freeing */
    sr_rule **rules;
    size_t nrules;
    sr_pred **preds;
    size_t npreds;
} sr_ruleset;

/* ------------------------------------------------------------ parsing */
/* Parse a rules file.  Returns 0, or -1 with "file:line: message" in err. */
int sr_parse_file(const char *path, sr_ruleset **out, char *err, size_t errlen);
/* Same, from memory; `name` is used in messages. */
int sr_parse_buffer(const char *name, const char *text, size_t len,
                    sr_ruleset **out, char *err, size_t errlen);
void sr_ruleset_free(sr_ruleset *rs);

/* Find the block for a table / index: an exact (glob-free) pattern wins
 * over globs; otherwise the first matching block in file order. */
sr_table *sr_find_table(sr_ruleset *rs, const char *schema, const char *object);
sr_index *sr_find_index(sr_ruleset *rs, const char *name);

/* Parse a timestamp ("2024-01-02", "2024-01-02 03:04:05.123+01",
 * "2024-01-02T03:04:05Z", or integer epoch seconds).  Returns 0 and sets
 * *secs (UTC epoch), else -1.  Without an offset the time is UTC. */
int sr_parse_time(const char *s, size_t len, double *secs);

/* ------------------------------------------------------------ applying */
/* Per-run state shared by every rule: the key and a scratch area. */
typedef struct sr_env {
    const unsigned char *key;
    size_t keylen;
    double now;                /* epoch seconds for relative times */
    void *mac;                 /* EVP_MAC_CTX, keyed once */
    void *macbase;
    es_buf tmp;                /* scratch for rules */
    es_buf tmp2;
} sr_env;

int sr_env_init(sr_env *env, const unsigned char *key, size_t keylen,
                double now, char *err, size_t errlen);
void sr_env_free(sr_env *env);

/* HMAC-SHA256(key, tag || value) into out[32].  tag may be NULL. */
void sr_hmac(sr_env *env, const char *tag, const void *p, size_t len,
             unsigned char out[32]);

/* Apply a value rule.  in == NULL means SQL NULL.  On return *out points
 * to the result (NULL = SQL NULL) of *outlen bytes, valid until the next
 * call with the same env; it may point into `in` when unchanged.
 * Returns 0, or -1 with a message in err (e.g. invalid rule state). */
int sr_apply(sr_env *env, const sr_rule *r, const char *in, size_t inlen,
             const char **out, size_t *outlen, es_buf *dst);

/* Individual rules (rules_keyed.c, rules_text.c, json.c).  Each appends
 * the result to dst. */
int sr_rule_hash(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_email(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_name(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_phone(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_ip(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_mask(const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_lorem(const char *in, size_t len, es_buf *dst);
int sr_rule_replace(const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_replace_emails(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);
int sr_rule_json(sr_env *env, const sr_rule *r, const char *in, size_t len, es_buf *dst);

/* Email address scanner shared by replace_emails and the verification
 * scan: finds the next address in [p, end); returns its start and sets
 * *alen, or NULL. */
const char *sr_find_email(const char *p, const char *end, size_t *alen);
/* Domains reserved for documentation (RFC 2606/6761): example.*, *.invalid,
 * *.test, *.example, *.localhost. */
int sr_reserved_domain(const char *dom, size_t len);

/* Predicate evaluation: get(arg, column, &p, &len) returns 1 with the raw
 * value, 0 for NULL, -1 when the column does not exist. */
typedef int (*sr_get_fn)(void *arg, size_t idx, const sr_cmp *c,
                         const char **p, size_t *len);
int sr_pred_eval(const sr_pred *pr, double now, sr_get_fn get, void *arg);

#endif
