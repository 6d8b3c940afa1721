/* Request entry: addressing, authentication, operation dispatch and the body pipeline
 * (aws-chunked decoding, payload hash, Content-MD5 and x-amz-checksum-* verification) that
 * every operation's body goes through before the operation sees it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth/failures.h"
#include "core/clock.h"
#include "core/log.h"
#include "s3/s3_int.h"

#define MAX_QUERY_PARAMS 128

const cf_s3_op cf_s3_ops[] = {
    {.name = "ListBuckets", .action = "s3:ListAllMyBuckets", .method = CF_HTTP_GET,
     .target = CF_T_SERVICE, .begin = cf_s3_list_buckets},
    {.name = "GetBucketLocation", .action = "s3:GetBucketLocation", .method = CF_HTTP_GET,
     .target = CF_T_BUCKET, .subresource = "location", .begin = cf_s3_get_bucket_location},
    {.name = "ListObjects", .action = "s3:ListBucket", .method = CF_HTTP_GET,
     .target = CF_T_BUCKET, .begin = cf_s3_list_objects},
    {.name = "CreateBucket", .action = "s3:CreateBucket", .method = CF_HTTP_PUT,
     .target = CF_T_BUCKET, .complete = cf_s3_create_bucket_complete,
     .body_max = CF_S3_XML_BODY_MAX},
    {.name = "HeadBucket", .action = "s3:ListBucket", .method = CF_HTTP_HEAD,
     .target = CF_T_BUCKET, .begin = cf_s3_head_bucket},
    {.name = "DeleteBucket", .action = "s3:DeleteBucket", .method = CF_HTTP_DELETE,
     .target = CF_T_BUCKET, .begin = cf_s3_delete_bucket},
    {.name = "GetObject", .action = "s3:GetObject", .method = CF_HTTP_GET,
     .target = CF_T_OBJECT, .begin = cf_s3_get_object},
    {.name = "HeadObject", .action = "s3:GetObject", .method = CF_HTTP_HEAD,
     .target = CF_T_OBJECT, .begin = cf_s3_get_object},
    /* Multipart uploads (multipart.c); GET/HEAD ?partNumber= read one part of an object.
     * UploadPartCopy comes before UploadPart, both before CopyObject and PutObject. Parts
     * need the right to write the object itself. */
    {.name = "ListParts", .action = "s3:ListMultipartUploadParts", .method = CF_HTTP_GET,
     .target = CF_T_OBJECT, .subresource = "uploadId", .begin = cf_s3_list_parts},
    {.name = "GetObject", .action = "s3:GetObject", .method = CF_HTTP_GET,
     .target = CF_T_OBJECT, .subresource = "partNumber", .begin = cf_s3_get_object},
    {.name = "HeadObject", .action = "s3:GetObject", .method = CF_HTTP_HEAD,
     .target = CF_T_OBJECT, .subresource = "partNumber", .begin = cf_s3_get_object},
    {.name = "UploadPartCopy", .action = "s3:PutObject", .method = CF_HTTP_PUT,
     .target = CF_T_OBJECT, .subresource = "uploadId", .header = "x-amz-copy-source",
     .begin = cf_s3_upload_part_copy},
    {.name = "UploadPart", .action = "s3:PutObject", .method = CF_HTTP_PUT,
     .target = CF_T_OBJECT, .subresource = "uploadId", .begin = cf_s3_upload_part_begin,
     .body = cf_s3_upload_part_body, .complete = cf_s3_upload_part_complete,
     .done = cf_s3_upload_part_done},
    {.name = "CreateMultipartUpload", .action = "s3:PutObject", .method = CF_HTTP_POST,
     .target = CF_T_OBJECT, .subresource = "uploads", .begin = cf_s3_create_upload},
    {.name = "CompleteMultipartUpload", .action = "s3:PutObject", .method = CF_HTTP_POST,
     .target = CF_T_OBJECT, .subresource = "uploadId", .begin = cf_s3_complete_upload_begin,
     .complete = cf_s3_complete_upload, .body_max = CF_S3_COMPLETE_BODY_MAX,
     .object_checksum_headers = true},
    {.name = "AbortMultipartUpload", .action = "s3:AbortMultipartUpload",
     .method = CF_HTTP_DELETE, .target = CF_T_OBJECT, .subresource = "uploadId",
     .begin = cf_s3_abort_upload},
    {.name = "ListMultipartUploads", .action = "s3:ListBucketMultipartUploads",
     .method = CF_HTTP_GET, .target = CF_T_BUCKET, .subresource = "uploads",
     .begin = cf_s3_list_uploads},
    {.name = "CopyObject", .action = "s3:PutObject", .method = CF_HTTP_PUT,
     .target = CF_T_OBJECT, .header = "x-amz-copy-source", .begin = cf_s3_copy_object},
    {.name = "PutObject", .action = "s3:PutObject", .method = CF_HTTP_PUT,
     .target = CF_T_OBJECT, .begin = cf_s3_put_object_begin, .body = cf_s3_put_object_body,
     .complete = cf_s3_put_object_complete, .done = cf_s3_put_object_done},
    {.name = "DeleteObject", .action = "s3:DeleteObject", .method = CF_HTTP_DELETE,
     .target = CF_T_OBJECT, .begin = cf_s3_delete_object},
    {.name = "DeleteObjects", .action = "s3:DeleteObject", .method = CF_HTTP_POST,
     .target = CF_T_BUCKET, .subresource = "delete", .begin = cf_s3_delete_objects_begin,
     .complete = cf_s3_delete_objects_complete, .body_max = CF_S3_DELETE_OBJECTS_BODY_MAX,
     .per_key_authz = true},
    /* A POST to the bucket with no subresource: a browser form upload. */
    {.name = "PostObject", .action = "s3:PutObject", .method = CF_HTTP_POST,
     .target = CF_T_BUCKET, .self_auth = true, .begin = cf_s3_post_object_begin,
     .body = cf_s3_post_object_body, .complete = cf_s3_post_object_complete,
     .done = cf_s3_post_object_done},
    /* Bucket configuration documents and tagging (cors.c, lifecycle.c, tagging.c). Deleting
     * a bucket's CORS, lifecycle or tags takes the right to put them, as in S3. */
    {.name = "PutBucketCors", .action = "s3:PutBucketCORS", .method = CF_HTTP_PUT,
     .target = CF_T_BUCKET, .subresource = "cors", .begin = cf_s3_doc_put_begin,
     .complete = cf_s3_put_bucket_cors_complete, .body_max = CF_S3_XML_BODY_MAX},
    {.name = "GetBucketCors", .action = "s3:GetBucketCORS", .method = CF_HTTP_GET,
     .target = CF_T_BUCKET, .subresource = "cors", .begin = cf_s3_get_bucket_cors},
    {.name = "DeleteBucketCors", .action = "s3:PutBucketCORS", .method = CF_HTTP_DELETE,
     .target = CF_T_BUCKET, .subresource = "cors", .begin = cf_s3_delete_bucket_cors},
    {.name = "PutBucketLifecycleConfiguration", .action = "s3:PutLifecycleConfiguration",
     .method = CF_HTTP_PUT, .target = CF_T_BUCKET, .subresource = "lifecycle",
     .begin = cf_s3_doc_put_begin, .complete = cf_s3_put_lifecycle_complete,
     .body_max = CF_S3_XML_BODY_MAX},
    {.name = "GetBucketLifecycleConfiguration", .action = "s3:GetLifecycleConfiguration",
     .method = CF_HTTP_GET, .target = CF_T_BUCKET, .subresource = "lifecycle",
     .begin = cf_s3_get_lifecycle},
    {.name = "DeleteBucketLifecycle", .action = "s3:PutLifecycleConfiguration",
     .method = CF_HTTP_DELETE, .target = CF_T_BUCKET, .subresource = "lifecycle",
     .begin = cf_s3_delete_lifecycle},
    {.name = "PutBucketTagging", .action = "s3:PutBucketTagging", .method = CF_HTTP_PUT,
     .target = CF_T_BUCKET, .subresource = "tagging", .begin = cf_s3_doc_put_begin,
     .complete = cf_s3_put_bucket_tagging_complete, .body_max = CF_S3_XML_BODY_MAX},
    {.name = "GetBucketTagging", .action = "s3:GetBucketTagging", .method = CF_HTTP_GET,
     .target = CF_T_BUCKET, .subresource = "tagging", .begin = cf_s3_get_bucket_tagging},
    {.name = "DeleteBucketTagging", .action = "s3:PutBucketTagging", .method = CF_HTTP_DELETE,
     .target = CF_T_BUCKET, .subresource = "tagging", .begin = cf_s3_delete_bucket_tagging},
    {.name = "PutObjectTagging", .action = "s3:PutObjectTagging", .method = CF_HTTP_PUT,
     .target = CF_T_OBJECT, .subresource = "tagging",
     .complete = cf_s3_put_object_tagging_complete, .body_max = CF_S3_XML_BODY_MAX},
    {.name = "GetObjectTagging", .action = "s3:GetObjectTagging", .method = CF_HTTP_GET,
     .target = CF_T_OBJECT, .subresource = "tagging", .begin = cf_s3_get_object_tagging},
    {.name = "DeleteObjectTagging", .action = "s3:DeleteObjectTagging",
     .method = CF_HTTP_DELETE, .target = CF_T_OBJECT, .subresource = "tagging",
     .begin = cf_s3_delete_object_tagging},
    /* CORS preflights: unsigned, answered from the bucket's rules for any subresource. */
    {.name = "OptionsBucket", .action = "", .method = CF_HTTP_OPTIONS, .target = CF_T_BUCKET,
     .self_auth = true, .begin = cf_s3_cors_preflight},
    {.name = "OptionsObject", .action = "", .method = CF_HTTP_OPTIONS, .target = CF_T_OBJECT,
     .self_auth = true, .begin = cf_s3_cors_preflight},
};
const size_t cf_s3_nops = sizeof cf_s3_ops / sizeof cf_s3_ops[0];

