/* Request entry: addressing, authentication, operation dispatch and the body pipeline
 * (aws-chunked decoding, payload hash, Content-MD5 and x-amz-checksum-* verification) that
 * every operation's body goes through before the operation sees it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "auth/failures.h"
#include "auth/sigv2.h"
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

static void error_xml(cf_s3_req *q, cf_s3err e, const char *message, const cf_kv *extra,
                      size_t nextra)
{
    cf_http_req *r = q->http;
    cf_buf b;
    q->failed = true;
    if (r->responded)
        return;
    if (e == CF_S3_InternalError || cf_s3err_status(e) >= 500)
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
    error_xml(q, e, message, NULL, 0);
}

void cf_s3_errorf(cf_s3_req *q, cf_s3err e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_xml(q, e, msg, NULL, 0);
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
        return CF_S3_InternalError;
    default:
        cf_error("s3: %s failed: %s", what, cf_rc_str(rc));
        return CF_S3_InternalError;
    }
}

/* ---- addressing ---- */

static bool host_bucket(const cf_s3_req *q, cf_str *bucket)
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
    if (host_bucket(q, &vbucket)) {
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

/* ---- authentication ---- */

static bool is_hex64(cf_str s)
{
    if (s.len != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* Answers SignatureDoesNotMatch with the hints S3 gives: what we signed, as text and bytes. */
static void signature_mismatch(cf_s3_req *q, cf_str access_key, cf_str provided, const cf_buf *sts,
                               const cf_buf *canon)
{
    cf_buf bytes;
    cf_buf_init(&bytes, 3 * sts->len + 16);
    for (size_t i = 0; i < sts->len; i++)
        if (cf_buf_printf(&bytes, "%02x ", (unsigned char)sts->p[i]) != CF_OK)
            break;
    cf_kv extra[5] = {
        {CF_STR("AWSAccessKeyId"), access_key},
        {CF_STR("StringToSign"), cf_buf_str(sts)},
        {CF_STR("SignatureProvided"), provided},
        {CF_STR("StringToSignBytes"), cf_str_trim(cf_buf_str(&bytes))},
        {CF_STR("CanonicalRequest"), canon != NULL ? cf_buf_str(canon) : CF_STR_NULL},
    };
    error_xml(q, CF_S3_SignatureDoesNotMatch, NULL, extra, canon != NULL ? 5 : 4);
    cf_buf_free(&bytes);
}

static bool payload_hash_ok(cf_s3_req *q, bool allow_streaming)
{
    cf_str ph = q->payload_hash;
    bool streaming = cf_str_eq_c(ph, CF_PAYLOAD_STREAMING) ||
                     cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_TRAILER) ||
                     cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    if (is_hex64(ph) || cf_str_eq_c(ph, CF_PAYLOAD_UNSIGNED) || (streaming && allow_streaming))
        return true;
    if (streaming)
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "Streaming payloads need a Signature Version 4 Authorization header.");
    else
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
                    "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
                    "PAYLOAD-TRAILER or a valid sha256 value.");
    return false;
}

/* X-Amz-Security-Token, from the query for presigned URLs, else from the header. */
static cf_str session_token(cf_s3_req *q)
{
    cf_str token = cf_s3_query(q, "X-Amz-Security-Token");
    if (token.p == NULL)
        token = cf_http_header(q->http, "x-amz-security-token");
    return cf_str_trim(token);
}

/* Signature Version 2: still what older SDKs use for presigned URLs (Debian 12's boto3). */
static cf_s3err authenticate_v2(cf_s3_req *q, cf_str authz)
{
    cf_http_req *r = q->http;
    cf_sigv2_auth sig;
    const char *why = NULL;
    cf_s3err e = authz.p != NULL ? cf_sigv2_parse_header(authz, &sig, &why)
                                 : cf_sigv2_parse_query(q->query, q->nquery, &sig, &why);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, why);
        return e;
    }
    r->log_access_key = cf_arena_str(q->arena, sig.access_key);
    q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
    if (q->payload_hash.p == NULL)
        q->payload_hash = CF_STR(CF_PAYLOAD_UNSIGNED);
    if (!payload_hash_ok(q, false))
        return CF_S3_InvalidRequest;
    cf_str vbucket = CF_STR_NULL;
    host_bucket(q, &vbucket);
    cf_sigv2_request sreq = {
        .method = r->method_str,
        .path = r->path,
        .vhost_bucket = vbucket,
        .query = r->query,
        .headers = r->headers,
        .nheaders = r->nheaders,
    };
    cf_buf sts;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    e = cf_auth_verify_v2(&q->s3->auth, &sreq, &sig, session_token(q), cf_now_ms(), q->arena,
                          &q->authn, &sts);
    if (e == CF_S3_SignatureDoesNotMatch)
        signature_mismatch(q, sig.access_key, sig.signature, &sts, NULL);
    else if (e != CF_S3_OK)
        cf_s3_error(q, e, q->authn.message);
    cf_buf_free(&sts);
    return e;
}

