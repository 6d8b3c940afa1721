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
} cf_s3_op;

/* The operations, in dispatch order (first match wins); defined in router.c. */
extern const cf_s3_op cf_s3_ops[];
extern const size_t cf_s3_nops;

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
    bool failed;          /* an error was answered; ignore the rest */
    cf_buf body;          /* buffered body for ops without a body callback */

    void *opstate; /* the operation's own state */
};

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
/* Commits o (whose blob is finished) and publishes its blob; on failure the blob is
 * discarded. Answers nothing. */
cf_s3err cf_s3_commit_object(cf_s3_req *q, cf_object_info *o, const cf_put_cond *cond);

/* Removes a replaced or deleted object's blob and takes it off the garbage queue; a failure
 * leaves it queued for the next start. id "" is a no-op. */
void cf_s3_remove_blob(cf_s3_req *q, const char *id);

void cf_s3_get_object(cf_s3_req *q); /* also HEAD */
void cf_s3_put_object_begin(cf_s3_req *q);
void cf_s3_put_object_body(cf_s3_req *q, const char *p, size_t n);
void cf_s3_put_object_complete(cf_s3_req *q);
void cf_s3_put_object_done(cf_s3_req *q, bool completed);
void cf_s3_copy_object(cf_s3_req *q);
void cf_s3_delete_object(cf_s3_req *q);

void cf_s3_not_implemented(cf_s3_req *q);

#endif
