/*
 * plugin.c - the "sanitise" transform plugin: options, policy, entry
 * routing, the verification verdict and the run report.
 *
 * Entries arrive in artifact order (SCHEMA first, then DATA/DOCS chunks,
 * then POSTLOAD/META).  DATA and DOCS are rewritten by apply.c; everything
 * else passes through, except per-object SCHEMA entries of dropped tables.
 *
 * Policy strict: the CREATE TABLE statements in SCHEMA entries are checked
 * first (ddl.c): unclassified columns found there fail the run at the
 * first entry after the schema, before any row reaches the restore, listing
 * every table.  Then the first DATA chunk of every table is checked against
 * its real column list (tables whose DDL was not understood, columns the
 * DDL did not show): an unclassified column there makes the plugin stop
 * emitting anything while it keeps reading headers to collect every
 * unclassified column of every table, and transform_finish fails the run
 * with ENVSYNC_ERR_REFUSED listing them all.  The restore never swaps
 * after a failed run, so the target is untouched either way.
 */
#define _GNU_SOURCE 1  /* memmem */
#include <envsync/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"

#define SANITISE_VERSION "1.0.0"
#define MAX_SQL_SCRIPT (64u << 20)
#define FLUSH_SLACK ((size_t)8 << 20)

static const envsync_host *H;