static cf_s3err authenticate_v4(cf_s3_req *q, cf_str authz)
{
    cf_http_req *r = q->http;
    cf_sigv4_auth sig;
    cf_s3err e;

    if (authz.p != NULL) {
        cf_str date = cf_http_header(r, "x-amz-date");
        if (date.p == NULL)
            date = cf_http_header(r, "date");
        e = cf_sigv4_parse_header(authz, date, &sig);
        if (e != CF_S3_OK) {
            cf_s3_error(q, e, NULL);
            return e;
        }
        q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
        if (q->payload_hash.p == NULL) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Missing required header for this request: x-amz-content-sha256");
            return CF_S3_InvalidRequest;
        }
    } else {
        e = cf_sigv4_parse_query(q->query, q->nquery, &sig);
        if (e != CF_S3_OK) {
            cf_s3_error(q, e, NULL);
            return e;
        }
        q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
        if (q->payload_hash.p == NULL)
            q->payload_hash = CF_STR(CF_PAYLOAD_UNSIGNED);
    }
    r->log_access_key = cf_arena_str(q->arena, sig.access_key);
    if (!payload_hash_ok(q, authz.p != NULL))
        return CF_S3_InvalidRequest;

    cf_sigv4_request sreq = {
        .method = r->method_str,
        .path = r->path,
        .query = q->query,
        .nquery = q->nquery,
        .headers = r->headers,
        .nheaders = r->nheaders,
        .payload_hash = q->payload_hash,
    };
    cf_buf canon, sts;
    cf_buf_init(&canon, 64u << 10);
    cf_buf_init(&sts, 4096);
    e = cf_auth_verify(&q->s3->auth, &sreq, &sig, session_token(q), cf_now_ms(), q->arena,
                       &q->authn, &canon, &sts);
    if (e == CF_S3_SignatureDoesNotMatch)
        signature_mismatch(q, sig.access_key, sig.signature, &sts, &canon);
    else if (e != CF_S3_OK)
        cf_s3_error(q, e, q->authn.message);
    cf_buf_free(&canon);
    cf_buf_free(&sts);
    return e;
}

static void audit_denied(cf_s3_req *q, const char *action, cf_str target, const char *why)
{
    cf_audit_row row = {
        .time_ms = cf_now_ms(),
        .actor = q->authn.cred.row.id,
        .action = cf_str_c(action),
        .target = target,
        .source_ip = cf_str_c(q->http->remote_addr),
        .outcome = CF_STR("denied"),
        .detail = CF_STR_NULL,
    };
    char detail[256];
    if (why != NULL) {
        snprintf(detail, sizeof detail, "{\"reason\":\"%s\"}", why);
        row.detail = cf_str_c(detail);
    }
    if (cf_meta_call(q->s3->meta, audit_append, &row) != CF_OK)
        cf_warn("s3: cannot append to the audit log");
}

/* Touching last_used on every request would be a write per read: once a minute is enough. */
#define LAST_USED_EVERY_MS 60000

