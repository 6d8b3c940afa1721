/* aws-chunked decoding: the S3 documentation's examples (signed chunks; signed chunks with a
 * signed trailer), fed whole, byte by byte and in random slices; tampering, truncation, bad
 * framing and limits; the unsigned-trailer mode; vectors built here with the documented
 * algorithm (an independent few lines below, not the decoder's code). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "core/checksum.h"
#include "core/clock.h"
#include "core/crypto.h"

#define EMPTY  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE   "20130524T000000Z"
#define SCOPE  "20130524/us-east-1/s3/aws4_request"

/* "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
 * Chunks": 66560 bytes of 'a' in chunks of 65536, 1024 and 0. */
#define DOC_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define DOC_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define DOC_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define DOC_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
/* "Signature calculations for trailing headers (chunked uploads)": same data, trailer
 * x-amz-checksum-crc32c. */
#define TRL_SEED "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define TRL_SIG1 "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
#define TRL_SIG2 "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
#define TRL_SIG3 "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
#define TRL_CRC  "sOO8/Q=="
#define TRL_TSIG "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"

#define DOC_LEN 66560

/* ---- helpers ---- */

typedef struct sink {
    char *p;
    size_t len, cap;
    size_t calls;
    size_t fail_after; /* 0: never */
} sink;

static cf_s3err sink_fn(void *ctx, const char *p, size_t n)
{
    sink *s = ctx;
    s->calls++;
    if (s->fail_after && s->len + n > s->fail_after)
        return CF_S3_EntityTooLarge;
    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2;
        char *np = realloc(s->p, cap);
        assert_non_null(np);
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return CF_S3_OK;
}

static uint8_t g_key[32];

static void doc_key(void)
{
    cf_sigv4_signing_key(CF_STR(SECRET), CF_STR("20130524"), CF_STR("us-east-1"), CF_STR("s3"),
                         g_key);
}

static cf_chunked *mk(cf_arena *a, bool signed_chunks, bool trailer, const char *seed)
{
    cf_chunked_params p = {
        .signed_chunks = signed_chunks,
        .trailer = trailer,
        .signing_key = g_key,
        .amz_date = CF_STR(DATE),
        .scope = CF_STR(SCOPE),
        .seed_signature = cf_str_c(seed),
    };
    cf_chunked *c = cf_chunked_new(a, &p);
    assert_non_null(c);
    return c;
}

typedef struct result {
    cf_s3err feed, finish;
    sink out;
} result;

/* Decodes wire fed in slices of `step` bytes (0: random slices from seed rnd). */
static result decode(bool signed_chunks, bool trailer, const char *seed, const char *wire,
                     size_t len, size_t step, unsigned rnd)
{
    cf_arena *a = cf_arena_new(0);
    cf_chunked *c = mk(a, signed_chunks, trailer, seed);
    result r = {CF_S3_OK, CF_S3_OK, {NULL, 0, 0, 0, 0}};
    size_t i = 0;
    while (i < len && r.feed == CF_S3_OK) {
        size_t n = step;
        if (step == 0) {
            rnd = rnd * 1103515245u + 12345u;
            n = 1 + (rnd >> 8) % 9000;
        }
        if (n > len - i)
            n = len - i;
        r.feed = cf_chunked_feed(c, wire + i, n, sink_fn, &r.out);
        i += n;
    }
    r.finish = cf_chunked_finish(c);
    if (r.feed == CF_S3_OK && r.finish == CF_S3_OK)
        assert_int_equal(cf_chunked_decoded_len(c), r.out.len);
    cf_arena_destroy(a);
    return r;
}

static void result_free(result *r)
{
    free(r->out.p);
}

/* Appends one framed chunk. */
static void put_chunk(cf_buf *b, const char *data, size_t n, const char *sig)
{
    if (sig)
        assert_int_equal(cf_buf_printf(b, "%zx;chunk-signature=%s\r\n", n, sig), CF_OK);
    else
        assert_int_equal(cf_buf_printf(b, "%zx\r\n", n), CF_OK);
    assert_int_equal(cf_buf_append(b, data, n), CF_OK);
    if (n)
        assert_int_equal(cf_buf_append_c(b, "\r\n"), CF_OK);
}

static char *doc_data(void)
{
    char *d = malloc(DOC_LEN);
    assert_non_null(d);
    memset(d, 'a', DOC_LEN);
    return d;
}

