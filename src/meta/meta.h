/* The metadata store interface: buckets, object versions' metadata, credentials and the
 * blob garbage queue. Backends (meta_sqlite today, meta_pg later) fill a cf_meta_ops table.
 * Nothing here knows HTTP; nothing above knows SQL.
 *
 * Ownership: every string or array a call returns is allocated from the cf_arena the
 * caller passes and dies with it. Strings passed in are borrowed for the call only.
 * All functions are safe to call from many threads at once. */
#ifndef COFFER_META_META_H
#define COFFER_META_META_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/rc.h"
#include "core/str.h"

#define CF_BLOB_ID_LEN 32 /* hex characters of a blob id */

typedef struct cf_bucket_info {
    cf_str name;
    cf_str owner; /* credential id of the creator's root-most owner */
    cf_str region;
    int64_t created_ms;
    /* Usage, kept exact by every object write in the same transaction. */
    uint64_t objects;
    uint64_t bytes;
    /* Quota: 0 means none. object_put fails with CF_ETOOBIG past either. */
    uint64_t quota_bytes;
    uint64_t quota_objects;
} cf_bucket_info;

/* User-visible object metadata stored verbatim: Content-Type, Content-Encoding,
 * Content-Disposition, Content-Language, Cache-Control, Expires, x-amz-meta-*, and
 * x-amz-checksum-* entries. Names are lowercase. */
typedef cf_kv cf_header;

/* One piece of an object's body: a multipart object is the concatenation of its parts'
 * blobs, in order (CompleteMultipartUpload copies nothing). */
typedef struct cf_segment {
    char blob_id[CF_BLOB_ID_LEN + 1];
    uint64_t size;
    cf_str etag;     /* the part's ETag (MD5 hex), for GET ?partNumber= */
    cf_str checksum; /* the part's checksum (base64) in the upload's algorithm, or empty */
} cf_segment;

typedef struct cf_object_info {
    cf_str bucket;
    cf_str key;
    uint64_t size;
    cf_str etag; /* without quotes: 32 hex chars, or "hex-N" for multipart */
    int64_t mtime_ms;
    char blob_id[CF_BLOB_ID_LEN + 1]; /* empty when the body is inline */
    cf_str inline_body;               /* small objects stored in the metadata store */
    cf_header *headers;
    size_t nheaders;
    cf_segment *segments; /* multipart objects: the parts, in order (blob_id then empty) */
    size_t nsegments;     /* 0 for single-blob and inline objects */
} cf_object_info;

/* A multipart upload in progress. */
typedef struct cf_upload_info {
    cf_str bucket;
    cf_str key;
    cf_str upload_id;
    cf_str initiator; /* credential id */
    int64_t initiated_ms;
    cf_header *headers; /* stored headers given at creation (as for PutObject), plus
                           x-amz-checksum-algorithm / x-amz-checksum-type if any */
    size_t nheaders;
} cf_upload_info;

typedef struct cf_part_info {
    uint32_t number; /* 1..10000 */
    uint64_t size;
    cf_str etag;     /* MD5 hex */
    cf_str checksum; /* base64, in the upload's checksum algorithm, or empty */
    int64_t mtime_ms;
    char blob_id[CF_BLOB_ID_LEN + 1];
} cf_part_info;

typedef struct cf_upload_list_params {
    cf_str prefix;
    cf_str delimiter;
    cf_str key_marker;       /* uploads of keys after it, or of this key after upload_id_marker */
    cf_str upload_id_marker;
    uint32_t max_uploads;
} cf_upload_list_params;

typedef struct cf_upload_list_result {
    cf_upload_info *uploads; /* by key, then initiation time */
    size_t nuploads;
    cf_str *prefixes;
    size_t nprefixes;
    bool truncated;
    cf_str next_key_marker;
    cf_str next_upload_id_marker;
} cf_upload_list_result;

/* Preconditions checked inside the write transaction, so racing writers see one winner. */
typedef struct cf_put_cond {
    bool if_none_match_any; /* fail with CF_ECONFLICT if the key exists */
    cf_str if_match_etag;   /* non-empty: fail with CF_ECONFLICT unless current etag equals */
} cf_put_cond;

