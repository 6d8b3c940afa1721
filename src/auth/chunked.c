/* aws-chunked decoding, one state machine fed with whatever slices the socket yields.
 *
 * Wire format (AWS S3 API, "Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks" and "... Including Trailing Headers"):
 *   signed:   hex-size ";chunk-signature=" 64hex CRLF data CRLF ... "0;chunk-signature=" sig CRLF
 *   unsigned: hex-size CRLF data CRLF ... "0" CRLF
 *   then CRLF, or in trailer modes the trailer lines "name:value" CRLF (signed mode ending with
 *   "x-amz-trailer-signature:" 64hex CRLF) and a CRLF.
 * Chunk string to sign: "AWS4-HMAC-SHA256-PAYLOAD" \n date \n scope \n previous-signature \n
 * hex(sha256("")) \n hex(sha256(chunk data)).
 * Trailer string to sign: "AWS4-HMAC-SHA256-TRAILER" \n date \n scope \n previous-signature \n
 * hex(sha256(canonical trailers)), the canonical trailers being "name:value\n" per trailer with
 * lowercase names, trimmed values, sorted by name, the signature line excluded. This is what
 * the SDKs sign: smithy-rs aws-sigv4 sign_trailer (sorts, lowercases, trims),
 * aws-sdk-java-v2 SigV4TrailerProvider (canonical header string of the trailers) and the .NET
 * SDK's ConstructSignedTrailersChunk (sorted, canonicalised headers); it reproduces the
 * documented example (trailer x-amz-checksum-crc32c:sOO8/Q==, signature d81f82fc...).
 *
 * Tolerated variants, both seen from clients and harmless since the signature covers the
 * canonical form: a blank line between the last chunk and the trailers, and a trailer line
 * ending "\n\r\n" (its LF-terminated canonical line followed by CRLF). */
#include "auth/chunked.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"

#define CHUNK_LINE_MAX 4096               /* chunk-size line, without its CRLF */
#define TRAILER_MAX    ((size_t)16 << 10) /* whole trailer section, CRLFs included */
#define CHUNK_SIZE_MAX ((uint64_t)1 << 40)
#define MAX_TRAILERS   64
#define SIG_LEN        64
#define AMZ_DATE_LEN   16

