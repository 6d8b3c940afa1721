/* Unit tests for the filesystem blob backend. Includes the .c to reach its internals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob_fs.c"

typedef struct fixture {
    char dir[64];
    char store[128];
    cf_blob_store *s;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int open_store(fixture *f, bool fsync)
{
    if (f->s)
        f->s->ops->close(f->s);
    f->s = cf_blob_fs_open(f->store, fsync);
    return f->s ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-blob-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    /* A nested store path: open must create every level. */
    snprintf(f->store, sizeof(f->store), "%s/data/blobstore", f->dir);
    *state = f;
    return open_store(f, false);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->s)
        f->s->ops->close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int count_entries(fixture *f, const char *sub)
{
    char p[256];
    DIR *d;
    struct dirent *de;
    int n = 0;
    snprintf(p, sizeof(p), "%s/%s", f->store, sub);
    d = opendir(p);
    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static bool exists_rel(fixture *f, const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", f->store, rel);
    return stat(p, &st) == 0;
}

static void final_path(const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "blobs/%.2s/%.2s/%.32s", id, id + 2, id);
}

/* Writes data in pieces, finishes, and returns the id. */
static void make_blob(fixture *f, const void *data, size_t n, char id[CF_BLOB_ID_LEN + 1])
{
    cf_blob_writer *w;
    size_t off = 0;
    assert_int_equal(f->s->ops->writer_open(f->s, &w, id), CF_OK);
    while (off < n) {
        size_t k = n - off < 777 ? n - off : 777;
        assert_int_equal(f->s->ops->write(w, (const char *)data + off, k), CF_OK);
        off += k;
    }
    assert_int_equal(f->s->ops->write(w, "", 0), CF_OK);
    assert_int_equal(f->s->ops->finish(w), CF_OK);
}

static void check_content(fixture *f, const char *id, const void *data, size_t n)
{
    cf_blob_reader *r;
    uint64_t size;
    char *buf = malloc(n + 16);
    assert_non_null(buf);
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, &size), CF_OK);
    assert_int_equal(size, n);
    assert_int_equal(f->s->ops->read(r, 0, buf, n + 16), (ptrdiff_t)n);
    assert_memory_equal(buf, data, n);
    f->s->ops->reader_close(r);
    free(buf);
}

/* Through a buffer, so the compiler does not reason about literals shorter than an id. */
static bool valid(const char *s)
{
    char b[64];
    snprintf(b, sizeof(b), "%s", s);
    return valid_id(b);
}

static void test_valid_id(void **state)
{
    (void)state;
    assert_true(valid("0123456789abcdef0123456789abcdef"));
    assert_false(valid("0123456789ABCDEF0123456789abcdef"));
    assert_false(valid("0123456789abcdef0123456789abcde"));
    assert_false(valid("0123456789abcdef0123456789abcdef0"));
    assert_false(valid("../../../../etc/passwd/aaaaaaaaaaa"));
    assert_false(valid("0123456789abcdef0123456789abcde/"));
    assert_false(valid(""));
    assert_false(valid_id(NULL));
    assert_int_equal(errno_rc(ENOSPC), CF_ENOSPC);
    assert_int_equal(errno_rc(EDQUOT), CF_ENOSPC);
    assert_int_equal(errno_rc(EIO), CF_EIO);
}

