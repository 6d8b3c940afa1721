/* Internals shared by the S3 handler files: the per-request state and the operation table. */
#ifndef COFFER_S3_S3_INT_H
#define COFFER_S3_S3_INT_H

#include "auth/authz.h"
#include "auth/chunked.h"
#include "core/checksum.h"
#include "core/crypto.h"
#include "s3/s3.h"
#include "s3/xml.h"

#define CF_S3_MAX_KEY 1024
#define CF_S3_MAX_USER_META 2048
#define CF_S3_XML_BODY_MAX (1u << 20)
#define CF_S3_DELETE_OBJECTS_BODY_MAX (2u << 20) /* 1000 keys of up to 1024 bytes, in XML */

typedef enum cf_s3_target { CF_T_SERVICE, CF_T_BUCKET, CF_T_OBJECT } cf_s3_target;

typedef struct cf_s3_req cf_s3_req;

typedef struct cf_s3_op {
    const char *name;   /* "PutObject": S3's operation name */
    const char *action; /* the IAM action that authorizes it: "s3:PutObject" */
    cf_http_method method;
    cf_s3_target target;
    const char *subresource; /* query parameter that selects it, or NULL */
    const char *header;      /* request header that selects it, or NULL */
    /* After routing and authentication. May respond (then nothing else runs). */
    void (*begin)(cf_s3_req *q);
    /* Decoded, verified-so-far body bytes; NULL: the body is buffered into q->body up to
     * body_max (bodies are refused when body_max is 0 and body is NULL). */
    void (*body)(cf_s3_req *q, const char *p, size_t n);
    /* After the whole body was received and its hashes and checksums verified. */
    void (*complete)(cf_s3_req *q);
    /* Always, last; releases what begin took. */
    void (*done)(cf_s3_req *q, bool completed);
    size_t body_max;
    /* The request carries no SigV4 header or query signature to check before begin (CORS
     * preflight, POST form upload): begin authenticates and authorizes itself. */
    bool self_auth;
    /* The router authorizes nothing after authenticating: the operation names several
     * resources in its body and authorizes each itself (DeleteObjects, per key). */
    bool per_key_authz;
    /* x-amz-checksum-* headers describe the resulting object, not the body: the body
     * pipeline leaves them to the operation (CompleteMultipartUpload). */
    bool object_checksum_headers;
} cf_s3_op;

/* The operations, in dispatch order (first match wins); defined in router.c. */
extern const cf_s3_op cf_s3_ops[];
extern const size_t cf_s3_nops;

typedef struct cf_s3_pipe cf_s3_pipe;

struct cf_s3_req {
    cf_s3 *s3;
    cf_http_req *http;
    cf_arena *arena;
    const cf_s3_op *op;

    cf_str bucket; /* decoded */
    cf_str key;    /* decoded; empty for bucket/service targets */
    cf_s3_target target;
    cf_kv *query; /* decoded */
    size_t nquery;

    cf_authn_result authn;
    bool signed_request;
    cf_principal principal; /* the signer with its chain, after authentication */

    /* Body pipeline (router.c): payload verification, then op->body or q->body. */
    cf_str payload_hash;  /* x-amz-content-sha256 or the presigned default */
    cf_chunked *chunked;  /* aws-chunked decoder, or NULL */
    cf_hash *sha256;      /* when payload_hash is a literal digest */
    cf_hash *md5;         /* always, for Content-MD5 and ETags */
    cf_ck ck;             /* x-amz-checksum-* (header or trailer), alg NONE if none */
    cf_str ck_expected;   /* base64 from the header; from the trailer at completion */
    bool ck_in_trailer;
    bool has_decoded_len;
    uint64_t decoded_len; /* x-amz-decoded-content-length, or Content-Length */
    uint64_t body_len;    /* decoded bytes seen */
    uint8_t md5_digest[16];
    cf_s3_pipe *pipe;     /* long bodies: hashing on the pool (payload.c), or NULL */
    bool failed;          /* an error was answered; ignore the rest */
    cf_buf body;          /* buffered body for ops without a body callback */