static const char empty_sha256_hex[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char sig_ext[] = ";chunk-signature=";
static const char trailer_sig_name[] = "x-amz-trailer-signature";

typedef enum state {
    ST_LINE,    /* reading a chunk-size line */
    ST_DATA,    /* passing chunk data through */
    ST_DATA_CR, /* CRLF after chunk data */
    ST_DATA_LF,
    ST_END_CR, /* CRLF after the last chunk (no trailer) */
    ST_END_LF,
    ST_TRAILER,  /* reading trailer lines */
    ST_SOFT_END, /* trailer mode, blank line right after the last chunk: may be the end */
    ST_DONE,
} state;

struct cf_chunked {
    cf_arena *a;
    bool signed_chunks;
    bool trailer;
    state st;
    cf_s3err err; /* sticky */

    uint8_t key[32];
    char date[AMZ_DATE_LEN + 1];
    cf_str scope;
    char prev[SIG_LEN + 1]; /* signature of the previous chunk (the seed at first) */
    char want[SIG_LEN + 1]; /* signature the current chunk claims */
    char *sts;              /* room for one string to sign */
    size_t sts_cap;

    char *line; /* the line being read, CR included */
    size_t line_len;

    uint64_t remaining; /* of the current chunk's data */
    uint64_t decoded;
    cf_hash *h; /* sha256 of the current chunk's data (signed mode) */

    size_t trailer_bytes;
    bool soft_end_seen; /* the blank-line variant was used once */
    bool skip_crlf;     /* the previous trailer line ended in a bare LF */
    cf_kv *trailers;
    size_t ntrailers;
    bool have_trailer_sig;
    char trailer_sig[SIG_LEN + 1];
};

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static void chunked_cleanup(void *data)
{
    cf_chunked *c = data;
    cf_hash_free(c->h);
    c->h = NULL;
    wipe(c->key, sizeof(c->key));
}

static bool lower_hex64(const char *p, size_t n)
{
    if (n != SIG_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

cf_chunked *cf_chunked_new(cf_arena *a, const cf_chunked_params *params)
{
    cf_chunked *c = cf_arena_alloc(a, sizeof(*c));
    int64_t t;
    if (!c)
        return NULL;
    c->a = a;
    c->signed_chunks = params->signed_chunks;
    c->trailer = params->trailer;
    c->st = ST_LINE;
    c->err = CF_S3_OK;
    c->line = cf_arena_alloc(a, TRAILER_MAX + 1);
    c->trailers = cf_arena_alloc(a, MAX_TRAILERS * sizeof(*c->trailers));
    if (!c->line || !c->trailers)
        return NULL;
    if (c->signed_chunks) {
        if (!params->signing_key)
            return NULL;
        memcpy(c->key, params->signing_key, sizeof(c->key));
        /* The string to sign wants the ISO 8601 basic form even if the request had Date. */
        if (cf_time_parse_amz(params->amz_date, &t) || cf_time_parse_http(params->amz_date, &t))
            cf_time_amz(t, c->date);
        c->scope = cf_arena_str(a, params->scope);
        if (!c->scope.p)
            return NULL;
        memcpy(c->prev, params->seed_signature.p,
               params->seed_signature.len < SIG_LEN ? params->seed_signature.len : SIG_LEN);
        /* Longest string to sign: the PAYLOAD one, with three 64-hex lines. */
        c->sts_cap = 32 + AMZ_DATE_LEN + c->scope.len + 3 * (SIG_LEN + 1) + 8;
        c->sts = cf_arena_alloc(a, c->sts_cap);
        if (!c->sts)
            return NULL;
    }
    if (!cf_arena_cleanup_add(a, chunked_cleanup, c))
        return NULL;
    return c;
}

/* Signs "<algo>\n<date>\n<scope>\n<prev>\n<tail>" and compares with claimed; on a match the
 * new signature becomes prev. */
static bool check_sig(cf_chunked *c, const char *algo, const char *tail, const char *claimed)
{
    char sig[SIG_LEN + 1];
    int n = snprintf(c->sts, c->sts_cap, "%s\n%s\n%.*s\n%s\n%s", algo, c->date,
                     CF_STR_FMT(c->scope), c->prev, tail);
    uint8_t mac[CF_SHA256_LEN];
    if (n < 0 || (size_t)n >= c->sts_cap)
        return false;
    cf_hmac_sha256(c->key, sizeof(c->key), c->sts, (size_t)n, mac);
    cf_hex_encode(mac, sizeof(mac), sig);
    if (!cf_ct_eq(sig, SIG_LEN, claimed, strlen(claimed)))
        return false;
    memcpy(c->prev, sig, sizeof(sig));
    return true;
}

static cf_s3err verify_chunk(cf_chunked *c, const char *data_hash_hex)
{
    char tail[2 * (SIG_LEN + 1)];
    snprintf(tail, sizeof(tail), "%s\n%s", empty_sha256_hex, data_hash_hex);
    return check_sig(c, "AWS4-HMAC-SHA256-PAYLOAD", tail, c->want) ? CF_S3_OK
                                                                   : CF_S3_SignatureDoesNotMatch;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "hex-size[;chunk-signature=<64hex>]" (CR already stripped). */
static cf_s3err chunk_line(cf_chunked *c, const char *p, size_t n)
{
    uint64_t size = 0;
    size_t i = 0;
    for (; i < n && p[i] != ';'; i++) {
        int v = hexval(p[i]);
        if (v < 0 || i >= 16)
            return CF_S3_InvalidArgument;
        size = size << 4 | (uint64_t)v;
    }
    if (i == 0 || size > CHUNK_SIZE_MAX)
        return CF_S3_InvalidArgument;
    if (c->signed_chunks) {
        size_t el = sizeof(sig_ext) - 1;
        if (n - i != el + SIG_LEN || memcmp(p + i, sig_ext, el) != 0 ||
            !lower_hex64(p + i + el, SIG_LEN))
            return CF_S3_InvalidArgument;
        memcpy(c->want, p + i + el, SIG_LEN);
        c->want[SIG_LEN] = '\0';
    } else if (i != n) {
        return CF_S3_InvalidArgument; /* no extensions in unsigned mode */
    }
    c->remaining = size;
    if (size > 0) {
        if (c->signed_chunks) {
            c->h = cf_hash_new(CF_HASH_SHA256);
            if (!c->h)
                return CF_S3_InternalError;
        }
        c->st = ST_DATA;
        return CF_S3_OK;
    }
    /* The final, empty chunk. */
    if (c->signed_chunks && verify_chunk(c, empty_sha256_hex) != CF_S3_OK)
        return CF_S3_SignatureDoesNotMatch;
    c->st = c->trailer ? ST_TRAILER : ST_END_CR;
    return CF_S3_OK;
}

static int kv_cmp(const void *x, const void *y)
{
    const cf_kv *a = x, *b = y;
    return cf_str_cmp(a->name, b->name);
}

/* End of the trailer section: check the trailer signature in signed mode. */
static cf_s3err trailers_done(cf_chunked *c)
{
    cf_buf canon;
    char hash[2 * CF_SHA256_LEN + 1];
    cf_s3err e = CF_S3_SignatureDoesNotMatch;

    cf_buf_init(&canon, TRAILER_MAX);
    if (c->ntrailers > 1)
        qsort(c->trailers, c->ntrailers, sizeof(*c->trailers), kv_cmp);
    if (!c->signed_chunks) {
        e = CF_S3_OK;
        goto out;
    }
    if (!c->have_trailer_sig)
        goto out;
    for (size_t i = 0; i < c->ntrailers; i++) {
        if (cf_buf_append_str(&canon, c->trailers[i].name) != CF_OK ||
            cf_buf_append_ch(&canon, ':') != CF_OK ||
            cf_buf_append_str(&canon, c->trailers[i].value) != CF_OK ||
            cf_buf_append_ch(&canon, '\n') != CF_OK) {
            e = CF_S3_InternalError;
            goto out;
        }
    }
    cf_sha256_hex(canon.p ? canon.p : "", canon.len, hash);
    if (!check_sig(c, "AWS4-HMAC-SHA256-TRAILER", hash, c->trailer_sig))
        goto out;
    e = CF_S3_OK;
out:
    cf_buf_free(&canon);
    if (e == CF_S3_OK)
        c->st = ST_DONE;
    return e;
}

static bool token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch));
}

/* One trailer line (terminator stripped); bare_lf: it ended in LF alone. */
static cf_s3err trailer_line(cf_chunked *c, const char *p, size_t n, bool bare_lf)
{
    cf_str line = cf_str_make(p, n), name, value;
    char *lname;

    if (c->skip_crlf) {
        /* The CRLF that follows a "...\n" trailer line. */
        c->skip_crlf = false;
        return n == 0 && !bare_lf ? CF_S3_OK : CF_S3_InvalidArgument;
    }
    if (n == 0) {
        if (bare_lf)
            return CF_S3_InvalidArgument;
        if (c->ntrailers == 0 && !c->have_trailer_sig && !c->soft_end_seen) {
            c->st = ST_SOFT_END;
            return CF_S3_OK;
        }
        return trailers_done(c);
    }
    if (bare_lf)
        c->skip_crlf = true;
    if (!cf_str_cut(line, ':', &name, &value) || name.len == 0)
        return CF_S3_InvalidArgument;
    for (size_t i = 0; i < name.len; i++)
        if (!token_char(name.p[i]))
            return CF_S3_InvalidArgument;
    value = cf_str_trim(value);
    for (size_t i = 0; i < value.len; i++)
        if ((unsigned char)value.p[i] < 0x20 && value.p[i] != '\t')
            return CF_S3_InvalidArgument;
    lname = cf_arena_strndup(c->a, name.p, name.len);
    if (!lname)
        return CF_S3_InternalError;
    for (size_t i = 0; i < name.len; i++)
        if (lname[i] >= 'A' && lname[i] <= 'Z')
            lname[i] = (char)(lname[i] + 32);
    name = cf_str_make(lname, name.len);

    if (cf_str_eq_c(name, trailer_sig_name)) {
        if (!c->signed_chunks || c->have_trailer_sig || !lower_hex64(value.p, value.len))
            return CF_S3_InvalidArgument;
        memcpy(c->trailer_sig, value.p, SIG_LEN);
        c->trailer_sig[SIG_LEN] = '\0';
        c->have_trailer_sig = true;
        return CF_S3_OK;
    }
    if (c->have_trailer_sig || c->ntrailers == MAX_TRAILERS)
        return CF_S3_InvalidArgument; /* the signature line comes last */
    for (size_t i = 0; i < c->ntrailers; i++)
        if (cf_str_eq(c->trailers[i].name, name))
            return CF_S3_InvalidArgument;
    c->trailers[c->ntrailers].name = name;
    c->trailers[c->ntrailers].value = cf_arena_str(c->a, value);
    if (!c->trailers[c->ntrailers].value.p)
        return CF_S3_InternalError;
    c->ntrailers++;
    return CF_S3_OK;
}

/* A complete line sits in c->line (LF consumed, CR possibly last). */
static cf_s3err line_done(cf_chunked *c)
{
    bool crlf = c->line_len > 0 && c->line[c->line_len - 1] == '\r';
    size_t n = crlf ? c->line_len - 1 : c->line_len;
    cf_s3err e;
    if (c->st == ST_LINE) {
        if (!crlf)
            return CF_S3_InvalidArgument;
        e = chunk_line(c, c->line, n);
    } else {
        c->trailer_bytes += c->line_len + 1;
        e = trailer_line(c, c->line, n, !crlf);
    }
    c->line_len = 0;
    return e;
}

static cf_s3err feed_line(cf_chunked *c, const char *p, size_t n, size_t *used)
{
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    /* Room left for this line: the CR counts, the LF is checked as it is consumed. */
    size_t budget = TRAILER_MAX - c->trailer_bytes; /* trailer_bytes never exceeds the max */
    size_t limit = c->st == ST_LINE ? CHUNK_LINE_MAX + 1 : (budget > 0 ? budget - 1 : 0);
    if (take > limit - c->line_len)
        return CF_S3_InvalidArgument;
    memcpy(c->line + c->line_len, p, take);
    c->line_len += take;
    *used = take;
    if (!nl)
        return CF_S3_OK;
    *used = take + 1;
    return line_done(c);
}

static cf_s3err data_done(cf_chunked *c)
{
    uint8_t d[CF_SHA256_LEN];
    char hex[2 * CF_SHA256_LEN + 1];
    c->st = ST_DATA_CR;
    if (!c->signed_chunks)
        return CF_S3_OK;
    cf_hash_final(c->h, d);
    cf_hash_free(c->h);
    c->h = NULL;
    cf_hex_encode(d, sizeof(d), hex);
    return verify_chunk(c, hex);
}

static cf_s3err expect(cf_chunked *c, char got, char want, state next)
{
    if (got != want)
        return CF_S3_InvalidArgument;
    c->st = next;
    return CF_S3_OK;
}

cf_s3err cf_chunked_feed(cf_chunked *c, const char *p, size_t n, cf_chunked_sink sink, void *ctx)
{
    size_t i = 0;
    while (c->err == CF_S3_OK && i < n) {
        size_t used = 1;
        switch (c->st) {
        case ST_LINE:
        case ST_TRAILER:
            c->err = feed_line(c, p + i, n - i, &used);
            break;
        case ST_DATA:
            used = n - i < c->remaining ? n - i : (size_t)c->remaining;
            if (c->h)
                cf_hash_update(c->h, p + i, used);
            c->remaining -= used;
            c->decoded += used;
            if (sink)
                c->err = sink(ctx, p + i, used);
            if (c->err == CF_S3_OK && c->remaining == 0)
                c->err = data_done(c);
            break;
        case ST_DATA_CR:
            c->err = expect(c, p[i], '\r', ST_DATA_LF);
            break;
        case ST_DATA_LF:
            c->err = expect(c, p[i], '\n', ST_LINE);
            break;
        case ST_END_CR:
            c->err = expect(c, p[i], '\r', ST_END_LF);
            break;
        case ST_END_LF:
            c->err = expect(c, p[i], '\n', ST_DONE);
            break;
        case ST_SOFT_END:
            /* More after the blank line: it was the separator variant, trailers follow. */
            c->soft_end_seen = true;
            c->st = ST_TRAILER;
            used = 0;
            break;
        case ST_DONE:
            c->err = CF_S3_InvalidArgument; /* bytes after the end of the body */
            break;
        }
        i += used;
    }
    return c->err;
}

cf_s3err cf_chunked_finish(cf_chunked *c)
{
    if (c->err != CF_S3_OK)
        return c->err;
    if (c->st == ST_DONE)
        return CF_S3_OK;
    if (c->st == ST_SOFT_END) {
        /* Chunks ended with a blank line and nothing else: no trailers. A signed trailer
         * was promised, though, and never signed. */
        c->err = c->signed_chunks ? CF_S3_SignatureDoesNotMatch : CF_S3_OK;
        if (c->err == CF_S3_OK)
            c->st = ST_DONE;
        return c->err;
    }
    c->err = CF_S3_IncompleteBody;
    return c->err;
}

size_t cf_chunked_trailers(const cf_chunked *c, const cf_kv **out)
{
    *out = c->trailers;
    return c->st == ST_DONE ? c->ntrailers : 0;
}

uint64_t cf_chunked_decoded_len(const cf_chunked *c)
{
    return c->decoded;
}
