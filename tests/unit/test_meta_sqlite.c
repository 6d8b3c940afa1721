/* Unit tests for the SQLite metadata backend. Includes the .c to reach its helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/meta_sqlite.c"

typedef struct fixture {
    char dir[64];
    char path[128];
    cf_meta *m;
    cf_arena *a;
} fixture;

static void rm_db(const char *path)
{
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    size_t i;
    for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/coffer-meta-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
    f->m = cf_meta_sqlite_open(f->path, false);
    f->a = cf_arena_new(0);
    if (!f->m || !f->a)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->m)
        f->m->ops->close(f->m);
    cf_arena_destroy(f->a);
    rm_db(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static cf_bucket_info bucket(const char *name)
{
    cf_bucket_info b = {.name = cf_str_c(name),
                        .owner = CF_STR("owner1"),
                        .region = CF_STR("us-east-1"),
                        .created_ms = 1234};
    return b;
}

static cf_rc put_full(cf_meta *m, const char *b, cf_str key, const char *blob, const char *etag,
                      const cf_put_cond *cond, char replaced[CF_BLOB_ID_LEN + 1])
{
    cf_object_info o;
    char dummy[CF_BLOB_ID_LEN + 1];
    memset(&o, 0, sizeof(o));
    o.bucket = cf_str_c(b);
    o.key = key;
    o.size = 5;
    o.etag = cf_str_c(etag);
    o.mtime_ms = 1000;
    snprintf(o.blob_id, sizeof(o.blob_id), "%s", blob ? blob : "");
    if (!blob)
        o.inline_body = CF_STR("hello");
    return m->ops->object_put(m, &o, cond, replaced ? replaced : dummy);
}

static cf_rc put(cf_meta *m, const char *b, const char *key)
{
    return put_full(m, b, cf_str_c(key), NULL, "e", NULL, NULL);
}

static void blob_id_n(char out[CF_BLOB_ID_LEN + 1], unsigned n)
{
    snprintf(out, CF_BLOB_ID_LEN + 1, "%032x", n);
}

/* ---- helpers ---- */

static void test_prefix_successor(void **state)
{
    cf_buf b;
    cf_rc rc;
    (void)state;
    cf_buf_init(&b, 64);
    assert_true(prefix_successor(CF_STR("a"), &b, &rc));
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.p, "b", 1);
    assert_true(prefix_successor(CF_STR("a/"), &b, &rc));
    assert_memory_equal(b.p, "a0", 2);
    assert_true(prefix_successor(CF_STR("ab\xff\xff"), &b, &rc));
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.p, "ac", 2);
    assert_true(prefix_successor(CF_STR("a\xfe"), &b, &rc));
    assert_memory_equal(b.p, "a\xff", 2);
    assert_false(prefix_successor(CF_STR("\xff\xff"), &b, &rc));
    assert_int_equal(rc, CF_OK);
    assert_false(prefix_successor(CF_STR(""), &b, &rc));
    cf_buf_free(&b);
}

static void test_find_sub(void **state)
{
    (void)state;
    assert_int_equal(find_sub(CF_STR("abc/def"), CF_STR("/")), 3);
    assert_int_equal(find_sub(CF_STR("abc/def"), CF_STR("c/d")), 2);
    assert_int_equal(find_sub(CF_STR("abc"), CF_STR("abcd")), -1);
    assert_int_equal(find_sub(CF_STR("abc"), CF_STR("")), -1);
    assert_int_equal(find_sub(CF_STR("aab"), CF_STR("ab")), 1);
    assert_int_equal(find_sub(CF_STR(""), CF_STR("/")), -1);
}

static void test_headers_codec(void **state)
{
    cf_header h[3] = {
        {CF_STR("content-type"), CF_STR("text/plain")},
        {CF_STR("x-amz-meta-empty"), CF_STR("")},
        {CF_STR("x-amz-meta-bin"), {"a\0b", 3}},
    };
    cf_arena *a = cf_arena_new(0);
    cf_header *out;
    size_t n, i;
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 0);
    assert_int_equal(headers_encode(h, 3, &b), CF_OK);
    assert_int_equal(headers_decode(cf_buf_str(&b), a, &out, &n), CF_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        assert_true(cf_str_eq(out[i].name, h[i].name));
        assert_true(cf_str_eq(out[i].value, h[i].value));
    }
    /* Truncated input is corrupt, not a crash. */
    for (i = 1; i < b.len; i++) {
        cf_rc rc = headers_decode(cf_str_make(b.p, b.len - i), a, &out, &n);
        if (rc == CF_OK)
            assert_true(n < 3);
        else
            assert_int_equal(rc, CF_EIO);
    }
    assert_int_equal(headers_decode(cf_str_make("", 0), a, &out, &n), CF_OK);
    assert_int_equal(n, 0);
    assert_null(out);
    cf_buf_free(&b);
    cf_arena_destroy(a);
}

/* ---- schema ---- */

static int user_version(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int v = -1;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_schema(void **state)
{
    fixture *f = *state;
    sqlite3 *db;
    char *err = NULL;
    cf_meta *m2;

    assert_int_equal(put(f->m, "b", "k"), CF_ENOTFOUND);
    assert_int_equal(f->m->ops->bucket_create(f->m,
                                              &(cf_bucket_info){.name = CF_STR("b"),
                                                                .owner = CF_STR("o"),
                                                                .region = CF_STR("r"),
                                                                .created_ms = 1},
                                              NULL, NULL),
                     CF_OK);
    f->m->ops->close(f->m);
    f->m = NULL;
    assert_int_equal(user_version(f->path), SCHEMA_VERSION);

    /* Reopening keeps data and does not migrate again. */
    f->m = cf_meta_sqlite_open(f->path, true);
    assert_non_null(f->m);
    assert_int_equal(put(f->m, "b", "k"), CF_OK);
    f->m->ops->close(f->m);
    f->m = NULL;

    /* A database from a newer build is refused. */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=999", NULL, NULL, &err), SQLITE_OK);
    sqlite3_close(db);
    m2 = cf_meta_sqlite_open(f->path, false);
    assert_null(m2);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=1", NULL, NULL, &err), SQLITE_OK);
    sqlite3_close(db);
    f->m = cf_meta_sqlite_open(f->path, false);
    assert_non_null(f->m);

    /* WAL mode is persistent. */
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
    }
    sqlite3_close(db);

    /* One process per database: a second open while the first is live is refused. */
    assert_null(cf_meta_sqlite_open(f->path, false));

    /* A path that cannot be opened. */
    assert_null(cf_meta_sqlite_open("/nonexistent-dir/x/meta.db", false));
}

/* Hot and recovery queries must search an index, never scan or sort. */
static void test_query_plans(void **state)
{
    static const struct {
        int id;
        const char *want;
    } plans[] = {
        {ST_OBJ_LIST, "SEARCH objects USING PRIMARY KEY (bucket=? AND key>?)"},
        {ST_OBJ_GET, "SEARCH objects USING PRIMARY KEY (bucket=? AND key=?)"},
        {ST_OBJ_CUR, "SEARCH objects USING PRIMARY KEY (bucket=? AND key=?)"},
        {ST_BUCKET_HAS_OBJECTS, "SEARCH objects USING PRIMARY KEY (bucket=?)"},
        {ST_BLOB_REF, "SEARCH objects USING COVERING INDEX objects_blob_id (blob_id=?)"},
        {ST_BLOB_REF, "SEARCH segments USING COVERING INDEX segments_blob_id (blob_id=?)"},
        {ST_BLOB_REF, "SEARCH parts USING COVERING INDEX parts_blob_id (blob_id=?)"},
        {ST_BUCKET_HAS_UPLOADS, "SEARCH uploads USING COVERING INDEX uploads_order (bucket=?)"},
        {ST_DOC_GET, "SEARCH bucket_docs USING PRIMARY KEY (bucket=? AND kind=?)"},
        {ST_DOCS_DELETE, "SEARCH bucket_docs USING PRIMARY KEY (bucket=?)"},
        {ST_OBJ_SET_HEADERS, "SEARCH objects USING PRIMARY KEY (bucket=? AND key=?)"},
        {ST_SEG_LIST, "SEARCH segments USING PRIMARY KEY (bucket=? AND key=?)"},
        {ST_SEG_DELETE, "SEARCH segments USING PRIMARY KEY (bucket=? AND key=?)"},
        {ST_UPLOAD_GET, "SEARCH uploads USING PRIMARY KEY (bucket=? AND key=? AND upload_id=?)"},
        {ST_UPLOAD_LIST, "SEARCH uploads USING INDEX uploads_order (bucket=? AND key>?)"},
        {ST_PART_BLOB, "SEARCH parts USING PRIMARY KEY (bucket=? AND key=? AND upload_id=? AND "
                       "number=?)"},
        {ST_PART_LIST, "SEARCH parts USING PRIMARY KEY (bucket=? AND key=? AND upload_id=? AND "
                       "number>?)"},
        {ST_PART_BLOBS, "SEARCH parts USING PRIMARY KEY (bucket=? AND key=? AND upload_id=?)"},
        {ST_PART_OF, "SEARCH parts USING INDEX parts_blob_id (blob_id=?"},
        {ST_PARTS_DELETE, "SEARCH parts USING PRIMARY KEY (bucket=? AND key=? AND upload_id=?)"},
        {ST_CRED_GET_TOKEN, "SEARCH credentials USING INDEX credentials_token (token_hash=?)"},
        {ST_CRED_GET, "SEARCH credentials USING PRIMARY KEY (id=?)"},
        {ST_CRED_PATH, "SEARCH credentials USING PRIMARY KEY (id=?)"},
        {ST_CRED_IN_SUBTREE, "SEARCH c USING PRIMARY KEY (id=?)"},
        {ST_CRED_SUBTREE, "SEARCH credentials USING INDEX credentials_path (path>? AND path<?)"},
        {ST_CRED_DELETE_SUBTREE,
         "SEARCH credentials USING COVERING INDEX credentials_path (path>? AND path<?)"},
        {ST_BUCKET_USAGE, "SEARCH buckets USING PRIMARY KEY (name=?)"},
        {ST_BUCKET_USAGE_SET, "SEARCH buckets USING PRIMARY KEY (name=?)"},
        {ST_BUCKET_SET_QUOTA, "SEARCH buckets USING PRIMARY KEY (name=?)"},
        {ST_AUDIT_ALL, "SEARCH audit USING INTEGER PRIMARY KEY (rowid>?)"},
    };
    static const struct {
        int id;
        const char *want;
    } walks[] = {
        {ST_AUDIT_TIME, "SEARCH audit USING INDEX audit_time (time_ms>? AND time_ms<?)"},
        {ST_AUDIT_CRED, "SEARCH audit USING INDEX audit_actor (actor=? AND rowid>?)"},
        {ST_AUDIT_CRED, "SEARCH audit USING INDEX audit_target (target=? AND rowid>?)"},
    };
    fixture *f = *state;
    conn *c = get_conn((msq *)f->m);
    size_t i;
    for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        sqlite3_stmt *st;
        char sql[1024];
        bool found = false;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", stmt_sql[plans[i].id]);
        assert_int_equal(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            assert_null(strstr(d, "TEMP B-TREE"));
            if (strstr(d, "SCAN") && strcmp(d, "SCAN CONSTANT ROW") != 0)
                fail_msg("plan of %s scans: %s", stmt_sql[plans[i].id], d);
            if (strstr(d, plans[i].want))
                found = true;
        }
        sqlite3_finalize(st);
        if (!found)
            fail_msg("plan of %s lacks %s", stmt_sql[plans[i].id], plans[i].want);
    }

    /* Bounded sorts: what they scan and sort is a window already narrowed by an index, never
     * a table. */
    for (i = 0; i < sizeof(walks) / sizeof(walks[0]); i++) {
        sqlite3_stmt *st;
        char sql[2048];
        bool found = false;
        snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", stmt_sql[walks[i].id]);
        assert_int_equal(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            if (strncmp(d, "SCAN ", 5) == 0 && strncmp(d, "SCAN (subquery-", 15) != 0)
                fail_msg("plan of %s scans: %s", stmt_sql[walks[i].id], d);
            if (strstr(d, walks[i].want))
                found = true;
        }
        sqlite3_finalize(st);
        if (!found)
            fail_msg("plan of %s lacks %s", stmt_sql[walks[i].id], walks[i].want);
    }
}

/* ---- buckets ---- */

static void test_buckets(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("alpha"), got, *list;
    cf_str owner = CF_STR_NULL;
    size_t n;

    assert_int_equal(m->ops->bucket_list(m, f->a, &list, &n), CF_OK);
    assert_int_equal(n, 0);
    assert_int_equal(m->ops->bucket_create(m, &b, f->a, &owner), CF_OK);
    b.owner = CF_STR("someone-else");
    assert_int_equal(m->ops->bucket_create(m, &b, f->a, &owner), CF_EEXIST);
    assert_true(cf_str_eq_c(owner, "owner1"));
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_EEXIST);
    b = bucket("zeta");
    assert_int_equal(m->ops->bucket_create(m, &b, f->a, NULL), CF_OK);
    b = bucket("beta");
    assert_int_equal(m->ops->bucket_create(m, &b, f->a, NULL), CF_OK);

    assert_int_equal(m->ops->bucket_get(m, CF_STR("alpha"), f->a, &got), CF_OK);
    assert_true(cf_str_eq_c(got.name, "alpha"));
    assert_true(cf_str_eq_c(got.owner, "owner1"));
    assert_true(cf_str_eq_c(got.region, "us-east-1"));
    assert_int_equal(got.created_ms, 1234);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("nope"), f->a, &got), CF_ENOTFOUND);

    assert_int_equal(m->ops->bucket_list(m, f->a, &list, &n), CF_OK);
    assert_int_equal(n, 3);
    assert_true(cf_str_eq_c(list[0].name, "alpha"));
    assert_true(cf_str_eq_c(list[1].name, "beta"));
    assert_true(cf_str_eq_c(list[2].name, "zeta"));

    assert_int_equal(m->ops->bucket_delete(m, CF_STR("nope")), CF_ENOTFOUND);
    assert_int_equal(put(m, "beta", "k"), CF_OK);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("beta")), CF_ENOTEMPTY);
    assert_int_equal(m->ops->object_delete(m, CF_STR("beta"), CF_STR("k"), NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("beta")), CF_OK);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("beta"), f->a, &got), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_list(m, f->a, &list, &n), CF_OK);
    assert_int_equal(n, 2);

    /* Many buckets: the array grows. */
    for (unsigned i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof(name), "b%03u", i);
        b = bucket(name);
        assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    }
    assert_int_equal(m->ops->bucket_list(m, f->a, &list, &n), CF_OK);
    assert_int_equal(n, 102);
    for (size_t i = 1; i < n; i++)
        assert_true(cf_str_cmp(list[i - 1].name, list[i].name) < 0);
}

/* ---- objects ---- */

typedef struct gc_ids {
    char ids[64][CF_BLOB_ID_LEN + 1];
    size_t n;
} gc_ids;

static void collect_gc(void *ctx, const char *id)
{
    gc_ids *g = ctx;
    assert_true(g->n < 64);
    snprintf(g->ids[g->n++], CF_BLOB_ID_LEN + 1, "%s", id);
}

static bool gc_has(cf_meta *m, const char *id, size_t *count)
{
    gc_ids g = {.n = 0};
    size_t i;
    bool found = false;
    assert_int_equal(m->ops->gc_pending(m, collect_gc, &g), CF_OK);
    for (i = 0; i < g.n; i++)
        if (strcmp(g.ids[i], id) == 0)
            found = true;
    if (count)
        *count = g.n;
    return found;
}