cf_s3err cf_s3_load_principal(cf_s3_req *q)
{
    const char *why = NULL;
    int64_t now = cf_now_ms();
    cf_principal_rc pr = cf_principal_load(
        q->s3->meta, q->authn.cred.row.id, q->authn.temporary ? &q->authn.temp : NULL,
        cf_str_c(q->http->remote_addr), now, q->arena, &q->principal, &why);
    cf_s3err e = CF_S3_OK;
    switch (pr) {
    case CF_PRINCIPAL_OK:
        break;
    case CF_PRINCIPAL_UNKNOWN:
    case CF_PRINCIPAL_INACTIVE:
        /* A revoked key reads as unknown, as in S3; a temporary credential whose own time is
         * up has expired, one whose parent was cut off is simply refused. */
        if (!q->authn.temporary)
            e = CF_S3_InvalidAccessKeyId;
        else if (now >= q->authn.temp.expires_ms)
            e = CF_S3_ExpiredToken;
        else
            e = CF_S3_AccessDenied;
        break;
    case CF_PRINCIPAL_IP:
        e = CF_S3_AccessDenied;
        break;
    case CF_PRINCIPAL_ERROR:
        e = CF_S3_InternalError;
        break;
    }
    if (e != CF_S3_OK) {
        cf_info("s3: %s refused for %.*s: %s", q->http->request_id,
                CF_STR_FMT(q->authn.cred.row.id), why ? why : "");
        audit_denied(q, "s3:Authenticate", q->authn.cred.row.id, why);
        cf_s3_error(q, e, why);
        return e;
    }
    const cf_cred_row *me = &q->principal.chain[0];
    if (!q->principal.temporary && now - me->last_used_ms >= LAST_USED_EVERY_MS &&
        cf_meta_call(q->s3->meta, cred_touch, me->id, now) != CF_OK)
        cf_warn("s3: cannot record the last use of %.*s", CF_STR_FMT(me->id));
    return CF_S3_OK;
}

/* 1 allowed, 0 refused (audited), -1 undecidable (out of memory). */
static int decide(cf_s3_req *q, const char *action, cf_str bucket, cf_str key)
{
    char *res;
    if (bucket.len == 0)
        res = cf_arena_strdup(q->arena, "arn:aws:s3:::*"); /* matches "*" and "arn:aws:s3:::*" */
    else if (key.len == 0)
        res = cf_arena_printf(q->arena, "arn:aws:s3:::%.*s", CF_STR_FMT(bucket));
    else
        res = cf_arena_printf(q->arena, "arn:aws:s3:::%.*s/%.*s", CF_STR_FMT(bucket),
                              CF_STR_FMT(key));
    if (res == NULL)
        return -1;
    cf_authz_req r = {
        .action = cf_str_c(action),
        .resource = cf_str_c(res),
        .source_ip = cf_str_c(q->http->remote_addr),
        .now_ms = cf_now_ms(),
        .secure_transport = false,
    };
    /* The listing condition keys exist only for listings: a GetObject with ?prefix= must not
     * satisfy a ListBucket condition. */
    if (strcmp(action, "s3:ListBucket") == 0 || strcmp(action, "s3:ListBucketMultipartUploads") == 0) {
        r.s3_prefix = cf_s3_query(q, "prefix");
        r.s3_delimiter = cf_s3_query(q, "delimiter");
        r.s3_max_keys = cf_s3_query(q, "max-keys");
    }
    if (cf_principal_allows(&q->principal, &r))
        return 1;
    audit_denied(q, action, cf_str_c(res + 13), NULL);
    return 0;
}

bool cf_s3_allowed(cf_s3_req *q, const char *action, cf_str bucket, cf_str key)
{
    return decide(q, action, bucket, key) == 1;
}

bool cf_s3_authorize(cf_s3_req *q, const char *action, cf_str bucket, cf_str key)
{
    int d = decide(q, action, bucket, key);
    if (d != 1)
        cf_s3_error(q, d < 0 ? CF_S3_InternalError : CF_S3_AccessDenied, NULL);
    return d == 1;
}

static cf_s3err authenticate(cf_s3_req *q)
{
    cf_str authz = cf_http_header(q->http, "authorization");
    bool v4q = cf_s3_has_query(q, "X-Amz-Algorithm") || cf_s3_has_query(q, "X-Amz-Signature") ||
               cf_s3_has_query(q, "X-Amz-Credential");
    bool v2q = cf_sigv2_is_query(q->query, q->nquery);
    cf_s3err e;

    if ((authz.p != NULL) + v4q + v2q > 1) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be "
                    "specified");
        return CF_S3_InvalidArgument;
    }
    if (authz.p == NULL && !v4q && !v2q) {
        cf_s3_error(q, CF_S3_AccessDenied, "Anonymous access is not allowed.");
        return CF_S3_AccessDenied;
    }
    if (v2q || (authz.p != NULL && cf_sigv2_is_header(authz)))
        e = authenticate_v2(q, authz);
    else if (v4q || cf_str_starts_c(authz, CF_SIGV4_ALGO " ") ||
             cf_str_starts_c(authz, CF_SIGV4_ALGO ","))
        e = authenticate_v4(q, authz);
    else {
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "The authorization mechanism you have provided is not supported. Please use "
                    "AWS4-HMAC-SHA256.");
        return CF_S3_InvalidRequest;
    }
    if (e != CF_S3_OK) {
        /* Counted per address by log readers (and, later, by the throttle): never the
         * signature or anything secret. */
        uint32_t n = cf_authfail_note(cf_str_c(q->http->remote_addr), cf_now_ms());
        cf_warn("s3: authentication failed from %s: %s (access key %.*s; %u failures from this "
                "address in 10 minutes)",
                q->http->remote_addr, cf_s3err_code(e),
                CF_STR_FMT(q->http->log_access_key.len ? q->http->log_access_key : CF_STR("-")), n);
        return e;
    }
    q->signed_request = true;
    return cf_s3_load_principal(q);
}

