/* Checksum vectors: reveng catalogue check values, RFC 3720 (iSCSI CRC32C), the NVMe spec
 * examples as used by the AWS CRT tests, and S3's base64 header form; CRC combining and
 * S3's multipart (COMPOSITE and FULL_OBJECT) checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Included to reach the static software path and compare it with the dispatching one. */
#include "../../src/core/checksum.c"

static const char check[] = "123456789";

static uint8_t seq32[32], zero32[32], ones32[32], desc32[32];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++) {
        seq32[i] = (uint8_t)i;
        desc32[i] = (uint8_t)(31 - i);
        zero32[i] = 0;
        ones32[i] = 0xFF;
    }
    return 0;
}

/* Digest of data through the streaming API, fed in pieces of `step` bytes. */
static size_t ck_split(cf_ck_alg alg, const void *data, size_t n, size_t step,
                       uint8_t out[CF_CK_MAX_LEN])
{
    cf_ck c;
    const uint8_t *p = data;
    assert_int_equal(cf_ck_init(&c, alg), CF_OK);
    for (size_t off = 0; off < n; off += step)
        cf_ck_update(&c, p + off, n - off < step ? n - off : step);
    return cf_ck_final(&c, out);
}

static void b64_of(cf_ck_alg alg, const void *data, size_t n, char out[48])
{
    cf_ck c;
    assert_int_equal(cf_ck_init(&c, alg), CF_OK);
    cf_ck_update(&c, data, n);
    cf_ck_final_b64(&c, out);
}

static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_true(cf_crc32c(0, check, 9) == 0xE3069283u);
    assert_true(cf_crc32c(0, "", 0) == 0);
    assert_true(cf_crc32c(0, "Hello", 5) == 2178485787u);
    /* RFC 3720 B.4 */
    assert_true(cf_crc32c(0, zero32, 32) == 0x8A9136AAu);
    assert_true(cf_crc32c(0, ones32, 32) == 0x62A8AB43u);
    assert_true(cf_crc32c(0, seq32, 32) == 0x46DD794Eu);
    assert_true(cf_crc32c(0, desc32, 32) == 0x113FDB5Cu);
    /* Split updates chain. */
    {
        uint32_t c = 0;
        for (int i = 0; i < 32; i++)
            c = cf_crc32c(c, &seq32[i], 1);
        assert_true(c == 0x46DD794Eu);
        c = cf_crc32c(cf_crc32c(0, check, 4), check + 4, 5);
        assert_true(c == 0xE3069283u);
    }
}

static void test_crc64nvme_vectors(void **state)
{
    uint8_t *big;
    (void)state;
    assert_true(cf_crc64nvme(0, check, 9) == UINT64_C(0xAE8B14860A799888));
    assert_true(cf_crc64nvme(0, "", 0) == 0);
    assert_true(cf_crc64nvme(0, zero32, 32) == UINT64_C(0xCF3473434D4ECF3B));
    assert_true(cf_crc64nvme(0, seq32, 32) == UINT64_C(0xB9D9D4A8492CBD7F));
    assert_true(cf_crc64nvme(0, "aaaaaaaaaa", 10) == UINT64_C(0x0C1A80036D65C555));
    assert_true(cf_crc64nvme(0, "test1", 5) == UINT64_C(0x7585D198A2D5B287));
    assert_true(cf_crc64nvme(0, "test2", 5) == UINT64_C(0xF436C0C0F28B290C));
    assert_true(cf_crc64nvme(0, "test1test2", 10) == UINT64_C(0x215F4B83B86262F3));
    assert_true(cf_crc64nvme(cf_crc64nvme(0, "test1", 5), "test2", 5) ==
                UINT64_C(0x215F4B83B86262F3));
    /* NVM Command Set spec examples: 4 KiB of zeros and of ones. */
    big = malloc(4096);
    assert_non_null(big);
    memset(big, 0, 4096);
    assert_true(cf_crc64nvme(0, big, 4096) == UINT64_C(0x6482D367EB22B64E));
    memset(big, 0xFF, 4096);
    assert_true(cf_crc64nvme(0, big, 4096) == UINT64_C(0xC0DDBA7302ECA3AC));
    free(big);
    {
        uint64_t c = 0;
        for (int i = 0; i < 32; i++)
            c = cf_crc64nvme(c, &zero32[i], 1);
        assert_true(c == UINT64_C(0xCF3473434D4ECF3B));
    }
}