/* Preconditions of a delete, checked inside its transaction: a key written after the caller
 * looked at it is not deleted by mistake. Any condition also requires the key to exist. */
typedef struct cf_del_cond {
    bool if_exists;       /* If-Match: * */
    cf_str if_match_etag; /* non-empty: the current etag must equal it */
    int64_t if_mtime_ms;  /* non-zero: the current mtime must equal it */
} cf_del_cond;

typedef struct cf_list_params {
    cf_str prefix;
    cf_str delimiter;   /* empty: none. Any length is allowed, as in S3 */
    cf_str start_after; /* exclusive */
    uint32_t max_keys;  /* keys + common prefixes returned at most; 0 returns nothing */
} cf_list_params;

typedef struct cf_list_result {
    cf_object_info *objects; /* ascending key order; headers are not loaded */
    size_t nobjects;
    cf_str *prefixes; /* common prefixes, ascending */
    size_t nprefixes;
    bool truncated;
    cf_str next_marker; /* the last key or common prefix returned, when truncated */
} cf_list_result;

typedef enum cf_cred_status { CF_CRED_ACTIVE = 0, CF_CRED_DISABLED = 1 } cf_cred_status;

/* A credential row. Secrets are stored sealed (AES-GCM by auth/), never in clear. */
typedef struct cf_cred_row {
    cf_str id; /* = the S3 access key id */
    cf_str name;
    cf_str parent_id; /* empty for a root credential */
    cf_str policy;    /* IAM policy JSON */
    cf_cred_status status;
    int64_t created_ms;
    int64_t not_before_ms; /* 0: none */
    int64_t expires_ms;    /* 0: never */
    cf_str allowed_ips;    /* JSON array of CIDRs, empty: any */
    int64_t last_used_ms;
    cf_str secret_sealed;      /* sealed S3 secret access key */
    cf_str old_secret_sealed;  /* previous secret during a rotation grace, or empty */
    int64_t old_secret_until_ms;
    cf_str token_hash; /* SHA-256 of the bearer token, hex */
    int64_t version;   /* bumped on every change, for cache invalidation */
} cf_cred_row;

/* One audit record: who did what to which credential or bucket, from where. */
typedef struct cf_audit_row {
    int64_t seq;       /* assigned by audit_append, increasing */
    int64_t time_ms;
    cf_str actor;      /* credential id that acted, or empty (anonymous/unknown) */
    cf_str action;     /* "admin:CreateCredential", "s3:GetObject" (denied requests), ... */
    cf_str target;     /* credential id, bucket name, or "bucket/key" */
    cf_str source_ip;
    cf_str outcome;    /* "ok", "denied", or an error code */
    cf_str detail;     /* JSON object with extra facts, or empty */
} cf_audit_row;

typedef struct cf_audit_filter {
    cf_str credential; /* rows whose actor or target is this id; empty: all */
    int64_t since_ms;  /* inclusive; 0: no bound */
    int64_t until_ms;  /* exclusive; 0: no bound */
    int64_t after_seq; /* pagination: rows with seq > after_seq */
    uint32_t limit;
} cf_audit_filter;

typedef struct cf_meta cf_meta;

