/* PutObject (streamed into a staged blob, published only after every check and the metadata
 * commit), CopyObject and DeleteObject. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/cond.h"
#include "s3/s3_int.h"

typedef struct put_state {
    cf_s3_stage stage;
    cf_header *headers;
    size_t nheaders;
} put_state;

static const char *const stored_headers[] = {
    "content-type", "content-encoding", "content-disposition", "content-language",
    "cache-control", "expires",
};

/* Content-Encoding without the transport-only "aws-chunked" token, as S3 stores it. */
static cf_str strip_aws_chunked(cf_arena *a, cf_str v)
{
    cf_buf b;
    cf_str rest = v, tok, out;
    cf_buf_init(&b, v.len + 1);
    while (rest.len > 0) {
        cf_str_cut(rest, ',', &tok, &rest);
        tok = cf_str_trim(tok);
        if (tok.len == 0 || cf_str_ieq_c(tok, "aws-chunked"))
            continue;
        if (b.len)
            cf_buf_append_c(&b, ",");
        cf_buf_append_str(&b, tok);
    }
    out = cf_arena_str(a, cf_buf_str(&b));
    cf_buf_free(&b);
    return out;
}

cf_s3err cf_s3_collect_headers(cf_s3_req *q, cf_ck_alg ck, cf_str ck_value, cf_header **out,
                               size_t *n)
{
    return cf_s3_collect_headers_from(q, q->http->headers, q->http->nheaders, ck, ck_value, out,
                                      n);
}

cf_s3err cf_s3_collect_headers_from(cf_s3_req *q, const cf_kv *in, size_t nin, cf_ck_alg ck,
                                    cf_str ck_value, cf_header **out, size_t *n)
{
    size_t cap = nin + 3, cnt = 0, meta_bytes = 0;
    bool tagged = false;
    cf_header *hs = cf_arena_alloc(q->arena, cap * sizeof *hs);
    if (hs == NULL)
        return CF_S3_InternalError;
    for (size_t i = 0; i < nin; i++) {
        cf_str name = in[i].name, value = cf_str_trim(in[i].value);
        bool keep = false;
        for (size_t j = 0; j < sizeof stored_headers / sizeof stored_headers[0]; j++)
            if (cf_str_ieq_c(name, stored_headers[j]))
                keep = true;
        if (cf_str_ieq_c(name, "content-encoding")) {
            value = strip_aws_chunked(q->arena, value);
            if (value.len == 0)
                continue;
        }
        if (name.len > 11 && cf_str_ieq_c(cf_str_sub(name, 0, 11), "x-amz-meta-")) {
            keep = true;
            /* S3 counts the user-defined names (without the prefix) and values. */
            meta_bytes += name.len - 11 + value.len;
        }
        if (cf_str_ieq_c(name, "x-amz-tagging")) {
            /* Validated and stored in one canonical form; nothing when empty. */
            cf_s3err te = cf_s3_tagging_header(q, value, &value);
            if (te != CF_S3_OK)
                return te;
            tagged = true;
            keep = value.len > 0;
        }
        if (!keep)
            continue;
        char *lower = cf_arena_strndup(q->arena, name.p, name.len);
        if (lower == NULL)
            return CF_S3_InternalError;
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        /* Repeated x-amz-meta-* headers fold into one comma-separated value. */
        size_t k;
        for (k = 0; k < cnt; k++)
            if (cf_str_eq_c(hs[k].name, lower))
                break;
        if (k < cnt) {
            char *joined = cf_arena_printf(q->arena, "%.*s,%.*s", CF_STR_FMT(hs[k].value),
                                           CF_STR_FMT(value));
            if (joined == NULL)
                return CF_S3_InternalError;
            hs[k].value = cf_str_c(joined);
            continue;
        }
        hs[cnt].name = cf_str_c(lower);
        hs[cnt].value = value;
        cnt++;
    }
    if (meta_bytes > CF_S3_MAX_USER_META)
        return CF_S3_MetadataTooLarge;
    /* Presigners hoist x-amz-* headers into the query, and S3 honours the tags there. */
    cf_str qtags = cf_s3_query(q, "x-amz-tagging");
    if (!tagged && qtags.p != NULL) {
        cf_s3err te = cf_s3_tagging_header(q, qtags, &qtags);
        if (te != CF_S3_OK)
            return te;
        if (qtags.len > 0) {
            hs[cnt].name = CF_STR("x-amz-tagging");
            hs[cnt].value = qtags;
            cnt++;
        }
    }
    if (ck != CF_CK_NONE && ck_value.len > 0) {
        hs[cnt].name = cf_str_c(cf_ck_header(ck));
        hs[cnt].value = ck_value;
        cnt++;
    }
    *out = hs;
    *n = cnt;
    return CF_S3_OK;
}

