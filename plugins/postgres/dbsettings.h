/*
 * dbsettings.h - database-level properties of the PostgreSQL plugin
 * (plugins/postgres/dbsettings.c).
 *
 * pg_dump without --create leaves out what belongs to the database itself:
 * ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET, COMMENT ON
 * DATABASE and the database's ACL.  Backup records them as optional keys
 * of the META "database" JSON object; restore re-applies them to the new
 * database after post-load SQL and before the owner step and the swap.
 *
 * META keys (all optional: an artifact without them restores as before,
 * and readers that do not know them ignore them):
 *   "settings"       ["name=value", ...]   pg_db_role_setting.setconfig
 *                                          items of setrole = 0
 *   "role_settings"  [{"role": r, "settings": [...]}, ...]
 *   "comment"        shobj_description(oid, 'pg_database')
 *   "owner"          the source database's owner
 *   "acl"            [{"grantee": r | null (PUBLIC), "privilege": p,
 *                      "grantable": bool}, ...]; present only when datacl
 *                     is not NULL (absent: the default privileges)
 */
#ifndef ES_PG_DBSETTINGS_H
#define ES_PG_DBSETTINGS_H

#include <jansson.h>
#include "pg.h"

typedef struct pg_dbsettings pg_dbsettings;

/* Backup: reads the current database's properties on conn (inside the
 * snapshot transaction) and adds the keys above to o.  0, or -1 with err
 * recorded. */
int pg_dbsettings_backup(PGconn *conn, json_t *o, pg_err *err);

/* Restore: takes the properties out of a META object.  *out is NULL when
 * the object has none (an older artifact).  Unless c->no_privileges, the
 * ACL's grantees must exist on the server behind maint: a missing one
 * fails here, before anything is created, naming the role. */
envsync_status pg_dbsettings_read(envsync_ctx *ctx, const pg_conf *c, PGconn *maint,
                                  json_t *o, pg_dbsettings **out);

/* Restore: applies p (NULL: nothing) to database db through maint:
 * settings, per-role settings (roles missing on the target are skipped
 * with a warning; all of them when c->no_owner), comment, ACL (not when
 * c->no_privileges; grants to the source's owner left out).  Reports its
 * own error. */
envsync_status pg_dbsettings_apply(envsync_ctx *ctx, const pg_conf *c, PGconn *maint,
                                   const char *db, const pg_dbsettings *p);

void pg_dbsettings_free(pg_dbsettings *p);

/* True for the variables pg_dump treats as GUC_LIST_QUOTE (its
 * variable_is_guc_list_quote()). */
int pg_guc_list_quote(const char *name);

/* Appends "SET name TO value" for one setconfig item ("name=value") the way
 * pg_dump writes it: a GUC_LIST_QUOTE variable's list split into elements,
 * each a string literal; any other value one string literal.  0; 1 for an
 * item without '=' (nothing appended); -1 for a malformed list or out of
 * memory. */
int pg_dbsettings_set_sql(es_buf *b, const char *item);

#endif
