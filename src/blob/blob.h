/* The blob store interface: immutable byte streams named by random ids. Backends
 * (blob_fs today, blob_rados later) fill a cf_blob_ops table. Nothing here knows HTTP or
 * the metadata store.
 *
 * Life of a blob: writer_open gives a fresh id and a writer; write appends; finish makes the
 * bytes durable (per the fsync policy) but not yet published; the caller commits metadata
 * that names the id, then calls publish. A crash before publish leaves the blob in the
 * store's staging area, where recover() keeps it if the metadata names it, and deletes it
 * otherwise. abort discards an unfinished or unpublished blob. */
#ifndef COFFER_BLOB_BLOB_H
#define COFFER_BLOB_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"
#include "meta/meta.h" /* CF_BLOB_ID_LEN */

typedef struct cf_blob_store cf_blob_store;
typedef struct cf_blob_writer cf_blob_writer;
typedef struct cf_blob_reader cf_blob_reader;

typedef struct cf_blob_ops {
    void (*close)(cf_blob_store *s);

    /* Creates a new staging blob; *out owns it until finish+publish or abort. id gets the
     * new id (hex, NUL-terminated). */
    cf_rc (*writer_open)(cf_blob_store *s, cf_blob_writer **out, char id[CF_BLOB_ID_LEN + 1]);
    cf_rc (*write)(cf_blob_writer *w, const void *p, size_t n); /* CF_ENOSPC, CF_EIO */
    /* Flushes and (with fsync) makes the staged bytes durable; the writer is freed whatever
     * the result. On failure the staged blob is removed. */
    cf_rc (*finish)(cf_blob_writer *w);
    /* Frees the writer and removes its staged blob. NULL is a no-op. */
    void (*abort)(cf_blob_writer *w);
    /* Moves a finished blob from staging to its final place; idempotent. */
    cf_rc (*publish)(cf_blob_store *s, const char *id);
    /* Removes a finished unpublished blob (metadata commit failed). */
    cf_rc (*discard)(cf_blob_store *s, const char *id);

    /* Opens a published (or finished, not yet published) blob: CF_ENOTFOUND if gone. */
    cf_rc (*reader_open)(cf_blob_store *s, const char *id, cf_blob_reader **out, uint64_t *size);
    /* A file descriptor for zero-copy sends, or -1 if the backend has none. The reader
     * keeps ownership unless reader_take_fd is used. */
    int (*reader_fd)(cf_blob_reader *r);
    /* Hands the fd to the caller (who must close it) and frees the reader. */
    int (*reader_take_fd)(cf_blob_reader *r);
    /* Reads up to n bytes at off; returns bytes read (0 at end) or -1 on error. */
    ptrdiff_t (*read)(cf_blob_reader *r, uint64_t off, void *p, size_t n);
    void (*reader_close)(cf_blob_reader *r); /* NULL is a no-op */

    /* Removes a published blob; CF_OK also if it is already gone. Open readers keep
     * reading the old bytes. */
    cf_rc (*remove)(cf_blob_store *s, const char *id);

    /* Start-up recovery: every staged blob for which referenced(ctx, id) is true is
     * published, every other one removed. Returns the count of each through the out-params. */
    cf_rc (*recover)(cf_blob_store *s, bool (*referenced)(void *ctx, const char *id), void *ctx,
                     uint64_t *published, uint64_t *removed);

    /* Whether n bytes of object data stored beside the blobs (small bodies kept inline in
     * the metadata store) still leave the reserve writes keep free: CF_ENOSPC if not. */
    cf_rc (*room)(cf_blob_store *s, uint64_t n);
} cf_blob_ops;

struct cf_blob_store {
    const cf_blob_ops *ops;
};

#endif