static void doc_wire(cf_buf *b, const char *s1, const char *s2, const char *s3, const char *tail)
{
    char *d = doc_data();
    cf_buf_init(b, 1 << 20);
    put_chunk(b, d, 65536, s1);
    put_chunk(b, d, 1024, s2);
    put_chunk(b, d, 0, s3);
    assert_int_equal(cf_buf_append_c(b, tail), CF_OK);
    free(d);
}

/* The documented algorithm, written out independently for building vectors. */
static void hmac_hex(const char *msg, char out[65])
{
    uint8_t mac[32];
    cf_hmac_sha256(g_key, 32, msg, strlen(msg), mac);
    cf_hex_encode(mac, 32, out);
}

static void ref_chunk_sig(const char *prev, const char *data, size_t n, char out[65])
{
    char h[65], sts[512];
    cf_sha256_hex(data, n, h);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", DATE, SCOPE, prev,
             EMPTY, h);
    hmac_hex(sts, out);
}

static void ref_trailer_sig(const char *prev, const char *canonical, char out[65])
{
    char h[65], sts[512];
    cf_sha256_hex(canonical, strlen(canonical), h);
    snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", DATE, SCOPE, prev, h);
    hmac_hex(sts, out);
}

/* A small signed body: chunks "hello", " wor", "ld" and the final one; last_sig gets the
 * final chunk's signature (for trailers). */
#define SMALL_SEED "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static void small_signed(cf_buf *b, char last_sig[65])
{
    static const char *const parts[] = {"hello", " wor", "ld", ""};
    char prev[65], sig[65];
    snprintf(prev, sizeof(prev), "%s", SMALL_SEED);
    cf_buf_init(b, 1 << 16);
    for (size_t i = 0; i < 4; i++) {
        ref_chunk_sig(prev, parts[i], strlen(parts[i]), sig);
        put_chunk(b, parts[i], strlen(parts[i]), sig);
        memcpy(prev, sig, sizeof(sig));
    }
    memcpy(last_sig, prev, 65);
}

/* ---- the documentation's examples ---- */

/* The seed signature itself comes from the documented PUT request's headers. */
static void test_doc_seed(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_sigv4_auth au;
    cf_kv h[] = {
        {CF_STR("Host"), CF_STR("s3.amazonaws.com")},
        {CF_STR("x-amz-date"), CF_STR(DATE)},
        {CF_STR("x-amz-storage-class"), CF_STR("REDUCED_REDUNDANCY")},
        {CF_STR("x-amz-content-sha256"), CF_STR(CF_PAYLOAD_STREAMING)},
        {CF_STR("Content-Encoding"), CF_STR("aws-chunked")},
        {CF_STR("x-amz-decoded-content-length"), CF_STR("66560")},
        {CF_STR("Content-Length"), CF_STR("66824")},
    };
    cf_sigv4_request r = {
        .method = CF_STR("PUT"),
        .path = CF_STR("/examplebucket/chunkObject.txt"),
        .headers = h,
        .nheaders = sizeof(h) / sizeof(h[0]),
        .payload_hash = CF_STR(CF_PAYLOAD_STREAMING),
    };
    uint8_t key[32];
    int64_t now;
    (void)state;
    assert_int_equal(
        cf_sigv4_parse_header(CF_STR("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                                     "us-east-1/s3/aws4_request,SignedHeaders=content-encoding;"
                                     "content-length;host;x-amz-content-sha256;x-amz-date;"
                                     "x-amz-decoded-content-length;x-amz-storage-class,"
                                     "Signature=" DOC_SEED),
                              CF_STR(DATE), &au),
        CF_S3_OK);
    assert_true(cf_time_parse_amz(CF_STR(DATE), &now));
    cf_sigv4_verify_in in = {&r, &au, CF_STR(SECRET), CF_STR("us-east-1"), now, NULL};
    assert_int_equal(cf_sigv4_verify(&in, key, NULL, NULL), CF_S3_OK);
    doc_key();
    assert_memory_equal(key, g_key, 32);

    /* And the body it announces decodes with that key. */
    cf_buf w;
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    assert_int_equal(w.len, 66824); /* the documented Content-Length */
    result res = decode(true, false, DOC_SEED, w.p, w.len, w.len, 0);
    assert_int_equal(res.feed, CF_S3_OK);
    assert_int_equal(res.finish, CF_S3_OK);
    result_free(&res);
    cf_buf_free(&w);
    cf_arena_destroy(a);
}

