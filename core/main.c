/*
 * main.c - the envsync command line.
 */
#include "config.h"
#include "artifact.h"
#include "conf.h"
#include "loader.h"
#include "log.h"
#include "run.h"
#include "stored.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define DEFAULT_CONFIG SYSCONFDIR "/envsync/envsync.conf"

typedef struct globals {
    const char *config;
    int log_format;              /* -1 = from config */
    int log_level;
    es_loader loader;
    es_conf *conf;
} globals;

static const char usage_text[] =
    "usage: envsync [-c FILE] [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run JOB...|--all [--at TS] [--dry-run] [--force-unlock]  run the jobs' phases\n"
    "  check [--offline|--deep] [JOB...]              validate config, plugins, connections, rules\n"
    "  list JOB [--storage NAME]                      stored artifacts, newest first\n"
    "  inspect JOB[@TIMESTAMP]|FILE [--storage NAME]  show an artifact's manifest\n"
    "  prune JOB --keep N [--dry-run]                 retention in the job's store\n"
    "  plugins [--describe NAME]                      discovered plugins, versions, phases\n"
    "  version                                        print the version\n"
    "  help [COMMAND]                                 this text, or a command's\n"
    "\n"
    "The config file is -c FILE, else $ENVSYNC_CONFIG, else " DEFAULT_CONFIG ".\n"
    "Exit codes: 0 ok, 1 other, 2 usage, 3 config, 4 plugin, 5 connection,\n"
    "6 authentication, 7 data integrity, 8 timeout, 9 interrupted, 10 storage,\n"
    "11 refused by a safety rule, 12 locked (see envsync(1)).\n";

static int
usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "envsync: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'envsync help'.\n");
    return ENVSYNC_ERR_USAGE;
}

static void
on_signal(int sig)
{
    (void)sig;
    es_signal_received = 1;
}

static void
install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int
load_config(globals *g)
{
    char err[1536];
    envsync_status st;

    if (!g->config)
        g->config = getenv("ENVSYNC_CONFIG");
    if (!g->config || !*g->config)
        g->config = DEFAULT_CONFIG;
    st = es_conf_load(g->config, &g->loader, &g->conf, err, sizeof err);
    if (st != ENVSYNC_OK) {
        es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s", err);
        return st;
    }
    if (g->log_format < 0 && g->conf->log_format >= 0)
        es_log_set_format((es_log_format)g->conf->log_format);
    if (g->log_level < 0 && g->conf->log_level >= 0)
        es_log_set_level(g->conf->log_level);
    return ENVSYNC_OK;
}

/* ------------------------------------------------------------------ run */
static const char run_help[] =
    "usage: envsync run [--at TIMESTAMP] [--dry-run] [--force-unlock] JOB...|--all\n"
    "Runs each job's phases in the fixed order backup -> store -> fetch ->\n"
    "transform -> restore.  --all runs every enabled job, one after another,\n"
    "and exits with the first failure's code.  --at selects the artifact to\n"
    "fetch (a timestamp as shown by `envsync list`).  --dry-run prints the plan\n"
    "(which artifact would be fetched, which transforms apply, which database\n"
    "would be replaced) and changes nothing.  --force-unlock removes the job's\n"
    "run lock first (only when the run holding it is known to be dead).\n";

