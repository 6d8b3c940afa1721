/* Multipart uploads: CreateMultipartUpload, UploadPart (streamed into a staged blob like a
 * PutObject body), UploadPartCopy, CompleteMultipartUpload (which copies nothing: the object
 * is the list of its parts' blobs), AbortMultipartUpload, ListParts and ListMultipartUploads.
 *
 * A part's blob is published only after part_put committed it; if the upload vanished
 * meanwhile the blob is discarded. Blobs the metadata store lets go of (replaced parts,
 * parts left out of the completed object, aborted uploads, replaced objects) are queued in
 * the same transaction and removed by the garbage collector. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

#define LIST_MAX        1000
#define UPLOAD_ID_BYTES 24 /* 32 URL-safe characters */
#define UPLOAD_ID_MAX   128
#define CK_ALG_HEADER   "x-amz-checksum-algorithm"
#define CK_TYPE_HEADER  "x-amz-checksum-type"

/* ---- shared ---- */

static bool make_upload_id(char out[UPLOAD_ID_BYTES * 4 / 3 + 1])
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[UPLOAD_ID_BYTES];
    size_t o = 0;
    if (cf_random(raw, sizeof raw) != CF_OK)
        return false;
    for (size_t i = 0; i < sizeof raw; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    out[o] = 0;
    return true;
}

/* ?partNumber= as 1..10000; answers InvalidArgument and returns 0 otherwise. */
static uint32_t query_part_number(cf_s3_req *q)
{
    uint64_t n = 0;
    if (!cf_str_to_u64(cf_s3_query(q, "partNumber"), &n) || n < 1 || n > CF_S3_MAX_PARTS) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive");
        return 0;
    }
    return (uint32_t)n;
}

/* NoSuchUpload, unless the bucket itself is missing. */
static cf_s3err upload_missing(cf_s3_req *q)
{
    cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
    return e == CF_S3_OK ? CF_S3_NoSuchUpload : e;
}

/* The upload named by ?uploadId= for this key. Answers the error itself. */
static bool load_upload(cf_s3_req *q, cf_upload_info *u)
{
    cf_str id = cf_s3_query(q, "uploadId");
    cf_rc rc = CF_ENOTFOUND;
    if (id.len > 0 && id.len <= UPLOAD_ID_MAX)
        rc = cf_meta_call(q->s3->meta, upload_get, q->bucket, q->key, id, q->arena, u);
    if (rc == CF_OK)
        return true;
    cf_s3_error(q, rc == CF_ENOTFOUND ? upload_missing(q) : cf_s3_from_rc(rc, "upload read"), NULL);
    return false;
}

static cf_str header_of(const cf_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (cf_str_eq_c(h[i].name, name))
            return h[i].value;
    return CF_STR_NULL;
}

/* The checksum algorithm and type the upload was created with (NONE when none). */
static void upload_checksum(const cf_upload_info *u, cf_ck_alg *alg, cf_ck_type *type)
{
    *alg = cf_ck_from_name(header_of(u->headers, u->nheaders, CK_ALG_HEADER));
    *type = *alg == CF_CK_NONE
                ? CF_CK_TYPE_NONE
                : cf_ck_type_from_name(header_of(u->headers, u->nheaders, CK_TYPE_HEADER));
}

/* "ChecksumCRC32" and the like, as S3's XML names the values. */
static void checksum_elem_name(cf_ck_alg alg, char out[32])
{
    snprintf(out, 32, "Checksum%s", cf_ck_name(alg));
}

