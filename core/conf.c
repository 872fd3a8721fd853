#include "config.h"
#include "conf.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/evp.h>

#define SECRET_FILE_MAX (64 * 1024)

/* Validation context: where errors go. */
typedef struct vctx {
    const char *file;            /* the main file, when a setting has none */
    char *err;
    size_t errlen;
} vctx;

static char *
where_of(vctx *v, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    unsigned line = s ? config_setting_source_line(s) : 0;

    return es_asprintf("%s:%u", f ? f : v->file, line);
}

static envsync_status
verr(vctx *v, const config_setting_t *s, envsync_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static envsync_status
verr(vctx *v, const config_setting_t *s, envsync_status st, const char *fmt, ...)
{
    char msg[768];
    char *w = where_of(v, s);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(v->err, v->errlen, "%s: %s", w, msg);
    free(w);
    return st;
}

static const char *
type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    }
    return "?";
}

/* ${VAR} from the environment; "$$" is a literal '$'.  An undefined
 * variable is an error: an empty password is worse than a failed run. */
static envsync_status
interpolate(vctx *v, const config_setting_t *s, const char *in, char **out)
{
    size_t cap = strlen(in) + 1, len = 0;
    char *buf = es_malloc(cap);
    const char *p = in;

    while (*p) {
        const char *add = p;
        size_t addlen = 1;

        if (p[0] == '$' && p[1] == '$') {
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            char *name;
            const char *val;

            if (!end) {
                free(buf);
                return verr(v, s, ENVSYNC_ERR_CONFIG, "unterminated ${ in value");
            }
            name = es_strndup(p + 2, (size_t)(end - p - 2));
            if (!*name) {
                free(name);
                free(buf);
                return verr(v, s, ENVSYNC_ERR_CONFIG, "empty ${} in value");
            }
            val = getenv(name);
            if (!val) {
                envsync_status st = verr(v, s, ENVSYNC_ERR_CONFIG,
                                         "environment variable %s is not set", name);

                free(name);
                free(buf);
                return st;
            }
            free(name);
            add = val;
            addlen = strlen(val);
            p = end + 1;
        } else {
            p++;
        }
        if (len + addlen + 1 > cap) {
            cap = (len + addlen + 1) * 2;
            buf = es_realloc(buf, cap);
        }
        memcpy(buf + len, add, addlen);
        len += addlen;
    }
    buf[len] = '\0';
    *out = buf;
    return ENVSYNC_OK;
}

/* A string-valued setting, interpolated. */
static envsync_status
get_string(vctx *v, const config_setting_t *s, const char *what, char **out)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return verr(v, s, ENVSYNC_ERR_CONFIG, "%s must be a string, not %s",
                    what, type_name(config_setting_type(s)));
    return interpolate(v, s, config_setting_get_string(s), out);
}

/* Parse a value of an option type from a setting (s != NULL) or from the
 * default text (s == NULL). */