static void check_doc_ok(const cf_buf *w, bool trailer, const char *seed, size_t step, unsigned rnd)
{
    result r = decode(true, trailer, seed, w->p, w->len, step, rnd);
    if (r.feed != CF_S3_OK || r.finish != CF_S3_OK)
        print_error("step %zu: feed %s finish %s\n", step, cf_s3err_code(r.feed),
                    cf_s3err_code(r.finish));
    assert_int_equal(r.feed, CF_S3_OK);
    assert_int_equal(r.finish, CF_S3_OK);
    assert_int_equal(r.out.len, DOC_LEN);
    for (size_t i = 0; i < DOC_LEN; i++)
        if (r.out.p[i] != 'a')
            fail_msg("byte %zu", i);
    /* Data is passed through, never buffered: byte-wise feeding reaches the sink byte-wise. */
    if (step == 1)
        assert_int_equal(r.out.calls, DOC_LEN);
    result_free(&r);
}

static void test_doc_signed(void **state)
{
    cf_buf w;
    (void)state;
    doc_key();
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    check_doc_ok(&w, false, DOC_SEED, w.len, 0);
    check_doc_ok(&w, false, DOC_SEED, 1, 0);
    check_doc_ok(&w, false, DOC_SEED, 7, 0);
    for (unsigned seed = 1; seed <= 20; seed++)
        check_doc_ok(&w, false, DOC_SEED, 0, seed);
    cf_buf_free(&w);
}

static void test_doc_signed_tampered(void **state)
{
    cf_buf w;
    result r;
    (void)state;
    doc_key();
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");

    /* A data byte of the first chunk. */
    w.p[87 + 100] = 'b';
    r = decode(true, false, DOC_SEED, w.p, w.len, 4096, 0);
    assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
    assert_int_equal(r.finish, CF_S3_SignatureDoesNotMatch); /* sticky */
    assert_true(r.out.len <= 65536);                         /* stopped at the first chunk */
    result_free(&r);
    w.p[87 + 100] = 'a';
    /* A data byte of the second chunk. */
    w.p[w.len - 100] = 'b';
    r = decode(true, false, DOC_SEED, w.p, w.len, 1, 0);
    assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
    result_free(&r);
    cf_buf_free(&w);

    /* Each signature altered, one at a time. */
    static const char *const s[3] = {DOC_SIG1, DOC_SIG2, DOC_SIG3};
    for (int k = 0; k < 3; k++) {
        char alt[3][65];
        for (int j = 0; j < 3; j++)
            snprintf(alt[j], 65, "%s", s[j]);
        alt[k][10] = alt[k][10] == '0' ? '1' : '0';
        doc_wire(&w, alt[0], alt[1], alt[2], "\r\n");
        r = decode(true, false, DOC_SEED, w.p, w.len, w.len, 0);
        assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
        result_free(&r);
        cf_buf_free(&w);
    }
    /* Another seed (the request's signature) breaks the chain at once. */
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    r = decode(true, false, TRL_SEED, w.p, w.len, w.len, 0);
    assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
    result_free(&r);
    /* Chunks swapped: the second chunk's signature in first position. */
    cf_buf_free(&w);
    doc_wire(&w, DOC_SIG2, DOC_SIG1, DOC_SIG3, "\r\n");
    r = decode(true, false, DOC_SEED, w.p, w.len, w.len, 0);
    assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
    result_free(&r);
    cf_buf_free(&w);
}

