/*
 * driver.c - run a fuzz target without libFuzzer (see fuzz.h).
 *
 *   prog                 seeds, then FUZZ_ITERATIONS (default 3000)
 *                        deterministic mutations of them
 *   prog FILE...         each file once (reproduce a libFuzzer crash)
 *   prog -w DIR          write the seeds into DIR (a libFuzzer corpus)
 *
 * A crash or sanitizer report fails the test; otherwise exit 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fuzz.h"

typedef struct seed {
    uint8_t *p;
    size_t n;
} seed;

static seed *seeds;
static size_t nseeds;

static void
add_seed(const uint8_t *data, size_t size)
{
    seed *s = realloc(seeds, (nseeds + 1) * sizeof *s);

    if (!s || !(s[nseeds].p = malloc(size ? size : 1))) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(99);
    }
    seeds = s;
    if (size)
        memcpy(seeds[nseeds].p, data, size);
    seeds[nseeds++].n = size;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One to four random edits of a copy of s; returns the new length. */
static size_t
mutate(const seed *s, uint8_t *buf, size_t cap)
{
    size_t n = s->n < cap ? s->n : cap;
    int edits = 1 + (int)(next() % 4);

    memcpy(buf, s->p, n);
    while (edits--) {
        size_t pos = n ? (size_t)(next() % n) : 0, len;

        switch (next() % 7) {
        case 0:         /* flip a bit */
            if (n)
                buf[pos] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1:         /* random byte */
            if (n)
                buf[pos] = (uint8_t)next();
            break;
        case 2:         /* truncate */
            n = pos;
            break;
        case 3:         /* insert bytes */
            len = 1 + next() % 16;
            if (n + len <= cap) {
                memmove(buf + pos + len, buf + pos, n - pos);
                for (size_t i = 0; i < len; i++)
                    buf[pos + i] = (uint8_t)next();
                n += len;
            }
            break;
        case 4:         /* delete bytes */
            len = 1 + next() % 64;
            if (pos + len <= n) {
                memmove(buf + pos, buf + pos + len, n - pos - len);
                n -= len;
            }
            break;
        case 5:         /* zero a run */
            len = next() % 600;
            if (pos + len <= n)
                memset(buf + pos, 0, len);
            break;
        default:        /* interesting values */
            if (n)
                buf[pos] = (uint8_t)"\x00\xff\x7f\x80\\\t\n0N{}\""[next() % 12];
            break;
        }
    }
    return n;
}

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t n = 0, cap = 0;

    if (!f) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;

        if (n == cap) {
            uint8_t *q = realloc(p, cap = cap ? cap * 2 : 65536);

            if (!q) {
                fclose(f);
                free(p);
                return -1;
            }
            p = q;
        }
        got = fread(p + n, 1, cap - n, f);
        if (!got)
            break;
        n += got;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(p, n);
    free(p);
    return 0;
}

int
main(int argc, char **argv)
{
    size_t iters = 3000, maxlen = 0, i;
    uint8_t *buf;
    const char *env = getenv("FUZZ_ITERATIONS");

#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    if (argc == 3 && !strcmp(argv[1], "-w")) {
        fuzz_seeds(add_seed);
        for (i = 0; i < nseeds; i++) {
            char path[4096];
            FILE *f;

            snprintf(path, sizeof path, "%s/seed-%03zu", argv[2], i);
            if (!(f = fopen(path, "wb")) || fwrite(seeds[i].p, 1, seeds[i].n, f) != seeds[i].n ||
                fclose(f) != 0) {
                fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
                return 99;
            }
        }
        printf("wrote %zu seeds to %s\n", nseeds, argv[2]);
        return 0;
    }
    if (argc > 1) {
        for (i = 1; i < (size_t)argc; i++)
            if (run_file(argv[i]) < 0)
                return 99;
        printf("ran %d inputs\n", argc - 1);
        return 0;
    }
    if (env)
        iters = strtoul(env, NULL, 10);
    fuzz_seeds(add_seed);
    if (!nseeds)
        return 99;
    for (i = 0; i < nseeds; i++) {
        LLVMFuzzerTestOneInput(seeds[i].p, seeds[i].n);
        if (seeds[i].n > maxlen)
            maxlen = seeds[i].n;
    }
    buf = malloc(maxlen + 4096);
    if (!buf)
        return 99;
    for (i = 0; i < iters; i++) {
        size_t n = mutate(&seeds[next() % nseeds], buf, maxlen + 4096);

        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("%zu seeds, %zu mutated inputs: no crash\n", nseeds, iters);
    free(buf);
    for (i = 0; i < nseeds; i++)
        free(seeds[i].p);
    free(seeds);
    return 0;
}