/* Bit-at-a-time references, to check the sliced and hardware paths on odd lengths and
 * unaligned starts. */
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

static uint64_t ref_crc64(const uint8_t *p, size_t n)
{
    uint64_t c = ~UINT64_C(0);
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? UINT64_C(0x9A6C9329AC4BC9B5) : 0);
    }
    return ~c;
}

static void test_crc_against_reference(void **state)
{
    enum { N = 1000 };
    uint8_t *buf = malloc(N);
    uint32_t x = 12345;
    (void)state;
    assert_non_null(buf);
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 9; off++) {
        for (size_t n = 0; n + off <= N; n += (n < 40 ? 1 : 97)) {
            uint32_t want32 = ref_crc32c(buf + off, n);
            assert_true(cf_crc32c(0, buf + off, n) == want32);
            assert_true(~crc32c_sw(0xFFFFFFFFu, buf + off, n) == want32);
            assert_true(cf_crc64nvme(0, buf + off, n) == ref_crc64(buf + off, n));
        }
    }
    free(buf);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-crc32")), CF_CK_CRC32);
    assert_int_equal(cf_ck_from_header(CF_STR("X-Amz-Checksum-CRC32C")), CF_CK_CRC32C);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-crc64nvme")), CF_CK_CRC64NVME);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-sha1")), CF_CK_SHA1);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-sha256")), CF_CK_SHA256);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-md5")), CF_CK_NONE);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-")), CF_CK_NONE);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-algorithm")), CF_CK_NONE);
    assert_int_equal(cf_ck_from_header(CF_STR("x-amz-checksum-type")), CF_CK_NONE);
    assert_int_equal(cf_ck_from_name(CF_STR("crc32")), CF_CK_CRC32);
    assert_int_equal(cf_ck_from_name(CF_STR("CRC32C")), CF_CK_CRC32C);
    assert_int_equal(cf_ck_from_name(CF_STR("Crc64Nvme")), CF_CK_CRC64NVME);
    assert_int_equal(cf_ck_from_name(CF_STR("SHA1")), CF_CK_SHA1);
    assert_int_equal(cf_ck_from_name(CF_STR("sha256")), CF_CK_SHA256);
    assert_int_equal(cf_ck_from_name(CF_STR("SHA25")), CF_CK_NONE);
    assert_int_equal(cf_ck_from_name(CF_STR("")), CF_CK_NONE);
    assert_string_equal(cf_ck_name(CF_CK_CRC64NVME), "CRC64NVME");
    assert_string_equal(cf_ck_header(CF_CK_CRC32C), "x-amz-checksum-crc32c");
    assert_string_equal(cf_ck_name(CF_CK_NONE), "");
    assert_int_equal(cf_ck_len(CF_CK_CRC32), 4);
    assert_int_equal(cf_ck_len(CF_CK_CRC32C), 4);
    assert_int_equal(cf_ck_len(CF_CK_CRC64NVME), 8);
    assert_int_equal(cf_ck_len(CF_CK_SHA1), 20);
    assert_int_equal(cf_ck_len(CF_CK_SHA256), 32);
    assert_int_equal(cf_ck_len(CF_CK_NONE), 0);
}

