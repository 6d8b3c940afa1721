/* The embedded metadata backend on SQLite.
 *
 * One database in WAL mode, one connection per thread (opened lazily, kept in a pthread key,
 * closed at thread exit or at close()), statements prepared once per connection. Writers in
 * this process queue on a mutex before BEGIN IMMEDIATE, so they wake as soon as the previous
 * writer commits instead of sleeping in SQLite's busy handler; busy_timeout and a short retry
 * loop still cover other processes holding the lock.
 *
 * Object keys are stored as BLOBs so ORDER BY key is memcmp order, as S3 lists. A
 * credential's path (the ids from its root down to itself, each followed by '/') is a BLOB
 * too: a subtree is the range of paths that start with its root's path.
 *
 * Blobs: a blob id is queued on gc_queue, in the transaction that drops its last reference
 * (an object, a segment of a multipart object, or a part of an upload in progress), and only
 * then, so whatever the queue holds may be deleted. */
#include "meta/meta_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#define BUSY_TIMEOUT_MS 10000
#define BEGIN_RETRIES   5
#define HEADERS_MAX     ((size_t)16 << 20) /* serialised object headers */
#define SEEK_MAX        ((size_t)1 << 20)  /* list seek keys (prefix, markers) */
#define PARTS_MAX       10000              /* part numbers 1..PARTS_MAX; segments per object */
#define BLOB_IDS_MAX    ((size_t)(PARTS_MAX + 1) * (CF_BLOB_ID_LEN + 1)) /* one id list */
#define PATH_MAX_LEN    ((size_t)1 << 16)                                /* a credential path */

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
    /* Bucket sub-resources (CORS, lifecycle, tagging documents), gone with the bucket. */
    "CREATE TABLE bucket_docs("
    " bucket TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " doc BLOB NOT NULL,"
    " PRIMARY KEY(bucket, kind)"
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
    " nsegments INTEGER NOT NULL DEFAULT 0," /* > 0: the body is in segments */
    " PRIMARY KEY(bucket, key)"
    ") WITHOUT ROWID;"
    /* For blob_referenced (crash recovery); inline objects have no blob id. */
    "CREATE INDEX objects_blob_id ON objects(blob_id) WHERE blob_id IS NOT NULL;"
    /* A multipart object's body: its parts' blobs, in order. */
    "CREATE TABLE segments("
    " bucket TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " idx INTEGER NOT NULL,"
    " blob_id TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " PRIMARY KEY(bucket, key, idx)"
    ") WITHOUT ROWID;"
    "CREATE INDEX segments_blob_id ON segments(blob_id);"
    "CREATE TABLE uploads("
    " bucket TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " upload_id TEXT NOT NULL,"
    " initiator TEXT NOT NULL,"
    " initiated_ms INTEGER NOT NULL,"
    " headers BLOB,"
    " PRIMARY KEY(bucket, key, upload_id)"
    ") WITHOUT ROWID;"
    /* ListMultipartUploads order. */
    "CREATE INDEX uploads_order ON uploads(bucket, key, initiated_ms, upload_id);"
    "CREATE TABLE parts("
    " bucket TEXT NOT NULL,"
    " key BLOB NOT NULL,"
    " upload_id TEXT NOT NULL,"
    " number INTEGER NOT NULL,"
    " size INTEGER NOT NULL,"
    " etag TEXT NOT NULL,"
    " checksum TEXT NOT NULL,"
    " mtime_ms INTEGER NOT NULL,"
    " blob_id TEXT NOT NULL,"
    " PRIMARY KEY(bucket, key, upload_id, number)"
    ") WITHOUT ROWID;"
    "CREATE INDEX parts_blob_id ON parts(blob_id);"
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
    " version INTEGER NOT NULL,"
    " path BLOB NOT NULL" /* "ROOT/.../PARENT/ID/", set once: parents never change */
    ") WITHOUT ROWID;"
    "CREATE UNIQUE INDEX credentials_path ON credentials(path);"
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

#define UPLOAD_COLS "key, upload_id, initiator, initiated_ms, headers"

/* The upload ?1 ?2 ?3 (bucket, key, id). */
#define UPLOAD_IS "bucket=?1 AND key=?2 AND upload_id=?3"

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
    X(BUCKET_HAS_UPLOADS, "SELECT 1 FROM uploads WHERE bucket=?1 LIMIT 1")                         \
    X(DOC_GET, "SELECT doc FROM bucket_docs WHERE bucket=?1 AND kind=?2")                          \
    X(DOC_PUT, "INSERT INTO bucket_docs(bucket, kind, doc) VALUES(?1,?2,?3) "                      \
               "ON CONFLICT(bucket, kind) DO UPDATE SET doc=excluded.doc")                         \
    X(DOC_DELETE, "DELETE FROM bucket_docs WHERE bucket=?1 AND kind=?2")                           \
    X(DOCS_DELETE, "DELETE FROM bucket_docs WHERE bucket=?1")                                      \
    X(OBJ_GET, "SELECT size, etag, mtime_ms, blob_id, inline_body, headers, nsegments "            \
               "FROM objects WHERE bucket=?1 AND key=?2")                                          \
    X(OBJ_CUR, "SELECT etag, blob_id, size, nsegments, mtime_ms FROM objects "                     \
               "WHERE bucket=?1 AND key=?2")                                                       \
    X(OBJ_UPSERT,                                                                                  \
      "INSERT INTO objects(bucket, key, size, etag, mtime_ms, blob_id, inline_body, headers, "     \
      "nsegments) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(bucket, key) DO UPDATE SET "      \
      "size=excluded.size, etag=excluded.etag, mtime_ms=excluded.mtime_ms, "                       \
      "blob_id=excluded.blob_id, inline_body=excluded.inline_body, headers=excluded.headers, "     \
      "nsegments=excluded.nsegments")                                                              \
    X(OBJ_SET_HEADERS, "UPDATE objects SET headers=?4 WHERE bucket=?1 AND key=?2 AND etag=?3")     \
    X(OBJ_DELETE, "DELETE FROM objects WHERE bucket=?1 AND key=?2")                                \
    X(OBJ_LIST, "SELECT key, size, etag, mtime_ms, blob_id FROM objects "                          \
                "WHERE bucket=?1 AND key>=?2 ORDER BY key")                                        \
    X(SEG_INSERT, "INSERT INTO segments(bucket, key, idx, blob_id, size, etag, checksum) "         \
                  "VALUES(?1,?2,?3,?4,?5,?6,?7)")                                                  \
    X(SEG_LIST, "SELECT blob_id, size, etag, checksum FROM segments "                              \
                "WHERE bucket=?1 AND key=?2 ORDER BY idx")                                         \
    X(SEG_DELETE, "DELETE FROM segments WHERE bucket=?1 AND key=?2")                               \
    X(UPLOAD_INSERT, "INSERT INTO uploads(bucket, key, upload_id, initiator, initiated_ms, "       \
                     "headers) VALUES(?1,?2,?3,?4,?5,?6)")                                         \
    X(UPLOAD_GET, "SELECT " UPLOAD_COLS " FROM uploads WHERE " UPLOAD_IS)                          \
    X(UPLOAD_DELETE, "DELETE FROM uploads WHERE " UPLOAD_IS)                                       \
    X(UPLOAD_LIST, "SELECT " UPLOAD_COLS " FROM uploads WHERE bucket=?1 AND key>=?2 "              \
                   "ORDER BY key, initiated_ms, upload_id")                                        \
    X(PART_BLOB, "SELECT blob_id FROM parts WHERE " UPLOAD_IS " AND number=?4")                    \
    X(PART_UPSERT,                                                                                 \
      "INSERT INTO parts(bucket, key, upload_id, number, size, etag, checksum, mtime_ms, "         \
      "blob_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) "                                               \
      "ON CONFLICT(bucket, key, upload_id, number) DO UPDATE SET size=excluded.size, "             \
      "etag=excluded.etag, checksum=excluded.checksum, mtime_ms=excluded.mtime_ms, "               \
      "blob_id=excluded.blob_id")                                                                  \
    X(PART_LIST, "SELECT number, size, etag, checksum, mtime_ms, blob_id FROM parts "              \
                 "WHERE " UPLOAD_IS " AND number>?4 ORDER BY number LIMIT ?5")                     \
    X(PART_BLOBS, "SELECT blob_id FROM parts WHERE " UPLOAD_IS)                                    \
    /* Whether blob ?4 is a part of the upload, and its size; a search by blob id. */              \
    X(PART_OF, "SELECT size FROM parts INDEXED BY parts_blob_id "                                  \
               "WHERE blob_id=?4 AND " UPLOAD_IS)                                                  \
    X(PARTS_DELETE, "DELETE FROM parts WHERE " UPLOAD_IS)                                          \
    X(GC_ADD, "INSERT OR IGNORE INTO gc_queue(blob_id, queued_ms) VALUES(?1,?2)")                  \
    X(GC_DEL, "DELETE FROM gc_queue WHERE blob_id=?1")                                             \
    X(GC_LIST, "SELECT blob_id FROM gc_queue")                                                     \
    X(BLOB_REF, "SELECT 1 WHERE EXISTS(SELECT 1 FROM objects WHERE blob_id=?1) "                   \
                "OR EXISTS(SELECT 1 FROM segments WHERE blob_id=?1) "                              \
                "OR EXISTS(SELECT 1 FROM parts WHERE blob_id=?1)")                                 \
    X(CRED_INSERT, "INSERT INTO credentials(" CRED_COLS ", path) "                                 \
                   "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)")               \
    /* The parent is part of the path: it is a key, never changed. */                              \
    X(CRED_UPDATE, "UPDATE credentials SET name=?2, policy=?4, status=?5, "                        \
                   "created_ms=?6, not_before_ms=?7, expires_ms=?8, allowed_ips=?9, "              \
                   "last_used_ms=?10, secret_sealed=?11, old_secret_sealed=?12, "                  \
                   "old_secret_until_ms=?13, token_hash=?14, version=version+1 "                   \
                   "WHERE id=?1 AND parent_id=?3")                                                 \
    X(CRED_GET, "SELECT " CRED_COLS " FROM credentials WHERE id=?1")                               \
    X(CRED_GET_TOKEN, "SELECT " CRED_COLS " FROM credentials WHERE token_hash=?1 LIMIT 1")         \
    X(CRED_COUNT, "SELECT count(*) FROM credentials")                                              \
    X(CRED_EXISTS, "SELECT 1 FROM credentials WHERE id=?1")                                        \
    X(CRED_TOUCH, "UPDATE credentials SET last_used_ms=?2 WHERE id=?1 AND last_used_ms<?2")        \
    X(CRED_PATH, "SELECT path FROM credentials WHERE id=?1")                                       \
    /* Two primary-key searches; substr and length count bytes of BLOBs. */                        \
    X(CRED_IN_SUBTREE, "SELECT 1 FROM credentials a, credentials c WHERE a.id=?1 AND c.id=?2 "     \
                       "AND substr(c.path, 1, length(a.path))=a.path")                             \
    /* Subtrees: ?1 <= path < ?2, the range of one root's path (see path_range). */                \
    X(CRED_SUBTREE, "SELECT " CRED_COLS " FROM credentials "                                       \
                    "WHERE path>=?1 AND path<?2 ORDER BY path LIMIT ?3")                           \
    /* The ids are gathered (and sorted) first: deleting in primary-key order touches each         \
     * table page once, where path order would hop between them. */                                \
    X(CRED_DELETE_SUBTREE, "DELETE FROM credentials WHERE id IN "                                  \
                           "(SELECT id FROM credentials WHERE path>=?1 AND path<?2)")              \
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
    /* Credential writes move it on. In-process only: the lock below makes this process the
     * database's sole writer. */
    atomic_uint_fast64_t cred_epoch;
    int lock_fd; /* flock()ed: one cofferd per data directory */
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