static envsync_status
parse_value(vctx *v, const config_setting_t *s, const char *text,
            const envsync_option *def, const char *label, es_optval *ov)
{
    int t = s ? config_setting_type(s) : CONFIG_TYPE_STRING;
    envsync_status st;
    char *str = NULL;

    switch (def->type) {
    case ENVSYNC_OPT_STRING:
        if (!s) {
            ov->str = es_strdup(text);
            return ENVSYNC_OK;
        }
        if (t != CONFIG_TYPE_STRING)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must be a string, not %s",
                        label, def->name, type_name(t));
        return interpolate(v, s, config_setting_get_string(s), &ov->str);
    case ENVSYNC_OPT_INT:
    case ENVSYNC_OPT_SIZE:
    case ENVSYNC_OPT_DURATION:
        if (s && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)) {
            long long n = config_setting_get_int64(s);

            if (n < 0 && def->type != ENVSYNC_OPT_INT)
                return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must not be negative",
                            label, def->name);
            ov->num = def->type == ENVSYNC_OPT_DURATION ? n * 1000 : n;
            return ENVSYNC_OK;
        }
        if (s && (t != CONFIG_TYPE_STRING || def->type == ENVSYNC_OPT_INT))
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must be %s, not %s", label,
                        def->name, def->type == ENVSYNC_OPT_INT ? "an integer" :
                        def->type == ENVSYNC_OPT_SIZE ? "a size (e.g. 16M or 4096)" :
                        "a duration (e.g. 30s, 10m or 5)", type_name(t));
        if (s) {
            if ((st = interpolate(v, s, config_setting_get_string(s), &str)) != ENVSYNC_OK)
                return st;
        } else {
            str = es_strdup(text);
        }
        if (def->type == ENVSYNC_OPT_INT) {
            char *end;

            errno = 0;
            ov->num = strtoll(str, &end, 10);
            if (errno || *end || end == str) {
                free(str);
                return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' is not an integer", label, def->name);
            }
        } else if ((def->type == ENVSYNC_OPT_SIZE ? es_parse_size(str, &ov->num)
                    : es_parse_duration(str, &ov->num)) < 0) {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' = \"%s\" is not a valid %s", label,
                      def->name, str, def->type == ENVSYNC_OPT_SIZE ? "size (e.g. 16M)"
                      : "duration (e.g. 30s, 10m, 2h)");
            free(str);
            return st;
        }
        free(str);
        return ENVSYNC_OK;
    case ENVSYNC_OPT_BOOL:
        if (!s) {
            ov->num = strcmp(text, "true") == 0 || strcmp(text, "1") == 0;
            return ENVSYNC_OK;
        }
        if (t != CONFIG_TYPE_BOOL)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must be true or false, not %s",
                        label, def->name, type_name(t));
        ov->num = config_setting_get_bool(s);
        return ENVSYNC_OK;
    case ENVSYNC_OPT_LIST:
        if (!s) {
            /* default: one item (or none for "") */
            if (*text) {
                ov->list = es_malloc(sizeof *ov->list);
                ov->list[0] = es_strdup(text);
                ov->nlist = 1;
            }
            return ENVSYNC_OK;
        }
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must be a list of strings "
                        "like ( \"a\", \"b\" ), not %s", label, def->name, type_name(t));
        {
            int i, n = config_setting_length(s);

            ov->list = es_calloc((size_t)n + 1, sizeof *ov->list);
            for (i = 0; i < n; i++) {
                config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

                if (config_setting_type(e) != CONFIG_TYPE_STRING)
                    return verr(v, e, ENVSYNC_ERR_CONFIG, "%s: items of '%s' must be strings",
                                label, def->name);
                if ((st = interpolate(v, e, config_setting_get_string(e), &ov->list[i])) != ENVSYNC_OK)
                    return st;
                ov->nlist++;
            }
        }
        return ENVSYNC_OK;
    case ENVSYNC_OPT_END:
        break;
    }
    return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: option '%s' has an unknown type in its plugin",
                label, def->name);
}

static int
is_reserved(const char *name, const char *const *reserved)
{
    for (; reserved && *reserved; reserved++)
        if (strcmp(name, *reserved) == 0)
            return 1;
    return 0;
}

static void
append_names(char *buf, size_t len, const es_plugin *p)
{
    size_t i, off = strlen(buf);

    for (i = 0; i < p->noptions && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s%s", i ? ", " : "",
                                p->desc.options[i].name,
                                (p->desc.options[i].flags & ENVSYNC_OPT_SECRET) ? "[_file]" : "");
}

/* Validate `group` against the instance's plugin options; fills inst->opts. */
static envsync_status
bind_options(vctx *v, config_setting_t *group, const char *const *reserved,
             es_instance *inst)
{
    const es_plugin *p = inst->plugin;
    int i, n = config_setting_length(group);
    size_t k;
    envsync_status st;

    inst->nopts = p->noptions;
    inst->opts = es_calloc(p->noptions + 1, sizeof *inst->opts);
    for (k = 0; k < p->noptions; k++) {
        inst->opts[k].def = &p->desc.options[k];
        inst->opts[k].where = es_strdup("");
    }
    for (i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        es_optval *ov = NULL;
        int from_file = 0;

        if (is_reserved(name, reserved))
            continue;
        for (k = 0; k < p->noptions; k++)
            if (strcmp(p->desc.options[k].name, name) == 0)
                ov = &inst->opts[k];
        if (!ov) {
            size_t nl = strlen(name);

            if (nl > 5 && strcmp(name + nl - 5, "_file") == 0) {
                for (k = 0; k < p->noptions; k++)
                    if ((p->desc.options[k].flags & ENVSYNC_OPT_SECRET) &&
                        strlen(p->desc.options[k].name) == nl - 5 &&
                        strncmp(p->desc.options[k].name, name, nl - 5) == 0)
                        ov = &inst->opts[k];
                from_file = ov != NULL;
            }
        }
        if (!ov) {
            char names[1024] = "";

            append_names(names, sizeof names, p);
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: unknown key '%s' for plugin '%s' "
                        "(it accepts: %s)", inst->label, name, p->name, *names ? names : "nothing");
        }
        if (ov->isset)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' is given twice (inline and as %s_file)",
                        inst->label, ov->def->name, ov->def->name);
        free(ov->where);
        ov->where = where_of(v, s);
        ov->isset = 1;
        if (from_file) {
            char *path, *content;

            if ((st = get_string(v, s, name, &path)) != ENVSYNC_OK)
                return st;
            content = es_read_file(path, SECRET_FILE_MAX, 1, NULL);
            if (!content) {
                st = verr(v, s, ENVSYNC_ERR_CONFIG, "%s: cannot read %s '%s': %s",
                          inst->label, name, path, strerror(errno));
                free(path);
                return st;
            }
            free(path);
            if (ov->def->type != ENVSYNC_OPT_STRING) {
                free(content);
                return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' is only allowed for string options",
                            inst->label, name);
            }
            ov->str = content;
        } else if ((st = parse_value(v, s, NULL, ov->def, inst->label, ov)) != ENVSYNC_OK) {
            return st;
        }
        if ((ov->def->flags & ENVSYNC_OPT_SECRET) && ov->str)
            es_redact_add(ov->str);
    }
    for (k = 0; k < p->noptions; k++) {
        es_optval *ov = &inst->opts[k];

        if (ov->isset)
            continue;
        if (ov->def->flags & ENVSYNC_OPT_REQUIRED)
            return verr(v, group, ENVSYNC_ERR_CONFIG, "%s: plugin '%s' requires '%s'%s",
                        inst->label, p->name, ov->def->name,
                        (ov->def->flags & ENVSYNC_OPT_SECRET) ? " (or its _file form)" : "");
        if (ov->def->default_value &&
            (st = parse_value(v, NULL, ov->def->default_value, ov->def, inst->label, ov)) != ENVSYNC_OK) {
            snprintf(v->err, v->errlen, "plugin %s: default of option '%s' is invalid",
                     p->path, ov->def->name);
            return ENVSYNC_ERR_PLUGIN;
        }
    }
    return ENVSYNC_OK;
}

