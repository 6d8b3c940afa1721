/* The embedded metadata backend on SQLite.
 *
 * One database in WAL mode, one connection per thread (opened lazily, kept in a pthread key,
 * closed at thread exit or at close()), statements prepared once per connection. Writers in
 * this process queue on a mutex before BEGIN IMMEDIATE, so they wake as soon as the previous
 * writer commits instead of sleeping in SQLite's busy handler; busy_timeout and a short retry
 * loop still cover other processes holding the lock.
 *
 * Object keys are stored as BLOBs so ORDER BY key is memcmp order, as S3 lists. */
#include "meta/meta_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#define BUSY_TIMEOUT_MS 10000
#define BEGIN_RETRIES   5
#define HEADERS_MAX     ((size_t)16 << 20) /* serialised object headers */
#define SEEK_MAX        ((size_t)1 << 20)  /* list seek keys (prefix, start_after) */

/* Schema migrations, in order: migrations[i] takes user_version i to i + 1. Never edit one
 * that has shipped; append a new one. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE buckets("
    " name TEXT NOT NULL PRIMARY KEY,"
    " owner TEXT NOT NULL,"
    " region TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " objects INTEGER NOT NULL DEFAULT 0," /* usage, updated with every object write */
    " bytes INTEGER NOT NULL DEFAULT 0,"
    " quota_bytes INTEGER NOT NULL DEFAULT 0," /* 0: none */
    " quota_objects INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE TABLE objects("
    " bucket TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " mtime_ms INTEGER NOT NULL,"
    " blob_id TEXT,"
    " inline_body BLOB,"
    " headers BLOB,"
    " PRIMARY KEY(bucket, key)"
    ") WITHOUT ROWID;"
    /* For blob_referenced (crash recovery); inline objects have no blob id. */
    "CREATE INDEX objects_blob_id ON objects(blob_id) WHERE blob_id IS NOT NULL;"
    "CREATE TABLE gc_queue("
    " blob_id TEXT NOT NULL PRIMARY KEY,"
    " queued_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE credentials("
    " id TEXT NOT NULL PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " parent_id TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " not_before_ms INTEGER NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " allowed_ips TEXT NOT NULL,"
    " last_used_ms INTEGER NOT NULL,"
    " secret_sealed BLOB NOT NULL,"
    " old_secret_sealed BLOB NOT NULL,"
    " old_secret_until_ms INTEGER NOT NULL,"
    " token_hash TEXT NOT NULL,"
    " version INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX credentials_parent ON credentials(parent_id);"
    /* The tree alone, a fraction of the rows' size: subtree listing scans it in id order and
     * walks up it (see list_subtree). */
    "CREATE INDEX credentials_tree ON credentials(id, parent_id);"
    "CREATE INDEX credentials_token ON credentials(token_hash);"
    /* AUTOINCREMENT: a seq is never reused, so audit cursors stay valid. */
    "CREATE TABLE audit("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " source_ip TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " detail TEXT NOT NULL"
    ");"
    /* An index ends with the rowid (seq), so one actor's (target's) rows come in seq order. */
    "CREATE INDEX audit_actor ON audit(actor);"
    "CREATE INDEX audit_target ON audit(target);"
    "CREATE INDEX audit_time ON audit(time_ms);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define CRED_COLS                                                                                  \
    "id, name, parent_id, policy, status, created_ms, not_before_ms, expires_ms, allowed_ips, "    \
    "last_used_ms, secret_sealed, old_secret_sealed, old_secret_until_ms, token_hash, version"

#define BUCKET_COLS "name, owner, region, created_ms, objects, bytes, quota_bytes, quota_objects"

#define AUDIT_COLS "seq, time_ms, actor, action, target, source_ip, outcome, detail"

/* The ids of ?1 and its descendants; each step is a search of credentials_parent. UNION
 * drops ids already seen, so a parent_id cycle cannot make it loop. */
#define SUBTREE_CTE                                                                                \
    "sub(id) AS (SELECT id FROM credentials WHERE id=?1 UNION "                                    \
    "SELECT c.id FROM credentials c JOIN sub ON c.parent_id=sub.id)"
/* At most ?2 ids of the same. UNION ALL skips the cost of UNION's duplicate check: in a
 * forest each id is reached once, and a cycle only repeats ids until the limit. */
#define SUBTREE_WALK                                                                               \
    "sub(id) AS (SELECT id FROM credentials WHERE id=?1 UNION ALL "                                \
    "SELECT c.id FROM credentials c JOIN sub ON c.parent_id=sub.id LIMIT ?2)"

/* Every statement a connection may run, prepared on first use. */
#define STATEMENTS(X)                                                                              \
    X(BEGIN, "BEGIN")                                                                              \
    X(BEGIN_IMM, "BEGIN IMMEDIATE")                                                                \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(BUCKET_INSERT, "INSERT INTO buckets(name, owner, region, created_ms, quota_bytes, "          \
                     "quota_objects) VALUES(?1,?2,?3,?4,?5,?6)")                                   \
    X(BUCKET_GET, "SELECT " BUCKET_COLS " FROM buckets WHERE name=?1")                             \
    X(BUCKET_EXISTS, "SELECT 1 FROM buckets WHERE name=?1")                                        \
    X(BUCKET_USAGE,                                                                                \
      "SELECT objects, bytes, quota_bytes, quota_objects FROM buckets WHERE name=?1")              \
    X(BUCKET_USAGE_SET, "UPDATE buckets SET objects=?2, bytes=?3 WHERE name=?1")                   \
    X(BUCKET_SET_QUOTA, "UPDATE buckets SET quota_bytes=?2, quota_objects=?3 WHERE name=?1")       \
    X(BUCKET_LIST, "SELECT " BUCKET_COLS " FROM buckets ORDER BY name")                            \
    X(BUCKET_DELETE, "DELETE FROM buckets WHERE name=?1")                                          \
    X(BUCKET_HAS_OBJECTS, "SELECT 1 FROM objects WHERE bucket=?1 LIMIT 1")                         \
    X(OBJ_GET, "SELECT size, etag, mtime_ms, blob_id, inline_body, headers FROM objects "          \
               "WHERE bucket=?1 AND key=?2")                                                       \
    X(OBJ_CUR, "SELECT etag, blob_id, size FROM objects WHERE bucket=?1 AND key=?2")               \
    X(OBJ_UPSERT,                                                                                  \
      "INSERT INTO objects(bucket, key, size, etag, mtime_ms, blob_id, inline_body, headers) "     \
      "VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(bucket, key) DO UPDATE SET "                    \
      "size=excluded.size, etag=excluded.etag, mtime_ms=excluded.mtime_ms, "                       \
      "blob_id=excluded.blob_id, inline_body=excluded.inline_body, headers=excluded.headers")      \
    X(OBJ_DELETE, "DELETE FROM objects WHERE bucket=?1 AND key=?2")                                \
    X(OBJ_LIST, "SELECT key, size, etag, mtime_ms, blob_id FROM objects "                          \
                "WHERE bucket=?1 AND key>=?2 ORDER BY key")                                        \
    X(GC_ADD, "INSERT OR IGNORE INTO gc_queue(blob_id, queued_ms) VALUES(?1,?2)")                  \
    X(GC_DEL, "DELETE FROM gc_queue WHERE blob_id=?1")                                             \
    X(GC_LIST, "SELECT blob_id FROM gc_queue")                                                     \
    X(BLOB_REF, "SELECT 1 FROM objects WHERE blob_id=?1 LIMIT 1")                                  \
    X(CRED_INSERT, "INSERT INTO credentials(" CRED_COLS ") "                                       \
                   "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)")                   \
    X(CRED_UPDATE, "UPDATE credentials SET name=?2, parent_id=?3, policy=?4, status=?5, "          \
                   "created_ms=?6, not_before_ms=?7, expires_ms=?8, allowed_ips=?9, "              \
                   "last_used_ms=?10, secret_sealed=?11, old_secret_sealed=?12, "                  \
                   "old_secret_until_ms=?13, token_hash=?14, version=version+1 WHERE id=?1")       \
    X(CRED_GET, "SELECT " CRED_COLS " FROM credentials WHERE id=?1")                               \
    X(CRED_GET_TOKEN, "SELECT " CRED_COLS " FROM credentials WHERE token_hash=?1 LIMIT 1")         \
    X(CRED_COUNT, "SELECT count(*) FROM credentials")                                              \
    X(CRED_EXISTS, "SELECT 1 FROM credentials WHERE id=?1")                                        \
    X(CRED_TOUCH, "UPDATE credentials SET last_used_ms=?2 WHERE id=?1 AND last_used_ms<?2")        \
    /* Walks up from ?2 (a few primary-key searches); UNION stops at a parent_id cycle. */         \
    X(CRED_IN_SUBTREE, "WITH RECURSIVE up(id, parent_id) AS ("                                     \
                       " SELECT id, parent_id FROM credentials WHERE id=?2"                        \
                       " UNION SELECT c.id, c.parent_id FROM credentials c JOIN up"                \
                       " ON c.id=up.parent_id)"                                                    \
                       " SELECT 1 FROM up WHERE id=?1 LIMIT 1")                                    \
    X(CRED_SUBTREE_IDS, "WITH RECURSIVE " SUBTREE_WALK " SELECT id FROM sub")                      \
    X(CRED_SCAN, "SELECT id, parent_id FROM credentials INDEXED BY credentials_tree "              \
                 "WHERE id>?1 ORDER BY id")                                                        \
    X(CRED_PARENT, "SELECT parent_id FROM credentials INDEXED BY credentials_tree WHERE id=?1")    \
    X(CRED_DELETE_SUBTREE, "WITH RECURSIVE " SUBTREE_CTE " DELETE FROM credentials "               \
                           "WHERE id IN (SELECT id FROM sub)")                                     \
    X(AUDIT_INSERT, "INSERT INTO audit(time_ms, actor, action, target, source_ip, outcome, "       \
                    "detail) VALUES(?1,?2,?3,?4,?5,?6,?7)")                                        \
    /* Queries: ?1 after_seq, ?2 since (inclusive), ?3 until (exclusive), ?4 limit, ?5 the         \
     * credential. Each form walks an index in seq order or, for a time window, only the           \
     * window's rows, and never scans the table. */                                                \
    X(AUDIT_ALL, "SELECT " AUDIT_COLS " FROM audit WHERE seq>?1 ORDER BY seq LIMIT ?4")            \
    X(AUDIT_TIME, "SELECT " AUDIT_COLS " FROM audit INDEXED BY audit_time "                        \
                  "WHERE time_ms>=?2 AND time_ms<?3 AND seq>?1 ORDER BY seq LIMIT ?4")             \
    X(AUDIT_CRED,                                                                                  \
      "SELECT * FROM (SELECT " AUDIT_COLS " FROM audit INDEXED BY audit_actor "                    \
      "WHERE actor=?5 AND seq>?1 AND time_ms>=?2 AND time_ms<?3 ORDER BY seq LIMIT ?4)"            \
      " UNION SELECT * FROM (SELECT " AUDIT_COLS " FROM audit INDEXED BY audit_target "            \
      "WHERE target=?5 AND seq>?1 AND time_ms>=?2 AND time_ms<?3 ORDER BY seq LIMIT ?4)"           \
      " ORDER BY 1 LIMIT ?4")

