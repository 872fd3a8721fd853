#include "config.h"
#include "loader.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
es_loader_init(es_loader *l, const envsync_host *host)
{
    memset(l, 0, sizeof *l);
    l->host = host;
}

void
es_loader_add_dir(es_loader *l, const char *dir)
{
    size_t i;

    if (!dir || !*dir)
        return;
    for (i = 0; i < l->ndirs; i++)
        if (strcmp(l->dirs[i], dir) == 0)
            return;
    l->dirs = es_realloc(l->dirs, (l->ndirs + 1) * sizeof *l->dirs);
    l->dirs[l->ndirs++] = es_strdup(dir);
}

void
es_loader_add_env(es_loader *l)
{
    const char *env = getenv("ENVSYNC_PLUGIN_PATH");
    char *copy, *tok, *save = NULL;

    if (!env || !*env)
        return;
    copy = es_strdup(env);
    for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
        es_loader_add_dir(l, tok);
    free(copy);
}

const char *
es_phase_name(unsigned phase)
{
    switch (phase) {
    case ENVSYNC_PHASE_BACKUP: return "backup";
    case ENVSYNC_PHASE_STORE: return "store";
    case ENVSYNC_PHASE_FETCH: return "fetch";
    case ENVSYNC_PHASE_TRANSFORM: return "transform";
    case ENVSYNC_PHASE_RESTORE: return "restore";
    }
    return "?";
}

const char *
es_phases_str(unsigned phases, char *buf, size_t len)
{
    unsigned bit;
    size_t off = 0;

    buf[0] = '\0';
    for (bit = 1; bit <= ENVSYNC_PHASE_RESTORE; bit <<= 1) {
        if (!(phases & bit))
            continue;
        off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s",
                                off ? "," : "", es_phase_name(bit));
    }
    return buf;
}

/* Which callbacks each phase needs. */
static const char *
missing_callback(const envsync_plugin *d)
{
    if ((d->phases & ENVSYNC_PHASE_BACKUP) && !d->backup)
        return "backup";
    if ((d->phases & ENVSYNC_PHASE_TRANSFORM) && !d->transform_entry)
        return "transform_entry";
    if ((d->phases & ENVSYNC_PHASE_RESTORE) &&
        (!d->restore_begin || !d->restore_entry || !d->restore_finish || !d->restore_abort))
        return "restore_begin/entry/finish/abort";
    if ((d->phases & ENVSYNC_PHASE_STORE) &&
        (!d->write_open || !d->write || !d->write_commit || !d->write_abort))
        return "write_open/write/write_commit/write_abort";
    if ((d->phases & ENVSYNC_PHASE_FETCH) &&
        (!d->read_open || !d->read || !d->read_close || !d->list))
        return "read_open/read/read_close/list";
    if ((d->phases & (ENVSYNC_PHASE_STORE | ENVSYNC_PHASE_FETCH)) && !d->list)
        return "list";
    if (!d->init || !d->destroy)
        return "init/destroy";
    return NULL;
}