static const envsync_option options[] = {
    { "rules", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL,
      "path of the rules file (docs/sanitise.md)" },
    { "key", ENVSYNC_OPT_STRING, ENVSYNC_OPT_SECRET, NULL,
      "HMAC key for hash/email/name/phone/ip rules (or key_file)" },
    { "policy", ENVSYNC_OPT_STRING, 0, "strict",
      "strict: every column needs a rule; warn: log unclassified columns" },
    { "verify", ENVSYNC_OPT_BOOL, 0, "false",
      "scan the output for values that look like emails, phones, card numbers" },
    { "verify_threshold", ENVSYNC_OPT_INT, 0, "0",
      "fail when the scan finds more than this many values" },
    { "sql", ENVSYNC_OPT_LIST, 0, NULL,
      "SQL scripts run in the restore's temporary database before the swap" },
    { "now", ENVSYNC_OPT_STRING, 0, NULL,
      "timestamp used as `now` in relative filters (default: the run's start)" },
    { "report", ENVSYNC_OPT_BOOL, 0, "true",
      "emit a META entry sanitise-report with per-rule counts" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

typedef struct script {
    char *path;
    char *text;
    size_t len;
} script;

typedef struct san {
    envsync_ctx *ctx;
    sr_ruleset *rs;
    sz z;
    int z_ready;
    int strict;
    int verify;
    int report;
    int64_t threshold;
    script *sql;
    size_t nsql;
    es_buf violations;          /* "table: col, col" lines */
    size_t nviolations;
    int refused;
    int ddl_refused;            /* found in SCHEMA entries: fail at the next
                                 * non-schema entry, before any row */
    es_buf reported;            /* "\nschema.table\n" already listed */
    es_buf problems;            /* rules that cannot fit the schema */
    es_buf pgdrops;             /* DROP TABLE statements for PostgreSQL */
    size_t nproblems;
    size_t ddl_tables;          /* CREATE TABLEs with columns seen */
    uint64_t rows_dropped_tables, docs_dropped;
} san;

typedef struct emit_arg {
    envsync_sink *out;
    const envsync_entry *entry;
    uint64_t *seq;
} emit_arg;

static int
emit_entry(void *vp, const char *data, size_t len, uint64_t rows)
{
    emit_arg *a = vp;
    envsync_entry e;
    size_t n = a->entry->struct_size < sizeof(e) ? a->entry->struct_size : sizeof(e);

    memset(&e, 0, sizeof(e));
    memcpy(&e, a->entry, n);
    e.struct_size = sizeof(e);
    e.rows = rows;
    e.seq = (*a->seq)++;
    return (int)a->out->put(a->out, &e, data, len);
}

static int
read_file(const char *path, size_t max, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    es_buf b;
    char chunk[8192];
    size_t n;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    es_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (es_buf_append(&b, chunk, n) < 0) {
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
            fclose(f);
            es_buf_free(&b);
            return -1;
        }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        fclose(f);
        es_buf_free(&b);
        return -1;
    }
    fclose(f);
    *text = es_buf_detach(&b, len);
    return 0;
}

static void
san_free(san *s)
{
    size_t i;

    if (!s)
        return;
    if (s->z_ready)
        sz_free(&s->z);
    sr_ruleset_free(s->rs);
    for (i = 0; i < s->nsql; i++) {
        free(s->sql[i].path);
        free(s->sql[i].text);
    }
    free(s->sql);
    es_buf_free(&s->violations);
    es_buf_free(&s->reported);
    es_buf_free(&s->problems);
    es_buf_free(&s->pgdrops);
    free(s);
}

static const char *
where(envsync_ctx *ctx, const char *opt)
{
    const char *w = H->opt_where ? H->opt_where(ctx, opt) : NULL;

    return w && *w ? w : "config";
}

static envsync_status
san_init(envsync_ctx *ctx, void **state)
{
    san *s = calloc(1, sizeof(*s));
    char err[SR_ERRLEN + 256];
    const char *rules, *key, *policy, *now_s;
    double now;
    size_t i, nsql;
    envsync_status st;

    if (!s)
        return H->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    s->ctx = ctx;
    es_buf_init(&s->violations, 1u << 20);
    es_buf_init(&s->reported, 1u << 22);
    es_buf_init(&s->problems, 1u << 20);
    es_buf_init(&s->pgdrops, 1u << 24);
    rules = H->opt_string(ctx, "rules");
    if (!rules || !*rules) {
        st = H->error(ctx, ENVSYNC_ERR_CONFIG, "%s: option `rules` is empty", where(ctx, "rules"));
        goto fail;
    }
    if (sr_parse_file(rules, &s->rs, err, sizeof(err)) < 0) {
        st = H->error(ctx, ENVSYNC_ERR_CONFIG, "rules: %s", err);
        goto fail;
    }
    policy = H->opt_string(ctx, "policy");
    if (!policy || !strcmp(policy, "strict")) {
        s->strict = 1;
    } else if (!strcmp(policy, "warn")) {
        s->strict = 0;
    } else {
        st = H->error(ctx, ENVSYNC_ERR_CONFIG, "%s: policy must be \"strict\" or \"warn\", not \"%s\"",
                      where(ctx, "policy"), policy);
        goto fail;
    }
    s->verify = (int)H->opt_int(ctx, "verify");
    s->threshold = H->opt_int(ctx, "verify_threshold");
    s->report = (int)H->opt_int(ctx, "report");
    if (s->threshold < 0) {
        st = H->error(ctx, ENVSYNC_ERR_CONFIG, "%s: verify_threshold must be >= 0",
                      where(ctx, "verify_threshold"));
        goto fail;
    }
    key = H->opt_string(ctx, "key");
    if (s->rs->needs_key && (!key || !*key)) {
        st = H->error(ctx, ENVSYNC_ERR_CONFIG,
                      "%s: the rules file %s uses keyed rules (hash, email, name, phone, ip, "
                      "replace_emails) but no key is set: give `key` or `key_file`",
                      where(ctx, "rules"), rules);
        goto fail;
    }
    if (key && *key && strlen(key) < 16)
        H->log(ctx, ENVSYNC_LOG_WARN, "the HMAC key is shorter than 16 bytes: "
               "short keys make hashed values guessable");
    now_s = H->opt_string(ctx, "now");
    if (now_s && *now_s) {
        if (sr_parse_time(now_s, strlen(now_s), &now) < 0) {
            st = H->error(ctx, ENVSYNC_ERR_CONFIG,
                          "%s: now = \"%s\" is not a timestamp (YYYY-MM-DD[ HH:MM:SS][+HH:MM] or epoch seconds)",
                          where(ctx, "now"), now_s);
            goto fail;
        }
    } else {
        now = (double)time(NULL);
    }
    nsql = H->opt_list_count(ctx, "sql");
    if (nsql) {
        s->sql = calloc(nsql, sizeof(script));
        if (!s->sql) {
            st = H->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
            goto fail;
        }
        for (i = 0; i < nsql; i++) {
            const char *p = H->opt_list_item(ctx, "sql", i);

            s->sql[i].path = strdup(p ? p : "");
            s->nsql++;
            if (!s->sql[i].path ||
                read_file(s->sql[i].path, MAX_SQL_SCRIPT, &s->sql[i].text, &s->sql[i].len,
                          err, sizeof(err)) < 0) {
                st = H->error(ctx, ENVSYNC_ERR_CONFIG, "%s: sql script %s", where(ctx, "sql"), err);
                goto fail;
            }
        }
    }
    if (sz_init(&s->z, s->rs, (const unsigned char *)key, key ? strlen(key) : 0, now,
                s->verify, err, sizeof(err)) < 0) {
        st = H->error(ctx, ENVSYNC_ERR_OTHER, "%s", err);
        goto fail;
    }
    s->z_ready = 1;
    *state = s;
    return ENVSYNC_OK;
fail:
    san_free(s);
    return st;
}

static envsync_status
san_check(envsync_ctx *ctx, void *state)
{
    san *s = state;

    H->log(ctx, ENVSYNC_LOG_INFO, "rules %s: %zu table block(s), %zu index block(s), policy %s%s",
           s->rs->file, s->rs->ntables, s->rs->nindexes, s->strict ? "strict" : "warn",
           s->verify ? ", verification scan on" : "");
    return ENVSYNC_OK;
}

static void
san_destroy(void *state)
{
    san_free(state);
}

static envsync_status
san_begin(envsync_ctx *ctx, void *state)
{
    san *s = state;

    H->log(ctx, ENVSYNC_LOG_DEBUG, "rules %s, policy %s", s->rs->file,
           s->strict ? "strict" : "warn");
    return ENVSYNC_OK;
}

static int
was_reported(san *s, const char *display)
{
    size_t n = strlen(display);
    const char *p = s->reported.data;

    while (p && (p = strstr(p, display)) != NULL) {
        if ((p == s->reported.data || p[-1] == '\n') && p[n] == '\n')
            return 1;
        p += n;
    }
    return 0;
}

static void
add_violation(san *s, const char *display, const char *extra, const char *cols)
{
    if (s->violations.len < (1u << 19))
        es_buf_printf(&s->violations, "%s%s%s: %s", s->nviolations ? "; " : "",
                      display, extra, cols);
    s->nviolations++;
    es_buf_printf(&s->reported, "%s\n", display);
    s->refused = 1;
}

typedef struct ddl_arg {
    san *s;
    envsync_ctx *ctx;
    int pg_blob;                /* pg_dump's pre-data script (all tables) */
} ddl_arg;

/* PostgreSQL identifier quoting: "a""b" */
static void
pg_ident(es_buf *b, const char *id)
{
    es_buf_putc(b, '"');
    for (; *id; id++) {
        if (*id == '"')
            es_buf_putc(b, '"');
        es_buf_putc(b, *id);
    }
    es_buf_putc(b, '"');
}

static void
add_problem(san *s, envsync_ctx *ctx, const char *msg)
{
    if (s->problems.data && strstr(s->problems.data, msg))
        return;                  /* a unique key seen twice */
    H->log(ctx, ENVSYNC_LOG_ERROR, "%s", msg);
    if (s->problems.len < (1u << 19))
        es_buf_printf(&s->problems, "%s%s", s->problems.len ? "; " : "", msg);
    s->nproblems++;
}

/* Schema entries, before any row: policy strict on the CREATE TABLE column
 * lists; rules that cannot fit a column's type; rules that are not
 * injective on a column under a single-column unique key. */
static void
ddl_table(void *vp, const sz_ddl_info *ti)
{
    ddl_arg *a = vp;
    san *s = a->s;
    sr_table *t = sr_find_table(s->rs, ti->schema, ti->table);
    es_buf b = ES_BUF_INIT, disp = ES_BUF_INIT, msg = ES_BUF_INIT;
    const char *c, *ty;
    size_t j;

    if (t && t->action == SR_TABLE_DROP && a->pg_blob && ti->columns) {
        /* pg_dump creates every table in one script: the table is really
         * dropped in the restore's temporary database before the swap (no
         * CASCADE: a dependent view or foreign key fails the restore) */
        es_buf_puts(&s->pgdrops, "DROP TABLE IF EXISTS ");
        pg_ident(&s->pgdrops, ti->schema);
        es_buf_putc(&s->pgdrops, '.');
        pg_ident(&s->pgdrops, ti->table);
        es_buf_puts(&s->pgdrops, ";\n");
        H->log(a->ctx, ENVSYNC_LOG_INFO, "table %s.%s dropped: created by the schema script, "
               "dropped by a post-load statement before the swap", ti->schema, ti->table);
    }
    if (ti->columns) {
        size_t k;

        s->ddl_tables++;
        /* a table block counts as present when a CREATE TABLE names its
         * table; the schema is not compared, since DDL does not always
         * carry one (a MySQL per-table script, an unqualified name) */
        for (k = 0; k < s->rs->ntables; k++) {
            sr_table *blk = &s->rs->tables[k];
            const char *dot = strrchr(blk->pattern, '.');

            if (!strcmp(dot ? dot + 1 : blk->pattern, ti->table))
                blk->seen_in_ddl = 1;
        }
    }
    if (t && t->action != SR_TABLE_ROWS)
        return;
    es_buf_printf(&disp, "%s.%s", ti->schema, ti->table);
    for (c = ti->columns, ty = ti->types; c && *c;) {
        const char *e = strchr(c, '\t'), *te = ty ? strchr(ty, '\t') : NULL;
        size_t n = e ? (size_t)(e - c) : strlen(c);
        size_t tn = ty ? (te ? (size_t)(te - ty) : strlen(ty)) : 0;
        char type[64];
        int named = 0;

        snprintf(type, sizeof(type), "%.*s", (int)(tn < sizeof(type) ? tn : sizeof(type) - 1),
                 ty ? ty : "");
        for (j = 0; t && j < t->ncols; j++) {
            sr_colrule *cr = &t->cols[j];
            const char *why;

            if (strlen(cr->column) != n || memcmp(cr->column, c, n))
                continue;
            named = 1;
            if ((why = sz_rule_type_problem(cr->rule, type)) != NULL) {
                es_buf_reset(&msg);
                es_buf_printf(&msg, "%s:%d: rule '%s' does not fit %s.%.*s (%s): %s",
                              s->rs->file, cr->line, cr->rule->text, disp.data, (int)n, c,
                              type, why);
                add_problem(s, a->ctx, msg.data);
            }
        }
        if (!named)
            es_buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)n, c);
        c += n + (e != NULL);
        ty = ty && te ? te + 1 : NULL;
    }
    /* rules naming columns the table does not have (renamed or dropped
     * upstream: its new column is unclassified, its rule protects nothing) */
    for (j = 0; t && ti->columns && j < t->ncols; j++) {
        const char *cn = t->cols[j].column;
        size_t cl = strlen(cn);
        int found = 0;

        for (c = ti->columns; *c;) {
            const char *e = strchr(c, '\t');
            size_t n = e ? (size_t)(e - c) : strlen(c);

            if (n == cl && !memcmp(c, cn, n))
                found = 1;
            c += n + (e != NULL);
        }
        if (!found && !strchr(cn, '.') && !strchr(cn, '*')) {
            es_buf_reset(&msg);
            es_buf_printf(&msg, "%s:%d: table %s has no column %s", s->rs->file, t->cols[j].line,
                          disp.data, cn);
            if (s->strict)
                add_problem(s, a->ctx, msg.data);
            else
                H->log(a->ctx, ENVSYNC_LOG_WARN, "%s", msg.data);
        }
    }
    for (c = ti->unique; t && c && *c;) {
        const char *e = strchr(c, '\t');
        size_t n = e ? (size_t)(e - c) : strlen(c);

        for (j = 0; j < t->ncols; j++) {
            sr_colrule *cr = &t->cols[j];

            if (strlen(cr->column) != n || memcmp(cr->column, c, n) ||
                !sz_rule_not_injective(cr->rule))
                continue;
            es_buf_reset(&msg);
            es_buf_printf(&msg, "%s:%d: rule '%s' on %s.%.*s, which has a unique key: "
                          "not injective (distinct values would collide)",
                          s->rs->file, cr->line, cr->rule->text, disp.data, (int)n, c);
            add_problem(s, a->ctx, msg.data);
        }
        c += n + (e != NULL);
    }
    if (s->strict && ti->columns && b.len && !was_reported(s, disp.data)) {
        H->log(a->ctx, ENVSYNC_LOG_ERROR,
               "policy strict: table %s has unclassified columns: %s (from its CREATE TABLE)",
               disp.data, b.data);
        add_violation(s, disp.data, t ? "" : " (no table block)", b.data);
        s->ddl_refused = 1;
    }
    es_buf_free(&b);
    es_buf_free(&disp);
    es_buf_free(&msg);
}