static int
cmd_run(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "all", no_argument, NULL, 'a' }, { "at", required_argument, NULL, 't' },
        { "dry-run", no_argument, NULL, 'n' }, { "force-unlock", no_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    es_run_opts ro = { NULL, 0, 0 };
    int all = 0, c, i, worst = ENVSYNC_OK, st;
    size_t k, ok = 0, failed = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': all = 1; break;
        case 't': ro.select = optarg; break;
        case 'n': ro.dry_run = 1; break;
        case 'u': ro.force_unlock = 1; break;
        case 'h': fputs(run_help, stdout); return 0;
        default: return usage_error("run: bad option");
        }
    }
    if (ro.select) {
        time_t t;

        if (es_parse_timestamp(ro.select, &t) < 0)
            return usage_error("run: --at takes a timestamp like 20261125T031500Z");
    }
    if (!all && optind >= argc)
        return usage_error("run: name a job or give --all");
    if (all && optind < argc)
        return usage_error("run: give job names or --all, not both");
    if ((st = load_config(g)) != ENVSYNC_OK)
        return st;
    for (i = optind; i < argc; i++)
        if (!es_conf_job(g->conf, argv[i])) {
            es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: no job named '%s'", g->config, argv[i]);
            return ENVSYNC_ERR_CONFIG;
        }
    install_signals();
    if (all) {
        for (k = 0; k < g->conf->njobs; k++) {
            if (es_signal_received)
                break;
            st = es_run_job(g->conf, &g->conf->jobs[k], &ro);
            if (st == ENVSYNC_OK) {
                ok++;
            } else {
                failed++;
                if (worst == ENVSYNC_OK)
                    worst = st;
            }
        }
        es_log(failed ? ENVSYNC_LOG_ERROR : ENVSYNC_LOG_INFO, NULL, NULL, NULL,
               "--all: %zu job(s) succeeded, %zu failed", ok, failed);
        if (es_signal_received && worst == ENVSYNC_OK)
            worst = ENVSYNC_ERR_INTERRUPTED;
        return worst;
    }
    for (i = optind; i < argc; i++) {
        if (es_signal_received)
            return worst ? worst : ENVSYNC_ERR_INTERRUPTED;
        st = es_run_job(g->conf, es_conf_job(g->conf, argv[i]), &ro);
        if (st != ENVSYNC_OK && worst == ENVSYNC_OK)
            worst = st;
    }
    return worst;
}

/* ------------------------------------------------------------------ check */
static int
check_instance(globals *g, const char *job, const char *phase, es_instance *in, int offline)
{
    envsync_ctx ctx;
    envsync_status st;

    st = es_ctx_open(&ctx, NULL, g->conf, job, phase, in);
    if (st == ENVSYNC_OK && !offline && in->plugin->desc.check)
        st = in->plugin->desc.check(&ctx, ctx.state);
    if (st != ENVSYNC_OK)
        es_log(ENVSYNC_LOG_ERROR, job, phase, in->plugin->name, "%s: %s (%s error)", in->label,
               ctx.err_status ? ctx.err : "check failed", es_status_name(st));
    else
        es_log(ENVSYNC_LOG_INFO, job, phase, in->plugin->name, "%s: ok%s", in->label,
               offline ? " (offline)" : "");
    es_ctx_close(&ctx);
    return st;
}

static int
cmd_check(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "offline", no_argument, NULL, 'o' }, { "deep", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    int offline = 0, deep = 0, c, st, worst = ENVSYNC_OK;
    size_t i, k;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': offline = 1; break;
        case 'd': deep = 1; break;
        case 'h':
            puts("usage: envsync check [--offline | --deep] [JOB...]\n"
                 "Validates the config (every key, type and reference), loads every plugin it names,\n"
                 "and, unless --offline, lets each plugin probe its connection and passes the schema\n"
                 "of the artifact each fetching job would restore through its transforms (sanitise\n"
                 "rules against real tables and columns).  --deep reads that artifact to the end:\n"
                 "post-data DDL (PostgreSQL unique keys) is checked too and the artifact verified.");
            return 0;
        default: return usage_error("check: bad option");
        }
    }
    if ((st = load_config(g)) != ENVSYNC_OK)
        return st;
    for (i = 0; i < g->conf->nstorages; i++) {
        es_storage *s = &g->conf->storages[i];

        st = check_instance(g, NULL, "storage", &s->inst, offline);
        if (st && !worst)
            worst = st;
    }
    for (i = 0; i < g->conf->njobs; i++) {
        es_job *j = &g->conf->jobs[i];
        int wanted = optind >= argc;

        for (c = optind; c < argc; c++)
            wanted |= strcmp(argv[c], j->name) == 0;
        if (!wanted)
            continue;
        if (j->backup && (st = check_instance(g, j->name, "backup", j->backup, offline)) && !worst)
            worst = st;
        for (k = 0; k < j->ntransforms; k++)
            if ((st = check_instance(g, j->name, "transform", &j->transforms[k], offline)) && !worst)
                worst = st;
        if (j->restore && (st = check_instance(g, j->name, "restore", j->restore, offline)) && !worst)
            worst = st;
        /* rules against the real schema: the newest artifact the job would fetch */
        if (!offline && j->fetch.storage && j->ntransforms &&
            (st = es_run_check_schema(g->conf, j, deep)) && !worst)
            worst = st;
    }
    if (!worst)
        printf("%s: ok (%zu storage(s), %zu job(s))\n", g->config, g->conf->nstorages, g->conf->njobs);
    return worst;
}

