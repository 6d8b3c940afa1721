/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/names.h"
#include "s3/s3_int.h"

void cf_s3_time_iso(int64_t ms, char out[25])
{
    cf_time_iso8601(ms, out);
}

cf_str cf_s3_owner_id(const cf_s3_req *q)
{
    /* Buckets belong to the root of the signing credential's tree. */
    return cf_principal_root(&q->principal);
}

cf_s3err cf_s3_bucket_exists(cf_s3_req *q, cf_str bucket)
{
    cf_bucket_info bi;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_get, bucket, q->arena, &bi);
    if (rc == CF_ENOTFOUND)
        return CF_S3_NoSuchBucket;
    return cf_s3_from_rc(rc, "bucket lookup");
}

void cf_s3_list_buckets(cf_s3_req *q)
{
    cf_bucket_info *bs = NULL;
    size_t n = 0;
    cf_buf b;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_list, q->arena, &bs, &n);
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket list"), NULL);
        return;
    }
    cf_str owner = cf_s3_owner_id(q);
    cf_buf_init(&b, 64u << 20);
    cf_buf_append_c(&b, CF_XML_DECL "<ListAllMyBucketsResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_open(&b, "Owner");
    cf_xml_elem(&b, "ID", owner);
    cf_xml_elem(&b, "DisplayName", owner);
    cf_xml_close(&b, "Owner");
    cf_xml_open(&b, "Buckets");
    for (size_t i = 0; i < n; i++) {
        char t[25];
        /* A scoped credential sees exactly the buckets it may touch. */
        if (!cf_principal_may_touch_bucket(&q->principal, bs[i].name))
            continue;
        cf_s3_time_iso(bs[i].created_ms, t);
        cf_xml_open(&b, "Bucket");
        cf_xml_elem(&b, "Name", bs[i].name);
        cf_xml_elem_c(&b, "CreationDate", t);
        cf_xml_elem(&b, "BucketRegion", bs[i].region);
        cf_xml_close(&b, "Bucket");
    }
    cf_xml_close(&b, "Buckets");
    cf_buf_append_c(&b, "</ListAllMyBucketsResult>");
    cf_s3_respond_xml(q, 200, &b);
}

/* Region names as S3 has them, "us-east-1" also written as an empty constraint. */
static bool region_acceptable(const cf_s3_req *q, cf_str want)
{
    const char *mine = q->s3->region;
    if (strcmp(mine, "auto") == 0)
        return true;
    if (want.len == 0)
        return strcmp(mine, "us-east-1") == 0;
    return cf_str_eq_c(want, mine);
}

void cf_s3_create_bucket_complete(cf_s3_req *q)
{
    cf_str region = cf_str_c(q->s3->region);
    if (!cf_bucket_name_valid(q->bucket)) {
        cf_s3_error(q, CF_S3_InvalidBucketName, NULL);
        return;
    }
    if (q->body.len > 0) {
        cf_xml_node *root = NULL;
        cf_s3err e = cf_xml_parse(q->arena, cf_buf_str(&q->body), &root);
        if (e != CF_S3_OK || !cf_str_eq_c(root->name, "CreateBucketConfiguration")) {
            cf_s3_error(q, CF_S3_MalformedXML, NULL);
            return;
        }
        cf_str lc = cf_xml_child_text(root, "LocationConstraint");
        if (lc.p != NULL) {
            if (!region_acceptable(q, lc)) {
                cf_s3_errorf(q, CF_S3_IllegalLocationConstraintException,
                             "The %.*s location constraint is incompatible for the region "
                             "specific endpoint this request was sent to.",
                             CF_STR_FMT(lc));
                return;
            }
            if (lc.len > 0)
                region = lc;
        }
    }
    cf_str owner = cf_s3_owner_id(q);
    cf_bucket_info bi = {
        .name = q->bucket,
        .owner = owner,
        .region = region,
        .created_ms = cf_now_ms(),
    };
    cf_str existing = CF_STR_NULL;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_create, &bi, q->arena, &existing);
    if (rc == CF_EEXIST) {
        cf_s3_error(q, cf_str_eq(existing, owner) ? CF_S3_BucketAlreadyOwnedByYou
                                                   : CF_S3_BucketAlreadyExists,
                    NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket create"), NULL);
        return;
    }
    char loc[300];
    snprintf(loc, sizeof loc, "/%.*s", CF_STR_FMT(q->bucket));
    cf_http_add_header(q->http, "Location", loc);
    cf_http_respond_empty(q->http, 200);
}

void cf_s3_head_bucket(cf_s3_req *q)
{
    cf_bucket_info bi;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_get, q->bucket, q->arena, &bi);
    if (rc == CF_ENOTFOUND) {
        cf_s3_error(q, CF_S3_NoSuchBucket, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket lookup"), NULL);
        return;
    }
    cf_http_add_header_str(q->http, "x-amz-bucket-region", bi.region);
    cf_http_respond_empty(q->http, 200);
}

void cf_s3_delete_bucket(cf_s3_req *q)
{
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_delete, q->bucket);
    if (rc == CF_ENOTFOUND)
        cf_s3_error(q, CF_S3_NoSuchBucket, NULL);
    else if (rc == CF_ENOTEMPTY)
        cf_s3_error(q, CF_S3_BucketNotEmpty, NULL);
    else if (rc != CF_OK)
        cf_s3_error(q, cf_s3_from_rc(rc, "bucket delete"), NULL);
    else
        cf_http_respond_empty(q->http, 204);
}

void cf_s3_get_bucket_location(cf_s3_req *q)
{
    cf_bucket_info bi;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_get, q->bucket, q->arena, &bi);
    if (rc != CF_OK) {
        cf_s3_error(q, rc == CF_ENOTFOUND ? CF_S3_NoSuchBucket : cf_s3_from_rc(rc, "bucket lookup"),
                    NULL);
        return;
    }
    cf_buf b;
    cf_buf_init(&b, 4096);
    cf_buf_append_c(&b, CF_XML_DECL "<LocationConstraint xmlns=\"" CF_S3_XMLNS "\">");
    /* S3 answers an empty constraint for us-east-1. */
    if (!cf_str_eq_c(bi.region, "us-east-1"))
        cf_buf_append_xml(&b, bi.region);
    cf_buf_append_c(&b, "</LocationConstraint>");
    cf_s3_respond_xml(q, 200, &b);
}

void cf_s3_not_implemented(cf_s3_req *q)
{
    cf_s3_error(q, CF_S3_NotImplemented, NULL);
}