enum {
#define ST_ENUM(name, sql) ST_##name,
    STATEMENTS(ST_ENUM)
#undef ST_ENUM
        ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
#define ST_SQL(name, sql) sql,
    STATEMENTS(ST_SQL)
#undef ST_SQL
};

typedef struct msq msq;

typedef struct conn {
    msq *m;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    struct conn *prev, *next;
} conn;

struct msq {
    cf_meta base;
    char *path;
    bool fsync;
    pthread_key_t key;     /* this thread's conn */
    pthread_mutex_t lock;  /* guards conns */
    pthread_mutex_t wlock; /* serialises this process's write transactions */
    conn *conns;
};

/* ---- connections ---- */

static cf_rc sql_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return CF_OK;
    case SQLITE_NOMEM:
        return CF_ENOMEM;
    case SQLITE_FULL:
        return CF_ENOSPC;
    case SQLITE_TOOBIG:
        return CF_ETOOBIG;
    case SQLITE_CONSTRAINT:
        return CF_EEXIST;
    default:
        return CF_EIO;
    }
}

/* Logs the connection's last error and maps rc. */
static cf_rc sql_fail(conn *c, int rc, const char *what)
{
    cf_error("meta: %s: %s (%d)", what, sqlite3_errmsg(c->db), rc);
    return sql_rc(rc);
}