/* Check that every child of group is one of the allowed keys. */
static envsync_status
only_keys(vctx *v, config_setting_t *group, const char *label, const char *const *allowed)
{
    int i, n = config_setting_length(group);

    for (i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);

        if (!is_reserved(name, allowed)) {
            char list[512] = "";
            const char *const *a;
            size_t off = 0;

            for (a = allowed; *a && off < sizeof list; a++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", a == allowed ? "" : ", ", *a);
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: unknown key '%s' (allowed: %s)",
                        label, name ? name : "?", list);
        }
    }
    return ENVSYNC_OK;
}

static envsync_status
want_group(vctx *v, config_setting_t *s, const char *what)
{
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return verr(v, s, ENVSYNC_ERR_CONFIG, "%s must be a group { ... }, not %s",
                    what, type_name(config_setting_type(s)));
    return ENVSYNC_OK;
}

static envsync_status
opt_bool(vctx *v, config_setting_t *g, const char *key, const char *label, int *out)
{
    config_setting_t *s = config_setting_get_member(g, key);

    if (!s)
        return ENVSYNC_OK;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: '%s' must be true or false", label, key);
    *out = config_setting_get_bool(s);
    return ENVSYNC_OK;
}

static envsync_status
opt_str(vctx *v, config_setting_t *g, const char *key, const char *label, char **out)
{
    config_setting_t *s = config_setting_get_member(g, key);
    char what[512];

    if (!s)
        return ENVSYNC_OK;
    snprintf(what, sizeof what, "%s: '%s'", label, key);
    free(*out);
    *out = NULL;
    return get_string(v, s, what, out);
}

static envsync_status
opt_duration(vctx *v, config_setting_t *g, const char *key, const char *label, int64_t *out)
{
    envsync_option def = { key, ENVSYNC_OPT_DURATION, 0, NULL, NULL };
    config_setting_t *s = config_setting_get_member(g, key);
    es_optval ov;
    envsync_status st;

    if (!s)
        return ENVSYNC_OK;
    memset(&ov, 0, sizeof ov);
    ov.def = &def;
    if ((st = parse_value(v, s, NULL, &def, label, &ov)) != ENVSYNC_OK)
        return st;
    *out = ov.num;
    return ENVSYNC_OK;
}

/* An instance of a plugin for a phase or a storage. */
static envsync_status
make_instance(vctx *v, es_loader *l, config_setting_t *g, const char *label,
              unsigned phase, const char *const *reserved, es_instance *inst)
{
    config_setting_t *ps;
    char *pname = NULL;
    envsync_status st;
    char perr[1024];

    inst->label = es_strdup(label);
    inst->where = where_of(v, g);
    inst->enabled = 1;
    if ((st = opt_bool(v, g, "enabled", label, &inst->enabled)) != ENVSYNC_OK)
        return st;
    ps = config_setting_get_member(g, "plugin");
    if (!ps)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "%s: 'plugin' is required", label);
    if ((st = get_string(v, ps, "'plugin'", &pname)) != ENVSYNC_OK)
        return st;
    st = es_loader_get(l, pname, &inst->plugin, perr, sizeof perr);
    if (st != ENVSYNC_OK) {
        st = verr(v, ps, ENVSYNC_ERR_PLUGIN, "%s: %s", label, perr);
        free(pname);
        return st;
    }
    free(pname);
    if (!(inst->plugin->desc.phases & phase)) {
        char buf[128];

        return verr(v, ps, ENVSYNC_ERR_PLUGIN, "%s: plugin '%s' (%s) does not provide the %s "
                    "phase (it provides: %s)", label, inst->plugin->name, inst->plugin->path,
                    phase == (ENVSYNC_PHASE_STORE | ENVSYNC_PHASE_FETCH) ? "store/fetch"
                    : es_phase_name(phase),
                    es_phases_str(inst->plugin->desc.phases, buf, sizeof buf));
    }
    return bind_options(v, g, reserved, inst);
}