static void test_open_layout(void **state)
{
    fixture *f = *state;
    char p[256];
    struct stat st;
    assert_int_equal(count_entries(f, "staging"), 0);
    assert_int_equal(count_entries(f, "blobs"), 0);
    /* Reopening an existing store works. */
    assert_int_equal(open_store(f, true), 0);
    /* A store path under a regular file cannot be created. */
    snprintf(p, sizeof(p), "%s/file", f->dir);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/file/store", f->dir);
    assert_null(cf_blob_fs_open(p, false));
    assert_int_equal(stat(f->store, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_lifecycle(void **state)
{
    fixture *f = *state;
    size_t n = (1 << 20) + 13, i;
    unsigned char *data = malloc(n);
    char id[CF_BLOB_ID_LEN + 1], rel[128], buf[64], path[512];
    cf_blob_reader *r;
    uint64_t size;
    struct stat st;
    mode_t um = umask(022);
    umask(um);

    assert_non_null(data);
    for (i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 9));
    make_blob(f, data, n, id);
    assert_true(valid_id(id));

    /* Finished but unpublished: it is in staging and readable already. */
    snprintf(rel, sizeof(rel), "staging/%s", id);
    assert_true(exists_rel(f, rel));
    snprintf(path, sizeof(path), "%s/%s", f->store, rel);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640 & ~um);
    check_content(f, id, data, n);

    assert_int_equal(f->s->ops->publish(f->s, id), CF_OK);
    assert_false(exists_rel(f, rel));
    final_path(id, rel, sizeof(rel));
    assert_true(exists_rel(f, rel));
    assert_int_equal(f->s->ops->publish(f->s, id), CF_OK); /* idempotent */
    check_content(f, id, data, n);

    /* Reads at offsets, short at the end, 0 past it. */
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, &size), CF_OK);
    assert_int_equal(size, n);
    assert_int_equal(f->s->ops->read(r, 1000, buf, 64), 64);
    assert_memory_equal(buf, data + 1000, 64);
    assert_int_equal(f->s->ops->read(r, n - 10, buf, 64), 10);
    assert_memory_equal(buf, data + n - 10, 10);
    assert_int_equal(f->s->ops->read(r, n, buf, 64), 0);
    assert_int_equal(f->s->ops->read(r, n + 1000, buf, 64), 0);
    assert_true(f->s->ops->reader_fd(r) >= 0);

    /* Remove while a reader is open: the reader keeps the old bytes. */
    assert_int_equal(f->s->ops->remove(f->s, id), CF_OK);
    assert_false(exists_rel(f, rel));
    assert_int_equal(f->s->ops->read(r, 5, buf, 8), 8);
    assert_memory_equal(buf, data + 5, 8);
    f->s->ops->reader_close(r);
    f->s->ops->reader_close(NULL);
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, &size), CF_ENOTFOUND);
    assert_null(r);
    assert_int_equal(f->s->ops->remove(f->s, id), CF_OK); /* already gone */
    /* Publishing something that is gone fails. */
    assert_int_equal(f->s->ops->publish(f->s, id), CF_ENOTFOUND);
    free(data);
}

static void test_empty_blob_and_take_fd(void **state)
{
    fixture *f = *state;
    char id[CF_BLOB_ID_LEN + 1], buf[4];
    cf_blob_reader *r;
    uint64_t size = 99;
    int fd;

    make_blob(f, "", 0, id);
    assert_int_equal(f->s->ops->publish(f->s, id), CF_OK);
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, &size), CF_OK);
    assert_int_equal(size, 0);
    assert_int_equal(f->s->ops->read(r, 0, buf, sizeof(buf)), 0);
    f->s->ops->reader_close(r);

    make_blob(f, "abc", 3, id);
    assert_int_equal(f->s->ops->publish(f->s, id), CF_OK);
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, NULL), CF_OK);
    fd = f->s->ops->reader_take_fd(r);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, 3, 0), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    close(fd);
}

static void test_abort_and_discard(void **state)
{
    fixture *f = *state;
    cf_blob_writer *w;
    char id[CF_BLOB_ID_LEN + 1];
    cf_blob_reader *r;

    assert_int_equal(f->s->ops->writer_open(f->s, &w, id), CF_OK);
    assert_int_equal(f->s->ops->write(w, "partial", 7), CF_OK);
    assert_int_equal(count_entries(f, "staging"), 1);
    f->s->ops->abort(w);
    assert_int_equal(count_entries(f, "staging"), 0);
    assert_int_equal(f->s->ops->reader_open(f->s, id, &r, NULL), CF_ENOTFOUND);
    f->s->ops->abort(NULL);

    /* Abort straight after open. */
    assert_int_equal(f->s->ops->writer_open(f->s, &w, id), CF_OK);
    f->s->ops->abort(w);
    assert_int_equal(count_entries(f, "staging"), 0);

    /* Finished, then the metadata commit failed: discard. */
    make_blob(f, "data", 4, id);
    assert_int_equal(count_entries(f, "staging"), 1);
    assert_int_equal(f->s->ops->discard(f->s, id), CF_OK);
    assert_int_equal(count_entries(f, "staging"), 0);
    assert_int_equal(f->s->ops->discard(f->s, id), CF_OK);
    assert_int_equal(count_entries(f, "blobs"), 0);
}