static void test_objects(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_object_info o, got;
    cf_header h[2] = {{CF_STR("content-type"), CF_STR("text/plain")},
                      {CF_STR("x-amz-meta-a"), CF_STR("1")}};
    char rep[CF_BLOB_ID_LEN + 1], b1[CF_BLOB_ID_LEN + 1], b2[CF_BLOB_ID_LEN + 1];
    bool ref;
    size_t nq;

    blob_id_n(b1, 1);
    blob_id_n(b2, 2);
    memset(&o, 0, sizeof(o));
    o.bucket = CF_STR("bk");
    o.key = CF_STR("dir/file.txt");
    o.size = 5;
    o.etag = CF_STR("5d41402abc4b2a76b9719d911017c592");
    o.mtime_ms = 1700000000123;
    o.inline_body = CF_STR("hello");
    o.headers = h;
    o.nheaders = 2;
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    memset(rep, 'x', sizeof(rep));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, "");

    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("dir/file.txt"), f->a, &got),
                     CF_OK);
    assert_true(cf_str_eq_c(got.bucket, "bk"));
    assert_true(cf_str_eq_c(got.key, "dir/file.txt"));
    assert_int_equal(got.size, 5);
    assert_true(cf_str_eq(got.etag, o.etag));
    assert_int_equal(got.mtime_ms, 1700000000123);
    assert_string_equal(got.blob_id, "");
    assert_true(cf_str_eq_c(got.inline_body, "hello"));
    assert_int_equal(got.nheaders, 2);
    assert_true(cf_str_eq_c(got.headers[0].name, "content-type"));
    assert_true(cf_str_eq_c(got.headers[0].value, "text/plain"));
    assert_true(cf_str_eq_c(got.headers[1].name, "x-amz-meta-a"));
    assert_true(cf_str_eq_c(got.headers[1].value, "1"));
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("dir/other"), f->a, &got),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->object_get(m, CF_STR("nob"), CF_STR("dir/file.txt"), f->a, &got),
                     CF_ENOTFOUND);

    /* Inline replaced by a blob: nothing to collect. */
    o.inline_body = CF_STR_NULL;
    o.headers = NULL;
    o.nheaders = 0;
    o.size = 1 << 20;
    memcpy(o.blob_id, b1, sizeof(b1));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("dir/file.txt"), f->a, &got),
                     CF_OK);
    assert_string_equal(got.blob_id, b1);
    assert_int_equal(got.size, 1 << 20);
    assert_int_equal(got.nheaders, 0);
    assert_int_equal(got.inline_body.len, 0);
    assert_int_equal(m->ops->blob_referenced(m, b1, &ref), CF_OK);
    assert_true(ref);
    assert_int_equal(m->ops->blob_referenced(m, b2, &ref), CF_OK);
    assert_false(ref);

    /* Same blob kept (metadata-only rewrite): not queued. */
    o.etag = CF_STR("other");
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    assert_false(gc_has(m, b1, &nq));
    assert_int_equal(nq, 0);

    /* Blob replaced by a blob: the old one is queued and reported. */
    memcpy(o.blob_id, b2, sizeof(b2));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, b1);
    assert_true(gc_has(m, b1, &nq));
    assert_int_equal(nq, 1);
    assert_int_equal(m->ops->blob_referenced(m, b1, &ref), CF_OK);
    assert_false(ref);
    assert_int_equal(m->ops->gc_done(m, b1), CF_OK);
    assert_false(gc_has(m, b1, &nq));
    assert_int_equal(nq, 0);
    assert_int_equal(m->ops->gc_done(m, b1), CF_OK); /* again: harmless */

    /* Blob replaced by inline: queued. */
    o.blob_id[0] = '\0';
    o.inline_body = CF_STR("");
    o.size = 0;
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, b2);
    assert_true(gc_has(m, b2, NULL));
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("dir/file.txt"), f->a, &got),
                     CF_OK);
    assert_int_equal(got.size, 0);
    assert_int_equal(got.inline_body.len, 0);
    assert_non_null(got.inline_body.p);
    assert_int_equal(m->ops->gc_done(m, b2), CF_OK);

    /* Delete queues the blob. */
    memcpy(o.blob_id, b1, sizeof(b1));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("dir/file.txt"), NULL, rep),
                     CF_OK);
    assert_string_equal(rep, b1);
    assert_true(gc_has(m, b1, &nq));
    assert_int_equal(nq, 1);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("dir/file.txt"), f->a, &got),
                     CF_ENOTFOUND);
    memset(rep, 'x', sizeof(rep));
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("dir/file.txt"), NULL, rep),
                     CF_OK);
    assert_string_equal(rep, "");
    assert_int_equal(m->ops->object_delete(m, CF_STR("nob"), CF_STR("x"), NULL, rep), CF_ENOTFOUND);

    /* Binary keys, and keys differing only after a NUL. */
    assert_int_equal(put_full(m, "bk", (cf_str){"a\0b", 3}, NULL, "e1", NULL, NULL), CF_OK);
    assert_int_equal(put_full(m, "bk", (cf_str){"a\0c", 3}, NULL, "e2", NULL, NULL), CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), (cf_str){"a\0c", 3}, f->a, &got), CF_OK);
    assert_true(cf_str_eq_c(got.etag, "e2"));
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("a"), f->a, &got), CF_ENOTFOUND);

    /* A blob id that does not fit is refused. */
    memset(o.blob_id, 'a', sizeof(o.blob_id));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_EINVAL);
}

static void test_conditional_put(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_put_cond none = {.if_none_match_any = true};
    cf_put_cond match = {.if_match_etag = CF_STR("e1")};
    cf_put_cond wrong = {.if_match_etag = CF_STR("zz")};
    cf_put_cond empty = {0};
    char rep[CF_BLOB_ID_LEN + 1], b1[CF_BLOB_ID_LEN + 1], b2[CF_BLOB_ID_LEN + 1];
    cf_object_info got;
    size_t nq;

    blob_id_n(b1, 11);
    blob_id_n(b2, 12);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    /* If-Match on a missing key fails; If-None-Match * on a missing key succeeds. */
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e1", &match, rep), CF_ECONFLICT);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e1", &none, rep), CF_OK);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b2, "e2", &none, rep), CF_ECONFLICT);
    assert_string_equal(rep, "");
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b2, "e2", &wrong, rep), CF_ECONFLICT);
    assert_string_equal(rep, "");
    /* Nothing changed and nothing queued by the failed attempts. */
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_true(cf_str_eq_c(got.etag, "e1"));
    assert_string_equal(got.blob_id, b1);
    assert_false(gc_has(m, b1, &nq));
    assert_int_equal(nq, 0);

    assert_int_equal(put_full(m, "bk", CF_STR("k"), b2, "e2", &match, rep), CF_OK);
    assert_string_equal(rep, b1);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e3", &match, rep), CF_ECONFLICT);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), NULL, "e3", &empty, rep), CF_OK);
    assert_string_equal(rep, b2);
    assert_true(gc_has(m, b1, &nq));
    assert_true(gc_has(m, b2, &nq));
    assert_int_equal(nq, 2);
    /* A conditional put to a missing bucket is still NotFound, not a conflict. */
    assert_int_equal(put_full(m, "nob", CF_STR("k"), b1, "e1", &none, rep), CF_ENOTFOUND);
}

static void assert_usage(fixture *f, const char *b, uint64_t objects, uint64_t bytes);

static void test_conditional_delete(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_del_cond any = {.if_exists = true};
    cf_del_cond etag = {.if_match_etag = CF_STR("e1")};
    cf_del_cond wrong = {.if_match_etag = CF_STR("zz")};
    cf_del_cond version = {.if_match_etag = CF_STR("e1"), .if_mtime_ms = 1000};
    cf_del_cond older = {.if_match_etag = CF_STR("e1"), .if_mtime_ms = 999};
    char rep[CF_BLOB_ID_LEN + 1], b1[CF_BLOB_ID_LEN + 1];
    cf_object_info got;
    size_t nq;

    blob_id_n(b1, 21);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    /* Any condition needs the key; a plain delete of a missing key is fine. */
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), &any, rep), CF_ECONFLICT);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), &etag, rep), CF_ECONFLICT);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), NULL, rep), CF_OK);
    assert_int_equal(m->ops->object_delete(m, CF_STR("nob"), CF_STR("k"), &any, rep), CF_ENOTFOUND);

    /* A refused delete changes nothing: the object, its usage and the gc queue stay. */
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e1", NULL, rep), CF_OK);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), &wrong, rep),
                     CF_ECONFLICT);
    assert_string_equal(rep, "");
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), &older, rep),
                     CF_ECONFLICT);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_string_equal(got.blob_id, b1);
    assert_false(gc_has(m, b1, &nq));
    assert_usage(f, "bk", 1, 5);

    /* Etag and mtime both matching: deleted, blob queued. */
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), &version, rep), CF_OK);
    assert_string_equal(rep, b1);
    assert_true(gc_has(m, b1, NULL));
    assert_usage(f, "bk", 0, 0);
    assert_int_equal(m->ops->gc_done(m, b1), CF_OK);

    /* If-Match: * and an etag alone. */
    assert_int_equal(put(m, "bk", "a"), CF_OK);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("a"), &any, rep), CF_OK);
    assert_int_equal(put_full(m, "bk", CF_STR("a"), NULL, "e1", NULL, rep), CF_OK);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("a"), &etag, rep), CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("a"), f->a, &got), CF_ENOTFOUND);
}

/* gc_pending's callback may call gc_done on the same thread. */
typedef struct gc_ctx {
    cf_meta *m;
    size_t n;
} gc_ctx;

static void gc_delete_cb(void *ctx, const char *id)
{
    gc_ctx *g = ctx;
    assert_int_equal(g->m->ops->gc_done(g->m, id), CF_OK);
    g->n++;
}

static void test_gc_queue(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    char id[CF_BLOB_ID_LEN + 1];
    gc_ctx g = {m, 0};
    size_t nq;
    unsigned i;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    for (i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%u", i % 5);
        blob_id_n(id, 100 + i);
        assert_int_equal(put_full(m, "bk", cf_str_c(key), id, "e", NULL, NULL), CF_OK);
    }
    assert_false(gc_has(m, id, &nq));
    assert_int_equal(nq, 15);
    assert_int_equal(m->ops->gc_pending(m, gc_delete_cb, &g), CF_OK);
    assert_int_equal(g.n, 15);
    assert_false(gc_has(m, id, &nq));
    assert_int_equal(nq, 0);
}

/* ---- credentials ---- */

static void test_credentials(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_cred_row r, got;
    uint64_t n;

    memset(&r, 0, sizeof(r));
    r.id = CF_STR("AKIAROOT");
    r.name = CF_STR("root");
    r.policy = CF_STR("{\"Version\":\"2012-10-17\"}");
    r.status = CF_CRED_ACTIVE;
    r.created_ms = 1;
    r.not_before_ms = 2;
    r.expires_ms = 3;
    r.allowed_ips = CF_STR("[\"10.0.0.0/8\"]");
    r.last_used_ms = 4;
    r.secret_sealed = (cf_str){"\x00\x01sealed\xff", 9};
    r.old_secret_sealed = CF_STR_NULL;
    r.old_secret_until_ms = 5;
    r.token_hash = CF_STR_NULL;

    assert_int_equal(m->ops->cred_count(m, &n), CF_OK);
    assert_int_equal(n, 0);
    uint64_t epoch = m->ops->cred_epoch(m);
    assert_int_equal(m->ops->cred_insert(m, &r), CF_OK);
    assert_true(m->ops->cred_epoch(m) != epoch);
    epoch = m->ops->cred_epoch(m);
    assert_int_equal(m->ops->cred_touch(m, CF_STR("AKIAROOT"), 4), CF_OK);
    assert_int_equal(m->ops->cred_epoch(m), epoch); /* last_used is not a change caches see */
    assert_int_equal(m->ops->cred_insert(m, &r), CF_EEXIST);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKIAROOT"), f->a, &got), CF_OK);
    assert_true(cf_str_eq(got.id, r.id));
    assert_true(cf_str_eq(got.name, r.name));
    assert_int_equal(got.parent_id.len, 0);
    assert_true(cf_str_eq(got.policy, r.policy));
    assert_int_equal(got.status, CF_CRED_ACTIVE);
    assert_int_equal(got.created_ms, 1);
    assert_int_equal(got.not_before_ms, 2);
    assert_int_equal(got.expires_ms, 3);
    assert_true(cf_str_eq(got.allowed_ips, r.allowed_ips));
    assert_int_equal(got.last_used_ms, 4);
    assert_true(cf_str_eq(got.secret_sealed, r.secret_sealed));
    assert_int_equal(got.old_secret_sealed.len, 0);
    assert_int_equal(got.old_secret_until_ms, 5);
    assert_int_equal(got.token_hash.len, 0);
    assert_int_equal(got.version, 1);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKIANOPE"), f->a, &got), CF_ENOTFOUND);
    /* An empty token hash matches nobody, even rows without a token. */
    assert_int_equal(m->ops->cred_get_by_token_hash(m, CF_STR_NULL, f->a, &got), CF_ENOTFOUND);

    /* A child credential with a token. */
    r.id = CF_STR("AKIACHILD");
    r.name = CF_STR("child");
    r.parent_id = CF_STR("AKIAROOT");
    r.token_hash = CF_STR("abcdef0123456789");
    r.status = CF_CRED_DISABLED;
    r.version = 7;
    assert_int_equal(m->ops->cred_insert(m, &r), CF_OK);
    assert_int_equal(m->ops->cred_count(m, &n), CF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(m->ops->cred_get_by_token_hash(m, CF_STR("abcdef0123456789"), f->a, &got),
                     CF_OK);
    assert_true(cf_str_eq_c(got.id, "AKIACHILD"));
    assert_true(cf_str_eq_c(got.parent_id, "AKIAROOT"));
    assert_int_equal(got.status, CF_CRED_DISABLED);
    assert_int_equal(got.version, 7);
    assert_int_equal(m->ops->cred_get_by_token_hash(m, CF_STR("abcdef"), f->a, &got), CF_ENOTFOUND);

    /* Update replaces every field and bumps the version. */
    r.name = CF_STR("renamed");
    r.status = CF_CRED_ACTIVE;
    r.old_secret_sealed = CF_STR("old");
    r.old_secret_until_ms = 99;
    r.token_hash = CF_STR_NULL;
    epoch = m->ops->cred_epoch(m);
    assert_int_equal(m->ops->cred_update(m, &r), CF_OK);
    assert_true(m->ops->cred_epoch(m) != epoch);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKIACHILD"), f->a, &got), CF_OK);
    assert_true(cf_str_eq_c(got.name, "renamed"));
    assert_int_equal(got.status, CF_CRED_ACTIVE);
    assert_true(cf_str_eq_c(got.old_secret_sealed, "old"));
    assert_int_equal(got.old_secret_until_ms, 99);
    assert_int_equal(got.version, 8);
    assert_int_equal(m->ops->cred_get_by_token_hash(m, CF_STR("abcdef0123456789"), f->a, &got),
                     CF_ENOTFOUND);
    /* The parent is fixed at insertion. */
    r.parent_id = CF_STR("");
    assert_int_equal(m->ops->cred_update(m, &r), CF_EINVAL);
    r.parent_id = CF_STR("AKIAROOT");
    r.id = CF_STR("AKIAGHOST");
    assert_int_equal(m->ops->cred_update(m, &r), CF_ENOTFOUND);

    /* Ids are path components; parents must exist. */
    r.id = CF_STR("AKIA/SLASH");
    assert_int_equal(m->ops->cred_insert(m, &r), CF_EINVAL);
    r.id = CF_STR_NULL;
    assert_int_equal(m->ops->cred_insert(m, &r), CF_EINVAL);
    r.id = CF_STR("AKIAORPHAN");
    r.parent_id = CF_STR("AKIAGONE");
    assert_int_equal(m->ops->cred_insert(m, &r), CF_ENOTFOUND);
    r.parent_id = CF_STR("AKIAORPHAN"); /* itself: does not exist yet */
    assert_int_equal(m->ops->cred_insert(m, &r), CF_ENOTFOUND);
    assert_int_equal(m->ops->cred_count(m, &n), CF_OK);
    assert_int_equal(n, 2);

    /* Touch moves last_used forward only, and does not bump the version. */
    assert_int_equal(m->ops->cred_touch(m, CF_STR("AKIACHILD"), 1000), CF_OK);
    assert_int_equal(m->ops->cred_touch(m, CF_STR("AKIACHILD"), 500), CF_OK);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKIACHILD"), f->a, &got), CF_OK);
    assert_int_equal(got.last_used_ms, 1000);
    assert_int_equal(got.version, 8);
    assert_int_equal(m->ops->cred_touch(m, CF_STR("AKIAGHOST"), 1000), CF_ENOTFOUND);
}

/* ---- listing ---- */

static cf_list_params lp(const char *prefix, const char *delim, const char *after, uint32_t max)
{
    cf_list_params p = {cf_str_c(prefix), cf_str_c(delim), cf_str_c(after), max};
    return p;
}

/* Renders a result as "k1,k2,[cp1],...|T|marker" for compact assertions. */
static const char *render(cf_arena *a, const cf_list_result *r)
{
    cf_buf b;
    size_t i = 0, j = 0;
    char *s;
    cf_buf_init(&b, 0);
    while (i < r->nobjects || j < r->nprefixes) {
        bool obj = j >= r->nprefixes ||
                   (i < r->nobjects && cf_str_cmp(r->objects[i].key, r->prefixes[j]) < 0);
        if (b.len)
            cf_buf_append_ch(&b, ',');
        if (obj) {
            cf_buf_append_str(&b, r->objects[i++].key);
        } else {
            cf_buf_append_ch(&b, '[');
            cf_buf_append_str(&b, r->prefixes[j++]);
            cf_buf_append_ch(&b, ']');
        }
    }
    cf_buf_printf(&b, "|%s|%.*s", r->truncated ? "T" : "F", CF_STR_FMT(r->next_marker));
    s = cf_arena_strndup(a, b.p, b.len);
    cf_buf_free(&b);
    return s;
}

static const char *list_s(fixture *f, const char *bk, cf_list_params p)
{
    cf_list_result r;
    assert_int_equal(f->m->ops->object_list(f->m, cf_str_c(bk), &p, f->a, &r), CF_OK);
    return render(f->a, &r);
}

static void test_list_basic(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_list_params p = lp("", "", "", 1000);
    cf_list_result r;
    const char *keys[] = {"a", "a/1", "a/2", "a/b/c", "b", "b/x", "c/d/e", "c/f", "d"};
    size_t i;

    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &p, f->a, &r), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    /* Empty bucket. */
    assert_string_equal(list_s(f, "bk", lp("", "", "", 1000)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 1000)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("a", "/", "x", 1)), "|F|");

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_int_equal(put(m, "bk", keys[i]), CF_OK);
    /* Another bucket's keys never leak in. */
    b = bucket("bk2");
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(put(m, "bk2", "a/0"), CF_OK);
    assert_int_equal(put(m, "bk2", "0"), CF_OK);

    assert_string_equal(list_s(f, "bk", lp("", "", "", 1000)),
                        "a,a/1,a/2,a/b/c,b,b/x,c/d/e,c/f,d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 1000)), "a,[a/],b,[b/],[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "", 1000)), "a/1,a/2,[a/b/]|F|");
    assert_string_equal(list_s(f, "bk", lp("a", "/", "", 1000)), "a,[a/]|F|");
    assert_string_equal(list_s(f, "bk", lp("c", "/", "", 1000)), "[c/]|F|");
    assert_string_equal(list_s(f, "bk", lp("c/", "/", "", 1000)), "[c/d/],c/f|F|");
    assert_string_equal(list_s(f, "bk", lp("c/", "", "", 1000)), "c/d/e,c/f|F|");
    assert_string_equal(list_s(f, "bk", lp("zz", "/", "", 1000)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("a/b/c", "/", "", 1000)), "a/b/c|F|");
    /* The delimiter only counts after the prefix. */
    assert_string_equal(list_s(f, "bk", lp("a/", "a", "", 1000)), "a/1,a/2,a/b/c|F|");

    /* max_keys counts keys and prefixes together. */
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 0)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 1)), "a|T|a");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 2)), "a,[a/]|T|a/");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 5)), "a,[a/],b,[b/],[c/]|T|c/");
    /* Exactly full pages are not truncated. */
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 6)), "a,[a/],b,[b/],[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "", "", 9)), "a,a/1,a/2,a/b/c,b,b/x,c/d/e,c/f,d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "", "", 8)),
                        "a,a/1,a/2,a/b/c,b,b/x,c/d/e,c/f|T|c/f");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "", 3)), "a/1,a/2,[a/b/]|F|");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "", 2)), "a/1,a/2|T|a/2");

    /* start_after: a key, a common prefix (NextMarker paging), inside a prefix, past all. */
    assert_string_equal(list_s(f, "bk", lp("", "/", "a", 1000)), "[a/],b,[b/],[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "a/", 1000)), "b,[b/],[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "a/1", 1000)), "b,[b/],[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "a/", 2)), "b,[b/]|T|b/");
    assert_string_equal(list_s(f, "bk", lp("", "/", "b/", 2)), "[c/],d|F|");
    assert_string_equal(list_s(f, "bk", lp("", "", "a/2", 2)), "a/b/c,b|T|b");
    assert_string_equal(list_s(f, "bk", lp("", "", "d", 2)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("", "", "0", 1)), "a|T|a");
    assert_string_equal(list_s(f, "bk", lp("b", "", "a", 10)), "b,b/x|F|");
    assert_string_equal(list_s(f, "bk", lp("b", "", "b", 10)), "b/x|F|");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "a/1", 10)), "a/2,[a/b/]|F|");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "a/b/", 10)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("a/", "/", "zzz", 10)), "|F|");

    /* Multi-character delimiters. */
    assert_int_equal(put(m, "bk", "x--1--2"), CF_OK);
    assert_int_equal(put(m, "bk", "x--1-3"), CF_OK);
    assert_int_equal(put(m, "bk", "x-2"), CF_OK);
    assert_int_equal(put(m, "bk", "x---4"), CF_OK);
    assert_string_equal(list_s(f, "bk", lp("x", "--", "", 100)), "[x--],x-2|F|");
    assert_string_equal(list_s(f, "bk", lp("x-", "--", "", 100)), "[x---],[x--1--],x--1-3,x-2|F|");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "", 100)), "x---4,[x--1--],x--1-3|F|");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "x---4", 100)), "[x--1--],x--1-3|F|");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "x--1--", 100)), "x--1-3|F|");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "x--1-3", 100)), "|F|");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "", 1)), "x---4|T|x---4");
    assert_string_equal(list_s(f, "bk", lp("x--", "--", "", 2)), "x---4,[x--1--]|T|x--1--");
    assert_string_equal(list_s(f, "bk", lp("x--", "-3", "", 100)), "x---4,x--1--2,[x--1-3]|F|");
}

