/*
 * file.c - the `file` storage plugin: artifacts in a local directory.
 *
 * Keys map to paths below `path`.  A write goes to a hidden temporary file
 * in the destination directory (".<name>.tmp.XXXXXX"); commit fsyncs it,
 * renames it into place (or links it, for create-if-absent) and fsyncs the
 * directory, so an object is either absent or complete, even across a
 * crash.  Temporary files are never listed.
 */
#include <envsync/plugin.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const envsync_host *host;

static const envsync_option options[] = {
    { "path", ENVSYNC_OPT_STRING, ENVSYNC_OPT_REQUIRED, NULL,
      "directory holding the stored artifacts" },
    { "fsync", ENVSYNC_OPT_BOOL, 0, "true",
      "fsync files and directories at commit (turn off only for throwaway tests)" },
    { "create", ENVSYNC_OPT_BOOL, 0, "true",
      "create the directory if it does not exist" },
    { NULL, ENVSYNC_OPT_END, 0, NULL, NULL }
};

typedef struct fstate {
    char *base;
    int fsync;
    int create;
} fstate;

typedef struct fwriter {
    fstate *fs;
    char *final;
    char *tmp;
    int fd;
    unsigned flags;
} fwriter;

typedef struct freader {
    int fd;
    char *path;
} freader;

static envsync_status
io_error(envsync_ctx *ctx, int err, const char *what, const char *path)
{
    envsync_status st = ENVSYNC_ERR_STORAGE;

    if (err == ENOENT)
        st = ENVSYNC_ERR_NOTFOUND;
    return host->error(ctx, st, "%s %s: %s%s", what, path, strerror(err),
                       err == ENOSPC || err == EDQUOT ? " (storage full)" : "");
}

/* Keys are relative and never climb out of the base directory. */
static int
key_ok(const char *key)
{
    const char *p = key;

    if (!*key || key[0] == '/')
        return 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);

        if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
            return 0;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 1;
}

static char *
join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);

    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* mkdir -p for the directory part of path */
static int
make_parents(const char *path)
{
    char *copy = strdup(path), *p;

    if (!copy)
        return -1;
    for (p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0750) < 0 && errno != EEXIST) {
            int e = errno;

            free(copy);
            errno = e;
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

static int
fsync_dir_of(const char *path)
{
    char *copy = strdup(path), *slash;
    int fd, r = 0;

    if (!copy)
        return -1;
    slash = strrchr(copy, '/');
    if (slash)
        *slash = '\0';
    fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        r = fsync(fd);
        close(fd);
    }
    free(copy);
    return r;
}

static envsync_status
f_init(envsync_ctx *ctx, void **state)
{
    fstate *fs = calloc(1, sizeof *fs);
    const char *path = host->opt_string(ctx, "path");
    size_t n;

    if (!fs)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    fs->base = strdup(path);
    n = strlen(fs->base);
    while (n > 1 && fs->base[n - 1] == '/')
        fs->base[--n] = '\0';
    fs->fsync = (int)host->opt_int(ctx, "fsync");
    fs->create = (int)host->opt_int(ctx, "create");
    *state = fs;
    return ENVSYNC_OK;
}

static envsync_status
f_check(envsync_ctx *ctx, void *state)
{
    fstate *fs = state;
    struct stat st;

    if (stat(fs->base, &st) < 0) {
        if (errno == ENOENT && fs->create)
            return ENVSYNC_OK;
        return io_error(ctx, errno, "storage directory", fs->base);
    }
    if (!S_ISDIR(st.st_mode))
        return host->error(ctx, ENVSYNC_ERR_STORAGE, "storage path %s is not a directory", fs->base);
    if (access(fs->base, R_OK | X_OK) < 0)
        return io_error(ctx, errno, "storage directory", fs->base);
    return ENVSYNC_OK;
}

static void
f_destroy(void *state)
{
    fstate *fs = state;

    if (!fs)
        return;
    free(fs->base);
    free(fs);
}