static void lower_name(const char *in, char out[16])
{
    size_t i = 0;
    for (; in[i] != 0 && i < 15; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    out[i] = 0;
}

/* Parts: the checksum must be of the upload's algorithm, as S3 insists. */
static bool part_checksum_alg_ok(cf_s3_req *q, cf_ck_alg upload_alg)
{
    char want[16], got[16];
    if (q->ck.alg == CF_CK_NONE || upload_alg == CF_CK_NONE || q->ck.alg == upload_alg)
        return true;
    lower_name(cf_ck_name(upload_alg), want);
    lower_name(cf_ck_name(q->ck.alg), got);
    cf_s3_errorf(q, CF_S3_InvalidRequest,
                 "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum "
                 "Type: %s",
                 want, got);
    return false;
}

static void xml_owner(cf_buf *b, const char *elem, cf_str id)
{
    cf_xml_open(b, elem);
    cf_xml_elem(b, "ID", id);
    cf_xml_elem(b, "DisplayName", id);
    cf_xml_close(b, elem);
}

static void xml_etag(cf_buf *b, cf_str etag)
{
    cf_buf_append_c(b, "<ETag>&quot;");
    cf_buf_append_xml(b, etag);
    cf_buf_append_c(b, "&quot;</ETag>");
}

static void xml_checksum(cf_buf *b, cf_ck_alg alg, cf_str value)
{
    char name[32];
    if (alg == CF_CK_NONE || value.len == 0)
        return;
    checksum_elem_name(alg, name);
    cf_xml_elem(b, name, value);
}

/* After a commit that may have queued blobs. */
static void wake_gc(cf_s3_req *q)
{
    cf_s3_remove_blob(q, "");
}

/* Publishes a committed part's blob; a failure only delays it (readers look in staging,
 * start-up recovery finishes it). */
static void publish(cf_s3_req *q, const char *id)
{
    cf_rc rc = q->s3->blob->ops->publish(q->s3->blob, id);
    if (rc != CF_OK)
        cf_warn("s3: publish of part blob %s deferred: %s", id, cf_rc_str(rc));
}

/* Commits a part whose blob is finished; discards the blob if that fails. */
static cf_s3err commit_part(cf_s3_req *q, const cf_part_info *p)
{
    cf_rc rc =
        cf_meta_call(q->s3->meta, part_put, q->bucket, q->key, cf_s3_query(q, "uploadId"), p);
    if (rc != CF_OK) {
        q->s3->blob->ops->discard(q->s3->blob, p->blob_id);
        return rc == CF_ENOTFOUND ? upload_missing(q) : cf_s3_from_rc(rc, "part commit");
    }
    publish(q, p->blob_id);
    wake_gc(q); /* a replaced part's blob */
    return CF_S3_OK;
}

/* ---- CreateMultipartUpload ---- */

void cf_s3_create_upload(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str alg_h = cf_str_trim(cf_http_header(r, CK_ALG_HEADER));
    cf_str type_h = cf_str_trim(cf_http_header(r, CK_TYPE_HEADER));
    cf_ck_alg alg = CF_CK_NONE;
    cf_ck_type type = CF_CK_TYPE_NONE;
    cf_header *hs = NULL, *all;
    size_t n = 0;
    char id[UPLOAD_ID_BYTES * 4 / 3 + 1];
    cf_s3err e;

    if (alg_h.p != NULL) {
        alg = cf_ck_from_name(alg_h);
        if (alg == CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Checksum algorithm provided is unsupported. Please try again with any "
                        "of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
            return;
        }
    }
    if (type_h.p != NULL) {
        if (alg == CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "The x-amz-checksum-type header can only be used with the "
                        "x-amz-checksum-algorithm header.");
            return;
        }
        type = cf_ck_type_from_name(type_h);
        if (type == CF_CK_TYPE_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Value for x-amz-checksum-type header is invalid.");
            return;
        }
    } else if (alg != CF_CK_NONE) {
        /* S3's default: full-object for CRC64NVME (its only type), composite otherwise. */
        type = alg == CF_CK_CRC64NVME ? CF_CK_FULL_OBJECT : CF_CK_COMPOSITE;
    }
    if (alg != CF_CK_NONE && !cf_ck_type_supported(alg, type)) {
        char a[16];
        lower_name(cf_ck_name(alg), a);
        cf_s3_errorf(q, CF_S3_InvalidRequest,
                     "The %s checksum type cannot be used with the %s checksum algorithm.",
                     cf_ck_type_name(type), a);
        return;
    }
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e == CF_S3_OK)
        e = cf_s3_collect_headers(q, CF_CK_NONE, CF_STR_NULL, &hs, &n);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    all = cf_arena_alloc(q->arena, (n + 2) * sizeof *all);
    if (all == NULL || !make_upload_id(id)) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    if (n)
        memcpy(all, hs, n * sizeof *all);
    if (alg != CF_CK_NONE) {
        all[n++] = (cf_header){CF_STR(CK_ALG_HEADER), cf_str_c(cf_ck_name(alg))};
        all[n++] = (cf_header){CF_STR(CK_TYPE_HEADER), cf_str_c(cf_ck_type_name(type))};
    }
    cf_upload_info u = {
        .bucket = q->bucket,
        .key = q->key,
        .upload_id = cf_str_c(id),
        .initiator = q->authn.cred.row.id,
        .initiated_ms = cf_now_ms(),
        .headers = all,
        .nheaders = n,
    };
    cf_rc rc = cf_meta_call(q->s3->meta, upload_create, &u);
    if (rc != CF_OK) {
        cf_s3_error(q, rc == CF_ENOTFOUND ? CF_S3_NoSuchBucket : cf_s3_from_rc(rc, "upload create"),
                    NULL);
        return;
    }
    if (alg != CF_CK_NONE) {
        cf_http_add_header(r, CK_ALG_HEADER, cf_ck_name(alg));
        cf_http_add_header(r, CK_TYPE_HEADER, cf_ck_type_name(type));
    }
    cf_buf b;
    cf_buf_init(&b, 16u << 10);
    cf_buf_append_c(&b, CF_XML_DECL "<InitiateMultipartUploadResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem(&b, "Bucket", q->bucket);
    cf_xml_elem(&b, "Key", q->key);
    cf_xml_elem_c(&b, "UploadId", id);
    cf_buf_append_c(&b, "</InitiateMultipartUploadResult>");
    cf_s3_respond_xml(q, 200, &b);
}