static void test_invalid_ids(void **state)
{
    fixture *f = *state;
    cf_blob_reader *r;
    const char *bad[] = {"../../../../../../../../etc/passwd",
                         "0123456789ABCDEF0123456789abcdef",
                         "0123456789abcdef",
                         "0123456789abcdef0123456789abcdef/",
                         "0123456789abcdef0123456789abcdeg",
                         ""};
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(f->s->ops->publish(f->s, bad[i]), CF_EINVAL);
        assert_int_equal(f->s->ops->discard(f->s, bad[i]), CF_EINVAL);
        assert_int_equal(f->s->ops->remove(f->s, bad[i]), CF_EINVAL);
        assert_int_equal(f->s->ops->reader_open(f->s, bad[i], &r, NULL), CF_EINVAL);
    }
}

/* A write into a full device maps to CF_ENOSPC: the writer's fd is swapped for /dev/full. */
static void test_enospc(void **state)
{
    fixture *f = *state;
    cf_blob_writer *w;
    char id[CF_BLOB_ID_LEN + 1];
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (full < 0) {
        skip();
        return;
    }
    assert_int_equal(f->s->ops->writer_open(f->s, &w, id), CF_OK);
    assert_true(dup2(full, w->fd) >= 0);
    close(full);
    assert_int_equal(f->s->ops->write(w, "x", 1), CF_ENOSPC);
    f->s->ops->abort(w);
    assert_int_equal(count_entries(f, "staging"), 0);
}

/* A failing finish (fsync on something that cannot sync) removes the staged blob. */
static void test_finish_failure(void **state)
{
    fixture *f = *state;
    cf_blob_writer *w;
    char id[CF_BLOB_ID_LEN + 1];
    int pfd[2];
    assert_int_equal(open_store(f, true), 0);
    assert_int_equal(f->s->ops->writer_open(f->s, &w, id), CF_OK);
    assert_int_equal(pipe(pfd), 0);
    /* fsync on a pipe fails with EINVAL. */
    assert_true(dup2(pfd[1], w->fd) >= 0);
    close(pfd[0]);
    close(pfd[1]);
    assert_int_equal(f->s->ops->finish(w), CF_EIO);
    assert_int_equal(count_entries(f, "staging"), 0);
}

static bool ref_even(void *ctx, const char *id)
{
    /* Referenced: the ids listed in ctx. */
    char(*ids)[CF_BLOB_ID_LEN + 1] = ctx;
    int i;
    for (i = 0; i < 4; i++)
        if (strcmp(ids[i], id) == 0)
            return i % 2 == 0;
    fail_msg("recover asked about an unexpected name: %s", id);
    return false;
}

