/*
 * broken.c - deliberately bad plugins for the loader tests, one per
 * compile-time flag:
 *   BAD_ABI     reports ABI version 99
 *   NO_PHASE    declares the restore phase without its callbacks
 *   (neither)   a shared object without the entry symbol
 */
#include <envsync/plugin.h>

#if defined(BAD_ABI) || defined(NO_PHASE)
static const envsync_option options[] = { { NULL, ENVSYNC_OPT_END, 0, NULL, NULL } };

static envsync_status
b_init(envsync_ctx *ctx, void **state)
{
    (void)ctx;
    *state = NULL;
    return ENVSYNC_OK;
}

static void
b_destroy(void *state)
{
    (void)state;
}

static const envsync_plugin plugin = {
#ifdef BAD_ABI
    .abi_version = 99,
    .name = "badabi",
#else
    .abi_version = ENVSYNC_ABI_VERSION,
    .name = "nophase",
#endif
    .struct_size = sizeof(envsync_plugin),
    .version = "0.0.1",
    .description = "a broken plugin for tests",
    .phases = ENVSYNC_PHASE_RESTORE,
    .options = options,
    .init = b_init,
    .destroy = b_destroy,
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *h)
{
    (void)h;
    return &plugin;
}
#else
int notplugin_function(void);

int
notplugin_function(void)
{
    return 42;
}
#endif
