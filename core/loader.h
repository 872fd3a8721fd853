/*
 * loader.h - finds, loads and checks plugins.
 *
 * Search order for plugin NAME (file NAME.so): each directory of
 * $ENVSYNC_PLUGIN_PATH (colon-separated, for tests and development), the
 * config's plugin_dir, then the compiled-in PLUGINDIR.  A plugin is loaded
 * once per process with dlopen(RTLD_NOW | RTLD_LOCAL); its one symbol
 * envsync_plugin_entry is called with the host table and the descriptor is
 * checked: ABI version, struct size, name equal to the file's name, phases
 * consistent with the callbacks present.  The descriptor is copied into a
 * zero-filled struct of the core's size so a plugin built against an older
 * (smaller) ABI-1 struct reads as NULL for the members it lacks.
 */
#ifndef ES_LOADER_H
#define ES_LOADER_H

#include <envsync/plugin.h>

typedef struct es_plugin {
    char *name;
    char *path;
    void *handle;
    envsync_plugin desc;     /* copy, zero-filled beyond the plugin's size */
    size_t noptions;
    struct es_plugin *next;
} es_plugin;

typedef struct es_loader {
    char **dirs;
    size_t ndirs;
    const envsync_host *host;
    es_plugin *loaded;
} es_loader;

void es_loader_init(es_loader *l, const envsync_host *host);
/* Append a directory to the search path (duplicates ignored). */
void es_loader_add_dir(es_loader *l, const char *dir);
/* Add $ENVSYNC_PLUGIN_PATH dirs (call first), then config dir, then
 * es_loader_add_dir(l, PLUGINDIR) last. */
void es_loader_add_env(es_loader *l);

/* Loads plugin `name`.  ENVSYNC_ERR_PLUGIN with a message naming the file
 * on failure. */
envsync_status es_loader_get(es_loader *l, const char *name, es_plugin **out,
                             char *err, size_t errlen);
/* Loads a plugin from an explicit path (for `envsync plugins`). */
envsync_status es_loader_load_path(es_loader *l, const char *path,
                                   es_plugin **out, char *err, size_t errlen);
void es_loader_free(es_loader *l);

/* "backup,restore" */
const char *es_phases_str(unsigned phases, char *buf, size_t len);
const char *es_phase_name(unsigned phase);

#endif