static void test_list_binary_keys(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_list_result r;
    cf_list_params p;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    /* UTF-8 sorts by bytes: "é" (C3 A9) after "z", "日" (E6 97 A5) after that. */
    assert_int_equal(put(m, "bk", "z"), CF_OK);
    assert_int_equal(put(m, "bk", "\xc3\xa9/1"), CF_OK);
    assert_int_equal(put(m, "bk", "\xe6\x97\xa5/x"), CF_OK);
    assert_int_equal(put(m, "bk", "\xe6\x97\xa5\xe6\x9c\xac"), CF_OK);
    assert_int_equal(put(m, "bk", "\xff"), CF_OK);
    assert_int_equal(put(m, "bk", "\xff/a"), CF_OK);
    assert_int_equal(put(m, "bk", "\xff\xff/b"), CF_OK);
    assert_int_equal(put(m, "bk", "\xff\xff\xff"), CF_OK);
    assert_int_equal(put(m, "bk", "a\xff/1"), CF_OK);
    assert_int_equal(put(m, "bk", "a\xff/2"), CF_OK);
    assert_int_equal(put(m, "bk", "b"), CF_OK);

    assert_string_equal(list_s(f, "bk", lp("", "", "", 100)),
                        "a\xff/1,a\xff/2,b,z,\xc3\xa9/1,\xe6\x97\xa5/x,\xe6\x97\xa5\xe6\x9c\xac,"
                        "\xff,\xff/a,\xff\xff/b,\xff\xff\xff|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "", 100)),
                        "[a\xff/],b,z,[\xc3\xa9/],[\xe6\x97\xa5/],\xe6\x97\xa5\xe6\x9c\xac,\xff,"
                        "[\xff/],[\xff\xff/],\xff\xff\xff|F|");
    /* Prefixes ending in 0xFF: the successor carries. */
    assert_string_equal(list_s(f, "bk", lp("\xff", "/", "", 100)),
                        "\xff,[\xff/],[\xff\xff/],\xff\xff\xff|F|");
    assert_string_equal(list_s(f, "bk", lp("\xff\xff", "", "", 100)), "\xff\xff/b,\xff\xff\xff|F|");
    assert_string_equal(list_s(f, "bk", lp("\xff\xff\xff", "", "", 100)), "\xff\xff\xff|F|");
    assert_string_equal(list_s(f, "bk", lp("a\xff", "/", "", 100)), "[a\xff/]|F|");
    assert_string_equal(list_s(f, "bk", lp("", "/", "a\xff/", 2)), "b,z|T|z");
    assert_string_equal(list_s(f, "bk", lp("", "/", "\xff/", 100)), "[\xff\xff/],\xff\xff\xff|F|");
    assert_string_equal(list_s(f, "bk", lp("", "\xff", "", 100)),
                        "[a\xff],b,z,\xc3\xa9/1,\xe6\x97\xa5/x,\xe6\x97\xa5\xe6\x9c\xac,[\xff]|F|");
    assert_string_equal(list_s(f, "bk", lp("\xff", "\xff", "", 100)), "\xff,\xff/a,[\xff\xff]|F|");
    /* A common prefix made only of 0xFF has no successor: the scan ends there. */
    assert_string_equal(list_s(f, "bk", lp("\xff", "\xff", "", 2)), "\xff,\xff/a|T|\xff/a");
    assert_string_equal(list_s(f, "bk", lp("", "\xff", "\xe6\x97\xa5\xe6\x9c\xac", 1)),
                        "[\xff]|F|");

    /* Keys with NUL bytes list as exact byte strings. */
    assert_int_equal(put_full(m, "bk", (cf_str){"n\0/1", 4}, NULL, "e", NULL, NULL), CF_OK);
    p = lp("n", "/", "", 10);
    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &p, f->a, &r), CF_OK);
    assert_int_equal(r.nobjects, 0);
    assert_int_equal(r.nprefixes, 1);
    assert_int_equal(r.prefixes[0].len, 3);
    assert_memory_equal(r.prefixes[0].p, "n\0/", 3);
    p.delimiter = CF_STR_NULL;
    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &p, f->a, &r), CF_OK);
    assert_int_equal(r.nobjects, 1);
    assert_int_equal(r.objects[0].key.len, 4);
    assert_true(cf_str_eq_c(r.objects[0].bucket, "bk"));
    assert_true(cf_str_eq_c(r.objects[0].etag, "e"));
    assert_int_equal(r.objects[0].size, 5);
    assert_int_equal(r.objects[0].mtime_ms, 1000);
    assert_int_equal(r.objects[0].nheaders, 0);
}

/* ---- paging against a brute-force reference ---- */

typedef struct refkeys {
    cf_str *k;
    size_t n;
} refkeys;

static int cmp_str(const void *a, const void *b)
{
    return cf_str_cmp(*(const cf_str *)a, *(const cf_str *)b);
}

/* The reference: every key in order, filtered and folded as S3 describes. Returns the
 * rendered page (same format as render) for max entries after start_after. */
static const char *ref_list(cf_arena *a, const refkeys *rk, cf_list_params p)
{
    cf_buf b;
    cf_str last_cp = CF_STR_NULL, last = CF_STR_NULL;
    size_t i, n = 0;
    bool truncated = false, have_cp = false;
    char *s;

    cf_buf_init(&b, 0);
    for (i = 0; i < rk->n && !truncated; i++) {
        cf_str k = rk->k[i], e;
        bool is_cp = false;
        if (!cf_str_starts(k, p.prefix) || cf_str_cmp(k, p.start_after) <= 0)
            continue;
        e = k;
        if (p.delimiter.len) {
            size_t j;
            for (j = p.prefix.len; j + p.delimiter.len <= k.len; j++) {
                if (memcmp(k.p + j, p.delimiter.p, p.delimiter.len) == 0) {
                    e = cf_str_make(k.p, j + p.delimiter.len);
                    is_cp = true;
                    break;
                }
            }
        }
        if (is_cp) {
            if (cf_str_cmp(e, p.start_after) <= 0 || (have_cp && cf_str_eq(e, last_cp)))
                continue;
            last_cp = e;
            have_cp = true;
        }
        if (n == p.max_keys) {
            truncated = true;
            break;
        }
        if (b.len)
            cf_buf_append_ch(&b, ',');
        if (is_cp)
            cf_buf_append_ch(&b, '[');
        cf_buf_append_str(&b, e);
        if (is_cp)
            cf_buf_append_ch(&b, ']');
        last = e;
        n++;
    }
    if (p.max_keys == 0)
        truncated = false;
    cf_buf_printf(&b, "|%s|%.*s", truncated ? "T" : "F", truncated ? (int)last.len : 0,
                  truncated ? last.p : "");
    s = cf_arena_strndup(a, b.p, b.len);
    cf_buf_free(&b);
    return s;
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) & 0xffffff;
}

/* Pages through the whole listing by next_marker, checking every page against the
 * reference, and returns the number of pages. */
static size_t page_through(fixture *f, const refkeys *rk, const char *prefix, const char *delim,
                           uint32_t max)
{
    cf_list_params p = lp(prefix, delim, "", max);
    size_t pages = 0;
    for (;;) {
        cf_list_result r;
        const char *got, *want;
        cf_arena *a = cf_arena_new(0);
        assert_non_null(a);
        assert_int_equal(f->m->ops->object_list(f->m, CF_STR("big"), &p, a, &r), CF_OK);
        got = render(a, &r);
        want = ref_list(a, rk, p);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "prefix=%s delim=%s max=%u after=%.*s\n got=%.200s\nwant=%.200s\n",
                    prefix, delim, max, CF_STR_FMT(p.start_after), got, want);
            fail();
        }
        assert_true(r.nobjects + r.nprefixes <= max);
        pages++;
        if (!r.truncated) {
            cf_arena_destroy(a);
            break;
        }
        assert_true(r.nobjects + r.nprefixes == max);
        p.start_after = cf_arena_str(f->a, r.next_marker);
        cf_arena_destroy(a);
    }
    return pages;
}

static void test_list_paging_10000(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("big");
    refkeys rk = {0};
    const char *dirs[] = {
        "photos/", "photos/2024/",       "docs/",           "a/b/c/", "", "x--y--",
        "\xff/",   "\xc3\xa9t\xc3\xa9/", "photos/2024/jan/"};
    size_t cap = 10000, i;
    conn *c;
    sqlite3_stmt *st;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    rk.k = calloc(cap, sizeof(*rk.k));
    assert_non_null(rk.k);
    c = get_conn((msq *)m);
    /* Insert through the upsert statement in one transaction: 10,000 single puts work too
     * but take longer than this test needs to. */
    assert_int_equal(begin_write(c), CF_OK);
    st = stmt(c, ST_OBJ_UPSERT);
    while (rk.n < cap) {
        char key[96];
        const char *d = dirs[rnd() % (sizeof(dirs) / sizeof(dirs[0]))];
        /* The counter keeps keys unique; the rest mixes depths and delimiters. */
        int len = snprintf(key, sizeof(key), "%s%s%zu%s", d, (rnd() % 7) ? "f" : "g/", rk.n,
                           (rnd() % 11) ? "" : "/z");
        cf_str k = cf_arena_str(f->a, cf_str_make(key, (size_t)len));
        assert_non_null(k.p);
        bind_text(st, 1, CF_STR("big"));
        bind_blob(st, 2, k.p, k.len);
        sqlite3_bind_int64(st, 3, 1);
        bind_text(st, 4, CF_STR("e"));
        sqlite3_bind_int64(st, 5, 1);
        bind_blob(st, 7, "x", 1);
        sqlite3_bind_int64(st, 9, 0);
        assert_int_equal(run(c, ST_OBJ_UPSERT), CF_OK);
        rk.k[rk.n++] = k;
    }
    assert_int_equal(end_write(c, CF_OK), CF_OK);
    qsort(rk.k, rk.n, sizeof(*rk.k), cmp_str);
    {
        cf_list_params p = lp("", "", "", 100000);
        cf_list_result r;
        assert_int_equal(m->ops->object_list(m, CF_STR("big"), &p, f->a, &r), CF_OK);
        assert_int_equal(r.nobjects, rk.n);
        assert_false(r.truncated);
    }

    {
        static const uint32_t maxes[] = {1, 7, 100, 1000};
        static const char *prefixes[] = {"",     "photos/", "photos", "photos/2024/",
                                         "\xff", "x--",     "zz",     "a/b/c/f1"};
        static const char *delims[] = {"", "/", "--", "2"};
        size_t pi, di, mi, pages;
        for (pi = 0; pi < sizeof(prefixes) / sizeof(prefixes[0]); pi++)
            for (di = 0; di < sizeof(delims) / sizeof(delims[0]); di++)
                for (mi = 0; mi < sizeof(maxes) / sizeof(maxes[0]); mi++) {
                    /* Single-key pages of a 10,000-key listing only for the cheap cases. */
                    if (maxes[mi] == 1 && prefixes[pi][0] == '\0' && delims[di][0] == '\0')
                        continue;
                    pages = page_through(f, &rk, prefixes[pi], delims[di], maxes[mi]);
                    assert_true(pages >= 1);
                }
        /* The big ones: whole bucket, 1000 per page, with and without delimiter. */
        pages = page_through(f, &rk, "", "", 1000);
        assert_int_equal(pages, 10); /* exactly full last page: not truncated */
        page_through(f, &rk, "", "/", 1000);
        page_through(f, &rk, "", "", 333);
    }

    /* Random start_after values, including ones inside common prefixes. */
    for (i = 0; i < 300; i++) {
        cf_str after = rk.k[rnd() % rk.n];
        cf_list_params p;
        cf_list_result r;
        size_t cut = rnd() % (after.len + 1);
        p = lp("", (i % 3) ? "/" : "", "", 1 + rnd() % 50);
        p.start_after = cf_str_make(after.p, cut);
        if (i % 4 == 0)
            p.prefix = cf_str_make(after.p, rnd() % (cut + 1));
        assert_int_equal(m->ops->object_list(m, CF_STR("big"), &p, f->a, &r), CF_OK);
        assert_string_equal(render(f->a, &r), ref_list(f->a, &rk, p));
    }
    free(rk.k);
}

