/* Unit tests for the blob garbage collector (s3/gc.c) on the real backends in a temporary
 * directory: queued blobs go, leased ones stay until released, a start drains the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blob/blob_fs.h"
#include "core/clock.h"
#include "meta/meta_sqlite.h"
#include "s3/s3_int.h"

/* Polls for what the background thread does; bounded so a bug fails instead of hanging. */
#define WAIT_MS 20000

typedef struct fixture {
    char dir[64];
    cf_meta *meta;
    cf_blob_store *blob;
    cf_s3_gc *gc;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[128];
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-gc-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(path, sizeof path, "%s/meta.db", f->dir);
    f->meta = cf_meta_sqlite_open(path, false);
    f->blob = cf_blob_fs_open(f->dir, false);
    if (!f->meta || !f->blob)
        return -1;
    cf_bucket_info b = {.name = CF_STR("gcb"), .owner = CF_STR("o"), .region = CF_STR("r")};
    if (cf_meta_call(f->meta, bucket_create, &b, NULL, NULL) != CF_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cf_s3_gc_stop(f->gc);
    f->blob->ops->close(f->blob);
    f->meta->ops->close(f->meta);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A published blob of n bytes, named by object key in bucket gcb. */
static void put_object(fixture *f, const char *key, size_t n, char id[CF_BLOB_ID_LEN + 1])
{
    cf_blob_writer *w = NULL;
    char buf[256];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(f->blob->ops->writer_open(f->blob, &w, id), CF_OK);
    for (size_t done = 0; done < n; done += sizeof buf)
        assert_int_equal(f->blob->ops->write(w, buf, n - done < sizeof buf ? n - done : sizeof buf),
                         CF_OK);
    assert_int_equal(f->blob->ops->finish(w), CF_OK);
    cf_object_info o = {
        .bucket = CF_STR("gcb"),
        .key = cf_str_c(key),
        .size = n,
        .etag = CF_STR("00000000000000000000000000000000"),
        .mtime_ms = cf_now_ms(),
    };
    memcpy(o.blob_id, id, CF_BLOB_ID_LEN + 1);
    char replaced[CF_BLOB_ID_LEN + 1];
    assert_int_equal(cf_meta_call(f->meta, object_put, &o, NULL, replaced), CF_OK);
    assert_int_equal(f->blob->ops->publish(f->blob, id), CF_OK);
}

static void delete_object(fixture *f, const char *key)
{
    char old[CF_BLOB_ID_LEN + 1];
    assert_int_equal(cf_meta_call(f->meta, object_delete, CF_STR("gcb"), cf_str_c(key), NULL, old),
                     CF_OK);
    assert_true(old[0] != 0);
}

static bool blob_exists(fixture *f, const char *id)
{
    cf_blob_reader *r = NULL;
    uint64_t size = 0;
    cf_rc rc = f->blob->ops->reader_open(f->blob, id, &r, &size);
    f->blob->ops->reader_close(r);
    return rc == CF_OK;
}

static void count_one(void *ctx, const char *id)
{
    (void)id;
    (*(size_t *)ctx)++;
}

static size_t queued(fixture *f)
{
    size_t n = 0;
    assert_int_equal(cf_meta_call(f->meta, gc_pending, count_one, &n), CF_OK);
    return n;
}

static bool wait_gone(fixture *f, const char *id)
{
    for (int waited = 0; waited < WAIT_MS; waited += 10) {
        if (!blob_exists(f, id))
            return true;
        sleep_ms(10);
    }
    return false;
}

static void test_wake_removes_queued_blobs(void **state)
{
    fixture *f = *state;
    char a[CF_BLOB_ID_LEN + 1], b[CF_BLOB_ID_LEN + 1];
    /* A long timer: after the start-up pass, only wake-ups can explain a prompt removal. */
    f->gc = cf_s3_gc_start(f->meta, f->blob, 600000);
    assert_non_null(f->gc);
    put_object(f, "a", 1000, a);
    put_object(f, "b", 10, b);
    delete_object(f, "a");
    cf_s3_gc_wake(f->gc);
    assert_true(wait_gone(f, a));
    assert_true(blob_exists(f, b));
    /* The queue entry goes with the blob (gc_done follows the removal). */
    for (int waited = 0; queued(f) != 0 && waited < WAIT_MS; waited += 10)
        sleep_ms(10);
    assert_int_equal(queued(f), 0);
    /* The start-up pass is over by now: this removal needs the wake-ups. */
    delete_object(f, "b");
    for (int i = 0; i < 100; i++)
        cf_s3_gc_wake(f->gc);
    assert_true(wait_gone(f, b));
}

static void test_timer_removes_without_wake(void **state)
{
    fixture *f = *state;
    char a[CF_BLOB_ID_LEN + 1];
    f->gc = cf_s3_gc_start(f->meta, f->blob, 50);
    assert_non_null(f->gc);
    put_object(f, "a", 100, a);
    delete_object(f, "a");
    assert_true(wait_gone(f, a));
}

static void test_lease_keeps_blob_until_released(void **state)
{
    fixture *f = *state;
    char a[CF_BLOB_ID_LEN + 1], b[CF_BLOB_ID_LEN + 1], c[CF_BLOB_ID_LEN + 1];
    f->gc = cf_s3_gc_start(f->meta, f->blob, 600000);
    assert_non_null(f->gc);
    put_object(f, "a", 100, a);
    put_object(f, "b", 100, b);
    put_object(f, "c", 100, c);
    /* Two readers lease a; one of them also b (ids sorted, as the lease wants). */
    const char *one[] = {a};
    const char *two[2] = {a, b};
    if (strcmp(two[0], two[1]) > 0) {
        two[0] = b;
        two[1] = a;
    }
    cf_s3_lease l1 = {.ids = one, .n = 1}, l2 = {.ids = two, .n = 2};
    cf_s3_gc_lease(f->gc, &l1);
    cf_s3_gc_lease(f->gc, &l2);
    delete_object(f, "a");
    delete_object(f, "b");
    delete_object(f, "c");
    cf_s3_gc_wake(f->gc);
    /* c is not leased: once it is gone, a pass has run and skipped a and b. */
    assert_true(wait_gone(f, c));
    assert_true(blob_exists(f, a));
    assert_true(blob_exists(f, b));
    cf_s3_gc_release(f->gc, &l2); /* a is still leased by l1; b is free */
    assert_true(wait_gone(f, b));
    assert_true(blob_exists(f, a));
    cf_s3_gc_release(f->gc, &l1); /* the release wakes the collector */
    assert_true(wait_gone(f, a));
}

static void test_start_drains_what_is_queued(void **state)
{
    fixture *f = *state;
    char a[CF_BLOB_ID_LEN + 1];
    /* Queued while no collector runs (as after a crash, or a stop). */
    put_object(f, "a", 100, a);
    delete_object(f, "a");
    assert_true(blob_exists(f, a));
    assert_int_equal(queued(f), 1);
    /* A collector's first pass, without any wake-up, finishes the work. */
    f->gc = cf_s3_gc_start(f->meta, f->blob, 600000);
    assert_non_null(f->gc);
    assert_true(wait_gone(f, a));
    cf_s3_gc_stop(f->gc);
    f->gc = NULL;
    for (int waited = 0; queued(f) != 0 && waited < WAIT_MS; waited += 10)
        sleep_ms(10);
    assert_int_equal(queued(f), 0);
}

static void test_null_collector_is_a_no_op(void **state)
{
    (void)state;
    cf_s3_lease l = {.ids = NULL, .n = 0};
    cf_s3_gc_wake(NULL);
    cf_s3_gc_lease(NULL, &l);
    cf_s3_gc_release(NULL, &l);
    cf_s3_gc_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wake_removes_queued_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_removes_without_wake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_keeps_blob_until_released, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_drains_what_is_queued, setup, teardown),
        cmocka_unit_test(test_null_collector_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