/* Query parameters that select an operation in S3. A request carrying one that no entry of
 * the table handles is an operation coffer does not implement (501). */
static const char *const subresources[] = {
    "accelerate", "acl", "analytics", "attributes", "cors", "delete", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location", "logging",
    "metadataTable", "metrics", "notification", "object-lock", "ownershipControls", "policy",
    "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
    "retention", "select", "session", "tagging", "torrent", "uploadId", "uploads", "versioning",
    "versions", "website", "partNumber", "versionId", "renameObject",
};

cf_str cf_s3_query(const cf_s3_req *q, const char *name)
{
    for (size_t i = 0; i < q->nquery; i++)
        if (cf_str_eq_c(q->query[i].name, name))
            return q->query[i].value;
    return CF_STR_NULL;
}

bool cf_s3_has_query(const cf_s3_req *q, const char *name)
{
    return cf_s3_query(q, name).p != NULL;
}

/* ---- errors ---- */

void cf_s3_error_extra(cf_s3_req *q, cf_s3err e, const char *message, const cf_kv *extra,
                      size_t nextra)
{
    cf_http_req *r = q->http;
    cf_buf b;
    q->failed = true;
    if (r->responded)
        return;
    if (e == CF_S3_InternalError || (cf_s3err_status(e) >= 500 && e != CF_S3_SlowDown))
        cf_warn("s3: %s answered %s: %s", r->request_id, cf_s3err_code(e),
                message ? message : cf_s3err_message(e));
    cf_buf_init(&b, 256u << 10);
    cf_buf_append_c(&b, CF_XML_DECL "<Error>");
    cf_xml_elem_c(&b, "Code", cf_s3err_code(e));
    cf_xml_elem_c(&b, "Message", message ? message : cf_s3err_message(e));
    if (q->bucket.len)
        cf_xml_elem(&b, "BucketName", q->bucket);
    if (q->key.len)
        cf_xml_elem(&b, "Key", q->key);
    for (size_t i = 0; i < nextra; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", CF_STR_FMT(extra[i].name));
        cf_xml_elem(&b, name, extra[i].value);
    }
    cf_xml_elem(&b, "Resource", r->path);
    cf_xml_elem_c(&b, "RequestId", r->request_id);
    cf_xml_elem_c(&b, "HostId", r->request_id);
    cf_buf_append_c(&b, "</Error>");
    if (e == CF_S3_MethodNotAllowed)
        cf_http_add_header(r, "Allow", "GET, HEAD, PUT, DELETE");
    if (r->method == CF_HTTP_HEAD || e == CF_S3_NotModified) {
        cf_buf_free(&b);
        cf_http_respond_empty(r, cf_s3err_status(e));
        return;
    }
    cf_http_respond(r, cf_s3err_status(e), &b, "application/xml");
}