static void test_doc_trailer(void **state)
{
    cf_buf w;
    uint8_t crc[4];
    char b64[16];
    char *d = doc_data();
    (void)state;
    doc_key();
    /* The published trailer value is the CRC32C of the data. */
    uint32_t v = cf_crc32c(0, d, DOC_LEN);
    crc[0] = (uint8_t)(v >> 24);
    crc[1] = (uint8_t)(v >> 16);
    crc[2] = (uint8_t)(v >> 8);
    crc[3] = (uint8_t)v;
    cf_b64_encode(crc, 4, b64);
    assert_string_equal(b64, TRL_CRC);
    free(d);

    doc_wire(&w, TRL_SIG1, TRL_SIG2, TRL_SIG3,
             "x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n");
    check_doc_ok(&w, true, TRL_SEED, w.len, 0);
    check_doc_ok(&w, true, TRL_SEED, 1, 0);
    for (unsigned seed = 1; seed <= 10; seed++)
        check_doc_ok(&w, true, TRL_SEED, 0, seed);

    /* The trailers are there, names lowercase, signature line not among them. */
    cf_arena *a = cf_arena_new(0);
    cf_chunked *c = mk(a, true, true, TRL_SEED);
    sink s = {0};
    const cf_kv *t;
    assert_int_equal(cf_chunked_feed(c, w.p, w.len, sink_fn, &s), CF_S3_OK);
    assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
    assert_int_equal(cf_chunked_trailers(c, &t), 1);
    assert_true(cf_str_eq_c(t[0].name, "x-amz-checksum-crc32c"));
    assert_true(cf_str_eq_c(t[0].value, TRL_CRC));
    assert_int_equal(cf_chunked_decoded_len(c), DOC_LEN);
    free(s.p);
    cf_arena_destroy(a);
    cf_buf_free(&w);

    /* Variants clients send: a blank line before the trailers, "\n\r\n" after a trailer,
     * a capitalised name, spaces around the value. */
    static const char *const ok_tails[] = {
        "\r\nx-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n",
        "x-amz-checksum-crc32c:" TRL_CRC "\n\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n",
        "X-Amz-Checksum-CRC32C: " TRL_CRC " \r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(ok_tails) / sizeof(ok_tails[0]); i++) {
        doc_wire(&w, TRL_SIG1, TRL_SIG2, TRL_SIG3, ok_tails[i]);
        check_doc_ok(&w, true, TRL_SEED, w.len, 0);
        check_doc_ok(&w, true, TRL_SEED, 1, 0);
        cf_buf_free(&w);
    }

    static const struct {
        const char *tail;
        cf_s3err feed, finish;
    } bad[] = {
        /* value changed */
        {"x-amz-checksum-crc32c:sOO8/R==\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\n",
         CF_S3_SignatureDoesNotMatch, CF_S3_SignatureDoesNotMatch},
        /* signature changed */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:"
         "081f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n",
         CF_S3_SignatureDoesNotMatch, CF_S3_SignatureDoesNotMatch},
        /* an unsigned extra trailer */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-meta-x:1\r\nx-amz-trailer-signature:" TRL_TSIG
         "\r\n\r\n",
         CF_S3_SignatureDoesNotMatch, CF_S3_SignatureDoesNotMatch},
        /* no signature */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\n\r\n", CF_S3_SignatureDoesNotMatch,
         CF_S3_SignatureDoesNotMatch},
        {"\r\n", CF_S3_OK, CF_S3_SignatureDoesNotMatch},
        /* a trailer after the signature line */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG
         "\r\nx-amz-meta-x:1\r\n\r\n",
         CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        /* signature not 64 lowercase hex */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:D81F\r\n\r\n",
         CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        /* truncated */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n", CF_S3_OK,
         CF_S3_IncompleteBody},
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG, CF_S3_OK,
         CF_S3_IncompleteBody},
        {"", CF_S3_OK, CF_S3_IncompleteBody},
        /* extra bytes after the end */
        {"x-amz-checksum-crc32c:" TRL_CRC "\r\nx-amz-trailer-signature:" TRL_TSIG "\r\n\r\nx",
         CF_S3_InvalidArgument, CF_S3_InvalidArgument},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        doc_wire(&w, TRL_SIG1, TRL_SIG2, TRL_SIG3, bad[i].tail);
        for (size_t step = 1; step <= w.len; step = step == 1 ? w.len : step + 1) {
            result r = decode(true, true, TRL_SEED, w.p, w.len, step, 0);
            if (r.feed != bad[i].feed || r.finish != bad[i].finish)
                print_error("case %zu step %zu: feed %s finish %s\n", i, step,
                            cf_s3err_code(r.feed), cf_s3err_code(r.finish));
            assert_int_equal(r.feed, bad[i].feed);
            assert_int_equal(r.finish, bad[i].finish);
            result_free(&r);
        }
        cf_buf_free(&w);
    }
}

/* ---- vectors built with the documented algorithm ---- */

