/*
 * dbsettings.c - database-level properties: ALTER DATABASE ... SET,
 * ALTER ROLE ... IN DATABASE ... SET, COMMENT ON DATABASE, the database's
 * ACL.  See dbsettings.h for the META keys.
 *
 * Text read from the shared catalogs is converted to UTF-8 on the server
 * (the META entry is JSON), and restore sends it with client_encoding
 * UTF8 whatever the maintenance database's encoding.
 */
#include "config.h"
#include "dbsettings.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_dbsettings {
    json_t *root;                /* the META object: owns what follows */
    json_t *settings, *role_settings, *acl;
    const char *comment, *owner;
};

/* ---------------------------------------------------------------- SQL text */

int
pg_guc_list_quote(const char *name)
{
    static const char *const names[] = {
        "local_preload_libraries", "search_path", "session_preload_libraries",
        "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories", NULL
    };
    size_t i;

    for (i = 0; names[i]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* A GUC_LIST_QUOTE value as the server stores it (flatten_set_variable_args:
 * elements separated by ',', each bare or "double-quoted" with "" for ")
 * as a list of string literals; pg_dump's SplitGUCList. */
static int
put_list(es_buf *b, const char *v)
{
    es_buf el = ES_BUF_INIT;
    const char *p = v, *s;
    int n = 0;

    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return pg_buf_literal(b, "");
    for (;;) {
        es_buf_reset(&el);
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p)
                    goto bad;
                if (*p == '"' && *++p != '"')
                    break;
                if (es_buf_putc(&el, *p) != 0)
                    goto bad;
            }
        } else {
            for (s = p; *p && *p != ',' && !isspace((unsigned char)*p); p++)
                ;
            if (p == s || es_buf_append(&el, s, (size_t)(p - s)) != 0)
                goto bad;
        }
        if ((n++ && es_buf_puts(b, ", ") != 0) || pg_buf_literal(b, el.data ? el.data : "") != 0)
            goto bad;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if (*p++ != ',')
            goto bad;
        while (isspace((unsigned char)*p))
            p++;
    }
    es_buf_free(&el);
    return 0;
bad:
    es_buf_free(&el);
    return -1;
}