static void conn_free(conn *c)
{
    int i;
    if (!c)
        return;
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static cf_rc exec_sql(conn *c, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        cf_error("meta: %s: %s", sql, err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
        return sql_rc(rc);
    }
    return CF_OK;
}

static conn *conn_open(msq *m)
{
    conn *c = NULL, *ret = NULL;
    int rc;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

    c = calloc(1, sizeof(*c));
    if (!c)
        goto out;
    c->m = m;
    rc = sqlite3_open_v2(m->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        cf_error("meta: open %s: %s", m->path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (exec_sql(c, m->fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF") != CF_OK)
        goto out;
    ret = c;
    c = NULL;
out:
    conn_free(c);
    return ret;
}

/* Thread exit: the connection goes with its thread. */
static void conn_release(void *p)
{
    conn *c = p;
    msq *m = c->m;
    pthread_mutex_lock(&m->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&m->lock);
    conn_free(c);
}

static conn *get_conn(msq *m)
{
    conn *c = pthread_getspecific(m->key);
    if (c)
        return c;
    c = conn_open(m);
    if (!c)
        return NULL;
    if (pthread_setspecific(m->key, c) != 0) {
        cf_error("meta: pthread_setspecific failed");
        conn_free(c);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    pthread_mutex_unlock(&m->lock);
    return c;
}

/* The cached statement, reset and unbound, or NULL (logged). */
static sqlite3_stmt *stmt(conn *c, int id)
{
    int rc;
    if (!c->st[id]) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                NULL);
        if (rc != SQLITE_OK) {
            sql_fail(c, rc, stmt_sql[id]);
            c->st[id] = NULL;
            return NULL;
        }
    }
    return c->st[id];
}

/* Ends a statement's use: it keeps no read lock and holds no borrowed pointers. */
static void done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Runs a statement that returns no rows. */
static cf_rc run(conn *c, int id)
{
    sqlite3_stmt *st = c->st[id];
    int rc = sqlite3_step(st);
    cf_rc r = CF_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = sql_fail(c, rc, stmt_sql[id]);
    done(st);
    return r;
}

static cf_rc run_simple(conn *c, int id)
{
    if (!stmt(c, id))
        return CF_EIO;
    return run(c, id);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Takes the process write lock and opens a write transaction. On success the caller must
 * call end_write. */
static cf_rc begin_write(msq *m, conn *c)
{
    sqlite3_stmt *st = stmt(c, ST_BEGIN_IMM);
    int rc = SQLITE_ERROR, attempt;
    if (!st)
        return CF_EIO;
    pthread_mutex_lock(&m->wlock);
    for (attempt = 0; attempt <= BEGIN_RETRIES; attempt++) {
        rc = sqlite3_step(st);
        done(st);
        if (rc == SQLITE_DONE)
            return CF_OK;
        /* busy_timeout already waited; another process holds the lock for long. */
        if ((rc & 0xff) != SQLITE_BUSY)
            break;
        sleep_ms(50L << attempt);
    }
    pthread_mutex_unlock(&m->wlock);
    return sql_fail(c, rc, "BEGIN IMMEDIATE");
}

/* Commits when rc is CF_OK, else rolls back; releases the write lock. Returns the result. */
static cf_rc end_write(msq *m, conn *c, cf_rc rc)
{
    if (rc == CF_OK)
        rc = run_simple(c, ST_COMMIT);
    if (rc != CF_OK && !sqlite3_get_autocommit(c->db))
        run_simple(c, ST_ROLLBACK);
    pthread_mutex_unlock(&m->wlock);
    return rc;
}

/* A read transaction gives multi-statement reads one snapshot. */
static cf_rc begin_read(conn *c)
{
    return run_simple(c, ST_BEGIN);
}

static void end_read(conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        run_simple(c, ST_COMMIT);
}

/* ---- binding and reading columns ---- */

static int bind_text(sqlite3_stmt *st, int i, cf_str s)
{
    return sqlite3_bind_text64(st, i, s.len ? s.p : "", s.len, SQLITE_STATIC, SQLITE_UTF8);
}

/* A zero-length blob needs a non-NULL pointer, or SQLite binds NULL. */
static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    return sqlite3_bind_blob64(st, i, n ? p : "", n, SQLITE_STATIC);
}

static int bind_blob_copy(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    return sqlite3_bind_blob64(st, i, n ? p : "", n, SQLITE_TRANSIENT);
}

static cf_str col_raw(sqlite3_stmt *st, int i)
{
    const void *p = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    return cf_str_make(p, p ? n : 0);
}

/* An arena copy of a column (NUL-terminated; NULL columns give ""). */
static bool col_str(sqlite3_stmt *st, int i, cf_arena *a, cf_str *out)
{
    *out = cf_arena_str(a, col_raw(st, i));
    return out->p != NULL;
}

static void col_blob_id(sqlite3_stmt *st, int i, char out[CF_BLOB_ID_LEN + 1])
{
    cf_str s = col_raw(st, i);
    size_t n = s.len < CF_BLOB_ID_LEN ? s.len : CF_BLOB_ID_LEN;
    if (n)
        memcpy(out, s.p, n);
    out[n] = '\0';
}

static size_t blob_id_len(const char *id)
{
    return strnlen(id, CF_BLOB_ID_LEN + 1);
}

/* ---- headers: a sequence of (u32 BE name length, name, u32 BE value length, value) ---- */

static cf_rc put_u32(cf_buf *b, size_t v)
{
    unsigned char x[4];
    if (v > UINT32_MAX)
        return CF_ETOOBIG;
    x[0] = (unsigned char)(v >> 24);
    x[1] = (unsigned char)(v >> 16);
    x[2] = (unsigned char)(v >> 8);
    x[3] = (unsigned char)v;
    return cf_buf_append(b, x, 4);
}

static cf_rc headers_encode(const cf_header *h, size_t n, cf_buf *b)
{
    cf_rc rc = CF_OK;
    size_t i;
    for (i = 0; i < n && rc == CF_OK; i++) {
        rc = put_u32(b, h[i].name.len);
        if (rc == CF_OK)
            rc = cf_buf_append_str(b, h[i].name);
        if (rc == CF_OK)
            rc = put_u32(b, h[i].value.len);
        if (rc == CF_OK)
            rc = cf_buf_append_str(b, h[i].value);
    }
    return rc;
}

/* Reads one length-prefixed field at *off; false if the data is short. */
static bool get_field(cf_str d, size_t *off, cf_str *out)
{
    const unsigned char *u = (const unsigned char *)d.p + *off;
    size_t len;
    if (d.len - *off < 4)
        return false;
    len = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | (size_t)u[3];
    *off += 4;
    if (d.len - *off < len)
        return false;
    *out = cf_str_make(d.p + *off, len);
    *off += len;
    return true;
}

static cf_rc headers_decode(cf_str d, cf_arena *a, cf_header **out, size_t *nout)
{
    size_t off = 0, n = 0, i;
    cf_str name, value;
    cf_header *h;

    *out = NULL;
    *nout = 0;
    /* Count first, so the array is allocated once. */
    while (off < d.len) {
        if (!get_field(d, &off, &name) || !get_field(d, &off, &value))
            return CF_EIO;
        n++;
    }
    if (n == 0)
        return CF_OK;
    h = cf_arena_alloc(a, n * sizeof(*h));
    if (!h)
        return CF_ENOMEM;
    off = 0;
    for (i = 0; i < n; i++) {
        get_field(d, &off, &name);
        get_field(d, &off, &value);
        h[i].name = cf_arena_str(a, name);
        h[i].value = cf_arena_str(a, value);
        if (!h[i].name.p || !h[i].value.p)
            return CF_ENOMEM;
    }
    *out = h;
    *nout = n;
    return CF_OK;
}

/* ---- buckets ---- */

/* SQLite integers are signed: larger counts and quotas are stored as INT64_MAX, which no
 * real usage reaches. */
static sqlite3_int64 u64_to_db(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v < 0 ? 0 : (uint64_t)v;
}

static cf_rc read_bucket(sqlite3_stmt *st, cf_arena *a, cf_bucket_info *b)
{
    if (!col_str(st, 0, a, &b->name) || !col_str(st, 1, a, &b->owner) ||
        !col_str(st, 2, a, &b->region))
        return CF_ENOMEM;
    b->created_ms = sqlite3_column_int64(st, 3);
    b->objects = col_u64(st, 4);
    b->bytes = col_u64(st, 5);
    b->quota_bytes = col_u64(st, 6);
    b->quota_objects = col_u64(st, 7);
    return CF_OK;
}

static cf_rc bucket_exists(conn *c, cf_str name, bool *out)
{
    sqlite3_stmt *st = stmt(c, ST_BUCKET_EXISTS);
    int rc;
    if (!st)
        return CF_EIO;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(c, rc, "bucket exists");
    return CF_OK;
}

/* Inserts the bucket inside the caller's write transaction. The usage counters start at
 * zero whatever b says; the quotas are taken from b. */
static cf_rc bucket_insert(conn *c, const cf_bucket_info *b, cf_arena *a, cf_str *existing_owner)
{
    sqlite3_stmt *st = stmt(c, ST_BUCKET_INSERT);
    int src;

    if (!st)
        return CF_EIO;
    bind_text(st, 1, b->name);
    bind_text(st, 2, b->owner);
    bind_text(st, 3, b->region);
    sqlite3_bind_int64(st, 4, b->created_ms);
    sqlite3_bind_int64(st, 5, u64_to_db(b->quota_bytes));
    sqlite3_bind_int64(st, 6, u64_to_db(b->quota_objects));
    src = sqlite3_step(st);
    done(st);
    if (src == SQLITE_DONE)
        return CF_OK;
    if ((src & 0xff) != SQLITE_CONSTRAINT)
        return sql_fail(c, src, "bucket insert");
    if (existing_owner && a) {
        *existing_owner = CF_STR_NULL;
        st = stmt(c, ST_BUCKET_GET);
        if (!st)
            return CF_EEXIST;
        bind_text(st, 1, b->name);
        if (sqlite3_step(st) == SQLITE_ROW) {
            if (!col_str(st, 1, a, existing_owner))
                *existing_owner = CF_STR_NULL;
        }
        done(st);
    }
    return CF_EEXIST;
}

static cf_rc m_bucket_create(cf_meta *mm, const cf_bucket_info *b, cf_arena *a,
                             cf_str *existing_owner)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    rc = bucket_insert(c, b, a, existing_owner);
    return end_write(m, c, rc);
}

static cf_rc m_bucket_get(cf_meta *mm, cf_str name, cf_arena *a, cf_bucket_info *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    cf_rc rc;
    int src;

    if (!c || !(st = stmt(c, ST_BUCKET_GET)))
        return CF_EIO;
    memset(out, 0, sizeof(*out));
    bind_text(st, 1, name);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = read_bucket(st, a, out);
    else if (src == SQLITE_DONE)
        rc = CF_ENOTFOUND;
    else
        rc = sql_fail(c, src, "bucket get");
    done(st);
    return rc;
}

static cf_rc m_bucket_list(cf_meta *mm, cf_arena *a, cf_bucket_info **out, size_t *n)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    cf_bucket_info *v = NULL, *nv;
    size_t cap = 0, len = 0;
    cf_rc rc = CF_OK;
    int src;

    *out = NULL;
    *n = 0;
    if (!c || !(st = stmt(c, ST_BUCKET_LIST)))
        return CF_EIO;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            nv = cf_arena_alloc(a, cap * sizeof(*nv));
            if (!nv) {
                rc = CF_ENOMEM;
                goto out;
            }
            if (len)
                memcpy(nv, v, len * sizeof(*nv));
            v = nv;
        }
        rc = read_bucket(st, a, &v[len]);
        if (rc != CF_OK)
            goto out;
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(c, src, "bucket list");
        goto out;
    }
    *out = v;
    *n = len;
out:
    done(st);
    return rc;
}

static cf_rc m_bucket_delete(cf_meta *mm, cf_str name)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    bool exists;
    cf_rc rc;
    int src;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    rc = bucket_exists(c, name, &exists);
    if (rc != CF_OK)
        goto out;
    if (!exists) {
        rc = CF_ENOTFOUND;
        goto out;
    }
    if (!(st = stmt(c, ST_BUCKET_HAS_OBJECTS))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, name);
    src = sqlite3_step(st);
    done(st);
    if (src == SQLITE_ROW) {
        rc = CF_ENOTEMPTY;
        goto out;
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(c, src, "bucket has objects");
        goto out;
    }
    if (!(st = stmt(c, ST_BUCKET_DELETE))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, name);
    rc = run(c, ST_BUCKET_DELETE);
out:
    return end_write(m, c, rc);
}

static cf_rc m_bucket_set_quota(cf_meta *mm, cf_str name, uint64_t max_bytes, uint64_t max_objects)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_BUCKET_SET_QUOTA))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, u64_to_db(max_bytes));
    sqlite3_bind_int64(st, 3, u64_to_db(max_objects));
    rc = run(c, ST_BUCKET_SET_QUOTA);
    if (rc == CF_OK && sqlite3_changes(c->db) == 0)
        rc = CF_ENOTFOUND;
out:
    return end_write(m, c, rc);
}

/* ---- objects ---- */

static cf_rc m_object_get(cf_meta *mm, cf_str bucket, cf_str key, cf_arena *a, cf_object_info *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    cf_rc rc = CF_OK;
    int src;

    if (!c || !(st = stmt(c, ST_OBJ_GET)))
        return CF_EIO;
    memset(out, 0, sizeof(*out));
    bind_text(st, 1, bucket);
    bind_blob(st, 2, key.p, key.len);
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        rc = CF_ENOTFOUND;
        goto out;
    }
    if (src != SQLITE_ROW) {
        rc = sql_fail(c, src, "object get");
        goto out;
    }
    out->bucket = cf_arena_str(a, bucket);
    out->key = cf_arena_str(a, key);
    out->size = (uint64_t)sqlite3_column_int64(st, 0);
    out->mtime_ms = sqlite3_column_int64(st, 2);
    col_blob_id(st, 3, out->blob_id);
    if (!out->bucket.p || !out->key.p || !col_str(st, 1, a, &out->etag) ||
        !col_str(st, 4, a, &out->inline_body)) {
        rc = CF_ENOMEM;
        goto out;
    }
    rc = headers_decode(col_raw(st, 5), a, &out->headers, &out->nheaders);
    if (rc == CF_EIO)
        cf_error("meta: corrupt headers for an object in bucket %.*s", CF_STR_FMT(bucket));