/* ---- concurrency ---- */

#define NTHREADS 6
#define NPUTS    40

typedef struct worker {
    cf_meta *m;
    unsigned tid;
    char replaced[NPUTS][CF_BLOB_ID_LEN + 1];
    cf_rc rc;
} worker;

static void *put_worker(void *arg)
{
    worker *w = arg;
    unsigned i;
    for (i = 0; i < NPUTS && w->rc == CF_OK; i++) {
        cf_object_info o;
        memset(&o, 0, sizeof(o));
        o.bucket = CF_STR("bk");
        o.key = CF_STR("same");
        o.etag = CF_STR("e");
        blob_id_n(o.blob_id, w->tid * 1000 + i + 1);
        w->rc = w->m->ops->object_put(w->m, &o, NULL, w->replaced[i]);
        /* Reads from other threads' connections while writes go on. */
        if (w->rc == CF_OK && i % 8 == 0) {
            cf_arena *a = cf_arena_new(0);
            cf_object_info got;
            cf_list_params p = {CF_STR_NULL, CF_STR("/"), CF_STR_NULL, 10};
            cf_list_result r;
            w->rc = w->m->ops->object_get(w->m, CF_STR("bk"), CF_STR("same"), a, &got);
            if (w->rc == CF_OK)
                w->rc = w->m->ops->object_list(w->m, CF_STR("bk"), &p, a, &r);
            if (w->rc == CF_OK && r.nobjects != 1)
                w->rc = CF_EIO;
            cf_arena_destroy(a);
        }
    }
    return NULL;
}

typedef struct idset {
    char (*ids)[CF_BLOB_ID_LEN + 1];
    size_t n;
} idset;

static void collect_all(void *ctx, const char *id)
{
    idset *s = ctx;
    snprintf(s->ids[s->n++], CF_BLOB_ID_LEN + 1, "%s", id);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_concurrent_puts(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    static worker w[NTHREADS];
    pthread_t th[NTHREADS];
    idset queued = {0}, replaced = {0};
    cf_object_info got;
    cf_list_params p = lp("", "", "", 1000);
    cf_list_result r;
    size_t total = NTHREADS * NPUTS, i;
    unsigned t;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    for (t = 0; t < NTHREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].m = m;
        w[t].tid = t + 1;
        assert_int_equal(pthread_create(&th[t], NULL, put_worker, &w[t]), 0);
    }
    for (t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].rc, CF_OK);
    }
    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &p, f->a, &r), CF_OK);
    assert_int_equal(r.nobjects, 1);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("same"), f->a, &got), CF_OK);

    /* Every blob but the survivor was replaced exactly once, and all of those are queued. */
    queued.ids = calloc(total, sizeof(*queued.ids));
    replaced.ids = calloc(total, sizeof(*replaced.ids));
    assert_non_null(queued.ids);
    assert_non_null(replaced.ids);
    assert_int_equal(m->ops->gc_pending(m, collect_all, &queued), CF_OK);
    assert_int_equal(queued.n, total - 1);
    for (t = 0; t < NTHREADS; t++)
        for (i = 0; i < NPUTS; i++)
            if (w[t].replaced[i][0])
                memcpy(replaced.ids[replaced.n++], w[t].replaced[i], CF_BLOB_ID_LEN + 1);
    assert_int_equal(replaced.n, total - 1);
    qsort(queued.ids, queued.n, sizeof(*queued.ids), cmp_id);
    qsort(replaced.ids, replaced.n, sizeof(*replaced.ids), cmp_id);
    for (i = 0; i < queued.n; i++) {
        assert_string_equal(queued.ids[i], replaced.ids[i]);
        assert_string_not_equal(queued.ids[i], got.blob_id);
        if (i)
            assert_string_not_equal(queued.ids[i - 1], queued.ids[i]);
    }
    free(queued.ids);
    free(replaced.ids);

    /* The worker threads exited: their connections were closed with them. */
    pthread_mutex_lock(&((msq *)m)->lock);
    {
        size_t nconn = 0;
        conn *c;
        for (c = ((msq *)m)->conns; c; c = c->next)
            nconn++;
        assert_int_equal(nconn, 1);
    }
    pthread_mutex_unlock(&((msq *)m)->lock);
}

/* Another connection to the file (a backup or an operator's sqlite3 shell; a second cofferd
 * is refused by the lock) holding the write lock for a while: the store's writes wait for
 * it and then succeed. */
static void *other_writer(void *arg)
{
    fixture *f = arg;
    sqlite3 *db = NULL;
    void *ret = (void *)1;
    if (sqlite3_open(f->path, &db) != SQLITE_OK || sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        ret = NULL;
out:
    sqlite3_close(db);
    return ret;
}

static void test_two_handles(void **state)
{
    fixture *f = *state;
    cf_bucket_info b = bucket("bk");
    pthread_t th;
    void *res;
    cf_list_params p = lp("", "", "", 1000);
    cf_list_result r;
    unsigned i;

    assert_int_equal(f->m->ops->bucket_create(f->m, &b, NULL, NULL), CF_OK);
    assert_int_equal(pthread_create(&th, NULL, other_writer, f), 0);
    for (i = 0; i < 50; i++) {
        char key[16];
        snprintf(key, sizeof(key), "m%u", i);
        assert_int_equal(put(f->m, "bk", key), CF_OK);
    }
    pthread_join(th, &res);
    assert_null(res);
    assert_int_equal(f->m->ops->object_list(f->m, CF_STR("bk"), &p, f->a, &r), CF_OK);
    assert_int_equal(r.nobjects, 50);
}

/* ---- usage counters and quotas ---- */

/* Puts key with a given size (the body is not stored: only the metadata matters here). */
static cf_rc put_sized(cf_meta *m, const char *b, const char *key, uint64_t size, unsigned blob,
                       char replaced[CF_BLOB_ID_LEN + 1])
{
    cf_object_info o;
    char dummy[CF_BLOB_ID_LEN + 1];
    memset(&o, 0, sizeof(o));
    o.bucket = cf_str_c(b);
    o.key = cf_str_c(key);
    o.size = size;
    o.etag = CF_STR("e");
    o.mtime_ms = 1;
    if (blob)
        blob_id_n(o.blob_id, blob);
    else
        o.inline_body = CF_STR("");
    return m->ops->object_put(m, &o, NULL, replaced ? replaced : dummy);
}

static void assert_usage(fixture *f, const char *b, uint64_t objects, uint64_t bytes)
{
    cf_bucket_info got, *list;
    size_t n, i;
    bool seen = false;
    assert_int_equal(f->m->ops->bucket_get(f->m, cf_str_c(b), f->a, &got), CF_OK);
    assert_int_equal(got.objects, objects);
    assert_int_equal(got.bytes, bytes);
    /* The listing reports the same. */
    assert_int_equal(f->m->ops->bucket_list(f->m, f->a, &list, &n), CF_OK);
    for (i = 0; i < n; i++) {
        if (cf_str_eq_c(list[i].name, b)) {
            seen = true;
            assert_int_equal(list[i].objects, objects);
            assert_int_equal(list[i].bytes, bytes);
            assert_int_equal(list[i].quota_bytes, got.quota_bytes);
            assert_int_equal(list[i].quota_objects, got.quota_objects);
        }
    }
    assert_true(seen);
}

static void test_usage_counters(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk"), got;
    cf_put_cond none = {.if_none_match_any = true};

    /* Usage given at creation is ignored; quotas are kept. */
    b.objects = 7;
    b.bytes = 70;
    b.quota_bytes = 1000;
    b.quota_objects = 10;
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("bk"), f->a, &got), CF_OK);
    assert_int_equal(got.quota_bytes, 1000);
    assert_int_equal(got.quota_objects, 10);
    assert_int_equal(got.created_ms, 1234);
    assert_usage(f, "bk", 0, 0);

    assert_int_equal(put_sized(m, "bk", "a", 10, 0, NULL), CF_OK);
    assert_usage(f, "bk", 1, 10);
    assert_int_equal(put_sized(m, "bk", "b", 20, 1, NULL), CF_OK);
    assert_usage(f, "bk", 2, 30);
    /* Overwrites change bytes by the difference and objects not at all. */
    assert_int_equal(put_sized(m, "bk", "a", 5, 2, NULL), CF_OK);
    assert_usage(f, "bk", 2, 25);
    assert_int_equal(put_sized(m, "bk", "a", 0, 0, NULL), CF_OK);
    assert_usage(f, "bk", 2, 20);
    assert_int_equal(put_sized(m, "bk", "a", 300, 0, NULL), CF_OK);
    assert_usage(f, "bk", 2, 320);
    /* A failed precondition changes nothing. */
    assert_int_equal(put_full(m, "bk", CF_STR("a"), NULL, "e", &none, NULL), CF_ECONFLICT);
    assert_usage(f, "bk", 2, 320);
    /* Deletes subtract; deleting a missing key changes nothing. */
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("b"), NULL, NULL), CF_OK);
    assert_usage(f, "bk", 1, 300);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("b"), NULL, NULL), CF_OK);
    assert_usage(f, "bk", 1, 300);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("a"), NULL, NULL), CF_OK);
    assert_usage(f, "bk", 0, 0);

    /* Other buckets are untouched; a recreated bucket starts from zero. */
    b = bucket("other");
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(put_sized(m, "other", "x", 1, 0, NULL), CF_OK);
    assert_int_equal(put_sized(m, "bk", "y", 2, 0, NULL), CF_OK);
    assert_usage(f, "other", 1, 1);
    assert_usage(f, "bk", 1, 2);
    assert_int_equal(m->ops->object_delete(m, CF_STR("other"), CF_STR("x"), NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("other")), CF_OK);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_usage(f, "other", 0, 0);
    assert_usage(f, "bk", 1, 2);
}

static void test_quota(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk"), got;
    cf_object_info o;
    char rep[CF_BLOB_ID_LEN + 1];
    size_t nq;

    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 1, 1), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 100, 3), CF_OK);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("bk"), f->a, &got), CF_OK);
    assert_int_equal(got.quota_bytes, 100);
    assert_int_equal(got.quota_objects, 3);

    /* Bytes: a put past the quota writes nothing, queues nothing and replaces nothing. */
    assert_int_equal(put_sized(m, "bk", "a", 60, 1, NULL), CF_OK);
    assert_int_equal(put_sized(m, "bk", "b", 41, 2, rep), CF_ETOOBIG);
    assert_string_equal(rep, "");
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("b"), f->a, &o), CF_ENOTFOUND);
    assert_usage(f, "bk", 1, 60);
    assert_int_equal(put_sized(m, "bk", "b", 40, 2, NULL), CF_OK); /* exactly the quota */
    assert_usage(f, "bk", 2, 100);
    /* An overwrite that grows past the quota is refused and leaves the old object. */
    assert_int_equal(put_sized(m, "bk", "a", 61, 3, rep), CF_ETOOBIG);
    assert_string_equal(rep, "");
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("a"), f->a, &o), CF_OK);
    assert_int_equal(o.size, 60);
    assert_false(gc_has(m, "", &nq));
    assert_int_equal(nq, 0);
    /* One that shrinks is allowed, and one of the same size. */
    assert_int_equal(put_sized(m, "bk", "a", 50, 3, rep), CF_OK);
    assert_int_equal(rep[0] != '\0', 1);
    assert_usage(f, "bk", 2, 90);
    assert_int_equal(put_sized(m, "bk", "a", 50, 0, NULL), CF_OK);
    assert_usage(f, "bk", 2, 90);

    /* Objects: the fourth key is refused, an overwrite at the limit is not. */
    assert_int_equal(put_sized(m, "bk", "c", 10, 0, NULL), CF_OK);
    assert_usage(f, "bk", 3, 100);
    assert_int_equal(put_sized(m, "bk", "d", 0, 0, NULL), CF_ETOOBIG);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("d"), f->a, &o), CF_ENOTFOUND);
    assert_int_equal(put_sized(m, "bk", "c", 0, 0, NULL), CF_OK);
    assert_usage(f, "bk", 3, 90);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("c"), NULL, NULL), CF_OK);
    assert_int_equal(put_sized(m, "bk", "d", 0, 0, NULL), CF_OK);
    assert_usage(f, "bk", 3, 90);

    /* A quota lowered below the usage: growing is refused, shrinking and deleting are not. */
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 50, 2), CF_OK);
    assert_int_equal(put_sized(m, "bk", "a", 51, 0, NULL), CF_ETOOBIG);
    assert_int_equal(put_sized(m, "bk", "e", 0, 0, NULL), CF_ETOOBIG);
    assert_int_equal(put_sized(m, "bk", "a", 45, 0, NULL), CF_OK);
    assert_usage(f, "bk", 3, 85);
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("a"), NULL, NULL), CF_OK);
    assert_usage(f, "bk", 2, 40);

    /* Only one dimension limited. */
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 0, 3), CF_OK);
    assert_int_equal(put_sized(m, "bk", "big", (uint64_t)1 << 40, 0, NULL), CF_OK);
    assert_int_equal(put_sized(m, "bk", "one-more", 0, 0, NULL), CF_ETOOBIG);
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), ((uint64_t)1 << 40) + 40, 0), CF_OK);
    assert_int_equal(put_sized(m, "bk", "one-more", 0, 0, NULL), CF_OK);
    assert_int_equal(put_sized(m, "bk", "x", 1, 0, NULL), CF_ETOOBIG);
    assert_usage(f, "bk", 4, ((uint64_t)1 << 40) + 40);

    /* No quota; a quota too large for SQLite reads back as the largest it holds. */
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 0, 0), CF_OK);
    assert_int_equal(put_sized(m, "bk", "x", 1, 0, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), UINT64_MAX, UINT64_MAX), CF_OK);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("bk"), f->a, &got), CF_OK);
    assert_int_equal(got.quota_bytes, INT64_MAX);
    assert_int_equal(got.quota_objects, INT64_MAX);
    assert_int_equal(put_sized(m, "bk", "y", 1, 0, NULL), CF_OK);
    /* A size that would overflow the counter is refused, not wrapped. */
    assert_int_equal(put_sized(m, "bk", "z", UINT64_MAX - 10, 0, NULL), CF_ETOOBIG);
    assert_int_equal(put_sized(m, "bk", "z", (uint64_t)INT64_MAX, 0, NULL), CF_ETOOBIG);
    assert_usage(f, "bk", 6, ((uint64_t)1 << 40) + 42);
}