/* ------------------------------------------------------------------ storage commands */
typedef struct job_storage {
    es_job *job;
    es_storage *storage;
    const char *stored_job;      /* job name as stored */
    envsync_ctx ctx;
    int open;
} job_storage;

/* which: 's' store first, 'f' fetch first */
static int
open_job_storage(globals *g, const char *job, const char *storage_name, int which, job_storage *js)
{
    envsync_status st;

    memset(js, 0, sizeof *js);
    if ((st = load_config(g)) != ENVSYNC_OK)
        return st;
    js->job = es_conf_job(g->conf, job);
    if (!js->job) {
        es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: no job named '%s'", g->config, job);
        return ENVSYNC_ERR_CONFIG;
    }
    js->stored_job = js->job->name;
    if (storage_name) {
        js->storage = es_conf_storage(g->conf, storage_name);
        if (!js->storage) {
            es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: no storage named '%s'", g->config, storage_name);
            return ENVSYNC_ERR_CONFIG;
        }
        if (js->job->fetch.storage == js->storage)
            js->stored_job = js->job->fetch.job;
    } else if (which == 'f' && js->job->fetch.storage) {
        js->storage = js->job->fetch.storage;
        js->stored_job = js->job->fetch.job;
    } else if (js->job->store.storage) {
        js->storage = js->job->store.storage;
    } else if (js->job->fetch.storage) {
        js->storage = js->job->fetch.storage;
        js->stored_job = js->job->fetch.job;
    } else {
        es_log(ENVSYNC_LOG_ERROR, js->job->name, NULL, NULL, "job has neither a store nor a fetch storage");
        return ENVSYNC_ERR_CONFIG;
    }
    st = es_ctx_open(&js->ctx, NULL, g->conf, js->job->name, "storage", &js->storage->inst);
    js->open = 1;
    if (st != ENVSYNC_OK) {
        es_log(ENVSYNC_LOG_ERROR, js->job->name, "storage", js->storage->inst.plugin->name, "%s",
               es_ctx_message(&js->ctx));
        return st;
    }
    return ENVSYNC_OK;
}

static void
close_job_storage(job_storage *js)
{
    if (js->open)
        es_ctx_close(&js->ctx);
}

static int
storage_failed(job_storage *js, envsync_status st)
{
    es_log(ENVSYNC_LOG_ERROR, js->job->name, "storage", js->storage->inst.plugin->name,
           "%s (%s error)", *es_ctx_message(&js->ctx) ? es_ctx_message(&js->ctx) : "failed",
           es_status_name(st));
    return st;
}

static int
cmd_list(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    const char *storage = NULL;
    job_storage js;
    es_stored_list l;
    int c, st;
    size_t i;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': storage = optarg; break;
        case 'h':
            puts("usage: envsync list JOB [--storage NAME]\n"
                 "Lists the job's stored artifacts, newest first (the fetch storage if the job\n"
                 "fetches, else its store storage).");
            return 0;
        default: return usage_error("list: bad option");
        }
    }
    if (optind + 1 != argc)
        return usage_error("list: name one job");
    if ((st = open_job_storage(g, argv[optind], storage, 'f', &js)) != ENVSYNC_OK) {
        close_job_storage(&js);
        return st;
    }
    st = es_stored_list_job(&js.ctx, js.storage, js.stored_job, &l);
    if (st != ENVSYNC_OK) {
        st = storage_failed(&js, st);
        close_job_storage(&js);
        return st;
    }
    printf("%-17s %14s  %-10s %s\n", "TIMESTAMP", "SIZE", "STATE", "");
    for (i = 0; i < l.n; i++) {
        char b[32];

        printf("%-17s %14s  %-10s %s\n", l.items[i].ts,
               l.items[i].has_artifact ? es_fmt_bytes(l.items[i].size, b, sizeof b) : "-",
               l.items[i].has_artifact && l.items[i].has_manifest ? "complete" : "incomplete",
               strcmp(l.latest, l.items[i].ts) == 0 ? "latest" : "");
    }
    es_stored_list_free(&l);
    close_job_storage(&js);
    return ENVSYNC_OK;
}