out:
    done(st);
    return rc;
}

typedef struct usage {
    uint64_t objects, bytes, quota_bytes, quota_objects;
} usage;

/* The bucket's usage and quotas, read in the caller's write transaction (so they cannot
 * change before it ends). CF_ENOTFOUND if the bucket does not exist. */
static cf_rc bucket_usage(conn *c, cf_str name, usage *u)
{
    sqlite3_stmt *st = stmt(c, ST_BUCKET_USAGE);
    cf_rc rc = CF_OK;
    int src;

    memset(u, 0, sizeof(*u));
    if (!st)
        return CF_EIO;
    bind_text(st, 1, name);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        u->objects = col_u64(st, 0);
        u->bytes = col_u64(st, 1);
        u->quota_bytes = col_u64(st, 2);
        u->quota_objects = col_u64(st, 3);
    } else if (src == SQLITE_DONE) {
        rc = CF_ENOTFOUND;
    } else {
        rc = sql_fail(c, src, "bucket usage");
    }
    done(st);
    return rc;
}

static cf_rc bucket_usage_set(conn *c, cf_str name, uint64_t objects, uint64_t bytes)
{
    sqlite3_stmt *st = stmt(c, ST_BUCKET_USAGE_SET);
    if (!st)
        return CF_EIO;
    bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, u64_to_db(objects));
    sqlite3_bind_int64(st, 3, u64_to_db(bytes));
    return run(c, ST_BUCKET_USAGE_SET);
}

/* Whether one dimension of usage may go from cur to next under quota (0: none). A write that
 * does not grow the usage passes even when a lowered quota is already exceeded, so an
 * over-quota bucket can still shrink by overwrites as well as by deletes. */
static bool within_quota(uint64_t cur, uint64_t next, uint64_t quota)
{
    return quota == 0 || next <= quota || next <= cur;
}

/* Queues a replaced or deleted object's blob for deletion, in the caller's transaction. */
static cf_rc gc_enqueue(conn *c, cf_str blob_id)
{
    sqlite3_stmt *st = stmt(c, ST_GC_ADD);
    if (!st)
        return CF_EIO;
    bind_text(st, 1, blob_id);
    sqlite3_bind_int64(st, 2, cf_now_ms());
    return run(c, ST_GC_ADD);
}

static cf_rc m_object_put(cf_meta *mm, const cf_object_info *obj, const cf_put_cond *cond,
                          char replaced_blob[CF_BLOB_ID_LEN + 1])
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_buf hdr;
    bool found = false;
    char old_blob[CF_BLOB_ID_LEN + 1] = "";
    size_t idlen = blob_id_len(obj->blob_id);
    uint64_t old_size = 0, objects, bytes;
    usage u;
    cf_rc rc;
    int src;

    if (replaced_blob)
        replaced_blob[0] = '\0';
    cf_buf_init(&hdr, HEADERS_MAX);
    if (!c)
        return CF_EIO;
    if (idlen > CF_BLOB_ID_LEN)
        return CF_EINVAL;
    /* Serialise before taking the write lock. */
    rc = headers_encode(obj->headers, obj->nheaders, &hdr);
    if (rc != CF_OK)
        goto out_nolock;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        goto out_nolock;

    rc = bucket_usage(c, obj->bucket, &u);
    if (rc != CF_OK)
        goto out;
    if (!(st = stmt(c, ST_OBJ_CUR))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, obj->bucket);
    bind_blob(st, 2, obj->key.p, obj->key.len);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        found = true;
        col_blob_id(st, 1, old_blob);
        old_size = col_u64(st, 2);
        if (cond && cond->if_match_etag.len && !cf_str_eq(cond->if_match_etag, col_raw(st, 0)))
            rc = CF_ECONFLICT;
    } else if (src != SQLITE_DONE) {
        rc = sql_fail(c, src, "object current");
    }
    done(st);
    if (rc != CF_OK)
        goto out;
    if (cond && ((found && cond->if_none_match_any) || (!found && cond->if_match_etag.len))) {
        rc = CF_ECONFLICT;
        goto out;
    }

    /* Usage after the put, the replaced object counted as gone. */
    objects = u.objects + (found ? 0 : 1);
    bytes = u.bytes - (old_size < u.bytes ? old_size : u.bytes);
    if (obj->size > (uint64_t)INT64_MAX - bytes) {
        rc = CF_ETOOBIG;
        goto out;
    }
    bytes += obj->size;
    if (!within_quota(u.objects, objects, u.quota_objects) ||
        !within_quota(u.bytes, bytes, u.quota_bytes)) {
        rc = CF_ETOOBIG;
        goto out;
    }

    if (!(st = stmt(c, ST_OBJ_UPSERT))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, obj->bucket);
    bind_blob(st, 2, obj->key.p, obj->key.len);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)obj->size);
    bind_text(st, 4, obj->etag);
    sqlite3_bind_int64(st, 5, obj->mtime_ms);
    if (idlen)
        bind_text(st, 6, cf_str_make(obj->blob_id, idlen));
    if (!idlen || obj->inline_body.len)
        bind_blob(st, 7, obj->inline_body.p, obj->inline_body.len);
    if (hdr.len)
        bind_blob(st, 8, hdr.p, hdr.len);
    rc = run(c, ST_OBJ_UPSERT);
    if (rc == CF_OK)
        rc = bucket_usage_set(c, obj->bucket, objects, bytes);
    if (rc != CF_OK)
        goto out;
    /* A metadata-only rewrite may keep the same blob: that one must not be collected. */
    if (old_blob[0] && strcmp(old_blob, obj->blob_id) != 0) {
        rc = gc_enqueue(c, cf_str_c(old_blob));
        if (rc == CF_OK && replaced_blob)
            memcpy(replaced_blob, old_blob, sizeof(old_blob));
    }
out:
    rc = end_write(m, c, rc);
    if (rc != CF_OK && replaced_blob)
        replaced_blob[0] = '\0';
out_nolock:
    cf_buf_free(&hdr);
    return rc;
}

static cf_rc m_object_delete(cf_meta *mm, cf_str bucket, cf_str key,
                             char deleted_blob[CF_BLOB_ID_LEN + 1])
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    char old_blob[CF_BLOB_ID_LEN + 1] = "";
    bool found = false;
    uint64_t old_size = 0;
    usage u;
    cf_rc rc;
    int src;

    if (deleted_blob)
        deleted_blob[0] = '\0';
    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    rc = bucket_usage(c, bucket, &u);
    if (rc != CF_OK)
        goto out;
    if (!(st = stmt(c, ST_OBJ_CUR))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, bucket);
    bind_blob(st, 2, key.p, key.len);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        found = true;
        col_blob_id(st, 1, old_blob);
        old_size = col_u64(st, 2);
    } else if (src != SQLITE_DONE) {
        rc = sql_fail(c, src, "object current");
    }
    done(st);
    if (rc != CF_OK || !found)
        goto out;
    if (!(st = stmt(c, ST_OBJ_DELETE))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, bucket);
    bind_blob(st, 2, key.p, key.len);
    rc = run(c, ST_OBJ_DELETE);
    /* Clamped at zero: counters never wrap, even if they were ever off. */
    if (rc == CF_OK)
        rc = bucket_usage_set(c, bucket, u.objects ? u.objects - 1 : 0,
                              u.bytes - (old_size < u.bytes ? old_size : u.bytes));
    if (rc == CF_OK && old_blob[0]) {
        rc = gc_enqueue(c, cf_str_c(old_blob));
        if (rc == CF_OK && deleted_blob)
            memcpy(deleted_blob, old_blob, sizeof(old_blob));
    }
out:
    rc = end_write(m, c, rc);
    if (rc != CF_OK && deleted_blob)
        deleted_blob[0] = '\0';
    return rc;
}

/* The smallest byte string greater than every string starting with s, into b: s with its
 * trailing 0xFF bytes dropped and the last remaining byte incremented. false when there is
 * none (s empty or all 0xFF): nothing sorts after those strings. */