static envsync_status
load_file(es_loader *l, const char *path, const char *want_name,
          es_plugin **out, char *err, size_t errlen)
{
    envsync_plugin_entry_fn entry;
    const envsync_plugin *d;
    const char *missing;
    es_plugin *p;
    void *h;
    size_t n;

    dlerror();
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load plugin %s: %s (check its libraries with `ldd %s`)",
                 path, dlerror(), path);
        return ENVSYNC_ERR_PLUGIN;
    }
    *(void **)&entry = dlsym(h, ENVSYNC_PLUGIN_ENTRY);
    if (!entry) {
        snprintf(err, errlen, "%s is not an envsync plugin (no symbol %s)",
                 path, ENVSYNC_PLUGIN_ENTRY);
        dlclose(h);
        return ENVSYNC_ERR_PLUGIN;
    }
    d = entry(l->host);
    if (!d) {
        snprintf(err, errlen, "plugin %s refused to initialise (entry returned NULL)", path);
        dlclose(h);
        return ENVSYNC_ERR_PLUGIN;
    }
    if (d->abi_version != ENVSYNC_ABI_VERSION) {
        snprintf(err, errlen, "plugin %s was built for plugin ABI version %u, "
                 "this envsync supports version %u: rebuild it against this envsync's plugin.h",
                 path, (unsigned)d->abi_version, (unsigned)ENVSYNC_ABI_VERSION);
        dlclose(h);
        return ENVSYNC_ERR_PLUGIN;
    }
    if (d->struct_size < offsetof(envsync_plugin, options) + sizeof d->options) {
        snprintf(err, errlen, "plugin %s: descriptor too small (%u bytes): not a valid ABI %u plugin",
                 path, (unsigned)d->struct_size, (unsigned)ENVSYNC_ABI_VERSION);
        dlclose(h);
        return ENVSYNC_ERR_PLUGIN;
    }
    p = es_calloc(1, sizeof *p);
    memcpy(&p->desc, d, d->struct_size < sizeof p->desc ? d->struct_size : sizeof p->desc);
    p->handle = h;
    p->path = es_strdup(path);
    if (!p->desc.name || !*p->desc.name || !p->desc.version) {
        snprintf(err, errlen, "plugin %s has no name or version", path);
        goto bad;
    }
    if (want_name && strcmp(want_name, p->desc.name) != 0) {
        snprintf(err, errlen, "plugin file %s calls itself '%s', expected '%s'",
                 path, p->desc.name, want_name);
        goto bad;
    }
    if ((missing = missing_callback(&p->desc)) != NULL) {
        snprintf(err, errlen, "plugin %s declares phases it does not implement "
                 "(missing %s)", path, missing);
        goto bad;
    }
    for (n = 0; p->desc.options && p->desc.options[n].name; n++)
        ;
    p->noptions = n;
    p->name = es_strdup(p->desc.name);
    p->next = l->loaded;
    l->loaded = p;
    *out = p;
    return ENVSYNC_OK;
bad:
    free(p->path);
    free(p);
    dlclose(h);
    return ENVSYNC_ERR_PLUGIN;
}

envsync_status
es_loader_load_path(es_loader *l, const char *path, es_plugin **out,
                    char *err, size_t errlen)
{
    es_plugin *p;

    for (p = l->loaded; p; p = p->next)
        if (strcmp(p->path, path) == 0) {
            *out = p;
            return ENVSYNC_OK;
        }
    return load_file(l, path, NULL, out, err, errlen);
}

static int
valid_name(const char *name)
{
    const char *c;

    if (!*name)
        return 0;
    for (c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return 0;
    return 1;
}

envsync_status
es_loader_get(es_loader *l, const char *name, es_plugin **out, char *err, size_t errlen)
{
    es_plugin *p;
    size_t i;
    struct stat st;

    for (p = l->loaded; p; p = p->next)
        if (strcmp(p->name, name) == 0) {
            *out = p;
            return ENVSYNC_OK;
        }
    if (!valid_name(name)) {
        snprintf(err, errlen, "invalid plugin name '%s' (letters, digits, '_' and '-' only)", name);
        return ENVSYNC_ERR_PLUGIN;
    }
    for (i = 0; i < l->ndirs; i++) {
        char *path = es_asprintf("%s/%s.so", l->dirs[i], name);
        envsync_status st_;

        if (stat(path, &st) == 0) {
            st_ = load_file(l, path, name, out, err, errlen);
            free(path);
            return st_;
        }
        free(path);
    }
    {
        size_t off = 0;

        off += (size_t)snprintf(err, errlen, "plugin '%s' not found (looked for %s.so in", name, name);
        for (i = 0; i < l->ndirs && off < errlen; i++)
            off += (size_t)snprintf(err + off, errlen - off, "%s%s", i ? ", " : " ", l->dirs[i]);
        if (off < errlen)
            snprintf(err + off, errlen - off, ")");
    }
    return ENVSYNC_ERR_PLUGIN;
}

void
es_loader_free(es_loader *l)
{
    es_plugin *p, *n;
    size_t i;

    for (p = l->loaded; p; p = n) {
        n = p->next;
        /* Not dlclose()d: plugin libraries (libmariadb, libcurl) may keep
         * thread-local destructors or atexit handlers pointing into them. */
        free(p->name);
        free(p->path);
        free(p);
    }
    for (i = 0; i < l->ndirs; i++)
        free(l->dirs[i]);
    free(l->dirs);
    memset(l, 0, sizeof *l);
}