static void test_streaming(void **state)
{
    static const struct {
        cf_ck_alg alg;
        const char *hex;
    } want[] = {
        {CF_CK_CRC32, "cbf43926"},
        {CF_CK_CRC32C, "e3069283"},
        {CF_CK_CRC64NVME, "ae8b14860a799888"},
        {CF_CK_SHA1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"},
        {CF_CK_SHA256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        for (size_t step = 1; step <= 9; step++) {
            uint8_t d[CF_CK_MAX_LEN];
            char hex[2 * CF_CK_MAX_LEN + 1];
            size_t n = ck_split(want[i].alg, check, 9, step, d);
            assert_int_equal(n, cf_ck_len(want[i].alg));
            cf_hex_encode(d, n, hex);
            assert_string_equal(hex, want[i].hex);
        }
    }
}

static void test_s3_b64(void **state)
{
    char out[48];
    cf_ck c;
    uint8_t d[CF_CK_MAX_LEN];
    (void)state;
    /* What an SDK sends for an empty body. */
    b64_of(CF_CK_CRC32, "", 0, out);
    assert_string_equal(out, "AAAAAA==");
    b64_of(CF_CK_CRC32C, "", 0, out);
    assert_string_equal(out, "AAAAAA==");
    b64_of(CF_CK_CRC64NVME, "", 0, out);
    assert_string_equal(out, "AAAAAAAAAAA=");
    b64_of(CF_CK_SHA1, "", 0, out);
    assert_string_equal(out, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    b64_of(CF_CK_SHA256, "", 0, out);
    assert_string_equal(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    /* `echo 'Hello, World!' | crc64nvme | base64` from a public tool's README. */
    b64_of(CF_CK_CRC64NVME, "Hello, World!\n", 14, out);
    assert_string_equal(out, "SoXXbx67KpE=");
    b64_of(CF_CK_CRC32, "Hello", 5, out);
    assert_string_equal(out, "99GJgg=="); /* 4157704578 */
    b64_of(CF_CK_CRC32C, check, 9, out);
    assert_string_equal(out, "4waSgw==");

    /* NONE produces nothing; abandoning a SHA stream frees it (ASan checks). */
    assert_int_equal(cf_ck_init(&c, CF_CK_NONE), CF_OK);
    cf_ck_update(&c, "x", 1);
    assert_int_equal(cf_ck_final(&c, d), 0);
    assert_int_equal(cf_ck_init(&c, CF_CK_SHA256), CF_OK);
    cf_ck_update(&c, "x", 1);
    cf_ck_free(&c);
    cf_ck_free(&c);
    assert_int_equal(cf_ck_init(&c, (cf_ck_alg)42), CF_EINVAL);
}

/* ---- combining ---- */

static uint8_t *random_bytes(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
    return b;
}

static uint32_t zcrc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32_z(0, p, n);
}

/* crc(A||B) == combine(crc(A), crc(B), |B|) for every split of many lengths. */
static void test_combine_splits(void **state)
{
    enum { N = 3000 };
    uint8_t *buf = random_bytes(N, 777);
    uint32_t seed = 99;
    (void)state;
    for (size_t n = 0; n <= N; n += (n < 80 ? 1 : n < 600 ? 37 : 499)) {
        uint32_t w32 = zcrc(buf, n), w32c = cf_crc32c(0, buf, n);
        uint64_t w64 = cf_crc64nvme(0, buf, n);
        /* every split of short inputs, some random ones of the longer */
        size_t tries = n < 80 ? n + 1 : 24;
        for (size_t t = 0; t < tries; t++) {
            size_t i;
            if (n < 80) {
                i = t;
            } else {
                seed = seed * 1103515245u + 12345u;
                i = (seed >> 8) % (n + 1);
            }
            size_t lb = n - i;
            assert_true(cf_crc32_combine(zcrc(buf, i), zcrc(buf + i, lb), lb) == w32);
            assert_true(cf_crc32c_combine(cf_crc32c(0, buf, i), cf_crc32c(0, buf + i, lb), lb) ==
                        w32c);
            assert_true(cf_crc64nvme_combine(cf_crc64nvme(0, buf, i), cf_crc64nvme(0, buf + i, lb),
                                             lb) == w64);
        }
        /* three pieces folded left, through the generic entry point */
        if (n >= 2) {
            static const cf_ck_alg crcs[] = {CF_CK_CRC32, CF_CK_CRC32C, CF_CK_CRC64NVME};
            size_t a = n / 3, b = n / 2;
            for (size_t k = 0; k < 3; k++) {
                uint8_t d[CF_CK_MAX_LEN];
                uint64_t c1, c2, c3, acc = 0;
                cf_ck_alg alg = crcs[k];
                ck_split(alg, buf, a, 64, d);
                c1 = cf_ck_crc_value(alg, d);
                ck_split(alg, buf + a, b - a, 64, d);
                c2 = cf_ck_crc_value(alg, d);
                ck_split(alg, buf + b, n - b, 64, d);
                c3 = cf_ck_crc_value(alg, d);
                assert_int_equal(cf_ck_combine(alg, acc, c1, a, &acc), CF_OK);
                assert_int_equal(cf_ck_combine(alg, acc, c2, b - a, &acc), CF_OK);
                assert_int_equal(cf_ck_combine(alg, acc, c3, n - b, &acc), CF_OK);
                ck_split(alg, buf, n, 7, d);
                assert_true(acc == cf_ck_crc_value(alg, d));
            }
        }
    }
    free(buf);
}

/* Zero lengths are identities; the CRC of nothing is the neutral element. */
static void test_combine_edges(void **state)
{
    uint64_t out = 42;
    (void)state;
    assert_true(cf_crc32_combine(0xCBF43926u, 0, 0) == 0xCBF43926u);
    assert_true(cf_crc32c_combine(0xE3069283u, 0, 0) == 0xE3069283u);
    assert_true(cf_crc64nvme_combine(UINT64_C(0xAE8B14860A799888), 0, 0) ==
                UINT64_C(0xAE8B14860A799888));
    assert_true(cf_crc32c_combine(0, 0xE3069283u, 9) == 0xE3069283u);
    assert_true(cf_crc64nvme_combine(0, UINT64_C(0xAE8B14860A799888), 9) ==
                UINT64_C(0xAE8B14860A799888));
    /* the published "test1" + "test2" pair */
    assert_true(cf_crc64nvme_combine(UINT64_C(0x7585D198A2D5B287), UINT64_C(0xF436C0C0F28B290C),
                                     5) == UINT64_C(0x215F4B83B86262F3));
    assert_int_equal(cf_ck_combine(CF_CK_SHA256, 1, 2, 3, &out), CF_EINVAL);
    assert_int_equal(cf_ck_combine(CF_CK_NONE, 1, 2, 3, &out), CF_EINVAL);
    assert_true(out == 42);
    assert_true(cf_ck_is_crc(CF_CK_CRC32C) && !cf_ck_is_crc(CF_CK_SHA1) &&
                !cf_ck_is_crc(CF_CK_NONE));
}

/* Lengths far past what can be hashed directly: the generic GF(2) code with zlib's
 * polynomial agrees with zlib, and all three stay associative. */
static void test_combine_large(void **state)
{
    static const uint64_t lens[] = {
        1,
        8,
        255,
        4096,
        UINT64_C(5) << 20,
        UINT64_C(5) << 30,
        UINT64_C(5) << 40,
        UINT64_C(123456789012345),
        (UINT64_C(1) << 62) + 3,
    };
    crc_model m32;
    uint32_t x = 2024;
    (void)state;
    build_model(&m32, 0xEDB88320u, 32);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int r = 0; r < 8; r++) {
            uint32_t a32, b32;
            uint64_t a64, b64, c64;
            x = x * 1103515245u + 12345u;
            a32 = x;
            x = x * 1103515245u + 12345u;
            b32 = x;
            a64 = ((uint64_t)a32 << 32) | b32;
            b64 = ((uint64_t)b32 << 32) ^ a32 ^ UINT64_C(0x5555);
            c64 = a64 * 3 + 1;
            assert_true((uint32_t)(gf_shift_bytes(&m32, a32, lens[i]) ^ b32) ==
                        cf_crc32_combine(a32, b32, lens[i]));
            uint64_t l2 = lens[(i + 3) % (sizeof lens / sizeof lens[0])];
            assert_true(
                cf_crc64nvme_combine(cf_crc64nvme_combine(a64, b64, lens[i]), c64, l2) ==
                cf_crc64nvme_combine(a64, cf_crc64nvme_combine(b64, c64, l2), lens[i] + l2));
            assert_true(
                cf_crc32c_combine(cf_crc32c_combine(a32, b32, lens[i]), (uint32_t)c64, l2) ==
                cf_crc32c_combine(a32, cf_crc32c_combine(b32, (uint32_t)c64, l2), lens[i] + l2));
        }
    }
    /* 1 MiB of zeros as 4096 combined 256-byte blocks */
    {
        uint8_t *z = calloc(1, 1u << 20);
        uint64_t acc64 = 0, blk64;
        uint32_t acc32c = 0, blk32c;
        assert_non_null(z);
        blk64 = cf_crc64nvme(0, z, 256);
        blk32c = cf_crc32c(0, z, 256);
        for (int k = 0; k < 4096; k++) {
            acc64 = cf_crc64nvme_combine(acc64, blk64, 256);
            acc32c = cf_crc32c_combine(acc32c, blk32c, 256);
        }
        assert_true(acc64 == cf_crc64nvme(0, z, 1u << 20));
        assert_true(acc32c == cf_crc32c(0, z, 1u << 20));
        free(z);
    }
}

/* ---- multipart checksums ---- */

static const char *const mp_parts[] = {"hello ", "world", "!"};

static void mp_value(cf_ck_alg alg, cf_ck_type type, char out[CF_CK_MP_B64_MAX])
{
    cf_ck_mp m;
    assert_int_equal(cf_ck_mp_init(&m, alg, type), CF_OK);
    for (size_t i = 0; i < 3; i++) {
        uint8_t d[CF_CK_MAX_LEN];
        size_t len = strlen(mp_parts[i]);
        size_t n = ck_split(alg, mp_parts[i], len, 3, d);
        if (i == 1) { /* the base64 form a client sends */
            char b[48];
            cf_b64_encode(d, n, b);
            assert_int_equal(cf_ck_mp_add_b64(&m, cf_str_c(b), len), CF_OK);
        } else {
            assert_int_equal(cf_ck_mp_add(&m, d, n, len), CF_OK);
        }
    }
    cf_ck_mp_final_b64(&m, out);
}

static void test_multipart(void **state)
{
    char out[CF_CK_MP_B64_MAX];
    (void)state;
    /* Expected values computed independently (Python's zlib/hashlib and the e2e helpers'
     * table-driven CRCs): COMPOSITE = base64(alg(concat(raw part checksums)))-N. */
    mp_value(CF_CK_CRC32, CF_CK_COMPOSITE, out);
    assert_string_equal(out, "bc2tiA==-3");
    mp_value(CF_CK_CRC32C, CF_CK_COMPOSITE, out);
    assert_string_equal(out, "/DYCUA==-3");
    mp_value(CF_CK_SHA1, CF_CK_COMPOSITE, out);
    assert_string_equal(out, "SZ976nEsA89nATKxYx2bx31jAgY=-3");
    mp_value(CF_CK_SHA256, CF_CK_COMPOSITE, out);
    assert_string_equal(out, "9DvR1+T28oT9/9/hQ77yVrmSNM8gEMlHtsGoO9F4sl8=-3");
    /* FULL_OBJECT: the CRC of "hello world!" itself, no part count. */
    mp_value(CF_CK_CRC32, CF_CK_FULL_OBJECT, out);
    assert_string_equal(out, "A7TCbQ==");
    mp_value(CF_CK_CRC32C, CF_CK_FULL_OBJECT, out);
    assert_string_equal(out, "SctXdw==");
    mp_value(CF_CK_CRC64NVME, CF_CK_FULL_OBJECT, out);
    assert_string_equal(out, "2RYNH6jkGOM=");
    {
        char whole[48];
        b64_of(CF_CK_CRC64NVME, "hello world!", 12, whole);
        assert_string_equal(out, whole);
    }
    /* One empty part; the longest value fits. */
    {
        cf_ck_mp m;
        uint8_t d[CF_CK_MAX_LEN];
        size_t n = ck_split(CF_CK_SHA256, "", 0, 1, d);
        assert_int_equal(cf_ck_mp_init(&m, CF_CK_SHA256, CF_CK_COMPOSITE), CF_OK);
        assert_int_equal(cf_ck_mp_add(&m, d, n, 0), CF_OK);
        cf_ck_mp_final_b64(&m, out);
        assert_string_equal(out, "Xfbg4nYTWdMKgnUFjimfzAOBU0VF9Vz0PkGYP11MlFY=-1");
        assert_int_equal(cf_ck_mp_init(&m, CF_CK_SHA256, CF_CK_COMPOSITE), CF_OK);
        for (int i = 0; i < 10000; i++)
            assert_int_equal(cf_ck_mp_add(&m, d, n, 0), CF_OK);
        cf_ck_mp_final_b64(&m, out);
        assert_int_equal(strlen(out), 44 + 6);
        assert_string_equal(out + 44, "-10000");
    }
}

/* A FULL_OBJECT value of many parts of uneven sizes equals the whole object's CRC. */
static void test_multipart_full_object(void **state)
{
    enum { N = 100000 };
    static const cf_ck_alg crcs[] = {CF_CK_CRC32, CF_CK_CRC32C, CF_CK_CRC64NVME};
    uint8_t *buf = random_bytes(N, 4242);
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        cf_ck_mp m;
        char got[CF_CK_MP_B64_MAX], want[48];
        size_t off = 0, step = 1;
        assert_int_equal(cf_ck_mp_init(&m, crcs[k], CF_CK_FULL_OBJECT), CF_OK);
        while (off < N) {
            uint8_t d[CF_CK_MAX_LEN];
            size_t len = N - off < step ? N - off : step;
            size_t n = ck_split(crcs[k], buf + off, len, 4096, d);
            assert_int_equal(cf_ck_mp_add(&m, d, n, len), CF_OK);
            off += len;
            step = step * 3 + 1;
        }
        cf_ck_mp_final_b64(&m, got);
        b64_of(crcs[k], buf, N, want);
        assert_string_equal(got, want);
    }
    free(buf);
}