static bool prefix_successor(cf_str s, cf_buf *b, cf_rc *rc)
{
    size_t n = s.len;
    *rc = CF_OK;
    while (n > 0 && (unsigned char)s.p[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return false;
    cf_buf_reset(b);
    *rc = cf_buf_append(b, s.p, n);
    if (*rc != CF_OK)
        return false;
    b->p[n - 1] = (char)((unsigned char)b->p[n - 1] + 1);
    return true;
}

/* Index of the first occurrence of d in s, or -1. */
static ptrdiff_t find_sub(cf_str s, cf_str d)
{
    size_t i;
    if (d.len == 0 || d.len > s.len)
        return -1;
    for (i = 0; i + d.len <= s.len; i++) {
        if (s.p[i] == d.p[0] && memcmp(s.p + i, d.p, d.len) == 0)
            return (ptrdiff_t)i;
    }
    return -1;
}

/* Makes room for one more element in an arena array, doubling. */
static void *grow(cf_arena *a, void *v, size_t len, size_t *cap, size_t elem)
{
    void *nv;
    size_t ncap;
    if (len < *cap)
        return v;
    ncap = *cap ? *cap * 2 : 32;
    nv = cf_arena_alloc(a, ncap * elem);
    if (!nv)
        return NULL;
    if (len)
        memcpy(nv, v, len * elem);
    *cap = ncap;
    return nv;
}

/* ListObjects: one ordered range scan on the primary key. With a delimiter, a key that
 * yields a common prefix makes the scan jump past every key under that prefix (a fresh
 * seek), so a page costs O(page size) seeks whatever the bucket holds. */
static cf_rc m_object_list(cf_meta *mm, cf_str bucket, const cf_list_params *p, cf_arena *a,
                           cf_list_result *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st = NULL;
    cf_buf seek;
    size_t cap_o = 0, cap_p = 0;
    uint32_t n = 0;
    cf_str bcopy, last = CF_STR_NULL;
    bool exists;
    cf_rc rc;
    int src;

    memset(out, 0, sizeof(*out));
    cf_buf_init(&seek, SEEK_MAX);
    if (!c)
        return CF_EIO;
    rc = begin_read(c);
    if (rc != CF_OK)
        goto out;
    rc = bucket_exists(c, bucket, &exists);
    if (rc != CF_OK)
        goto out;
    if (!exists) {
        rc = CF_ENOTFOUND;
        goto out;
    }
    if (p->max_keys == 0)
        goto out;
    bcopy = cf_arena_str(a, bucket);
    if (!bcopy.p) {
        rc = CF_ENOMEM;
        goto out;
    }

    /* Start at the prefix, or just after start_after (x + NUL is the least string > x). */
    if (cf_str_cmp(p->start_after, p->prefix) >= 0) {
        rc = cf_buf_append_str(&seek, p->start_after);
        if (rc == CF_OK)
            rc = cf_buf_append_ch(&seek, '\0');
    } else {
        rc = cf_buf_append_str(&seek, p->prefix);
    }
    if (rc != CF_OK)
        goto out;
    if (!(st = stmt(c, ST_OBJ_LIST))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, bucket);
    bind_blob_copy(st, 2, seek.p, seek.len);

    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cf_str key = col_raw(st, 0);
        ptrdiff_t d;
        if (!cf_str_starts(key, p->prefix))
            break; /* past the prefix's range: nothing more can match */
        d = find_sub(cf_str_sub(key, p->prefix.len, key.len), p->delimiter);
        if (d >= 0) {
            cf_str cp = cf_str_make(key.p, p->prefix.len + (size_t)d + p->delimiter.len);
            /* A prefix at or before start_after was returned by an earlier page. */
            if (cf_str_cmp(cp, p->start_after) > 0) {
                if (n == p->max_keys) {
                    out->truncated = true;
                    break;
                }
                out->prefixes = grow(a, out->prefixes, out->nprefixes, &cap_p, sizeof(cf_str));
                if (!out->prefixes) {
                    rc = CF_ENOMEM;
                    goto out;
                }
                last = out->prefixes[out->nprefixes] = cf_arena_str(a, cp);
                if (!last.p) {
                    rc = CF_ENOMEM;
                    goto out;
                }
                out->nprefixes++;
                n++;
            }
            if (!prefix_successor(cp, &seek, &rc)) {
                if (rc != CF_OK)
                    goto out;
                break; /* cp is all 0xFF: no key sorts after its members */
            }
            sqlite3_reset(st);
            bind_blob_copy(st, 2, seek.p, seek.len);
            continue;
        }
        if (n == p->max_keys) {
            out->truncated = true;
            break;
        }
        out->objects = grow(a, out->objects, out->nobjects, &cap_o, sizeof(cf_object_info));
        if (!out->objects) {
            rc = CF_ENOMEM;
            goto out;
        }
        {
            cf_object_info *o = &out->objects[out->nobjects];
            o->bucket = bcopy;
            o->key = cf_arena_str(a, key);
            o->size = (uint64_t)sqlite3_column_int64(st, 1);
            o->mtime_ms = sqlite3_column_int64(st, 3);
            col_blob_id(st, 4, o->blob_id);
            o->inline_body = cf_str_make("", 0);
            if (!o->key.p || !col_str(st, 2, a, &o->etag)) {
                rc = CF_ENOMEM;
                goto out;
            }
            last = o->key;
        }
        out->nobjects++;
        n++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = sql_fail(c, src, "object list");
        goto out;
    }
    if (out->truncated)
        out->next_marker = last;
out:
    done(st);
    end_read(c);
    cf_buf_free(&seek);
    if (rc != CF_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- blob garbage queue ---- */

static cf_rc m_gc_done(cf_meta *mm, const char *blob_id)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_GC_DEL))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, cf_str_c(blob_id));
    rc = run(c, ST_GC_DEL);
out:
    return end_write(m, c, rc);
}

/* Ids are collected first so fn may call gc_done (a write) on this thread's connection. */
static cf_rc m_gc_pending(cf_meta *mm, void (*fn)(void *ctx, const char *blob_id), void *ctx)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    cf_buf ids;
    cf_rc rc = CF_OK;
    size_t off;
    int src;

    cf_buf_init(&ids, SIZE_MAX);
    if (!c || !(st = stmt(c, ST_GC_LIST)))
        return CF_EIO;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        char id[CF_BLOB_ID_LEN + 1];
        col_blob_id(st, 0, id);
        rc = cf_buf_append(&ids, id, sizeof(id));
        if (rc != CF_OK)
            break;
    }
    if (rc == CF_OK && src != SQLITE_DONE)
        rc = sql_fail(c, src, "gc list");
    done(st);
    for (off = 0; rc == CF_OK && off < ids.len; off += CF_BLOB_ID_LEN + 1)
        fn(ctx, ids.p + off);
    cf_buf_free(&ids);
    return rc;
}

static cf_rc m_blob_referenced(cf_meta *mm, const char *blob_id, bool *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    int src;

    *out = false;
    if (!c || !(st = stmt(c, ST_BLOB_REF)))
        return CF_EIO;
    bind_text(st, 1, cf_str_c(blob_id));
    src = sqlite3_step(st);
    *out = src == SQLITE_ROW;
    done(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return sql_fail(c, src, "blob referenced");
    return CF_OK;
}

/* ---- credentials ---- */

static void bind_cred(sqlite3_stmt *st, const cf_cred_row *r)
{
    bind_text(st, 1, r->id);
    bind_text(st, 2, r->name);
    bind_text(st, 3, r->parent_id);
    bind_text(st, 4, r->policy);
    sqlite3_bind_int(st, 5, (int)r->status);
    sqlite3_bind_int64(st, 6, r->created_ms);
    sqlite3_bind_int64(st, 7, r->not_before_ms);
    sqlite3_bind_int64(st, 8, r->expires_ms);
    bind_text(st, 9, r->allowed_ips);
    sqlite3_bind_int64(st, 10, r->last_used_ms);
    bind_blob(st, 11, r->secret_sealed.p, r->secret_sealed.len);
    bind_blob(st, 12, r->old_secret_sealed.p, r->old_secret_sealed.len);
    sqlite3_bind_int64(st, 13, r->old_secret_until_ms);
    bind_text(st, 14, r->token_hash);
}

static cf_rc read_cred(sqlite3_stmt *st, cf_arena *a, cf_cred_row *r)
{
    if (!col_str(st, 0, a, &r->id) || !col_str(st, 1, a, &r->name) ||
        !col_str(st, 2, a, &r->parent_id) || !col_str(st, 3, a, &r->policy) ||
        !col_str(st, 8, a, &r->allowed_ips) || !col_str(st, 10, a, &r->secret_sealed) ||
        !col_str(st, 11, a, &r->old_secret_sealed) || !col_str(st, 13, a, &r->token_hash))
        return CF_ENOMEM;
    r->status = sqlite3_column_int(st, 4) == CF_CRED_DISABLED ? CF_CRED_DISABLED : CF_CRED_ACTIVE;
    r->created_ms = sqlite3_column_int64(st, 5);
    r->not_before_ms = sqlite3_column_int64(st, 6);
    r->expires_ms = sqlite3_column_int64(st, 7);
    r->last_used_ms = sqlite3_column_int64(st, 9);
    r->old_secret_until_ms = sqlite3_column_int64(st, 12);
    r->version = sqlite3_column_int64(st, 14);
    return CF_OK;
}

/* Inserts in the caller's write transaction; CF_EEXIST if the id is taken. */
static cf_rc cred_insert_row(conn *c, const cf_cred_row *r)
{
    sqlite3_stmt *st = stmt(c, ST_CRED_INSERT);
    int src;

    if (!st)
        return CF_EIO;
    bind_cred(st, r);
    sqlite3_bind_int64(st, 15, r->version > 0 ? r->version : 1);
    src = sqlite3_step(st);
    done(st);
    if ((src & 0xff) == SQLITE_CONSTRAINT)
        return CF_EEXIST;
    if (src != SQLITE_DONE)
        return sql_fail(c, src, "credential insert");
    return CF_OK;
}

static cf_rc m_cred_insert(cf_meta *mm, const cf_cred_row *r)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    rc = cred_insert_row(c, r);
    return end_write(m, c, rc);
}

