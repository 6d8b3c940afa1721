/* CopyObject (x-amz-copy-source) and DeleteObject, whose key deletion DeleteObjects shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

/* "/bucket/key" or "bucket/key", percent-encoded, optionally "?versionId=..." */
bool cf_s3_parse_copy_source(cf_s3_req *q, cf_str src, cf_str *bucket, cf_str *key)
{
    cf_str path, query, b, k, dec;
    cf_str_cut(src, '?', &path, &query);
    if (query.len > 0 && !cf_str_eq_c(query, "versionId=null"))
        return false;
    if (!cf_uri_decode(q->arena, path, &dec))
        return false;
    if (dec.len > 0 && dec.p[0] == '/')
        dec = cf_str_sub(dec, 1, dec.len - 1);
    if (!cf_str_cut(dec, '/', &b, &k) || b.len == 0 || k.len == 0)
        return false;
    *bucket = b;
    *key = k;
    return true;
}

/* A copy of a multipart object is a single blob: its ETag becomes the MD5 of the bytes and
 * its checksum that of the whole content in the same algorithm (S3 recomputes both). */
static cf_s3err flatten_checksums(cf_s3_req *q, cf_object_info *o, cf_ck *ck)
{
    cf_header *hs = cf_arena_alloc(q->arena, (o->nheaders + 1) * sizeof *hs);
    size_t n = 0;
    if (hs == NULL)
        return CF_S3_InternalError;
    for (size_t i = 0; i < o->nheaders; i++)
        if (!cf_str_starts_c(o->headers[i].name, "x-amz-checksum-"))
            hs[n++] = o->headers[i];
    if (ck->alg != CF_CK_NONE) {
        char v[48];
        cf_ck_final_b64(ck, v);
        hs[n].name = cf_str_c(cf_ck_header(ck->alg));
        hs[n].value = cf_arena_str(q->arena, cf_str_c(v));
        if (hs[n].value.p == NULL)
            return CF_S3_InternalError;
        n++;
    }
    o->headers = hs;
    o->nheaders = n;
    return CF_S3_OK;
}

static void copy_from(cf_s3_req *q, cf_str sb, cf_str sk, const cf_object_info *srcp,
                      cf_s3_body *body);

void cf_s3_copy_object(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str sb, sk;
    cf_object_info src;
    cf_s3_body *body = NULL;
    cf_s3err e;

    if (!cf_s3_parse_copy_source(q, cf_str_trim(cf_http_header(r, "x-amz-copy-source")), &sb, &sk)) {
        cf_s3_error(q, CF_S3_InvalidArgument, "Copy Source must mention the source bucket and key: "
                                              "sourcebucket/sourcekey");
        return;
    }
    if (sk.len > CF_S3_MAX_KEY) {
        cf_s3_error(q, CF_S3_KeyTooLongError, NULL);
        return;
    }
    if (!cf_s3_authorize(q, "s3:GetObject", sb, sk))
        return;
    e = cf_s3_body_open(q, sb, sk, &src, &body);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    copy_from(q, sb, sk, &src, body);
    cf_s3_body_free(body);
}