static void test_signed_small(void **state)
{
    cf_buf w;
    char last[65];
    (void)state;
    doc_key();
    small_signed(&w, last);
    assert_int_equal(cf_buf_append_c(&w, "\r\n"), CF_OK);

    /* Every split into two slices. */
    for (size_t cut = 0; cut <= w.len; cut++) {
        cf_arena *a = cf_arena_new(0);
        cf_chunked *c = mk(a, true, false, SMALL_SEED);
        sink s = {0};
        assert_int_equal(cf_chunked_feed(c, w.p, cut, sink_fn, &s), CF_S3_OK);
        assert_int_equal(cf_chunked_feed(c, w.p + cut, w.len - cut, sink_fn, &s), CF_S3_OK);
        assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
        assert_int_equal(s.len, 11);
        assert_memory_equal(s.p, "hello world", 11);
        free(s.p);
        cf_arena_destroy(a);
    }
    /* Every truncation: what was fed is fine, but the body is incomplete. */
    for (size_t cut = 0; cut < w.len; cut++) {
        result r = decode(true, false, SMALL_SEED, w.p, cut, 1, 0);
        assert_int_equal(r.feed, CF_S3_OK);
        assert_int_equal(r.finish, CF_S3_IncompleteBody);
        result_free(&r);
    }
    /* Every single-byte corruption is refused, one way or another. */
    for (size_t i = 0; i < w.len; i++) {
        char saved = w.p[i];
        w.p[i] = saved == 'x' ? 'y' : 'x';
        result r = decode(true, false, SMALL_SEED, w.p, w.len, w.len, 0);
        assert_true(r.feed != CF_S3_OK || r.finish != CF_S3_OK);
        assert_true(r.finish != CF_S3_OK);
        result_free(&r);
        w.p[i] = saved;
    }
    /* Extra bytes after the end. */
    assert_int_equal(cf_buf_append_c(&w, "\r\n"), CF_OK);
    result r = decode(true, false, SMALL_SEED, w.p, w.len, 1, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    cf_buf_free(&w);
}

/* Signed trailer with two trailers sent unsorted, in mixed case, with spaces: signed over the
 * canonical "name:value\n" lines, sorted by lowercase name. */
static void test_signed_trailer_built(void **state)
{
    cf_buf w;
    char last[65], tsig[65];
    const char *canonical = "x-amz-checksum-crc32:DUoRhQ==\nx-amz-meta-z:last word\n";
    (void)state;
    doc_key();
    small_signed(&w, last);
    ref_trailer_sig(last, canonical, tsig);
    assert_int_equal(cf_buf_printf(&w,
                                   "X-Amz-Meta-Z:  last word \r\n"
                                   "x-amz-checksum-crc32:DUoRhQ==\r\n"
                                   "x-amz-trailer-signature:%s\r\n\r\n",
                                   tsig),
                     CF_OK);
    for (size_t step = 1; step <= w.len; step++) {
        cf_arena *a = cf_arena_new(0);
        cf_chunked *c = mk(a, true, true, SMALL_SEED);
        sink s = {0};
        const cf_kv *t;
        cf_s3err e = CF_S3_OK;
        for (size_t i = 0; i < w.len && e == CF_S3_OK; i += step)
            e = cf_chunked_feed(c, w.p + i, w.len - i < step ? w.len - i : step, sink_fn, &s);
        assert_int_equal(e, CF_S3_OK);
        assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
        assert_int_equal(cf_chunked_trailers(c, &t), 2);
        assert_true(cf_str_eq_c(t[0].name, "x-amz-checksum-crc32"));
        assert_true(cf_str_eq_c(t[0].value, "DUoRhQ=="));
        assert_true(cf_str_eq_c(t[1].name, "x-amz-meta-z"));
        assert_true(cf_str_eq_c(t[1].value, "last word"));
        free(s.p);
        cf_arena_destroy(a);
    }
    cf_buf_free(&w);

    /* Signed over the raw (unsorted) order instead: refused. */
    small_signed(&w, last);
    ref_trailer_sig(last, "x-amz-meta-z:last word\nx-amz-checksum-crc32:DUoRhQ==\n", tsig);
    assert_int_equal(cf_buf_printf(&w,
                                   "x-amz-meta-z:last word\r\nx-amz-checksum-crc32:DUoRhQ==\r\n"
                                   "x-amz-trailer-signature:%s\r\n\r\n",
                                   tsig),
                     CF_OK);
    result r = decode(true, true, SMALL_SEED, w.p, w.len, w.len, 0);
    assert_int_equal(r.feed, CF_S3_SignatureDoesNotMatch);
    result_free(&r);
    cf_buf_free(&w);

    /* No trailers but the signature (an empty canonical block). */
    small_signed(&w, last);
    ref_trailer_sig(last, "", tsig);
    assert_int_equal(cf_buf_printf(&w, "x-amz-trailer-signature:%s\r\n\r\n", tsig), CF_OK);
    r = decode(true, true, SMALL_SEED, w.p, w.len, 1, 0);
    assert_int_equal(r.feed, CF_S3_OK);
    assert_int_equal(r.finish, CF_S3_OK);
    result_free(&r);
    cf_buf_free(&w);
}

/* ---- unsigned modes ---- */

static void crc32_b64(const char *data, char out[16])
{
    uLong v = crc32(0L, (const Bytef *)data, (uInt)strlen(data));
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    cf_b64_encode(b, 4, out);
}

static void test_unsigned_trailer(void **state)
{
    char crc[16], wire[256];
    (void)state;
    crc32_b64("hello world", crc);
    snprintf(wire, sizeof(wire),
             "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", crc);
    for (size_t step = 1; step <= strlen(wire); step++) {
        cf_arena *a = cf_arena_new(0);
        cf_chunked *c = mk(a, false, true, "");
        sink s = {0};
        const cf_kv *t;
        cf_s3err e = CF_S3_OK;
        size_t len = strlen(wire);
        for (size_t i = 0; i < len && e == CF_S3_OK; i += step)
            e = cf_chunked_feed(c, wire + i, len - i < step ? len - i : step, sink_fn, &s);
        assert_int_equal(e, CF_S3_OK);
        assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
        assert_int_equal(s.len, 11);
        assert_memory_equal(s.p, "hello world", 11);
        assert_int_equal(cf_chunked_trailers(c, &t), 1);
        assert_true(cf_str_eq_c(t[0].name, "x-amz-checksum-crc32"));
        assert_true(cf_str_eq_c(t[0].value, crc));
        free(s.p);
        cf_arena_destroy(a);
    }

    static const struct {
        const char *wire;
        cf_s3err feed, finish;
        size_t ntrailers;
    } cases[] = {
        {"5\r\nhello\r\n0\r\n\r\n", CF_S3_OK, CF_S3_OK, 0},
        {"5\r\nhello\r\n0\r\n\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", CF_S3_OK, CF_S3_OK, 1},
        {"5\r\nhello\r\n0\r\nX-AMZ-CHECKSUM-CRC32:NhCmhg==\r\nx-amz-meta-a: b\r\n\r\n", CF_S3_OK,
         CF_S3_OK, 2},
        {"0\r\n\r\n", CF_S3_OK, CF_S3_OK, 0},
        /* a trailer signature has nothing to be checked against here */
        {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" TRL_TSIG
         "\r\n\r\n",
         CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n", CF_S3_OK, CF_S3_IncompleteBody, 0},
        {"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==", CF_S3_OK, CF_S3_IncompleteBody, 0},
        {"5\r\nhello\r\n0\r\n", CF_S3_OK, CF_S3_IncompleteBody, 0},
        {"5\r\nhello\r\n0\r\nno-colon\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\n:v\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\nbad name:v\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\na:1\r\nA:2\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\na:1\n\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\na:1\r\n\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\n\r\n\r\n", CF_S3_OK, CF_S3_OK, 0},
        {"5\r\nhello\r\n0\r\n\r\n\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
        {"5\r\nhello\r\n0\r\na:1\r\n\r\nx", CF_S3_InvalidArgument, CF_S3_InvalidArgument, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 1000; step = step == 1 ? 1000 : step + 1) {
            result r = decode(false, true, "", cases[i].wire, strlen(cases[i].wire), step, 0);
            if (r.feed != cases[i].feed || r.finish != cases[i].finish)
                print_error("case %zu step %zu: feed %s finish %s\n", i, step,
                            cf_s3err_code(r.feed), cf_s3err_code(r.finish));
            assert_int_equal(r.feed, cases[i].feed);
            assert_int_equal(r.finish, cases[i].finish);
            result_free(&r);
        }
        if (cases[i].finish == CF_S3_OK) {
            cf_arena *a = cf_arena_new(0);
            cf_chunked *c = mk(a, false, true, "");
            const cf_kv *t;
            assert_int_equal(cf_chunked_feed(c, cases[i].wire, strlen(cases[i].wire), NULL, NULL),
                             CF_S3_OK);
            assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
            assert_int_equal(cf_chunked_trailers(c, &t), cases[i].ntrailers);
            for (size_t k = 0; k < cases[i].ntrailers; k++)
                for (size_t j = 0; j < t[k].name.len; j++)
                    assert_false(t[k].name.p[j] >= 'A' && t[k].name.p[j] <= 'Z');
            cf_arena_destroy(a);
        }
    }
}

/* Framing errors, shared by all modes. */
static void test_framing(void **state)
{
    static const struct {
        bool signed_chunks, trailer;
        const char *wire;
        cf_s3err feed, finish;
    } cases[] = {
        {false, false, "5\r\nhello\r\n0\r\n\r\n", CF_S3_OK, CF_S3_OK},
        {false, false, "A\r\n0123456789\r\n0\r\n\r\n", CF_S3_OK, CF_S3_OK},
        {false, false, "a\r\n0123456789\r\n000\r\n\r\n", CF_S3_OK, CF_S3_OK},
        {false, false, "zz\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, " 5\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5 \r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "-5\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "0x5\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5\r\nhelloX\r\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5\r\nhello\n0\r\n\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5\r\nhello\r\n0\r\n\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "5\r\nhello\r\n0\r\nx:1\r\n\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {false, false, "5;ext=1\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {false, false, "5\r\nhello\r\n0\r\n\r\n0\r\n\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {false, false, "5\r\nhel", CF_S3_OK, CF_S3_IncompleteBody},
        {false, false, "5\r\nhello\r", CF_S3_OK, CF_S3_IncompleteBody},
        {false, false, "5\r\nhello\r\n0\r\n\r", CF_S3_OK, CF_S3_IncompleteBody},
        {false, false, "", CF_S3_OK, CF_S3_IncompleteBody},
        /* 2^40 is the largest chunk; 17 digits are too many even with leading zeros. */
        {false, false, "10000000000\r\n", CF_S3_OK, CF_S3_IncompleteBody},
        {false, false, "10000000001\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "ffffffffffffffff\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {false, false, "00000000000000005\r\nhello\r\n0\r\n\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        /* Signed mode wants the extension, exactly. */
        {true, false, "5\r\nhello\r\n", CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {true, false, "5;chunk-signature=abc\r\nhello\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {true, false, "5;chunk-signature=" DOC_SIG1 "0\r\nhello\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {true, false,
         "5;chunk-signature="
         "AD80C730A21E5B8D04586A2213DD63B9A0E99E0E2307B0ADE35A65485A288648\r\nhello\r\n",
         CF_S3_InvalidArgument, CF_S3_InvalidArgument},
        {true, false, "5;chunk-sig=" DOC_SIG1 "\r\nhello\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        {true, false, "5; chunk-signature=" DOC_SIG1 "\r\nhello\r\n", CF_S3_InvalidArgument,
         CF_S3_InvalidArgument},
        /* Well-formed but wrongly signed. */
        {true, false, "5;chunk-signature=" DOC_SIG1 "\r\nhello\r\n", CF_S3_SignatureDoesNotMatch,
         CF_S3_SignatureDoesNotMatch},
        {true, false, "0;chunk-signature=" DOC_SIG1 "\r\n\r\n", CF_S3_SignatureDoesNotMatch,
         CF_S3_SignatureDoesNotMatch},
    };
    (void)state;
    doc_key();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= 1000; step = step == 1 ? 1000 : step + 1) {
            result r = decode(cases[i].signed_chunks, cases[i].trailer, DOC_SEED, cases[i].wire,
                              strlen(cases[i].wire), step, 0);
            if (r.feed != cases[i].feed || r.finish != cases[i].finish)
                print_error("case %zu (%s) step %zu: feed %s finish %s\n", i, cases[i].wire, step,
                            cf_s3err_code(r.feed), cf_s3err_code(r.finish));
            assert_int_equal(r.feed, cases[i].feed);
            assert_int_equal(r.finish, cases[i].finish);
            result_free(&r);
        }
    }
}

/* Line and trailer-section bounds: nothing grows without limit. */
static void test_limits(void **state)
{
    static char big[40000];
    result r;
    (void)state;
    doc_key();
    /* A chunk line that never ends. */
    memset(big, '0', sizeof(big));
    r = decode(false, false, "", big, sizeof(big), sizeof(big), 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    r = decode(true, false, DOC_SEED, big, 5000, 1, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    /* 4096 bytes of line content is the most; it fails here for its digits, not its length. */
    r = decode(false, false, "", big, 4097, 1, 0);
    assert_int_equal(r.feed, CF_S3_OK);
    assert_int_equal(r.finish, CF_S3_IncompleteBody);
    result_free(&r);
    r = decode(false, false, "", big, 4098, 1, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);

    /* A trailer section over 16 KiB, in one long line or many short ones. */
    cf_buf w;
    cf_buf_init(&w, 1 << 20);
    assert_int_equal(cf_buf_append_c(&w, "0\r\nx-amz-meta-big:"), CF_OK);
    memset(big, 'v', sizeof(big));
    assert_int_equal(cf_buf_append(&w, big, 17000), CF_OK);
    assert_int_equal(cf_buf_append_c(&w, "\r\n\r\n"), CF_OK);
    r = decode(false, true, "", w.p, w.len, w.len, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    cf_buf_reset(&w);
    assert_int_equal(cf_buf_append_c(&w, "0\r\n"), CF_OK);
    for (int i = 0; i < 60; i++)
        assert_int_equal(cf_buf_printf(&w, "x-amz-meta-%03d:%0280d\r\n", i, 0), CF_OK);
    assert_int_equal(cf_buf_append_c(&w, "\r\n"), CF_OK);
    r = decode(false, true, "", w.p, w.len, 7, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    /* Just under the limit is fine. */
    cf_buf_reset(&w);
    assert_int_equal(cf_buf_append_c(&w, "0\r\nx-amz-meta-big:"), CF_OK);
    size_t room = 16384 - strlen("x-amz-meta-big:") - 2 - 2;
    assert_int_equal(cf_buf_append(&w, big, room), CF_OK);
    assert_int_equal(cf_buf_append_c(&w, "\r\n\r\n"), CF_OK);
    r = decode(false, true, "", w.p, w.len, 1, 0);
    assert_int_equal(r.feed, CF_S3_OK);
    assert_int_equal(r.finish, CF_S3_OK);
    result_free(&r);
    /* One byte more is not. */
    cf_buf_reset(&w);
    assert_int_equal(cf_buf_append_c(&w, "0\r\nx-amz-meta-big:"), CF_OK);
    assert_int_equal(cf_buf_append(&w, big, room + 1), CF_OK);
    assert_int_equal(cf_buf_append_c(&w, "\r\n\r\n"), CF_OK);
    r = decode(false, true, "", w.p, w.len, 1, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    /* Too many trailers. */
    cf_buf_reset(&w);
    assert_int_equal(cf_buf_append_c(&w, "0\r\n"), CF_OK);
    for (int i = 0; i < 65; i++)
        assert_int_equal(cf_buf_printf(&w, "x-%d:1\r\n", i), CF_OK);
    assert_int_equal(cf_buf_append_c(&w, "\r\n"), CF_OK);
    r = decode(false, true, "", w.p, w.len, w.len, 0);
    assert_int_equal(r.feed, CF_S3_InvalidArgument);
    result_free(&r);
    cf_buf_free(&w);
}

/* The sink's verdict stops decoding and sticks. */
static void test_sink_error(void **state)
{
    cf_buf w;
    (void)state;
    doc_key();
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    cf_arena *a = cf_arena_new(0);
    cf_chunked *c = mk(a, true, false, DOC_SEED);
    sink s = {0};
    s.fail_after = 1000;
    assert_int_equal(cf_chunked_feed(c, w.p, 500, sink_fn, &s), CF_S3_OK);
    assert_int_equal(cf_chunked_feed(c, w.p + 500, w.len - 500, sink_fn, &s), CF_S3_EntityTooLarge);
    assert_int_equal(cf_chunked_feed(c, w.p, 1, sink_fn, &s), CF_S3_EntityTooLarge);
    assert_int_equal(cf_chunked_finish(c), CF_S3_EntityTooLarge);
    assert_true(s.len <= 1000);
    free(s.p);
    cf_arena_destroy(a);
    cf_buf_free(&w);
}

/* An HTTP Date as amz_date gives the same chunk signatures (the ISO form is signed). */
static void test_http_date_param(void **state)
{
    cf_buf w;
    (void)state;
    doc_key();
    doc_wire(&w, DOC_SIG1, DOC_SIG2, DOC_SIG3, "\r\n");
    cf_arena *a = cf_arena_new(0);
    cf_chunked_params p = {true,          false,
                           g_key,         CF_STR("Fri, 24 May 2013 00:00:00 GMT"),
                           CF_STR(SCOPE), CF_STR(DOC_SEED)};
    cf_chunked *c = cf_chunked_new(a, &p);
    assert_non_null(c);
    assert_int_equal(cf_chunked_feed(c, w.p, w.len, NULL, NULL), CF_S3_OK);
    assert_int_equal(cf_chunked_finish(c), CF_S3_OK);
    assert_int_equal(cf_chunked_decoded_len(c), DOC_LEN);
    cf_arena_destroy(a);
    cf_buf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_seed),
        cmocka_unit_test(test_doc_signed),
        cmocka_unit_test(test_doc_signed_tampered),
        cmocka_unit_test(test_doc_trailer),
        cmocka_unit_test(test_signed_small),
        cmocka_unit_test(test_signed_trailer_built),
        cmocka_unit_test(test_unsigned_trailer),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_http_date_param),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
