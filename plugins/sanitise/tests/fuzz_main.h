/*
 * fuzz_main.h - the standalone driver shared by the sanitise fuzz targets.
 *
 * Built with libFuzzer (-fsanitize=fuzzer -DFUZZING_LIBFUZZER) only
 * LLVMFuzzerTestOneInput is used.  Otherwise this main() makes the target a
 * regression test: with file arguments it runs each file once; without,
 * it runs every seed in $top_srcdir/plugins/sanitise/tests/seeds/ and then
 * a fixed number of deterministic mutations of them (byte flips, inserts
 * of syntax characters, deletions, duplications), so `make check` explores
 * a little beyond the seeds every time, reproducibly (FUZZ_ITERATIONS and
 * FUZZ_SEED change the amount and the sequence).
 */
#ifndef SANITISE_FUZZ_MAIN_H
#define SANITISE_FUZZ_MAIN_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZING_LIBFUZZER
static unsigned char *
fz_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        b = malloc((size_t)n + 1);
        if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return b;
}

static uint64_t fz_state = 0x9e3779b97f4a7c15ull;

static uint64_t
fz_rand(void)
{
    fz_state ^= fz_state << 13;
    fz_state ^= fz_state >> 7;
    fz_state ^= fz_state << 17;
    return fz_state;
}

static int
fz_main(int argc, char **argv, const char *seedsub, int iterations)
{
    static const char dict[] = "\t\n\\N()'\",:=<>#[]*$.@0+- x";
    unsigned char *seeds[256];
    size_t lens[256], nseeds = 0, i;
    char dir[4096];
    const char *top = getenv("top_srcdir");
    DIR *d;
    struct dirent *de;
    int it;

    if (getenv("FUZZ_ITERATIONS"))
        iterations = atoi(getenv("FUZZ_ITERATIONS"));
    if (getenv("FUZZ_SEED"))
        fz_state = strtoull(getenv("FUZZ_SEED"), NULL, 0) | 1;
    if (argc > 1) {
        for (i = 1; i < (size_t)argc; i++) {
            size_t n;
            unsigned char *b = fz_read(argv[i], &n);

            if (!b) {
                fprintf(stderr, "cannot read %s\n", argv[i]);
                return 2;
            }
            LLVMFuzzerTestOneInput(b, n);
            free(b);
        }
        return 0;
    }
    snprintf(dir, sizeof(dir), "%s/plugins/sanitise/tests/seeds", top ? top : ".");
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "no seeds in %s (set top_srcdir)\n", dir);
        return 77;
    }
    while ((de = readdir(d)) != NULL && nseeds < 256) {
        char path[8192];

        if (strncmp(de->d_name, seedsub, strlen(seedsub)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        seeds[nseeds] = fz_read(path, &lens[nseeds]);
        if (seeds[nseeds])
            LLVMFuzzerTestOneInput(seeds[nseeds], lens[nseeds]), nseeds++;
    }
    closedir(d);
    if (!nseeds) {
        fprintf(stderr, "no %s* seeds in %s\n", seedsub, dir);
        return 99;
    }
    for (it = 0; it < iterations; it++) {
        size_t k = fz_rand() % nseeds, n = lens[k], m, nm = 1 + fz_rand() % 8;
        unsigned char *b = malloc(2 * n + 64);

        memcpy(b, seeds[k], n);
        for (m = 0; m < nm; m++) {
            size_t pos = n ? fz_rand() % n : 0;

            switch (fz_rand() % 4) {
            case 0:
                if (n)
                    b[pos] ^= (unsigned char)(1u << (fz_rand() % 8));
                break;
            case 1:
                if (n < 2 * lens[k] + 32) {
                    memmove(b + pos + 1, b + pos, n - pos);
                    b[pos] = (unsigned char)dict[fz_rand() % (sizeof(dict) - 1)];
                    n++;
                }
                break;
            case 2:
                if (n) {
                    size_t dl = 1 + fz_rand() % 4;

                    if (pos + dl > n)
                        dl = n - pos;
                    memmove(b + pos, b + pos + dl, n - pos - dl);
                    n -= dl;
                }
                break;
            default: {
                size_t dl = 1 + fz_rand() % 16;

                if (pos + dl <= n && n + dl <= 2 * lens[k] + 32) {
                    memmove(b + pos + dl, b + pos, n - pos);
                    n += dl;
                }
                break;
            }
            }
        }
        LLVMFuzzerTestOneInput(b, n);
        free(b);
    }
    for (i = 0; i < nseeds; i++)
        free(seeds[i]);
    printf("%s: %zu seeds, %d mutations: no crash\n", argv[0], nseeds, iterations);
    return 0;
}
#endif

#endif
