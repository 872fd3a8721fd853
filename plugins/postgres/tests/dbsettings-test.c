/*
 * dbsettings-test.c - unit tests of the "SET name TO value" text built
 * from pg_db_role_setting items (plugins/postgres/dbsettings.c): pg_dump's
 * form, list variables split into literals; no server.
 */
#include "config.h"
#include "dbsettings.h"

#include <stdio.h>
#include <string.h>

const envsync_host *pg_host;   /* unused by the functions under test */

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void
set_case(const char *item, int want_rc, const char *want)
{
    es_buf b = ES_BUF_INIT;
    int rc = pg_dbsettings_set_sql(&b, item);

    CHECK(rc == want_rc, "<<%s>>: rc %d, want %d", item, rc, want_rc);
    if (rc == 0 && want)
        CHECK(b.data && strcmp(b.data, want) == 0, "<<%s>> gave <<%s>>, want <<%s>>", item,
              b.data ? b.data : "(null)", want);
    if (rc == 1)
        CHECK(b.len == 0, "<<%s>>: text appended for an item without '='", item);
    es_buf_free(&b);
}

int
main(void)
{
    /* plain values: one literal, as pg_dump writes them */
    set_case("work_mem=8MB", 0, "SET \"work_mem\" TO '8MB'");
    set_case("TimeZone=Europe/London", 0, "SET \"TimeZone\" TO 'Europe/London'");
    set_case("DateStyle=iso, mdy", 0, "SET \"DateStyle\" TO 'iso, mdy'");
    set_case("app.note=it's a=b", 0, "SET \"app.note\" TO 'it''s a=b'");
    set_case("app.path=C:\\tmp", 0, "SET \"app.path\" TO E'C:\\\\tmp'");
    set_case("app.empty=", 0, "SET \"app.empty\" TO ''");
    /* GUC_LIST_QUOTE variables: the stored list split, each element a literal */
    set_case("search_path=app, public", 0, "SET \"search_path\" TO 'app', 'public'");
    set_case("search_path=\"$user\", public, \"Odd Name\"", 0,
             "SET \"search_path\" TO '$user', 'public', 'Odd Name'");
    set_case("SEARCH_PATH=a,b", 0, "SET \"SEARCH_PATH\" TO 'a', 'b'");
    set_case("search_path=\"a\"\"b\", \"it's\"", 0, "SET \"search_path\" TO 'a\"b', 'it''s'");
    set_case("temp_tablespaces=\"\"", 0, "SET \"temp_tablespaces\" TO ''");
    set_case("temp_tablespaces=", 0, "SET \"temp_tablespaces\" TO ''");
    set_case("session_preload_libraries=auto_explain, \"$libdir/x\"", 0,
             "SET \"session_preload_libraries\" TO 'auto_explain', '$libdir/x'");
    set_case("local_preload_libraries=a", 0, "SET \"local_preload_libraries\" TO 'a'");
    /* malformed */
    set_case("noequals", 1, NULL);
    set_case("=x", 1, NULL);
    set_case("search_path=\"open", -1, NULL);
    set_case("search_path=a,,b", -1, NULL);
    set_case("search_path=a b", -1, NULL);
    set_case("search_path=a,", -1, NULL);

    CHECK(pg_guc_list_quote("unix_socket_directories"), "unix_socket_directories");
    CHECK(pg_guc_list_quote("Shared_Preload_Libraries"), "case");
    CHECK(!pg_guc_list_quote("work_mem"), "work_mem");
    CHECK(!pg_guc_list_quote("search_path_x"), "prefix");
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("dbsettings-test: all passed\n");
    return 0;
}