static envsync_status
rules_problems(san *s, envsync_ctx *ctx)
{
    return H->error(ctx, ENVSYNC_ERR_CONFIG, "%zu rule(s) do not fit the schema: %s",
                    s->nproblems, s->problems.data ? s->problems.data : "");
}

static envsync_status
refuse(san *s, envsync_ctx *ctx)
{
    return H->error(ctx, ENVSYNC_ERR_REFUSED,
                    "policy strict: %zu table(s)/index(es) have unclassified columns "
                    "(give each a rule or `keep` in %s): %s",
                    s->nviolations, s->rs->file, s->violations.data ? s->violations.data : "");
}

/* First chunk of a table: policy check and warnings. */
static void
check_plan(san *s, envsync_ctx *ctx, sz_plan *p)
{
    es_buf b = ES_BUF_INIT;
    size_t i;

    p->checked = 1;
    if (p->missing)
        H->log(ctx, ENVSYNC_LOG_WARN, "rules for table %s name columns it does not have: %s",
               p->display, p->missing);
    if (p->table && p->table->action != SR_TABLE_ROWS)
        return;
    if (!p->nunclassified)
        return;
    for (i = 0; i < p->ncols; i++) {
        if (p->cols[i].classified)
            continue;
        es_buf_printf(&b, "%s%s%s", b.len ? ", " : "", p->cols[i].name,
                      (!s->strict && p->cols[i].personal) ? " (looks personal!)" : "");
    }
    if (s->strict) {
        if (!was_reported(s, p->display)) {
            H->log(ctx, ENVSYNC_LOG_ERROR, "policy strict: table %s has unclassified columns: %s%s",
                   p->display, b.data ? b.data : "",
                   s->refused ? "" : "; nothing more is emitted, the run will fail after "
                                     "listing every table");
            add_violation(s, p->display, p->table ? "" : " (no table block)", b.data ? b.data : "");
        }
        s->refused = 1;
    } else {
        H->log(ctx, ENVSYNC_LOG_WARN, "table %s: %zu unclassified column(s) kept as they are: %s",
               p->display, p->nunclassified, b.data ? b.data : "");
    }
    es_buf_free(&b);
}

