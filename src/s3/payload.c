/* The body pipeline every operation's body goes through before the operation sees it:
 * aws-chunked decoding with chunk signatures, the payload SHA-256, Content-MD5 and
 * x-amz-checksum-* (header or trailer) verification. */
#include <string.h>

#include "core/log.h"
#include "s3/s3_int.h"

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
bool cf_s3_payload_setup(cf_s3_req *q)
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
    if (cf_s3_is_hex64(ph)) {
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
    /* A buffered body too large to fit is normally read to its end before the answer, so the
     * client, busy sending, sees the error and not a reset. One so large that the http
     * layer would stop discarding it (8 MiB) anyway is refused before a byte is read. */
    if (q->op->body == NULL && q->op->body_max > 0 && q->has_decoded_len &&
        q->decoded_len > (uint64_t)q->op->body_max + (8u << 20)) {
        cf_s3_error(q, CF_S3_MaxMessageLengthExceeded, NULL);
        return false;
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
cf_s3err cf_s3_payload_verify(cf_s3_req *q)
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

cf_s3err cf_s3_payload_feed(cf_s3_req *q, const char *p, size_t n)
{
    if (q->sha256 != NULL)
        cf_hash_update(q->sha256, p, n);
    if (q->chunked != NULL)
        return cf_chunked_feed(q->chunked, p, n, deliver, q);
    return deliver(q, p, n);
}