/* Any failure rolls back both inserts. */
static cf_rc m_bucket_create_with_cred(cf_meta *mm, const cf_bucket_info *b, const cf_cred_row *r,
                                       cf_arena *a, cf_str *existing_owner)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    rc = bucket_insert(c, b, a, existing_owner);
    if (rc == CF_OK) {
        rc = cred_insert_row(c, r);
        if (rc == CF_EEXIST)
            rc = CF_ECONFLICT;
    }
    return end_write(m, c, rc);
}

static cf_rc m_cred_update(cf_meta *mm, const cf_cred_row *r)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_CRED_UPDATE))) {
        rc = CF_EIO;
        goto out;
    }
    bind_cred(st, r);
    rc = run(c, ST_CRED_UPDATE);
    if (rc == CF_OK && sqlite3_changes(c->db) == 0)
        rc = CF_ENOTFOUND;
out:
    return end_write(m, c, rc);
}

static cf_rc cred_get_by(conn *c, int id, cf_str v, cf_arena *a, cf_cred_row *out)
{
    sqlite3_stmt *st;
    cf_rc rc;
    int src;

    memset(out, 0, sizeof(*out));
    if (!c || !(st = stmt(c, id)))
        return CF_EIO;
    bind_text(st, 1, v);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = read_cred(st, a, out);
    else if (src == SQLITE_DONE)
        rc = CF_ENOTFOUND;
    else
        rc = sql_fail(c, src, "credential get");
    done(st);
    return rc;
}

static cf_rc m_cred_get(cf_meta *mm, cf_str id, cf_arena *a, cf_cred_row *out)
{
    return cred_get_by(get_conn((msq *)mm), ST_CRED_GET, id, a, out);
}

static cf_rc m_cred_get_by_token_hash(cf_meta *mm, cf_str token_hash, cf_arena *a, cf_cred_row *out)
{
    /* Credentials without a token store "": never let an empty hash match them. */
    if (token_hash.len == 0) {
        memset(out, 0, sizeof(*out));
        return CF_ENOTFOUND;
    }
    return cred_get_by(get_conn((msq *)mm), ST_CRED_GET_TOKEN, token_hash, a, out);
}

static cf_rc m_cred_count(cf_meta *mm, uint64_t *n)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    cf_rc rc = CF_OK;
    int src;

    *n = 0;
    if (!c || !(st = stmt(c, ST_CRED_COUNT)))
        return CF_EIO;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = sql_fail(c, src, "credential count");
    done(st);
    return rc;
}

/* Only moves last_used forward and does not bump version: it is not a change that caches
 * need to see. */
static cf_rc m_cred_touch(cf_meta *mm, cf_str id, int64_t last_used_ms)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;
    int src;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_CRED_TOUCH))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, last_used_ms);
    rc = run(c, ST_CRED_TOUCH);
    if (rc != CF_OK || sqlite3_changes(c->db) > 0)
        goto out;
    if (!(st = stmt(c, ST_CRED_EXISTS))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, id);
    src = sqlite3_step(st);
    done(st);
    if (src == SQLITE_DONE)
        rc = CF_ENOTFOUND;
    else if (src != SQLITE_ROW)
        rc = sql_fail(c, src, "credential exists");
out:
    return end_write(m, c, rc);
}

/* A loop of primary-key searches in one read snapshot: a chain is a handful of rows, and
 * the loop sees a cycle (an id met twice) or a chain longer than depth without ever reading
 * more than depth + 1 rows. */
static cf_rc m_cred_chain(cf_meta *mm, cf_str id, size_t depth, cf_arena *a, cf_cred_row **out,
                          size_t *n)
{
    conn *c = get_conn((msq *)mm);
    cf_cred_row *v = NULL, row;
    size_t cap = 0, len = 0, i;
    cf_str cur = id;
    cf_rc rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    rc = begin_read(c);
    if (rc != CF_OK)
        goto out;
    for (;;) {
        rc = cred_get_by(c, ST_CRED_GET, cur, a, &row);
        if (rc != CF_OK) {
            /* A missing ancestor breaks the chain: nothing may be derived from it. */
            if (rc == CF_ENOTFOUND && len > 0)
                cf_warn("meta: credential %.*s has a missing parent %.*s", CF_STR_FMT(id),
                        CF_STR_FMT(cur));
            goto out;
        }
        for (i = 0; i < len; i++) {
            if (cf_str_eq(v[i].id, row.id)) {
                cf_warn("meta: credential %.*s has a parent cycle", CF_STR_FMT(id));
                rc = CF_ETOOBIG;
                goto out;
            }
        }
        if (len == depth) {
            rc = CF_ETOOBIG;
            goto out;
        }
        v = grow(a, v, len, &cap, sizeof(*v));
        if (!v) {
            rc = CF_ENOMEM;
            goto out;
        }
        v[len++] = row;
        if (row.parent_id.len == 0)
            break;
        cur = row.parent_id;
    }
    *out = v;
    *n = len;
out:
    end_read(c);
    return rc;
}