int
pg_dbsettings_set_sql(es_buf *b, const char *item)
{
    const char *eq = strchr(item, '=');
    char *name;
    int rc;

    if (!eq || eq == item)
        return 1;
    if (!(name = strndup(item, (size_t)(eq - item))))
        return -1;
    rc = es_buf_puts(b, "SET ") || pg_buf_ident(b, name) || es_buf_puts(b, " TO ");
    if (!rc)
        rc = pg_guc_list_quote(name) ? put_list(b, eq + 1) : pg_buf_literal(b, eq + 1);
    free(name);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- backup */

/* Text columns come as bytea (convert_to(..., 'UTF8')). */
static const char settings_sql[] =
    "SELECT s.setrole <> 0, pg_catalog.convert_to(r.rolname, 'UTF8'),"
    " pg_catalog.convert_to(c.item, 'UTF8')"
    " FROM pg_catalog.pg_db_role_setting s"
    " JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
    " LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
    " CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) WITH ORDINALITY AS c(item, n)"
    " WHERE d.datname = pg_catalog.current_database()"
    " ORDER BY s.setrole <> 0, r.rolname, c.n";

static const char database_sql[] =
    "SELECT pg_catalog.convert_to(pg_catalog.shobj_description(d.oid, 'pg_database'), 'UTF8'),"
    " pg_catalog.convert_to(pg_catalog.pg_get_userbyid(d.datdba), 'UTF8'), d.datacl IS NOT NULL"
    " FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()";

static const char acl_sql[] =
    "SELECT a.grantee = 0, pg_catalog.convert_to(r.rolname, 'UTF8'), a.privilege_type,"
    " a.is_grantable"
    " FROM pg_catalog.pg_database d"
    " CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) a"
    " LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
    " WHERE d.datname = pg_catalog.current_database()"
    " ORDER BY a.grantee <> 0, r.rolname, a.privilege_type";

/* A bytea column as a JSON string; NULL (err recorded) if it is not UTF-8
 * (an SQL_ASCII source) or memory runs out. */
static json_t *
utf8_value(PGresult *res, int row, int col, pg_err *err, const char *what)
{
    size_t n;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    json_t *j = raw ? json_stringn((const char *)raw, n) : NULL;

    PQfreemem(raw);
    if (!j)
        pg_err_set(err, ENVSYNC_ERR_OTHER, "%s is not valid UTF-8 text", what);
    return j;
}

static int
add_settings(PGconn *conn, json_t *o, pg_err *err)
{
    PGresult *res = pg_query(conn, settings_sql, err, "reading the database's settings");
    json_t *db = json_array(), *roles = json_array(), *role = NULL, *items = NULL;
    int i, rc = -1;

    if (!res)
        goto out;
    if (!db || !roles)
        goto oom;
    for (i = 0; i < PQntuples(res); i++) {
        int per_role = PQgetvalue(res, i, 0)[0] == 't';
        json_t *item, *name;
        if (per_role && PQgetisnull(res, i, 1))  /* its role went meanwhile */
            continue;
        if (!(item = utf8_value(res, i, 2, err, "a database setting")))
            goto out;
        if (per_role) {
            if (!(name = utf8_value(res, i, 1, err, "a role name"))) {
                json_decref(item);
                goto out;
            }
            if (!role || !json_equal(json_object_get(role, "role"), name)) {
                /* rows come ordered by role: a new one starts */
                role = json_object();
                items = json_array();
                if (!role || !items || json_object_set_new(role, "role", name) != 0 ||
                    json_object_set_new(role, "settings", items) != 0 ||
                    json_array_append_new(roles, role) != 0) {
                    json_decref(item);
                    goto oom;
                }
            } else {
                json_decref(name);
            }
        }
        if (json_array_append_new(per_role ? items : db, item) != 0)
            goto oom;
    }
    if ((json_array_size(db) && json_object_set(o, "settings", db) != 0) ||
        (json_array_size(roles) && json_object_set(o, "role_settings", roles) != 0))
        goto oom;
    rc = 0;
    goto out;
oom:
    pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory");
out:
    PQclear(res);
    json_decref(db);
    json_decref(roles);
    return rc;
}

static int
add_acl(PGconn *conn, json_t *o, pg_err *err)
{
    PGresult *res = pg_query(conn, acl_sql, err, "reading the database's privileges");
    json_t *acl = json_array();
    int i, rc = -1;

    if (!res || !acl) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory");
        goto out;
    }
    for (i = 0; i < PQntuples(res); i++) {
        int public = PQgetvalue(res, i, 0)[0] == 't';
        json_t *grantee = json_null(), *e;
        if (!public) {
            if (PQgetisnull(res, i, 1))          /* a dangling grantee */
                continue;
            if (!(grantee = utf8_value(res, i, 1, err, "a grantee's name")))
                goto out;
        }
        e = json_pack("{s:o, s:s, s:b}", "grantee", grantee, "privilege",
                      PQgetvalue(res, i, 2), "grantable", PQgetvalue(res, i, 3)[0] == 't');
        if (!e || json_array_append_new(acl, e) != 0) {
            pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory");
            goto out;
        }
    }
    if (json_object_set(o, "acl", acl) != 0) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory");
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    json_decref(acl);
    return rc;
}

int
pg_dbsettings_backup(PGconn *conn, json_t *o, pg_err *err)
{
    PGresult *res;
    json_t *v;
    int has_acl, rc = 0;

    if (add_settings(conn, o, err) != 0)
        return -1;
    if (!(res = pg_query(conn, database_sql, err, "reading the database's comment and owner")))
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        pg_err_set(err, ENVSYNC_ERR_OTHER, "current database not found in pg_database");
        return -1;
    }
    if (!PQgetisnull(res, 0, 0)) {
        v = utf8_value(res, 0, 0, err, "the database comment");
        rc = !v || json_object_set_new(o, "comment", v) != 0;
    }
    if (!rc) {
        v = utf8_value(res, 0, 1, err, "the database owner's name");
        rc = !v || json_object_set_new(o, "owner", v) != 0;
    }
    has_acl = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (rc) {
        pg_err_set(err, ENVSYNC_ERR_OTHER, "out of memory");
        return -1;
    }
    return has_acl ? add_acl(conn, o, err) : 0;
}

/* ---------------------------------------------------------------- restore */

static int
string_array(const json_t *a)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, v)
        if (!json_is_string(v))
            return 0;
    return 1;
}

static const char *
privilege_keyword(const char *p)
{
    static const char *const known[] = { "CONNECT", "CREATE", "TEMPORARY", NULL };
    size_t i;

    for (i = 0; known[i]; i++)
        if (strcmp(p, known[i]) == 0)
            return known[i];
    return NULL;
}