/* A per-table schema entry (attribute type=table, as the mysql plugin
 * writes them) of a table the rules drop.  Whole-section scripts (pg_dump)
 * are never omitted: their tables are dropped by a post-load statement. */
static int
schema_of_dropped(san *s, const envsync_entry *e)
{
    sr_table *t;
    size_t i;
    int is_table = 0;

    if (!e->object)
        return 0;
    for (i = 0; e->attrs && i < e->nattrs; i++)
        if (e->attrs[i].key && !strcmp(e->attrs[i].key, "type") && e->attrs[i].value &&
            !strcmp(e->attrs[i].value, "table"))
            is_table = 1;
    if (!is_table)
        return 0;
    t = sr_find_table(s->rs, e->schema, e->object);
    return t && t->action == SR_TABLE_DROP;
}

static envsync_status
san_entry(envsync_ctx *ctx, void *state, const envsync_entry *entry,
          const void *data, size_t len, envsync_sink *out)
{
    san *s = state;
    char err[SR_ERRLEN + 256];
    envsync_status st = H->cancelled(ctx);
    emit_arg ea;
    int rc;

    if (st != ENVSYNC_OK)
        return st;
    if (entry->kind == ENVSYNC_ENTRY_SCHEMA) {
        ddl_arg da;

        da.s = s;
        da.ctx = ctx;
        /* pg_dump's pre-data script always resets search_path this way */
        da.pg_blob = entry->section && !strcmp(entry->section, "pre-data") &&
                     memmem(data, len, "pg_catalog.set_config('search_path'", 35) != NULL;
        sz_ddl_tables(data, len, entry->schema, ddl_table, &da);
    } else if (s->nproblems) {
        return rules_problems(s, ctx);
    } else if (s->ddl_refused) {
        return refuse(s, ctx);
    }
    ea.out = out;
    ea.entry = entry;
    switch (entry->kind) {
    case ENVSYNC_ENTRY_DATA: {
        sz_plan *p;

        if (sz_plan_get(&s->z, entry->schema, entry->object, entry->columns, &p,
                        err, sizeof(err)) < 0)
            return H->error(ctx, ENVSYNC_ERR_CONFIG, "table %s%s%s: %s",
                            entry->schema ? entry->schema : "", entry->schema ? "." : "",
                            entry->object ? entry->object : "?", err);
        if (!p->checked)
            check_plan(s, ctx, p);
        if (s->refused)
            return ENVSYNC_OK;
        if (p->table && p->table->action != SR_TABLE_ROWS) {
            p->table->rows_in += entry->rows;
            p->rows_in += entry->rows;
            return ENVSYNC_OK;
        }
        ea.seq = &p->seq_out;
        /* an empty entry marks the end of the table's data: pass it on */
        if (len == 0 && entry->rows == 0)
            return (envsync_status)emit_entry(&ea, "", 0, 0);
        rc = sz_rows(&s->z, p, data, len, len + FLUSH_SLACK, emit_entry, &ea, err, sizeof(err));
        if (rc > 0)
            return (envsync_status)rc;
        if (rc < 0)
            return H->error(ctx, ENVSYNC_ERR_INTEGRITY, "table %s, chunk %llu: %s", p->display,
                            (unsigned long long)entry->seq, err);
        return ENVSYNC_OK;
    }
    case ENVSYNC_ENTRY_DOCS: {
        sz_iplan *ip = sz_iplan_get(&s->z, entry->object);

        if (!ip)
            return H->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        if (!ip->checked) {
            ip->checked = 1;
            if (!ip->index && s->strict) {
                H->log(ctx, ENVSYNC_LOG_ERROR,
                       "policy strict: index %s has no index block in the rules", ip->name);
                if (s->violations.len)
                    es_buf_puts(&s->violations, "; ");
                es_buf_printf(&s->violations, "index %s (no index block)", ip->name);
                s->nviolations++;
                s->refused = 1;
            } else if (!ip->index) {
                H->log(ctx, ENVSYNC_LOG_WARN,
                       "index %s has no index block: documents kept as they are", ip->name);
            }
        }
        if (s->refused)
            return ENVSYNC_OK;
        if (ip->index && ip->index->action != SR_TABLE_ROWS) {
            ip->index->docs_in += entry->rows;
            ip->docs_in += entry->rows;
            return ENVSYNC_OK;
        }
        ea.seq = &ip->seq_out;
        rc = sz_docs(&s->z, ip, data, len, len + FLUSH_SLACK, emit_entry, &ea, err, sizeof(err));
        if (rc > 0)
            return (envsync_status)rc;
        if (rc < 0)
            return H->error(ctx, ENVSYNC_ERR_INTEGRITY, "index %s, chunk %llu: %s", ip->name,
                            (unsigned long long)entry->seq, err);
        return ENVSYNC_OK;
    }
    case ENVSYNC_ENTRY_SCHEMA:
        if (s->refused)
            return ENVSYNC_OK;
        if (schema_of_dropped(s, entry)) {
            H->log(ctx, ENVSYNC_LOG_INFO, "table %s dropped: its schema entry (%s) is omitted",
                   entry->object, entry->section ? entry->section : "-");
            return ENVSYNC_OK;
        }
        return out->put(out, entry, data, len);
    default:
        if (s->refused)
            return ENVSYNC_OK;
        return out->put(out, entry, data, len);
    }
}