static envsync_status
parse_artifact(vctx *v, config_setting_t *g, es_job *j, const char *label)
{
    static const char *const keys[] = {
        "compression", "level", "threads", "encryption_key", "encryption_key_file", "key_id", NULL
    };
    config_setting_t *s;
    envsync_status st;
    char *text = NULL;

    if ((st = want_group(v, g, "'artifact'")) != ENVSYNC_OK ||
        (st = only_keys(v, g, label, keys)) != ENVSYNC_OK)
        return st;
    if ((s = config_setting_get_member(g, "compression")) != NULL) {
        int c;

        if ((st = get_string(v, s, "'compression'", &text)) != ENVSYNC_OK)
            return st;
        c = es_compression_from_name(text);
        free(text);
        text = NULL;
        if (c < 0)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: compression must be \"zstd\", \"gzip\" or \"none\"", label);
        j->art.compression = (es_compression)c;
        if (j->art.compression != ES_COMP_ZSTD)
            j->art.level = -1;      /* the codec's own default unless given */
    }
    if ((s = config_setting_get_member(g, "level")) != NULL) {
        if (config_setting_type(s) != CONFIG_TYPE_INT)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: 'level' must be an integer", label);
        j->art.level = config_setting_get_int(s);
        if (j->art.level < -7 || j->art.level > 22)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: 'level' %d out of range", label, j->art.level);
    }
    if ((s = config_setting_get_member(g, "threads")) != NULL) {
        if (config_setting_type(s) != CONFIG_TYPE_INT || config_setting_get_int(s) < 0)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: 'threads' must be a non-negative integer", label);
        j->art.threads = config_setting_get_int(s);
    }
    if ((st = opt_str(v, g, "key_id", label, &j->key_id)) != ENVSYNC_OK)
        return st;
    s = config_setting_get_member(g, "encryption_key");
    if (s && config_setting_get_member(g, "encryption_key_file"))
        return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: give encryption_key or encryption_key_file, not both", label);
    if (s) {
        if ((st = get_string(v, s, "'encryption_key'", &text)) != ENVSYNC_OK)
            return st;
    } else if ((s = config_setting_get_member(g, "encryption_key_file")) != NULL) {
        char *path;

        if ((st = get_string(v, s, "'encryption_key_file'", &path)) != ENVSYNC_OK)
            return st;
        text = es_read_file(path, 4096, 1, NULL);
        if (!text) {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "%s: cannot read encryption_key_file '%s': %s",
                      label, path, strerror(errno));
            free(path);
            return st;
        }
        free(path);
    }
    if (text) {
        es_redact_add(text);
        if (es_decode_key(text, j->key) < 0) {
            OPENSSL_cleanse(text, strlen(text));
            free(text);
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: the encryption key must be 32 bytes, "
                        "as 64 hex digits or 44 base64 characters (e.g. `openssl rand -hex 32`)", label);
        }
        OPENSSL_cleanse(text, strlen(text));
        free(text);
        j->art.key = j->key;
        if (!j->key_id)
            j->key_id = es_strdup("default");
    }
    j->art.key_id = j->key_id;
    return ENVSYNC_OK;
}

/* The storage that the group's `storage` key names (required). */
static envsync_status
ref_storage(vctx *v, es_conf *c, config_setting_t *g, const char *label, es_storage **out)
{
    config_setting_t *ss = config_setting_get_member(g, "storage");
    char *sname = NULL;
    envsync_status st;

    if (!ss)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "%s: 'storage' is required", label);
    if ((st = get_string(v, ss, "'storage'", &sname)) != ENVSYNC_OK)
        return st;
    *out = es_conf_storage(c, sname);
    if (!*out)
        st = verr(v, ss, ENVSYNC_ERR_CONFIG, "%s: storage '%s' is not defined in the storage group",
                  label, sname);
    free(sname);
    return st;
}