/* ---- UploadPart ---- */

typedef struct part_state {
    cf_s3_stage stage;
    uint32_t number;
    cf_ck_alg alg; /* the upload's */
    cf_ck own;     /* computed here when the request carries no checksum of alg */
} part_state;

void cf_s3_upload_part_begin(cf_s3_req *q)
{
    part_state *st = cf_arena_alloc(q->arena, sizeof *st);
    cf_upload_info u;
    cf_ck_type type;
    if (st == NULL) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    q->opstate = st;
    st->number = query_part_number(q);
    if (st->number == 0 || !load_upload(q, &u))
        return;
    upload_checksum(&u, &st->alg, &type);
    if (!part_checksum_alg_ok(q, st->alg))
        return;
    /* Clients may leave the part's checksum out; the upload's needs it all the same. */
    if (st->alg != CF_CK_NONE && q->ck.alg == CF_CK_NONE &&
        cf_ck_init(&st->own, st->alg) != CF_OK) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    uint64_t max =
        q->s3->max_object_size < CF_S3_MAX_PART_SIZE ? q->s3->max_object_size : CF_S3_MAX_PART_SIZE;
    cf_s3_stage_begin(q, &st->stage, max);
}

void cf_s3_upload_part_body(cf_s3_req *q, const char *p, size_t n)
{
    part_state *st = q->opstate;
    if (st->own.alg != CF_CK_NONE)
        cf_ck_update(&st->own, p, n);
    cf_s3_stage_body(q, &st->stage, p, n);
}

void cf_s3_upload_part_complete(cf_s3_req *q)
{
    part_state *st = q->opstate;
    char etag[33], own[48];
    cf_str ck = CF_STR_NULL;

    cf_s3err e = cf_s3_stage_finish(q, &st->stage);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_hex_encode(q->md5_digest, 16, etag);
    if (st->own.alg != CF_CK_NONE) {
        cf_ck_final_b64(&st->own, own);
        st->own.alg = CF_CK_NONE;
        ck = cf_str_c(own);
    } else if (st->alg != CF_CK_NONE) {
        ck = q->ck_expected; /* verified by the body pipeline */
    }
    cf_part_info p = {
        .number = st->number,
        .size = q->body_len,
        .etag = cf_str_c(etag),
        .checksum = ck,
        .mtime_ms = cf_now_ms(),
    };
    memcpy(p.blob_id, st->stage.blob_id, sizeof p.blob_id);
    st->stage.staged = false; /* commit_part discards on failure itself */
    e = commit_part(q, &p);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    char quoted[40];
    snprintf(quoted, sizeof quoted, "\"%s\"", etag);
    cf_http_add_header(q->http, "ETag", quoted);
    if (ck.len > 0)
        cf_http_add_header_str(q->http, cf_ck_header(st->alg), ck);
    cf_http_respond_empty(q->http, 200);
}

void cf_s3_upload_part_done(cf_s3_req *q, bool completed)
{
    part_state *st = q->opstate;
    (void)completed;
    if (st == NULL)
        return;
    if (st->own.alg != CF_CK_NONE)
        cf_ck_free(&st->own);
    cf_s3_stage_done(q, &st->stage);
}

/* ---- UploadPartCopy ---- */

/* x-amz-copy-source-range: exactly "bytes=first-last" inside the source. */
static bool copy_range(cf_s3_req *q, uint64_t size, uint64_t *off, uint64_t *len)
{
    cf_str v = cf_str_trim(cf_http_header(q->http, "x-amz-copy-source-range"));
    cf_str a, b;
    uint64_t first, last;
    if (v.p == NULL) {
        *off = 0;
        *len = size;
        return true;
    }
    if (!cf_str_starts_c(v, "bytes=") || !cf_str_cut(cf_str_sub(v, 6, v.len - 6), '-', &a, &b) ||
        !cf_str_to_u64(a, &first) || !cf_str_to_u64(b, &last)) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "The x-amz-copy-source-range value must be of the form bytes=first-last "
                    "where first and last are the zero-based offsets of the first and last bytes "
                    "to copy");
        return false;
    }
    if (first > last || last >= size) {
        cf_s3_errorf(q, CF_S3_InvalidArgument,
                     "Range specified is not valid for source object of size: %llu",
                     (unsigned long long)size);
        return false;
    }
    *off = first;
    *len = last - first + 1;
    return true;
}

