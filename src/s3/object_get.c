/* GetObject and HeadObject: conditional requests, ranges, response-* overrides, and bodies
 * sent from the blob's file descriptor (sendfile) or from the inline copy. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

/* A reader racing an overwrite or delete may find the blob gone between the metadata read
 * and the open; it then reads the metadata again. */
#define OPEN_RETRIES 4

static const struct {
    const char *param;
    const char *header;
} overrides[] = {
    {"response-content-type", "Content-Type"},
    {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},
    {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"},
    {"response-content-encoding", "Content-Encoding"},
};

/* Canonical spelling of stored header names in responses. */
static const char *display_name(cf_str lower)
{
    static const char *const names[] = {"Content-Type",     "Content-Encoding",
                                        "Content-Disposition", "Content-Language",
                                        "Cache-Control",    "Expires"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (cf_str_ieq_c(lower, names[i]))
            return names[i];
    return NULL;
}

void cf_s3_add_object_headers(cf_s3_req *q, const cf_object_info *o, bool checksum_mode)
{
    cf_http_req *r = q->http;
    char etag[80], lm[30];
    snprintf(etag, sizeof etag, "\"%.*s\"", CF_STR_FMT(o->etag));
    cf_time_http(o->mtime_ms, lm);
    cf_http_add_header(r, "ETag", etag);
    cf_http_add_header(r, "Last-Modified", lm);
    bool has_type = false;
    for (size_t i = 0; i < o->nheaders; i++) {
        const cf_header *h = &o->headers[i];
        bool overridden = false;
        for (size_t j = 0; j < sizeof overrides / sizeof overrides[0]; j++)
            if (cf_str_ieq_c(h->name, overrides[j].header) &&
                cf_s3_has_query(q, overrides[j].param))
                overridden = true;
        if (overridden)
            continue;
        if (cf_str_starts_c(h->name, "x-amz-checksum-") && !checksum_mode)
            continue;
        if (cf_str_ieq_c(h->name, "content-type"))
            has_type = true;
        const char *dn = display_name(h->name);
        char name[256];
        if (dn == NULL) {
            snprintf(name, sizeof name, "%.*s", CF_STR_FMT(h->name));
            dn = name;
        }
        cf_http_add_header_str(r, dn, h->value);
    }
    for (size_t j = 0; j < sizeof overrides / sizeof overrides[0]; j++) {
        cf_str v = cf_s3_query(q, overrides[j].param);
        if (v.p != NULL) {
            cf_http_add_header_str(r, overrides[j].header, v);
            if (j == 0)
                has_type = true;
        }
    }
    if (!has_type)
        cf_http_add_header(r, "Content-Type", "binary/octet-stream");
}

void cf_s3_get_object(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    bool head = r->method == CF_HTTP_HEAD;
    cf_blob_store *bs = q->s3->blob;
    cf_object_info o;
    cf_blob_reader *rd = NULL;
    uint64_t bsize = 0;
    cf_rc rc = CF_ENOTFOUND;

    /* response-* overrides are for signed requests only, as in S3. */
    for (size_t j = 0; j < sizeof overrides / sizeof overrides[0]; j++)
        if (cf_s3_has_query(q, overrides[j].param) && !q->signed_request) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Request specific response headers cannot be used for anonymous GET "
                        "requests.");
            return;
        }

    for (int attempt = 0; attempt < OPEN_RETRIES; attempt++) {
        rc = cf_meta_call(q->s3->meta, object_get, q->bucket, q->key, q->arena, &o);
        if (rc != CF_OK)
            break;
        if (o.blob_id[0] == 0)
            break; /* inline body */
        rc = bs->ops->reader_open(bs, o.blob_id, &rd, &bsize);
        if (rc != CF_ENOTFOUND)
            break;
    }
    if (rc == CF_ENOTFOUND) {
        cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
        cf_s3_error(q, e == CF_S3_OK ? CF_S3_NoSuchKey : e, NULL);
        return;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object read"), NULL);
        return;
    }

    cf_cond_headers ch = {
        .if_match = cf_http_header(r, "if-match"),
        .if_none_match = cf_http_header(r, "if-none-match"),
        .if_modified_since = cf_http_header(r, "if-modified-since"),
        .if_unmodified_since = cf_http_header(r, "if-unmodified-since"),
    };
    cf_cond_rc cr = cf_cond_eval(&ch, o.etag, o.mtime_ms, false);
    if (cr != CF_COND_PASS) {
        bs->ops->reader_close(rd);
        if (cr == CF_COND_NOT_MODIFIED) {
            char etag[80], lm[30];
            snprintf(etag, sizeof etag, "\"%.*s\"", CF_STR_FMT(o.etag));
            cf_time_http(o.mtime_ms, lm);
            cf_http_add_header(r, "ETag", etag);
            cf_http_add_header(r, "Last-Modified", lm);
            cf_http_respond_empty(r, 304);
        } else {
            cf_s3_error(q, CF_S3_PreconditionFailed, NULL);
        }
        return;
    }

    uint64_t off = 0, len = o.size;
    int status = 200;
    cf_str range = cf_http_header(r, "range");
    if (range.p != NULL) {
        cf_range_rc rr = cf_range_parse(range, o.size, &off, &len);
        if (rr == CF_RANGE_UNSATISFIABLE) {
            char cr_hdr[64];
            bs->ops->reader_close(rd);
            snprintf(cr_hdr, sizeof cr_hdr, "bytes */%llu", (unsigned long long)o.size);
            cf_http_add_header(r, "Content-Range", cr_hdr);
            cf_s3_error(q, CF_S3_InvalidRange, NULL);
            return;
        }
        if (rr == CF_RANGE_OK) {
            char cr_hdr[96];
            snprintf(cr_hdr, sizeof cr_hdr, "bytes %llu-%llu/%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1), (unsigned long long)o.size);
            cf_http_add_header(r, "Content-Range", cr_hdr);
            status = 206;
        }
    }
    cf_str ckmode = cf_http_header(r, "x-amz-checksum-mode");
    /* The stored checksum covers the whole object: a range does not get it. */
    cf_s3_add_object_headers(q, &o,
                             status == 200 && ckmode.p != NULL && cf_str_ieq_c(ckmode, "ENABLED"));
    cf_http_add_header(r, "Accept-Ranges", "bytes");

    if (o.blob_id[0] == 0) {
        cf_buf b;
        cf_buf_init(&b, o.inline_body.len + 1);
        if (!head && len > 0 && cf_buf_append(&b, o.inline_body.p + off, (size_t)len) != CF_OK) {
            cf_s3_error(q, CF_S3_InternalError, "out of memory");
            return;
        }
        if (head)
            cf_http_respond_len_only(r, status, len);
        else
            cf_http_respond(r, status, &b, NULL);
        cf_buf_free(&b);
        return;
    }
    if (bsize != o.size) {
        bs->ops->reader_close(rd);
        cf_error("s3: blob %s has %llu bytes, metadata says %llu", o.blob_id,
                 (unsigned long long)bsize, (unsigned long long)o.size);
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    if (head || len == 0) {
        bs->ops->reader_close(rd);
        cf_http_respond_len_only(r, status, len);
        return;
    }
    int fd = bs->ops->reader_take_fd(rd);
    if (fd < 0) {
        cf_s3_error(q, CF_S3_InternalError, "blob backend without file descriptors");
        return;
    }
    cf_http_respond_fd(r, status, fd, off, len);
}
