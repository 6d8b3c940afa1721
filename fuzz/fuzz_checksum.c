/* Object checksums (values clients send in x-amz-checksum-* headers, trailers and
 * CompleteMultipartUpload). Input: a byte choosing a split point, then data A||B.
 * Properties:
 *  - every algorithm gives the same digest fed whole or in two pieces;
 *  - CRC32C and CRC64NVME match bitwise references written here (whatever fast path runs);
 *  - crc(A||B) == combine(crc(A), crc(B), len(B)) for each CRC;
 *  - a FULL_OBJECT multipart checksum of parts A and B is the checksum of A||B, and a
 *    COMPOSITE one is the algorithm over the concatenated part digests;
 *  - base64 round trips through cf_b64_decode; header and algorithm names map back. */
#include "fuzz.h"

#include <zlib.h>

#include "core/checksum.h"
#include "core/crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    }
    return ~c;
}

static uint64_t ref_crc64nvme(const uint8_t *p, size_t n)
{
    uint64_t c = ~UINT64_C(0);
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? UINT64_C(0x9A6C9329AC4BC9B5) : 0);
    }
    return ~c;
}

static size_t digest(cf_ck_alg alg, const uint8_t *p, size_t n, uint8_t out[CF_CK_MAX_LEN])
{
    cf_ck c;
    FUZZ_CHECK(cf_ck_init(&c, alg) == CF_OK);
    cf_ck_update(&c, p, n);
    return cf_ck_final(&c, out);
}

static const cf_ck_alg algs[] = {CF_CK_CRC32, CF_CK_CRC32C, CF_CK_CRC64NVME, CF_CK_SHA1,
                                 CF_CK_SHA256};

static void one_alg(cf_ck_alg alg, const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    uint8_t whole[CF_CK_MAX_LEN], two[CF_CK_MAX_LEN], da[CF_CK_MAX_LEN], db[CF_CK_MAX_LEN];
    uint8_t mp[CF_CK_MAX_LEN], cat[2 * CF_CK_MAX_LEN], want[CF_CK_MAX_LEN];
    size_t len = cf_ck_len(alg), n;
    cf_ck c;
    cf_ck_mp m;

    FUZZ_CHECK(digest(alg, a, na + nb, whole) == len); /* b follows a in memory */
    FUZZ_CHECK(cf_ck_init(&c, alg) == CF_OK);
    cf_ck_update(&c, a, na);
    cf_ck_update(&c, b, nb);
    FUZZ_CHECK(cf_ck_final(&c, two) == len && memcmp(whole, two, len) == 0);
    FUZZ_CHECK(digest(alg, a, na, da) == len && digest(alg, b, nb, db) == len);

    if (alg == CF_CK_CRC32C)
        FUZZ_CHECK(cf_ck_crc_value(alg, whole) == ref_crc32c(a, na + nb));
    if (alg == CF_CK_CRC64NVME)
        FUZZ_CHECK(cf_ck_crc_value(alg, whole) == ref_crc64nvme(a, na + nb));
    if (alg == CF_CK_CRC32)
        FUZZ_CHECK(cf_ck_crc_value(alg, whole) == crc32(crc32(0, NULL, 0), a, (uInt)(na + nb)));
    if (cf_ck_is_crc(alg)) {
        uint64_t comb = 0;
        FUZZ_CHECK(cf_ck_combine(alg, cf_ck_crc_value(alg, da), cf_ck_crc_value(alg, db), nb,
                                 &comb) == CF_OK);
        FUZZ_CHECK(comb == cf_ck_crc_value(alg, whole));
    }

    /* Multipart, both types where supported: parts A and B. */
    if (cf_ck_type_supported(alg, CF_CK_FULL_OBJECT)) {
        FUZZ_CHECK(cf_ck_mp_init(&m, alg, CF_CK_FULL_OBJECT) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, da, len, na) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, db, len, nb) == CF_OK);
        n = cf_ck_mp_final(&m, mp);
        FUZZ_CHECK(n == len && memcmp(mp, whole, len) == 0);
    }
    if (cf_ck_type_supported(alg, CF_CK_COMPOSITE)) {
        char b64[CF_CK_MP_B64_MAX];
        FUZZ_CHECK(cf_ck_mp_init(&m, alg, CF_CK_COMPOSITE) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, da, len, na) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, db, len, nb) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, da, len - 1, 0) == CF_EINVAL); /* wrong length */
        n = cf_ck_mp_final(&m, mp);
        memcpy(cat, da, len);
        memcpy(cat + len, db, len);
        FUZZ_CHECK(n == len && digest(alg, cat, 2 * len, want) == len);
        FUZZ_CHECK(memcmp(mp, want, len) == 0);
        FUZZ_CHECK(cf_ck_mp_init(&m, alg, CF_CK_COMPOSITE) == CF_OK);
        FUZZ_CHECK(cf_ck_mp_add(&m, da, len, na) == CF_OK);
        cf_ck_mp_final_b64(&m, b64);
        FUZZ_CHECK(strlen(b64) < CF_CK_MP_B64_MAX && strchr(b64, '-') != NULL);
    }
    FUZZ_CHECK(cf_ck_from_name(cf_str_c(cf_ck_name(alg))) == alg);
    FUZZ_CHECK(cf_ck_from_header(cf_str_c(cf_ck_header(alg))) == alg);
}

/* The input as a client's base64 value: whatever decodes re-encodes to something that
 * decodes to the same bytes, and the multipart reader takes it or refuses it cleanly. */
static void b64(cf_str s)
{
    uint8_t raw[CF_CK_MAX_LEN], raw2[CF_CK_MAX_LEN];
    char enc[64];
    size_t n = 0, n2 = 0;
    cf_ck_mp m;
    if (cf_b64_decode(s, raw, sizeof(raw), &n)) {
        FUZZ_CHECK(n <= sizeof(raw) && cf_b64_enclen(n) < sizeof(enc));
        size_t el = cf_b64_encode(raw, n, enc);
        FUZZ_CHECK(cf_b64_decode(cf_str_make(enc, el), raw2, sizeof(raw2), &n2));
        FUZZ_CHECK(n2 == n && memcmp(raw, raw2, n) == 0);
    }
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        cf_ck_type t =
            cf_ck_type_supported(algs[i], CF_CK_COMPOSITE) ? CF_CK_COMPOSITE : CF_CK_FULL_OBJECT;
        FUZZ_CHECK(cf_ck_mp_init(&m, algs[i], t) == CF_OK);
        (void)cf_ck_mp_add_b64(&m, s, s.len);
        cf_ck_mp_free(&m);
    }
    (void)cf_ck_from_header(s);
    (void)cf_ck_from_name(s);
    (void)cf_ck_type_from_name(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t na, nb;
    if (size < 1)
        return 0;
    na = (size - 1) * data[0] / 255;
    nb = size - 1 - na;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        one_alg(algs[i], data + 1, na, data + 1 + na, nb);
    b64(cf_str_make((const char *)data + 1, size - 1));
    return 0;
}