static envsync_status
parse_job(vctx *v, es_conf *c, es_loader *l, config_setting_t *g, es_job *j)
{
    static const char *const keys[] = {
        "name", "enabled", "timeout", "artifact", "backup", "store", "fetch", "transform", "restore",
        "lock", NULL
    };
    static const char *const lock_keys[] = { "storage", "enabled", "ttl", "wait", NULL };
    static const char *const phase_reserved[] = { "plugin", "enabled", NULL };
    static const char *const store_keys[] = { "storage", "enabled", NULL };
    static const char *const fetch_keys[] = { "storage", "enabled", "job", "select", NULL };
    config_setting_t *s;
    envsync_status st;
    char label[300];
    size_t i;

    j->where = where_of(v, g);
    j->enabled = 1;
    /* Defaults tuned for a nightly copy: the whole pipeline waits on
     * compression, so zstd level 1 with one worker per CPU (at most 4);
     * docs/benchmarks-postgres.md measured 16.7 s with level 3 and no
     * workers against 13.7 s with level 1 and two, for a smaller artifact. */
    j->art.compression = ES_COMP_ZSTD;
    j->art.level = 1;
    {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        j->art.threads = ncpu < 2 ? 0 : ncpu > 4 ? 4 : (int)ncpu;
    }
    if ((st = want_group(v, g, "a job")) != ENVSYNC_OK)
        return st;
    if (!(s = config_setting_get_member(g, "name")))
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job: 'name' is required");
    if ((st = get_string(v, s, "job 'name'", &j->name)) != ENVSYNC_OK)
        return st;
    for (i = 0; j->name[i]; i++)
        if (!(isalnum((unsigned char)j->name[i]) || strchr("-_.", j->name[i])))
            return verr(v, s, ENVSYNC_ERR_CONFIG, "job name '%s' may only contain letters, digits, "
                        "'-', '_' and '.' (it becomes part of storage keys)", j->name);
    if (!*j->name || j->name[0] == '.')
        return verr(v, s, ENVSYNC_ERR_CONFIG, "job name '%s' is not valid", j->name);
    for (i = 0; i < c->njobs; i++)
        if (&c->jobs[i] != j && c->jobs[i].name && strcmp(c->jobs[i].name, j->name) == 0)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "job '%s' is defined twice (first at %s)",
                        j->name, c->jobs[i].where);
    snprintf(label, sizeof label, "job %s", j->name);
    if ((st = only_keys(v, g, label, keys)) != ENVSYNC_OK ||
        (st = opt_bool(v, g, "enabled", label, &j->enabled)) != ENVSYNC_OK ||
        (st = opt_duration(v, g, "timeout", label, &j->timeout_ms)) != ENVSYNC_OK)
        return st;
    if ((s = config_setting_get_member(g, "artifact")) != NULL) {
        snprintf(label, sizeof label, "job %s: artifact", j->name);
        if ((st = parse_artifact(v, s, j, label)) != ENVSYNC_OK)
            return st;
    }
    if ((s = config_setting_get_member(g, "backup")) != NULL) {
        snprintf(label, sizeof label, "job %s: backup", j->name);
        if ((st = want_group(v, s, "'backup'")) != ENVSYNC_OK)
            return st;
        j->backup = es_calloc(1, sizeof *j->backup);
        if ((st = make_instance(v, l, s, label, ENVSYNC_PHASE_BACKUP, phase_reserved, j->backup)) != ENVSYNC_OK)
            return st;
    }
    if ((s = config_setting_get_member(g, "restore")) != NULL) {
        snprintf(label, sizeof label, "job %s: restore", j->name);
        if ((st = want_group(v, s, "'restore'")) != ENVSYNC_OK)
            return st;
        j->restore = es_calloc(1, sizeof *j->restore);
        if ((st = make_instance(v, l, s, label, ENVSYNC_PHASE_RESTORE, phase_reserved, j->restore)) != ENVSYNC_OK)
            return st;
    }
    if ((s = config_setting_get_member(g, "transform")) != NULL) {
        int t = config_setting_type(s), n;

        if (t == CONFIG_TYPE_GROUP) {
            n = 1;
        } else if (t == CONFIG_TYPE_LIST) {
            n = config_setting_length(s);
        } else {
            return verr(v, s, ENVSYNC_ERR_CONFIG, "job %s: 'transform' must be a group or a list "
                        "of groups ( { plugin = ...; }, ... )", j->name);
        }
        j->transforms = es_calloc((size_t)n + 1, sizeof *j->transforms);
        for (i = 0; i < (size_t)n; i++) {
            config_setting_t *ts = t == CONFIG_TYPE_GROUP ? s : config_setting_get_elem(s, (unsigned)i);

            snprintf(label, sizeof label, "job %s: transform #%zu", j->name, i + 1);
            if ((st = want_group(v, ts, "a transform")) != ENVSYNC_OK)
                return st;
            j->ntransforms++;
            if ((st = make_instance(v, l, ts, label, ENVSYNC_PHASE_TRANSFORM, phase_reserved,
                                    &j->transforms[i])) != ENVSYNC_OK)
                return st;
        }
    }
    if ((s = config_setting_get_member(g, "store")) != NULL) {
        config_setting_t *ss;

        snprintf(label, sizeof label, "job %s: store", j->name);
        j->store.where = where_of(v, s);
        j->store.enabled = 1;
        if ((st = want_group(v, s, "'store'")) != ENVSYNC_OK ||
            (st = only_keys(v, s, label, store_keys)) != ENVSYNC_OK ||
            (st = opt_bool(v, s, "enabled", label, &j->store.enabled)) != ENVSYNC_OK)
            return st;
        if ((st = ref_storage(v, c, s, label, &j->store.storage)) != ENVSYNC_OK)
            return st;
        ss = config_setting_get_member(s, "storage");
        if (!(j->store.storage->inst.plugin->desc.phases & ENVSYNC_PHASE_STORE))
            return verr(v, ss, ENVSYNC_ERR_PLUGIN, "%s: plugin '%s' of storage '%s' cannot store",
                        label, j->store.storage->inst.plugin->name, j->store.storage->name);
    }
    if ((s = config_setting_get_member(g, "fetch")) != NULL) {
        config_setting_t *ss;

        snprintf(label, sizeof label, "job %s: fetch", j->name);
        j->fetch.where = where_of(v, s);
        j->fetch.enabled = 1;
        if ((st = want_group(v, s, "'fetch'")) != ENVSYNC_OK ||
            (st = only_keys(v, s, label, fetch_keys)) != ENVSYNC_OK ||
            (st = opt_bool(v, s, "enabled", label, &j->fetch.enabled)) != ENVSYNC_OK ||
            (st = opt_str(v, s, "job", label, &j->fetch.job)) != ENVSYNC_OK ||
            (st = opt_str(v, s, "select", label, &j->fetch.select)) != ENVSYNC_OK)
            return st;
        if ((st = ref_storage(v, c, s, label, &j->fetch.storage)) != ENVSYNC_OK)
            return st;
        ss = config_setting_get_member(s, "storage");
        if (!(j->fetch.storage->inst.plugin->desc.phases & ENVSYNC_PHASE_FETCH))
            return verr(v, ss, ENVSYNC_ERR_PLUGIN, "%s: plugin '%s' of storage '%s' cannot fetch",
                        label, j->fetch.storage->inst.plugin->name, j->fetch.storage->name);
        if (!j->fetch.job)
            j->fetch.job = es_strdup(j->name);
        if (!j->fetch.select)
            j->fetch.select = es_strdup("latest");
        if (strcmp(j->fetch.select, "latest") != 0 && strcmp(j->fetch.select, "newest") != 0) {
            time_t t;

            if (es_parse_timestamp(j->fetch.select, &t) < 0)
                return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: select must be \"latest\", \"newest\" "
                            "or a timestamp like 20261125T031500Z, not \"%s\"", label, j->fetch.select);
        }
    }
    /* The run lock: in the named storage, else the store storage. */
    j->lock.enabled = 1;
    j->lock.ttl_ms = 10 * 60 * 1000;
    j->lock.storage = j->store.storage;
    if ((s = config_setting_get_member(g, "lock")) != NULL) {
        snprintf(label, sizeof label, "job %s: lock", j->name);
        if ((st = want_group(v, s, "'lock'")) != ENVSYNC_OK ||
            (st = only_keys(v, s, label, lock_keys)) != ENVSYNC_OK ||
            (st = opt_bool(v, s, "enabled", label, &j->lock.enabled)) != ENVSYNC_OK ||
            (st = opt_duration(v, s, "ttl", label, &j->lock.ttl_ms)) != ENVSYNC_OK ||
            (st = opt_duration(v, s, "wait", label, &j->lock.wait_ms)) != ENVSYNC_OK)
            return st;
        if (j->lock.ttl_ms < 3000)
            return verr(v, s, ENVSYNC_ERR_CONFIG, "%s: ttl must be at least 3s", label);
        if (config_setting_get_member(s, "storage") &&
            (st = ref_storage(v, c, s, label, &j->lock.storage)) != ENVSYNC_OK)
            return st;
    }
    /* The shape of the pipeline. */
    if (!j->backup && !j->fetch.storage)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job %s has no source: give it a backup or a fetch phase", j->name);
    if (!j->store.storage && !j->restore)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job %s has no destination: give it a store or a restore phase", j->name);
    if (j->backup && j->fetch.storage && !j->store.storage)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job %s has backup and fetch but no store: "
                    "a full cycle stores the backup, then fetches it", j->name);
    if (j->fetch.storage && !j->backup && !j->restore && !j->store.storage)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job %s fetches but neither restores nor stores", j->name);
    if (j->backup && j->fetch.storage && !j->restore)
        return verr(v, g, ENVSYNC_ERR_CONFIG, "job %s has backup, store and fetch but no restore", j->name);
    return ENVSYNC_OK;
}