static void test_multipart_refusals(void **state)
{
    cf_ck_mp m;
    uint8_t d[CF_CK_MAX_LEN] = {0};
    (void)state;
    assert_int_equal(cf_ck_type_from_name(CF_STR("COMPOSITE")), CF_CK_COMPOSITE);
    assert_int_equal(cf_ck_type_from_name(CF_STR("full_object")), CF_CK_FULL_OBJECT);
    assert_int_equal(cf_ck_type_from_name(CF_STR("FULL")), CF_CK_TYPE_NONE);
    assert_string_equal(cf_ck_type_name(CF_CK_FULL_OBJECT), "FULL_OBJECT");
    assert_string_equal(cf_ck_type_name(CF_CK_COMPOSITE), "COMPOSITE");
    assert_string_equal(cf_ck_type_name(CF_CK_TYPE_NONE), "");
    /* S3's table: CRC64NVME is full-object only, the SHAs composite only. */
    assert_true(cf_ck_type_supported(CF_CK_CRC32, CF_CK_COMPOSITE));
    assert_true(cf_ck_type_supported(CF_CK_CRC32C, CF_CK_FULL_OBJECT));
    assert_false(cf_ck_type_supported(CF_CK_CRC64NVME, CF_CK_COMPOSITE));
    assert_true(cf_ck_type_supported(CF_CK_CRC64NVME, CF_CK_FULL_OBJECT));
    assert_false(cf_ck_type_supported(CF_CK_SHA256, CF_CK_FULL_OBJECT));
    assert_true(cf_ck_type_supported(CF_CK_SHA1, CF_CK_COMPOSITE));
    assert_false(cf_ck_type_supported(CF_CK_NONE, CF_CK_COMPOSITE));
    assert_false(cf_ck_type_supported(CF_CK_CRC32, CF_CK_TYPE_NONE));
    assert_int_equal(cf_ck_mp_init(&m, CF_CK_CRC64NVME, CF_CK_COMPOSITE), CF_EINVAL);
    assert_int_equal(cf_ck_mp_add(&m, d, 8, 1), CF_EINVAL);
    cf_ck_mp_free(&m);
    assert_int_equal(cf_ck_mp_init(&m, CF_CK_SHA1, CF_CK_FULL_OBJECT), CF_EINVAL);
    /* wrong lengths and bad base64 leave the value unchanged */
    assert_int_equal(cf_ck_mp_init(&m, CF_CK_CRC32, CF_CK_COMPOSITE), CF_OK);
    assert_int_equal(cf_ck_mp_add(&m, d, 8, 1), CF_EINVAL);
    assert_int_equal(cf_ck_mp_add_b64(&m, CF_STR("AAAAAAAAAAA="), 1), CF_EINVAL);
    assert_int_equal(cf_ck_mp_add_b64(&m, CF_STR("not base64"), 1), CF_EINVAL);
    assert_int_equal(cf_ck_mp_add_b64(&m, CF_STR(""), 1), CF_EINVAL);
    assert_int_equal(m.nparts, 0);
    cf_ck_mp_free(&m); /* abandoned: nothing leaks (ASan) */
    assert_int_equal(cf_ck_mp_init(&m, CF_CK_SHA256, CF_CK_COMPOSITE), CF_OK);
    assert_int_equal(cf_ck_mp_add(&m, d, 20, 1), CF_EINVAL);
    cf_ck_mp_free(&m);
    cf_ck_mp_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc64nvme_vectors),
        cmocka_unit_test(test_crc_against_reference),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_s3_b64),
        cmocka_unit_test(test_combine_splits),
        cmocka_unit_test(test_combine_edges),
        cmocka_unit_test(test_combine_large),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_multipart_full_object),
        cmocka_unit_test(test_multipart_refusals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
