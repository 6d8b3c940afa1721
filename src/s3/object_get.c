/* GetObject and HeadObject: conditional requests, ranges, partNumber, response-* overrides,
 * and bodies sent from the blob's file descriptor (sendfile), from the inline copy, or
 * streamed from a multipart object's segments; and the object body reader that copies share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

/* A reader racing an overwrite or delete may find the blob gone between the metadata read
 * and the open (or the segments replaced before its lease); it then reads the metadata
 * again. */
#define OPEN_RETRIES 8
#define COPY_CHUNK (1u << 20)

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
    size_t ntags = 0;
    for (size_t i = 0; i < o->nheaders; i++) {
        const cf_header *h = &o->headers[i];
        bool overridden = false;
        if (cf_str_eq_c(h->name, "x-amz-tagging")) {
            ntags = cf_s3_tag_count(h->value); /* the tags themselves need GetObjectTagging */
            continue;
        }
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
    if (ntags > 0) {
        char cnt[24];
        snprintf(cnt, sizeof cnt, "%zu", ntags);
        cf_http_add_header(r, "x-amz-tagging-count", cnt);
    }
}

/* ---- object bodies ---- */

typedef struct seg {
    char id[CF_BLOB_ID_LEN + 1];
    uint64_t start; /* object offset of its first byte */
    uint64_t size;
} seg;

struct cf_s3_body {
    cf_blob_store *bs;
    cf_s3_gc *gc;
    uint64_t size;
    char *inline_p; /* inline objects: a copy of the bytes */
    seg *segs;      /* one blob: one segment */
    size_t nsegs;
    const char **sorted; /* segment ids sorted, for the lease */
    cf_s3_lease lease;
    bool leased;
    cf_blob_reader *rd; /* open on segs[cur], or NULL */
    size_t cur;
    uint64_t stream_off; /* a streamed response's first byte */
};

void cf_s3_body_free(cf_s3_body *b)
{
    if (b == NULL)
        return;
    if (b->rd != NULL)
        b->bs->ops->reader_close(b->rd);
    if (b->leased)
        cf_s3_gc_release(b->gc, &b->lease);
    free(b->inline_p);
    free(b->segs);
    free(b->sorted);
    free(b);
}

static int cmp_idp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static cf_s3_body *body_new(cf_s3_req *q, const cf_object_info *o)
{
    cf_s3_body *b = calloc(1, sizeof *b);
    size_t n = o->nsegments > 0 ? o->nsegments : 1;
    uint64_t at = 0;
    if (b == NULL)
        return NULL;
    b->bs = q->s3->blob;
    b->gc = q->s3->gc;
    b->size = o->size;
    if (o->blob_id[0] == 0 && o->nsegments == 0) {
        b->inline_p = malloc(o->inline_body.len + 1);
        if (b->inline_p == NULL)
            goto fail;
        if (o->inline_body.len)
            memcpy(b->inline_p, o->inline_body.p, o->inline_body.len);
        b->size = o->inline_body.len;
        return b;
    }
    b->segs = calloc(n, sizeof *b->segs);
    if (b->segs == NULL)
        goto fail;
    b->nsegs = n;
    if (o->nsegments == 0) {
        memcpy(b->segs[0].id, o->blob_id, sizeof b->segs[0].id);
        b->segs[0].size = o->size;
        return b;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(b->segs[i].id, o->segments[i].blob_id, sizeof b->segs[i].id);
        b->segs[i].id[CF_BLOB_ID_LEN] = 0;
        b->segs[i].start = at;
        b->segs[i].size = o->segments[i].size;
        at += o->segments[i].size;
    }
    if (at != o->size) {
        cf_error("s3: object %.*s/%.*s: segments hold %llu bytes, metadata says %llu",
                 CF_STR_FMT(o->bucket), CF_STR_FMT(o->key), (unsigned long long)at,
                 (unsigned long long)o->size);
        goto fail;
    }
    b->sorted = malloc(n * sizeof *b->sorted);
    if (b->sorted == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++)
        b->sorted[i] = b->segs[i].id;
    qsort(b->sorted, n, sizeof *b->sorted, cmp_idp);
    b->lease.ids = b->sorted;
    b->lease.n = n;
    cf_s3_gc_lease(b->gc, &b->lease);
    b->leased = true;
    return b;
fail:
    cf_s3_body_free(b);
    return NULL;
}