static void test_recover(void **state)
{
    fixture *f = *state;
    char ids[4][CF_BLOB_ID_LEN + 1], p[512], rel[128];
    uint64_t published = 99, removed = 99;
    int i;

    assert_int_equal(open_store(f, true), 0);
    for (i = 0; i < 4; i++) {
        char data[16];
        int n = snprintf(data, sizeof(data), "blob%d", i);
        make_blob(f, data, (size_t)n, ids[i]);
    }
    /* Stray entries: a non-id file, an uppercase id, a temp dir. */
    snprintf(p, sizeof(p), "%s/staging/junk.tmp", f->store);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/staging/0123456789ABCDEF0123456789ABCDEF", f->store);
    fclose(fopen(p, "w"));
    snprintf(p, sizeof(p), "%s/staging/somedir", f->store);
    assert_int_equal(mkdir(p, 0700), 0);
    /* Blob 2 was published already and a copy is still staged (crash mid-rename). */
    assert_int_equal(f->s->ops->publish(f->s, ids[2]), CF_OK);
    make_blob(f, "blob2", 5, rel);
    snprintf(p, sizeof(p), "%s/staging/%s", f->store, rel);
    {
        char to[512];
        snprintf(to, sizeof(to), "%s/staging/%s", f->store, ids[2]);
        assert_int_equal(rename(p, to), 0);
    }
    assert_int_equal(count_entries(f, "staging"), 7);

    assert_int_equal(f->s->ops->recover(f->s, ref_even, ids, &published, &removed), CF_OK);
    assert_int_equal(published, 2);
    assert_int_equal(removed, 5);
    assert_int_equal(count_entries(f, "staging"), 0);
    for (i = 0; i < 4; i++) {
        char data[16];
        int n = snprintf(data, sizeof(data), "blob%d", i);
        cf_blob_reader *r;
        final_path(ids[i], rel, sizeof(rel));
        if (i % 2 == 0) {
            assert_true(exists_rel(f, rel));
            check_content(f, ids[i], data, (size_t)n);
        } else {
            assert_false(exists_rel(f, rel));
            assert_int_equal(f->s->ops->reader_open(f->s, ids[i], &r, NULL), CF_ENOTFOUND);
        }
    }
    /* Nothing left to do the second time. */
    assert_int_equal(f->s->ops->recover(f->s, ref_even, ids, &published, &removed), CF_OK);
    assert_int_equal(published, 0);
    assert_int_equal(removed, 0);
    assert_int_equal(f->s->ops->recover(f->s, ref_even, ids, NULL, NULL), CF_OK);
}

/* Staged blobs a remove() reaches (metadata deleted before publish). */
static void test_remove_staged(void **state)
{
    fixture *f = *state;
    char id[CF_BLOB_ID_LEN + 1];
    make_blob(f, "zz", 2, id);
    assert_int_equal(count_entries(f, "staging"), 1);
    assert_int_equal(f->s->ops->remove(f->s, id), CF_OK);
    assert_int_equal(count_entries(f, "staging"), 0);
}

#define NWRITERS 6
#define NBLOBS   30

typedef struct wjob {
    fixture *f;
    int tid;
    char ids[NBLOBS][CF_BLOB_ID_LEN + 1];
    int bad;
} wjob;

static void *writer_thread(void *arg)
{
    wjob *j = arg;
    cf_blob_store *s = j->f->s;
    int i;
    for (i = 0; i < NBLOBS; i++) {
        cf_blob_writer *w;
        char data[64], back[64];
        int n = snprintf(data, sizeof(data), "thread %d blob %d", j->tid, i);
        cf_blob_reader *r;
        uint64_t size;
        if (s->ops->writer_open(s, &w, j->ids[i]) != CF_OK ||
            s->ops->write(w, data, (size_t)n) != CF_OK || s->ops->finish(w) != CF_OK ||
            s->ops->publish(s, j->ids[i]) != CF_OK ||
            s->ops->reader_open(s, j->ids[i], &r, &size) != CF_OK) {
            j->bad++;
            continue;
        }
        if (size != (uint64_t)n || s->ops->read(r, 0, back, sizeof(back)) != n ||
            memcmp(back, data, (size_t)n) != 0)
            j->bad++;
        s->ops->reader_close(r);
    }
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_concurrent_writers(void **state)
{
    fixture *f = *state;
    static wjob jobs[NWRITERS];
    static char all[NWRITERS * NBLOBS][CF_BLOB_ID_LEN + 1];
    pthread_t th[NWRITERS];
    int t, i;

    assert_int_equal(open_store(f, true), 0);
    for (t = 0; t < NWRITERS; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].f = f;
        jobs[t].tid = t;
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, &jobs[t]), 0);
    }
    for (t = 0; t < NWRITERS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].bad, 0);
        for (i = 0; i < NBLOBS; i++)
            memcpy(all[t * NBLOBS + i], jobs[t].ids[i], CF_BLOB_ID_LEN + 1);
    }
    /* Ids are unique. */
    qsort(all, NWRITERS * NBLOBS, sizeof(all[0]), cmp_id);
    for (i = 1; i < NWRITERS * NBLOBS; i++)
        assert_string_not_equal(all[i - 1], all[i]);
    assert_int_equal(count_entries(f, "staging"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_id),
        cmocka_unit_test_setup_teardown(test_open_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_blob_and_take_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_and_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_staged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
    };
    cf_log_set_level(CF_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
