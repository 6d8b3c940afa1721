/* Checksum vectors: reveng catalogue check values, RFC 3720 (iSCSI CRC32C), the NVMe spec
 * examples as used by the AWS CRT tests, and S3's base64 header form. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc64nvme_vectors),
        cmocka_unit_test(test_crc_against_reference),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_s3_b64),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
