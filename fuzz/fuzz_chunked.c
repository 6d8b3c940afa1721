/* aws-chunked decoder. Input: a flags byte, a split byte, then the wire bytes.
 *   flags bit 0: signed chunks; bit 1: trailer; bit 2 (signed only): re-sign, i.e. the
 *   harness first writes the correct chunk and trailer signatures into the wire (so the
 *   fuzzer gets past signature checks and explores the framing after them); bits 3..7: the
 *   largest slice when feeding in pieces (0: one piece).
 *   split byte: seeds the slice sizes.
 * The key, date, scope and seeds are those of AWS's documented examples, so the documented
 * bodies (in the corpus) verify as they are.
 * Property: decoding in pieces gives exactly what decoding in one piece gives (results,
 * decoded bytes, trailers), and the decoded length is what reached the sink. */
#include "fuzz.h"

#include "auth/chunked.h"
#include "auth/sigv4.h"
#include "core/arena.h"
#include "core/crypto.h"

#define DATE     "20130524T000000Z"
#define SCOPE    "20130524/us-east-1/s3/aws4_request"
#define DOC_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define TRL_SEED "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
#define EMPTY    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIG_EXT  ";chunk-signature="
#define TSIG     "x-amz-trailer-signature:"

static uint8_t g_key[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    cf_sigv4_signing_key(CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), CF_STR("20130524"),
                         CF_STR("us-east-1"), CF_STR("s3"), g_key);
    return 0;
}

/* What one decoding produced: results, a running hash of the sink's bytes, trailers. */
typedef struct result {
    cf_s3err feed, finish;
    uint64_t sunk, decoded;
    uint32_t h;  /* FNV-1a over the sunk bytes */
    uint32_t th; /* over the trailers */
    size_t ntrailers;
} result;

static cf_s3err sink(void *ctx, const char *p, size_t n)
{
    result *r = ctx;
    for (size_t i = 0; i < n; i++)
        r->h = (r->h ^ (uint8_t)p[i]) * 16777619u;
    r->sunk += n;
    return CF_S3_OK;
}

static uint32_t fnv(uint32_t h, cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (uint8_t)s.p[i]) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static void decode(bool sig, bool trailer, const char *wire, size_t len, size_t maxsplit,
                   uint32_t seed, result *r)
{
    cf_arena *a = cf_arena_new(1 << 20);
    cf_chunked_params prm = {sig,           trailer,
                             g_key,         CF_STR(DATE),
                             CF_STR(SCOPE), trailer ? CF_STR(TRL_SEED) : CF_STR(DOC_SEED)};
    cf_chunked *c;
    size_t i = 0;
    const cf_kv *tr;

    memset(r, 0, sizeof(*r));
    r->h = r->th = 2166136261u;
    FUZZ_CHECK(a != NULL);
    c = cf_chunked_new(a, &prm);
    FUZZ_CHECK(c != NULL);
    /* Feeding stops at the first error, as the caller does. */
    while (i < len && r->feed == CF_S3_OK) {
        size_t n = maxsplit ? fuzz_next_split(&seed, maxsplit) : len;
        if (n > len - i)
            n = len - i;
        r->feed = cf_chunked_feed(c, wire + i, n, sink, r);
        i += n;
    }
    /* An empty feed is allowed and changes nothing. */
    if (r->feed == CF_S3_OK)
        r->feed = cf_chunked_feed(c, wire, 0, sink, r);
    r->finish = cf_chunked_finish(c);
    r->decoded = cf_chunked_decoded_len(c);
    r->ntrailers = cf_chunked_trailers(c, &tr);
    for (size_t k = 0; k < r->ntrailers; k++)
        r->th = fnv(fnv(r->th, tr[k].name), tr[k].value);
    if (r->finish == CF_S3_OK)
        FUZZ_CHECK(r->feed == CF_S3_OK);
    FUZZ_CHECK(r->decoded == r->sunk);
    cf_arena_destroy(a);
}

/* ---- re-signing: the documented algorithm, written independently of the decoder ---- */

static int hexv(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static void sign(const char *algo, const char *prev, const char *tail, char out[65])
{
    char sts[512];
    uint8_t mac[32];
    int n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s", algo, DATE, SCOPE, prev, tail);
    cf_hmac_sha256(g_key, sizeof(g_key), sts, (size_t)n, mac);
    cf_hex_encode(mac, sizeof(mac), out);
}

typedef struct tline {
    const char *name, *value;
    size_t nl, vl;
} tline;

static int tline_cmp(const void *x, const void *y)
{
    const tline *a = x, *b = y;
    size_t n = a->nl < b->nl ? a->nl : b->nl;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->nl > b->nl) - (a->nl < b->nl);
}

/* The trailer section starting at w[pos]: lines up to an empty one. Sign the canonical
 * trailers into the x-amz-trailer-signature line, if there is one of the right length. */