    void *opstate; /* the operation's own state */
};

/* Entry points of auth.c and payload.c, used by the router. cf_s3_authenticate verifies the
 * signature (or answers AccessDenied for anonymous requests) and loads the principal; the
 * payload functions set up, feed and finally verify the body pipeline. Each answers its
 * own errors except cf_s3_payload_feed/verify, which return them. */
cf_s3err cf_s3_authenticate(cf_s3_req *q);
bool cf_s3_payload_setup(cf_s3_req *q);
cf_s3err cf_s3_payload_feed(cf_s3_req *q, const char *p, size_t n);
cf_s3err cf_s3_payload_verify(cf_s3_req *q);
/* Waits for the pool's work on this request and frees the pipeline; before the digests are
 * freed, whether or not the body was complete. */
void cf_s3_payload_release(cf_s3_req *q);
bool cf_s3_is_hex64(cf_str s); /* 64 lowercase hex digits */
/* The bucket named by the Host header under the configured domain (lowercased), if any. */
bool cf_s3_host_bucket(const cf_s3_req *q, cf_str *bucket);
/* cf_s3_error with extra elements (name, value) before Resource, for SignatureDoesNotMatch. */
void cf_s3_error_extra(cf_s3_req *q, cf_s3err e, const char *message, const cf_kv *extra,
                       size_t nextra);

/* Answers an S3 error (XML body for non-HEAD) and marks the request failed. message NULL
 * uses the table's text. */