static int
cmd_prune(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "keep", required_argument, NULL, 'k' }, { "dry-run", no_argument, NULL, 'n' },
        { "storage", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    const char *storage = NULL;
    int keep = -1, dry = 0, c, st;
    job_storage js;
    char *end;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keep = (int)strtol(optarg, &end, 10);
            if (*end || keep < 1)
                return usage_error("prune: --keep takes a number >= 1");
            break;
        case 'n': dry = 1; break;
        case 's': storage = optarg; break;
        case 'h':
            puts("usage: envsync prune JOB --keep N [--dry-run] [--storage NAME]\n"
                 "Keeps the N newest complete artifacts of the job in its store storage (and the one\n"
                 "`latest` names), removes older ones and incomplete ones older than a day.");
            return 0;
        default: return usage_error("prune: bad option");
        }
    }
    if (optind + 1 != argc || keep < 1)
        return usage_error("prune: usage: prune JOB --keep N [--dry-run]");
    if ((st = open_job_storage(g, argv[optind], storage, 's', &js)) != ENVSYNC_OK) {
        close_job_storage(&js);
        return st;
    }
    st = es_stored_prune(&js.ctx, js.storage, js.stored_job, keep, dry);
    if (st != ENVSYNC_OK)
        st = storage_failed(&js, st);
    close_job_storage(&js);
    return st;
}

/* inspect a local artifact file */
typedef struct file_in {
    FILE *f;
} file_in;

static envsync_status
file_read_fn(void *arg, void *buf, size_t cap, size_t *got)
{
    file_in *in = arg;

    *got = fread(buf, 1, cap, in->f);
    if (*got == 0 && ferror(in->f))
        return ENVSYNC_ERR_STORAGE;
    return ENVSYNC_OK;
}

static int
inspect_file(globals *g, const char *path, const char *key_file)
{
    es_artifact_opts ao;
    es_artifact_reader *r = NULL;
    es_artifact_stats stats;
    file_in in;
    const char *header;
    char err[ES_ERRLEN];
    unsigned char key[32];
    envsync_status st;
    int more = 1;

    memset(&ao, 0, sizeof ao);
    if (key_file) {
        char *text = es_read_file(key_file, 4096, 1, NULL);

        if (!text || es_decode_key(text, key) < 0) {
            es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: %s", key_file, text ? "the key must be "
                   "32 bytes, as 64 hex digits or 44 base64 characters" : strerror(errno));
            if (text)
                OPENSSL_cleanse(text, strlen(text));
            free(text);
            return ENVSYNC_ERR_CONFIG;
        }
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        ao.key = key;
    }
    in.f = fopen(path, "rb");
    if (!in.f) {
        es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: %s", path, strerror(errno));
        return ENVSYNC_ERR_STORAGE;
    }
    st = es_artifact_reader_new(&r, &ao, file_read_fn, &in, &header, err, sizeof err);
    if (st == ENVSYNC_OK) {
        printf("header: %s\n", header);
        while (more) {
            envsync_entry e;
            const void *d;
            size_t len;

            st = es_artifact_next(r, &e, &d, &len, &more, err, sizeof err);
            if (st != ENVSYNC_OK)
                break;
        }
    }
    if (st == ENVSYNC_OK) {
        es_artifact_reader_stats(r, &stats);
        printf("manifest: %s\nverified: %llu bytes, sha256 %s, %llu entries, %llu rows\n",
               es_artifact_manifest(r), (unsigned long long)stats.stored_bytes, stats.sha256,
               (unsigned long long)stats.entries, (unsigned long long)stats.rows);
    } else {
        es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s: %s (%s error)", path, err, es_status_name(st));
    }
    es_artifact_reader_free(r);
    fclose(in.f);
    (void)g;
    return st;
}

static int
cmd_inspect(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "storage", required_argument, NULL, 's' }, { "key-file", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    const char *storage = NULL, *key_file = NULL;
    char *job, *at, ts[17], *mkey, *text = NULL;
    job_storage js;
    int c, st;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': storage = optarg; break;
        case 'k': key_file = optarg; break;
        case 'h':
            puts("usage: envsync inspect JOB[@TIMESTAMP] [--storage NAME]\n"
                 "       envsync inspect FILE [--key-file HEXKEYFILE]\n"
                 "Shows the manifest of the job's selected artifact, or reads and verifies a local\n"
                 "artifact file completely.");
            return 0;
        default: return usage_error("inspect: bad option");
        }
    }
    if (optind + 1 != argc)
        return usage_error("inspect: name one JOB[@TIMESTAMP] or FILE");
    if (strchr(argv[optind], '/') || access(argv[optind], R_OK) == 0)
        return inspect_file(g, argv[optind], key_file);
    job = es_strdup(argv[optind]);
    at = strchr(job, '@');
    if (at)
        *at++ = '\0';
    if ((st = open_job_storage(g, job, storage, 'f', &js)) != ENVSYNC_OK) {
        close_job_storage(&js);
        free(job);
        return st;
    }
    st = es_stored_select(&js.ctx, js.storage, js.stored_job, at ? at : "latest", ts);
    if (st == ENVSYNC_OK) {
        mkey = es_key_manifest(js.storage, js.stored_job, ts);
        st = es_get_small(&js.ctx, mkey, &text, NULL);
        if (st == ENVSYNC_OK)
            printf("%s\n", text);
        free(mkey);
        free(text);
    }
    if (st != ENVSYNC_OK)
        st = storage_failed(&js, st == ENVSYNC_ERR_NOTFOUND ? ENVSYNC_ERR_STORAGE : st);
    close_job_storage(&js);
    free(job);
    return st;
}

