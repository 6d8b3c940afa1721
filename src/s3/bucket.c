/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/s3_int.h"

void cf_s3_time_iso(int64_t ms, char out[25])
{
    cf_time_iso8601(ms, out);
}

cf_str cf_s3_owner_id(const cf_s3_req *q)
{
    /* Buckets belong to the root of the signing credential's tree. Only root credentials
     * sign today; delegated ones will report their tree's root here. */
    return q->authn.cred.row.id;
}

static bool is_ipv4_like(cf_str s)
{
    int dots = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '.')
            dots++;
        else if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    }
    return dots == 3;
}

static bool ends_with(cf_str s, const char *suf)
{
    size_t n = strlen(suf);
    return s.len >= n && memcmp(s.p + s.len - n, suf, n) == 0;
}

/* S3's general purpose bucket naming rules. */
bool cf_s3_bucket_name_valid(cf_str n)
{
    if (n.len < 3 || n.len > 63)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char c = n.p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n.len - 1) && !alnum)
            return false;
        if (c == '.' && i > 0 && (n.p[i - 1] == '.' || n.p[i - 1] == '-'))
            return false;
        if (c == '-' && i > 0 && n.p[i - 1] == '.')
            return false;
    }
    if (is_ipv4_like(n))
        return false;
    if (cf_str_starts_c(n, "xn--") || cf_str_starts_c(n, "sthree-") ||
        cf_str_starts_c(n, "amzn-s3-demo-"))
        return false;
    if (ends_with(n, "-s3alias") || ends_with(n, "--ol-s3") || ends_with(n, ".mrap") ||
        ends_with(n, "--x-s3"))
        return false;
    return true;
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
    if (!cf_s3_bucket_name_valid(q->bucket)) {
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
