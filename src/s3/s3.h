/* The S3 REST API on top of the HTTP glue. */
#ifndef COFFER_S3_S3_H
#define COFFER_S3_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/authn.h"
#include "blob/blob.h"
#include "core/workq.h"
#include "http/http.h"
#include "meta/meta.h"

/* The blob garbage collector: one background thread that removes the blobs queued in the
 * metadata store (meta's gc_queue), when woken after a commit and every few seconds, except
 * blobs a reader has leased. */
typedef struct cf_s3_gc cf_s3_gc;

/* Starts the thread (interval_ms 0: the default, 5 s). NULL and a log line on failure. */
cf_s3_gc *cf_s3_gc_start(cf_meta *meta, cf_blob_store *blob, unsigned interval_ms);
/* Stops and joins the thread and frees g (NULL is a no-op). What is still queued stays
 * queued for the next start. No lease may be held any more. */
void cf_s3_gc_stop(cf_s3_gc *g);
/* Asks for a pass soon (cheap; many calls make one pass). NULL is a no-op. */
void cf_s3_gc_wake(cf_s3_gc *g);

typedef struct cf_s3 {
    cf_meta *meta;
    cf_blob_store *blob;
    cf_s3_gc *gc; /* NULL: replaced blobs are removed at once by the request */
    cf_auth auth;
    const char *region; /* as configured; "auto" accepts any signed region */
    const char *domain; /* virtual-host base domain, or "" */
    uint64_t max_object_size;
    /* Hashes long uploads beside the request threads (NULL: inline); pipes counts the
     * uploads using it, each holding two blocks, against payload.c's bound. */
    cf_workq *hashq;
    atomic_uint pipes;
} cf_s3;

/* Fills h with callbacks serving S3 from s3 (which must outlive the server). */
void cf_s3_handler(cf_s3 *s3, cf_http_handler *h);

#endif
