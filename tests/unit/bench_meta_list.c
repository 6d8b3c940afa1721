/* Benchmark, not a test: lists 1000-key pages from a 1,000,000-key bucket at the start,
 * middle and end, with and without a delimiter, and times single puts.
 * Build: make build/default/tests/bench_meta_list; run it with an optional directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meta/meta_sqlite.c"

#define NDIRS  10000
#define NFILES 100
#define REPS   20

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and worst of REPS runs of one list call. */
static void bench_list(cf_meta *m, const char *label, const char *prefix, const char *delim,
                       const char *after)
{
    cf_list_params p = {cf_str_c(prefix), cf_str_c(delim), cf_str_c(after), 1000};
    double t[REPS];
    size_t n = 0;
    bool trunc = false;
    int i;
    for (i = 0; i < REPS; i++) {
        cf_arena *a = cf_arena_new(0);
        cf_list_result r;
        double t0 = now_ms();
        if (!a || m->ops->object_list(m, CF_STR("bench"), &p, a, &r) != CF_OK) {
            fprintf(stderr, "list failed\n");
            exit(1);
        }
        t[i] = now_ms() - t0;
        n = r.nobjects + r.nprefixes;
        trunc = r.truncated;
        cf_arena_destroy(a);
    }
    qsort(t, REPS, sizeof(t[0]), cmp_double);
    printf("  %-44s %5zu entries%s  median %7.3f ms  max %7.3f ms\n", label, n,
           trunc ? " (truncated)" : "            ", t[REPS / 2], t[REPS - 1]);
}

static void bench_puts(const char *dir, bool fsync, int count)
{
    char path[512];
    cf_meta *m;
    cf_bucket_info b = {.name = CF_STR("p"), .owner = CF_STR("o"), .region = CF_STR("r")};
    double t0;
    int i;
    snprintf(path, sizeof(path), "%s/puts-%d.db", dir, fsync);
    m = cf_meta_sqlite_open(path, fsync);
    if (!m || m->ops->bucket_create(m, &b, NULL, NULL) != CF_OK) {
        fprintf(stderr, "open failed\n");
        exit(1);
    }
    t0 = now_ms();
    for (i = 0; i < count; i++) {
        cf_object_info o;
        char key[32], rep[CF_BLOB_ID_LEN + 1];
        memset(&o, 0, sizeof(o));
        snprintf(key, sizeof(key), "k%07d", i % (count / 2));
        o.bucket = CF_STR("p");
        o.key = cf_str_c(key);
        o.etag = CF_STR("0123456789abcdef0123456789abcdef");
        snprintf(o.blob_id, sizeof(o.blob_id), "%032x", i);
        if (m->ops->object_put(m, &o, NULL, rep) != CF_OK) {
            fprintf(stderr, "put failed\n");
            exit(1);
        }
    }
    printf("  object_put, fsync %-3s: %d puts (half replacing) in %.0f ms = %.1f us/put\n",
           fsync ? "on" : "off", count, now_ms() - t0, (now_ms() - t0) * 1e3 / count);
    m->ops->close(m);
    {
        const char *sfx[] = {"", "-wal", "-shm"};
        char p[600];
        for (i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
            unlink(p);
        }
    }
}

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/coffer-bench-XXXXXX", path[512], p[600];
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    cf_bucket_info b = {.name = CF_STR("bench"), .owner = CF_STR("o"), .region = CF_STR("r")};
    cf_meta *m;
    conn *c;
    sqlite3_stmt *st;
    double t0;
    unsigned d, f;
    int i;

    if (!dir)
        return 1;
    cf_log_set_level(CF_LOG_WARN);
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    m = cf_meta_sqlite_open(path, false);
    if (!m || m->ops->bucket_create(m, &b, NULL, NULL) != CF_OK)
        return 1;

    /* Bulk load in one transaction through the backend's own upsert statement. */
    t0 = now_ms();
    c = get_conn((msq *)m);
    if (begin_write(c) != CF_OK || !(st = stmt(c, ST_OBJ_UPSERT)))
        return 1;
    for (d = 0; d < NDIRS; d++) {
        for (f = 0; f < NFILES; f++) {
            char key[64], id[CF_BLOB_ID_LEN + 1];
            int n = snprintf(key, sizeof(key), "dir%05u/file%05u.dat", d, f);
            snprintf(id, sizeof(id), "%032x", d * NFILES + f);
            bind_text(st, 1, CF_STR("bench"));
            bind_blob(st, 2, key, (size_t)n);
            sqlite3_bind_int64(st, 3, 12345);
            bind_text(st, 4, CF_STR("0123456789abcdef0123456789abcdef"));
            sqlite3_bind_int64(st, 5, 1700000000000);
            bind_text(st, 6, cf_str_c(id));
            sqlite3_bind_int64(st, 9, 0);
            if (run(c, ST_OBJ_UPSERT) != CF_OK)
                return 1;
        }
    }
    if (end_write(c, CF_OK) != CF_OK)
        return 1;
    printf("inserted %u keys (\"dirNNNNN/fileNNNNN.dat\", %u dirs x %u) in %.0f ms\n",
           NDIRS * NFILES, NDIRS, NFILES, now_ms() - t0);

    printf("1000-entry pages, %d runs each:\n", REPS);
    bench_list(m, "no delimiter, start", "", "", "");
    bench_list(m, "no delimiter, middle", "", "", "dir05000/file00000.dat");
    bench_list(m, "no delimiter, end", "", "", "dir09990/file00000.dat");
    bench_list(m, "delimiter /, start (1000 prefixes)", "", "/", "");
    bench_list(m, "delimiter /, middle (1000 prefixes)", "", "/", "dir05000/");
    bench_list(m, "delimiter /, end (999 prefixes)", "", "/", "dir09000/");
    bench_list(m, "delimiter /, after a key inside a prefix", "", "/", "dir05000/file00050.dat");
    bench_list(m, "prefix dir05000/, delimiter / (100 keys)", "dir05000/", "/", "");
    bench_list(m, "prefix dir0, no delimiter, middle", "dir0", "", "dir05000/file00000.dat");
    bench_list(m, "prefix with no match", "zzz", "/", "");
    m->ops->close(m);

    bench_puts(dir, false, 20000);
    bench_puts(dir, true, 2000);

    {
        const char *sfx[] = {"", "-wal", "-shm"};
        for (i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
            unlink(p);
        }
    }
    if (argc <= 1)
        rmdir(dir);
    return 0;
}