typedef struct cf_meta_ops {
    void (*close)(cf_meta *m);

    /* Buckets. create: CF_EEXIST if the name is taken (then *existing_owner, if non-NULL,
     * gets the owner, from arena a). delete: CF_ENOTFOUND, CF_ENOTEMPTY. */
    cf_rc (*bucket_create)(cf_meta *m, const cf_bucket_info *b, cf_arena *a,
                           cf_str *existing_owner);
    /* Creates the bucket and inserts the credential in one transaction: both or neither.
     * CF_EEXIST (with existing_owner) if the bucket exists, CF_ECONFLICT if the credential
     * id exists. */
    cf_rc (*bucket_create_with_cred)(cf_meta *m, const cf_bucket_info *b, const cf_cred_row *c,
                                     cf_arena *a, cf_str *existing_owner);
    /* Sets the quota (0: none). CF_ENOTFOUND if the bucket does not exist. */
    cf_rc (*bucket_set_quota)(cf_meta *m, cf_str name, uint64_t max_bytes, uint64_t max_objects);
    cf_rc (*bucket_get)(cf_meta *m, cf_str name, cf_arena *a, cf_bucket_info *out);
    cf_rc (*bucket_list)(cf_meta *m, cf_arena *a, cf_bucket_info **out, size_t *n);
    cf_rc (*bucket_delete)(cf_meta *m, cf_str name);

    /* Objects. get: CF_ENOTFOUND when the bucket or key is missing (check the bucket first
     * to tell them apart). */
    cf_rc (*object_get)(cf_meta *m, cf_str bucket, cf_str key, cf_arena *a, cf_object_info *out);
    /* Inserts or replaces obj in one transaction. The replaced object's blob id, if any, is
     * queued for garbage collection in the same transaction and copied to replaced_blob
     * (empty string if none) so the caller can delete it after the commit and then call
     * gc_done. CF_ENOTFOUND if the bucket does not exist; CF_ECONFLICT if cond fails;
     * CF_ETOOBIG if the bucket's quota would be exceeded (usage after the put, counting the
     * replaced object as gone). */
    cf_rc (*object_put)(cf_meta *m, const cf_object_info *obj, const cf_put_cond *cond,
                        char replaced_blob[CF_BLOB_ID_LEN + 1]);
    /* Deletes the key (CF_OK also when it was missing, unless cond asks for it); queues its
     * blob as above. cond may be NULL; CF_ECONFLICT if it fails (the key is missing or
     * differs), and nothing is deleted. */
    cf_rc (*object_delete)(cf_meta *m, cf_str bucket, cf_str key, const cf_del_cond *cond,
                           char deleted_blob[CF_BLOB_ID_LEN + 1]);
    cf_rc (*object_list)(cf_meta *m, cf_str bucket, const cf_list_params *p, cf_arena *a,
                         cf_list_result *out);

    /* Multipart uploads. upload_create: CF_ENOTFOUND if the bucket is missing. part_put
     * replaces a part with the same number (the old blob is queued for garbage collection);
     * CF_ENOTFOUND if the upload is gone (the caller then discards its blob). part_list
     * gives parts with number > after, at most max, ascending; *truncated if more follow.
     * upload_complete commits obj (whose segments name parts of the upload, each with the
     * part's blob) in one transaction: conditions as object_put (CF_ECONFLICT), quota
     * (CF_ETOOBIG), CF_ENOTFOUND if the upload is gone; the upload's other parts and the
     * replaced object's blobs are queued for garbage collection, the upload removed.
     * upload_abort removes the upload and queues all its parts' blobs (CF_ENOTFOUND if
     * unknown). blob_referenced also counts parts and segments. */
    cf_rc (*upload_create)(cf_meta *m, const cf_upload_info *u);
    cf_rc (*upload_get)(cf_meta *m, cf_str bucket, cf_str key, cf_str upload_id, cf_arena *a,
                        cf_upload_info *out);
    cf_rc (*upload_list)(cf_meta *m, cf_str bucket, const cf_upload_list_params *p, cf_arena *a,
                         cf_upload_list_result *out);
    cf_rc (*part_put)(cf_meta *m, cf_str bucket, cf_str key, cf_str upload_id,
                      const cf_part_info *p);
    cf_rc (*part_list)(cf_meta *m, cf_str bucket, cf_str key, cf_str upload_id, uint32_t after,
                       uint32_t max, cf_arena *a, cf_part_info **out, size_t *n, bool *truncated);
    cf_rc (*upload_complete)(cf_meta *m, const cf_object_info *obj, cf_str upload_id,
                             const cf_put_cond *cond);
    cf_rc (*upload_abort)(cf_meta *m, cf_str bucket, cf_str key, cf_str upload_id);

    /* Bucket sub-resources stored as documents (CORS XML, lifecycle XML, tagging XML...):
     * kind names the document. get: CF_ENOTFOUND when unset. */
    cf_rc (*bucket_doc_get)(cf_meta *m, cf_str bucket, const char *kind, cf_arena *a,
                            cf_str *out);
    cf_rc (*bucket_doc_put)(cf_meta *m, cf_str bucket, const char *kind, cf_str doc);
    cf_rc (*bucket_doc_delete)(cf_meta *m, cf_str bucket, const char *kind);
    /* Rewrites an object's stored headers (tagging, ...) keeping its body, if its etag is
     * still etag (CF_ECONFLICT otherwise: it was overwritten meanwhile). */
    cf_rc (*object_set_headers)(cf_meta *m, cf_str bucket, cf_str key, cf_str etag,
                                const cf_header *h, size_t n);

    /* Blob garbage queue and crash recovery. */
    cf_rc (*gc_done)(cf_meta *m, const char *blob_id);
    /* Calls fn for every queued blob id (at start-up, to finish deletions a crash cut). */
    cf_rc (*gc_pending)(cf_meta *m, void (*fn)(void *ctx, const char *blob_id), void *ctx);
    /* Whether any object references the blob id. */
    cf_rc (*blob_referenced)(cf_meta *m, const char *blob_id, bool *out);

    /* Credentials. put inserts (CF_EEXIST if the id exists); update replaces by id. */
    cf_rc (*cred_insert)(cf_meta *m, const cf_cred_row *c);
    cf_rc (*cred_update)(cf_meta *m, const cf_cred_row *c);
    cf_rc (*cred_get)(cf_meta *m, cf_str id, cf_arena *a, cf_cred_row *out);
    cf_rc (*cred_get_by_token_hash)(cf_meta *m, cf_str token_hash, cf_arena *a,
                                    cf_cred_row *out);
    cf_rc (*cred_count)(cf_meta *m, uint64_t *n);
    cf_rc (*cred_touch)(cf_meta *m, cf_str id, int64_t last_used_ms);
    /* The credential and its ancestors, the credential first, root last (at most depth
     * rows; CF_ETOOBIG if the chain is deeper). CF_ENOTFOUND if id is unknown. */
    cf_rc (*cred_chain)(cf_meta *m, cf_str id, size_t depth, cf_arena *a, cf_cred_row **out,
                        size_t *n);
    /* Whether id is ancestor_id itself or one of its descendants. */
    cf_rc (*cred_in_subtree)(cf_meta *m, cf_str ancestor_id, cf_str id, bool *out);
    /* A page of the subtree rooted at root_id (root included), ordered by path (tree order),
     * the rows after the credential after_id (empty: from the start; CF_ENOTFOUND if it no
     * longer exists), at most limit rows. */
    cf_rc (*cred_list_subtree)(cf_meta *m, cf_str root_id, cf_str after_id, uint32_t limit,
                               cf_arena *a, cf_cred_row **out, size_t *n);
    /* Deletes id and all its descendants in one transaction; *deleted gets the count.
     * CF_ENOTFOUND if id is unknown. */
    cf_rc (*cred_delete_subtree)(cf_meta *m, cf_str id, uint64_t *deleted);
    /* A number that moves on whenever a credential row may have changed (insert, update,
     * delete; not cred_touch), read before loading credential data that is then cached: a
     * cache entry is valid while the epoch it was loaded at is still current. A backend
     * shared by several processes must see the others' writes here too. NULL: no caching. */
    uint64_t (*cred_epoch)(cf_meta *m);

    /* Audit log. */
    cf_rc (*audit_append)(cf_meta *m, const cf_audit_row *r);
    cf_rc (*audit_query)(cf_meta *m, const cf_audit_filter *f, cf_arena *a, cf_audit_row **out,
                         size_t *n);
} cf_meta_ops;

struct cf_meta {
    const cf_meta_ops *ops;
};

/* Convenience wrappers so callers read m->ops->x(m, ...) as cf_meta_x(m, ...). */
#define cf_meta_call(m, fn, ...) ((m)->ops->fn((m), __VA_ARGS__))

#endif
