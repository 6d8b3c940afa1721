/* CopyObject (x-amz-copy-source) and DeleteObject. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

#define COPY_CHUNK (1u << 20)

/* "/bucket/key" or "bucket/key", percent-encoded, optionally "?versionId=..." */
static bool parse_copy_source(cf_s3_req *q, cf_str src, cf_str *bucket, cf_str *key)
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

static cf_rc copy_blob(cf_s3_req *q, const char *src_id, uint64_t size, char dst_id[CF_BLOB_ID_LEN + 1])
{
    cf_blob_store *bs = q->s3->blob;
    cf_blob_reader *rd = NULL;
    cf_blob_writer *w = NULL;
    char *buf = NULL;
    uint64_t got = 0, off = 0;
    cf_rc rc = bs->ops->reader_open(bs, src_id, &rd, &got);
    if (rc != CF_OK)
        goto out;
    if (got != size) {
        rc = CF_EIO;
        goto out;
    }
    buf = malloc(COPY_CHUNK);
    if (buf == NULL) {
        rc = CF_ENOMEM;
        goto out;
    }
    rc = bs->ops->writer_open(bs, &w, dst_id);
    if (rc != CF_OK)
        goto out;
    while (off < size) {
        size_t want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
        ptrdiff_t n = bs->ops->read(rd, off, buf, want);
        if (n <= 0) {
            rc = CF_EIO;
            goto out;
        }
        rc = bs->ops->write(w, buf, (size_t)n);
        if (rc != CF_OK)
            goto out;
        off += (uint64_t)n;
    }
    rc = bs->ops->finish(w);
    w = NULL;
out:
    if (w != NULL)
        bs->ops->abort(w);
    bs->ops->reader_close(rd);
    free(buf);
    return rc;
}

void cf_s3_copy_object(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str sb, sk;
    cf_object_info src, o;
    cf_s3err e;
    cf_put_cond cond = {0};

    if (!parse_copy_source(q, cf_str_trim(cf_http_header(r, "x-amz-copy-source")), &sb, &sk)) {
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
    cf_rc rc = cf_meta_call(q->s3->meta, object_get, sb, sk, q->arena, &src);
    if (rc == CF_ENOTFOUND) {
        e = cf_s3_bucket_exists(q, sb);
        cf_s3_error(q, e == CF_S3_OK ? CF_S3_NoSuchKey : e, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object read"), NULL);
        return;
    }
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
    if (src.blob_id[0]) {
        rc = copy_blob(q, src.blob_id, src.size, o.blob_id);
        if (rc == CF_ENOTFOUND) {
            cf_s3_error(q, CF_S3_NoSuchKey, "The source object was removed during the copy.");
            return;
        }
        if (rc != CF_OK) {
            cf_s3_error(q, cf_s3_from_rc(rc, "object copy"), NULL);
            return;
        }
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

void cf_s3_delete_object(cf_s3_req *q)
{
    char old[CF_BLOB_ID_LEN + 1] = "";
    cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_rc rc = cf_meta_call(q->s3->meta, object_delete, q->bucket, q->key, old);
    if (rc == CF_ENOTFOUND) {
        cf_s3_error(q, CF_S3_NoSuchBucket, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object delete"), NULL);
        return;
    }
    cf_s3_remove_blob(q, old);
    cf_http_respond_empty(q->http, 204);
}