/* ------------------------------------------------------------------ plugins */
static void
describe(const es_plugin *p)
{
    static const char *const tn[] = { "", "string", "int", "bool", "size", "duration", "list" };
    char ph[128];
    size_t i;

    printf("%s %s (%s)\n  %s\n  phases: %s\n", p->name, p->desc.version, p->path,
           p->desc.description ? p->desc.description : "",
           es_phases_str(p->desc.phases, ph, sizeof ph));
    if (p->desc.engine)
        printf("  engine: %s\n", p->desc.engine);
    printf("  options:\n");
    for (i = 0; i < p->noptions; i++) {
        const envsync_option *o = &p->desc.options[i];

        printf("    %-22s %-8s %s%s%s%s%s\n", o->name, o->type <= ENVSYNC_OPT_LIST ? tn[o->type] : "?",
               (o->flags & ENVSYNC_OPT_REQUIRED) ? "required. " : "",
               (o->flags & ENVSYNC_OPT_SECRET) ? "secret (or <name>_file). " : "",
               o->default_value ? "default: " : "", o->default_value ? o->default_value : "",
               o->default_value ? ". " : "");
        if (o->help)
            printf("    %-22s %-8s %s\n", "", "", o->help);
    }
}

static int
cmd_plugins(globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "describe", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
    };
    const char *name = NULL;
    int c, worst = ENVSYNC_OK;
    size_t i;
    char err[1024];

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': name = optarg; break;
        case 'h':
            puts("usage: envsync plugins [--describe NAME]\n"
                 "Lists plugins found in $ENVSYNC_PLUGIN_PATH, the config's plugin_dir and\n"
                 PLUGINDIR ", with versions and phases; --describe prints one's options.");
            return 0;
        default: return usage_error("plugins: bad option");
        }
    }
    /* plugin_dir from the config when it can be read, quietly otherwise */
    {
        const char *cf = g->config ? g->config : getenv("ENVSYNC_CONFIG");

        if (!cf)
            cf = DEFAULT_CONFIG;
        if (access(cf, R_OK) == 0) {
            es_conf *tmp = NULL;
            es_loader probe;

            es_loader_init(&probe, &es_host);
            es_loader_add_env(&probe);
            if (es_conf_load(cf, &probe, &tmp, err, sizeof err) == ENVSYNC_OK && tmp->plugin_dir)
                es_loader_add_dir(&g->loader, tmp->plugin_dir);
            es_conf_free(tmp);
            es_loader_free(&probe);
        }
    }
    es_loader_add_dir(&g->loader, PLUGINDIR);
    if (name) {
        es_plugin *p;
        envsync_status st = es_loader_get(&g->loader, name, &p, err, sizeof err);

        if (st != ENVSYNC_OK) {
            es_log(ENVSYNC_LOG_ERROR, NULL, NULL, NULL, "%s", err);
            return st;
        }
        describe(p);
        return 0;
    }
    printf("%-16s %-10s %-32s %s\n", "NAME", "VERSION", "PHASES", "FILE");
    for (i = 0; i < g->loader.ndirs; i++) {
        DIR *d = opendir(g->loader.dirs[i]);
        struct dirent *de;

        if (!d)
            continue;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            char *path, ph[128];
            es_plugin *p;

            if (n < 4 || strcmp(de->d_name + n - 3, ".so") != 0)
                continue;
            path = es_asprintf("%s/%s", g->loader.dirs[i], de->d_name);
            if (es_loader_load_path(&g->loader, path, &p, err, sizeof err) == ENVSYNC_OK) {
                printf("%-16s %-10s %-32s %s\n", p->name, p->desc.version,
                       es_phases_str(p->desc.phases, ph, sizeof ph), p->path);
            } else {
                es_log(ENVSYNC_LOG_WARN, NULL, NULL, NULL, "%s", err);
                worst = ENVSYNC_ERR_PLUGIN;
            }
            free(path);
        }
        closedir(d);
    }
    return worst;
}

