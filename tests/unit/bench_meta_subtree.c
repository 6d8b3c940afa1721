/* Benchmark, not a test: pages of a 100,000-credential subtree among 200,001 credentials,
 * subtrees of other sizes, chains, membership and deletion.
 * Build: make build/default/tests/bench_meta_subtree; run it with an optional directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meta/meta_sqlite.c"

#define SUB    100000 /* credentials under S, S included */
#define OTHER  100000 /* credentials under T, T included */
#define FANOUT 8
#define REPS   20

static char (*ids)[24];

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

/* Ids in an order unrelated to the tree, as generated access key ids are. */
static uint64_t rng = 88172645463325252ULL;
static uint64_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Size of the subtree of S-relative node r (children of r are FANOUT*r+1 .. FANOUT*r+FANOUT). */
static size_t heap_subtree(size_t r)
{
    size_t lo = r, hi = r, n = 0;
    while (lo < SUB) {
        n += (hi < SUB ? hi : SUB - 1) - lo + 1;
        lo = lo * FANOUT + 1;
        hi = hi * FANOUT + FANOUT;
    }
    return n;
}

/* Median and worst of REPS runs of one page. */
static void bench_page(cf_meta *m, const char *label, const char *root, const char *after,
                       uint32_t limit)
{
    double t[REPS];
    size_t n = 0;
    int i, reps = REPS;
    for (i = 0; i < reps; i++) {
        cf_arena *a = cf_arena_new(0);
        cf_cred_row *rows;
        double t0 = now_ms();
        cf_rc rc =
            m->ops->cred_list_subtree(m, cf_str_c(root), cf_str_c(after), limit, a, &rows, &n);
        if (!a || rc != CF_OK) {
            fprintf(stderr, "list failed\n");
            exit(1);
        }
        t[i] = now_ms() - t0;
        cf_arena_destroy(a);
    }
    qsort(t, (size_t)reps, sizeof(t[0]), cmp_double);
    printf("  %-52s %5zu rows  median %8.3f ms  max %8.3f ms\n", label, n, t[reps / 2],
           t[reps - 1]);
}

/* Every page of root's subtree; returns the rows seen. The ids at the listing's positions
 * in want[] (ascending) are copied to got[]. */