static envsync_status
f_write_open(envsync_ctx *ctx, void *state, const char *key, unsigned flags, void **writer)
{
    fstate *fs = state;
    fwriter *w;
    char *slash;
    const char *name;
    size_t dirlen;

    if (!key_ok(key))
        return host->error(ctx, ENVSYNC_ERR_STORAGE, "invalid key '%s'", key);
    w = calloc(1, sizeof *w);
    if (!w)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    w->fs = fs;
    w->flags = flags;
    w->fd = -1;
    w->final = join(fs->base, key);
    slash = strrchr(w->final, '/');
    name = slash + 1;
    dirlen = (size_t)(slash - w->final);
    w->tmp = malloc(dirlen + strlen(name) + 16);
    if (!w->final || !w->tmp) {
        free(w->final);
        free(w->tmp);
        free(w);
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    }
    sprintf(w->tmp, "%.*s/.%s.tmp.XXXXXX", (int)dirlen, w->final, name);
    if (!fs->create) {
        struct stat st;

        if (stat(fs->base, &st) < 0) {
            envsync_status s = io_error(ctx, errno, "storage directory", fs->base);

            free(w->final);
            free(w->tmp);
            free(w);
            return s == ENVSYNC_ERR_NOTFOUND ? ENVSYNC_ERR_STORAGE : s;
        }
    }
    if (make_parents(w->tmp) < 0 || (w->fd = mkostemp(w->tmp, O_CLOEXEC)) < 0) {
        envsync_status s = io_error(ctx, errno, "cannot create", w->tmp);

        free(w->final);
        free(w->tmp);
        free(w);
        return s == ENVSYNC_ERR_NOTFOUND ? ENVSYNC_ERR_STORAGE : s;
    }
    fchmod(w->fd, 0640);
    *writer = w;
    return ENVSYNC_OK;
}

static envsync_status
f_write(envsync_ctx *ctx, void *writer, const void *data, size_t len)
{
    fwriter *w = writer;
    const char *p = data;

    while (len) {
        ssize_t n = write(w->fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_error(ctx, errno, "writing", w->tmp);
        }
        p += n;
        len -= (size_t)n;
    }
    return ENVSYNC_OK;
}

static void
writer_free(fwriter *w)
{
    if (w->fd >= 0)
        close(w->fd);
    free(w->final);
    free(w->tmp);
    free(w);
}

static envsync_status
f_write_commit(envsync_ctx *ctx, void *writer)
{
    fwriter *w = writer;

    if (w->fs->fsync && fsync(w->fd) < 0)
        return io_error(ctx, errno, "fsync", w->tmp);
    if (close(w->fd) < 0) {
        w->fd = -1;
        return io_error(ctx, errno, "closing", w->tmp);
    }
    w->fd = -1;
    if (w->flags & ENVSYNC_WRITE_EXCLUSIVE) {
        if (link(w->tmp, w->final) < 0) {
            if (errno == EEXIST)
                return host->error(ctx, ENVSYNC_ERR_LOCKED, "%s already exists", w->final);
            return io_error(ctx, errno, "linking", w->final);
        }
        unlink(w->tmp);
    } else if (rename(w->tmp, w->final) < 0) {
        return io_error(ctx, errno, "renaming into place", w->final);
    }
    if (w->fs->fsync && fsync_dir_of(w->final) < 0)
        return io_error(ctx, errno, "fsync of the directory of", w->final);
    writer_free(w);
    return ENVSYNC_OK;
}

static void
f_write_abort(envsync_ctx *ctx, void *writer)
{
    fwriter *w = writer;

    (void)ctx;
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp);   /* after a commit that failed past rename, tmp is gone: fine */
    writer_free(w);
}

static envsync_status
f_read_open(envsync_ctx *ctx, void *state, const char *key, uint64_t *size, void **reader)
{
    fstate *fs = state;
    freader *r;
    struct stat st;

    if (!key_ok(key))
        return host->error(ctx, ENVSYNC_ERR_STORAGE, "invalid key '%s'", key);
    r = calloc(1, sizeof *r);
    if (!r)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    r->path = join(fs->base, key);
    r->fd = r->path ? open(r->path, O_RDONLY | O_CLOEXEC) : -1;
    if (r->fd < 0 || fstat(r->fd, &st) < 0) {
        envsync_status s = io_error(ctx, errno, "cannot open", r->path ? r->path : key);

        if (r->fd >= 0)
            close(r->fd);
        free(r->path);
        free(r);
        return s;
    }
    *size = (uint64_t)st.st_size;
    *reader = r;
    return ENVSYNC_OK;
}