/* ---- dispatch ---- */

static const cf_s3_op *find_op(cf_s3_req *q, cf_s3err *why)
{
    cf_http_req *r = q->http;
    const char *sub = NULL;
    for (size_t i = 0; i < q->nquery && sub == NULL; i++)
        for (size_t j = 0; j < sizeof subresources / sizeof subresources[0]; j++)
            if (cf_str_eq_c(q->query[i].name, subresources[j])) {
                sub = subresources[j];
                break;
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

static cf_s3err deliver(void *ctx, const char *p, size_t n)
{
    cf_s3_req *q = ctx;
    if (q->md5 != NULL)
        cf_hash_update(q->md5, p, n);
    if (q->ck.alg != CF_CK_NONE)
        cf_ck_update(&q->ck, p, n);
    q->body_len += n;
    if (q->has_decoded_len && q->body_len > q->decoded_len)
        return CF_S3_IncompleteBody;
    if (q->op->body != NULL) {
        q->op->body(q, p, n);
        return q->failed ? CF_S3_InternalError : CF_S3_OK;
    }
    if (cf_buf_append(&q->body, p, n) != CF_OK)
        return CF_S3_MaxMessageLengthExceeded;
    return CF_S3_OK;
}

/* Sets up the body pipeline from the headers; answers and returns false on bad headers. */
static bool setup_body(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str ph = q->payload_hash;
    cf_str cmd5 = cf_http_header(r, "content-md5");

    cf_buf_init(&q->body, q->op->body_max);
    q->md5 = cf_hash_new(CF_HASH_MD5);
    if (q->md5 == NULL)
        goto nomem;
    if (cmd5.p != NULL) {
        uint8_t d[16];
        size_t dl = 0;
        if (!cf_b64_decode(cf_str_trim(cmd5), d, sizeof d, &dl) || dl != 16) {
            cf_s3_error(q, CF_S3_InvalidDigest, NULL);
            return false;
        }
    }
    if (is_hex64(ph)) {
        q->sha256 = cf_hash_new(CF_HASH_SHA256);
        if (q->sha256 == NULL)
            goto nomem;
    }
    bool sgn = cf_str_eq_c(ph, CF_PAYLOAD_STREAMING) || cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_TRAILER);
    bool trl = cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_TRAILER) ||
               cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    if (sgn || trl) {
        cf_str dl = cf_http_header(r, "x-amz-decoded-content-length");
        if (dl.p == NULL) {
            cf_s3_error(q, CF_S3_MissingContentLength,
                        "You must provide the x-amz-decoded-content-length header.");
            return false;
        }
        if (!cf_str_to_u64(cf_str_trim(dl), &q->decoded_len)) {
            cf_s3_error(q, CF_S3_InvalidArgument, "x-amz-decoded-content-length is not a number.");
            return false;
        }
        q->has_decoded_len = true;
        cf_chunked_params cp = {
            .signed_chunks = sgn,
            .trailer = trl,
            .signing_key = q->authn.signing_key,
            .amz_date = q->authn.sig.amz_date,
            .scope = q->authn.sig.scope,
            .seed_signature = q->authn.sig.signature,
        };
        q->chunked = cf_chunked_new(q->arena, &cp);
        if (q->chunked == NULL)
            goto nomem;
    } else if (r->has_content_length) {
        q->decoded_len = r->content_length;
        q->has_decoded_len = true;
    }

    /* At most one checksum, from a header or announced for the trailer. */
    for (size_t i = 0; i < r->nheaders && !q->op->object_checksum_headers; i++) {
        cf_ck_alg alg = cf_ck_from_header(r->headers[i].name);
        if (alg == CF_CK_NONE)
            continue;
        if (q->ck.alg != CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest, "Expecting a single x-amz-checksum- header. "
                                                 "Multiple checksum Types are not allowed.");
            return false;
        }
        if (cf_ck_init(&q->ck, alg) != CF_OK)
            goto nomem;
        q->ck_expected = cf_str_trim(r->headers[i].value);
    }
    cf_str trailer = cf_http_header(r, "x-amz-trailer");
    if (trailer.p != NULL && trl) {
        cf_ck_alg alg = cf_ck_from_header(cf_str_trim(trailer));
        if (alg == CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest, "The value specified in the x-amz-trailer header is not supported");
            return false;
        }
        if (q->ck.alg != CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest, "Expecting a single x-amz-checksum- header.");
            return false;
        }
        if (cf_ck_init(&q->ck, alg) != CF_OK)
            goto nomem;
        q->ck_in_trailer = true;
    }
    return true;
