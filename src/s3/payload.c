/* The body pipeline every operation's body goes through before the operation sees it:
 * aws-chunked decoding with chunk signatures, the payload SHA-256, Content-MD5 and
 * x-amz-checksum-* (header or trailer) verification.
 *
 * Long bodies are hashed off the request thread: bytes collect in one of two blocks; a full
 * block goes to the hashing pool (MD5, SHA-256, checksum) and, on this thread, to the
 * operation, while the other block fills. MD5 alone costs about as much CPU as reading and
 * writing the bytes, so one upload then uses two cores, and the operation writes 256 KiB at a
 * time instead of whatever the socket read returned. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "s3/s3_int.h"

#define PIPE_MIN (512u << 10)   /* shorter bodies are hashed inline, with no copy */
#define PIPE_BLOCK (256u << 10)
#define PIPE_MAX 64u            /* pipelines at once (32 MiB of blocks); others hash inline */

struct cf_s3_pipe {
    cf_work work; /* first: the pool hands back &work */
    cf_s3_req *q;
    char *blk[2];
    int cur;     /* the block filling */
    size_t fill;
    const char *job_p; /* the block the pool hashes */
    size_t job_n;
};

/* The digests over decoded body bytes; SHA-256 (which covers the bytes as sent) only where
 * those are the same bytes, i.e. without aws-chunked. */
static void hash_bytes(cf_s3_req *q, const char *p, size_t n, bool sha256)
{
    if (sha256 && q->sha256 != NULL)
        cf_hash_update(q->sha256, p, n);
    if (q->md5 != NULL)
        cf_hash_update(q->md5, p, n);
    if (q->ck.alg != CF_CK_NONE)
        cf_ck_update(&q->ck, p, n);
}

static void pipe_hash(cf_work *w)
{
    cf_s3_pipe *pp = (cf_s3_pipe *)w;
    hash_bytes(pp->q, pp->job_p, pp->job_n, true);
}

static cf_s3err pass_on(cf_s3_req *q, const char *p, size_t n)
{
    if (q->op->body != NULL) {
        q->op->body(q, p, n);
        return q->failed ? CF_S3_InternalError : CF_S3_OK;
    }
    if (cf_buf_append(&q->body, p, n) != CF_OK)
        return CF_S3_MaxMessageLengthExceeded;
    return CF_S3_OK;
}

/* Hands the filled part of the current block to the pool and to the operation. */
static cf_s3err pipe_flush(cf_s3_req *q)
{
    cf_s3_pipe *pp = q->pipe;
    if (pp->fill == 0)
        return CF_S3_OK;
    /* The hashes are sequential: the previous block's must be done first. */
    cf_workq_wait(q->s3->hashq, &pp->work);
    const char *p = pp->blk[pp->cur];
    size_t n = pp->fill;
    pp->job_p = p;
    pp->job_n = n;
    cf_workq_submit(q->s3->hashq, &pp->work);
    pp->cur ^= 1;
    pp->fill = 0;
    return pass_on(q, p, n);
}

static cf_s3err pipe_add(cf_s3_req *q, const char *p, size_t n)
{
    cf_s3_pipe *pp = q->pipe;
    while (n > 0) {
        size_t k = PIPE_BLOCK - pp->fill;
        if (k > n)
            k = n;
        memcpy(pp->blk[pp->cur] + pp->fill, p, k);
        pp->fill += k;
        p += k;
        n -= k;
        if (pp->fill == PIPE_BLOCK) {
            cf_s3err e = pipe_flush(q);
            if (e != CF_S3_OK)
                return e;
        }
    }
    return CF_S3_OK;
}

/* A pipeline for a long body, if the pool exists and the budget allows; otherwise (also out
 * of memory) the body is hashed inline, which is only slower. */
static void pipe_start(cf_s3_req *q)
{
    cf_s3 *s3 = q->s3;
    if (s3->hashq == NULL || q->op->body == NULL || !q->has_decoded_len ||
        q->decoded_len < PIPE_MIN)
        return;
    if (atomic_fetch_add(&s3->pipes, 1) >= PIPE_MAX) {
        atomic_fetch_sub(&s3->pipes, 1);
        return;
    }
    cf_s3_pipe *pp = calloc(1, sizeof *pp);
    if (pp != NULL) {
        pp->blk[0] = malloc(PIPE_BLOCK);
        pp->blk[1] = malloc(PIPE_BLOCK);
    }
    if (pp == NULL || pp->blk[0] == NULL || pp->blk[1] == NULL) {
        if (pp != NULL) {
            free(pp->blk[0]);
            free(pp->blk[1]);
        }
        free(pp);
        atomic_fetch_sub(&s3->pipes, 1);
        return;
    }
    pp->work.fn = pipe_hash;
    pp->q = q;
    q->pipe = pp;
}

void cf_s3_payload_release(cf_s3_req *q)
{
    cf_s3_pipe *pp = q->pipe;
    if (pp == NULL)
        return;
    cf_workq_wait(q->s3->hashq, &pp->work);
    free(pp->blk[0]);
    free(pp->blk[1]);
    free(pp);
    q->pipe = NULL;
    atomic_fetch_sub(&q->s3->pipes, 1);
}

static cf_s3err deliver(void *ctx, const char *p, size_t n)
{
    cf_s3_req *q = ctx;
    q->body_len += n;
    if (q->has_decoded_len && q->body_len > q->decoded_len)
        return CF_S3_IncompleteBody;
    if (q->pipe != NULL)
        return pipe_add(q, p, n);
    hash_bytes(q, p, n, false);
    return pass_on(q, p, n);
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
    pipe_start(q);
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
    if (q->pipe != NULL) {
        e = pipe_flush(q);
        cf_workq_wait(q->s3->hashq, &q->pipe->work);
        if (e != CF_S3_OK)
            return e;
    }
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
    if (q->sha256 != NULL && q->pipe == NULL)
        cf_hash_update(q->sha256, p, n);
    if (q->chunked != NULL)
        return cf_chunked_feed(q->chunked, p, n, deliver, q);
    return deliver(q, p, n);
}