void cf_s3_remove_blob(cf_s3_req *q, const char *id)
{
    cf_blob_store *bs = q->s3->blob;
    /* Segmented objects queue many blobs and report none here: wake the collector anyway. */
    if (q->s3->gc != NULL) {
        cf_s3_gc_wake(q->s3->gc);
        return;
    }
    if (id[0] == 0)
        return;
    cf_rc rc = bs->ops->remove(bs, id);
    if (rc == CF_OK)
        rc = cf_meta_call(q->s3->meta, gc_done, id);
    if (rc != CF_OK)
        cf_warn("s3: blob %s stays queued for removal: %s", id, cf_rc_str(rc));
}

cf_s3err cf_s3_commit_object(cf_s3_req *q, cf_object_info *o, const cf_put_cond *cond)
{
    cf_blob_store *bs = q->s3->blob;
    char replaced[CF_BLOB_ID_LEN + 1] = "";
    cf_rc rc = cf_meta_call(q->s3->meta, object_put, o, cond, replaced);
    if (rc != CF_OK) {
        if (o->blob_id[0])
            bs->ops->discard(bs, o->blob_id);
        if (rc == CF_ECONFLICT)
            return CF_S3_PreconditionFailed;
        if (rc == CF_ENOTFOUND)
            return CF_S3_NoSuchBucket;
        if (rc == CF_ETOOBIG)
            return CF_S3_QuotaExceeded;
        return cf_s3_from_rc(rc, "object commit");
    }
    /* Committed: the object exists from here on, whatever happens to the publish step (start-up
     * recovery finishes a publish a crash interrupted, and readers look in staging too). */
    if (o->blob_id[0]) {
        rc = bs->ops->publish(bs, o->blob_id);
        if (rc != CF_OK)
            cf_warn("s3: publish of blob %s deferred: %s", o->blob_id, cf_rc_str(rc));
    }
    cf_s3_remove_blob(q, replaced);
    return CF_S3_OK;
}

static void respond_put(cf_s3_req *q, const cf_object_info *o)
{
    char etag[80];
    snprintf(etag, sizeof etag, "\"%.*s\"", CF_STR_FMT(o->etag));
    cf_http_add_header(q->http, "ETag", etag);
    for (size_t i = 0; i < o->nheaders; i++)
        if (cf_str_starts_c(o->headers[i].name, "x-amz-checksum-"))
            cf_http_add_header_str(q->http, cf_ck_header(cf_ck_from_header(o->headers[i].name)),
                                   o->headers[i].value);
    cf_http_respond_empty(q->http, 200);
}

bool cf_s3_put_conditions(cf_s3_req *q, cf_put_cond *c)
{
    cf_str inm = cf_http_header(q->http, "if-none-match");
    cf_str im = cf_http_header(q->http, "if-match");
    memset(c, 0, sizeof *c);
    if (inm.p != NULL) {
        if (!cf_str_eq_c(cf_str_trim(inm), "*")) {
            cf_s3_error(q, CF_S3_NotImplemented,
                        "If-None-Match on writes supports only the value *.");
            return false;
        }
        c->if_none_match_any = true;
    }
    if (im.p != NULL) {
        cf_str v = cf_str_trim(im);
        if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
            v = cf_str_sub(v, 1, v.len - 2);
        c->if_match_etag = v;
    }
    return true;
}

bool cf_s3_stage_begin(cf_s3_req *q, cf_s3_stage *st, uint64_t max)
{
    cf_http_req *r = q->http;
    cf_blob_store *bs = q->s3->blob;
    st->max = max;
    if (!r->has_content_length && !cf_http_has_header(r, "x-amz-decoded-content-length")) {
        cf_s3_error(q, CF_S3_MissingContentLength, NULL);
        return false;
    }
    if (q->has_decoded_len && q->decoded_len > max) {
        cf_s3_error(q, CF_S3_EntityTooLarge, NULL);
        return false;
    }
    if (st->allow_inline && q->has_decoded_len && q->decoded_len <= CF_S3_INLINE_MAX) {
        /* The same reserve blob writes keep for metadata commits (so DELETE still works on a
         * full disk) applies to bodies stored in the metadata. */
        cf_rc rc = bs->ops->room(bs, q->decoded_len);
        if (rc != CF_OK) {
            cf_s3_error(q, cf_s3_from_rc(rc, "inline body"), NULL);
            return false;
        }
        st->inline_cap = (size_t)q->decoded_len;
        st->inline_p = cf_arena_alloc(q->arena, st->inline_cap + 1);
        if (st->inline_p == NULL) {
            cf_s3_error(q, CF_S3_InternalError, "out of memory");
            return false;
        }
        st->is_inline = true;
        return true;
    }
    cf_rc rc = bs->ops->writer_open(bs, &st->w, st->blob_id);
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "blob create"), NULL);
        return false;
    }
    return true;
}