static json_t *
build_report(san *s)
{
    json_t *rep = json_object(), *rules = json_array(), *tables = json_array(),
           *indexes = json_array();
    size_t i, j;
    sz_plan *p;
    sz_iplan *ip;

    for (i = 0; i < s->rs->ntables; i++) {
        sr_table *t = &s->rs->tables[i];

        for (j = 0; j < t->ncols; j++) {
            sr_colrule *cr = &t->cols[j];

            if (cr->rule->kind == SR_KEEP && !cr->rule->next)
                continue;
            json_array_append_new(rules, json_pack("{s:s, s:s, s:s, s:i, s:I}",
                "table", t->pattern, "column", cr->column, "rule", cr->rule->text,
                "line", cr->line, "changed", (json_int_t)cr->changed));
        }
    }
    for (i = 0; i < s->rs->nindexes; i++) {
        sr_index *x = &s->rs->indexes[i];

        for (j = 0; j < x->nrules; j++)
            json_array_append_new(rules, json_pack("{s:s, s:s, s:s, s:i, s:I}",
                "index", x->pattern, "path", x->rules[j].path.text,
                "rule", x->rules[j].rule->text, "line", x->rules[j].line,
                "changed", (json_int_t)x->rules[j].changed));
    }
    for (p = s->z.plans; p; p = p->next) {
        const char *act = !p->table ? "unlisted" :
            p->table->action == SR_TABLE_DROP ? "drop" :
            p->table->action == SR_TABLE_TRUNCATE ? "truncate" :
            p->table->nfilters ? "filter" : "rows";

        json_array_append_new(tables, json_pack("{s:s, s:s, s:I, s:I}", "table", p->display,
            "action", act, "rows_in", (json_int_t)p->rows_in, "rows_out", (json_int_t)p->rows_out));
    }
    for (ip = s->z.iplans; ip; ip = ip->next) {
        const char *act = !ip->index ? "unlisted" :
            ip->index->action == SR_TABLE_DROP ? "drop" :
            ip->index->action == SR_TABLE_TRUNCATE ? "truncate" : "docs";

        json_array_append_new(indexes, json_pack("{s:s, s:s, s:I, s:I}", "index", ip->name,
            "action", act, "docs_in", (json_int_t)ip->docs_in, "docs_out", (json_int_t)ip->docs_out));
    }
    json_object_set_new(rep, "plugin", json_string("sanitise"));
    json_object_set_new(rep, "version", json_string(SANITISE_VERSION));
    json_object_set_new(rep, "rules_file", json_string(s->rs->file));
    json_object_set_new(rep, "policy", json_string(s->strict ? "strict" : "warn"));
    json_object_set_new(rep, "rules", rules);
    json_object_set_new(rep, "tables", tables);
    json_object_set_new(rep, "indexes", indexes);
    if (s->verify)
        json_object_set_new(rep, "verify", json_pack("{s:I, s:I, s:I, s:I}",
            "emails", (json_int_t)s->z.found.emails, "phones", (json_int_t)s->z.found.phones,
            "cards", (json_int_t)s->z.found.cards, "threshold", (json_int_t)s->threshold));
    return rep;
}