static bool same_segments(const cf_object_info *a, const cf_object_info *b)
{
    if (a->nsegments != b->nsegments || !cf_str_eq(a->etag, b->etag))
        return false;
    for (size_t i = 0; i < a->nsegments; i++)
        if (strcmp(a->segments[i].blob_id, b->segments[i].blob_id) != 0)
            return false;
    return true;
}

cf_s3err cf_s3_body_open(cf_s3_req *q, cf_str bucket, cf_str key, cf_object_info *o,
                         cf_s3_body **out)
{
    cf_blob_store *bs = q->s3->blob;
    cf_s3_body *b = NULL;
    cf_rc rc = CF_ENOTFOUND;
    cf_s3err e;

    *out = NULL;
    for (int attempt = 0; attempt < OPEN_RETRIES; attempt++) {
        rc = cf_meta_call(q->s3->meta, object_get, bucket, key, q->arena, o);
        if (rc != CF_OK)
            break;
        b = body_new(q, o);
        if (b == NULL) {
            rc = CF_ENOMEM;
            break;
        }
        if (b->inline_p != NULL)
            break;
        if (o->nsegments == 0) {
            uint64_t bsize = 0;
            rc = bs->ops->reader_open(bs, o->blob_id, &b->rd, &bsize);
            if (rc == CF_OK && bsize != o->size) {
                cf_error("s3: blob %s has %llu bytes, metadata says %llu", o->blob_id,
                         (unsigned long long)bsize, (unsigned long long)o->size);
                rc = CF_EIO;
            }
        } else {
            /* Leased: if the object still names these segments now, the collector cannot
             * have queued them before the lease, so none can go while we read. */
            cf_object_info now;
            rc = cf_meta_call(q->s3->meta, object_get, bucket, key, q->arena, &now);
            if (rc == CF_OK && !same_segments(o, &now))
                rc = CF_ENOTFOUND;
        }
        if (rc == CF_OK)
            break;
        cf_s3_body_free(b);
        b = NULL;
        if (rc != CF_ENOTFOUND)
            break;
    }
    if (rc == CF_ENOTFOUND && b == NULL) {
        e = cf_s3_bucket_exists(q, bucket);
        return e == CF_S3_OK ? CF_S3_NoSuchKey : e;
    }
    if (rc != CF_OK || b == NULL) {
        cf_s3_body_free(b);
        return cf_s3_from_rc(rc, "object read");
    }
    *out = b;
    return CF_S3_OK;
}

/* The segment holding off (< size): the last one starting at or before it, which is never
 * an empty one. */
