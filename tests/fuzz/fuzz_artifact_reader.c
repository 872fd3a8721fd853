/*
 * fuzz_artifact_reader.c - any byte string through es_artifact_reader:
 * never a crash, leak or hang, whatever the layer that rejects it.
 */
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "artifact_testlib.h"
#include "fuzz.h"

static const unsigned char KEY[32] = "fuzz-key-fuzz-key-fuzz-key-0123";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* odd read sizes exercise the layers' partial reads */
    memsrc src = { data, size, 0, size % 3 == 0 ? 0 : 1 + size % 4096, 0, ENVSYNC_OK };
    es_artifact_opts o;
    es_artifact_reader *r;
    const char *hdr;
    char err[ES_ERRLEN];
    envsync_status st;
    size_t n = 0;

    memset(&o, 0, sizeof o);
    o.key = KEY;
    st = es_artifact_reader_new(&r, &o, memsrc_read, &src, &hdr, err, sizeof err);
    if (st != ENVSYNC_OK)
        return 0;
    for (;;) {
        envsync_entry e;
        const void *d;
        size_t len;
        int more;

        st = es_artifact_next(r, &e, &d, &len, &more, err, sizeof err);
        if (st != ENVSYNC_OK || !more)
            break;
        /* touch what the reader hands out */
        n += len + (e.schema ? strlen(e.schema) : 0) + (e.object ? strlen(e.object) : 0);
        for (size_t i = 0; i < e.nattrs; i++)
            n += strlen(e.attrs[i].key) + strlen(e.attrs[i].value);
        if (len)
            n += ((const unsigned char *)d)[len - 1];
    }
    if (st == ENVSYNC_OK && !es_artifact_manifest(r))
        abort();
    es_artifact_reader_free(r);
    return n == (size_t)-1;
}

static void
seed_one(fuzz_add_fn add, es_compression c, int encrypt, int nentries)
{
    memsink m = { 0 };
    es_artifact_opts o;
    es_artifact_writer *w;
    char err[ES_ERRLEN];
    envsync_attr attrs[] = { { "a", "1" }, { "b.c", "x\ty" } };

    memset(&o, 0, sizeof o);
    o.compression = c;
    o.level = -1;
    o.key = encrypt ? KEY : NULL;
    o.key_id = encrypt ? "fuzz" : NULL;
    if (es_artifact_writer_new(&w, &o, "{\"engine\":\"fuzz\"}", memsink_write, &m, err,
                               sizeof err) != ENVSYNC_OK)
        abort();
    for (int i = 0; i < nentries; i++) {
        envsync_entry e;
        const char *data = i % 2 ? "1\tone\n2\t\\N\n" : "CREATE TABLE t (a int);\n";

        ENVSYNC_ENTRY_INIT(e, i % 2 ? ENVSYNC_ENTRY_DATA : ENVSYNC_ENTRY_SCHEMA);
        e.schema = "public";
        e.object = i % 3 ? "t" : "u";
        e.columns = "a\tb";
        e.rows = i % 2 ? 2 : 0;
        e.seq = (uint64_t)i;
        e.attrs = attrs;
        e.nattrs = (size_t)(i % 3);
        if (es_artifact_write_entry(w, &e, data, strlen(data), err, sizeof err) != ENVSYNC_OK)
            abort();
    }
    if (es_artifact_writer_finish(w, "{\"note\":\"seed\"}", NULL, NULL, err, sizeof err) != ENVSYNC_OK)
        abort();
    es_artifact_writer_free(w);
    add(m.p, m.len);
    memsink_free(&m);
}

void
fuzz_seeds(fuzz_add_fn add)
{
    for (int c = ES_COMP_ZSTD; c <= ES_COMP_NONE; c++) {
        seed_one(add, (es_compression)c, 0, 0);
        seed_one(add, (es_compression)c, 0, 4);
        seed_one(add, (es_compression)c, 1, 2);
    }
    /* the uncompressed tar is where mutations reach tar, pax and JSON */
    seed_one(add, ES_COMP_NONE, 0, 9);
    seed_one(add, ES_COMP_NONE, 0, 1);
}