static void copy_from(cf_s3_req *q, cf_str sb, cf_str sk, const cf_object_info *srcp,
                      cf_s3_body *body)
{
    cf_http_req *r = q->http;
    cf_object_info src = *srcp, o;
    cf_put_cond cond;
    cf_s3err e;
    cf_rc rc;

    /* If-None-Match / If-Match name the destination, as on PutObject; checked at commit. */
    if (!cf_s3_put_conditions(q, &cond))
        return;
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_cond_headers ch = {
        .if_match = cf_http_header(r, "x-amz-copy-source-if-match"),
        .if_none_match = cf_http_header(r, "x-amz-copy-source-if-none-match"),
        .if_modified_since = cf_http_header(r, "x-amz-copy-source-if-modified-since"),
        .if_unmodified_since = cf_http_header(r, "x-amz-copy-source-if-unmodified-since"),
    };
    if (cf_cond_eval(&ch, src.etag, src.mtime_ms, true) != CF_COND_PASS) {
        cf_s3_error(q, CF_S3_PreconditionFailed, NULL);
        return;
    }

    cf_str directive = cf_http_header(r, "x-amz-metadata-directive");
    bool replace = false;
    if (directive.p != NULL) {
        if (cf_str_eq_c(directive, "REPLACE"))
            replace = true;
        else if (!cf_str_eq_c(directive, "COPY")) {
            cf_s3_error(q, CF_S3_InvalidArgument, "Unknown metadata directive.");
            return;
        }
    }
    if (!replace && cf_str_eq(sb, q->bucket) && cf_str_eq(sk, q->key)) {
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "This copy request is illegal because it is trying to copy an object to itself "
                    "without changing the object's metadata, storage class, website redirect "
                    "location or encryption attributes.");
        return;
    }

    memset(&o, 0, sizeof o);
    o.bucket = q->bucket;
    o.key = q->key;
    o.size = src.size;
    o.etag = src.etag;
    o.mtime_ms = cf_now_ms();
    if (replace) {
        e = cf_s3_collect_headers(q, CF_CK_NONE, CF_STR_NULL, &o.headers, &o.nheaders);
        if (e != CF_S3_OK) {
            cf_s3_error(q, e, NULL);
            return;
        }
        /* The content's checksum still holds for the copy. */
        for (size_t i = 0; i < src.nheaders; i++)
            if (cf_str_starts_c(src.headers[i].name, "x-amz-checksum-"))
                o.headers[o.nheaders++] = src.headers[i];
    } else {
        o.headers = src.headers;
        o.nheaders = src.nheaders;
    }
    if (cf_s3_tagging_for_copy(q, &src, &o.headers, &o.nheaders) != CF_S3_OK)
        return;
    if (src.blob_id[0] || src.nsegments > 0) {
        uint8_t md5[16];
        cf_ck ck = {.alg = CF_CK_NONE};
        for (size_t i = 0; i < src.nheaders && src.nsegments > 0 && ck.alg == CF_CK_NONE; i++)
            if (cf_ck_from_header(src.headers[i].name) != CF_CK_NONE &&
                cf_ck_init(&ck, cf_ck_from_header(src.headers[i].name)) != CF_OK) {
                cf_s3_error(q, CF_S3_InternalError, "out of memory");
                return;
            }
        rc = cf_s3_body_copy(q, body, 0, src.size, o.blob_id, md5,
                             ck.alg != CF_CK_NONE ? &ck : NULL);
        if (rc != CF_OK) {
            cf_ck_free(&ck);
            cf_s3_error(q, cf_s3_from_rc(rc, "object copy"), NULL);
            return;
        }
        if (src.nsegments > 0) {
            char *etag = cf_arena_alloc(q->arena, 33);
            e = etag != NULL ? flatten_checksums(q, &o, &ck) : CF_S3_InternalError;
            if (e != CF_S3_OK) {
                cf_ck_free(&ck);
                q->s3->blob->ops->discard(q->s3->blob, o.blob_id);
                cf_s3_error(q, e, NULL);
                return;
            }
            cf_hex_encode(md5, 16, etag);
            o.etag = cf_str_c(etag);
        }
        cf_ck_free(&ck);
    } else {
        o.inline_body = src.inline_body;
    }
    e = cf_s3_commit_object(q, &o, &cond);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    char t[25];
    cf_buf b;
    cf_s3_time_iso(o.mtime_ms, t);
    cf_buf_init(&b, 4096);
    cf_buf_append_c(&b, CF_XML_DECL "<CopyObjectResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem_c(&b, "LastModified", t);
    cf_buf_append_c(&b, "<ETag>&quot;");
    cf_buf_append_xml(&b, o.etag);
    cf_buf_append_c(&b, "&quot;</ETag></CopyObjectResult>");
    cf_s3_respond_xml(q, 200, &b);
}

bool cf_s3_delete_cond(cf_str if_match, cf_del_cond *c)
{
    cf_str v = cf_str_trim(if_match);
    memset(c, 0, sizeof *c);
    if (cf_str_eq_c(v, "*")) {
        c->if_exists = true;
        return true;
    }
    if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
        v = cf_str_sub(v, 1, v.len - 2);
    c->if_match_etag = v;
    return v.len > 0;
}

bool cf_s3_delete_cond_allowed(cf_s3_req *q, cf_str bucket, cf_str key, const cf_del_cond *c)
{
    return c->if_match_etag.len == 0 || cf_s3_allowed(q, "s3:GetObject", bucket, key);
}

cf_s3err cf_s3_delete_key(cf_s3_req *q, cf_str bucket, cf_str key, const cf_del_cond *cond)
{
    char old[CF_BLOB_ID_LEN + 1] = "";
    cf_rc rc = cf_meta_call(q->s3->meta, object_delete, bucket, key, cond, old);
    if (rc == CF_ENOTFOUND)
        return CF_S3_NoSuchBucket;
    if (rc == CF_ECONFLICT) {
        /* Which answer only: the delete has not happened either way. */
        cf_object_info o;
        rc = cf_meta_call(q->s3->meta, object_get, bucket, key, q->arena, &o);
        return rc == CF_OK ? CF_S3_PreconditionFailed : CF_S3_NoSuchKey;
    }
    if (rc != CF_OK)
        return cf_s3_from_rc(rc, "object delete");
    cf_s3_remove_blob(q, old);
    return CF_S3_OK;
}

void cf_s3_delete_object(cf_s3_req *q)
{
    cf_str im = cf_http_header(q->http, "if-match");
    cf_del_cond cond;
    cf_s3err e = CF_S3_OK;
    if (im.p != NULL && !cf_s3_delete_cond(im, &cond))
        e = CF_S3_InvalidArgument;
    else if (im.p != NULL && !cf_s3_delete_cond_allowed(q, q->bucket, q->key, &cond))
        e = CF_S3_AccessDenied;
    if (e == CF_S3_OK)
        e = cf_s3_bucket_exists(q, q->bucket);
    if (e == CF_S3_OK)
        e = cf_s3_delete_key(q, q->bucket, q->key, im.p != NULL ? &cond : NULL);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, e == CF_S3_InvalidArgument ? "If-Match must be * or an ETag." : NULL);
        return;
    }
    cf_http_respond_empty(q->http, 204);
}