/* Many writers on a few shared keys with random sizes, deletes, and a quota on keys. */
#define UQ_THREADS 6
#define UQ_OPS     150
#define UQ_KEYS    12

typedef struct uworker {
    cf_meta *m;
    uint32_t seed;
    unsigned toobig;
    cf_rc rc;
} uworker;

static uint32_t wrnd(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

static void *usage_worker(void *arg)
{
    uworker *w = arg;
    unsigned i;
    for (i = 0; i < UQ_OPS && w->rc == CF_OK; i++) {
        char key[16];
        uint32_t r = wrnd(&w->seed);
        cf_rc rc;
        snprintf(key, sizeof(key), "k%u", r % UQ_KEYS);
        if (r % 5 == 0)
            rc = w->m->ops->object_delete(w->m, CF_STR("bk"), cf_str_c(key), NULL, NULL);
        else
            rc =
                put_sized(w->m, "bk", key, wrnd(&w->seed) % 5000, (r % 3) ? 0 : 1 + r % 1000, NULL);
        if (rc == CF_ETOOBIG)
            w->toobig++;
        else
            w->rc = rc;
    }
    return NULL;
}

static void test_concurrent_usage(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk"), got;
    static uworker w[UQ_THREADS];
    pthread_t th[UQ_THREADS];
    cf_list_params p = lp("", "", "", 1000);
    cf_list_result r;
    uint64_t bytes = 0;
    unsigned t, toobig = 0;
    size_t i;

    /* Fewer keys allowed than are written: some puts are refused, racing the deletes. */
    b.quota_objects = UQ_KEYS - 4;
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    for (t = 0; t < UQ_THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].m = m;
        w[t].seed = 77 + t * 1000;
        assert_int_equal(pthread_create(&th[t], NULL, usage_worker, &w[t]), 0);
    }
    for (t = 0; t < UQ_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].rc, CF_OK);
        toobig += w[t].toobig;
    }
    assert_true(toobig > 0);
    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &p, f->a, &r), CF_OK);
    for (i = 0; i < r.nobjects; i++)
        bytes += r.objects[i].size;
    assert_true(r.nobjects <= UQ_KEYS - 4);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("bk"), f->a, &got), CF_OK);
    assert_int_equal(got.objects, r.nobjects);
    assert_int_equal(got.bytes, bytes);
}

/* ---- bucket and credential in one transaction ---- */

static cf_cred_row cred_row(const char *id, const char *parent)
{
    cf_cred_row r;
    memset(&r, 0, sizeof(r));
    r.id = cf_str_c(id);
    r.name = cf_str_c(id);
    r.parent_id = cf_str_c(parent);
    r.policy = CF_STR("{}");
    r.secret_sealed = CF_STR("sealed");
    r.created_ms = 5;
    return r;
}

static void test_bucket_with_cred(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("cust1"), got;
    cf_cred_row c = cred_row("AKCUST1", "AKROOT"), cgot;
    cf_str owner = CF_STR_NULL;
    uint64_t n;

    /* The parent must exist: nothing is created otherwise. */
    b.quota_bytes = 10;
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("cust1"), f->a, &got), CF_ENOTFOUND);
    cgot = cred_row("AKROOT", "");
    assert_int_equal(m->ops->cred_insert(m, &cgot), CF_OK);
    cgot = cred_row("AKOTHER", "");
    assert_int_equal(m->ops->cred_insert(m, &cgot), CF_OK);
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_OK);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("cust1"), f->a, &got), CF_OK);
    assert_int_equal(got.quota_bytes, 10);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKCUST1"), f->a, &cgot), CF_OK);
    assert_true(cf_str_eq_c(cgot.parent_id, "AKROOT"));
    assert_int_equal(cgot.version, 1);

    /* The bucket exists: the owner is reported and the new credential is not inserted. */
    c = cred_row("AKCUST2", "AKROOT");
    b.owner = CF_STR("someone");
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_EEXIST);
    assert_true(cf_str_eq_c(owner, "owner1"));
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKCUST2"), f->a, &cgot), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, NULL, NULL), CF_EEXIST);

    /* The credential id exists: the new bucket is not created. */
    b = bucket("cust2");
    c = cred_row("AKCUST1", "AKOTHER");
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_ECONFLICT);
    assert_int_equal(m->ops->bucket_get(m, CF_STR("cust2"), f->a, &got), CF_ENOTFOUND);
    assert_int_equal(m->ops->cred_get(m, CF_STR("AKCUST1"), f->a, &cgot), CF_OK);
    assert_true(cf_str_eq_c(cgot.parent_id, "AKROOT"));

    /* Both taken: the bucket is reported first. */
    b = bucket("cust1");
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_EEXIST);

    assert_int_equal(m->ops->cred_count(m, &n), CF_OK);
    assert_int_equal(n, 3);
    c = cred_row("AKCUST2", "AKROOT");
    b = bucket("cust2");
    assert_int_equal(m->ops->bucket_create_with_cred(m, &b, &c, f->a, &owner), CF_OK);
    assert_int_equal(m->ops->cred_count(m, &n), CF_OK);
    assert_int_equal(n, 4);
    /* The plain create still reports a taken name, and plain credential inserts work on. */
    assert_int_equal(m->ops->bucket_create(m, &b, f->a, &owner), CF_EEXIST);
    c = cred_row("AKCUST3", "AKROOT");
    assert_int_equal(m->ops->cred_insert(m, &c), CF_OK);
}

/* ---- credential trees ---- */

static void add_cred(cf_meta *m, const char *id, const char *parent)
{
    cf_cred_row r = cred_row(id, parent);
    assert_int_equal(m->ops->cred_insert(m, &r), CF_OK);
}

/* "a,b,c" of rows' ids, from arena a. */
static const char *ids_str(cf_arena *a, const cf_cred_row *r, size_t n)
{
    cf_buf b;
    size_t i;
    char *s;
    cf_buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        if (i)
            cf_buf_append_ch(&b, ',');
        cf_buf_append_str(&b, r[i].id);
    }
    s = cf_arena_strndup(a, b.p ? b.p : "", b.len);
    cf_buf_free(&b);
    return s;
}

static const char *chain_str(fixture *f, const char *id, size_t depth, cf_rc want)
{
    cf_cred_row *rows;
    size_t n;
    assert_int_equal(f->m->ops->cred_chain(f->m, cf_str_c(id), depth, f->a, &rows, &n), want);
    if (want != CF_OK) {
        assert_int_equal(n, 0);
        assert_null(rows);
    }
    return ids_str(f->a, rows, n);
}

static bool in_sub(fixture *f, const char *anc, const char *id)
{
    bool in = true;
    assert_int_equal(f->m->ops->cred_in_subtree(f->m, cf_str_c(anc), cf_str_c(id), &in), CF_OK);
    return in;
}

static const char *subtree_page(fixture *f, const char *root, const char *after, uint32_t limit)
{
    cf_cred_row *rows;
    size_t n;
    assert_int_equal(
        f->m->ops->cred_list_subtree(f->m, cf_str_c(root), cf_str_c(after), limit, f->a, &rows, &n),
        CF_OK);
    assert_true(n <= limit);
    return ids_str(f->a, rows, n);
}

/* The whole subtree by pages of limit, joined with '|' between pages. */
static const char *subtree_pages(fixture *f, const char *root, uint32_t limit)
{
    cf_buf b;
    const char *after = "";
    char *s;
    cf_buf_init(&b, 0);
    for (;;) {
        const char *page = subtree_page(f, root, after, limit);
        const char *last;
        if (!*page)
            break;
        if (b.len)
            cf_buf_append_ch(&b, '|');
        cf_buf_append_str(&b, cf_str_c(page));
        last = strrchr(page, ',');
        after = last ? last + 1 : page;
    }
    s = cf_arena_strndup(f->a, b.p ? b.p : "", b.len);
    cf_buf_free(&b);
    return s;
}

/* R > A > A1 > {A1a, A1b}, A > A2, R > B > B1, and R > A-x, R > AB (ids whose paths share
 * A's first bytes, one of them sorting before '/'); Q > Q1 is another root. */
static void build_tree(cf_meta *m)
{
    add_cred(m, "R", "");
    add_cred(m, "A", "R");
    add_cred(m, "B", "R");
    add_cred(m, "A1", "A");
    add_cred(m, "A2", "A");
    add_cred(m, "A1a", "A1");
    add_cred(m, "A1b", "A1");
    add_cred(m, "B1", "B");
    add_cred(m, "A-x", "R");
    add_cred(m, "AB", "R");
    add_cred(m, "Q", "");
    add_cred(m, "Q1", "Q");
}

static void test_cred_tree(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_cred_row *rows, r;
    size_t n;
    uint64_t deleted, count;

    build_tree(m);
    /* No credential hangs off a missing parent. */
    r = cred_row("X", "GONE");
    assert_int_equal(m->ops->cred_insert(m, &r), CF_ENOTFOUND);

    /* Chains: the credential first, the root last, bounded by depth. */
    assert_string_equal(chain_str(f, "A1a", 8, CF_OK), "A1a,A1,A,R");
    assert_string_equal(chain_str(f, "A1a", 4, CF_OK), "A1a,A1,A,R");
    chain_str(f, "A1a", 3, CF_ETOOBIG);
    chain_str(f, "A1a", 0, CF_ETOOBIG);
    assert_string_equal(chain_str(f, "B1", 8, CF_OK), "B1,B,R");
    assert_string_equal(chain_str(f, "A-x", 8, CF_OK), "A-x,R");
    assert_string_equal(chain_str(f, "R", 1, CF_OK), "R");
    assert_string_equal(chain_str(f, "Q1", 2, CF_OK), "Q1,Q");
    chain_str(f, "NOPE", 8, CF_ENOTFOUND);
    chain_str(f, "X", 8, CF_ENOTFOUND);
    assert_int_equal(m->ops->cred_chain(m, CF_STR("A1"), 8, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 3);
    assert_true(cf_str_eq_c(rows[0].parent_id, "A"));
    assert_true(cf_str_eq_c(rows[1].parent_id, "R"));
    assert_int_equal(rows[2].parent_id.len, 0);
    assert_true(cf_str_eq_c(rows[2].secret_sealed, "sealed"));
    assert_int_equal(rows[2].created_ms, 5);

    /* Subtree membership. */
    assert_true(in_sub(f, "R", "A1a"));
    assert_true(in_sub(f, "A", "A1b"));
    assert_true(in_sub(f, "A1a", "A1a"));
    assert_true(in_sub(f, "R", "R"));
    assert_true(in_sub(f, "R", "A-x"));
    assert_false(in_sub(f, "A", "A-x"));
    assert_false(in_sub(f, "A", "AB"));
    assert_false(in_sub(f, "B", "A1a"));
    assert_false(in_sub(f, "A1a", "A1"));
    assert_false(in_sub(f, "A1", "A1a1"));
    assert_false(in_sub(f, "Q", "A"));
    assert_false(in_sub(f, "R", "Q1"));
    assert_false(in_sub(f, "R", "NOPE"));
    assert_false(in_sub(f, "NOPE", "NOPE"));
    assert_false(in_sub(f, "NOPE", "R"));

    /* Listing in tree order (by path; '-' sorts before '/'), by pages. */
    assert_string_equal(subtree_page(f, "R", "", 100), "R,A-x,A,A1,A1a,A1b,A2,AB,B,B1");
    assert_string_equal(subtree_pages(f, "R", 3), "R,A-x,A|A1,A1a,A1b|A2,AB,B|B1");
    assert_string_equal(subtree_pages(f, "R", 1), "R|A-x|A|A1|A1a|A1b|A2|AB|B|B1");
    assert_string_equal(subtree_pages(f, "R", 10), "R,A-x,A,A1,A1a,A1b,A2,AB,B,B1");
    assert_string_equal(subtree_page(f, "R", "A1", 2), "A1a,A1b");
    assert_string_equal(subtree_page(f, "R", "A2", 2), "AB,B");
    assert_string_equal(subtree_page(f, "R", "B1", 5), "");
    assert_string_equal(subtree_page(f, "R", "", 0), "");
    /* A cursor outside the subtree: before it (Q sorts first) or after it. */
    assert_string_equal(subtree_page(f, "A", "Q1", 2), "A,A1");
    assert_string_equal(subtree_page(f, "A", "B", 2), "");
    assert_string_equal(subtree_pages(f, "A", 2), "A,A1|A1a,A1b|A2");
    assert_string_equal(subtree_pages(f, "A1b", 2), "A1b");
    assert_string_equal(subtree_pages(f, "Q", 10), "Q,Q1");
    assert_string_equal(subtree_pages(f, "NOPE", 10), "");
    assert_int_equal(m->ops->cred_list_subtree(m, CF_STR("R"), CF_STR("R"), 1, f->a, &rows, &n),
                     CF_OK);
    assert_int_equal(n, 1);
    assert_true(cf_str_eq_c(rows[0].id, "A-x"));
    assert_true(cf_str_eq_c(rows[0].parent_id, "R"));
    assert_true(cf_str_eq_c(rows[0].policy, "{}"));
    /* A cursor that no longer exists cannot be placed. */
    assert_int_equal(m->ops->cred_list_subtree(m, CF_STR("R"), CF_STR("NOPE"), 5, f->a, &rows, &n),
                     CF_ENOTFOUND);
    assert_int_equal(n, 0);

    /* Deleting a subtree. */
    assert_int_equal(m->ops->cred_delete_subtree(m, CF_STR("NOPE"), &deleted), CF_ENOTFOUND);
    assert_int_equal(deleted, 0);
    assert_int_equal(m->ops->cred_delete_subtree(m, CF_STR("A"), &deleted), CF_OK);
    assert_int_equal(deleted, 5);
    assert_string_equal(subtree_pages(f, "R", 10), "R,A-x,AB,B,B1");
    assert_int_equal(m->ops->cred_get(m, CF_STR("A1a"), f->a, &r), CF_ENOTFOUND);
    assert_int_equal(m->ops->cred_delete_subtree(m, CF_STR("B1"), &deleted), CF_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(m->ops->cred_delete_subtree(m, CF_STR("A"), &deleted), CF_ENOTFOUND);
    assert_int_equal(m->ops->cred_count(m, &count), CF_OK);
    assert_int_equal(count, 6); /* R, A-x, AB, B, Q, Q1 */
    assert_int_equal(m->ops->cred_delete_subtree(m, CF_STR("R"), &deleted), CF_OK);
    assert_int_equal(deleted, 4);
    assert_string_equal(subtree_pages(f, "Q", 10), "Q,Q1");
    /* An id once deleted may be reused, in another place. */
    add_cred(m, "A", "Q1");
    assert_string_equal(chain_str(f, "A", 8, CF_OK), "A,Q1,Q");
}

/* A parent cannot change, so no parent cycle can be written; chains deeper than asked are
 * refused. */
static void test_cred_no_reparent(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_cred_row r;
    char id[16], parent[16];
    int i;

    build_tree(m);
    assert_int_equal(m->ops->cred_get(m, CF_STR("A"), f->a, &r), CF_OK);
    r.parent_id = CF_STR("A1a");
    assert_int_equal(m->ops->cred_update(m, &r), CF_EINVAL);
    r.parent_id = CF_STR("R");
    r.name = CF_STR("renamed");
    assert_int_equal(m->ops->cred_update(m, &r), CF_OK);
    assert_string_equal(chain_str(f, "A1a", 16, CF_OK), "A1a,A1,A,R");
    assert_true(in_sub(f, "R", "A1a"));

    /* A chain of 20 below D0. */
    add_cred(m, "D0", "");
    for (i = 1; i < 20; i++) {
        snprintf(id, sizeof(id), "D%d", i);
        snprintf(parent, sizeof(parent), "D%d", i - 1);
        add_cred(m, id, parent);
    }
    chain_str(f, "D19", 16, CF_ETOOBIG);
    chain_str(f, "D19", 19, CF_ETOOBIG);
    assert_string_equal(chain_str(f, "D19", 20, CF_OK),
                        "D19,D18,D17,D16,D15,D14,D13,D12,D11,D10,D9,D8,D7,D6,D5,D4,D3,D2,D1,D0");
    assert_true(in_sub(f, "D3", "D19"));
    assert_false(in_sub(f, "D19", "D3"));
    assert_string_equal(subtree_pages(f, "D17", 2), "D17,D18|D19");
}

/* A random forest against a brute-force reference. */
#define RF_N 1500

typedef struct rforest {
    char id[RF_N][24];
    int parent[RF_N]; /* -1: root */
    char *path[RF_N]; /* the reference path, built from the ids */
} rforest;

/* Whether i is r or below r, walking up. */
static bool ref_in(const rforest *rf, int r, int i)
{
    for (; i >= 0; i = rf->parent[i])
        if (i == r)
            return true;
    return false;
}

static const rforest *cmp_rf;
static int cmp_by_path(const void *a, const void *b)
{
    return strcmp(cmp_rf->path[*(const int *)a], cmp_rf->path[*(const int *)b]);
}

static void test_cred_subtree_random(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    rforest *rf = calloc(1, sizeof(*rf));
    int sorted[RF_N];
    int i, k;

    assert_non_null(rf);
    rng_state = 4242;
    for (i = 0; i < RF_N; i++) {
        size_t plen;
        /* Ids in an order unrelated to the tree. */
        snprintf(rf->id[i], sizeof(rf->id[i]), "K%06u%04u", rnd() % 1000000, (unsigned)i);
        if (i < 3)
            rf->parent[i] = -1;
        else /* mostly shallow and bushy, sometimes a long thin branch */
            rf->parent[i] =
                (rnd() % 4) ? (int)(rnd() % (unsigned)(i < 40 ? i : 40 + i / 8)) : i - 1;
        plen = (rf->parent[i] >= 0 ? strlen(rf->path[rf->parent[i]]) : 0) + strlen(rf->id[i]) + 2;
        rf->path[i] = malloc(plen);
        assert_non_null(rf->path[i]);
        snprintf(rf->path[i], plen, "%s%s/", rf->parent[i] >= 0 ? rf->path[rf->parent[i]] : "",
                 rf->id[i]);
        add_cred(m, rf->id[i], rf->parent[i] >= 0 ? rf->id[rf->parent[i]] : "");
    }

    cmp_rf = rf;
    for (k = 0; k < 24; k++) {
        int r = k < 3 ? k : (int)(rnd() % RF_N);
        size_t nref = 0, got = 0;
        uint32_t limits[] = {1, 7, 60};
        size_t li;
        for (i = 0; i < RF_N; i++)
            if (ref_in(rf, r, i))
                sorted[nref++] = i;
        qsort(sorted, nref, sizeof(sorted[0]), cmp_by_path);
        for (li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
            cf_str after = CF_STR_NULL;
            cf_arena *a;
            if (limits[li] == 1 && nref > 100)
                continue;
            a = cf_arena_new(0);
            got = 0;
            for (;;) {
                cf_cred_row *rows;
                size_t n, j;
                assert_int_equal(m->ops->cred_list_subtree(m, cf_str_c(rf->id[r]), after,
                                                           limits[li], a, &rows, &n),
                                 CF_OK);
                for (j = 0; j < n; j++) {
                    assert_true(got + j < nref);
                    assert_true(cf_str_eq_c(rows[j].id, rf->id[sorted[got + j]]));
                }
                got += n;
                if (n < limits[li])
                    break;
                after = rows[n - 1].id;
            }
            assert_int_equal(got, nref);
            cf_arena_destroy(a);
        }
        /* Membership and chains agree too, for a sample. */
        for (i = 0; i < RF_N; i += 37) {
            cf_cred_row *rows;
            size_t n, j;
            int up = i;
            assert_int_equal(in_sub(f, rf->id[r], rf->id[i]), ref_in(rf, r, i));
            assert_int_equal(m->ops->cred_chain(m, cf_str_c(rf->id[i]), RF_N, f->a, &rows, &n),
                             CF_OK);
            for (j = 0; j < n; j++, up = rf->parent[up])
                assert_true(cf_str_eq_c(rows[j].id, rf->id[up]));
            assert_int_equal(up, -1);
        }
    }

    /* Deleting subtrees removes exactly their members. */
    for (k = 0; k < 5; k++) {
        int r = 3 + (int)(rnd() % (RF_N - 3));
        uint64_t deleted = 0, want = 0, before = 0, after = 0;
        cf_cred_row row;
        if (m->ops->cred_get(m, cf_str_c(rf->id[r]), f->a, &row) != CF_OK)
            continue; /* went with an earlier subtree */
        assert_int_equal(m->ops->cred_count(m, &before), CF_OK);
        for (i = 0; i < RF_N; i++)
            if (ref_in(rf, r, i) && m->ops->cred_get(m, cf_str_c(rf->id[i]), f->a, &row) == CF_OK)
                want++;
        assert_int_equal(m->ops->cred_delete_subtree(m, cf_str_c(rf->id[r]), &deleted), CF_OK);
        assert_int_equal(deleted, want);
        assert_int_equal(m->ops->cred_count(m, &after), CF_OK);
        assert_int_equal(after, before - want);
    }
    for (i = 0; i < RF_N; i++)
        free(rf->path[i]);
    free(rf);
}

/* ---- segmented objects and multipart uploads ---- */

static cf_part_info part_n(uint32_t number, unsigned blob, uint64_t size)
{
    cf_part_info p;
    memset(&p, 0, sizeof(p));
    p.number = number;
    p.size = size;
    p.etag = CF_STR("0123456789abcdef0123456789abcdef");
    p.checksum = CF_STR("AAAAAA==");
    p.mtime_ms = 77;
    blob_id_n(p.blob_id, blob);
    return p;
}

static void seg_of(cf_segment *s, const cf_part_info *p)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->blob_id, p->blob_id, sizeof(s->blob_id));
    s->size = p->size;
    s->etag = p->etag;
    s->checksum = p->checksum;
}