static cf_rc m_cred_in_subtree(cf_meta *mm, cf_str ancestor_id, cf_str id, bool *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    int src;

    *out = false;
    if (!c || !(st = stmt(c, ST_CRED_IN_SUBTREE)))
        return CF_EIO;
    bind_text(st, 1, ancestor_id);
    bind_text(st, 2, id);
    src = sqlite3_step(st);
    *out = src == SQLITE_ROW;
    done(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return sql_fail(c, src, "credential in subtree");
    return CF_OK;
}

/* ---- subtree listing ----
 *
 * Walking the whole subtree (a recursive CTE on credentials_parent) and sorting it costs
 * O(subtree) per page: 0.2 to 1.7 s for a page of a 100,000-credential subtree (make the
 * bench tests/unit/bench_meta_subtree.c), against a few ms for the steps below. So a
 * page is found in bounded steps, each taken only if the one before did not settle it:
 * 1. walk the subtree up to WALK_SMALL ids per row asked for: a small subtree is then
 *    known whole, and sorted in memory;
 * 2. scan credentials_tree in id order from after_id, up to SCAN ids per row asked for,
 *    keeping the ids whose ancestry reaches the root (walked up the same index and
 *    memoised, so most ids cost no extra search): a subtree that is a fair share of all
 *    credentials fills its page here;
 * 3. walk again, up to WALK ids per row: a sparse subtree of moderate size;
 * 4. a large and sparse subtree: scan on until the page is full.
 * The rows of the page are then read by primary key. */

#define SUBTREE_WALK_SMALL_PER_ROW 2
#define SUBTREE_WALK_SMALL_MIN     64
#define SUBTREE_SCAN_PER_ROW       8
#define SUBTREE_SCAN_MIN           256
#define SUBTREE_WALK_PER_ROW       32
#define SUBTREE_WALK_MIN           1024
#define SUBTREE_BOUND_MAX          ((uint64_t)1 << 20) /* a cycle repeats ids up to here */

typedef struct subtree_bounds {
    uint64_t walk_small, scan, walk; /* ids; walks below INT64_MAX */
} subtree_bounds;

enum { ANC_PENDING = 1, ANC_IN, ANC_OUT };

/* Open-addressing map from credential id to ANC_*, for one listing. Ids live in arena. */
typedef struct ancmap {
    cf_str *keys;
    unsigned char *state;
    size_t cap, len; /* cap is a power of two */
    cf_arena *arena;
} ancmap;

static size_t str_hash(cf_str s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t i;
    for (i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.p[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static size_t ancmap_slot(const ancmap *am, cf_str id)
{
    size_t i = str_hash(id) & (am->cap - 1);
    while (am->state[i] && !cf_str_eq(am->keys[i], id))
        i = (i + 1) & (am->cap - 1);
    return i;
}

static int ancmap_get(const ancmap *am, cf_str id)
{
    return am->cap ? am->state[ancmap_slot(am, id)] : 0;
}

static cf_rc ancmap_grow(ancmap *am)
{
    ancmap n = {NULL, NULL, am->cap ? am->cap * 2 : 256, 0, am->arena};
    size_t i;

    n.keys = calloc(n.cap, sizeof(*n.keys));
    n.state = calloc(n.cap, 1);
    if (!n.keys || !n.state) {
        free(n.keys);
        free(n.state);
        return CF_ENOMEM;
    }
    for (i = 0; i < am->cap; i++) {
        if (am->state[i]) {
            size_t j = ancmap_slot(&n, am->keys[i]);
            n.keys[j] = am->keys[i];
            n.state[j] = am->state[i];
            n.len++;
        }
    }
    free(am->keys);
    free(am->state);
    *am = n;
    return CF_OK;
}

/* Sets id's state; *stored gets the map's copy of id. */
static cf_rc ancmap_set(ancmap *am, cf_str id, int state, cf_str *stored)
{
    size_t i;
    cf_rc rc;

    if (2 * (am->len + 1) > am->cap && (rc = ancmap_grow(am)) != CF_OK)
        return rc;
    i = ancmap_slot(am, id);
    if (!am->state[i]) {
        am->keys[i] = cf_arena_str(am->arena, id);
        if (!am->keys[i].p)
            return CF_ENOMEM;
        am->len++;
    }
    am->state[i] = (unsigned char)state;
    if (stored)
        *stored = am->keys[i];
    return CF_OK;
}

static void ancmap_free(ancmap *am)
{
    free(am->keys);
    free(am->state);
}

/* Whether the credential id (whose parent is parent_id) is root or below it. Walks up with
 * searches of credentials_tree until it meets root, a top-level credential, a missing parent,
 * or an id whose answer is known; every id on the way gets the answer. An id met twice on one walk
 * is a cycle that does not contain root: not in the subtree, as the recursive walk from root
 * would also find. */
static cf_rc in_subtree_memo(conn *c, ancmap *am, cf_str root, cf_str id, cf_str parent_id,
                             bool *out)
{
    cf_str *path = NULL, cur;
    size_t cap = 0, len = 0, i;
    sqlite3_stmt *st;
    int state = 0, src;
    cf_rc rc;

    *out = false;
    if (cf_str_eq(id, root)) {
        *out = true;
        return CF_OK;
    }
    path = grow(am->arena, path, len, &cap, sizeof(*path));
    if (!path)
        return CF_ENOMEM;
    rc = ancmap_set(am, id, ANC_PENDING, &path[len++]);
    if (rc != CF_OK)
        return rc;
    cur = parent_id;
    while (!state) {
        if (cur.len == 0) {
            state = ANC_OUT;
        } else if (cf_str_eq(cur, root)) {
            state = ANC_IN;
        } else if ((state = ancmap_get(am, cur)) != 0) {
            if (state == ANC_PENDING)
                state = ANC_OUT;
        } else {
            path = grow(am->arena, path, len, &cap, sizeof(*path));
            if (!path)
                return CF_ENOMEM;
            rc = ancmap_set(am, cur, ANC_PENDING, &path[len++]);
            if (rc != CF_OK)
                return rc;
            if (!(st = stmt(c, ST_CRED_PARENT)))
                return CF_EIO;
            bind_text(st, 1, cur);
            src = sqlite3_step(st);
            if (src == SQLITE_ROW) {
                cur = cf_arena_str(am->arena, col_raw(st, 0));
                if (!cur.p)
                    rc = CF_ENOMEM;
            } else if (src == SQLITE_DONE) {
                state = ANC_OUT; /* a missing parent: a broken chain */
            } else {
                rc = sql_fail(c, src, "credential parent");
            }
            done(st);
            if (rc != CF_OK)
                return rc;
        }
    }
    for (i = 0; i < len; i++) {
        rc = ancmap_set(am, path[i], state, NULL);
        if (rc != CF_OK)
            return rc;
    }
    *out = state == ANC_IN;
    return CF_OK;
}

/* Adds the credential id to the page (a primary-key read in the caller's snapshot). */
static cf_rc page_add(conn *c, cf_str id, cf_arena *a, cf_cred_row **v, size_t *len, size_t *cap)
{
    cf_rc rc;
    *v = grow(a, *v, *len, cap, sizeof(**v));
    if (!*v)
        return CF_ENOMEM;
    rc = cred_get_by(c, ST_CRED_GET, id, a, &(*v)[*len]);
    if (rc == CF_OK)
        (*len)++;
    return rc;
}

/* Steps the id-ordered scan at most budget rows, adding ids of root's subtree to the page
 * until it holds limit rows; *eof when the scan ran out. */
static cf_rc scan_page(conn *c, sqlite3_stmt *scan, ancmap *am, cf_str root_id, uint32_t limit,
                       uint64_t budget, cf_arena *a, cf_cred_row **v, size_t *len, size_t *cap,
                       bool *eof)
{
    uint64_t i;
    bool in;
    cf_rc rc;
    int src;

    *eof = false;
    for (i = 0; i < budget && *len < limit; i++) {
        src = sqlite3_step(scan);
        if (src == SQLITE_DONE) {
            *eof = true;
            return CF_OK;
        }
        if (src != SQLITE_ROW)
            return sql_fail(c, src, "credential scan");
        rc = in_subtree_memo(c, am, root_id, col_raw(scan, 0), col_raw(scan, 1), &in);
        if (rc == CF_OK && in)
            rc = page_add(c, col_raw(scan, 0), a, v, len, cap);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

static int cmp_cf_str(const void *x, const void *y)
{
    return cf_str_cmp(*(const cf_str *)x, *(const cf_str *)y);
}

/* Walks root_id's subtree for at most max ids. When it has no more, *complete is set and the
 * page is taken from them (cf_str_cmp is SQLite's BINARY order, as ORDER BY id uses). */
static cf_rc walk_page(conn *c, cf_str root_id, cf_str after_id, uint32_t limit, uint64_t max,
                       cf_arena *scratch, cf_arena *a, cf_cred_row **v, size_t *len, size_t *cap,
                       bool *complete)
{
    sqlite3_stmt *st = stmt(c, ST_CRED_SUBTREE_IDS);
    cf_str *ids = NULL;
    size_t idcap = 0, nids = 0, i;
    cf_rc rc = CF_OK;
    int src;

    *complete = false;
    if (!st)
        return CF_EIO;
    bind_text(st, 1, root_id);
    sqlite3_bind_int64(st, 2, u64_to_db(max + 1));
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        ids = grow(scratch, ids, nids, &idcap, sizeof(*ids));
        if (!ids || !(ids[nids] = cf_arena_str(scratch, col_raw(st, 0))).p) {
            rc = CF_ENOMEM;
            break;
        }
        nids++;
    }
    if (rc == CF_OK && src != SQLITE_DONE)
        rc = sql_fail(c, src, "credential subtree");
    done(st);
    if (rc != CF_OK || nids > max)
        return rc;
    *complete = true;
    if (nids > 1)
        qsort(ids, nids, sizeof(*ids), cmp_cf_str);
    for (i = 0; i < nids && *len < limit && rc == CF_OK; i++) {
        if (cf_str_cmp(ids[i], after_id) <= 0 || (i > 0 && cf_str_eq(ids[i], ids[i - 1])))
            continue;
        rc = page_add(c, ids[i], a, v, len, cap);
    }
    return rc;
}

/* The listing with explicit bounds (tests force each path with them). */
static cf_rc list_subtree(conn *c, cf_str root_id, cf_str after_id, uint32_t limit,
                          const subtree_bounds *b, cf_arena *a, cf_cred_row **out, size_t *n)
{
    sqlite3_stmt *scan = NULL, *st;
    cf_cred_row *v = NULL;
    size_t cap = 0, len = 0;
    ancmap am = {0};
    bool eof = false, complete = false;
    cf_rc rc;
    int src;

    *out = NULL;
    *n = 0;
    if (limit == 0)
        return CF_OK;
    rc = begin_read(c);
    if (rc != CF_OK)
        return rc;
    /* An unknown root has no subtree, though rows may still name it as their parent. */
    if (!(st = stmt(c, ST_CRED_EXISTS))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, root_id);
    src = sqlite3_step(st);
    done(st);
    if (src == SQLITE_DONE)
        goto out;
    if (src != SQLITE_ROW) {
        rc = sql_fail(c, src, "credential exists");
        goto out;
    }
    am.arena = cf_arena_new(SIZE_MAX >> 1);
    if (!am.arena) {
        rc = CF_ENOMEM;
        goto out;
    }

    rc = walk_page(c, root_id, after_id, limit, b->walk_small, am.arena, a, &v, &len, &cap,
                   &complete);
    if (rc != CF_OK || complete)
        goto out;
    if (!(scan = stmt(c, ST_CRED_SCAN))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(scan, 1, after_id);
    rc = scan_page(c, scan, &am, root_id, limit, b->scan, a, &v, &len, &cap, &eof);
    if (rc != CF_OK || eof || len == limit)
        goto out;
    /* A complete walk lists the page from the start (the scan's rows are among it). */
    {
        cf_cred_row *wv = NULL;
        size_t wlen = 0, wcap = 0;
        rc = walk_page(c, root_id, after_id, limit, b->walk, am.arena, a, &wv, &wlen, &wcap,
                       &complete);
        if (rc == CF_OK && complete) {
            v = wv;
            len = wlen;
        }
    }
    if (rc != CF_OK || complete)
        goto out;
    rc = scan_page(c, scan, &am, root_id, limit, UINT64_MAX, a, &v, &len, &cap, &eof);
out:
    if (rc == CF_OK) {
        *out = v;
        *n = len;
    }
    done(scan);
    end_read(c);
    ancmap_free(&am);
    cf_arena_destroy(am.arena);
    return rc;
}

static uint64_t bound(uint32_t limit, unsigned per_row, uint64_t min)
{
    uint64_t v = (uint64_t)limit * per_row;
    return v < min ? min : v > SUBTREE_BOUND_MAX ? SUBTREE_BOUND_MAX : v;
}

static cf_rc m_cred_list_subtree(cf_meta *mm, cf_str root_id, cf_str after_id, uint32_t limit,
                                 cf_arena *a, cf_cred_row **out, size_t *n)
{
    conn *c = get_conn((msq *)mm);
    subtree_bounds b = {bound(limit, SUBTREE_WALK_SMALL_PER_ROW, SUBTREE_WALK_SMALL_MIN),
                        bound(limit, SUBTREE_SCAN_PER_ROW, SUBTREE_SCAN_MIN),
                        bound(limit, SUBTREE_WALK_PER_ROW, SUBTREE_WALK_MIN)};

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    return list_subtree(c, root_id, after_id, limit, &b, a, out, n);
}

static cf_rc m_cred_delete_subtree(cf_meta *mm, cf_str id, uint64_t *deleted)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;
    int src;

    *deleted = 0;
    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_CRED_EXISTS))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, id);
    src = sqlite3_step(st);
    done(st);
    if (src == SQLITE_DONE) {
        rc = CF_ENOTFOUND;
        goto out;
    }
    if (src != SQLITE_ROW) {
        rc = sql_fail(c, src, "credential exists");
        goto out;
    }
    if (!(st = stmt(c, ST_CRED_DELETE_SUBTREE))) {
        rc = CF_EIO;
        goto out;
    }
    bind_text(st, 1, id);
    rc = run(c, ST_CRED_DELETE_SUBTREE);
    if (rc == CF_OK)
        *deleted = (uint64_t)sqlite3_changes64(c->db);
out:
    rc = end_write(m, c, rc);
    if (rc != CF_OK)
        *deleted = 0;
    return rc;
}

/* ---- audit ---- */

#define AUDIT_LIMIT_MAX 1000

static cf_rc m_audit_append(cf_meta *mm, const cf_audit_row *r)
{
    msq *m = (msq *)mm;
    conn *c = get_conn(m);
    sqlite3_stmt *st;
    cf_rc rc;

    if (!c)
        return CF_EIO;
    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    if (!(st = stmt(c, ST_AUDIT_INSERT))) {
        rc = CF_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, r->time_ms ? r->time_ms : cf_now_ms());
    bind_text(st, 2, r->actor);
    bind_text(st, 3, r->action);
    bind_text(st, 4, r->target);
    bind_text(st, 5, r->source_ip);
    bind_text(st, 6, r->outcome);
    bind_text(st, 7, r->detail);
    rc = run(c, ST_AUDIT_INSERT);
out:
    return end_write(m, c, rc);
}

static cf_rc read_audit(sqlite3_stmt *st, cf_arena *a, cf_audit_row *r)
{
    r->seq = sqlite3_column_int64(st, 0);
    r->time_ms = sqlite3_column_int64(st, 1);
    if (!col_str(st, 2, a, &r->actor) || !col_str(st, 3, a, &r->action) ||
        !col_str(st, 4, a, &r->target) || !col_str(st, 5, a, &r->source_ip) ||
        !col_str(st, 6, a, &r->outcome) || !col_str(st, 7, a, &r->detail))
        return CF_ENOMEM;
    return CF_OK;
}

/* limit 0 (no limit asked) and anything above the cap both give the cap. */
static cf_rc m_audit_query(cf_meta *mm, const cf_audit_filter *f, cf_arena *a, cf_audit_row **out,
                           size_t *n)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st = NULL;
    cf_audit_row *v = NULL;
    size_t cap = 0, len = 0;
    uint32_t limit = f->limit == 0 || f->limit > AUDIT_LIMIT_MAX ? AUDIT_LIMIT_MAX : f->limit;
    cf_rc rc = CF_OK;
    int id, src;

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    if (f->credential.len)
        id = ST_AUDIT_CRED;
    else if (f->since_ms || f->until_ms)
        id = ST_AUDIT_TIME;
    else
        id = ST_AUDIT_ALL;
    if (!(st = stmt(c, id)))
        return CF_EIO;
    sqlite3_bind_int64(st, 1, f->after_seq);
    sqlite3_bind_int64(st, 2, f->since_ms ? f->since_ms : INT64_MIN);
    sqlite3_bind_int64(st, 3, f->until_ms ? f->until_ms : INT64_MAX);
    sqlite3_bind_int64(st, 4, limit);
    if (f->credential.len)
        bind_text(st, 5, f->credential);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        v = grow(a, v, len, &cap, sizeof(*v));
        if (!v) {
            rc = CF_ENOMEM;
            goto out;
        }
        rc = read_audit(st, a, &v[len]);
        if (rc != CF_OK)
            goto out;
        len++;
    }
    if (src != SQLITE_DONE) {
        rc = sql_fail(c, src, "audit query");
        goto out;
    }
    *out = v;
    *n = len;
out:
    done(st);
    return rc;
}