void cf_s3_error(cf_s3_req *q, cf_s3err e, const char *message);
void cf_s3_errorf(cf_s3_req *q, cf_s3err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers an XML document built in b (taken over). */
void cf_s3_respond_xml(cf_s3_req *q, int status, cf_buf *b);

/* The query parameter's value, or .p NULL when absent. */
cf_str cf_s3_query(const cf_s3_req *q, const char *name);
bool cf_s3_has_query(const cf_s3_req *q, const char *name);

/* With q->authn filled (a verified signature), loads the signer's chain into q->principal
 * and checks it (active, time window, IPs); answers the error itself. */
cf_s3err cf_s3_load_principal(cf_s3_req *q);

/* Whether the principal may do action on the bucket (key empty) or object; answers
 * AccessDenied (and audits the refusal) when not. */
bool cf_s3_authorize(cf_s3_req *q, const char *action, cf_str bucket, cf_str key);
/* The same decision without answering (a refusal is still audited); false also when it
 * cannot be decided (out of memory). */
bool cf_s3_allowed(cf_s3_req *q, const char *action, cf_str bucket, cf_str key);
/* cf_s3_allowed for s3:DeleteObject of one DeleteObjects key, with its ETag element (NULL
 * when it has none) as s3:if-match. */
bool cf_s3_allowed_delete(cf_s3_req *q, cf_str bucket, cf_str key, const cf_str *etag);

/* Shared by handlers. */
/* NoSuchBucket unless the bucket exists (InternalError on failure). */
cf_s3err cf_s3_bucket_exists(cf_s3_req *q, cf_str bucket);
/* Owner id used in listings: the signing credential's root. */
cf_str cf_s3_owner_id(const cf_s3_req *q);
/* "2009-10-12T17:50:30.000Z" into out. */
void cf_s3_time_iso(int64_t ms, char out[25]);
/* Maps a storage error to the S3 answer and logs unexpected ones. */
cf_s3err cf_s3_from_rc(cf_rc rc, const char *what);

/* Handlers, one file per resource group. */
void cf_s3_list_buckets(cf_s3_req *q);
void cf_s3_create_bucket_complete(cf_s3_req *q);
void cf_s3_head_bucket(cf_s3_req *q);
void cf_s3_delete_bucket(cf_s3_req *q);
void cf_s3_get_bucket_location(cf_s3_req *q);
void cf_s3_list_objects(cf_s3_req *q);

/* ETag, Last-Modified, stored headers (checksums only with checksum_mode) and response-*
 * overrides of an object, as GET and HEAD answer them. */
void cf_s3_add_object_headers(cf_s3_req *q, const cf_object_info *o, bool checksum_mode);
/* The user metadata and stored headers of a PUT/copy request, validated (MetadataTooLarge,
 * InvalidArgument); checksum (may be NONE) is stored with them. */
cf_s3err cf_s3_collect_headers(cf_s3_req *q, cf_ck_alg ck, cf_str ck_value, cf_header **out,
                               size_t *n);
/* The same from any name/value list (a POST form's fields); *out has room for two more. */
cf_s3err cf_s3_collect_headers_from(cf_s3_req *q, const cf_kv *in, size_t nin, cf_ck_alg ck,
                                    cf_str ck_value, cf_header **out, size_t *n);
/* Commits o (whose blob is finished) and publishes its blob; on failure the blob is
 * discarded. Answers nothing. */
cf_s3err cf_s3_commit_object(cf_s3_req *q, cf_object_info *o, const cf_put_cond *cond);

/* After a commit that may have queued blobs for garbage collection (replaced or deleted
 * objects, whose blob id, or "", is id): wakes the collector, which removes them in the
 * background. Without a collector (q->s3->gc NULL) removes id at once. */
void cf_s3_remove_blob(cf_s3_req *q, const char *id);

/* ---- staged bodies (object_put.c): PutObject and UploadPart stream into a blob ---- */
/* Bodies up to this size whose length is announced may be kept in the metadata store: one
 * database commit instead of a file create, write, fsync, rename and directory fsync. */
#define CF_S3_INLINE_MAX (16u << 10)
typedef struct cf_s3_stage {
    cf_blob_writer *w; /* open until finish */
    char blob_id[CF_BLOB_ID_LEN + 1];
    bool staged;  /* finished, not yet committed: cf_s3_stage_done discards it */
    uint64_t max; /* the largest body accepted */
    /* Set by the caller before begin when the body may be inline; begin then chooses, and an
     * inline body collects in inline_p (arena memory) with no blob at all. */
    bool allow_inline;
    bool is_inline;
    char *inline_p;
    size_t inline_len, inline_cap;
} cf_s3_stage;
/* Checks the request announces its length (MissingContentLength) and that it is at most max
 * (EntityTooLarge), then opens a staged blob. Answers the error itself and returns false. */
bool cf_s3_stage_begin(cf_s3_req *q, cf_s3_stage *st, uint64_t max);
/* Appends verified body bytes (EntityTooLarge past max); answers errors itself. */
void cf_s3_stage_body(cf_s3_req *q, cf_s3_stage *st, const char *p, size_t n);
/* Makes the blob durable (unpublished); st->staged is then set until the caller has committed
 * the metadata naming it and cleared it. Answers nothing. */
cf_s3err cf_s3_stage_finish(cf_s3_req *q, cf_s3_stage *st);
/* For op->done: aborts a writer still open and discards a blob still staged. */
void cf_s3_stage_done(cf_s3_req *q, cf_s3_stage *st);
/* The If-None-Match: * and If-Match preconditions of a write into c; answers NotImplemented
 * and returns false for any other If-None-Match. */
bool cf_s3_put_conditions(cf_s3_req *q, cf_put_cond *c);

/* ---- object bodies (object_get.c) ---- */
/* An open object body: inline bytes, one blob, or segments opened one at a time as reading
 * reaches them. Heap memory that may outlive the request (a streaming response owns it);
 * segments stay leased from the garbage collector until cf_s3_body_free. */
typedef struct cf_s3_body cf_s3_body;
/* Reads bucket/key's metadata into *o (arena memory) and opens its body. NoSuchKey,
 * NoSuchBucket, InternalError; answers nothing. */
cf_s3err cf_s3_body_open(cf_s3_req *q, cf_str bucket, cf_str key, cf_object_info *o,
                         cf_s3_body **out);
/* Up to n bytes at object offset off: bytes read, 0 at the end, -1 on error. */
ptrdiff_t cf_s3_body_read(cf_s3_body *b, uint64_t off, void *p, size_t n);
void cf_s3_body_free(cf_s3_body *b); /* NULL is a no-op */
/* Copies len bytes at off of b into a new blob, finished but unpublished, whose id goes to
 * id; md5 gets their MD5 and ck, if not NULL (initialized by the caller), is updated. */
cf_rc cf_s3_body_copy(cf_s3_req *q, cf_s3_body *b, uint64_t off, uint64_t len,
                      char id[CF_BLOB_ID_LEN + 1], uint8_t md5[16], cf_ck *ck);

/* "/bucket/key" or "bucket/key" of x-amz-copy-source, percent-decoded (object_copy.c). */
bool cf_s3_parse_copy_source(cf_s3_req *q, cf_str src, cf_str *bucket, cf_str *key);

/* ---- read leases on blobs (gc.c) ---- */
/* While leased, the ids (n NUL-terminated blob ids sorted by strcmp) are not removed by the
 * garbage collector. The lease and the ids belong to the caller and must stay valid until
 * released. g NULL: no-ops. */
typedef struct cf_s3_lease {
    const char *const *ids;
    size_t n;
    struct cf_s3_lease *prev, *next; /* gc.c's */
    bool linked;                     /* gc.c's: on the list; a second release is a no-op */
} cf_s3_lease;
void cf_s3_gc_lease(cf_s3_gc *g, cf_s3_lease *l);
void cf_s3_gc_release(cf_s3_gc *g, cf_s3_lease *l);

/* ---- multipart uploads (multipart.c) ---- */
#define CF_S3_MAX_PARTS 10000
#define CF_S3_MIN_PART_SIZE (5ull << 20) /* every part but the last */
#define CF_S3_MAX_PART_SIZE (5ull << 30)
/* 10,000 parts with a checksum each, in XML with room for indentation. */
#define CF_S3_COMPLETE_BODY_MAX (4u << 20)
void cf_s3_create_upload(cf_s3_req *q);
void cf_s3_upload_part_begin(cf_s3_req *q);
void cf_s3_upload_part_body(cf_s3_req *q, const char *p, size_t n);
void cf_s3_upload_part_complete(cf_s3_req *q);
void cf_s3_upload_part_done(cf_s3_req *q, bool completed);
void cf_s3_upload_part_copy(cf_s3_req *q);
void cf_s3_complete_upload_begin(cf_s3_req *q);
void cf_s3_complete_upload(cf_s3_req *q);
void cf_s3_abort_upload(cf_s3_req *q);
void cf_s3_list_parts(cf_s3_req *q);
void cf_s3_list_uploads(cf_s3_req *q);

void cf_s3_get_object(cf_s3_req *q); /* also HEAD */
void cf_s3_put_object_begin(cf_s3_req *q);
void cf_s3_put_object_body(cf_s3_req *q, const char *p, size_t n);
void cf_s3_put_object_complete(cf_s3_req *q);
void cf_s3_put_object_done(cf_s3_req *q, bool completed);
/* PostObject (post_object.c): browser form uploads signed with a POST policy. */
void cf_s3_post_object_begin(cf_s3_req *q);
void cf_s3_post_object_body(cf_s3_req *q, const char *p, size_t n);
void cf_s3_post_object_complete(cf_s3_req *q);
void cf_s3_post_object_done(cf_s3_req *q, bool completed);
void cf_s3_copy_object(cf_s3_req *q);
void cf_s3_delete_object(cf_s3_req *q);
/* Deletes bucket/key (a missing key counts as deleted unless cond, which may be NULL, asks for
 * it) and removes its blob; NoSuchBucket, NoSuchKey or PreconditionFailed when cond fails,
 * InternalError. Answers nothing. */
cf_s3err cf_s3_delete_key(cf_s3_req *q, cf_str bucket, cf_str key, const cf_del_cond *cond);
/* A conditional delete's If-Match value ("*" or an ETag, quoted or not) into c; false when
 * it is neither (empty). Reads no permission: see cf_s3_delete_cond_allowed. */
bool cf_s3_delete_cond(cf_str if_match, cf_del_cond *c);
/* Whether the principal may make a delete conditional on c: comparing an ETag reads the
 * object, so it also needs s3:GetObject, as in S3. */
bool cf_s3_delete_cond_allowed(cf_s3_req *q, cf_str bucket, cf_str key, const cf_del_cond *c);
void cf_s3_delete_objects_begin(cf_s3_req *q);
void cf_s3_delete_objects_complete(cf_s3_req *q);

/* Bucket configuration documents (bucket_doc.c), stored whole per kind ("cors", "lifecycle",
 * "tagging"). begin of their PUTs: NoSuchBucket, then Content-MD5 or x-amz-checksum-*
 * required as S3 requires it. GET answers the stored XML (missing: that error, or
 * NoSuchBucket); store answers status (or the error); delete answers 204. */
void cf_s3_doc_put_begin(cf_s3_req *q);
void cf_s3_doc_respond(cf_s3_req *q, const char *kind, cf_s3err missing);
void cf_s3_doc_store(cf_s3_req *q, const char *kind, cf_str doc, int status);
void cf_s3_doc_delete(cf_s3_req *q, const char *kind);
/* The stored document into *doc (arena), answering nothing: CF_S3_OK, missing when unset,
 * NoSuchBucket, InternalError. */
cf_s3err cf_s3_doc_load(cf_s3_req *q, const char *kind, cf_s3err missing, cf_str *doc);

/* CORS (cors.c). The preflight is an OPTIONS row of its own; cf_s3_cors_actual runs for
 * every routed request and adds the Access-Control-* headers a matching rule grants. */
void cf_s3_put_bucket_cors_complete(cf_s3_req *q);
void cf_s3_get_bucket_cors(cf_s3_req *q);
void cf_s3_delete_bucket_cors(cf_s3_req *q);
void cf_s3_cors_preflight(cf_s3_req *q);
void cf_s3_cors_actual(cf_s3_req *q);

/* Tagging (tagging.c). Object tags live in the object's stored headers as one
 * "x-amz-tagging" entry, URL-encoded as in S3's header. */
void cf_s3_put_object_tagging_complete(cf_s3_req *q);
void cf_s3_get_object_tagging(cf_s3_req *q);
void cf_s3_delete_object_tagging(cf_s3_req *q);
void cf_s3_put_bucket_tagging_complete(cf_s3_req *q);
void cf_s3_get_bucket_tagging(cf_s3_req *q);
void cf_s3_delete_bucket_tagging(cf_s3_req *q);
/* A request's x-amz-tagging header validated (InvalidArgument, InvalidTag, BadRequest) and
 * authorized (s3:PutObjectTagging) into its stored form (arena); answers the error itself. */
cf_s3err cf_s3_tagging_header(cf_s3_req *q, cf_str value, cf_str *stored);
/* The same from a <Tagging> document (POST Object's tagging field): MalformedXML too. */
cf_s3err cf_s3_tagging_xml(cf_s3_req *q, cf_str xml, cf_str *stored);
/* CopyObject's x-amz-tagging-directive: rebuilds *hs (arena) with the source's tags (COPY,
 * the default) or the request's (REPLACE) in place of any others; answers errors itself. */
cf_s3err cf_s3_tagging_for_copy(cf_s3_req *q, const cf_object_info *src, cf_header **hs,
                                size_t *n);
/* Tags in a stored x-amz-tagging value. */
size_t cf_s3_tag_count(cf_str stored);
/* Decodes a stored value into pairs (arena); false if malformed or out of memory. */
bool cf_s3_tags_decode(cf_arena *a, cf_str stored, cf_kv **tags, size_t *n);

/* Lifecycle configuration (lifecycle.c; the sweeper is in s3/lifecycle.h). */
void cf_s3_put_lifecycle_complete(cf_s3_req *q);
void cf_s3_get_lifecycle(cf_s3_req *q);
void cf_s3_delete_lifecycle(cf_s3_req *q);

void cf_s3_not_implemented(cf_s3_req *q);

#endif