/* A multipart version of bucket/key made of segs. */
static cf_object_info mp_obj(const char *b, const char *key, cf_segment *segs, size_t n)
{
    cf_object_info o;
    size_t i;
    memset(&o, 0, sizeof(o));
    o.bucket = cf_str_c(b);
    o.key = cf_str_c(key);
    o.etag = CF_STR("00112233445566778899aabbccddeeff-3");
    o.mtime_ms = 4242;
    o.segments = segs;
    o.nsegments = n;
    for (i = 0; i < n; i++)
        o.size += segs[i].size;
    return o;
}

static cf_upload_info upload_info(const char *b, const char *key, const char *id, int64_t ms)
{
    cf_upload_info u;
    memset(&u, 0, sizeof(u));
    u.bucket = cf_str_c(b);
    u.key = cf_str_c(key);
    u.upload_id = cf_str_c(id);
    u.initiator = CF_STR("AKIAME");
    u.initiated_ms = ms;
    return u;
}

static cf_rc new_upload(cf_meta *m, const char *b, const char *key, const char *id, int64_t ms)
{
    cf_upload_info u = upload_info(b, key, id, ms);
    return m->ops->upload_create(m, &u);
}

static cf_rc put_part(cf_meta *m, const char *b, const char *key, const char *id, cf_part_info p)
{
    return m->ops->part_put(m, cf_str_c(b), cf_str_c(key), cf_str_c(id), &p);
}

static bool referenced(cf_meta *m, const char *blob)
{
    bool ref = false;
    assert_int_equal(m->ops->blob_referenced(m, blob, &ref), CF_OK);
    return ref;
}

/* Empties the queue (as the caller does once the files are gone). */
static void gc_clear(cf_meta *m)
{
    gc_ctx g = {m, 0};
    assert_int_equal(m->ops->gc_pending(m, gc_delete_cb, &g), CF_OK);
}

static void test_segmented_objects(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_part_info p[3] = {part_n(1, 201, 100), part_n(2, 202, 200), part_n(3, 203, 7)};
    cf_segment segs[3], bad[2];
    cf_header h[1] = {{CF_STR("content-type"), CF_STR("video/mp4")}};
    cf_object_info o, got;
    cf_list_params lpar = lp("", "", "", 10);
    cf_list_result lr;
    char rep[CF_BLOB_ID_LEN + 1], b1[CF_BLOB_ID_LEN + 1];
    size_t i, nq;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    for (i = 0; i < 3; i++)
        seg_of(&segs[i], &p[i]);
    segs[2].checksum = CF_STR_NULL;
    o = mp_obj("bk", "movie", segs, 3);
    o.headers = h;
    o.nheaders = 1;
    memset(rep, 'x', sizeof(rep));
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    assert_usage(f, "bk", 1, 307);

    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("movie"), f->a, &got), CF_OK);
    assert_int_equal(got.size, 307);
    assert_true(cf_str_eq(got.etag, o.etag));
    assert_string_equal(got.blob_id, "");
    assert_int_equal(got.inline_body.len, 0);
    assert_int_equal(got.nheaders, 1);
    assert_int_equal(got.nsegments, 3);
    for (i = 0; i < 3; i++) {
        assert_string_equal(got.segments[i].blob_id, p[i].blob_id);
        assert_int_equal(got.segments[i].size, p[i].size);
        assert_true(cf_str_eq(got.segments[i].etag, p[i].etag));
        assert_true(referenced(m, p[i].blob_id));
    }
    assert_true(cf_str_eq_c(got.segments[0].checksum, "AAAAAA=="));
    assert_int_equal(got.segments[2].checksum.len, 0);

    /* Listings carry size and etag, not segments. */
    assert_int_equal(m->ops->object_list(m, CF_STR("bk"), &lpar, f->a, &lr), CF_OK);
    assert_int_equal(lr.nobjects, 1);
    assert_int_equal(lr.objects[0].size, 307);
    assert_true(cf_str_eq(lr.objects[0].etag, o.etag));
    assert_int_equal(lr.objects[0].nsegments, 0);
    assert_null(lr.objects[0].segments);

    /* Malformed versions are refused and change nothing. */
    o = mp_obj("bk", "movie", segs, 3);
    o.size = 306;
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_EINVAL);
    o = mp_obj("bk", "movie", segs, 3);
    blob_id_n(o.blob_id, 299);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_EINVAL);
    o = mp_obj("bk", "movie", segs, 3);
    o.inline_body = CF_STR("x");
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_EINVAL);
    seg_of(&bad[0], &p[0]);
    seg_of(&bad[1], &p[1]);
    bad[1].blob_id[0] = '\0';
    o = mp_obj("bk", "movie", bad, 2);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_EINVAL);
    assert_false(gc_has(m, p[0].blob_id, &nq));
    assert_int_equal(nq, 0);
    assert_usage(f, "bk", 1, 307);

    /* Rewriting the metadata with the same segments (a copy onto itself) queues nothing. */
    o = mp_obj("bk", "movie", segs, 3);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_false(gc_has(m, p[0].blob_id, &nq));
    assert_int_equal(nq, 0);

    /* A version sharing one blob: only the other two are queued. */
    o = mp_obj("bk", "movie", &segs[1], 1);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    assert_true(gc_has(m, p[0].blob_id, &nq));
    assert_true(gc_has(m, p[2].blob_id, NULL));
    assert_false(gc_has(m, p[1].blob_id, NULL));
    assert_int_equal(nq, 2);
    assert_usage(f, "bk", 1, 200);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("movie"), f->a, &got), CF_OK);
    assert_int_equal(got.nsegments, 1);
    assert_string_equal(got.segments[0].blob_id, p[1].blob_id);
    gc_clear(m);

    /* Overwritten by a single-blob object: the segment's blob is queued, none reported. */
    o = mp_obj("bk", "movie", segs, 3);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    blob_id_n(b1, 210);
    assert_int_equal(put_full(m, "bk", CF_STR("movie"), b1, "e", NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    for (i = 0; i < 3; i++) {
        assert_true(gc_has(m, p[i].blob_id, &nq));
        assert_false(referenced(m, p[i].blob_id));
    }
    assert_int_equal(nq, 3);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("movie"), f->a, &got), CF_OK);
    assert_int_equal(got.nsegments, 0);
    assert_string_equal(got.blob_id, b1);
    gc_clear(m);

    /* A single blob overwritten by segments is reported as before; deleting a segmented
     * object queues its segments. */
    o = mp_obj("bk", "movie", segs, 3);
    assert_int_equal(m->ops->object_put(m, &o, NULL, rep), CF_OK);
    assert_string_equal(rep, b1);
    gc_clear(m);
    memset(rep, 'x', sizeof(rep));
    assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("movie"), NULL, rep), CF_OK);
    assert_string_equal(rep, "");
    for (i = 0; i < 3; i++)
        assert_true(gc_has(m, p[i].blob_id, &nq));
    assert_int_equal(nq, 3);
    assert_usage(f, "bk", 0, 0);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("movie"), f->a, &got),
                     CF_ENOTFOUND);
    /* No segment rows are left behind under the key. */
    assert_int_equal(put(m, "bk", "movie"), CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("movie"), f->a, &got), CF_OK);
    assert_int_equal(got.nsegments, 0);
    assert_true(cf_str_eq_c(got.inline_body, "hello"));
}

static void test_multipart_parts(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_header h[2] = {{CF_STR("content-type"), CF_STR("text/plain")},
                      {CF_STR("x-amz-checksum-algorithm"), CF_STR("CRC32")}};
    cf_upload_info u = upload_info("bk", "big", "UP1", 1000), got;
    cf_part_info *parts, p;
    char old[CF_BLOB_ID_LEN + 1];
    bool truncated;
    size_t n, nq;
    uint32_t i;

    u.headers = h;
    u.nheaders = 2;
    assert_int_equal(m->ops->upload_create(m, &u), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->upload_create(m, &u), CF_OK);
    assert_int_equal(m->ops->upload_create(m, &u), CF_EEXIST);
    u.upload_id = CF_STR_NULL;
    assert_int_equal(m->ops->upload_create(m, &u), CF_EINVAL);
    /* The same id under another key is another upload. */
    assert_int_equal(new_upload(m, "bk", "other", "UP1", 1001), CF_OK);

    assert_int_equal(m->ops->upload_get(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), f->a, &got),
                     CF_OK);
    assert_true(cf_str_eq_c(got.bucket, "bk"));
    assert_true(cf_str_eq_c(got.key, "big"));
    assert_true(cf_str_eq_c(got.upload_id, "UP1"));
    assert_true(cf_str_eq_c(got.initiator, "AKIAME"));
    assert_int_equal(got.initiated_ms, 1000);
    assert_int_equal(got.nheaders, 2);
    assert_true(cf_str_eq_c(got.headers[1].value, "CRC32"));
    assert_int_equal(m->ops->upload_get(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP2"), f->a, &got),
                     CF_ENOTFOUND);
    assert_int_equal(
        m->ops->upload_get(m, CF_STR("bk"), CF_STR("bigger"), CF_STR("UP1"), f->a, &got),
        CF_ENOTFOUND);

    /* Parts: numbers 1..10000 only; the upload must exist. */
    assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(0, 300, 1)), CF_EINVAL);
    assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(10001, 300, 1)), CF_EINVAL);
    p = part_n(1, 300, 1);
    p.blob_id[0] = '\0';
    assert_int_equal(put_part(m, "bk", "big", "UP1", p), CF_EINVAL);
    assert_int_equal(put_part(m, "bk", "big", "NOPE", part_n(1, 300, 1)), CF_ENOTFOUND);
    assert_int_equal(put_part(m, "bk", "bog", "UP1", part_n(1, 300, 1)), CF_ENOTFOUND);
    for (i = 1; i <= 12; i++)
        assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(i, 300 + i, 1000 + i)), CF_OK);
    assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(10000, 399, 5)), CF_OK);
    assert_int_equal(put_part(m, "bk", "other", "UP1", part_n(1, 400, 5)), CF_OK);
    blob_id_n(old, 301);
    assert_true(referenced(m, old));
    /* Parts do not count as bucket usage. */
    assert_usage(f, "bk", 0, 0);
    assert_false(gc_has(m, old, &nq));
    assert_int_equal(nq, 0);

    /* Replacing a part queues the old blob; the same blob again is no replacement. */
    assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(1, 350, 9)), CF_OK);
    assert_true(gc_has(m, old, &nq));
    assert_int_equal(nq, 1);
    assert_false(referenced(m, old));
    assert_int_equal(put_part(m, "bk", "big", "UP1", part_n(1, 350, 9)), CF_OK);
    assert_int_equal(gc_has(m, old, &nq), true);
    assert_int_equal(nq, 1);
    gc_clear(m);

    /* Listing by pages. */
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), 0, 1000, f->a,
                                       &parts, &n, &truncated),
                     CF_OK);
    assert_int_equal(n, 13);
    assert_false(truncated);
    assert_int_equal(parts[0].number, 1);
    assert_int_equal(parts[0].size, 9);
    blob_id_n(old, 350);
    assert_string_equal(parts[0].blob_id, old);
    assert_true(cf_str_eq_c(parts[0].checksum, "AAAAAA=="));
    assert_int_equal(parts[0].mtime_ms, 77);
    assert_int_equal(parts[12].number, 10000);
    for (i = 1; i < 13; i++)
        assert_true(parts[i - 1].number < parts[i].number);
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), 3, 4, f->a,
                                       &parts, &n, &truncated),
                     CF_OK);
    assert_int_equal(n, 4);
    assert_true(truncated);
    assert_int_equal(parts[0].number, 4);
    assert_int_equal(parts[3].number, 7);
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), 7, 6, f->a,
                                       &parts, &n, &truncated),
                     CF_OK);
    assert_int_equal(n, 6);
    assert_false(truncated); /* exactly the rest */
    assert_int_equal(parts[5].number, 10000);
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), 10000, 6,
                                       f->a, &parts, &n, &truncated),
                     CF_OK);
    assert_int_equal(n, 0);
    assert_false(truncated);
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1"), 0, 0, f->a,
                                       &parts, &n, &truncated),
                     CF_OK);
    assert_int_equal(n, 0);
    assert_true(truncated);
    assert_int_equal(m->ops->part_list(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP9"), 0, 10, f->a,
                                       &parts, &n, &truncated),
                     CF_ENOTFOUND);
    assert_int_equal(n, 0);

    /* Uploads keep the bucket from being deleted. */
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("bk")), CF_ENOTEMPTY);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("big"), CF_STR("UP1")), CF_OK);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("bk")), CF_ENOTEMPTY);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("other"), CF_STR("UP1")), CF_OK);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("bk")), CF_OK);
}

