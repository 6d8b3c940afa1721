/* The embedded blob backend: one file per blob.
 *
 * Layout under the store directory: staging/<id> while a blob is written and until its
 * metadata commits, then blobs/ab/cd/<id> (ab, cd: the id's first two hex pairs, so no
 * directory grows past 65536 entries per level). Everything is addressed relative to
 * directory descriptors opened once, and ids are checked to be exactly 32 lowercase hex
 * characters before they reach a path, so nothing can name a file outside the store.
 *
 * Blob writes stop short of a full filesystem (RESERVE_*): the metadata store lives in the
 * same data directory, and when bodies have taken the last byte even a DELETE cannot commit,
 * so space could no longer be freed through the API. */
#include "blob/blob_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/str.h"

#define ID_BYTES     (CF_BLOB_ID_LEN / 2)
#define OPEN_RETRIES 8 /* fresh ids to try if one collides (never, in practice) */
/* "ab/cd/" + id + NUL */
#define REL_LEN (6 + CF_BLOB_ID_LEN + 1)
/* Free space kept for metadata: 1% of the filesystem, within these bounds. */
#define RESERVE_MIN   ((uint64_t)1 << 20)
#define RESERVE_MAX   ((uint64_t)64 << 20)
#define RESERVE_SHARE 100
/* Bytes a writer may write between two free-space checks (one fstatvfs a MiB is noise). */
#define CHECK_STEP ((uint64_t)1 << 20)
/* The largest single write(): on Linux 6.18 ext4, 256 KiB writes of a 1 GiB blob spent up to
 * 3x the system time of 64 KiB ones (page-cache copies into large folios), measured. */
#define WRITE_MAX ((size_t)64 << 10)

typedef struct fs_store {
    cf_blob_store base;
    char *dir;
    bool fsync;
    uint64_t reserve; /* bytes blob writes leave free */
    int staging_fd;   /* <dir>/staging */
    int blobs_fd;     /* <dir>/blobs */
} fs_store;

struct cf_blob_writer {
    fs_store *s;
    int fd;
    uint64_t allowance; /* bytes it may still write before the next free-space check */
    char id[CF_BLOB_ID_LEN + 1];
};

struct cf_blob_reader {
    int fd;
};

