/*
 * test_conf.c - unit tests of config validation and the plugin loader
 * (Check).  Plugins come from $ENVSYNC_PLUGIN_PATH (the test plugins and
 * the file plugin of the build tree).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loader.h"
#include "log.h"
#include "run.h"
#include "util.h"

static char dir[] = "/tmp/envsync-unit-XXXXXX";
static char err[2048];

static char *
write_conf(const char *name, const char *text)
{
    char *path = es_asprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static envsync_status
load(const char *text, es_conf **c)
{
    es_loader l;
    char *path = write_conf("t.conf", text);
    envsync_status st;

    es_loader_init(&l, &es_host);
    es_loader_add_env(&l);
    st = es_conf_load(path, &l, c, err, sizeof err);
    free(path);
    if (st == ENVSYNC_OK) {
        /* options stay valid after the loader is gone: they are copied */
        es_conf_free(*c);
        *c = NULL;
    }
    es_loader_free(&l);
    return st;
}

#define STORAGE "storage: { local: { plugin = \"file\"; path = \"/tmp/x\"; }; };\n"

START_TEST(valid_minimal)
{
    es_conf *c = NULL;

    ck_assert_int_eq(load(STORAGE "jobs = ( { name = \"a\"; fetch = { storage = \"local\"; };"
                          " restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n", &c),
                     ENVSYNC_OK);
}
END_TEST

START_TEST(values_and_defaults)
{
    es_loader l;
    es_conf *c = NULL;
    char *path;
    es_optval *ov;
    es_job *j;

    setenv("ENVSYNC_UNIT_DB", "from-env", 1);
    path = write_conf("v.conf", STORAGE
                      "jobs = ( { name = \"a\"; timeout = \"2h\"; artifact = { compression = \"gzip\"; level = 1; };"
                      " backup = { plugin = \"testdb\"; dir = \"/d\"; database = \"${ENVSYNC_UNIT_DB}-$$\";"
                      " chunk_size = \"2M\"; delay_ms = 3; }; store = { storage = \"local\"; }; } );\n");
    es_loader_init(&l, &es_host);
    es_loader_add_env(&l);
    ck_assert_int_eq(es_conf_load(path, &l, &c, err, sizeof err), ENVSYNC_OK);
    j = es_conf_job(c, "a");
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(j->timeout_ms, 2 * 3600 * 1000);
    ck_assert_int_eq(j->art.compression, ES_COMP_GZIP);
    ck_assert_int_eq(j->art.level, 1);
    ov = es_instance_opt(j->backup, "database");
    ck_assert_str_eq(ov->str, "from-env-$");
    ck_assert_int_eq(es_instance_opt(j->backup, "chunk_size")->num, 2 << 20);
    ck_assert_int_eq(es_instance_opt(j->backup, "delay_ms")->num, 3000);
    ck_assert_int_eq(es_instance_opt(j->backup, "generate")->num, 0);     /* default */
    ck_assert_int_eq(es_instance_opt(j->backup, "generate")->isset, 0);
    ck_assert(strstr(es_instance_opt(j->backup, "database")->where, "v.conf:2") != NULL);
    es_conf_free(c);
    es_loader_free(&l);
    free(path);
}
END_TEST