void cf_s3_error(cf_s3_req *q, cf_s3err e, const char *message)
{
    cf_s3_error_extra(q, e, message, NULL, 0);
}

void cf_s3_errorf(cf_s3_req *q, cf_s3err e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cf_s3_error_extra(q, e, msg, NULL, 0);
}

void cf_s3_respond_xml(cf_s3_req *q, int status, cf_buf *b)
{
    if (b->len >= b->max) {
        cf_buf_free(b);
        cf_s3_error(q, CF_S3_InternalError, "response too large");
        return;
    }
    cf_http_respond(q->http, status, b, "application/xml");
}

cf_s3err cf_s3_from_rc(cf_rc rc, const char *what)
{
    switch (rc) {
    case CF_OK:
        return CF_S3_OK;
    case CF_ENOSPC:
        cf_warn("s3: %s: storage full", what);
        return CF_S3_InsufficientStorage;
    default:
        cf_error("s3: %s failed: %s", what, cf_rc_str(rc));
        return CF_S3_InternalError;
    }
}

/* ---- addressing ---- */

bool cf_s3_host_bucket(const cf_s3_req *q, cf_str *bucket)
{
    cf_str host = cf_http_header(q->http, "host");
    size_t dlen = strlen(q->s3->domain);
    if (dlen == 0 || host.p == NULL)
        return false;
    /* Strip the port; IPv6 literals never name a bucket. */
    if (host.len > 0 && host.p[0] == '[')
        return false;
    ptrdiff_t colon = cf_str_find(host, ':');
    if (colon >= 0)
        host.len = (size_t)colon;
    if (host.len > 0 && host.p[host.len - 1] == '.')
        host.len--;
    if (host.len <= dlen + 1)
        return false;
    cf_str tail = cf_str_sub(host, host.len - dlen, dlen);
    if (host.p[host.len - dlen - 1] != '.')
        return false;
    for (size_t i = 0; i < dlen; i++) {
        char a = tail.p[i], b = q->s3->domain[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    /* Host names are case-insensitive; bucket names are lowercase. */
    cf_str b = cf_str_sub(host, 0, host.len - dlen - 1);
    char *lower = cf_arena_strndup(q->arena, b.p, b.len);
    if (lower == NULL)
        return false;
    for (char *c = lower; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    *bucket = cf_str_make(lower, b.len);
    return true;
}

static cf_s3err route_target(cf_s3_req *q)
{
    cf_str path = q->http->path;
    cf_str vbucket;
    if (path.len == 0 || path.p[0] != '/')
        return CF_S3_InvalidURI;
    path = cf_str_sub(path, 1, path.len - 1);
    if (cf_s3_host_bucket(q, &vbucket)) {
        q->bucket = vbucket;
        if (!cf_uri_decode(q->arena, path, &q->key))
            return CF_S3_InvalidURI;
        q->target = q->key.len ? CF_T_OBJECT : CF_T_BUCKET;
        return CF_S3_OK;
    }
    cf_str b, k;
    bool has_key = cf_str_cut(path, '/', &b, &k);
    if (!cf_uri_decode(q->arena, b, &q->bucket) || !cf_uri_decode(q->arena, k, &q->key))
        return CF_S3_InvalidURI;
    (void)has_key;
    if (q->bucket.len == 0)
        q->target = CF_T_SERVICE;
    else
        q->target = q->key.len ? CF_T_OBJECT : CF_T_BUCKET;
    return CF_S3_OK;
}

/* ---- dispatch ---- */

static const cf_s3_op *find_op(cf_s3_req *q, cf_s3err *why)
{
    cf_http_req *r = q->http;
    const char *sub = NULL;
    for (size_t i = 0; i < q->nquery && sub == NULL; i++) {
        /* Every subresource starts lowercase; presigned URLs' X-Amz-* parameters do not. */
        cf_str name = q->query[i].name;
        if (name.len == 0 || (name.p[0] >= 'A' && name.p[0] <= 'Z'))
            continue;
        for (size_t j = 0; j < sizeof subresources / sizeof subresources[0]; j++)
            if (cf_str_eq_c(name, subresources[j])) {
                sub = subresources[j];
                break;
            }
    }
    /* A preflight answers for whatever request follows it, subresource or not. */
    if (r->method == CF_HTTP_OPTIONS)
        sub = NULL;
    bool method_seen = false;
    for (size_t i = 0; i < cf_s3_nops; i++) {
        const cf_s3_op *op = &cf_s3_ops[i];
        if (op->target != q->target)
            continue;
        if (op->method == r->method)
            method_seen = true;
        if (op->method != r->method)
            continue;
        if (op->subresource != NULL ? !cf_s3_has_query(q, op->subresource) : sub != NULL)
            continue;
        if (op->header != NULL && !cf_http_has_header(r, op->header))
            continue;
        return op;
    }
    *why = (sub != NULL || r->method == CF_HTTP_OTHER || r->method == CF_HTTP_POST ||
            method_seen)
               ? CF_S3_NotImplemented
               : CF_S3_MethodNotAllowed;
    return NULL;
}

static void on_request(void *ctx, cf_http_req *r)
{
    cf_s3 *s3 = ctx;
    cf_s3_req *q = cf_arena_alloc(r->arena, sizeof *q);
    cf_s3err e;
    if (q == NULL) {
        cf_http_respond_empty(r, 503);
        return;
    }
    r->app = q;
    q->s3 = s3;
    q->http = r;
    q->arena = r->arena;

    /* An address locked out for failed authentications gets no signature check at all
     * (the lockout itself was logged once, when it began). */
    int64_t locked_ms = cf_authfail_locked(cf_str_c(r->remote_addr), cf_now_ms());
    if (locked_ms > 0) {
        char retry[24];
        snprintf(retry, sizeof retry, "%lld", (long long)((locked_ms + 999) / 1000));
        cf_http_add_header(r, "Retry-After", retry);
        cf_s3_errorf(q, CF_S3_SlowDown,
                     "Too many failed authentications from your address; retry after %s s.",
                     retry);
        return;
    }
    if (!cf_query_parse(q->arena, r->query, MAX_QUERY_PARAMS, &q->query, &q->nquery)) {
        cf_s3_error(q, CF_S3_InvalidURI, NULL);
        return;
    }
    e = route_target(q);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    r->log_bucket = q->bucket;
    r->log_key = q->key;
    q->op = find_op(q, &e);
    /* Before anything can fail: a browser reads no answer, errors included, without them. */
    cf_s3_cors_actual(q);
    if (q->op == NULL) {
        if (cf_s3_authenticate(q) == CF_S3_OK)
            cf_s3_error(q, e, e == CF_S3_NotImplemented
                                  ? "This operation is not implemented by coffer."
                                  : NULL);
        return;
    }
    /* Browser form uploads carry their signature in the body, and CORS preflights carry
     * none: those operations authenticate (or not) themselves. */
    if (!q->op->self_auth &&
        (cf_s3_authenticate(q) != CF_S3_OK ||
         (!q->op->per_key_authz && !cf_s3_authorize(q, q->op->action, q->bucket, q->key))))
        return;
    if (q->key.len > CF_S3_MAX_KEY) {
        cf_s3_error(q, CF_S3_KeyTooLongError, NULL);
        return;
    }
    if (q->target == CF_T_OBJECT && (!cf_utf8_valid(q->key) || memchr(q->key.p, 0, q->key.len))) {
        cf_s3_error(q, CF_S3_InvalidArgument, "Object keys must be valid UTF-8 without NUL.");
        return;
    }
    if (q->op->body != NULL || q->op->complete != NULL) {
        if (!cf_s3_payload_setup(q))
            return;
    }
    if (q->op->begin != NULL)
        q->op->begin(q);
}

static void on_body(void *ctx, cf_http_req *r, const char *p, size_t n)
{
    cf_s3_req *q = r->app;
    cf_s3err e;
    (void)ctx;
    if (q == NULL || q->failed || q->op == NULL)
        return;
    if (q->op->body == NULL && q->op->complete == NULL)
        return; /* bodies on reads are ignored, as S3 does */
    e = cf_s3_payload_feed(q, p, n);
    if (e != CF_S3_OK && !q->failed)
        cf_s3_error(q, e, NULL);
}

static void on_complete(void *ctx, cf_http_req *r)
{
    cf_s3_req *q = r->app;
    (void)ctx;
    if (q == NULL || q->failed || q->op == NULL)
        return;
    if (q->op->complete == NULL) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    cf_s3err e = cf_s3_payload_verify(q);
    if (e != CF_S3_OK) {
        if (q->failed)
            return; /* the operation answered, given the body's last bytes */
        cf_s3_error(q, e, e == CF_S3_BadDigest && q->ck.alg != CF_CK_NONE
                              ? "The checksum you specified did not match the calculated checksum."
                              : NULL);
        return;
    }
    q->op->complete(q);
}

static void on_done(void *ctx, cf_http_req *r, bool completed)
{
    cf_s3_req *q = r->app;
    (void)ctx;
    if (q == NULL)
        return;
    cf_s3_payload_release(q);
    if (q->op != NULL && q->op->done != NULL)
        q->op->done(q, completed && !q->failed);
    cf_hash_free(q->sha256);
    cf_hash_free(q->md5);
    cf_ck_free(&q->ck);
    cf_buf_free(&q->body);
}

void cf_s3_handler(cf_s3 *s3, cf_http_handler *h)
{
    h->on_request = on_request;
    h->on_body = on_body;
    h->on_complete = on_complete;
    h->on_done = on_done;
    h->ctx = s3;
}