nomem:
    cf_s3_error(q, CF_S3_InternalError, "out of memory");
    return false;
}

/* Runs after the last body byte: every check that needs the whole body. */
static cf_s3err verify_body(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_s3err e;
    if (q->chunked != NULL) {
        e = cf_chunked_finish(q->chunked);
        if (e != CF_S3_OK)
            return e;
    }
    if (q->has_decoded_len && q->body_len != q->decoded_len)
        return CF_S3_IncompleteBody;
    if (q->sha256 != NULL) {
        uint8_t d[32];
        char hex[65];
        cf_hash_final(q->sha256, d);
        cf_hex_encode(d, 32, hex);
        if (!cf_str_eq_c(q->payload_hash, hex))
            return CF_S3_XAmzContentSHA256Mismatch;
    }
    cf_hash_final(q->md5, q->md5_digest);
    cf_str cmd5 = cf_http_header(r, "content-md5");
    if (cmd5.p != NULL) {
        uint8_t d[16];
        size_t dl = 0;
        cf_b64_decode(cf_str_trim(cmd5), d, sizeof d, &dl);
        if (dl != 16 || memcmp(d, q->md5_digest, 16) != 0)
            return CF_S3_BadDigest;
    }
    if (q->ck.alg != CF_CK_NONE) {
        if (q->ck_in_trailer) {
            const cf_kv *t = NULL;
            size_t nt = cf_chunked_trailers(q->chunked, &t);
            const char *want = cf_ck_header(q->ck.alg);
            q->ck_expected = CF_STR_NULL;
            for (size_t i = 0; i < nt; i++)
                if (cf_str_ieq_c(t[i].name, want))
                    q->ck_expected = cf_str_trim(t[i].value);
            if (q->ck_expected.p == NULL)
                return CF_S3_InvalidRequest;
        }
        char got[48];
        cf_ck_final_b64(&q->ck, got);
        if (!cf_str_eq_c(q->ck_expected, got)) {
            uint8_t raw[CF_CK_MAX_LEN];
            size_t rl = 0;
            if (!cf_b64_decode(q->ck_expected, raw, sizeof raw, &rl) || rl != cf_ck_len(q->ck.alg))
                return CF_S3_InvalidDigest;
            return CF_S3_BadDigest;
        }
        /* Keep what was verified, so the object can return it. */
        q->ck_expected = cf_arena_str(q->arena, q->ck_expected);
    }
    return CF_S3_OK;
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
        if (authenticate(q) == CF_S3_OK)
            cf_s3_error(q, e, e == CF_S3_NotImplemented
                                  ? "This operation is not implemented by coffer."
                                  : NULL);
        return;
    }
    /* Browser form uploads carry their signature in the body, and CORS preflights carry
     * none: those operations authenticate (or not) themselves. */
    if (!q->op->self_auth &&
        (authenticate(q) != CF_S3_OK ||
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
        if (!setup_body(q))
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
    if (q->sha256 != NULL)
        cf_hash_update(q->sha256, p, n);
    if (q->chunked != NULL)
        e = cf_chunked_feed(q->chunked, p, n, deliver, q);
    else
        e = deliver(q, p, n);
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
    cf_s3err e = verify_body(q);
    if (e != CF_S3_OK) {
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