/* Runs a statement that returns no rows. A duplicate key is CF_EEXIST, for the caller to
 * report; other failures are logged. */
static cf_rc run(conn *c, int id)
{
    sqlite3_stmt *st = c->st[id];
    int rc = sqlite3_step(st);
    cf_rc r = CF_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        r = CF_EEXIST;
    else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
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
static cf_rc begin_write(conn *c)
{
    sqlite3_stmt *st = stmt(c, ST_BEGIN_IMM);
    int rc = SQLITE_ERROR, attempt;
    if (!st)
        return CF_EIO;
    pthread_mutex_lock(&c->m->wlock);
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
    pthread_mutex_unlock(&c->m->wlock);
    return sql_fail(c, rc, "BEGIN IMMEDIATE");
}

/* Commits when rc is CF_OK, else rolls back; releases the write lock. Returns the result. */
static cf_rc end_write(conn *c, cf_rc rc)
{
    if (rc == CF_OK)
        rc = run_simple(c, ST_COMMIT);
    if (rc != CF_OK && !sqlite3_get_autocommit(c->db))
        run_simple(c, ST_ROLLBACK);
    pthread_mutex_unlock(&c->m->wlock);
    return rc;
}

/* This thread's connection in a new write transaction (end it with end_write), or NULL with
 * *rc set. */
static conn *write_conn(cf_meta *mm, cf_rc *rc)
{
    conn *c = get_conn((msq *)mm);
    *rc = c ? begin_write(c) : CF_EIO;
    return *rc == CF_OK ? c : NULL;
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

/* Statement arguments, bound from ?1 on: ARGS(A_TEXT(bucket), A_BLOB(key), A_INT(n)). Text
 * and blobs are borrowed until the statement is done(). */
typedef struct sql_arg {
    int type;
    cf_str s;
    sqlite3_int64 i;
} sql_arg;

enum { ARG_TEXT = 1, ARG_BLOB, ARG_INT, ARG_NULL };

#define A_TEXT(x) ((sql_arg){ARG_TEXT, (x), 0})
#define A_BLOB(x) ((sql_arg){ARG_BLOB, (x), 0})
#define A_INT(x)  ((sql_arg){ARG_INT, CF_STR_NULL, (sqlite3_int64)(x)})
#define A_NULL    ((sql_arg){ARG_NULL, CF_STR_NULL, 0})
#define ARGS(...)                                                                                  \
    (const sql_arg[]){__VA_ARGS__}, sizeof((const sql_arg[]){__VA_ARGS__}) / sizeof(sql_arg)
#define NO_ARGS NULL, 0

/* The cached statement with v bound, or NULL (logged). */
static sqlite3_stmt *query(conn *c, int id, const sql_arg *v, size_t n)
{
    sqlite3_stmt *st = stmt(c, id);
    size_t i;
    for (i = 0; st && i < n; i++) {
        int k = (int)i + 1;
        switch (v[i].type) {
        case ARG_TEXT:
            bind_text(st, k, v[i].s);
            break;
        case ARG_BLOB:
            bind_blob(st, k, v[i].s.p, v[i].s.len);
            break;
        case ARG_INT:
            sqlite3_bind_int64(st, k, v[i].i);
            break;
        default:
            sqlite3_bind_null(st, k);
            break;
        }
    }
    return st;
}

/* Runs a statement that returns no rows (CF_EEXIST on a constraint). */
static cf_rc exec_args(conn *c, int id, const sql_arg *v, size_t n)
{
    if (!query(c, id, v, n))
        return CF_EIO;
    return run(c, id);
}

/* Steps st once; *row tells whether it stands on a row (read it, then done() it). */
static cf_rc step_row(conn *c, sqlite3_stmt *st, bool *row)
{
    int src = sqlite3_step(st);
    *row = src == SQLITE_ROW;
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        return CF_OK;
    return sql_fail(c, src, sqlite3_sql(st));
}

/* Whether the statement yields a row. */
static cf_rc exists_args(conn *c, int id, bool *out, const sql_arg *v, size_t n)
{
    sqlite3_stmt *st = query(c, id, v, n);
    cf_rc rc;
    *out = false;
    if (!st)
        return CF_EIO;
    rc = step_row(c, st, out);
    done(st);
    return rc;
}

/* Fills one item from the row st stands on; strings are copied to a. */
typedef cf_rc (*row_fn)(sqlite3_stmt *st, cf_arena *a, void *item);

/* The one row of st, through fn: CF_ENOTFOUND if there is none. Ends with st done(). */
static cf_rc get_row(conn *c, sqlite3_stmt *st, row_fn fn, cf_arena *a, void *item)
{
    bool row;
    cf_rc rc;
    if (!st)
        return CF_EIO;
    rc = step_row(c, st, &row);
    if (rc == CF_OK)
        rc = row ? fn(st, a, item) : CF_ENOTFOUND;
    done(st);
    return rc;
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

/* Every row of st as an arena array of elem-byte items filled (from zero) by fn. Ends with st
 * done(); a NULL st (not prepared) is CF_EIO. */
static cf_rc get_rows(conn *c, sqlite3_stmt *st, row_fn fn, size_t elem, cf_arena *a, void **out,
                      size_t *n)
{
    char *v = NULL;
    size_t cap = 0, len = 0;
    cf_rc rc = CF_OK;
    int src = SQLITE_DONE;

    *out = NULL;
    *n = 0;
    if (!st)
        return CF_EIO;
    while (rc == CF_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        v = grow(a, v, len, &cap, elem);
        if (!v) {
            rc = CF_ENOMEM;
            break;
        }
        memset(v + len * elem, 0, elem);
        rc = fn(st, a, v + len * elem);
        if (rc == CF_OK)
            len++;
    }
    if (rc == CF_OK && src != SQLITE_DONE)
        rc = sql_fail(c, src, sqlite3_sql(st));
    done(st);
    if (rc == CF_OK) {
        *out = v;
        *n = len;
    }
    return rc;
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

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v < 0 ? 0 : (uint64_t)v;
}

/* SQLite integers are signed: larger counts and quotas are stored as INT64_MAX, which no
 * real usage reaches. */
static sqlite3_int64 u64_to_db(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static size_t blob_id_len(const char *id)
{
    return strnlen(id, CF_BLOB_ID_LEN + 1);
}

/* A blob id given in: 1 to CF_BLOB_ID_LEN characters. */
static bool blob_id_ok(const char *id)
{
    size_t n = blob_id_len(id);
    return n > 0 && n <= CF_BLOB_ID_LEN;
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

/* The encoded headers as a statement argument: NULL when there are none. */
static sql_arg headers_arg(const cf_buf *b)
{
    return b->len ? A_BLOB(cf_buf_str(b)) : A_NULL;
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

/* Decodes a headers column, logging corruption. */
static cf_rc col_headers(sqlite3_stmt *st, int i, cf_arena *a, cf_header **out, size_t *n)
{
    cf_rc rc = headers_decode(col_raw(st, i), a, out, n);
    if (rc == CF_EIO)
        cf_error("meta: corrupt stored headers (%s)", sqlite3_sql(st));
    return rc;
}

/* ---- blob ids: lists of fixed CF_BLOB_ID_LEN + 1 byte records in a cf_buf ---- */

/* Appends the blob id in column 0 of every row of st to ids; ends with st done(). */
static cf_rc collect_ids(conn *c, sqlite3_stmt *st, cf_buf *ids)
{
    char id[CF_BLOB_ID_LEN + 1];
    bool row = true;
    cf_rc rc = CF_OK;

    if (!st)
        return CF_EIO;
    while (rc == CF_OK && (rc = step_row(c, st, &row)) == CF_OK && row) {
        col_blob_id(st, 0, id);
        rc = cf_buf_append(ids, id, sizeof(id));
    }
    done(st);
    return rc;
}

/* Whether anything (an object, a segment, a part) references the blob. */
static cf_rc blob_in_use(conn *c, const char *blob_id, bool *out)
{
    return exists_args(c, ST_BLOB_REF, out, ARGS(A_TEXT(cf_str_c(blob_id))));
}

/* After a reference to the blob went away in the caller's write transaction: queues it for
 * deletion unless something still references it (a metadata-only rewrite keeps its blob).
 * *queued, if non-NULL, tells which. */
static cf_rc gc_release(conn *c, const char *blob_id, bool *queued)
{
    bool used = true;
    cf_rc rc = blob_in_use(c, blob_id, &used);
    if (rc == CF_OK && !used)
        rc = exec_args(c, ST_GC_ADD, ARGS(A_TEXT(cf_str_c(blob_id)), A_INT(cf_now_ms())));
    if (queued)
        *queued = rc == CF_OK && !used;
    return rc;
}

static cf_rc gc_release_all(conn *c, const cf_buf *ids)
{
    cf_rc rc = CF_OK;
    size_t off;
    for (off = 0; rc == CF_OK && off < ids->len; off += CF_BLOB_ID_LEN + 1)
        rc = gc_release(c, ids->p + off, NULL);
    return rc;
}

/* ---- buckets ---- */

static cf_rc read_bucket(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_bucket_info *b = item;
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

/* CF_ENOTFOUND unless the bucket exists. */
static cf_rc bucket_must_exist(conn *c, cf_str name)
{
    bool exists = false;
    cf_rc rc = exists_args(c, ST_BUCKET_EXISTS, &exists, ARGS(A_TEXT(name)));
    return rc == CF_OK && !exists ? CF_ENOTFOUND : rc;
}

static cf_rc read_owner(sqlite3_stmt *st, cf_arena *a, void *item)
{
    return col_str(st, 1, a, item) ? CF_OK : CF_ENOMEM;
}

/* Inserts the bucket inside the caller's write transaction. The usage counters start at
 * zero whatever b says; the quotas are taken from b. */
static cf_rc bucket_insert(conn *c, const cf_bucket_info *b, cf_arena *a, cf_str *existing_owner)
{
    cf_rc rc =
        exec_args(c, ST_BUCKET_INSERT,
                  ARGS(A_TEXT(b->name), A_TEXT(b->owner), A_TEXT(b->region), A_INT(b->created_ms),
                       A_INT(u64_to_db(b->quota_bytes)), A_INT(u64_to_db(b->quota_objects))));
    if (rc == CF_EEXIST && existing_owner && a) {
        *existing_owner = CF_STR_NULL;
        if (get_row(c, query(c, ST_BUCKET_GET, ARGS(A_TEXT(b->name))), read_owner, a,
                    existing_owner) != CF_OK)
            *existing_owner = CF_STR_NULL;
    }
    return rc;
}

static cf_rc m_bucket_create(cf_meta *mm, const cf_bucket_info *b, cf_arena *a,
                             cf_str *existing_owner)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);
    if (!c)
        return rc;
    return end_write(c, bucket_insert(c, b, a, existing_owner));
}

static cf_rc m_bucket_get(cf_meta *mm, cf_str name, cf_arena *a, cf_bucket_info *out)
{
    conn *c = get_conn((msq *)mm);
    memset(out, 0, sizeof(*out));
    if (!c)
        return CF_EIO;
    return get_row(c, query(c, ST_BUCKET_GET, ARGS(A_TEXT(name))), read_bucket, a, out);
}

static cf_rc m_bucket_list(cf_meta *mm, cf_arena *a, cf_bucket_info **out, size_t *n)
{
    conn *c = get_conn((msq *)mm);
    void *v = NULL;
    cf_rc rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    rc = get_rows(c, query(c, ST_BUCKET_LIST, NO_ARGS), read_bucket, sizeof(**out), a, &v, n);
    *out = v;
    return rc;
}

/* Objects and uploads in progress both keep a bucket from being deleted; its documents go
 * with it. */
static cf_rc m_bucket_delete(cf_meta *mm, cf_str name)
{
    bool objects = false, uploads = false;
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = bucket_must_exist(c, name);
    if (rc == CF_OK)
        rc = exists_args(c, ST_BUCKET_HAS_OBJECTS, &objects, ARGS(A_TEXT(name)));
    if (rc == CF_OK)
        rc = exists_args(c, ST_BUCKET_HAS_UPLOADS, &uploads, ARGS(A_TEXT(name)));
    if (rc == CF_OK && (objects || uploads))
        rc = CF_ENOTEMPTY;
    if (rc == CF_OK)
        rc = exec_args(c, ST_DOCS_DELETE, ARGS(A_TEXT(name)));
    if (rc == CF_OK)
        rc = exec_args(c, ST_BUCKET_DELETE, ARGS(A_TEXT(name)));
    return end_write(c, rc);
}

static cf_rc m_bucket_set_quota(cf_meta *mm, cf_str name, uint64_t max_bytes, uint64_t max_objects)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = exec_args(c, ST_BUCKET_SET_QUOTA,
                   ARGS(A_TEXT(name), A_INT(u64_to_db(max_bytes)), A_INT(u64_to_db(max_objects))));
    if (rc == CF_OK && sqlite3_changes(c->db) == 0)
        rc = CF_ENOTFOUND;
    return end_write(c, rc);
}

/* ---- bucket documents ---- */

static cf_rc read_doc(sqlite3_stmt *st, cf_arena *a, void *item)
{
    return col_str(st, 0, a, item) ? CF_OK : CF_ENOMEM;
}

static cf_rc m_bucket_doc_get(cf_meta *mm, cf_str bucket, const char *kind, cf_arena *a,
                              cf_str *out)
{
    conn *c = get_conn((msq *)mm);
    *out = CF_STR_NULL;
    if (!c)
        return CF_EIO;
    return get_row(c, query(c, ST_DOC_GET, ARGS(A_TEXT(bucket), A_TEXT(cf_str_c(kind)))), read_doc,
                   a, out);
}

/* CF_ENOTFOUND if the bucket does not exist. */
static cf_rc m_bucket_doc_put(cf_meta *mm, cf_str bucket, const char *kind, cf_str doc)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = bucket_must_exist(c, bucket);
    if (rc == CF_OK)
        rc = exec_args(c, ST_DOC_PUT, ARGS(A_TEXT(bucket), A_TEXT(cf_str_c(kind)), A_BLOB(doc)));
    return end_write(c, rc);
}

/* Deleting an unset document is fine (CF_OK); a missing bucket is CF_ENOTFOUND. */
static cf_rc m_bucket_doc_delete(cf_meta *mm, cf_str bucket, const char *kind)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = bucket_must_exist(c, bucket);
    if (rc == CF_OK)
        rc = exec_args(c, ST_DOC_DELETE, ARGS(A_TEXT(bucket), A_TEXT(cf_str_c(kind))));
    return end_write(c, rc);
}

/* ---- objects ---- */

static cf_rc read_segment(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_segment *s = item;
    col_blob_id(st, 0, s->blob_id);
    s->size = col_u64(st, 1);
    if (!col_str(st, 2, a, &s->etag) || !col_str(st, 3, a, &s->checksum))
        return CF_ENOMEM;
    return CF_OK;
}

static cf_rc m_object_get(cf_meta *mm, cf_str bucket, cf_str key, cf_arena *a, cf_object_info *out)
{
    conn *c = get_conn((msq *)mm);
    sqlite3_stmt *st;
    sqlite3_int64 nseg = 0;
    bool found = false;
    void *segs = NULL;
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    if (!c || !(st = query(c, ST_OBJ_GET, ARGS(A_TEXT(bucket), A_BLOB(key)))))
        return CF_EIO;
    rc = step_row(c, st, &found);
    if (rc == CF_OK && !found)
        rc = CF_ENOTFOUND;
    if (rc != CF_OK)
        goto out;
    out->bucket = cf_arena_str(a, bucket);
    out->key = cf_arena_str(a, key);
    out->size = col_u64(st, 0);
    out->mtime_ms = sqlite3_column_int64(st, 2);
    col_blob_id(st, 3, out->blob_id);
    if (!out->bucket.p || !out->key.p || !col_str(st, 1, a, &out->etag) ||
        !col_str(st, 4, a, &out->inline_body)) {
        rc = CF_ENOMEM;
        goto out;
    }
    rc = col_headers(st, 5, a, &out->headers, &out->nheaders);
    nseg = sqlite3_column_int64(st, 6);
    /* While st stands on its row, its read transaction is open: the segments come from the
     * same snapshot as the object. */
    if (rc == CF_OK && nseg > 0) {
        rc = get_rows(c, query(c, ST_SEG_LIST, ARGS(A_TEXT(bucket), A_BLOB(key))), read_segment,
                      sizeof(cf_segment), a, &segs, &out->nsegments);
        out->segments = segs;
        if (rc == CF_OK && out->nsegments != (size_t)nseg) {
            cf_error("meta: object in bucket %.*s has %zu of its %lld segments", CF_STR_FMT(bucket),
                     out->nsegments, (long long)nseg);
            rc = CF_EIO;
        }
    }
out:
    done(st);
    if (rc != CF_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

typedef struct usage {
    uint64_t objects, bytes, quota_bytes, quota_objects;
} usage;

static cf_rc read_usage(sqlite3_stmt *st, cf_arena *a, void *item)
{
    usage *u = item;
    (void)a;
    u->objects = col_u64(st, 0);
    u->bytes = col_u64(st, 1);
    u->quota_bytes = col_u64(st, 2);
    u->quota_objects = col_u64(st, 3);
    return CF_OK;
}

/* The bucket's usage and quotas, read in the caller's write transaction (so they cannot
 * change before it ends). CF_ENOTFOUND if the bucket does not exist. */
static cf_rc bucket_usage(conn *c, cf_str name, usage *u)
{
    memset(u, 0, sizeof(*u));
    return get_row(c, query(c, ST_BUCKET_USAGE, ARGS(A_TEXT(name))), read_usage, NULL, u);
}

static cf_rc bucket_usage_set(conn *c, cf_str name, uint64_t objects, uint64_t bytes)
{
    return exec_args(c, ST_BUCKET_USAGE_SET,
                     ARGS(A_TEXT(name), A_INT(u64_to_db(objects)), A_INT(u64_to_db(bytes))));
}

/* Whether one dimension of usage may go from cur to next under quota (0: none). A write that
 * does not grow the usage passes even when a lowered quota is already exceeded, so an
 * over-quota bucket can still shrink by overwrites as well as by deletes. */
static bool within_quota(uint64_t cur, uint64_t next, uint64_t quota)
{
    return quota == 0 || next <= quota || next <= cur;
}

/* The version of a key a write replaces or deletes, read in the write transaction. */
typedef struct cur_obj {
    bool found;
    char blob[CF_BLOB_ID_LEN + 1]; /* its single blob, or "" */
    uint64_t size;
    cf_buf segs; /* its segments' blob ids (CF_BLOB_ID_LEN + 1 bytes each) */
} cur_obj;

static void cur_init(cur_obj *o)
{
    memset(o, 0, sizeof(*o));
    cf_buf_init(&o->segs, BLOB_IDS_MAX);
}

/* What the current version must be, from a put's or a delete's conditions. */
typedef struct precond {
    bool absent;      /* the key must not exist */
    bool present;     /* the key must exist */
    cf_str etag;      /* non-empty: the current etag must equal it */
    int64_t mtime_ms; /* non-zero: the current mtime must equal it */
} precond;

/* Reads the current version of bucket/key and checks pc (may be NULL) against it:
 * CF_ECONFLICT if it fails. */
static cf_rc cur_read(conn *c, cf_str bucket, cf_str key, const precond *pc, cur_obj *o)
{
    sqlite3_stmt *st = query(c, ST_OBJ_CUR, ARGS(A_TEXT(bucket), A_BLOB(key)));
    bool segmented = false;
    cf_rc rc;

    if (!st)
        return CF_EIO;
    rc = step_row(c, st, &o->found);
    if (rc == CF_OK && o->found) {
        col_blob_id(st, 1, o->blob);
        o->size = col_u64(st, 2);
        segmented = sqlite3_column_int64(st, 3) > 0;
        if (pc && ((pc->etag.len && !cf_str_eq(pc->etag, col_raw(st, 0))) ||
                   (pc->mtime_ms && pc->mtime_ms != sqlite3_column_int64(st, 4))))
            rc = CF_ECONFLICT;
    }
    done(st);
    if (rc == CF_OK && pc && ((o->found && pc->absent) || (!o->found && pc->present)))
        rc = CF_ECONFLICT;
    if (rc == CF_OK && segmented)
        rc = collect_ids(c, query(c, ST_SEG_LIST, ARGS(A_TEXT(bucket), A_BLOB(key))), &o->segs);
    return rc;
}

/* Removes the current version's rows, if any. The objects row is left to the caller (the
 * upsert replaces it). */
static cf_rc cur_drop_segments(conn *c, cf_str bucket, cf_str key, const cur_obj *o)
{
    if (!o->segs.len)
        return CF_OK;
    return exec_args(c, ST_SEG_DELETE, ARGS(A_TEXT(bucket), A_BLOB(key)));
}

/* After the version is replaced or deleted: queues its blobs nothing references any more.
 * Its single blob's id goes to reported (if non-NULL) when queued. */
static cf_rc cur_release(conn *c, const cur_obj *o, char reported[CF_BLOB_ID_LEN + 1])
{
    bool queued = false;
    cf_rc rc = CF_OK;
    if (o->blob[0]) {
        rc = gc_release(c, o->blob, &queued);
        if (queued && reported)
            memcpy(reported, o->blob, sizeof(o->blob));
    }
    if (rc == CF_OK)
        rc = gc_release_all(c, &o->segs);
    return rc;
}

/* Usage after a write that replaces o (if found) by size bytes; CF_ETOOBIG past a quota (the
 * replaced object counted as gone). */
static cf_rc usage_after(const usage *u, const cur_obj *o, uint64_t size, uint64_t *objects,
                         uint64_t *bytes)
{
    *objects = u->objects + (o->found ? 0 : 1);
    *bytes = u->bytes - (o->size < u->bytes ? o->size : u->bytes);
    if (size > (uint64_t)INT64_MAX - *bytes)
        return CF_ETOOBIG;
    *bytes += size;
    if (!within_quota(u->objects, *objects, u->quota_objects) ||
        !within_quota(u->bytes, *bytes, u->quota_bytes))
        return CF_ETOOBIG;
    return CF_OK;
}

/* A version's shape: a blob id that fits; segments only without a single blob or inline
 * body, each with a blob, adding up to the size. */
static cf_rc obj_check(const cf_object_info *obj)
{
    uint64_t total = 0;
    size_t i;
    if (blob_id_len(obj->blob_id) > CF_BLOB_ID_LEN)
        return CF_EINVAL;
    if (obj->nsegments == 0)
        return CF_OK;
    if (obj->nsegments > PARTS_MAX || obj->blob_id[0] || obj->inline_body.len)
        return CF_EINVAL;
    for (i = 0; i < obj->nsegments; i++) {
        if (!blob_id_ok(obj->segments[i].blob_id) || obj->segments[i].size > UINT64_MAX - total)
            return CF_EINVAL;
        total += obj->segments[i].size;
    }
    return total == obj->size ? CF_OK : CF_EINVAL;
}

/* Writes obj over the key's current version in the caller's write transaction: conditions,
 * quota, usage, segments, and the replaced version's blobs (see cur_release). */
static cf_rc obj_write(conn *c, const cf_object_info *obj, const cf_put_cond *cond,
                       const cf_buf *hdr, char replaced[CF_BLOB_ID_LEN + 1])
{
    size_t idlen = blob_id_len(obj->blob_id), i;
    bool body_inline = !idlen && !obj->nsegments;
    uint64_t objects = 0, bytes = 0;
    precond pc = {.absent = cond && cond->if_none_match_any,
                  .present = cond && cond->if_match_etag.len,
                  .etag = cond ? cond->if_match_etag : CF_STR_NULL};
    cur_obj o;
    usage u;
    cf_rc rc;

    cur_init(&o);
    rc = bucket_usage(c, obj->bucket, &u);
    if (rc == CF_OK)
        rc = cur_read(c, obj->bucket, obj->key, &pc, &o);
    if (rc == CF_OK)
        rc = usage_after(&u, &o, obj->size, &objects, &bytes);
    if (rc == CF_OK)
        rc = cur_drop_segments(c, obj->bucket, obj->key, &o);
    if (rc == CF_OK)
        rc = exec_args(c, ST_OBJ_UPSERT,
                       ARGS(A_TEXT(obj->bucket), A_BLOB(obj->key), A_INT(u64_to_db(obj->size)),
                            A_TEXT(obj->etag), A_INT(obj->mtime_ms),
                            idlen ? A_TEXT(cf_str_make(obj->blob_id, idlen)) : A_NULL,
                            body_inline || obj->inline_body.len ? A_BLOB(obj->inline_body) : A_NULL,
                            headers_arg(hdr), A_INT(obj->nsegments)));
    for (i = 0; rc == CF_OK && i < obj->nsegments; i++) {
        const cf_segment *s = &obj->segments[i];
        rc = exec_args(c, ST_SEG_INSERT,
                       ARGS(A_TEXT(obj->bucket), A_BLOB(obj->key), A_INT(i),
                            A_TEXT(cf_str_c(s->blob_id)), A_INT(u64_to_db(s->size)),
                            A_TEXT(s->etag), A_TEXT(s->checksum)));
    }
    if (rc == CF_OK)
        rc = bucket_usage_set(c, obj->bucket, objects, bytes);
    if (rc == CF_OK)
        rc = cur_release(c, &o, replaced);
    cf_buf_free(&o.segs);
    return rc;
}

/* A segmented version (upload_complete) reports no replaced blob: its segments' blobs are
 * queued, and found by gc_pending. */
static cf_rc m_object_put(cf_meta *mm, const cf_object_info *obj, const cf_put_cond *cond,
                          char replaced_blob[CF_BLOB_ID_LEN + 1])
{
    cf_buf hdr;
    conn *c;
    cf_rc rc;

    if (replaced_blob)
        replaced_blob[0] = '\0';
    cf_buf_init(&hdr, HEADERS_MAX);
    rc = obj_check(obj);
    /* Serialise before taking the write lock. */
    if (rc == CF_OK)
        rc = headers_encode(obj->headers, obj->nheaders, &hdr);
    if (rc == CF_OK && (c = write_conn(mm, &rc)) != NULL)
        rc = end_write(c, obj_write(c, obj, cond, &hdr, replaced_blob));
    if (rc != CF_OK && replaced_blob)
        replaced_blob[0] = '\0';
    cf_buf_free(&hdr);
    return rc;
}

static cf_rc m_object_delete(cf_meta *mm, cf_str bucket, cf_str key, const cf_del_cond *cond,
                             char deleted_blob[CF_BLOB_ID_LEN + 1])
{
    precond pc = {0};
    cur_obj o;
    usage u;
    conn *c;
    cf_rc rc;

    if (deleted_blob)
        deleted_blob[0] = '\0';
    if (cond) {
        pc.etag = cond->if_match_etag;
        pc.mtime_ms = cond->if_mtime_ms;
        pc.present = cond->if_exists || pc.etag.len || pc.mtime_ms;
    }
    if (!(c = write_conn(mm, &rc)))
        return rc;
    cur_init(&o);
    rc = bucket_usage(c, bucket, &u);
    if (rc == CF_OK)
        rc = cur_read(c, bucket, key, &pc, &o);
    if (rc == CF_OK && o.found) {
        rc = exec_args(c, ST_OBJ_DELETE, ARGS(A_TEXT(bucket), A_BLOB(key)));
        if (rc == CF_OK)
            rc = cur_drop_segments(c, bucket, key, &o);
        /* Clamped at zero: counters never wrap, even if they were ever off. */
        if (rc == CF_OK)
            rc = bucket_usage_set(c, bucket, u.objects ? u.objects - 1 : 0,
                                  u.bytes - (o.size < u.bytes ? o.size : u.bytes));
        if (rc == CF_OK)
            rc = cur_release(c, &o, deleted_blob);
    }
    rc = end_write(c, rc);
    if (rc != CF_OK && deleted_blob)
        deleted_blob[0] = '\0';
    cf_buf_free(&o.segs);
    return rc;
}

/* Replaces the headers only: the body, size, mtime and segments stay. */
static cf_rc m_object_set_headers(cf_meta *mm, cf_str bucket, cf_str key, cf_str etag,
                                  const cf_header *h, size_t n)
{
    bool found = false;
    cf_buf hdr;
    conn *c;
    cf_rc rc;

    cf_buf_init(&hdr, HEADERS_MAX);
    rc = headers_encode(h, n, &hdr);
    if (rc != CF_OK || !(c = write_conn(mm, &rc)))
        goto out;
    rc = exec_args(c, ST_OBJ_SET_HEADERS,
                   ARGS(A_TEXT(bucket), A_BLOB(key), A_TEXT(etag), headers_arg(&hdr)));
    if (rc == CF_OK && sqlite3_changes(c->db) == 0) {
        rc = exists_args(c, ST_OBJ_CUR, &found, ARGS(A_TEXT(bucket), A_BLOB(key)));
        if (rc == CF_OK)
            rc = found ? CF_ECONFLICT : CF_ENOTFOUND;
    }
    rc = end_write(c, rc);
out:
    cf_buf_free(&hdr);
    return rc;
}

/* ---- listings ---- */

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

/* One page of a listing in key order (objects or uploads): one ordered range scan on an
 * index. With a delimiter, a key that yields a common prefix makes the scan jump past every
 * key under that prefix (a fresh seek), so a page costs O(page size) seeks whatever the
 * bucket holds. */
typedef struct lister {
    cf_str prefix, delimiter;
    cf_str marker; /* keys and common prefixes up to it were listed by earlier pages */
    uint32_t max, n;
    cf_buf seek; /* where the scan starts or jumps to */
    cf_arena *a;
    cf_str *prefixes;
    size_t nprefixes, cap;
    cf_str last; /* the last key or common prefix taken */
    bool truncated;
} lister;

enum { LS_ITEM, LS_JUMP, LS_END };

/* Sets the first seek: the prefix, or the marker if it sorts later (x + NUL is the least
 * string greater than x, for an exclusive marker). */
static cf_rc ls_start(lister *l, bool marker_inclusive)
{
    cf_rc rc;
    if (cf_str_cmp(l->marker, l->prefix) < 0)
        return cf_buf_append_str(&l->seek, l->prefix);
    rc = cf_buf_append_str(&l->seek, l->marker);
    if (rc == CF_OK && !marker_inclusive)
        rc = cf_buf_append_ch(&l->seek, '\0');
    return rc;
}

/* Sorts the key the scan stands on: LS_END when the page is done (past the prefix; or full,
 * then truncated); LS_JUMP when the key falls under a common prefix (taken now unless an
 * earlier page had it; the scan must then restart at l->seek); LS_ITEM for an item, which
 * the caller takes. On failure, LS_END with *rc set. */
static int ls_key(lister *l, cf_str key, cf_rc *rc)
{
    ptrdiff_t d;
    cf_str cp, *slot;

    *rc = CF_OK;
    if (!cf_str_starts(key, l->prefix))
        return LS_END;
    d = find_sub(cf_str_sub(key, l->prefix.len, key.len), l->delimiter);
    if (d < 0) {
        l->truncated = l->n == l->max;
        return l->truncated ? LS_END : LS_ITEM;
    }
    cp = cf_str_make(key.p, l->prefix.len + (size_t)d + l->delimiter.len);
    if (cf_str_cmp(cp, l->marker) > 0) {
        if (l->n == l->max) {
            l->truncated = true;
            return LS_END;
        }
        l->prefixes = grow(l->a, l->prefixes, l->nprefixes, &l->cap, sizeof(cf_str));
        slot = l->prefixes ? &l->prefixes[l->nprefixes] : NULL;
        if (!slot || !(*slot = cf_arena_str(l->a, cp)).p) {
            *rc = CF_ENOMEM;
            return LS_END;
        }
        l->nprefixes++;
        l->n++;
        l->last = *slot;
    }
    /* No successor (cp all 0xFF): no key sorts after its members. */
    return prefix_successor(cp, &l->seek, rc) ? LS_JUMP : LS_END;
}

/* Whether the scan should pass over the row it stands on (already listed). */
typedef bool (*listed_fn)(sqlite3_stmt *st, const void *ctx);

/* The items a listing returns: elem bytes each, read by fn, with cf_str members bucket and
 * key at these offsets. */
typedef struct ls_items {
    size_t elem, bucket_off, key_off;
    row_fn fn;
} ls_items;

/* Scans a page of bucket into an arena array. Statement id takes ?1 the bucket and ?2 the
 * seek key and gives rows in key order, the key in column 0; rows that listed (if given)
 * accepts are passed over. */
static cf_rc ls_page(conn *c, lister *l, int id, cf_str bucket, bool marker_inclusive,
                     const ls_items *it, listed_fn listed, const void *ctx, void **items, size_t *n)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL, *item;
    size_t cap = 0, len = 0;
    bool row = false;
    cf_str bcopy = cf_arena_str(l->a, bucket);
    cf_rc rc = bcopy.p ? ls_start(l, marker_inclusive) : CF_ENOMEM;

    *items = NULL;
    *n = 0;
    if (rc == CF_OK && !(st = query(c, id, ARGS(A_TEXT(bucket)))))
        rc = CF_EIO;
    if (rc != CF_OK)
        return rc;
    bind_blob_copy(st, 2, l->seek.p, l->seek.len);
    while ((rc = step_row(c, st, &row)) == CF_OK && row) {
        int k;
        if (listed && listed(st, ctx))
            continue;
        k = ls_key(l, col_raw(st, 0), &rc);
        if (k == LS_END)
            break;
        if (k == LS_JUMP) {
            /* Restart the scan at the first key after the common prefix. */
            sqlite3_reset(st);
            bind_blob_copy(st, 2, l->seek.p, l->seek.len);
            continue;
        }
        if (!(v = grow(l->a, v, len, &cap, it->elem))) {
            rc = CF_ENOMEM;
            break;
        }
        item = v + len * it->elem;
        memset(item, 0, it->elem);
        if ((rc = it->fn(st, l->a, item)) != CF_OK)
            break;
        memcpy(item + it->bucket_off, &bcopy, sizeof(bcopy));
        l->last = *(const cf_str *)(item + it->key_off);
        l->n++;
        len++;
    }
    done(st);
    *items = v;
    *n = len;
    return rc;
}

static cf_rc read_listed(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_object_info *o = item;
    o->size = col_u64(st, 1);
    o->mtime_ms = sqlite3_column_int64(st, 3);
    col_blob_id(st, 4, o->blob_id);
    o->inline_body = cf_str_make("", 0);
    if (!col_str(st, 0, a, &o->key) || !col_str(st, 2, a, &o->etag))
        return CF_ENOMEM;
    return CF_OK;
}

static const ls_items object_items = {sizeof(cf_object_info), offsetof(cf_object_info, bucket),
                                      offsetof(cf_object_info, key), read_listed};

/* A listing's read snapshot (end it with end_read), in which the bucket must exist. */
static cf_rc ls_begin(conn *c, cf_str bucket)
{
    cf_rc rc = begin_read(c);
    return rc == CF_OK ? bucket_must_exist(c, bucket) : rc;
}

static cf_rc m_object_list(cf_meta *mm, cf_str bucket, const cf_list_params *p, cf_arena *a,
                           cf_list_result *out)
{
    conn *c = get_conn((msq *)mm);
    lister l = {.prefix = p->prefix,
                .delimiter = p->delimiter,
                .marker = p->start_after,
                .max = p->max_keys,
                .a = a};
    void *v = NULL;
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    if (!c)
        return CF_EIO;
    cf_buf_init(&l.seek, SEEK_MAX);
    rc = ls_begin(c, bucket);
    if (rc == CF_OK && p->max_keys > 0) {
        rc = ls_page(c, &l, ST_OBJ_LIST, bucket, false, &object_items, NULL, NULL, &v,
                     &out->nobjects);
        out->objects = v;
        out->prefixes = l.prefixes;
        out->nprefixes = l.nprefixes;
        out->truncated = l.truncated;
        if (l.truncated)
            out->next_marker = l.last;
    }
    end_read(c);
    cf_buf_free(&l.seek);
    if (rc != CF_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- multipart uploads ---- */

/* The arguments naming one upload, for statements on UPLOAD_IS. */
#define UPLOAD_ARGS(bucket, key, id) A_TEXT(bucket), A_BLOB(key), A_TEXT(id)

static cf_rc read_upload(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_upload_info *u = item;
    u->initiated_ms = sqlite3_column_int64(st, 3);
    if (!col_str(st, 0, a, &u->key) || !col_str(st, 1, a, &u->upload_id) ||
        !col_str(st, 2, a, &u->initiator))
        return CF_ENOMEM;
    return col_headers(st, 4, a, &u->headers, &u->nheaders);
}

static cf_rc read_part(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_part_info *p = item;
    p->number = (uint32_t)sqlite3_column_int64(st, 0);
    p->size = col_u64(st, 1);
    p->mtime_ms = sqlite3_column_int64(st, 4);
    col_blob_id(st, 5, p->blob_id);
    if (!col_str(st, 2, a, &p->etag) || !col_str(st, 3, a, &p->checksum))
        return CF_ENOMEM;
    return CF_OK;
}

static cf_rc read_blob_id(sqlite3_stmt *st, cf_arena *a, void *item)
{
    (void)a;
    col_blob_id(st, 0, item);
    return CF_OK;
}

static cf_rc read_u64(sqlite3_stmt *st, cf_arena *a, void *item)
{
    (void)a;
    *(uint64_t *)item = col_u64(st, 0);
    return CF_OK;
}

/* CF_ENOTFOUND unless the upload exists. */
static cf_rc upload_must_exist(conn *c, cf_str bucket, cf_str key, cf_str upload_id)
{
    bool exists = false;
    cf_rc rc = exists_args(c, ST_UPLOAD_GET, &exists, ARGS(UPLOAD_ARGS(bucket, key, upload_id)));
    return rc == CF_OK && !exists ? CF_ENOTFOUND : rc;
}

/* Removes the upload and its parts in the caller's write transaction; the parts' blobs are
 * queued unless something references them (a completed object's segments). */
static cf_rc upload_drop(conn *c, cf_str bucket, cf_str key, cf_str upload_id)
{
    cf_buf ids;
    cf_rc rc;

    cf_buf_init(&ids, BLOB_IDS_MAX);
    rc = collect_ids(c, query(c, ST_PART_BLOBS, ARGS(UPLOAD_ARGS(bucket, key, upload_id))), &ids);
    if (rc == CF_OK)
        rc = exec_args(c, ST_PARTS_DELETE, ARGS(UPLOAD_ARGS(bucket, key, upload_id)));
    if (rc == CF_OK)
        rc = exec_args(c, ST_UPLOAD_DELETE, ARGS(UPLOAD_ARGS(bucket, key, upload_id)));
    if (rc == CF_OK)
        rc = gc_release_all(c, &ids);
    cf_buf_free(&ids);
    return rc;
}

/* CF_EEXIST if the upload id is taken for that key. */
static cf_rc m_upload_create(cf_meta *mm, const cf_upload_info *u)
{
    cf_buf hdr;
    conn *c;
    cf_rc rc;

    if (!u->upload_id.len)
        return CF_EINVAL;
    cf_buf_init(&hdr, HEADERS_MAX);
    rc = headers_encode(u->headers, u->nheaders, &hdr);
    if (rc != CF_OK || !(c = write_conn(mm, &rc)))
        goto out;
    rc = bucket_must_exist(c, u->bucket);
    if (rc == CF_OK)
        rc = exec_args(c, ST_UPLOAD_INSERT,
                       ARGS(UPLOAD_ARGS(u->bucket, u->key, u->upload_id), A_TEXT(u->initiator),
                            A_INT(u->initiated_ms), headers_arg(&hdr)));
    rc = end_write(c, rc);
out:
    cf_buf_free(&hdr);
    return rc;
}

static cf_rc m_upload_get(cf_meta *mm, cf_str bucket, cf_str key, cf_str upload_id, cf_arena *a,
                          cf_upload_info *out)
{
    conn *c = get_conn((msq *)mm);
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    if (!c)
        return CF_EIO;
    rc = get_row(c, query(c, ST_UPLOAD_GET, ARGS(UPLOAD_ARGS(bucket, key, upload_id))), read_upload,
                 a, out);
    if (rc == CF_OK && !(out->bucket = cf_arena_str(a, bucket)).p)
        rc = CF_ENOMEM;
    if (rc != CF_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* Where a listing with both markers resumes within the marker key's uploads. */
typedef struct upload_resume {
    cf_str key, id;      /* the markers */
    cf_upload_info mark; /* the marker upload, if it still exists */
    bool found;
} upload_resume;

/* Whether the row is an upload of the marker key listed before the resume point: at or
 * before the marker upload in listing order or, if that one is gone, with an id not above
 * the marker (as S3 words it). */
static bool upload_listed(sqlite3_stmt *st, const void *ctx)
{
    const upload_resume *r = ctx;
    int64_t ms = sqlite3_column_int64(st, 3);
    cf_str id = col_raw(st, 1);
    if (!cf_str_eq(col_raw(st, 0), r->key))
        return false;
    if (!r->found)
        return cf_str_cmp(id, r->id) <= 0;
    return ms < r->mark.initiated_ms ||
           (ms == r->mark.initiated_ms && cf_str_cmp(id, r->mark.upload_id) <= 0);
}

/* ListMultipartUploads. Without an upload-id marker the key marker is exclusive; with one,
 * the marker key's uploads after that upload come first. */
static cf_rc m_upload_list(cf_meta *mm, cf_str bucket, const cf_upload_list_params *p, cf_arena *a,
                           cf_upload_list_result *out)
{
    conn *c = get_conn((msq *)mm);
    lister l = {.prefix = p->prefix,
                .delimiter = p->delimiter,
                .marker = p->key_marker,
                .max = p->max_uploads,
                .a = a};
    upload_resume r = {.key = p->key_marker, .id = p->upload_id_marker};
    bool resume = p->key_marker.len && p->upload_id_marker.len;
    static const ls_items items = {sizeof(cf_upload_info), offsetof(cf_upload_info, bucket),
                                   offsetof(cf_upload_info, key), read_upload};
    void *v = NULL;
    cf_upload_info *last;
    cf_rc rc;

    memset(out, 0, sizeof(*out));
    if (!c)
        return CF_EIO;
    cf_buf_init(&l.seek, SEEK_MAX);
    rc = ls_begin(c, bucket);
    if (rc != CF_OK || p->max_uploads == 0)
        goto out;
    if (resume) {
        rc = get_row(c, query(c, ST_UPLOAD_GET, ARGS(UPLOAD_ARGS(bucket, r.key, r.id))),
                     read_upload, a, &r.mark);
        r.found = rc == CF_OK;
        if (rc == CF_ENOTFOUND)
            rc = CF_OK;
    }
    if (rc == CF_OK)
        rc = ls_page(c, &l, ST_UPLOAD_LIST, bucket, resume, &items, resume ? upload_listed : NULL,
                     &r, &v, &out->nuploads);
    out->uploads = v;
    out->prefixes = l.prefixes;
    out->nprefixes = l.nprefixes;
    out->truncated = l.truncated;
    if (l.truncated) {
        out->next_key_marker = l.last;
        /* The page ended on an upload (not a common prefix): resume after it. */
        last = out->nuploads ? &out->uploads[out->nuploads - 1] : NULL;
        if (last && l.last.p == last->key.p)
            out->next_upload_id_marker = last->upload_id;
    }
out:
    end_read(c);
    cf_buf_free(&l.seek);
    if (rc != CF_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* The upload's existence is checked in the same transaction: a part that lost the race with
 * complete or abort is refused (the caller deletes its blob). */
static cf_rc m_part_put(cf_meta *mm, cf_str bucket, cf_str key, cf_str upload_id,
                        const cf_part_info *p)
{
    char old[CF_BLOB_ID_LEN + 1] = "";
    conn *c;
    cf_rc rc;

    if (p->number < 1 || p->number > PARTS_MAX || !blob_id_ok(p->blob_id))
        return CF_EINVAL;
    if (!(c = write_conn(mm, &rc)))
        return rc;
    rc = upload_must_exist(c, bucket, key, upload_id);
    if (rc == CF_OK) {
        rc = get_row(
            c, query(c, ST_PART_BLOB, ARGS(UPLOAD_ARGS(bucket, key, upload_id), A_INT(p->number))),
            read_blob_id, NULL, old);
        if (rc == CF_ENOTFOUND)
            rc = CF_OK;
    }
    if (rc == CF_OK)
        rc = exec_args(c, ST_PART_UPSERT,
                       ARGS(UPLOAD_ARGS(bucket, key, upload_id), A_INT(p->number),
                            A_INT(u64_to_db(p->size)), A_TEXT(p->etag), A_TEXT(p->checksum),
                            A_INT(p->mtime_ms), A_TEXT(cf_str_c(p->blob_id))));
    if (rc == CF_OK && old[0])
        rc = gc_release(c, old, NULL);
    return end_write(c, rc);
}

/* CF_ENOTFOUND if the upload does not exist. */
static cf_rc m_part_list(cf_meta *mm, cf_str bucket, cf_str key, cf_str upload_id, uint32_t after,
                         uint32_t max, cf_arena *a, cf_part_info **out, size_t *n, bool *truncated)
{
    conn *c = get_conn((msq *)mm);
    void *v = NULL;
    cf_rc rc;

    *out = NULL;
    *n = 0;
    *truncated = false;
    if (!c)
        return CF_EIO;
    rc = begin_read(c);
    if (rc == CF_OK)
        rc = upload_must_exist(c, bucket, key, upload_id);
    /* One row more than asked tells whether more follow. */
    if (rc == CF_OK)
        rc = get_rows(
            c,
            query(c, ST_PART_LIST,
                  ARGS(UPLOAD_ARGS(bucket, key, upload_id), A_INT(after), A_INT((int64_t)max + 1))),
            read_part, sizeof(cf_part_info), a, &v, n);
    end_read(c);
    if (rc != CF_OK) {
        *n = 0;
        return rc;
    }
    *out = v;
    if (*n > max) {
        *n = max;
        *truncated = true;
    }
    return CF_OK;
}

/* Every segment must be a part of the upload now, of the part's size: a part replaced since
 * the caller listed the parts has a new blob (and its old one may be queued already).
 * CF_EINVAL otherwise, or when there are no segments. */
static cf_rc segments_are_parts(conn *c, const cf_object_info *obj, cf_str upload_id)
{
    cf_rc rc = obj->nsegments ? CF_OK : CF_EINVAL;
    size_t i;

    for (i = 0; rc == CF_OK && i < obj->nsegments; i++) {
        const cf_segment *s = &obj->segments[i];
        uint64_t size = 0;
        rc = get_row(c,
                     query(c, ST_PART_OF,
                           ARGS(UPLOAD_ARGS(obj->bucket, obj->key, upload_id),
                                A_TEXT(cf_str_c(s->blob_id)))),
                     read_u64, NULL, &size);
        if (rc == CF_ENOTFOUND || (rc == CF_OK && size != s->size))
            rc = CF_EINVAL;
    }
    return rc;
}

static cf_rc m_upload_complete(cf_meta *mm, const cf_object_info *obj, cf_str upload_id,
                               const cf_put_cond *cond)
{
    cf_buf hdr;
    conn *c;
    cf_rc rc;

    cf_buf_init(&hdr, HEADERS_MAX);
    rc = obj_check(obj);
    if (rc == CF_OK)
        rc = headers_encode(obj->headers, obj->nheaders, &hdr);
    if (rc != CF_OK || !(c = write_conn(mm, &rc)))
        goto out;
    rc = upload_must_exist(c, obj->bucket, obj->key, upload_id);
    if (rc == CF_OK)
        rc = segments_are_parts(c, obj, upload_id);
    if (rc == CF_OK)
        rc = obj_write(c, obj, cond, &hdr, NULL);
    if (rc == CF_OK)
        rc = upload_drop(c, obj->bucket, obj->key, upload_id);
    rc = end_write(c, rc);
out:
    cf_buf_free(&hdr);
    return rc;
}

static cf_rc m_upload_abort(cf_meta *mm, cf_str bucket, cf_str key, cf_str upload_id)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = upload_must_exist(c, bucket, key, upload_id);
    if (rc == CF_OK)
        rc = upload_drop(c, bucket, key, upload_id);
    return end_write(c, rc);
}

/* ---- blob garbage queue ---- */

static cf_rc m_gc_done(cf_meta *mm, const char *blob_id)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    return end_write(c, exec_args(c, ST_GC_DEL, ARGS(A_TEXT(cf_str_c(blob_id)))));
}

/* Ids are collected first so fn may call gc_done (a write) on this thread's connection. */
static cf_rc m_gc_pending(cf_meta *mm, void (*fn)(void *ctx, const char *blob_id), void *ctx)
{
    conn *c = get_conn((msq *)mm);
    cf_buf ids;
    cf_rc rc;
    size_t off;

    if (!c)
        return CF_EIO;
    cf_buf_init(&ids, SIZE_MAX);
    rc = collect_ids(c, query(c, ST_GC_LIST, NO_ARGS), &ids);
    for (off = 0; rc == CF_OK && off < ids.len; off += CF_BLOB_ID_LEN + 1)
        fn(ctx, ids.p + off);
    cf_buf_free(&ids);
    return rc;
}

static cf_rc m_blob_referenced(cf_meta *mm, const char *blob_id, bool *out)
{
    conn *c = get_conn((msq *)mm);
    *out = false;
    if (!c)
        return CF_EIO;
    return blob_in_use(c, blob_id, out);
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

static cf_rc read_cred(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_cred_row *r = item;
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

static cf_rc cred_get_by(conn *c, int id, cf_str v, cf_arena *a, cf_cred_row *out)
{
    memset(out, 0, sizeof(*out));
    if (!c)
        return CF_EIO;
    return get_row(c, query(c, id, ARGS(A_TEXT(v))), read_cred, a, out);
}

static cf_rc read_path(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_buf *b = item;
    (void)a;
    cf_buf_reset(b);
    return cf_buf_append_str(b, col_raw(st, 0));
}

/* The path of credential id into b (CF_ENOTFOUND if there is no such credential). */
static cf_rc cred_path(conn *c, cf_str id, cf_buf *b)
{
    return get_row(c, query(c, ST_CRED_PATH, ARGS(A_TEXT(id))), read_path, NULL, b);
}

/* The range of paths of id's subtree: lo <= path < hi. The path ends with '/', so hi (the
 * path with that '/' made '0') exists. */
static cf_rc path_range(conn *c, cf_str id, cf_buf *lo, cf_buf *hi)
{
    cf_rc rc = cred_path(c, id, lo);
    if (rc == CF_OK && !prefix_successor(cf_buf_str(lo), hi, &rc) && rc == CF_OK)
        rc = CF_EIO; /* an empty path: never written */
    return rc;
}

/* Inserts in the caller's write transaction, the path extending the parent's: CF_EEXIST if
 * the id is taken, CF_ENOTFOUND if the parent does not exist, CF_EINVAL for an id that
 * cannot be a path component (empty, or with a '/'). */
static cf_rc cred_insert_row(conn *c, const cf_cred_row *r)
{
    sqlite3_stmt *st;
    cf_buf path;
    cf_rc rc = CF_OK;

    if (r->id.len == 0 || cf_str_find(r->id, '/') >= 0)
        return CF_EINVAL;
    cf_buf_init(&path, PATH_MAX_LEN);
    if (r->parent_id.len)
        rc = cred_path(c, r->parent_id, &path);
    if (rc == CF_OK)
        rc = cf_buf_append_str(&path, r->id);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(&path, '/');
    if (rc == CF_OK) {
        if ((st = stmt(c, ST_CRED_INSERT)) != NULL) {
            bind_cred(st, r);
            sqlite3_bind_int64(st, 15, r->version > 0 ? r->version : 1);
            bind_blob(st, 16, path.p, path.len);
            rc = run(c, ST_CRED_INSERT);
        } else {
            rc = CF_EIO;
        }
    }
    cf_buf_free(&path);
    return rc;
}

/* After a credential write: caches loaded before it must not be used after it returns. */
static cf_rc cred_changed(cf_meta *mm, cf_rc rc)
{
    atomic_fetch_add(&((msq *)mm)->cred_epoch, 1);
    return rc;
}

static uint64_t m_cred_epoch(cf_meta *mm)
{
    return atomic_load(&((msq *)mm)->cred_epoch);
}

static cf_rc m_cred_insert(cf_meta *mm, const cf_cred_row *r)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);
    if (!c)
        return rc;
    return cred_changed(mm, end_write(c, cred_insert_row(c, r)));
}

/* Any failure rolls back both inserts. */
static cf_rc m_bucket_create_with_cred(cf_meta *mm, const cf_bucket_info *b, const cf_cred_row *r,
                                       cf_arena *a, cf_str *existing_owner)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = bucket_insert(c, b, a, existing_owner);
    if (rc == CF_OK) {
        rc = cred_insert_row(c, r);
        if (rc == CF_EEXIST)
            rc = CF_ECONFLICT;
    }
    return cred_changed(mm, end_write(c, rc));
}

/* The parent cannot change (it is part of the path): CF_EINVAL if r names another. */
static cf_rc m_cred_update(cf_meta *mm, const cf_cred_row *r)
{
    bool exists = false;
    sqlite3_stmt *st;
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    if ((st = stmt(c, ST_CRED_UPDATE)) != NULL) {
        bind_cred(st, r);
        rc = run(c, ST_CRED_UPDATE);
    } else {
        rc = CF_EIO;
    }
    if (rc == CF_OK && sqlite3_changes(c->db) == 0) {
        rc = exists_args(c, ST_CRED_EXISTS, &exists, ARGS(A_TEXT(r->id)));
        if (rc == CF_OK)
            rc = exists ? CF_EINVAL : CF_ENOTFOUND;
    }
    return cred_changed(mm, end_write(c, rc));
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
    *n = 0;
    if (!c)
        return CF_EIO;
    return get_row(c, query(c, ST_CRED_COUNT, NO_ARGS), read_u64, NULL, n);
}

/* Only moves last_used forward and does not bump version: it is not a change that caches
 * need to see. */
static cf_rc m_cred_touch(cf_meta *mm, cf_str id, int64_t last_used_ms)
{
    bool exists = true;
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = exec_args(c, ST_CRED_TOUCH, ARGS(A_TEXT(id), A_INT(last_used_ms)));
    if (rc == CF_OK && sqlite3_changes(c->db) == 0)
        rc = exists_args(c, ST_CRED_EXISTS, &exists, ARGS(A_TEXT(id)));
    if (rc == CF_OK && !exists)
        rc = CF_ENOTFOUND;
    return end_write(c, rc);
}

/* The ids of the path, credential first: primary-key reads in one snapshot. */
static cf_rc m_cred_chain(cf_meta *mm, cf_str id, size_t depth, cf_arena *a, cf_cred_row **out,
                          size_t *n)
{
    conn *c = get_conn((msq *)mm);
    cf_cred_row *v = NULL;
    cf_buf path;
    size_t len = 0, count = 0, i, end;
    cf_str p;
    cf_rc rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    cf_buf_init(&path, PATH_MAX_LEN);
    rc = begin_read(c);
    if (rc == CF_OK)
        rc = cred_path(c, id, &path);
    if (rc != CF_OK)
        goto out;
    p = cf_buf_str(&path);
    for (i = 0; i < p.len; i++)
        count += p.p[i] == '/';
    if (count > depth) {
        rc = CF_ETOOBIG;
        goto out;
    }
    v = cf_arena_alloc(a, count * sizeof(*v));
    if (!v) {
        rc = CF_ENOMEM;
        goto out;
    }
    /* From the end of "ROOT/A/ID/": ID, A, ROOT. */
    for (end = p.len; rc == CF_OK && len < count; len++) {
        size_t start = end - 1;
        while (start > 0 && p.p[start - 1] != '/')
            start--;
        rc = cred_get_by(c, ST_CRED_GET, cf_str_make(p.p + start, end - 1 - start), a, &v[len]);
        end = start;
    }
    /* Ancestors are deleted only with their subtree: a missing one is corruption. */
    if (rc == CF_ENOTFOUND) {
        cf_error("meta: credential %.*s has a missing ancestor", CF_STR_FMT(id));
        rc = CF_EIO;
    }
    if (rc == CF_OK) {
        *out = v;
        *n = len;
    }
out:
    end_read(c);
    cf_buf_free(&path);
    return rc;
}

static cf_rc m_cred_in_subtree(cf_meta *mm, cf_str ancestor_id, cf_str id, bool *out)
{
    conn *c = get_conn((msq *)mm);
    *out = false;
    if (!c)
        return CF_EIO;
    return exists_args(c, ST_CRED_IN_SUBTREE, out, ARGS(A_TEXT(ancestor_id), A_TEXT(id)));
}

/* A range scan of credentials_path: the page costs its own rows whatever the subtree's
 * size. The cursor's path (looked up) says where to continue. */
static cf_rc m_cred_list_subtree(cf_meta *mm, cf_str root_id, cf_str after_id, uint32_t limit,
                                 cf_arena *a, cf_cred_row **out, size_t *n)
{
    conn *c = get_conn((msq *)mm);
    cf_buf lo, hi, cur;
    void *v = NULL;
    cf_rc rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return CF_EIO;
    if (limit == 0)
        return CF_OK;
    cf_buf_init(&lo, PATH_MAX_LEN);
    cf_buf_init(&hi, PATH_MAX_LEN);
    cf_buf_init(&cur, PATH_MAX_LEN);
    rc = begin_read(c);
    if (rc == CF_OK)
        rc = path_range(c, root_id, &lo, &hi);
    if (rc == CF_ENOTFOUND) {
        rc = CF_OK; /* an unknown root has an empty subtree */
        goto out;
    }
    if (rc == CF_OK && after_id.len)
        rc = cred_path(c, after_id, &cur);
    /* Past the cursor: its path + NUL is the least path after it. */
    if (rc == CF_OK && after_id.len && cf_str_cmp(cf_buf_str(&cur), cf_buf_str(&lo)) >= 0) {
        cf_buf_reset(&lo);
        rc = cf_buf_append_str(&lo, cf_buf_str(&cur));
        if (rc == CF_OK)
            rc = cf_buf_append(&lo, "", 1);
    }
    if (rc == CF_OK)
        rc = get_rows(c,
                      query(c, ST_CRED_SUBTREE,
                            ARGS(A_BLOB(cf_buf_str(&lo)), A_BLOB(cf_buf_str(&hi)), A_INT(limit))),
                      read_cred, sizeof(cf_cred_row), a, &v, n);
    *out = v;
out:
    end_read(c);
    cf_buf_free(&lo);
    cf_buf_free(&hi);
    cf_buf_free(&cur);
    return rc;
}

static cf_rc m_cred_delete_subtree(cf_meta *mm, cf_str id, uint64_t *deleted)
{
    cf_buf lo, hi;
    cf_rc rc;
    conn *c;

    *deleted = 0;
    if (!(c = write_conn(mm, &rc)))
        return rc;
    cf_buf_init(&lo, PATH_MAX_LEN);
    cf_buf_init(&hi, PATH_MAX_LEN);
    rc = path_range(c, id, &lo, &hi);
    if (rc == CF_OK)
        rc = exec_args(c, ST_CRED_DELETE_SUBTREE,
                       ARGS(A_BLOB(cf_buf_str(&lo)), A_BLOB(cf_buf_str(&hi))));
    if (rc == CF_OK)
        *deleted = (uint64_t)sqlite3_changes64(c->db);
    rc = cred_changed(mm, end_write(c, rc));
    if (rc != CF_OK)
        *deleted = 0;
    cf_buf_free(&lo);
    cf_buf_free(&hi);
    return rc;
}

/* ---- audit ---- */

#define AUDIT_LIMIT_MAX 1000

static cf_rc m_audit_append(cf_meta *mm, const cf_audit_row *r)
{
    cf_rc rc;
    conn *c = write_conn(mm, &rc);

    if (!c)
        return rc;
    rc = exec_args(c, ST_AUDIT_INSERT,
                   ARGS(A_INT(r->time_ms ? r->time_ms : cf_now_ms()), A_TEXT(r->actor),
                        A_TEXT(r->action), A_TEXT(r->target), A_TEXT(r->source_ip),
                        A_TEXT(r->outcome), A_TEXT(r->detail)));
    return end_write(c, rc);
}

static cf_rc read_audit(sqlite3_stmt *st, cf_arena *a, void *item)
{
    cf_audit_row *r = item;
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
    uint32_t limit = f->limit == 0 || f->limit > AUDIT_LIMIT_MAX ? AUDIT_LIMIT_MAX : f->limit;
    void *v = NULL;
    cf_rc rc;
    int id;

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
    rc = get_rows(c,
                  query(c, id,
                        ARGS(A_INT(f->after_seq), A_INT(f->since_ms ? f->since_ms : INT64_MIN),
                             A_INT(f->until_ms ? f->until_ms : INT64_MAX), A_INT(limit),
                             f->credential.len ? A_TEXT(f->credential) : A_NULL)),
                  read_audit, sizeof(cf_audit_row), a, &v, n);
    *out = v;
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
    if (m->lock_fd >= 0)
        close(m->lock_fd);
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
    .upload_create = m_upload_create,
    .upload_get = m_upload_get,
    .upload_list = m_upload_list,
    .part_put = m_part_put,
    .part_list = m_part_list,
    .upload_complete = m_upload_complete,
    .upload_abort = m_upload_abort,
    .bucket_doc_get = m_bucket_doc_get,
    .bucket_doc_put = m_bucket_doc_put,
    .bucket_doc_delete = m_bucket_doc_delete,
    .object_set_headers = m_object_set_headers,
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
    .cred_epoch = m_cred_epoch,
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

    rc = begin_write(c);
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
    return end_write(c, rc);
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
    /* Memory statistics put one process-wide mutex around every SQLite allocation, which the
     * request threads then contend for: GET 4 KiB went from 31-34k to 37-40k requests/s
     * without them. Nothing reads them. Only effective before SQLite initializes (later calls
     * return SQLITE_MISUSE, harmlessly). */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    m = calloc(1, sizeof(*m));
    if (!m)
        goto out;
    m->base.ops = &sqlite_ops;
    m->fsync = fsync;
    m->lock_fd = -1;
    atomic_init(&m->cred_epoch, 1);
    m->path = strdup(path);
    if (!m->path)
        goto out;
    /* Two servers on one directory would each trust their caches and remove each other's
     * staged files. An flock is released by the kernel when the process dies, even by kill -9. */
    m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m->lock_fd < 0) {
        cf_error("meta: cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(m->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        cf_error("meta: %s is in use by another process (%s): one cofferd per data directory",
                 path, strerror(errno));
        goto out;
    }
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
            if (m->lock_fd >= 0)
                close(m->lock_fd);
            free(m->path);
            free(m);
        }
        cf_error("meta: cannot open %s", path);
    }
    return ret;
}