static void
log_summary(san *s, envsync_ctx *ctx)
{
    size_t i, j;
    uint64_t total = 0;

    for (i = 0; i < s->rs->ntables; i++) {
        sr_table *t = &s->rs->tables[i];

        for (j = 0; j < t->ncols; j++) {
            sr_colrule *cr = &t->cols[j];

            if (cr->rule->kind == SR_KEEP && !cr->rule->next)
                continue;
            total += cr->changed;
            H->log(ctx, ENVSYNC_LOG_INFO, "%s.%s %s (%s:%d): %llu value(s) changed",
                   t->pattern, cr->column, cr->rule->text, s->rs->file, cr->line,
                   (unsigned long long)cr->changed);
        }
        if (t->action != SR_TABLE_ROWS || t->nfilters)
            H->log(ctx, ENVSYNC_LOG_INFO, "table %s %s (%s:%d): %llu row(s) in, %llu out",
                   t->pattern, t->action == SR_TABLE_DROP ? "drop" :
                   t->action == SR_TABLE_TRUNCATE ? "truncate" : "filter",
                   s->rs->file, t->line, (unsigned long long)t->rows_in,
                   (unsigned long long)t->rows_out);
    }
    for (i = 0; i < s->rs->nindexes; i++) {
        sr_index *x = &s->rs->indexes[i];

        for (j = 0; j < x->nrules; j++) {
            total += x->rules[j].changed;
            H->log(ctx, ENVSYNC_LOG_INFO, "index %s %s %s (%s:%d): %llu value(s) changed",
                   x->pattern, x->rules[j].path.text, x->rules[j].rule->text, s->rs->file,
                   x->rules[j].line, (unsigned long long)x->rules[j].changed);
        }
    }
    H->log(ctx, ENVSYNC_LOG_INFO, "sanitised: %llu value(s) changed by %zu table and %zu index block(s)",
           (unsigned long long)total, s->rs->ntables, s->rs->nindexes);
}