static envsync_status
validate(envsync_ctx *ctx, const pg_dbsettings *p)
{
    size_t i;
    json_t *v;
    const char *bad = NULL;

    if (p->settings && !string_array(p->settings))
        bad = "settings";
    if (p->role_settings) {
        if (!json_is_array(p->role_settings))
            bad = "role_settings";
        json_array_foreach(p->role_settings, i, v)
            if (!json_is_string(json_object_get(v, "role")) ||
                !string_array(json_object_get(v, "settings")))
                bad = "role_settings";
    }
    if (p->acl) {
        if (!json_is_array(p->acl))
            bad = "acl";
        json_array_foreach(p->acl, i, v) {
            json_t *g = json_object_get(v, "grantee"), *pr = json_object_get(v, "privilege");
            if (!(json_is_null(g) || json_is_string(g)) || !json_is_string(pr) ||
                !privilege_keyword(json_string_value(pr)) ||
                !json_is_boolean(json_object_get(v, "grantable")))
                bad = "acl";
        }
    }
    if (bad)
        return pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "META database entry: malformed "
                              "\"%s\"", bad);
    return ENVSYNC_OK;
}

/* The maintenance connection speaks UTF-8 while we use it (the META text
 * is UTF-8); *was receives the encoding to go back to. */
static envsync_status
utf8_begin(envsync_ctx *ctx, PGconn *maint, const char **was)
{
    *was = pg_encoding_to_char(PQclientEncoding(maint));
    if (strcmp(*was, "UTF8") == 0) {
        *was = NULL;
        return ENVSYNC_OK;
    }
    if (PQsetClientEncoding(maint, "UTF8") != 0)
        return pg_host->error(ctx, pg_classify(maint, NULL), "cannot set client_encoding UTF8 "
                              "on the maintenance connection: %s", PQerrorMessage(maint));
    return ENVSYNC_OK;
}

static void
utf8_end(PGconn *maint, const char *was)
{
    if (was)
        PQsetClientEncoding(maint, was);
}

/* 1 exists, 0 not, -1 error (reported). */
static int
role_exists(envsync_ctx *ctx, PGconn *maint, const char *role)
{
    const char *params[1] = { role };
    PGresult *res = PQexecParams(maint, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                                 1, NULL, params, NULL, NULL, 0);
    int n = -1;
    char msg[PG_ERRLEN];

    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        n = PQntuples(res) > 0;
    else
        pg_host->error(ctx, pg_classify(maint, res), "looking up role \"%s\": %s", role,
                       pg_message(maint, res, msg, sizeof msg));
    PQclear(res);
    return n;
}

static int
is_owner(const pg_dbsettings *p, const char *role)
{
    return role && p->owner && strcmp(role, p->owner) == 0;
}

/* True when an ACL entry before the i-th names grantee g too. */
static int
seen_before(const json_t *acl, size_t i, const char *g)
{
    size_t j;

    for (j = 0; j < i; j++) {
        const char *h = json_string_value(json_object_get(json_array_get(acl, j), "grantee"));
        if (h && strcmp(h, g) == 0)
            return 1;
    }
    return 0;
}

/* Fails when a grantee of the source's ACL is not a role here. */
static envsync_status
check_grantees(envsync_ctx *ctx, PGconn *maint, const pg_dbsettings *p)
{
    es_buf missing = ES_BUF_INIT;
    size_t i, n = 0;
    json_t *v;
    envsync_status st = ENVSYNC_OK;

    json_array_foreach(p->acl, i, v) {
        const char *g = json_string_value(json_object_get(v, "grantee"));
        int e;
        if (!g || is_owner(p, g) || seen_before(p->acl, i, g))
            continue;
        if ((e = role_exists(ctx, maint, g)) < 0) {
            es_buf_free(&missing);
            return ENVSYNC_ERR_OTHER;
        }
        if (!e && ((n++ && es_buf_puts(&missing, ", ") != 0) || pg_buf_ident(&missing, g) != 0)) {
            es_buf_free(&missing);
            return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        }
    }
    if (n)
        st = pg_host->error(ctx, ENVSYNC_ERR_OTHER, "the source database grants privileges to "
                            "role%s %s, missing on the target server: create %s, or set "
                            "no_privileges = true to restore without the source's grants",
                            n > 1 ? "s" : "", missing.data, n > 1 ? "them" : "it");
    es_buf_free(&missing);
    return st;
}