static bool valid_id(const char *id)
{
    size_t i;
    if (!id)
        return false;
    for (i = 0; i < CF_BLOB_ID_LEN; i++) {
        char ch = id[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return id[CF_BLOB_ID_LEN] == '\0';
}

static cf_rc errno_rc(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
        return CF_ENOSPC;
    case ENOMEM:
        return CF_ENOMEM;
    case ENOENT:
        return CF_ENOTFOUND;
    case EFBIG:
        return CF_ETOOBIG;
    default:
        return CF_EIO;
    }
}

/* "ab/cd/<id>" relative to blobs/. */
static void final_rel(const char *id, char out[REL_LEN])
{
    snprintf(out, REL_LEN, "%.2s/%.2s/%s", id, id + 2, id);
}

static cf_rc fsync_fd(int fd, const char *what, const char *id)
{
    if (fsync(fd) != 0) {
        int e = errno;
        cf_error("blob_fs: fsync %s%s: %s", what, id, strerror(e));
        return errno_rc(e);
    }
    return CF_OK;
}

/* fsyncs a directory below blobs/ (rel "" for blobs/ itself). */
static cf_rc fsync_dir(fs_store *s, const char *rel)
{
    int fd = openat(s->blobs_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cf_rc rc;
    if (fd < 0) {
        int e = errno;
        cf_error("blob_fs: open dir blobs/%s: %s", rel, strerror(e));
        return errno_rc(e);
    }
    rc = fsync_fd(fd, "blobs/", rel);
    close(fd);
    return rc;
}

/* mkdir of blobs/<rel>, fine if it exists; *created tells whether it is new. */
static cf_rc mkdir_rel(fs_store *s, const char *rel, bool *created)
{
    *created = false;
    if (mkdirat(s->blobs_fd, rel, 0750) == 0) {
        *created = true;
        return CF_OK;
    }
    if (errno == EEXIST)
        return CF_OK;
    cf_error("blob_fs: mkdir blobs/%s: %s", rel, strerror(errno));
    return errno_rc(errno);
}

static cf_rc fs_writer_open(cf_blob_store *bs, cf_blob_writer **out, char id[CF_BLOB_ID_LEN + 1])
{
    fs_store *s = (fs_store *)bs;
    cf_blob_writer *w = NULL;
    uint8_t raw[ID_BYTES];
    cf_rc rc = CF_OK;
    int attempt, e = 0;

    *out = NULL;
    id[0] = '\0';
    w = calloc(1, sizeof(*w));
    if (!w) {
        rc = CF_ENOMEM;
        goto out;
    }
    w->s = s;
    w->fd = -1;
    for (attempt = 0; attempt < OPEN_RETRIES && w->fd < 0; attempt++) {
        rc = cf_random(raw, sizeof(raw));
        if (rc != CF_OK)
            goto out;
        cf_hex_encode(raw, sizeof(raw), w->id);
        w->fd = openat(s->staging_fd, w->id, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
        e = errno;
        if (w->fd < 0 && e != EEXIST && e != EINTR)
            break;
    }
    if (w->fd < 0) {
        cf_error("blob_fs: create staging/%s: %s", w->id, strerror(e));
        rc = errno_rc(e);
        goto out;
    }
    memcpy(id, w->id, sizeof(w->id));
    *out = w;
    w = NULL;
out:
    free(w);
    return rc;
}

/* Makes room for n more bytes in w's allowance, or says the store is full. Concurrent
 * writers each see the same free space; the reserve absorbs that overlap (CHECK_STEP or one
 * write each), and a real ENOSPC from write() remains the hard limit. */
static cf_rc take_allowance(cf_blob_writer *w, size_t n)
{
    struct statvfs sv;
    uint64_t avail, step = n > CHECK_STEP ? (uint64_t)n : CHECK_STEP;

    if (n <= w->allowance) {
        w->allowance -= n;
        return CF_OK;
    }
    /* Unknown free space: let write() be the judge. */
    if (fstatvfs(w->fd, &sv) != 0 || sv.f_frsize == 0)
        return CF_OK;
    avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail < w->s->reserve || avail - w->s->reserve < n)
        return CF_ENOSPC;
    avail -= w->s->reserve;
    w->allowance = (avail < step ? avail : step) - n;
    return CF_OK;
}

static cf_rc fs_room(cf_blob_store *bs, uint64_t n)
{
    fs_store *s = (fs_store *)bs;
    struct statvfs sv;
    if (fstatvfs(s->staging_fd, &sv) != 0 || sv.f_frsize == 0)
        return CF_OK; /* unknown: the metadata store's own write is the judge */
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    return avail >= s->reserve && avail - s->reserve >= n ? CF_OK : CF_ENOSPC;
}

static cf_rc fs_write(cf_blob_writer *w, const void *p, size_t n)
{
    const char *c = p;
    cf_rc rc = take_allowance(w, n);
    if (rc != CF_OK)
        return rc;
    while (n > 0) {
        ssize_t k = write(w->fd, c, n < WRITE_MAX ? n : WRITE_MAX);
        if (k < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            if (e == ENOSPC || e == EDQUOT)
                return CF_ENOSPC;
            cf_error("blob_fs: write staging/%s: %s", w->id, strerror(e));
            return CF_EIO;
        }
        c += k;
        n -= (size_t)k;
    }
    return CF_OK;
}

static void fs_abort(cf_blob_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (unlinkat(w->s->staging_fd, w->id, 0) != 0 && errno != ENOENT)
        cf_warn("blob_fs: unlink staging/%s: %s", w->id, strerror(errno));
    free(w);
}

static cf_rc fs_finish(cf_blob_writer *w)
{
    fs_store *s = w->s;
    cf_rc rc = CF_OK;
    if (s->fsync) {
        rc = fsync_fd(w->fd, "staging/", w->id);
        /* The directory entry too, or a crash could keep the data but lose the name. */
        if (rc == CF_OK)
            rc = fsync_fd(s->staging_fd, "staging", "");
    }
    /* close can report a deferred write error (e.g. on NFS). */
    if (close(w->fd) != 0 && rc == CF_OK && errno != EINTR) {
        cf_error("blob_fs: close staging/%s: %s", w->id, strerror(errno));
        rc = errno_rc(errno);
    }
    w->fd = -1;
    if (rc != CF_OK) {
        fs_abort(w);
        return rc;
    }
    free(w);
    return CF_OK;
}

static cf_rc fs_publish(cf_blob_store *bs, const char *id)
{
    fs_store *s = (fs_store *)bs;
    char rel[REL_LEN];
    struct stat st;
    bool new_ab = false, new_cd = false;
    cf_rc rc;

    if (!valid_id(id))
        return CF_EINVAL;
    final_rel(id, rel);
    rel[2] = '\0';
    rc = mkdir_rel(s, rel, &new_ab);
    rel[2] = '/';
    rel[5] = '\0';
    if (rc == CF_OK)
        rc = mkdir_rel(s, rel, &new_cd);
    rel[5] = '/';
    if (rc != CF_OK)
        return rc;
    if (renameat(s->staging_fd, id, s->blobs_fd, rel) != 0) {
        int e = errno;
        /* Published already (by an earlier call or a racing recover). */
        if (e == ENOENT && fstatat(s->blobs_fd, rel, &st, 0) == 0)
            return CF_OK;
        if (e != ENOENT)
            cf_error("blob_fs: rename staging/%s: %s", id, strerror(e));
        return errno_rc(e);
    }
    if (!s->fsync)
        return CF_OK;
    /* New directories need their parents' entries on disk too. */
    if (new_ab)
        rc = fsync_dir(s, "");
    rel[5] = '\0';
    if (rc == CF_OK && new_cd) {
        rel[2] = '\0';
        rc = fsync_dir(s, rel);
        rel[2] = '/';
    }
    if (rc == CF_OK)
        rc = fsync_dir(s, rel);
    return rc;
}

static cf_rc fs_discard(cf_blob_store *bs, const char *id)
{
    fs_store *s = (fs_store *)bs;
    if (!valid_id(id))
        return CF_EINVAL;
    if (unlinkat(s->staging_fd, id, 0) != 0 && errno != ENOENT) {
        cf_error("blob_fs: unlink staging/%s: %s", id, strerror(errno));
        return errno_rc(errno);
    }
    return CF_OK;
}

static cf_rc fs_reader_open(cf_blob_store *bs, const char *id, cf_blob_reader **out, uint64_t *size)
{
    fs_store *s = (fs_store *)bs;
    cf_blob_reader *r = NULL;
    char rel[REL_LEN];
    struct stat st;
    int fd = -1, e;
    cf_rc rc = CF_OK;

    *out = NULL;
    if (size)
        *size = 0;
    if (!valid_id(id))
        return CF_EINVAL;
    final_rel(id, rel);
    /* Final, then staging, then final again: a publish may move it between the first two. */
    fd = openat(s->blobs_fd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = openat(s->staging_fd, id, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        fd = openat(s->blobs_fd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if (e != ENOENT)
            cf_error("blob_fs: open %s: %s", id, strerror(e));
        rc = errno_rc(e);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        e = errno;
        cf_error("blob_fs: fstat %s: %s", id, strerror(e));
        rc = errno_rc(e);
        goto out;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        rc = CF_ENOMEM;
        goto out;
    }
    r->fd = fd;
    fd = -1;
    if (size)
        *size = (uint64_t)st.st_size;
    *out = r;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int fs_reader_fd(cf_blob_reader *r)
{
    return r->fd;
}

static int fs_reader_take_fd(cf_blob_reader *r)
{
    int fd = r->fd;
    free(r);
    return fd;
}

static ptrdiff_t fs_read(cf_blob_reader *r, uint64_t off, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    if (off > (uint64_t)INT64_MAX)
        return -1;
    if (n > PTRDIFF_MAX)
        n = PTRDIFF_MAX;
    /* Fill the request unless the blob ends first, so callers need not loop. */
    while (got < n) {
        ssize_t k = pread(r->fd, c + got, n - got, (off_t)(off + got));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ptrdiff_t)got;
}

static void fs_reader_close(cf_blob_reader *r)
{
    if (!r)
        return;
    close(r->fd);
    free(r);
}

static cf_rc fs_remove(cf_blob_store *bs, const char *id)
{
    fs_store *s = (fs_store *)bs;
    char rel[REL_LEN];
    cf_rc rc = CF_OK;

    if (!valid_id(id))
        return CF_EINVAL;
    final_rel(id, rel);
    if (unlinkat(s->blobs_fd, rel, 0) != 0 && errno != ENOENT) {
        cf_error("blob_fs: unlink blobs/%s: %s", rel, strerror(errno));
        rc = errno_rc(errno);
    }
    /* Never published (metadata committed, crash before publish, then deleted). */
    if (unlinkat(s->staging_fd, id, 0) != 0 && errno != ENOENT) {
        cf_error("blob_fs: unlink staging/%s: %s", id, strerror(errno));
        rc = errno_rc(errno);
    }
    return rc;
}

/* Removes a stray staging entry that is not a blob (a file, or an empty directory). */
static bool remove_stray(fs_store *s, const char *name)
{
    if (unlinkat(s->staging_fd, name, 0) == 0)
        return true;
    if ((errno == EISDIR || errno == EPERM) && unlinkat(s->staging_fd, name, AT_REMOVEDIR) == 0)
        return true;
    cf_warn("blob_fs: cannot remove staging/%s: %s", name, strerror(errno));
    return false;
}

static cf_rc fs_recover(cf_blob_store *bs, bool (*referenced)(void *ctx, const char *id), void *ctx,
                        uint64_t *published, uint64_t *removed)
{
    fs_store *s = (fs_store *)bs;
    DIR *d = NULL;
    struct dirent *de;
    char **names = NULL, **nn;
    size_t n = 0, cap = 0, i;
    int fd;
    cf_rc rc = CF_OK;

    if (published)
        *published = 0;
    if (removed)
        *removed = 0;
    fd = openat(s->staging_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !(d = fdopendir(fd))) {
        cf_error("blob_fs: open staging: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return CF_EIO;
    }
    /* Names first: acting on the directory while reading it may skip or repeat entries. */
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno != 0) {
                cf_error("blob_fs: read staging: %s", strerror(errno));
                rc = CF_EIO;
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            nn = realloc(names, cap * sizeof(*names));
            if (!nn) {
                rc = CF_ENOMEM;
                goto out;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            rc = CF_ENOMEM;
            goto out;
        }
        n++;
    }
    for (i = 0; i < n; i++) {
        if (valid_id(names[i]) && referenced(ctx, names[i])) {
            rc = fs_publish(bs, names[i]);
            if (rc != CF_OK)
                goto out;
            if (published)
                (*published)++;
        } else if (remove_stray(s, names[i]) && removed) {
            (*removed)++;
        }
    }
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

static void fs_close(cf_blob_store *bs)
{
    fs_store *s = (fs_store *)bs;
    if (!s)
        return;
    if (s->staging_fd >= 0)
        close(s->staging_fd);
    if (s->blobs_fd >= 0)
        close(s->blobs_fd);
    free(s->dir);
    free(s);
}

static const cf_blob_ops fs_ops = {
    .close = fs_close,
    .writer_open = fs_writer_open,
    .write = fs_write,
    .finish = fs_finish,
    .abort = fs_abort,
    .publish = fs_publish,
    .discard = fs_discard,
    .reader_open = fs_reader_open,
    .reader_fd = fs_reader_fd,
    .reader_take_fd = fs_reader_take_fd,
    .read = fs_read,
    .reader_close = fs_reader_close,
    .remove = fs_remove,
    .recover = fs_recover,
    .room = fs_room,
};

/* mkdir -p for the store directory itself (it may be several levels deep). */
static bool mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path), i;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST) {
            cf_error("blob_fs: mkdir %s: %s", buf, strerror(errno));
            return false;
        }
        buf[i] = path[i];
    }
    return true;
}

static int open_subdir(int dirfd, const char *dir, const char *name)
{
    int fd;
    if (mkdirat(dirfd, name, 0750) != 0 && errno != EEXIST) {
        cf_error("blob_fs: mkdir %s/%s: %s", dir, name, strerror(errno));
        return -1;
    }
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        cf_error("blob_fs: open %s/%s: %s", dir, name, strerror(errno));
    return fd;
}

static uint64_t reserve_for(int fd)
{
    struct statvfs sv;
    uint64_t r;
    if (fstatvfs(fd, &sv) != 0)
        return RESERVE_MIN;
    r = (uint64_t)sv.f_blocks * sv.f_frsize / RESERVE_SHARE;
    return r < RESERVE_MIN ? RESERVE_MIN : r > RESERVE_MAX ? RESERVE_MAX : r;
}

cf_blob_store *cf_blob_fs_open(const char *dir, bool fsync)
{
    fs_store *s = NULL;
    cf_blob_store *ret = NULL;
    int root = -1;

    s = calloc(1, sizeof(*s));
    if (!s)
        goto out;
    s->base.ops = &fs_ops;
    s->fsync = fsync;
    s->staging_fd = -1;
    s->blobs_fd = -1;
    s->dir = strdup(dir);
    if (!s->dir || !mkdir_p(dir))
        goto out;
    root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        cf_error("blob_fs: open %s: %s", dir, strerror(errno));
        goto out;
    }
    s->staging_fd = open_subdir(root, dir, "staging");
    s->blobs_fd = open_subdir(root, dir, "blobs");
    if (s->staging_fd < 0 || s->blobs_fd < 0)
        goto out;
    s->reserve = reserve_for(s->staging_fd);
    ret = &s->base;
    s = NULL;
out:
    if (root >= 0)
        close(root);
    if (s) {
        cf_error("blob_fs: cannot open store %s", dir);
        fs_close(&s->base);
    }
    return ret;
}