static size_t find_seg(const cf_s3_body *b, uint64_t off)
{
    size_t lo = 0, hi = b->nsegs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->segs[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

ptrdiff_t cf_s3_body_read(cf_s3_body *b, uint64_t off, void *p, size_t n)
{
    if (off >= b->size || n == 0)
        return 0;
    if (b->inline_p != NULL) {
        size_t k = b->size - off < n ? (size_t)(b->size - off) : n;
        memcpy(p, b->inline_p + off, k);
        return (ptrdiff_t)k;
    }
    size_t i = b->rd != NULL && b->segs[b->cur].start <= off &&
                       off - b->segs[b->cur].start < b->segs[b->cur].size
                   ? b->cur
                   : find_seg(b, off);
    const seg *s = &b->segs[i];
    if (b->rd == NULL || i != b->cur) {
        uint64_t bsize = 0;
        if (b->rd != NULL)
            b->bs->ops->reader_close(b->rd);
        b->rd = NULL;
        cf_rc rc = b->bs->ops->reader_open(b->bs, s->id, &b->rd, &bsize);
        if (rc != CF_OK || bsize != s->size) {
            cf_error("s3: segment blob %s: %s (%llu bytes, expected %llu)", s->id,
                     rc != CF_OK ? cf_rc_str(rc) : "wrong size", (unsigned long long)bsize,
                     (unsigned long long)s->size);
            return -1;
        }
        b->cur = i;
    }
    uint64_t left = s->size - (off - s->start);
    ptrdiff_t got = b->bs->ops->read(b->rd, off - s->start, p, left < n ? (size_t)left : n);
    return got > 0 ? got : -1;
}

cf_rc cf_s3_body_copy(cf_s3_req *q, cf_s3_body *b, uint64_t off, uint64_t len,
                      char id[CF_BLOB_ID_LEN + 1], uint8_t md5[16], cf_ck *ck)
{
    cf_blob_store *bs = q->s3->blob;
    cf_blob_writer *w = NULL;
    cf_hash *h = cf_hash_new(CF_HASH_MD5);
    char *buf = malloc(COPY_CHUNK);
    uint64_t done = 0;
    cf_rc rc = CF_ENOMEM;

    if (h == NULL || buf == NULL)
        goto out;
    rc = bs->ops->writer_open(bs, &w, id);
    if (rc != CF_OK)
        goto out;
    while (done < len) {
        size_t want = len - done < COPY_CHUNK ? (size_t)(len - done) : COPY_CHUNK;
        ptrdiff_t n = cf_s3_body_read(b, off + done, buf, want);
        if (n <= 0) {
            rc = CF_EIO;
            goto out;
        }
        rc = bs->ops->write(w, buf, (size_t)n);
        if (rc != CF_OK)
            goto out;
        cf_hash_update(h, buf, (size_t)n);
        if (ck != NULL)
            cf_ck_update(ck, buf, (size_t)n);
        done += (uint64_t)n;
    }
    rc = bs->ops->finish(w);
    w = NULL;
    if (rc == CF_OK)
        cf_hash_final(h, md5);
out:
    if (w != NULL)
        bs->ops->abort(w);
    cf_hash_free(h);
    free(buf);
    return rc;
}

/* The single blob's descriptor for sendfile (the body gives it up), or -1. */
static int body_take_fd(cf_s3_body *b)
{
    if (b->rd == NULL || b->nsegs != 1 || b->sorted != NULL)
        return -1;
    int fd = b->bs->ops->reader_take_fd(b->rd);
    b->rd = NULL;
    return fd;
}

static ptrdiff_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    cf_s3_body *b = ctx;
    return cf_s3_body_read(b, b->stream_off + pos, buf, max);
}

static void stream_free(void *ctx)
{
    cf_s3_body_free(ctx);
}

/* ---- GetObject, HeadObject ---- */

/* ?partNumber=N: 0 when absent, else 1..10000; answers InvalidArgument and returns -1. */
static int part_number(cf_s3_req *q)
{
    cf_str v = cf_s3_query(q, "partNumber");
    uint64_t n = 0;
    if (v.p == NULL)
        return 0;
    if (!cf_str_to_u64(v, &n) || n < 1 || n > CF_S3_MAX_PARTS) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive");
        return -1;
    }
    return (int)n;
}

