/*
 * bench_sanitise.c - transform throughput of the sanitise engine alone, on
 * generated rows in the shared row format (one thread = one core).
 *
 *   bench_sanitise [-m MiB] [-c chunk_MiB] [-r rules_file] [-v] [-k]
 *
 * The default table is a typical "users/content" mix: 12 columns (~370
 * bytes a row), ten kept, an email column (email) and a user reference
 * (hash).  -k uses all-keep rules (the pass-through ceiling); -x a
 * heavier mix (condition, replace_emails on the long text, a filter); -v
 * turns the verification scan on; -d runs NDJSON documents (elasticsearch
 * plugin shape) through two JSON-path rules instead.  Prints one line with
 * MiB in/out, wall and CPU seconds, MiB per CPU-second (= per core) and per
 * wall second, and the peak RSS (which includes the generated input pool:
 * min(64, MiB) MiB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"

static const char *default_rules =
    "table public.documents\n"
    "  id, created_at, updated_at, title, summary, body, status, locale, amount, flags keep\n"
    "  author_email email\n"
    "  author_ref hash(length=16)\n";
static const char *keep_rules =
    "table public.documents\n"
    "  id, created_at, updated_at, title, summary, body, status, locale, amount, flags, author_email, author_ref keep\n";
static const char *mixed_rules =
    "table public.documents\n"
    "  id, created_at, updated_at, title, status, locale, amount, flags keep\n"
    "  author_email email\n"
    "  author_ref hash(length=16)\n"
    "  summary lorem when status = 'draft'\n"
    "  summary keep\n"
    "  body replace_emails\n"
    "  filter created_at >= '2020-01-01'\n";
static const char *doc_rules =
    "index docs-*\n"
    "  $._source.author.email email\n"
    "  $._source.author.ref hash(length=16)\n";
static const char *columns =
    "id\tcreated_at\tupdated_at\ttitle\tsummary\tbody\tstatus\tlocale\tamount\tflags\tauthor_email\tauthor_ref";

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this (single-threaded) process: MiB per CPU-second is the
 * per-core figure, unaffected by other load waiting for the same cores. */
static double
cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t sink_bytes, sink_rows;

static int
sink(void *arg, const char *data, size_t len, uint64_t rows)
{
    (void)arg;
    (void)data;
    sink_bytes += len;
    sink_rows += rows;
    return 0;
}

/* Rows of about 420 bytes: ids, timestamps, short and long text. */
static size_t
gen_chunk(es_buf *b, size_t target, uint64_t *next_id, uint64_t *rows)
{
    static const char *words[] = { "policy", "guidance", "tax", "school", "benefit", "driving",
                                   "licence", "passport", "council", "housing", "visa", "court" };
    es_buf_reset(b);
    *rows = 0;
    while (b->len < target) {
        uint64_t i = (*next_id)++;
        unsigned w = (unsigned)(i * 2654435761u);

        es_buf_printf(b, "%llu\t2023-%02u-%02u %02u:%02u:%02u+00\t2024-01-%02u 10:00:00+00\t"
                      "How to apply for a %s %s\t"
                      "Summary of the %s rules for %s applications in England and Wales\t"
                      "The %s service lets you apply online. You need your %s number. "
                      "Contact the %s team if you have questions.\\nIt takes 3 weeks.\\tEnd\t"
                      "%s\ten\t%u.%02u\t%s\tuser%llu@%s.example.co.uk\tref-%llu-%u\n",
                      (unsigned long long)i, 1 + w % 12, 1 + (w >> 4) % 28, w % 24, (w >> 8) % 60,
                      (w >> 12) % 60, 1 + w % 28, words[w % 12], words[(w >> 5) % 12],
                      words[(w >> 7) % 12], words[(w >> 9) % 12], words[(w >> 11) % 12],
                      words[(w >> 13) % 12], words[(w >> 15) % 12],
                      (w & 3) == 0 ? "draft" : "published", w % 10000, w % 100,
                      (w & 7) == 0 ? "\\N" : "{a,b}", (unsigned long long)(i % 50000),
                      words[w % 12], (unsigned long long)(i % 50000), w % 97);
        (*rows)++;
    }
    return b->len;
}

/* NDJSON documents of about 430 bytes, as the elasticsearch plugin writes
 * them: {"_id":..,"_routing":null,"_source":{..}}. */