es_storage *
es_conf_storage(es_conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nstorages; i++)
        if (strcmp(c->storages[i].name, name) == 0)
            return &c->storages[i];
    return NULL;
}

es_job *
es_conf_job(es_conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->njobs; i++)
        if (strcmp(c->jobs[i].name, name) == 0)
            return &c->jobs[i];
    return NULL;
}

es_optval *
es_instance_opt(es_instance *in, const char *name)
{
    size_t i;

    for (i = 0; i < in->nopts; i++)
        if (strcmp(in->opts[i].def->name, name) == 0)
            return &in->opts[i];
    return NULL;
}

int
es_env_is_production(const char *environment)
{
    const char *p;

    if (!environment)
        return 0;
    for (p = environment; *p; p++)
        if (strncasecmp(p, "prod", 4) == 0)
            return 1;
    return 0;
}

static envsync_status
parse_envsync_group(vctx *v, config_setting_t *g, es_conf *c, es_loader *l)
{
    static const char *const keys[] = {
        "environment", "plugin_dir", "log_format", "log_level", "progress_interval",
        "allow_production_restore", "tmpdir", "metrics_pushgateway", "metrics_textfile",
        "webhook_url", "webhook_url_file", NULL
    };
    envsync_status st;
    char *fmt = NULL, *lvl = NULL;
    config_setting_t *s;

    if ((st = want_group(v, g, "'envsync'")) != ENVSYNC_OK ||
        (st = only_keys(v, g, "envsync", keys)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "environment", "envsync", &c->environment)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "plugin_dir", "envsync", &c->plugin_dir)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "tmpdir", "envsync", &c->tmpdir)) != ENVSYNC_OK ||
        (st = opt_bool(v, g, "allow_production_restore", "envsync", &c->allow_production_restore)) != ENVSYNC_OK ||
        (st = opt_duration(v, g, "progress_interval", "envsync", &c->progress_interval_ms)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "log_format", "envsync", &fmt)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "log_level", "envsync", &lvl)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "metrics_pushgateway", "envsync", &c->metrics_pushgateway)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "metrics_textfile", "envsync", &c->metrics_textfile)) != ENVSYNC_OK ||
        (st = opt_str(v, g, "webhook_url", "envsync", &c->webhook_url)) != ENVSYNC_OK)
        goto out;
    if ((s = config_setting_get_member(g, "webhook_url_file")) != NULL) {
        char *path = NULL;

        if (c->webhook_url) {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "envsync: give webhook_url or webhook_url_file, not both");
            goto out;
        }
        if ((st = get_string(v, s, "'webhook_url_file'", &path)) != ENVSYNC_OK)
            goto out;
        c->webhook_url = es_read_file(path, SECRET_FILE_MAX, 1, NULL);
        if (!c->webhook_url) {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "envsync: cannot read webhook_url_file '%s': %s",
                      path, strerror(errno));
            free(path);
            goto out;
        }
        free(path);
    }
    /* webhook URLs often carry a token (Slack, Teams): never log them */
    if (c->webhook_url)
        es_redact_add(c->webhook_url);
    if (fmt) {
        s = config_setting_get_member(g, "log_format");
        if (strcmp(fmt, "json") == 0) {
            c->log_format = ES_LOG_JSON;
        } else if (strcmp(fmt, "text") == 0) {
            c->log_format = ES_LOG_TEXT;
        } else {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "envsync: log_format must be \"text\" or \"json\"");
            goto out;
        }
    }
    if (lvl) {
        s = config_setting_get_member(g, "log_level");
        if ((c->log_level = es_log_level_from_name(lvl)) < 0) {
            st = verr(v, s, ENVSYNC_ERR_CONFIG, "envsync: log_level must be error, warn, info or debug");
            goto out;
        }
    }
    if (c->plugin_dir)
        es_loader_add_dir(l, c->plugin_dir);