void cf_s3_get_object(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    bool head = r->method == CF_HTTP_HEAD;
    cf_object_info o;
    cf_s3_body *body = NULL;
    cf_s3err e;

    /* response-* overrides are for signed requests only, as in S3. */
    for (size_t j = 0; j < sizeof overrides / sizeof overrides[0]; j++)
        if (cf_s3_has_query(q, overrides[j].param) && !q->signed_request) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Request specific response headers cannot be used for anonymous GET "
                        "requests.");
            return;
        }
    int pn = part_number(q);
    if (pn < 0)
        return;
    cf_str range = cf_http_header(r, "range");
    if (pn > 0 && range.p != NULL) {
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "Cannot specify both Range header and partNumber query parameter");
        return;
    }

    e = cf_s3_body_open(q, q->bucket, q->key, &o, &body);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
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
        cf_s3_body_free(body);
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
    const cf_segment *part = NULL;
    if (pn > 0) {
        /* A part is a range (206) of the object; an object not uploaded in parts is one
         * part. */
        if ((o.nsegments == 0 && pn != 1) || (o.nsegments > 0 && (size_t)pn > o.nsegments)) {
            cf_s3_body_free(body);
            cf_s3_error(q, CF_S3_InvalidPartNumber, NULL);
            return;
        }
        if (o.nsegments > 0) {
            char cnt[24];
            part = &o.segments[pn - 1];
            for (int i = 0; i < pn - 1; i++)
                off += o.segments[i].size;
            len = part->size;
            snprintf(cnt, sizeof cnt, "%zu", o.nsegments);
            cf_http_add_header(r, "x-amz-mp-parts-count", cnt);
        }
        if (len > 0) {
            char cr_hdr[96];
            snprintf(cr_hdr, sizeof cr_hdr, "bytes %llu-%llu/%llu", (unsigned long long)off,
                     (unsigned long long)(off + len - 1), (unsigned long long)o.size);
            cf_http_add_header(r, "Content-Range", cr_hdr);
            status = 206;
        }
    } else if (range.p != NULL) {
        cf_range_rc rr = cf_range_parse(range, o.size, &off, &len);
        if (rr == CF_RANGE_UNSATISFIABLE) {
            char cr_hdr[64];
            cf_s3_body_free(body);
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
    bool ck_on = ckmode.p != NULL && cf_str_ieq_c(ckmode, "ENABLED");
    /* The stored checksum covers the whole object: a range does not get it. */
    cf_s3_add_object_headers(q, &o, status == 200 && ck_on);
    if (part != NULL && ck_on && part->checksum.len > 0) {
        /* A part of a COMPOSITE object has its own checksum, as the upload recorded it. */
        for (size_t i = 0; i < o.nheaders; i++)
            if (cf_str_eq_c(o.headers[i].name, "x-amz-checksum-type") &&
                cf_str_eq_c(o.headers[i].value, "COMPOSITE"))
                for (size_t j = 0; j < o.nheaders; j++) {
                    cf_ck_alg alg = cf_ck_from_header(o.headers[j].name);
                    if (alg != CF_CK_NONE) {
                        cf_http_add_header_str(r, cf_ck_header(alg), part->checksum);
                        cf_http_add_header(r, "x-amz-checksum-type", "COMPOSITE");
                    }
                }
    }
    cf_http_add_header(r, "Accept-Ranges", "bytes");

    if (head || len == 0) {
        cf_s3_body_free(body);
        cf_http_respond_len_only(r, status, len);
        return;
    }
    if (o.nsegments > 0) {
        /* The body (and its lease) belongs to the response from here. */
        body->stream_off = off;
        cf_http_respond_reader(r, status, len, stream_read, body, stream_free);
        return;
    }
    if (o.blob_id[0] == 0) {
        cf_buf b;
        cf_buf_init(&b, len + 1);
        e = cf_buf_append(&b, o.inline_body.p + off, (size_t)len) == CF_OK ? CF_S3_OK
                                                                          : CF_S3_InternalError;
        cf_s3_body_free(body);
        if (e != CF_S3_OK) {
            cf_buf_free(&b);
            cf_s3_error(q, e, "out of memory");
            return;
        }
        cf_http_respond(r, status, &b, NULL);
        cf_buf_free(&b);
        return;
    }
    int fd = body_take_fd(body);
    cf_s3_body_free(body);
    if (fd < 0) {
        cf_s3_error(q, CF_S3_InternalError, "blob backend without file descriptors");
        return;
    }
    cf_http_respond_fd(r, status, fd, off, len);
}