static envsync_status
f_read(envsync_ctx *ctx, void *reader, void *buf, size_t cap, size_t *got)
{
    freader *r = reader;
    ssize_t n;

    do {
        n = read(r->fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return io_error(ctx, errno, "reading", r->path);
    *got = (size_t)n;
    return ENVSYNC_OK;
}

static void
f_read_close(envsync_ctx *ctx, void *reader)
{
    freader *r = reader;

    (void)ctx;
    if (!r)
        return;
    close(r->fd);
    free(r->path);
    free(r);
}

/* Walk dir (relative key prefix rel) and report keys starting with prefix. */
static envsync_status
walk(envsync_ctx *ctx, const char *base, const char *rel, const char *prefix,
     envsync_list_cb cb, void *arg, int depth)
{
    char *dir = *rel ? join(base, rel) : strdup(base);
    DIR *d;
    struct dirent *de;
    envsync_status st = ENVSYNC_OK;

    if (!dir)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    d = opendir(dir);
    if (!d) {
        int e = errno;

        free(dir);
        if (e == ENOENT || e == ENOTDIR)
            return ENVSYNC_OK;   /* nothing stored yet */
        return io_error(ctx, e, "listing", base);
    }
    while (st == ENVSYNC_OK && (de = readdir(d)) != NULL) {
        char *key, *path;
        struct stat sb;
        size_t klen, plen = strlen(prefix);

        if (de->d_name[0] == '.')
            continue;   /* ".", "..", temporary files */
        key = *rel ? join(rel, de->d_name) : strdup(de->d_name);
        path = key ? join(base, key) : NULL;
        if (!key || !path) {
            free(key);
            free(path);
            st = host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
            break;
        }
        klen = strlen(key);
        if (lstat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                /* descend only where the prefix can still match */
                if (depth < 32 && (strncmp(key, prefix, klen < plen ? klen : plen) == 0))
                    st = walk(ctx, base, key, prefix, cb, arg, depth + 1);
            } else if (S_ISREG(sb.st_mode) && strncmp(key, prefix, plen) == 0) {
                envsync_object_info info;

                info.key = key;
                info.size = (uint64_t)sb.st_size;
                info.mtime = (int64_t)sb.st_mtime;
                st = cb(arg, &info);
            }
        }
        free(key);
        free(path);
    }
    closedir(d);
    free(dir);
    return st;
}

static envsync_status
f_list(envsync_ctx *ctx, void *state, const char *prefix, envsync_list_cb cb, void *arg)
{
    fstate *fs = state;
    const char *slash = strrchr(prefix, '/');
    char *start;
    envsync_status st;

    /* start at the deepest directory the prefix names */
    start = slash ? strndup(prefix, (size_t)(slash - prefix)) : strdup("");
    if (!start)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    if (*start && !key_ok(start)) {
        free(start);
        return host->error(ctx, ENVSYNC_ERR_STORAGE, "invalid prefix '%s'", prefix);
    }
    st = walk(ctx, fs->base, start, prefix, cb, arg, 0);
    free(start);
    return st;
}

static envsync_status
f_remove(envsync_ctx *ctx, void *state, const char *key)
{
    fstate *fs = state;
    char *path;

    if (!key_ok(key))
        return host->error(ctx, ENVSYNC_ERR_STORAGE, "invalid key '%s'", key);
    path = join(fs->base, key);
    if (!path)
        return host->error(ctx, ENVSYNC_ERR_OTHER, "out of memory");
    if (unlink(path) < 0) {
        envsync_status s = io_error(ctx, errno, "removing", path);

        free(path);
        return s;
    }
    free(path);
    return ENVSYNC_OK;
}

static const envsync_plugin plugin = {
    .abi_version = ENVSYNC_ABI_VERSION,
    .struct_size = sizeof(envsync_plugin),
    .name = "file",
    .version = PACKAGE_VERSION,
    .description = "store artifacts in a local directory (atomic: temporary file, fsync, rename)",
    .engine = NULL,
    .phases = ENVSYNC_PHASE_STORE | ENVSYNC_PHASE_FETCH,
    .options = options,
    .init = f_init,
    .check = f_check,
    .destroy = f_destroy,
    .write_open = f_write_open,
    .write = f_write,
    .write_commit = f_write_commit,
    .write_abort = f_write_abort,
    .read_open = f_read_open,
    .read = f_read,
    .read_close = f_read_close,
    .list = f_list,
    .remove = f_remove,
    .storage_caps = ENVSYNC_STORAGE_ATOMIC_CREATE,  /* link() fails on an existing name */
};

const envsync_plugin *
envsync_plugin_entry(const envsync_host *h)
{
    host = h;
    return &plugin;
}