static void test_multipart_abort(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    char id[CF_BLOB_ID_LEN + 1];
    size_t nq;
    unsigned i;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(new_upload(m, "bk", "k", "U", 1), CF_OK);
    assert_int_equal(new_upload(m, "bk", "k", "V", 2), CF_OK);
    for (i = 1; i <= 5; i++) {
        assert_int_equal(put_part(m, "bk", "k", "U", part_n(i, 500 + i, 10)), CF_OK);
        assert_int_equal(put_part(m, "bk", "k", "V", part_n(i, 600 + i, 10)), CF_OK);
    }
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("k"), CF_STR("U")), CF_OK);
    for (i = 1; i <= 5; i++) {
        blob_id_n(id, 500 + i);
        assert_true(gc_has(m, id, &nq));
        assert_false(referenced(m, id));
        blob_id_n(id, 600 + i);
        assert_false(gc_has(m, id, NULL));
        assert_true(referenced(m, id));
    }
    assert_int_equal(nq, 5);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("k"), CF_STR("U")), CF_ENOTFOUND);
    assert_int_equal(put_part(m, "bk", "k", "U", part_n(1, 700, 1)), CF_ENOTFOUND);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("k2"), CF_STR("V")),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("nob"), CF_STR("k"), CF_STR("V")),
                     CF_ENOTFOUND);
}

static void test_multipart_complete(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_part_info p[5];
    cf_segment segs[3], wrong[3];
    cf_header h[1] = {{CF_STR("x-amz-meta-a"), CF_STR("1")}};
    cf_put_cond none = {.if_none_match_any = true};
    cf_put_cond match_old = {.if_match_etag = CF_STR("e")};
    cf_object_info o, got;
    cf_upload_info u;
    char b1[CF_BLOB_ID_LEN + 1];
    size_t i, nq;

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(new_upload(m, "bk", "k", "U1", 1), CF_OK);
    for (i = 0; i < 5; i++) {
        p[i] = part_n((uint32_t)i + 1, 800 + (unsigned)i, 1000 + i);
        assert_int_equal(put_part(m, "bk", "k", "U1", p[i]), CF_OK);
    }
    /* Parts 1, 2 and 4 make the object; 3 and 5 are left out. */
    seg_of(&segs[0], &p[0]);
    seg_of(&segs[1], &p[1]);
    seg_of(&segs[2], &p[3]);
    blob_id_n(b1, 899);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e", NULL, NULL), CF_OK);
    assert_usage(f, "bk", 1, 5);

    /* Segments that are not the upload's parts (as they are now) are refused. */
    memcpy(wrong, segs, sizeof(segs));
    wrong[1].size++;
    o = mp_obj("bk", "k", wrong, 3);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_EINVAL);
    memcpy(wrong, segs, sizeof(segs));
    blob_id_n(wrong[2].blob_id, 898);
    o = mp_obj("bk", "k", wrong, 3);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_EINVAL);
    o = mp_obj("bk", "k", segs, 0);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_EINVAL);
    /* Another upload's part is not this one's. */
    assert_int_equal(new_upload(m, "bk", "k", "U2", 2), CF_OK);
    assert_int_equal(put_part(m, "bk", "k", "U2", part_n(1, 890, 5)), CF_OK);
    memcpy(wrong, segs, sizeof(segs));
    blob_id_n(wrong[0].blob_id, 890);
    wrong[0].size = 5;
    o = mp_obj("bk", "k", wrong, 3);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_EINVAL);

    /* Conditions and quota fail without touching the upload or the object. */
    o = mp_obj("bk", "k", segs, 3);
    o.headers = h;
    o.nheaders = 1;
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), &none), CF_ECONFLICT);
    o.key = CF_STR("elsewhere");
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_ENOTFOUND);
    o.key = CF_STR("k");
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U9"), NULL), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 3000, 0), CF_OK);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), &match_old), CF_ETOOBIG);
    assert_int_equal(m->ops->bucket_set_quota(m, CF_STR("bk"), 0, 0), CF_OK);
    assert_int_equal(m->ops->upload_get(m, CF_STR("bk"), CF_STR("k"), CF_STR("U1"), f->a, &u),
                     CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_string_equal(got.blob_id, b1);
    assert_false(gc_has(m, b1, &nq));
    assert_int_equal(nq, 0);

    /* The compare-and-swap succeeds. */
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), &match_old), CF_OK);
    assert_usage(f, "bk", 1, 1000 + 1001 + 1003);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_int_equal(got.size, 3004);
    assert_int_equal(got.mtime_ms, 4242);
    assert_string_equal(got.blob_id, "");
    assert_int_equal(got.nheaders, 1);
    assert_int_equal(got.nsegments, 3);
    assert_string_equal(got.segments[0].blob_id, p[0].blob_id);
    assert_string_equal(got.segments[1].blob_id, p[1].blob_id);
    assert_string_equal(got.segments[2].blob_id, p[3].blob_id);
    assert_int_equal(got.segments[2].size, 1003);
    /* The replaced object's blob and the unused parts' are queued; the used ones are not. */
    assert_true(gc_has(m, b1, &nq));
    assert_true(gc_has(m, p[2].blob_id, NULL));
    assert_true(gc_has(m, p[4].blob_id, NULL));
    assert_int_equal(nq, 3);
    assert_true(referenced(m, p[0].blob_id));
    assert_true(referenced(m, p[3].blob_id));
    assert_false(referenced(m, p[2].blob_id));
    /* The upload is gone; the other one is untouched. */
    assert_int_equal(m->ops->upload_get(m, CF_STR("bk"), CF_STR("k"), CF_STR("U1"), f->a, &u),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U1"), NULL), CF_ENOTFOUND);
    assert_int_equal(put_part(m, "bk", "k", "U1", part_n(1, 897, 5)), CF_ENOTFOUND);
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("k"), CF_STR("U1")),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->upload_get(m, CF_STR("bk"), CF_STR("k"), CF_STR("U2"), f->a, &u),
                     CF_OK);
    gc_clear(m);

    /* Completing U2 over the multipart object queues its segments, and If-None-Match on a
     * free key succeeds. */
    seg_of(&wrong[0], &(cf_part_info){.size = 5});
    blob_id_n(wrong[0].blob_id, 890);
    o = mp_obj("bk", "k", wrong, 1);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U2"), NULL), CF_OK);
    assert_true(gc_has(m, p[0].blob_id, &nq));
    assert_true(gc_has(m, p[1].blob_id, NULL));
    assert_true(gc_has(m, p[3].blob_id, NULL));
    assert_int_equal(nq, 3);
    assert_usage(f, "bk", 1, 5);
    assert_int_equal(new_upload(m, "bk", "fresh", "U3", 3), CF_OK);
    assert_int_equal(put_part(m, "bk", "fresh", "U3", part_n(1, 880, 8)), CF_OK);
    blob_id_n(wrong[0].blob_id, 880);
    wrong[0].size = 8;
    o = mp_obj("bk", "fresh", wrong, 1);
    assert_int_equal(m->ops->upload_complete(m, &o, CF_STR("U3"), &none), CF_OK);
    assert_usage(f, "bk", 2, 13);
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("bk")), CF_ENOTEMPTY);
}

/* Complete and abort of one upload at once: exactly one wins, and the state is that one's. */
typedef struct race {
    cf_meta *m;
    pthread_barrier_t *bar;
    bool complete;
    cf_object_info *obj;
    cf_rc rc;
} race;

static void *race_worker(void *p)
{
    race *r = p;
    pthread_barrier_wait(r->bar);
    if (r->complete)
        r->rc = r->m->ops->upload_complete(r->m, r->obj, CF_STR("R"), NULL);
    else
        r->rc = r->m->ops->upload_abort(r->m, CF_STR("bk"), CF_STR("k"), CF_STR("R"));
    return NULL;
}

static void test_complete_races_abort(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    pthread_barrier_t bar;
    int round, wins[2] = {0, 0};

    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(pthread_barrier_init(&bar, NULL, 2), 0);
    for (round = 0; round < 40; round++) {
        cf_part_info p[2] = {part_n(1, 1000 + 2 * (unsigned)round, 10),
                             part_n(2, 1001 + 2 * (unsigned)round, 20)};
        cf_segment segs[2];
        cf_object_info o, got;
        race r[2];
        pthread_t th[2];
        int i;

        assert_int_equal(new_upload(m, "bk", "k", "R", round), CF_OK);
        for (i = 0; i < 2; i++) {
            assert_int_equal(put_part(m, "bk", "k", "R", p[i]), CF_OK);
            seg_of(&segs[i], &p[i]);
        }
        o = mp_obj("bk", "k", segs, 2);
        for (i = 0; i < 2; i++) {
            r[i] = (race){m, &bar, i == (round & 1), &o, CF_EIO};
            assert_int_equal(pthread_create(&th[i], NULL, race_worker, &r[i]), 0);
        }
        for (i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        /* r[i].complete is true for i == round & 1. */
        {
            race *c = &r[round & 1], *a = &r[!(round & 1)];
            bool completed = c->rc == CF_OK;
            assert_true(completed != (a->rc == CF_OK));
            assert_int_equal(completed ? a->rc : c->rc, CF_ENOTFOUND);
            wins[completed]++;
            for (i = 0; i < 2; i++) {
                assert_int_equal(referenced(m, p[i].blob_id), completed);
                assert_int_equal(gc_has(m, p[i].blob_id, NULL), !completed);
            }
            if (completed) {
                assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got),
                                 CF_OK);
                assert_int_equal(got.nsegments, 2);
                assert_string_equal(got.segments[1].blob_id, p[1].blob_id);
                assert_int_equal(m->ops->object_delete(m, CF_STR("bk"), CF_STR("k"), NULL, NULL),
                                 CF_OK);
            } else {
                assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got),
                                 CF_ENOTFOUND);
            }
        }
        gc_clear(m);
        assert_usage(f, "bk", 0, 0);
    }
    pthread_barrier_destroy(&bar);
    /* Which one wins is the scheduler's call: both orders are only logged. */
    print_message("complete won %d rounds, abort %d\n", wins[1], wins[0]);
}

/* Renders uploads as "key:id,[cp],...|T|next key|next id". */
static const char *uploads_s(fixture *f, const char *bk, const char *prefix, const char *delim,
                             const char *km, const char *um, uint32_t max)
{
    cf_upload_list_params p = {cf_str_c(prefix), cf_str_c(delim), cf_str_c(km), cf_str_c(um), max};
    cf_upload_list_result r;
    cf_buf b;
    size_t i = 0, j = 0;
    char *s;

    assert_int_equal(f->m->ops->upload_list(f->m, cf_str_c(bk), &p, f->a, &r), CF_OK);
    cf_buf_init(&b, 0);
    while (i < r.nuploads || j < r.nprefixes) {
        bool up =
            j >= r.nprefixes || (i < r.nuploads && cf_str_cmp(r.uploads[i].key, r.prefixes[j]) < 0);
        if (b.len)
            cf_buf_append_ch(&b, ',');
        if (up) {
            assert_true(cf_str_eq_c(r.uploads[i].bucket, bk));
            cf_buf_printf(&b, "%.*s:%.*s", CF_STR_FMT(r.uploads[i].key),
                          CF_STR_FMT(r.uploads[i].upload_id));
            i++;
        } else {
            cf_buf_printf(&b, "[%.*s]", CF_STR_FMT(r.prefixes[j]));
            j++;
        }
    }
    cf_buf_printf(&b, "|%s|%.*s|%.*s", r.truncated ? "T" : "F", CF_STR_FMT(r.next_key_marker),
                  CF_STR_FMT(r.next_upload_id_marker));
    s = cf_arena_strndup(f->a, b.p, b.len);
    cf_buf_free(&b);
    return s;
}

/* Pages through with both markers as a client does; the items joined must equal one page. */
static void upload_pages(fixture *f, const char *prefix, const char *delim, uint32_t max)
{
    cf_upload_list_params p = {cf_str_c(prefix), cf_str_c(delim), CF_STR_NULL, CF_STR_NULL, 1000};
    cf_upload_list_result all, r;
    size_t seen_u = 0, seen_p = 0, pages = 0, i;

    assert_int_equal(f->m->ops->upload_list(f->m, CF_STR("bk"), &p, f->a, &all), CF_OK);
    assert_false(all.truncated);
    p.max_uploads = max;
    for (;;) {
        assert_int_equal(f->m->ops->upload_list(f->m, CF_STR("bk"), &p, f->a, &r), CF_OK);
        assert_true(r.nuploads + r.nprefixes <= max);
        for (i = 0; i < r.nuploads; i++, seen_u++) {
            assert_true(seen_u < all.nuploads);
            assert_true(cf_str_eq(r.uploads[i].key, all.uploads[seen_u].key));
            assert_true(cf_str_eq(r.uploads[i].upload_id, all.uploads[seen_u].upload_id));
        }
        for (i = 0; i < r.nprefixes; i++, seen_p++) {
            assert_true(seen_p < all.nprefixes);
            assert_true(cf_str_eq(r.prefixes[i], all.prefixes[seen_p]));
        }
        pages++;
        if (!r.truncated)
            break;
        assert_true(r.nuploads + r.nprefixes == max);
        p.key_marker = r.next_key_marker;
        p.upload_id_marker = r.next_upload_id_marker;
    }
    assert_int_equal(seen_u, all.nuploads);
    assert_int_equal(seen_p, all.nprefixes);
    assert_true(pages >= (all.nuploads + all.nprefixes + max - 1) / max);
}