static void resign_trailers(char *w, size_t len, size_t pos, const char *prev)
{
    tline t[64];
    size_t nt = 0;
    char *sigat = NULL, canon[8192], hash[65], sig[65];
    size_t cl = 0;

    while (pos < len && nt < 64) {
        char *nl = memchr(w + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - w) : len, e = end;
        if (e > pos && w[e - 1] == '\r')
            e--;
        if (e == pos) {
            if (nt > 0 || sigat)
                break;
            pos = end + 1; /* the tolerated blank line before the trailers */
            continue;
        }
        char *colon = memchr(w + pos, ':', e - pos);
        if (colon) {
            size_t nlen = (size_t)(colon - (w + pos));
            if (nlen == sizeof(TSIG) - 2 && strncasecmp(w + pos, TSIG, nlen) == 0) {
                const char *v = colon + 1;
                while (v < w + e && (*v == ' ' || *v == '\t'))
                    v++;
                if (w + e - v >= 64)
                    sigat = (char *)v;
            } else {
                const char *v = colon + 1, *ve = w + e;
                for (size_t k = 0; k < nlen; k++)
                    if (w[pos + k] >= 'A' && w[pos + k] <= 'Z')
                        w[pos + k] = (char)(w[pos + k] + 32); /* the decoder lowercases */
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                t[nt].name = w + pos;
                t[nt].nl = nlen;
                t[nt].value = v;
                t[nt].vl = (size_t)(ve - v);
                nt++;
            }
        }
        if (!nl)
            break;
        pos = end + 1;
    }
    if (!sigat)
        return;
    qsort(t, nt, sizeof(*t), tline_cmp);
    for (size_t k = 0; k < nt; k++) {
        if (cl + t[k].nl + t[k].vl + 2 > sizeof(canon))
            return;
        memcpy(canon + cl, t[k].name, t[k].nl);
        cl += t[k].nl;
        canon[cl++] = ':';
        memcpy(canon + cl, t[k].value, t[k].vl);
        cl += t[k].vl;
        canon[cl++] = '\n';
    }
    cf_sha256_hex(canon, cl, hash);
    sign("AWS4-HMAC-SHA256-TRAILER", prev, hash, sig);
    memcpy(sigat, sig, 64);
}

static void resign(char *w, size_t len, bool trailer)
{
    char prev[65], sig[65], tail[160], hash[65];
    size_t pos = 0;
    memcpy(prev, trailer ? TRL_SEED : DOC_SEED, 65);
    while (pos < len) {
        char *nl = memchr(w + pos, '\n', len - pos);
        size_t end, i = pos;
        uint64_t size = 0;
        if (!nl)
            return;
        end = (size_t)(nl - w);
        for (; i < end && w[i] != ';' && i - pos < 16; i++) {
            if (hexv(w[i]) < 0)
                return;
            size = size << 4 | (uint64_t)hexv(w[i]);
        }
        /* "<hex>;chunk-signature=<64>\r\n" */
        if (end - i != sizeof(SIG_EXT) - 1 + 64 + 1 || memcmp(w + i, SIG_EXT, 17) != 0)
            return;
        size_t data = end + 1, n = size < len - data ? (size_t)size : len - data;
        cf_sha256_hex(w + data, n, hash);
        snprintf(tail, sizeof(tail), "%s\n%s", EMPTY, hash);
        sign("AWS4-HMAC-SHA256-PAYLOAD", prev, tail, sig);
        memcpy(w + i + 17, sig, 64);
        memcpy(prev, sig, 65);
        if (size == 0) {
            if (trailer)
                resign_trailers(w, len, data, prev);
            return;
        }
        if (size >= len - data)
            return;
        pos = data + (size_t)size + 2; /* data, CRLF */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags, split;
    bool sig, trailer;
    char *wire;
    size_t len;
    result whole, pieces;

    if (size < 2)
        return 0;
    flags = data[0];
    split = data[1];
    sig = flags & 1;
    trailer = flags & 2;
    len = size - 2;
    wire = malloc(len ? len : 1);
    FUZZ_CHECK(wire != NULL);
    if (len)
        memcpy(wire, data + 2, len);
    if (sig && (flags & 4))
        resign(wire, len, trailer);

    decode(sig, trailer, wire, len, 0, 0, &whole);
#ifdef FUZZ_VERBOSE
    fprintf(stderr, "feed %s finish %s decoded %llu trailers %zu\n", cf_s3err_code(whole.feed),
            cf_s3err_code(whole.finish), (unsigned long long)whole.decoded, whole.ntrailers);
#endif
    if (flags >> 3) {
        decode(sig, trailer, wire, len, (size_t)(flags >> 3), split, &pieces);
        FUZZ_CHECK(whole.feed == pieces.feed);
        FUZZ_CHECK(whole.finish == pieces.finish);
        FUZZ_CHECK(whole.sunk == pieces.sunk && whole.h == pieces.h);
        FUZZ_CHECK(whole.ntrailers == pieces.ntrailers && whole.th == pieces.th);
    }
    free(wire);
    return 0;
}