envsync_status
pg_dbsettings_read(envsync_ctx *ctx, const pg_conf *c, PGconn *maint, json_t *o,
                   pg_dbsettings **out)
{
    pg_dbsettings *p;
    envsync_status st;
    const char *was;

    *out = NULL;
    if (!json_object_get(o, "settings") && !json_object_get(o, "role_settings") &&
        !json_object_get(o, "comment") && !json_object_get(o, "acl"))
        return ENVSYNC_OK;
    if (!(p = calloc(1, sizeof *p)))
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    p->root = json_incref(o);
    p->settings = json_object_get(o, "settings");
    p->role_settings = json_object_get(o, "role_settings");
    p->acl = json_object_get(o, "acl");
    p->comment = json_string_value(json_object_get(o, "comment"));
    p->owner = json_string_value(json_object_get(o, "owner"));
    if ((json_object_get(o, "comment") && !p->comment) ||
        (json_object_get(o, "owner") && !p->owner)) {
        pg_dbsettings_free(p);
        return pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "META database entry: malformed "
                              "\"comment\" or \"owner\"");
    }
    if ((st = validate(ctx, p)) != ENVSYNC_OK) {
        pg_dbsettings_free(p);
        return st;
    }
    /* Checked now, before a database is created or (mode replace) dropped:
     * a missing grantee would fail the restore at its end. */
    if (p->acl && !c->no_privileges) {
        if ((st = utf8_begin(ctx, maint, &was)) == ENVSYNC_OK) {
            st = check_grantees(ctx, maint, p);
            utf8_end(maint, was);
        }
        if (st != ENVSYNC_OK) {
            pg_dbsettings_free(p);
            return st;
        }
    }
    *out = p;
    return ENVSYNC_OK;
}

static envsync_status
run(envsync_ctx *ctx, PGconn *maint, const char *db, es_buf *sql)
{
    PGresult *res;
    envsync_status st = ENVSYNC_OK;
    char msg[PG_ERRLEN];

    if (!sql->data)
        return pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    res = PQexec(maint, sql->data);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        st = pg_host->error(ctx, pg_classify(maint, res), "database \"%s\": \"%.200s\": %s", db,
                            sql->data, pg_message(maint, res, msg, sizeof msg));
    PQclear(res);
    es_buf_reset(sql);
    return st;
}

/* prefix ("ALTER DATABASE x " ...) + SET for each item of a settings array. */
static envsync_status
apply_settings(envsync_ctx *ctx, PGconn *maint, const char *db, const char *prefix,
               const json_t *items, size_t *count)
{
    es_buf sql = ES_BUF_INIT;
    envsync_status st = ENVSYNC_OK;
    size_t i;
    json_t *v;

    json_array_foreach(items, i, v) {
        const char *item = json_string_value(v);
        int rc;
        es_buf_puts(&sql, prefix);
        rc = pg_dbsettings_set_sql(&sql, item);
        if (rc == 1) {
            pg_host->log(ctx, ENVSYNC_LOG_WARN, "database \"%s\": setting \"%s\" has no '=': "
                         "skipped", db, item);
            es_buf_reset(&sql);
            continue;
        }
        if (rc != 0) {
            st = pg_host->error(ctx, ENVSYNC_ERR_INTEGRITY, "database \"%s\": malformed list "
                                "value in setting \"%s\"", db, item);
            break;
        }
        if ((st = run(ctx, maint, db, &sql)) != ENVSYNC_OK)
            break;
        (*count)++;
    }
    es_buf_free(&sql);
    return st;
}

static envsync_status
apply_role_settings(envsync_ctx *ctx, PGconn *maint, const char *db, const pg_dbsettings *p,
                    size_t *count)
{
    es_buf prefix = ES_BUF_INIT;
    envsync_status st = ENVSYNC_OK;
    size_t i;
    json_t *v;

    json_array_foreach(p->role_settings, i, v) {
        const char *role = json_string_value(json_object_get(v, "role"));
        json_t *items = json_object_get(v, "settings");
        int e = role_exists(ctx, maint, role);
        if (e < 0) {
            st = ENVSYNC_ERR_OTHER;
            break;
        }
        if (!e) {
            pg_host->log(ctx, ENVSYNC_LOG_WARN, "role \"%s\" does not exist on the target: its "
                         "%zu setting%s in database \"%s\" not restored", role,
                         json_array_size(items), json_array_size(items) == 1 ? "" : "s", db);
            continue;
        }
        es_buf_reset(&prefix);
        es_buf_puts(&prefix, "ALTER ROLE ");
        pg_buf_ident(&prefix, role);
        es_buf_puts(&prefix, " IN DATABASE ");
        pg_buf_ident(&prefix, db);
        if (es_buf_puts(&prefix, " ") != 0) {
            st = pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
            break;
        }
        if ((st = apply_settings(ctx, maint, db, prefix.data, items, count)) != ENVSYNC_OK)
            break;
    }
    es_buf_free(&prefix);
    return st;
}