static void
expect_error(const char *text, envsync_status want, const char *needle)
{
    es_conf *c = NULL;
    envsync_status st = load(text, &c);

    ck_assert_msg(st == want, "status %d, want %d: %s", st, want, err);
    ck_assert_msg(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
}

START_TEST(errors)
{
    expect_error("jobs = ( { name = \"a\" } ", ENVSYNC_ERR_CONFIG, "t.conf:1: syntax error");
    expect_error(STORAGE "jobs = 3;\n", ENVSYNC_ERR_CONFIG, "t.conf:2: 'jobs' must be a list");
    expect_error("storage: { s: { plugin = \"file\"; }; };\n", ENVSYNC_ERR_CONFIG, "requires 'path'");
    expect_error("storage: { s: { plugin = \"file\"; path = 1; }; };\n", ENVSYNC_ERR_CONFIG,
                 "'path' must be a string, not an integer");
    expect_error("storage: { s: { plugin = \"nosuch\"; }; };\n", ENVSYNC_ERR_PLUGIN, "plugin 'nosuch' not found");
    expect_error("storage: { s: { plugin = \"testdb\"; }; };\n", ENVSYNC_ERR_PLUGIN, "does not provide the store/fetch phase");
    expect_error(STORAGE "jobs = ( { name = \"a b\"; } );\n", ENVSYNC_ERR_CONFIG, "may only contain");
    expect_error(STORAGE "jobs = ( { name = \"a\"; fetch = { storage = \"local\"; select = \"yesterday\"; };"
                 " restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "select must be");
    expect_error(STORAGE "jobs = ( { name = \"a\"; artifact = { compression = \"lz4\"; };"
                 " fetch = { storage = \"local\"; }; restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "compression must be");
    expect_error(STORAGE "jobs = ( { name = \"a\"; artifact = { encryption_key = \"short\"; };"
                 " fetch = { storage = \"local\"; }; restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "encryption key must be 32 bytes");
    expect_error(STORAGE "jobs = ( { name = \"a\"; backup = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; };"
                 " fetch = { storage = \"local\"; }; restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "has backup and fetch but no store");
    expect_error(STORAGE "jobs = ( { name = \"a\"; store = { storage = \"local\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "has no source");
    expect_error(STORAGE "jobs = ( { name = \"a\"; transform = 5; fetch = { storage = \"local\"; };"
                 " restore = { plugin = \"testdb\"; dir = \"/d\"; database = \"x\"; }; } );\n",
                 ENVSYNC_ERR_CONFIG, "'transform' must be a group or a list");
}
END_TEST

START_TEST(loader_checks)
{
    es_loader l;
    es_plugin *p;

    es_loader_init(&l, &es_host);
    es_loader_add_env(&l);
    ck_assert_int_eq(es_loader_get(&l, "testdb", &p, err, sizeof err), ENVSYNC_OK);
    ck_assert_str_eq(p->desc.engine, "testdb");
    ck_assert_int_eq(es_loader_get(&l, "badabi", &p, err, sizeof err), ENVSYNC_ERR_PLUGIN);
    ck_assert(strstr(err, "ABI version 99") != NULL);
    ck_assert_int_eq(es_loader_get(&l, "notplugin", &p, err, sizeof err), ENVSYNC_ERR_PLUGIN);
    ck_assert(strstr(err, "not an envsync plugin") != NULL);
    ck_assert_int_eq(es_loader_get(&l, "nophase", &p, err, sizeof err), ENVSYNC_ERR_PLUGIN);
    ck_assert_int_eq(es_loader_get(&l, "../etc/passwd", &p, err, sizeof err), ENVSYNC_ERR_PLUGIN);
    ck_assert(strstr(err, "invalid plugin name") != NULL);
    es_loader_free(&l);
}
END_TEST

START_TEST(parsers)
{
    int64_t v;
    time_t t;
    char ts[17];

    ck_assert_int_eq(es_parse_size("16M", &v), 0);
    ck_assert_int_eq(v, 16 << 20);
    ck_assert_int_eq(es_parse_size("512k", &v), 0);
    ck_assert_int_eq(v, 512 << 10);
    ck_assert_int_eq(es_parse_size("12", &v), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(es_parse_size("-1", &v), -1);
    ck_assert_int_eq(es_parse_size("1Q", &v), -1);
    ck_assert_int_eq(es_parse_size("99999999999999999999G", &v), -1);
    ck_assert_int_eq(es_parse_duration("250ms", &v), 0);
    ck_assert_int_eq(v, 250);
    ck_assert_int_eq(es_parse_duration("5", &v), 0);
    ck_assert_int_eq(v, 5000);
    ck_assert_int_eq(es_parse_duration("2h", &v), 0);
    ck_assert_int_eq(v, 7200000);
    ck_assert_int_eq(es_parse_duration("h", &v), -1);
    ck_assert_int_eq(es_parse_timestamp("20261125T031500Z", &t), 0);
    es_timestamp(t, ts);
    ck_assert_str_eq(ts, "20261125T031500Z");
    ck_assert_int_eq(es_parse_timestamp("2026-11-25", &t), -1);
    ck_assert_int_eq(es_parse_timestamp("20261125T031500", &t), -1);
    ck_assert(es_glob_match("public.*", "public.users"));
    ck_assert(!es_glob_match("public.*", "private.users"));
    ck_assert(es_glob_match("*_log", "audit_log"));
    ck_assert(es_env_is_production("production"));
    ck_assert(es_env_is_production("eu-Prod-1"));
    ck_assert(!es_env_is_production("staging"));
}
END_TEST

START_TEST(redaction)
{
    char *r;

    es_redact_add("hunter2-long");
    es_redact_add("ab");            /* too short to redact safely */
    r = es_redact("password hunter2-long, again hunter2-long, ab");
    ck_assert_str_eq(r, "password ***, again ***, ab");
    free(r);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("conf");
    SRunner *sr;
    int failed;

    if (!mkdtemp(dir))
        return 99;
    tcase_add_test(tc, valid_minimal);
    tcase_add_test(tc, values_and_defaults);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, loader_checks);
    tcase_add_test(tc, parsers);
    tcase_add_test(tc, redaction);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    {
        char *cmd = es_asprintf("rm -rf '%s'", dir);

        if (system(cmd) != 0)
            failed++;
        free(cmd);
    }
    return failed ? 1 : 0;
}