static size_t bench_all_pages(cf_meta *m, const char *label, const char *root, uint32_t limit,
                              const size_t *want, char (*got)[24], size_t nwant)
{
    cf_arena *keep = cf_arena_new(0);
    cf_str after = CF_STR_NULL;
    size_t total = 0, pages = 0;
    double t0 = now_ms(), worst = 0;
    for (;;) {
        cf_arena *a = cf_arena_new(0);
        cf_cred_row *rows;
        size_t n;
        double t1 = now_ms();
        if (m->ops->cred_list_subtree(m, cf_str_c(root), after, limit, a, &rows, &n) != CF_OK)
            exit(1);
        if (now_ms() - t1 > worst)
            worst = now_ms() - t1;
        for (; nwant && want[0] >= total && want[0] < total + n; want++, got++, nwant--)
            snprintf(got[0], sizeof(got[0]), "%.*s", CF_STR_FMT(rows[want[0] - total].id));
        total += n;
        pages++;
        if (n == limit)
            after = cf_arena_str(keep, rows[n - 1].id);
        cf_arena_destroy(a);
        if (n < limit)
            break;
    }
    printf("  %-52s %6zu rows, %zu pages in %.0f ms (%.3f ms/page, worst %.3f ms)\n", label, total,
           pages, now_ms() - t0, (now_ms() - t0) / (double)pages, worst);
    cf_arena_destroy(keep);
    return total;
}

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/coffer-bench-XXXXXX", path[512], p[600];
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    size_t total = 2 + SUB + OTHER, i;
    cf_meta *m;
    conn *c;
    double t0;
    int k;

    if (!dir)
        return 1;
    cf_log_set_level(CF_LOG_WARN);
    snprintf(path, sizeof(path), "%s/bench.db", dir);
    m = cf_meta_sqlite_open(path, false);
    ids = calloc(total, sizeof(*ids));
    if (!m || !ids)
        return 1;

    /* ids[0] = R (root); ids[1] = S and ids[2 + SUB - 1] = T, its children; below each a
     * tree of fan-out FANOUT (depth 7). Loaded in one transaction. */
    snprintf(ids[0], sizeof(ids[0]), "AKIAROOT");
    for (i = 1; i < total; i++)
        snprintf(ids[i], sizeof(ids[i]), "AK%016llx", (unsigned long long)xorshift());
    t0 = now_ms();
    c = get_conn((msq *)m);
    if (begin_write(c) != CF_OK)
        return 1;
    for (i = 0; i < total; i++) {
        size_t first = i <= SUB ? 1 : SUB + 1, parent = 0;
        cf_cred_row r;
        memset(&r, 0, sizeof(r));
        if (i > first)
            parent = first + (i - first - 1) / FANOUT;
        r.id = cf_str_c(ids[i]);
        r.name = CF_STR("bench");
        r.parent_id = i == 0 ? CF_STR_NULL : cf_str_c(ids[parent]);
        r.policy = CF_STR("{\"Version\":\"2012-10-17\",\"Statement\":[]}");
        r.secret_sealed = CF_STR("0123456789abcdef0123456789abcdef0123456789abcdef");
        r.token_hash = CF_STR("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        if (cred_insert_row(c, &r) != CF_OK)
            return 1;
    }
    if (end_write(c, CF_OK) != CF_OK)
        return 1;
    printf("inserted %zu credentials (S: %d, T: %d, fan-out %d) in %.0f ms\n", total, SUB, OTHER,
           FANOUT, now_ms() - t0);

    /* Cursors halfway through S's listing and near its end (it is in tree order). */
    {
        const size_t want[] = {SUB / 2, SUB - 50};
        char cursors[2][24];
        printf("whole subtrees:\n");
        bench_all_pages(m, "S by pages of 1000", ids[1], 1000, want, cursors, 2);
        bench_all_pages(m, "S by pages of 100", ids[1], 100, NULL, NULL, 0);
        bench_all_pages(m, "a child of S by pages of 100", ids[2], 100, NULL, NULL, 0);
        printf("pages, %d runs each (S = 100,000 of 200,001 credentials):\n", REPS);
        bench_page(m, "S, 100 rows, first page", ids[1], "", 100);
        bench_page(m, "S, 100 rows, middle", ids[1], cursors[0], 100);
        bench_page(m, "S, 100 rows, last page", ids[1], cursors[1], 100);
        bench_page(m, "S, 1000 rows, first page", ids[1], "", 1000);
        bench_page(m, "R (everything), 100 rows, middle", ids[0], cursors[0], 100);
        /* Smaller subtrees under S, from a child of S down to a leaf. */
        for (i = 1; i < SUB; i = i * FANOUT + FANOUT) {
            char label[96];
            size_t sz = heap_subtree(i);
            snprintf(label, sizeof(label), "subtree of %zu (%.2f%% of ids), 100 rows", sz,
                     100.0 * (double)sz / (double)total);
            bench_page(m, label, ids[1 + i], "", 100);
        }
    }
    {
        cf_arena *a = cf_arena_new(0);
        cf_cred_row *rows;
        size_t n = 0;
        bool in = false;
        t0 = now_ms();
        for (k = 0; k < 1000; k++)
            if (m->ops->cred_chain(m, cf_str_c(ids[SUB - (size_t)k]), 16, a, &rows, &n) != CF_OK)
                return 1;
        printf("cred_chain of a leaf (%zu rows): %.1f us\n", n, (now_ms() - t0));
        t0 = now_ms();
        for (k = 0; k < 1000; k++)
            if (m->ops->cred_in_subtree(m, cf_str_c(ids[1]), cf_str_c(ids[total - 1 - (size_t)k]),
                                        &in) != CF_OK)
                return 1;
        printf("cred_in_subtree (not a member): %.1f us\n", (now_ms() - t0));
        cf_arena_destroy(a);
    }
    {
        uint64_t deleted = 0;
        t0 = now_ms();
        if (m->ops->cred_delete_subtree(m, cf_str_c(ids[1]), &deleted) != CF_OK)
            return 1;
        printf("cred_delete_subtree of S: %llu rows in %.0f ms\n", (unsigned long long)deleted,
               now_ms() - t0);
    }
    m->ops->close(m);
    free(ids);
    {
        const char *sfx[] = {"", "-wal", "-shm"};
        for (k = 0; k < 3; k++) {
            snprintf(p, sizeof(p), "%s%s", path, sfx[k]);
            unlink(p);
        }
    }
    if (argc <= 1)
        rmdir(dir);
    return 0;
}