static void test_upload_list(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_upload_list_params p = {CF_STR_NULL, CF_STR_NULL, CF_STR_NULL, CF_STR_NULL, 10};
    cf_upload_list_result r;
    uint32_t max;

    assert_int_equal(m->ops->upload_list(m, CF_STR("bk"), &p, f->a, &r), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_string_equal(uploads_s(f, "bk", "", "", "", "", 10), "|F||");
    b = bucket("bk2");
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(new_upload(m, "bk2", "a", "zz", 1), CF_OK);

    /* Within a key: by initiation time, then id. */
    assert_int_equal(new_upload(m, "bk", "a", "u1", 30), CF_OK);
    assert_int_equal(new_upload(m, "bk", "a", "u2", 10), CF_OK);
    assert_int_equal(new_upload(m, "bk", "a", "u0", 30), CF_OK);
    assert_int_equal(new_upload(m, "bk", "a/1", "x1", 5), CF_OK);
    assert_int_equal(new_upload(m, "bk", "a/2", "x2", 5), CF_OK);
    assert_int_equal(new_upload(m, "bk", "b", "y1", 5), CF_OK);
    assert_int_equal(new_upload(m, "bk", "b/c/d", "z1", 5), CF_OK);
    assert_int_equal(new_upload(m, "bk", "b/c/d", "z2", 6), CF_OK);
    assert_int_equal(new_upload(m, "bk", "c", "w1", 5), CF_OK);

    assert_string_equal(uploads_s(f, "bk", "", "", "", "", 100),
                        "a:u2,a:u0,a:u1,a/1:x1,a/2:x2,b:y1,b/c/d:z1,b/c/d:z2,c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "/", "", "", 100), "a:u2,a:u0,a:u1,[a/],b:y1,"
                                                                  "[b/],c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "a/", "", "", "", 100), "a/1:x1,a/2:x2|F||");
    assert_string_equal(uploads_s(f, "bk", "b", "/", "", "", 100), "b:y1,[b/]|F||");
    assert_string_equal(uploads_s(f, "bk", "b/", "/", "", "", 100), "[b/c/]|F||");
    assert_string_equal(uploads_s(f, "bk", "zz", "", "", "", 100), "|F||");
    assert_string_equal(uploads_s(f, "bk", "", "", "", "", 0), "|F||");

    /* Truncation: the next markers name the last upload, or the last common prefix. */
    assert_string_equal(uploads_s(f, "bk", "", "", "", "", 2), "a:u2,a:u0|T|a|u0");
    assert_string_equal(uploads_s(f, "bk", "", "/", "", "", 4), "a:u2,a:u0,a:u1,[a/]|T|a/|");
    assert_string_equal(uploads_s(f, "bk", "", "/", "", "", 7), "a:u2,a:u0,a:u1,[a/],b:y1,"
                                                                "[b/],c:w1|F||");

    /* The key marker alone is exclusive: all its uploads were listed. */
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "", 100),
                        "a/1:x1,a/2:x2,b:y1,b/c/d:z1,b/c/d:z2,c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "/", "a/", "", 100), "b:y1,[b/],c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "/", "a/1", "", 100), "b:y1,[b/],c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "", "b/c/d", "", 100), "c:w1|F||");
    /* With an upload id marker: that key's later uploads first. */
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "u2", 3), "a:u0,a:u1,a/1:x1|T|a/1|x1");
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "u0", 100),
                        "a:u1,a/1:x1,a/2:x2,b:y1,b/c/d:z1,b/c/d:z2,c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "u1", 1), "a/1:x1|T|a/1|x1");
    assert_string_equal(uploads_s(f, "bk", "", "", "b/c/d", "z1", 100), "b/c/d:z2,c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "a", "", "a", "u2", 100), "a:u0,a:u1,a/1:x1,a/2:x2|F||");
    /* The marker upload is gone: that key's uploads with greater ids, as S3 says. */
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "u05", 100),
                        "a:u2,a:u1,a/1:x1,a/2:x2,b:y1,b/c/d:z1,b/c/d:z2,c:w1|F||");
    assert_string_equal(uploads_s(f, "bk", "", "", "a", "t", 2), "a:u2,a:u0|T|a|u0");
    /* An upload id marker without a key marker is ignored. */
    assert_string_equal(uploads_s(f, "bk", "", "", "", "u1", 2), "a:u2,a:u0|T|a|u0");

    /* Every page size, with and without prefix and delimiter. */
    for (max = 1; max <= 10; max++) {
        upload_pages(f, "", "", max);
        upload_pages(f, "", "/", max);
        upload_pages(f, "a", "/", max);
        upload_pages(f, "b/", "/", max);
        upload_pages(f, "", "c", max);
    }

    /* Completing and aborting take uploads off the list. */
    assert_int_equal(m->ops->upload_abort(m, CF_STR("bk"), CF_STR("a"), CF_STR("u0")), CF_OK);
    assert_string_equal(uploads_s(f, "bk", "", "", "", "", 3), "a:u2,a:u1,a/1:x1|T|a/1|x1");
}

/* ---- bucket documents and header rewrites ---- */

static void test_bucket_docs(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_str doc;

    assert_int_equal(m->ops->bucket_doc_put(m, CF_STR("bk"), "cors", CF_STR("<x/>")), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_doc_delete(m, CF_STR("bk"), "cors"), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "cors", f->a, &doc), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "cors", f->a, &doc), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_doc_delete(m, CF_STR("bk"), "cors"), CF_OK);
    assert_int_equal(
        m->ops->bucket_doc_put(m, CF_STR("bk"), "cors", CF_STR("<CORSConfiguration/>")), CF_OK);
    assert_int_equal(m->ops->bucket_doc_put(m, CF_STR("bk"), "lifecycle", (cf_str){"a\0b", 3}),
                     CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "cors", f->a, &doc), CF_OK);
    assert_true(cf_str_eq_c(doc, "<CORSConfiguration/>"));
    assert_int_equal(doc.p[doc.len], '\0');
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "lifecycle", f->a, &doc), CF_OK);
    assert_true(cf_str_eq(doc, ((cf_str){"a\0b", 3})));
    assert_int_equal(m->ops->bucket_doc_put(m, CF_STR("bk"), "cors", CF_STR("<v2/>")), CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "cors", f->a, &doc), CF_OK);
    assert_true(cf_str_eq_c(doc, "<v2/>"));
    assert_int_equal(m->ops->bucket_doc_put(m, CF_STR("bk"), "tagging", CF_STR("")), CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "tagging", f->a, &doc), CF_OK);
    assert_int_equal(doc.len, 0);
    assert_int_equal(m->ops->bucket_doc_delete(m, CF_STR("bk"), "cors"), CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "cors", f->a, &doc), CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "lifecycle", f->a, &doc), CF_OK);

    /* Documents go with their bucket; documents do not keep a bucket. */
    assert_int_equal(m->ops->bucket_delete(m, CF_STR("bk")), CF_OK);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "lifecycle", f->a, &doc),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_doc_get(m, CF_STR("bk"), "tagging", f->a, &doc), CF_ENOTFOUND);
}

static void test_set_headers(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_bucket_info b = bucket("bk");
    cf_header h1[2] = {{CF_STR("content-type"), CF_STR("text/plain")},
                       {CF_STR("x-amz-meta-tags"), CF_STR("a=1")}};
    cf_part_info p[2] = {part_n(1, 1201, 3), part_n(2, 1202, 4)};
    cf_segment segs[2];
    cf_object_info o, got;
    char b1[CF_BLOB_ID_LEN + 1];
    size_t nq;

    assert_int_equal(m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("k"), CF_STR("e"), h1, 2),
                     CF_ENOTFOUND);
    assert_int_equal(m->ops->bucket_create(m, &b, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("k"), CF_STR("e"), h1, 2),
                     CF_ENOTFOUND);
    blob_id_n(b1, 1200);
    assert_int_equal(put_full(m, "bk", CF_STR("k"), b1, "e1", NULL, NULL), CF_OK);
    assert_int_equal(m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("k"), CF_STR("e0"), h1, 2),
                     CF_ECONFLICT);
    assert_int_equal(m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("k"), CF_STR("e1"), h1, 2),
                     CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_int_equal(got.nheaders, 2);
    assert_true(cf_str_eq_c(got.headers[1].value, "a=1"));
    assert_string_equal(got.blob_id, b1);
    assert_int_equal(got.size, 5);
    assert_int_equal(got.mtime_ms, 1000);
    assert_true(cf_str_eq_c(got.etag, "e1"));
    assert_false(gc_has(m, b1, &nq));
    assert_int_equal(nq, 0);
    assert_usage(f, "bk", 1, 5);
    /* No headers at all. */
    assert_int_equal(
        m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("k"), CF_STR("e1"), NULL, 0), CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("k"), f->a, &got), CF_OK);
    assert_int_equal(got.nheaders, 0);

    /* A multipart object keeps its segments. */
    seg_of(&segs[0], &p[0]);
    seg_of(&segs[1], &p[1]);
    o = mp_obj("bk", "mp", segs, 2);
    assert_int_equal(m->ops->object_put(m, &o, NULL, NULL), CF_OK);
    assert_int_equal(m->ops->object_set_headers(m, CF_STR("bk"), CF_STR("mp"), o.etag, h1, 1),
                     CF_OK);
    assert_int_equal(m->ops->object_get(m, CF_STR("bk"), CF_STR("mp"), f->a, &got), CF_OK);
    assert_int_equal(got.nheaders, 1);
    assert_int_equal(got.nsegments, 2);
    assert_int_equal(got.size, 7);
    assert_string_equal(got.segments[1].blob_id, p[1].blob_id);
    assert_true(referenced(m, p[0].blob_id));
}

/* ---- audit ---- */

static void audit_add(cf_meta *m, int64_t t, const char *actor, const char *action,
                      const char *target, const char *outcome)
{
    cf_audit_row r;
    memset(&r, 0, sizeof(r));
    r.time_ms = t;
    r.actor = cf_str_c(actor);
    r.action = cf_str_c(action);
    r.target = cf_str_c(target);
    r.source_ip = CF_STR("127.0.0.1");
    r.outcome = cf_str_c(outcome);
    if (t == 1000)
        r.detail = CF_STR("{\"name\":\"a\"}");
    assert_int_equal(m->ops->audit_append(m, &r), CF_OK);
}

/* The seqs a filter returns, as "1,2,3". */
static const char *audit_seqs(fixture *f, const char *cred, int64_t since, int64_t until,
                              int64_t after, uint32_t limit)
{
    cf_audit_filter flt = {cf_str_c(cred), since, until, after, limit};
    cf_audit_row *rows;
    size_t n, i;
    cf_buf b;
    char *s;
    assert_int_equal(f->m->ops->audit_query(f->m, &flt, f->a, &rows, &n), CF_OK);
    cf_buf_init(&b, 0);
    for (i = 0; i < n; i++) {
        if (i)
            assert_true(rows[i].seq > rows[i - 1].seq);
        cf_buf_printf(&b, "%s%lld", i ? "," : "", (long long)rows[i].seq);
    }
    s = cf_arena_strndup(f->a, b.p ? b.p : "", b.len);
    cf_buf_free(&b);
    return s;
}

static void test_audit(void **state)
{
    fixture *f = *state;
    cf_meta *m = f->m;
    cf_audit_filter all = {0};
    cf_audit_row *rows;
    size_t n;
    int64_t before, after;
    unsigned i;

    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 0);

    audit_add(m, 1000, "R", "admin:CreateCredential", "A", "ok");  /* 1 */
    audit_add(m, 2000, "A", "admin:CreateCredential", "A1", "ok"); /* 2 */
    audit_add(m, 3000, "A1", "s3:GetObject", "bk/key", "denied");  /* 3 */
    audit_add(m, 4000, "", "s3:PutObject", "bk", "denied");        /* 4 */
    audit_add(m, 5000, "A", "admin:RotateCredential", "A", "ok");  /* 5 */
    audit_add(m, 2500, "R", "admin:UpdateCredential", "A1", "ok"); /* 6: time out of order */
    before = cf_now_ms();
    audit_add(m, 0, "A1", "admin:DeleteCredential", "A1", "ok"); /* 7: now */
    after = cf_now_ms();

    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 7);
    assert_int_equal(rows[0].seq, 1);
    assert_int_equal(rows[0].time_ms, 1000);
    assert_true(cf_str_eq_c(rows[0].actor, "R"));
    assert_true(cf_str_eq_c(rows[0].action, "admin:CreateCredential"));
    assert_true(cf_str_eq_c(rows[0].target, "A"));
    assert_true(cf_str_eq_c(rows[0].source_ip, "127.0.0.1"));
    assert_true(cf_str_eq_c(rows[0].outcome, "ok"));
    assert_true(cf_str_eq_c(rows[0].detail, "{\"name\":\"a\"}"));
    assert_int_equal(rows[3].actor.len, 0);
    assert_non_null(rows[3].actor.p);
    assert_int_equal(rows[3].detail.len, 0);
    assert_true(rows[6].time_ms >= before && rows[6].time_ms <= after);

    /* By credential: actor or target, each row once. */
    assert_string_equal(audit_seqs(f, "A", 0, 0, 0, 100), "1,2,5");
    assert_string_equal(audit_seqs(f, "A1", 0, 0, 0, 100), "2,3,6,7");
    assert_string_equal(audit_seqs(f, "R", 0, 0, 0, 100), "1,6");
    assert_string_equal(audit_seqs(f, "bk", 0, 0, 0, 100), "4");
    assert_string_equal(audit_seqs(f, "NOPE", 0, 0, 0, 100), "");
    /* By time: since inclusive, until exclusive, in seq order whatever the times. */
    assert_string_equal(audit_seqs(f, "", 2000, 0, 0, 100), "2,3,4,5,6,7");
    assert_string_equal(audit_seqs(f, "", 0, 3000, 0, 100), "1,2,6");
    assert_string_equal(audit_seqs(f, "", 2000, 4000, 0, 100), "2,3,6");
    assert_string_equal(audit_seqs(f, "", 4001, 4002, 0, 100), "");
    assert_string_equal(audit_seqs(f, "", -5, 1001, 0, 100), "1");
    /* Both. */
    assert_string_equal(audit_seqs(f, "A1", 2500, 0, 0, 100), "3,6,7");
    assert_string_equal(audit_seqs(f, "A1", 2000, 3000, 0, 100), "2,6");
    assert_string_equal(audit_seqs(f, "A", 1001, 5000, 0, 100), "2");

    /* Pagination by after_seq. */
    assert_string_equal(audit_seqs(f, "", 0, 0, 0, 3), "1,2,3");
    assert_string_equal(audit_seqs(f, "", 0, 0, 3, 3), "4,5,6");
    assert_string_equal(audit_seqs(f, "", 0, 0, 6, 3), "7");
    assert_string_equal(audit_seqs(f, "", 0, 0, 7, 3), "");
    assert_string_equal(audit_seqs(f, "A1", 0, 0, 0, 2), "2,3");
    assert_string_equal(audit_seqs(f, "A1", 0, 0, 3, 2), "6,7");
    assert_string_equal(audit_seqs(f, "A1", 0, 0, 7, 2), "");
    assert_string_equal(audit_seqs(f, "A", 0, 0, 1, 1), "2");
    assert_string_equal(audit_seqs(f, "", 2000, 0, 2, 2), "3,4");
    assert_string_equal(audit_seqs(f, "", 2000, 0, 4, 2), "5,6");
    assert_string_equal(audit_seqs(f, "A1", 2000, 0, 2, 2), "3,6");

    /* The limit is capped at 1000; 0 asks for the cap. */
    for (i = 0; i < 1100; i++)
        audit_add(m, 10000 + i, "bulk", "s3:GetObject", "bk/x", "denied");
    all.limit = 5000;
    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 1000);
    assert_int_equal(rows[999].seq, 1000);
    all.limit = 0;
    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 1000);
    all.after_seq = 1000;
    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 107);
    assert_int_equal(rows[106].seq, 1107);
    all = (cf_audit_filter){.credential = CF_STR("bulk"), .limit = 1001};
    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 1000);
    assert_int_equal(rows[0].seq, 8);
    all = (cf_audit_filter){.since_ms = 10000, .limit = 1000, .after_seq = 1000};
    assert_int_equal(m->ops->audit_query(m, &all, f->a, &rows, &n), CF_OK);
    assert_int_equal(n, 107);

    /* Seqs survive a reopen and are not reused. */
    m->ops->close(m);
    f->m = m = cf_meta_sqlite_open(f->path, false);
    assert_non_null(m);
    audit_add(m, 1, "R", "admin:CreateCredential", "Z", "ok");
    assert_string_equal(audit_seqs(f, "Z", 0, 0, 0, 10), "1108");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_successor),
        cmocka_unit_test(test_find_sub),
        cmocka_unit_test(test_headers_codec),
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buckets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_binary_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging_10000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_with_cred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cred_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cred_no_reparent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cred_subtree_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segmented_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_races_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_docs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
    };
    cf_log_set_level(CF_LOG_WARN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