static size_t
gen_docs(es_buf *b, size_t target, uint64_t *next_id, uint64_t *rows)
{
    es_buf_reset(b);
    *rows = 0;
    while (b->len < target) {
        uint64_t i = (*next_id)++;
        unsigned w = (unsigned)(i * 2654435761u);

        es_buf_printf(b, "{\"_id\":\"%llu\",\"_routing\":null,\"_source\":{\"title\":\"How to apply for a licence %u\","
                      "\"summary\":\"Summary of the rules for applications in England and Wales\","
                      "\"body\":\"The service lets you apply online. You need your number.\\nIt takes 3 weeks.\","
                      "\"status\":\"%s\",\"amount\":%u.%02u,\"tags\":[\"a\",\"b\"],"
                      "\"author\":{\"email\":\"user%llu@council.example.co.uk\",\"ref\":\"ref-%llu\"},"
                      "\"created_at\":\"2023-%02u-%02uT10:00:00Z\"}}\n",
                      (unsigned long long)i, w % 1000, (w & 3) == 0 ? "draft" : "published",
                      w % 10000, w % 100, (unsigned long long)(i % 50000),
                      (unsigned long long)(i % 50000), 1 + w % 12, 1 + (w >> 4) % 28);
        (*rows)++;
    }
    return b->len;
}

int
main(int argc, char **argv)
{
    size_t mib = 256, chunk_mib = 16, done = 0;
    const char *rules = default_rules, *rules_file = NULL, *mode = "typical";
    int verify = 0, docs = 0, opt;
    sz_iplan *ip = NULL;
    struct rusage ru;
    sr_ruleset *rs;
    sz z;
    sz_plan *p;
    char err[SR_ERRLEN];
    uint64_t id = 1, total_rows = 0;
    double t0, c0, t = 0, ct = 0;

    while ((opt = getopt(argc, argv, "m:c:r:vkxd")) != -1) {
        switch (opt) {
        case 'm': mib = (size_t)atol(optarg); break;
        case 'c': chunk_mib = (size_t)atol(optarg); break;
        case 'r': rules_file = optarg; break;
        case 'v': verify = 1; break;
        case 'k': rules = keep_rules; mode = "all-keep"; break;
        case 'x': rules = mixed_rules; mode = "mixed"; break;
        case 'd': rules = doc_rules; mode = "docs"; docs = 1; break;
        default:
            fprintf(stderr, "usage: %s [-m MiB] [-c chunk_MiB] [-r rules] [-v] [-k|-x|-d]\n", argv[0]);
            return 2;
        }
    }
    if (rules_file ? sr_parse_file(rules_file, &rs, err, sizeof(err)) :
        sr_parse_buffer("bench", rules, strlen(rules), &rs, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (sz_init(&z, rs, (const unsigned char *)"bench-key-0123456789", 20,
                1700000000.0, verify, err, sizeof(err)) < 0 ||
        sz_plan_get(&z, "public", "documents", columns, &p, err, sizeof(err)) < 0 ||
        !(ip = sz_iplan_get(&z, "docs-1"))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* generate a pool of up to 64 MiB once (not timed), then time sz_rows
     * over it until `mib` MiB went through */
    {
        es_buf pool[4];
        uint64_t prow[4];
        size_t np = 0, k, n;

        while (np < 4 && np * chunk_mib < 64 && np * chunk_mib < mib) {
            es_buf_init(&pool[np], 0);
            if (docs)
                gen_docs(&pool[np], chunk_mib << 20, &id, &prow[np]);
            else
                gen_chunk(&pool[np], chunk_mib << 20, &id, &prow[np]);
            np++;
        }
        for (k = 0; done < mib << 20; k = (k + 1) % np) {
            n = pool[k].len;
            t0 = now_s();
            c0 = cpu_s();
            if ((docs ? sz_docs(&z, ip, pool[k].data, n, n + (8u << 20), sink, NULL, err, sizeof(err))
                      : sz_rows(&z, p, pool[k].data, n, n + (8u << 20), sink, NULL, err, sizeof(err))) != 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            t += now_s() - t0;
            ct += cpu_s() - c0;
            done += n;
            total_rows += prow[k];
        }
        for (k = 0; k < np; k++)
            es_buf_free(&pool[k]);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("mode=%s verify=%d chunk_mib=%zu in_mib=%.1f out_mib=%.1f rows=%llu wall_s=%.3f cpu_s=%.3f "
           "mib_per_cpu_s=%.1f mib_per_wall_s=%.1f rows_per_cpu_s=%.0f max_rss_mib=%.1f\n",
           mode, verify, chunk_mib, done / 1048576.0, sink_bytes / 1048576.0,
           (unsigned long long)total_rows, t, ct, done / 1048576.0 / ct, done / 1048576.0 / t,
           total_rows / ct, ru.ru_maxrss / 1024.0);
    sz_free(&z);
    sr_ruleset_free(rs);
    return sink_rows == 0;
}