/* The source's ACL: REVOKE ALL FROM PUBLIC unless PUBLIC kept its default
 * CONNECT and TEMPORARY, then a GRANT per entry (not the owner's: the
 * target's owner is another role, with all privileges anyway). */
static envsync_status
apply_acl(envsync_ctx *ctx, PGconn *maint, const char *db, const pg_dbsettings *p,
          size_t *count)
{
    es_buf sql = ES_BUF_INIT;
    envsync_status st = ENVSYNC_OK;
    int pub_connect = 0, pub_temp = 0;
    size_t i;
    json_t *v;

    json_array_foreach(p->acl, i, v) {
        const char *priv = json_string_value(json_object_get(v, "privilege"));
        if (json_is_null(json_object_get(v, "grantee"))) {
            pub_connect |= strcmp(priv, "CONNECT") == 0;
            pub_temp |= strcmp(priv, "TEMPORARY") == 0;
        }
    }
    if (!pub_connect || !pub_temp) {
        es_buf_puts(&sql, "REVOKE ALL ON DATABASE ");
        pg_buf_ident(&sql, db);
        es_buf_puts(&sql, " FROM PUBLIC");
        if ((st = run(ctx, maint, db, &sql)) != ENVSYNC_OK)
            goto out;
        (*count)++;
    }
    json_array_foreach(p->acl, i, v) {
        const char *g = json_string_value(json_object_get(v, "grantee"));
        if (is_owner(p, g))
            continue;
        es_buf_printf(&sql, "GRANT %s ON DATABASE ",
                      privilege_keyword(json_string_value(json_object_get(v, "privilege"))));
        pg_buf_ident(&sql, db);
        es_buf_puts(&sql, " TO ");
        if (g)
            pg_buf_ident(&sql, g);
        else
            es_buf_puts(&sql, "PUBLIC");
        if (json_is_true(json_object_get(v, "grantable")))
            es_buf_puts(&sql, " WITH GRANT OPTION");
        if ((st = run(ctx, maint, db, &sql)) != ENVSYNC_OK)
            goto out;
        (*count)++;
    }
out:
    es_buf_free(&sql);
    return st;
}

envsync_status
pg_dbsettings_apply(envsync_ctx *ctx, const pg_conf *c, PGconn *maint, const char *db,
                    const pg_dbsettings *p)
{
    es_buf sql = ES_BUF_INIT;
    envsync_status st;
    size_t nset = 0, nrole = 0, nacl = 0;
    const char *was;

    if (!p)
        return ENVSYNC_OK;
    if ((st = utf8_begin(ctx, maint, &was)) != ENVSYNC_OK)
        return st;
    if (p->settings) {
        es_buf_puts(&sql, "ALTER DATABASE ");
        pg_buf_ident(&sql, db);
        es_buf_puts(&sql, " ");
        st = sql.data ? apply_settings(ctx, maint, db, sql.data, p->settings, &nset)
                      : pg_host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
        es_buf_reset(&sql);
    }
    if (st == ENVSYNC_OK && p->role_settings) {
        if (c->no_owner)
            pg_host->log(ctx, ENVSYNC_LOG_INFO, "no_owner: the source's per-role settings in "
                         "the database (%zu roles) are not restored",
                         json_array_size(p->role_settings));
        else
            st = apply_role_settings(ctx, maint, db, p, &nrole);
    }
    if (st == ENVSYNC_OK && p->comment) {
        es_buf_puts(&sql, "COMMENT ON DATABASE ");
        pg_buf_ident(&sql, db);
        es_buf_puts(&sql, " IS ");
        pg_buf_literal(&sql, p->comment);
        st = run(ctx, maint, db, &sql);
    }
    if (st == ENVSYNC_OK && p->acl && !c->no_privileges)
        st = apply_acl(ctx, maint, db, p, &nacl);
    utf8_end(maint, was);
    es_buf_free(&sql);
    if (st == ENVSYNC_OK)
        pg_host->log(ctx, ENVSYNC_LOG_INFO, "database \"%s\": %zu settings, %zu per-role "
                     "settings, %s comment, %zu privilege statements from the source", db,
                     nset, nrole, p->comment ? "the" : "no", nacl);
    return st;
}

void
pg_dbsettings_free(pg_dbsettings *p)
{
    if (!p)
        return;
    json_decref(p->root);
    free(p);
}