void cf_s3_upload_part_copy(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_upload_info u;
    cf_object_info src;
    cf_s3_body *body = NULL;
    cf_ck_alg alg;
    cf_ck_type type;
    cf_ck ck = {.alg = CF_CK_NONE};
    cf_str sb, sk;
    uint64_t off, len;
    uint8_t md5[16];
    char etag[33], ckv[48] = "", t[25];
    cf_s3err e;
    cf_part_info p = {0};

    p.number = query_part_number(q);
    if (p.number == 0 || !load_upload(q, &u))
        return;
    if (!cf_s3_parse_copy_source(q, cf_str_trim(cf_http_header(r, "x-amz-copy-source")), &sb,
                                 &sk)) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "Copy Source must mention the source bucket and key: "
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
    cf_cond_headers ch = {
        .if_match = cf_http_header(r, "x-amz-copy-source-if-match"),
        .if_none_match = cf_http_header(r, "x-amz-copy-source-if-none-match"),
        .if_modified_since = cf_http_header(r, "x-amz-copy-source-if-modified-since"),
        .if_unmodified_since = cf_http_header(r, "x-amz-copy-source-if-unmodified-since"),
    };
    if (cf_cond_eval(&ch, src.etag, src.mtime_ms, true) != CF_COND_PASS) {
        cf_s3_error(q, CF_S3_PreconditionFailed, NULL);
        goto out;
    }
    if (!copy_range(q, src.size, &off, &len))
        goto out;
    if (len > CF_S3_MAX_PART_SIZE || len > q->s3->max_object_size) {
        cf_s3_errorf(q, CF_S3_InvalidRequest,
                     "The specified copy source is larger than the maximum allowable size for a "
                     "copy source: %llu",
                     (unsigned long long)CF_S3_MAX_PART_SIZE);
        goto out;
    }
    upload_checksum(&u, &alg, &type);
    if (alg != CF_CK_NONE && cf_ck_init(&ck, alg) != CF_OK) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        goto out;
    }
    cf_rc rc = cf_s3_body_copy(q, body, off, len, p.blob_id, md5, alg != CF_CK_NONE ? &ck : NULL);
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "part copy"), NULL);
        goto out;
    }
    if (alg != CF_CK_NONE)
        cf_ck_final_b64(&ck, ckv);
    cf_hex_encode(md5, 16, etag);
    p.size = len;
    p.etag = cf_str_c(etag);
    p.checksum = cf_str_c(ckv);
    p.mtime_ms = cf_now_ms();
    e = commit_part(q, &p);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        goto out;
    }
    cf_buf b;
    cf_s3_time_iso(p.mtime_ms, t);
    cf_buf_init(&b, 4096);
    cf_buf_append_c(&b, CF_XML_DECL "<CopyPartResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem_c(&b, "LastModified", t);
    xml_etag(&b, p.etag);
    xml_checksum(&b, alg, p.checksum);
    cf_buf_append_c(&b, "</CopyPartResult>");
    cf_s3_respond_xml(q, 200, &b);
out:
    cf_ck_free(&ck);
    cf_s3_body_free(body);
}

/* ---- CompleteMultipartUpload ---- */

typedef struct wanted {
    uint32_t number;
    cf_str etag;
    cf_str checksum; /* in the upload's algorithm, or .p NULL */
} wanted;

static cf_str unquote(cf_str s)
{
    s = cf_str_trim(s);
    if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"')
        s = cf_str_sub(s, 1, s.len - 2);
    return s;
}

/* The parts the body asks for, in its order. Answers the error itself. */
static bool parse_complete(cf_s3_req *q, cf_ck_alg alg, wanted **out, size_t *n)
{
    cf_xml_node *root = NULL;
    char ckname[32];
    cf_s3err e = cf_xml_parse(q->arena, cf_buf_str(&q->body), &root);
    if (e != CF_S3_OK || !cf_str_eq_c(root->name, "CompleteMultipartUpload")) {
        cf_s3_error(q, CF_S3_MalformedXML, NULL);
        return false;
    }
    size_t cnt = cf_xml_count(root, "Part");
    if (cnt == 0 || cnt > CF_S3_MAX_PARTS) {
        cf_s3_error(q, CF_S3_MalformedXML, cnt == 0 ? NULL : "Too many parts.");
        return false;
    }
    wanted *w = cf_arena_alloc(q->arena, cnt * sizeof *w);
    if (w == NULL) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return false;
    }
    checksum_elem_name(alg, ckname);
    size_t i = 0;
    for (cf_xml_node *c = root->child; c != NULL; c = c->next) {
        if (!cf_str_eq_c(c->name, "Part"))
            continue;
        uint64_t num;
        cf_str etag = cf_xml_child_text(c, "ETag");
        if (!cf_str_to_u64(cf_xml_child_text(c, "PartNumber"), &num) || etag.p == NULL) {
            cf_s3_error(q, CF_S3_MalformedXML, NULL);
            return false;
        }
        if (num < 1 || num > CF_S3_MAX_PARTS) {
            cf_s3_error(q, CF_S3_InvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive");
            return false;
        }
        if (i > 0 && num <= w[i - 1].number) {
            cf_s3_error(q, CF_S3_InvalidPartOrder, NULL);
            return false;
        }
        w[i].number = (uint32_t)num;
        w[i].etag = unquote(etag);
        w[i].checksum = alg != CF_CK_NONE ? cf_xml_child_text(c, ckname) : CF_STR_NULL;
        i++;
    }
    *out = w;
    *n = cnt;
    return true;
}