void cf_s3_stage_body(cf_s3_req *q, cf_s3_stage *st, const char *p, size_t n)
{
    cf_blob_store *bs = q->s3->blob;
    if (q->body_len > st->max) {
        cf_s3_error(q, CF_S3_EntityTooLarge, NULL);
        return;
    }
    if (st->is_inline) {
        /* The payload layer stops a body longer than announced before it gets here. */
        if (n > st->inline_cap - st->inline_len) {
            cf_s3_error(q, CF_S3_IncompleteBody, NULL);
            return;
        }
        memcpy(st->inline_p + st->inline_len, p, n);
        st->inline_len += n;
        return;
    }
    cf_rc rc = bs->ops->write(st->w, p, n);
    if (rc != CF_OK)
        cf_s3_error(q, cf_s3_from_rc(rc, "blob write"), NULL);
}

cf_s3err cf_s3_stage_finish(cf_s3_req *q, cf_s3_stage *st)
{
    cf_blob_store *bs = q->s3->blob;
    if (st->is_inline)
        return CF_S3_OK; /* durable with the metadata commit that carries it */
    cf_rc rc = bs->ops->finish(st->w);
    st->w = NULL;
    if (rc != CF_OK)
        return cf_s3_from_rc(rc, "blob finish");
    st->staged = true;
    return CF_S3_OK;
}

void cf_s3_stage_done(cf_s3_req *q, cf_s3_stage *st)
{
    cf_blob_store *bs = q->s3->blob;
    if (st->w != NULL)
        bs->ops->abort(st->w);
    st->w = NULL;
    if (st->staged)
        bs->ops->discard(bs, st->blob_id);
    st->staged = false;
}

void cf_s3_put_object_begin(cf_s3_req *q)
{
    put_state *st = cf_arena_alloc(q->arena, sizeof *st);
    if (st == NULL) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    q->opstate = st;
    if (!q->http->has_content_length &&
        !cf_http_has_header(q->http, "x-amz-decoded-content-length")) {
        cf_s3_error(q, CF_S3_MissingContentLength, NULL);
        return;
    }
    if (q->has_decoded_len && q->decoded_len > q->s3->max_object_size) {
        cf_s3_error(q, CF_S3_EntityTooLarge, NULL);
        return;
    }
    cf_s3err e = cf_s3_collect_headers(q, CF_CK_NONE, CF_STR_NULL, &st->headers, &st->nheaders);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    /* Fail fast before reading a body into a bucket that does not exist. */
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    st->stage.allow_inline = true;
    cf_s3_stage_begin(q, &st->stage, q->s3->max_object_size);
}

void cf_s3_put_object_body(cf_s3_req *q, const char *p, size_t n)
{
    put_state *st = q->opstate;
    cf_s3_stage_body(q, &st->stage, p, n);
}

void cf_s3_put_object_complete(cf_s3_req *q)
{
    put_state *st = q->opstate;
    cf_put_cond cond;
    char etag[33];

    if (!cf_s3_put_conditions(q, &cond))
        return;
    cf_s3err e = cf_s3_stage_finish(q, &st->stage);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    if (q->ck.alg != CF_CK_NONE) {
        /* Store the verified checksum beside the other headers. */
        st->headers[st->nheaders].name = cf_str_c(cf_ck_header(q->ck.alg));
        st->headers[st->nheaders].value = q->ck_expected;
        st->nheaders++;
    }
    cf_hex_encode(q->md5_digest, 16, etag);
    cf_object_info o = {
        .bucket = q->bucket,
        .key = q->key,
        .size = q->body_len,
        .etag = cf_str_c(etag),
        .mtime_ms = cf_now_ms(),
        .headers = st->headers,
        .nheaders = st->nheaders,
    };
    if (st->stage.is_inline)
        o.inline_body = cf_str_make(st->stage.inline_p, st->stage.inline_len);
    else
        memcpy(o.blob_id, st->stage.blob_id, sizeof o.blob_id);
    st->stage.staged = false; /* commit_object discards on failure itself */
    e = cf_s3_commit_object(q, &o, &cond);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    respond_put(q, &o);
}

void cf_s3_put_object_done(cf_s3_req *q, bool completed)
{
    put_state *st = q->opstate;
    (void)completed;
    if (st == NULL)
        return;
    cf_s3_stage_done(q, &st->stage);
}