out:
    free(fmt);
    free(lvl);
    return st;
}

envsync_status
es_conf_load(const char *file, es_loader *l, es_conf **out, char *err, size_t errlen)
{
    static const char *const top_keys[] = { "envsync", "storage", "jobs", NULL };
    static const char *const storage_reserved[] = { "plugin", "prefix", NULL };
    config_t cfg;
    config_setting_t *root, *s;
    es_conf *c;
    envsync_status st = ENVSYNC_OK;
    vctx v = { file, err, errlen };
    char *dir, *dcopy;
    int i, n;

    *out = NULL;
    config_init(&cfg);
    dcopy = es_strdup(file);
    dir = dirname(dcopy);
    config_set_include_dir(&cfg, dir);
    if (!config_read_file(&cfg, file)) {
        if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO && !config_error_file(&cfg))
            snprintf(err, errlen, "%s: cannot read config file: %s", file, strerror(errno ? errno : ENOENT));
        else
            snprintf(err, errlen, "%s:%d: %s", config_error_file(&cfg) ? config_error_file(&cfg) : file,
                     config_error_line(&cfg), config_error_text(&cfg));
        config_destroy(&cfg);
        free(dcopy);
        return ENVSYNC_ERR_CONFIG;
    }
    free(dcopy);
    c = es_calloc(1, sizeof *c);
    c->file = es_strdup(file);
    c->log_level = -1;
    c->log_format = -1;
    c->progress_interval_ms = 30000;
    root = config_root_setting(&cfg);
    if ((st = only_keys(&v, root, "top level", top_keys)) != ENVSYNC_OK)
        goto fail;
    if ((s = config_setting_get_member(root, "envsync")) != NULL &&
        (st = parse_envsync_group(&v, s, c, l)) != ENVSYNC_OK)
        goto fail;
    es_loader_add_dir(l, PLUGINDIR);
    if (!c->environment)
        c->environment = es_strdup("default");

    if ((s = config_setting_get_member(root, "storage")) != NULL) {
        if ((st = want_group(&v, s, "'storage'")) != ENVSYNC_OK)
            goto fail;
        n = config_setting_length(s);
        c->storages = es_calloc((size_t)n + 1, sizeof *c->storages);
        for (i = 0; i < n; i++) {
            config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
            es_storage *sto = &c->storages[c->nstorages];
            char label[256];

            sto->name = es_strdup(config_setting_name(g));
            c->nstorages++;
            snprintf(label, sizeof label, "storage %s", sto->name);
            if ((st = want_group(&v, g, "a storage")) != ENVSYNC_OK ||
                (st = make_instance(&v, l, g, label, ENVSYNC_PHASE_STORE | ENVSYNC_PHASE_FETCH,
                                    storage_reserved, &sto->inst)) != ENVSYNC_OK ||
                (st = opt_str(&v, g, "prefix", label, &sto->prefix)) != ENVSYNC_OK)
                goto fail;
            if (!sto->prefix)
                sto->prefix = es_strdup("");
            /* normalise: no leading or trailing slashes */
            {
                char *p = sto->prefix;
                size_t len;

                while (*p == '/')
                    p++;
                memmove(sto->prefix, p, strlen(p) + 1);
                len = strlen(sto->prefix);
                while (len && sto->prefix[len - 1] == '/')
                    sto->prefix[--len] = '\0';
            }
        }
    }
    if ((s = config_setting_get_member(root, "jobs")) != NULL) {
        if (config_setting_type(s) != CONFIG_TYPE_LIST) {
            st = verr(&v, s, ENVSYNC_ERR_CONFIG, "'jobs' must be a list ( { ... }, { ... } )");
            goto fail;
        }
        n = config_setting_length(s);
        c->jobs = es_calloc((size_t)n + 1, sizeof *c->jobs);
        for (i = 0; i < n; i++) {
            c->njobs++;
            if ((st = parse_job(&v, c, l, config_setting_get_elem(s, (unsigned)i),
                                &c->jobs[i])) != ENVSYNC_OK)
                goto fail;
        }
    }
    config_destroy(&cfg);
    *out = c;
    return ENVSYNC_OK;