/* Every stored part of the upload, ascending (at most 10,000). */
static bool load_parts(cf_s3_req *q, cf_part_info **out, size_t *n)
{
    cf_part_info *all = NULL;
    size_t cnt = 0;
    uint32_t after = 0;
    bool more = true;
    while (more) {
        cf_part_info *page = NULL;
        size_t np = 0;
        cf_rc rc =
            cf_meta_call(q->s3->meta, part_list, q->bucket, q->key, cf_s3_query(q, "uploadId"),
                         after, LIST_MAX, q->arena, &page, &np, &more);
        if (rc != CF_OK) {
            cf_s3_error(q, rc == CF_ENOTFOUND ? upload_missing(q) : cf_s3_from_rc(rc, "part list"),
                        NULL);
            return false;
        }
        if (np == 0 || cnt + np > CF_S3_MAX_PARTS)
            break;
        if (all == NULL) {
            all = cf_arena_alloc(q->arena, CF_S3_MAX_PARTS * sizeof *all);
            if (all == NULL) {
                cf_s3_error(q, CF_S3_InternalError, NULL);
                return false;
            }
        }
        memcpy(all + cnt, page, np * sizeof *page);
        cnt += np;
        after = page[np - 1].number;
    }
    *out = all;
    *n = cnt;
    return true;
}

/* Headers of the object: the upload's, its checksum settings replaced by the value. */
static cf_header *object_headers(cf_s3_req *q, const cf_upload_info *u, cf_ck_alg alg,
                                 cf_ck_type type, const char *value, size_t *n)
{
    cf_header *hs = cf_arena_alloc(q->arena, (u->nheaders + 2) * sizeof *hs);
    size_t k = 0;
    if (hs == NULL)
        return NULL;
    for (size_t i = 0; i < u->nheaders; i++)
        if (!cf_str_starts_c(u->headers[i].name, "x-amz-checksum-"))
            hs[k++] = u->headers[i];
    if (alg != CF_CK_NONE) {
        hs[k].name = cf_str_c(cf_ck_header(alg));
        hs[k++].value = cf_arena_str(q->arena, cf_str_c(value));
        hs[k++] = (cf_header){CF_STR(CK_TYPE_HEADER), cf_str_c(cf_ck_type_name(type))};
        if (hs[k - 2].value.p == NULL)
            return NULL;
    }
    *n = k;
    return hs;
}

/* The whole-object checksum the client may send along with the type: both must agree with
 * the upload's. Answers the error itself. */
static bool check_object_checksum(cf_s3_req *q, cf_ck_alg alg, cf_ck_type type, const char *value)
{
    cf_http_req *r = q->http;
    cf_str t = cf_str_trim(cf_http_header(r, CK_TYPE_HEADER));
    if (t.p != NULL && alg != CF_CK_NONE && cf_ck_type_from_name(t) != type) {
        cf_s3_errorf(q, CF_S3_InvalidRequest,
                     "The upload was created using the %s checksum mode. The complete request "
                     "must use the same checksum mode.",
                     cf_ck_type_name(type));
        return false;
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        cf_ck_alg a = cf_ck_from_header(r->headers[i].name);
        if (a == CF_CK_NONE || alg == CF_CK_NONE)
            continue;
        if (a != alg) {
            char want[16], got[16];
            lower_name(cf_ck_name(alg), want);
            lower_name(cf_ck_name(a), got);
            cf_s3_errorf(q, CF_S3_InvalidRequest,
                         "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
                         "checksum Type: %s",
                         want, got);
            return false;
        }
        if (!cf_str_eq_c(cf_str_trim(r->headers[i].value), value)) {
            cf_s3_error(q, CF_S3_BadDigest,
                        "The checksum you specified did not match the calculated checksum.");
            return false;
        }
    }
    return true;
}