static envsync_status
verify_verdict(san *s, envsync_ctx *ctx)
{
    const sz_scan *f = &s->z.found;
    uint64_t total = f->emails + f->phones + f->cards;
    es_buf where_b = ES_BUF_INIT;
    sz_plan *p;
    sz_iplan *ip;
    size_t i;
    envsync_status st = ENVSYNC_OK;

    for (p = s->z.plans; p; p = p->next)
        for (i = 0; i < p->ncols; i++) {
            const sz_scan *c = &p->cols[i].found;

            if (c->emails + c->phones + c->cards == 0)
                continue;
            if (where_b.len < 4000)
                es_buf_printf(&where_b, "%s%s.%s (%llu emails, %llu phones, %llu cards)",
                              where_b.len ? ", " : "", p->display, p->cols[i].name,
                              (unsigned long long)c->emails, (unsigned long long)c->phones,
                              (unsigned long long)c->cards);
        }
    for (ip = s->z.iplans; ip; ip = ip->next) {
        const sz_scan *c = &ip->found;

        if (c->emails + c->phones + c->cards == 0)
            continue;
        if (where_b.len < 4000)
            es_buf_printf(&where_b, "%sindex %s (%llu emails, %llu phones, %llu cards)",
                          where_b.len ? ", " : "", ip->name, (unsigned long long)c->emails,
                          (unsigned long long)c->phones, (unsigned long long)c->cards);
    }
    H->log(ctx, total ? ENVSYNC_LOG_WARN : ENVSYNC_LOG_INFO,
           "verification scan: %llu value(s) look personal (%llu emails, %llu phones, %llu card numbers), threshold %lld%s%s",
           (unsigned long long)total, (unsigned long long)f->emails,
           (unsigned long long)f->phones, (unsigned long long)f->cards,
           (long long)s->threshold, total ? ": " : "", total ? where_b.data : "");
    if (total > (uint64_t)s->threshold)
        st = H->error(ctx, ENVSYNC_ERR_REFUSED,
                      "verification scan found %llu value(s) that look like personal data, above verify_threshold %lld: %s",
                      (unsigned long long)total, (long long)s->threshold,
                      where_b.data ? where_b.data : "");
    es_buf_free(&where_b);
    return st;
}

