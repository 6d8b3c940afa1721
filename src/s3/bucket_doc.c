/* Bucket configuration documents (CORS, lifecycle, tagging): each is one XML document per
 * bucket in the metadata store, validated and normalized by its own file before it is
 * stored, and answered as stored. */
#include "s3/s3_int.h"

void cf_s3_doc_put_begin(cf_s3_req *q)
{
    cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    /* S3 requires an integrity check of these bodies; the router verifies whichever came. */
    if (!cf_http_has_header(q->http, "content-md5") && q->ck.alg == CF_CK_NONE)
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "Missing required header for this request: Content-MD5");
}

cf_s3err cf_s3_doc_load(cf_s3_req *q, const char *kind, cf_s3err missing, cf_str *doc)
{
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_doc_get, q->bucket, kind, q->arena, doc);
    if (rc == CF_ENOTFOUND) {
        /* Unset, or no bucket at all: tell them apart. */
        cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
        return e == CF_S3_OK ? missing : e;
    }
    return cf_s3_from_rc(rc, "bucket document read");
}

void cf_s3_doc_respond(cf_s3_req *q, const char *kind, cf_s3err missing)
{
    cf_str doc;
    cf_buf b;
    cf_s3err e = cf_s3_doc_load(q, kind, missing, &doc);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_buf_init(&b, doc.len + 1);
    if (cf_buf_append_str(&b, doc) != CF_OK) {
        cf_buf_free(&b);
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    cf_s3_respond_xml(q, 200, &b);
}

void cf_s3_doc_store(cf_s3_req *q, const char *kind, cf_str doc, int status)
{
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_doc_put, q->bucket, kind, doc);
    if (rc == CF_ENOTFOUND) {
        cf_s3_error(q, CF_S3_NoSuchBucket, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket document write"), NULL);
        return;
    }
    cf_http_respond_empty(q->http, status);
}

void cf_s3_doc_delete(cf_s3_req *q, const char *kind)
{
    /* Deleting what is not there succeeds, as in S3. */
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_doc_delete, q->bucket, kind);
    if (rc == CF_ENOTFOUND) {
        cf_s3_error(q, CF_S3_NoSuchBucket, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket document delete"), NULL);
        return;
    }
    cf_http_respond_empty(q->http, 204);
}