void cf_s3_complete_upload_begin(cf_s3_req *q)
{
    /* Fail before reading a body for an upload that is not there. */
    cf_upload_info u;
    (void)load_upload(q, &u);
}

void cf_s3_complete_upload(cf_s3_req *q)
{
    cf_upload_info u;
    cf_ck_alg alg;
    cf_ck_type type;
    wanted *w = NULL;
    cf_part_info *parts = NULL;
    size_t nw = 0, np = 0, j = 0;
    uint64_t total = 0;
    cf_put_cond cond;
    cf_hash *md5 = NULL;
    cf_ck_mp mp = {.type = CF_CK_TYPE_NONE};
    bool mp_on = false;
    char ckv[CF_CK_MP_B64_MAX] = "";
    cf_s3err e = CF_S3_OK;

    if (!cf_s3_put_conditions(q, &cond) || !load_upload(q, &u))
        return;
    upload_checksum(&u, &alg, &type);
    if (!parse_complete(q, alg, &w, &nw) || !load_parts(q, &parts, &np))
        return;
    cf_segment *segs = cf_arena_alloc(q->arena, nw * sizeof *segs);
    md5 = cf_hash_new(CF_HASH_MD5);
    if (segs == NULL || md5 == NULL) {
        e = CF_S3_InternalError;
        goto out;
    }
    if (alg != CF_CK_NONE) {
        if (cf_ck_mp_init(&mp, alg, type) != CF_OK) {
            e = CF_S3_InternalError;
            goto out;
        }
        mp_on = true;
    }
    for (size_t i = 0; i < nw; i++) {
        while (j < np && parts[j].number < w[i].number)
            j++;
        const cf_part_info *p = j < np && parts[j].number == w[i].number ? &parts[j] : NULL;
        uint8_t bin[16];
        if (p == NULL || !cf_str_ieq(w[i].etag, p->etag) ||
            (w[i].checksum.p != NULL && !cf_str_eq(w[i].checksum, p->checksum))) {
            e = CF_S3_InvalidPart;
            goto out;
        }
        if (i + 1 < nw && p->size < CF_S3_MIN_PART_SIZE) {
            e = CF_S3_EntityTooSmall;
            goto out;
        }
        if (!cf_str_hex_decode(p->etag, bin, sizeof bin)) {
            cf_error("s3: part %u of upload %.*s has a malformed ETag", p->number,
                     CF_STR_FMT(u.upload_id));
            e = CF_S3_InternalError;
            goto out;
        }
        cf_hash_update(md5, bin, sizeof bin);
        if (mp_on && cf_ck_mp_add_b64(&mp, p->checksum, p->size) != CF_OK) {
            cf_error("s3: part %u of upload %.*s has no usable %s checksum", p->number,
                     CF_STR_FMT(u.upload_id), cf_ck_name(alg));
            e = CF_S3_InternalError;
            goto out;
        }
        total += p->size;
        memcpy(segs[i].blob_id, p->blob_id, sizeof segs[i].blob_id);
        segs[i].size = p->size;
        segs[i].etag = p->etag;
        segs[i].checksum = p->checksum;
    }
    if (total > q->s3->max_object_size) {
        e = CF_S3_EntityTooLarge;
        goto out;
    }
    if (mp_on) {
        cf_ck_mp_final_b64(&mp, ckv);
        mp_on = false;
        if (!check_object_checksum(q, alg, type, ckv))
            goto out;
    }

    uint8_t digest[16];
    char hex[33];
    cf_hash_final(md5, digest);
    cf_hex_encode(digest, 16, hex);
    char *etag = cf_arena_printf(q->arena, "%s-%zu", hex, nw);
    cf_object_info o = {
        .bucket = q->bucket,
        .key = q->key,
        .size = total,
        .etag = cf_str_c(etag),
        .mtime_ms = cf_now_ms(),
        .segments = segs,
        .nsegments = nw,
    };
    o.headers = object_headers(q, &u, alg, type, ckv, &o.nheaders);
    if (etag == NULL || o.headers == NULL) {
        e = CF_S3_InternalError;
        goto out;
    }
    cf_rc rc = cf_meta_call(q->s3->meta, upload_complete, &o, u.upload_id, &cond);
    switch (rc) {
    case CF_OK:
        break;
    case CF_ECONFLICT:
        e = CF_S3_PreconditionFailed;
        goto out;
    case CF_ENOTFOUND:
        e = upload_missing(q);
        goto out;
    case CF_ETOOBIG:
        e = CF_S3_QuotaExceeded;
        goto out;
    case CF_EINVAL: /* a part changed under us */
        e = CF_S3_InvalidPart;
        goto out;
    default:
        e = cf_s3_from_rc(rc, "upload complete");
        goto out;
    }
    wake_gc(q);

    cf_buf b, loc;
    cf_str host = cf_http_header(q->http, "host");
    cf_buf_init(&loc, 16u << 10);
    /* The request's own path names the object in either addressing style. */
    cf_buf_printf(&loc, "http://%.*s%.*s", CF_STR_FMT(host), CF_STR_FMT(q->http->path));
    cf_buf_init(&b, 32u << 10);
    cf_buf_append_c(&b, CF_XML_DECL "<CompleteMultipartUploadResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem(&b, "Location", cf_buf_str(&loc));
    cf_xml_elem(&b, "Bucket", q->bucket);
    cf_xml_elem(&b, "Key", q->key);
    xml_etag(&b, o.etag);
    if (alg != CF_CK_NONE) {
        xml_checksum(&b, alg, cf_str_c(ckv));
        cf_xml_elem_c(&b, "ChecksumType", cf_ck_type_name(type));
    }
    cf_buf_append_c(&b, "</CompleteMultipartUploadResult>");
    cf_buf_free(&loc);
    cf_s3_respond_xml(q, 200, &b);
out:
    if (e != CF_S3_OK)
        cf_s3_error(q, e, NULL);
    if (mp_on)
        cf_ck_mp_free(&mp);
    cf_hash_free(md5);
}

/* ---- AbortMultipartUpload ---- */

void cf_s3_abort_upload(cf_s3_req *q)
{
    cf_str id = cf_s3_query(q, "uploadId");
    cf_rc rc = CF_ENOTFOUND;
    if (id.len > 0 && id.len <= UPLOAD_ID_MAX)
        rc = cf_meta_call(q->s3->meta, upload_abort, q->bucket, q->key, id);
    if (rc != CF_OK) {
        cf_s3_error(q, rc == CF_ENOTFOUND ? upload_missing(q) : cf_s3_from_rc(rc, "upload abort"),
                    NULL);
        return;
    }
    wake_gc(q);
    cf_http_respond_empty(q->http, 204);
}

/* ---- ListParts ---- */

/* A listing's optional integer parameter; answers InvalidArgument and returns false. */
static bool query_uint(cf_s3_req *q, const char *name, uint64_t dflt, uint64_t max, uint64_t *out)
{
    cf_str v = cf_s3_query(q, name);
    *out = dflt;
    if (v.p == NULL)
        return true;
    if (!cf_str_to_u64(v, out)) {
        cf_s3_errorf(q, CF_S3_InvalidArgument, "Provided %s not an integer or within integer range",
                     name);
        return false;
    }
    if (*out > max)
        *out = max;
    return true;
}

void cf_s3_list_parts(cf_s3_req *q)
{
    cf_upload_info u;
    cf_ck_alg alg;
    cf_ck_type type;
    uint64_t max, marker;
    cf_part_info *parts = NULL;
    size_t n = 0;
    bool truncated = false;

    if (!query_uint(q, "max-parts", LIST_MAX, LIST_MAX, &max) ||
        !query_uint(q, "part-number-marker", 0, CF_S3_MAX_PARTS, &marker) || !load_upload(q, &u))
        return;
    upload_checksum(&u, &alg, &type);
    cf_rc rc = cf_meta_call(q->s3->meta, part_list, q->bucket, q->key, u.upload_id,
                            (uint32_t)marker, (uint32_t)max, q->arena, &parts, &n, &truncated);
    if (rc != CF_OK) {
        cf_s3_error(q, rc == CF_ENOTFOUND ? upload_missing(q) : cf_s3_from_rc(rc, "part list"),
                    NULL);
        return;
    }
    cf_buf b;
    cf_buf_init(&b, 4u << 20);
    cf_buf_append_c(&b, CF_XML_DECL "<ListPartsResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem(&b, "Bucket", q->bucket);
    cf_xml_elem(&b, "Key", q->key);
    cf_xml_elem(&b, "UploadId", u.upload_id);
    cf_xml_elem_u64(&b, "PartNumberMarker", marker);
    cf_xml_elem_u64(&b, "NextPartNumberMarker", n > 0 ? parts[n - 1].number : marker);
    cf_xml_elem_u64(&b, "MaxParts", max);
    cf_xml_elem_c(&b, "IsTruncated", truncated ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
        char t[25];
        cf_s3_time_iso(parts[i].mtime_ms, t);
        cf_xml_open(&b, "Part");
        xml_checksum(&b, alg, parts[i].checksum);
        xml_etag(&b, parts[i].etag);
        cf_xml_elem_c(&b, "LastModified", t);
        cf_xml_elem_u64(&b, "PartNumber", parts[i].number);
        cf_xml_elem_u64(&b, "Size", parts[i].size);
        cf_xml_close(&b, "Part");
    }
    xml_owner(&b, "Initiator", u.initiator);
    xml_owner(&b, "Owner", cf_s3_owner_id(q));
    cf_xml_elem_c(&b, "StorageClass", "STANDARD");
    if (alg != CF_CK_NONE) {
        cf_xml_elem_c(&b, "ChecksumAlgorithm", cf_ck_name(alg));
        cf_xml_elem_c(&b, "ChecksumType", cf_ck_type_name(type));
    }
    cf_buf_append_c(&b, "</ListPartsResult>");
    cf_s3_respond_xml(q, 200, &b);
}

/* ---- ListMultipartUploads ---- */

static void elem_enc(cf_buf *b, const char *name, cf_str v, bool url)
{
    cf_buf e;
    if (!url) {
        cf_xml_elem(b, name, v);
        return;
    }
    cf_buf_init(&e, 8 * v.len + 16);
    cf_sigv4_uri_encode(v, true, &e);
    cf_xml_elem(b, name, cf_buf_str(&e));
    cf_buf_free(&e);
}

void cf_s3_list_uploads(cf_s3_req *q)
{
    cf_str prefix = cf_s3_query(q, "prefix"), delim = cf_s3_query(q, "delimiter");
    cf_str km = cf_s3_query(q, "key-marker"), um = cf_s3_query(q, "upload-id-marker");
    cf_str enc = cf_s3_query(q, "encoding-type");
    cf_upload_list_result res;
    uint64_t max;
    bool url = false;

    if (!query_uint(q, "max-uploads", LIST_MAX, LIST_MAX, &max))
        return;
    if (enc.p != NULL) {
        if (!cf_str_eq_c(enc, "url")) {
            cf_s3_error(q, CF_S3_InvalidArgument, "Invalid Encoding Method specified in Request");
            return;
        }
        url = true;
    }
    cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    /* The upload id marker means something only after a key marker, as in S3. */
    cf_upload_list_params p = {
        .prefix = prefix,
        .delimiter = delim,
        .key_marker = km,
        .upload_id_marker = km.len > 0 ? um : CF_STR_NULL,
        .max_uploads = (uint32_t)max,
    };
    cf_rc rc = cf_meta_call(q->s3->meta, upload_list, q->bucket, &p, q->arena, &res);
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "upload list"), NULL);
        return;
    }
    cf_buf b;
    cf_str owner = cf_s3_owner_id(q);
    cf_buf_init(&b, 16u << 20);
    cf_buf_append_c(&b, CF_XML_DECL "<ListMultipartUploadsResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem(&b, "Bucket", q->bucket);
    elem_enc(&b, "KeyMarker", km, url);
    cf_xml_elem(&b, "UploadIdMarker", p.upload_id_marker);
    elem_enc(&b, "NextKeyMarker", res.truncated ? res.next_key_marker : CF_STR_NULL, url);
    cf_xml_elem(&b, "NextUploadIdMarker", res.truncated ? res.next_upload_id_marker : CF_STR_NULL);
    if (delim.p != NULL)
        elem_enc(&b, "Delimiter", delim, url);
    elem_enc(&b, "Prefix", prefix, url);
    cf_xml_elem_u64(&b, "MaxUploads", max);
    cf_xml_elem_c(&b, "IsTruncated", res.truncated ? "true" : "false");
    if (url)
        cf_xml_elem_c(&b, "EncodingType", "url");
    for (size_t i = 0; i < res.nuploads; i++) {
        const cf_upload_info *u = &res.uploads[i];
        cf_ck_alg alg;
        cf_ck_type type;
        char t[25];
        upload_checksum(u, &alg, &type);
        cf_s3_time_iso(u->initiated_ms, t);
        cf_xml_open(&b, "Upload");
        elem_enc(&b, "Key", u->key, url);
        cf_xml_elem(&b, "UploadId", u->upload_id);
        xml_owner(&b, "Initiator", u->initiator);
        xml_owner(&b, "Owner", owner);
        cf_xml_elem_c(&b, "StorageClass", "STANDARD");
        cf_xml_elem_c(&b, "Initiated", t);
        if (alg != CF_CK_NONE) {
            cf_xml_elem_c(&b, "ChecksumAlgorithm", cf_ck_name(alg));
            cf_xml_elem_c(&b, "ChecksumType", cf_ck_type_name(type));
        }
        cf_xml_close(&b, "Upload");
    }
    for (size_t i = 0; i < res.nprefixes; i++) {
        cf_xml_open(&b, "CommonPrefixes");
        elem_enc(&b, "Prefix", res.prefixes[i], url);
        cf_xml_close(&b, "CommonPrefixes");
    }
    cf_buf_append_c(&b, "</ListMultipartUploadsResult>");
    cf_s3_respond_xml(q, 200, &b);
}