/* ------------------------------------------------------------------ main */
int
main(int argc, char **argv)
{
    globals g;
    const char *cmd;
    int rc;

#ifdef M_MMAP_THRESHOLD
    /* Large transient buffers (chunks, multipart parts, ranged-GET
     * windows) are allocated on one thread and freed on another, phase
     * after phase.  glibc raises its mmap threshold to the size of the
     * first such buffer freed and from then on keeps them in its arenas,
     * so a full cycle's peak became the backup's buffers plus the
     * restore's (measured: 165 MiB instead of 127 with S3).  A fixed
     * threshold returns every buffer of 1 MiB or more at free(). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    memset(&g, 0, sizeof g);
    g.log_format = -1;
    g.log_level = -1;
    es_loader_init(&g.loader, &es_host);
    es_loader_add_env(&g.loader);
    es_log_setup(ES_LOG_TEXT, ENVSYNC_LOG_INFO);

    /* Global options may come before or after the command: pull them out. */
    {
        int i, o = 1;

        for (i = 1; i < argc; i++) {
            const char *a = argv[i];
            const char *val = NULL;
            int consumed = 0;

            if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
                strcmp(a, "--log-format") == 0 || strcmp(a, "--log-level") == 0) {
                if (i + 1 >= argc)
                    return usage_error("%s needs a value", a);
                val = argv[i + 1];
                consumed = 2;
            } else if (strncmp(a, "--config=", 9) == 0 || strncmp(a, "--log-format=", 13) == 0 ||
                       strncmp(a, "--log-level=", 12) == 0) {
                val = strchr(a, '=') + 1;
                consumed = 1;
            } else if (strncmp(a, "-c", 2) == 0 && a[2]) {
                val = a + 2;
                consumed = 1;
            } else if (strcmp(a, "--") == 0) {
                for (; i < argc; i++)
                    argv[o++] = argv[i];
                break;
            }
            if (!consumed) {
                argv[o++] = argv[i];
                continue;
            }
            if (a[1] == 'c' || strncmp(a, "--config", 8) == 0) {
                g.config = val;
            } else if (strncmp(a, "--log-format", 12) == 0) {
                if (strcmp(val, "json") == 0)
                    g.log_format = ES_LOG_JSON;
                else if (strcmp(val, "text") == 0)
                    g.log_format = ES_LOG_TEXT;
                else
                    return usage_error("--log-format must be text or json");
                es_log_set_format((es_log_format)g.log_format);
            } else {
                if ((g.log_level = es_log_level_from_name(val)) < 0)
                    return usage_error("--log-level must be error, warn, info or debug");
                es_log_set_level(g.log_level);
            }
            i += consumed - 1;
        }
        argc = o;
        argv[argc] = NULL;
    }
    if (argc < 2)
        return usage_error("no command given");
    cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2) {
            static char *hv[3];

            hv[0] = argv[2];
            hv[1] = (char *)"--help";
            argv = hv;
            argc = 2;
            cmd = argv[0];
        } else {
            fputs(usage_text, stdout);
            return 0;
        }
    } else {
        argc--;
        argv++;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("envsync %s (plugin ABI %d)\n", PACKAGE_VERSION, ENVSYNC_ABI_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        rc = cmd_run(&g, argc, argv);
    else if (strcmp(cmd, "check") == 0)
        rc = cmd_check(&g, argc, argv);
    else if (strcmp(cmd, "list") == 0)
        rc = cmd_list(&g, argc, argv);
    else if (strcmp(cmd, "inspect") == 0)
        rc = cmd_inspect(&g, argc, argv);
    else if (strcmp(cmd, "prune") == 0)
        rc = cmd_prune(&g, argc, argv);
    else if (strcmp(cmd, "plugins") == 0)
        rc = cmd_plugins(&g, argc, argv);
    else
        return usage_error("unknown command '%s'", cmd);
    es_conf_free(g.conf);
    es_loader_free(&g.loader);
    return rc;
}