static envsync_status
san_finish(envsync_ctx *ctx, void *state, envsync_sink *out)
{
    san *s = state;
    envsync_status st;
    size_t i;

    /* table blocks that match no table of the artifact's schema: a warning
     * (DDL does not always show every table, e.g. unqualified scripts) */
    for (i = 0; s->ddl_tables && i < s->rs->ntables; i++) {
        const sr_table *t = &s->rs->tables[i];
        char msg[600];

        if (t->has_glob || t->seen_in_ddl)
            continue;
        snprintf(msg, sizeof msg, "%s:%d: table %s is not in the artifact's schema", s->rs->file,
                 t->line, t->pattern);
        H->log(ctx, ENVSYNC_LOG_WARN, "%s", msg);
    }
    if (s->nproblems)
        return rules_problems(s, ctx);
    if (s->refused)
        return refuse(s, ctx);
    log_summary(s, ctx);
    if (s->verify && (st = verify_verdict(s, ctx)) != ENVSYNC_OK)
        return st;
    if (s->pgdrops.len) {
        envsync_entry e;

        ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_POSTLOAD);
        e.object = "sanitise-drop";
        e.section = "sanitise";
        st = out->put(out, &e, s->pgdrops.data, s->pgdrops.len);
        if (st != ENVSYNC_OK)
            return st;
    }
    for (i = 0; i < s->nsql; i++) {
        envsync_entry e;
        const char *base = strrchr(s->sql[i].path, '/');

        ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_POSTLOAD);
        e.object = base ? base + 1 : s->sql[i].path;
        e.section = "sanitise";
        e.seq = i;
        st = out->put(out, &e, s->sql[i].text, s->sql[i].len);
        if (st != ENVSYNC_OK)
            return st;
    }
    if (s->report) {
        json_t *rep = build_report(s);
        char *txt = rep ? json_dumps(rep, JSON_COMPACT) : NULL;
        envsync_entry e;
        static const envsync_attr attrs[] = { { "producer", "sanitise" } };

        json_decref(rep);
        if (!txt)
            return H->error(ctx, ENVSYNC_ERR_OTHER, "out of memory building the report");
        ENVSYNC_ENTRY_INIT(e, ENVSYNC_ENTRY_META);
        e.object = "sanitise-report";
        e.attrs = attrs;
        e.nattrs = 1;
        st = out->put(out, &e, txt, strlen(txt));
        free(txt);
        if (st != ENVSYNC_OK)
            return st;
    }
    return ENVSYNC_OK;
}

static const envsync_plugin descriptor = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "sanitise",
    .version = SANITISE_VERSION,
    .description = "rewrites rows and documents by rules so no personal data reaches lower environments",
    .engine = NULL,
    .phases = ENVSYNC_PHASE_TRANSFORM,
    .options = options,
    .init = san_init,
    .check = san_check,
    .destroy = san_destroy,
    .transform_begin = san_begin,
    .transform_entry = san_entry,
    .transform_finish = san_finish,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *host)
{
    H = host;
    return &descriptor;
}