/* ---- open / close ---- */

static void m_close(cf_meta *mm)
{
    msq *m = (msq *)mm;
    conn *c, *next;
    if (!m)
        return;
    /* After this no thread-exit destructor runs for our connections. Callers close only when
     * no other thread still uses the store or is exiting (e.g. after joining the workers). */
    pthread_key_delete(m->key);
    for (c = m->conns; c; c = next) {
        next = c->next;
        conn_free(c);
    }
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->wlock);
    free(m->path);
    free(m);
}

static const cf_meta_ops sqlite_ops = {
    .close = m_close,
    .bucket_create = m_bucket_create,
    .bucket_create_with_cred = m_bucket_create_with_cred,
    .bucket_set_quota = m_bucket_set_quota,
    .bucket_get = m_bucket_get,
    .bucket_list = m_bucket_list,
    .bucket_delete = m_bucket_delete,
    .object_get = m_object_get,
    .object_put = m_object_put,
    .object_delete = m_object_delete,
    .object_list = m_object_list,
    .gc_done = m_gc_done,
    .gc_pending = m_gc_pending,
    .blob_referenced = m_blob_referenced,
    .cred_insert = m_cred_insert,
    .cred_update = m_cred_update,
    .cred_get = m_cred_get,
    .cred_get_by_token_hash = m_cred_get_by_token_hash,
    .cred_count = m_cred_count,
    .cred_touch = m_cred_touch,
    .cred_chain = m_cred_chain,
    .cred_in_subtree = m_cred_in_subtree,
    .cred_list_subtree = m_cred_list_subtree,
    .cred_delete_subtree = m_cred_delete_subtree,
    .audit_append = m_audit_append,
    .audit_query = m_audit_query,
};

/* Brings the schema to SCHEMA_VERSION in one transaction. */
static cf_rc migrate(msq *m, conn *c)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int version = 0, src;
    cf_rc rc;

    rc = begin_write(m, c);
    if (rc != CF_OK)
        return rc;
    src = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (src != SQLITE_ROW) {
        rc = sql_fail(c, src, "PRAGMA user_version");
        goto out;
    }
    if (version > SCHEMA_VERSION) {
        cf_error("meta: %s has schema version %d, newer than this build's %d", m->path, version,
                 SCHEMA_VERSION);
        rc = CF_EINVAL;
        goto out;
    }
    for (; version < SCHEMA_VERSION && rc == CF_OK; version++) {
        cf_info("meta: migrating %s to schema version %d", m->path, version + 1);
        rc = exec_sql(c, migrations[version]);
    }
    if (rc != CF_OK)
        goto out;
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", SCHEMA_VERSION);
    rc = exec_sql(c, sql);
out:
    return end_write(m, c, rc);
}

cf_meta *cf_meta_sqlite_open(const char *path, bool fsync)
{
    msq *m = NULL;
    cf_meta *ret = NULL;
    conn *c;
    bool key = false, lock = false, wlock = false;

    if (!sqlite3_threadsafe()) {
        cf_error("meta: SQLite was built without thread support");
        goto out;
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->base.ops = &sqlite_ops;
    m->fsync = fsync;
    m->path = strdup(path);
    if (!m->path)
        goto out;
    if (pthread_key_create(&m->key, conn_release) != 0)
        goto out;
    key = true;
    if (pthread_mutex_init(&m->lock, NULL) != 0)
        goto out;
    lock = true;
    if (pthread_mutex_init(&m->wlock, NULL) != 0)
        goto out;
    wlock = true;
    c = get_conn(m);
    if (!c)
        goto out;
    /* WAL is a property of the database file; set once, outside any transaction. */
    if (exec_sql(c, "PRAGMA journal_mode=WAL") != CF_OK ||
        exec_sql(c, "PRAGMA journal_size_limit=67108864") != CF_OK)
        goto out;
    if (migrate(m, c) != CF_OK)
        goto out;
    ret = &m->base;
    m = NULL;
out:
    if (m) {
        if (key && lock && wlock) {
            m_close(&m->base);
        } else {
            if (key)
                pthread_key_delete(m->key);
            if (lock)
                pthread_mutex_destroy(&m->lock);
            free(m->path);
            free(m);
        }
        cf_error("meta: cannot open %s", path);
    }
    return ret;
}