fail:
    config_destroy(&cfg);
    es_conf_free(c);
    return st;
}

static void
free_instance(es_instance *in)
{
    size_t i, k;

    if (!in)
        return;
    for (i = 0; i < in->nopts; i++) {
        es_optval *ov = &in->opts[i];

        if (ov->str) {
            OPENSSL_cleanse(ov->str, strlen(ov->str));
            free(ov->str);
        }
        for (k = 0; k < ov->nlist; k++)
            free(ov->list[k]);
        free(ov->list);
        free(ov->where);
    }
    free(in->opts);
    free(in->label);
    free(in->where);
}

void
es_conf_free(es_conf *c)
{
    size_t i, k;

    if (!c)
        return;
    for (i = 0; i < c->nstorages; i++) {
        free(c->storages[i].name);
        free(c->storages[i].prefix);
        free_instance(&c->storages[i].inst);
    }
    free(c->storages);
    for (i = 0; i < c->njobs; i++) {
        es_job *j = &c->jobs[i];

        free(j->name);
        free(j->where);
        free(j->key_id);
        OPENSSL_cleanse(j->key, sizeof j->key);
        free_instance(j->backup);
        free(j->backup);
        free_instance(j->restore);
        free(j->restore);
        for (k = 0; k < j->ntransforms; k++)
            free_instance(&j->transforms[k]);
        free(j->transforms);
        free(j->store.where);
        free(j->fetch.where);
        free(j->fetch.job);
        free(j->fetch.select);
    }
    free(c->jobs);
    free(c->file);
    free(c->environment);
    free(c->plugin_dir);
    free(c->tmpdir);
    free(c->metrics_pushgateway);
    free(c->metrics_textfile);
    if (c->webhook_url) {
        OPENSSL_cleanse(c->webhook_url, strlen(c->webhook_url));
        free(c->webhook_url);
    }
    free(c);
}
