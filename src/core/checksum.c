#include "core/checksum.h"

#include <pthread.h>
#include <string.h>

#include <zlib.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define HAVE_SSE42_PATH 1
#endif

#define CRC32C_POLY    0x82F63B78u                  /* Castagnoli, reflected */
#define CRC64NVME_POLY UINT64_C(0x9A6C9329AC4BC9B5) /* NVMe, reflected */

/* Slicing-by-8 tables: [0] is the classic byte table, [k] advances k more zero bytes. */
static uint32_t t32c[8][256];
static uint64_t t64[8][256];
static bool have_sse42;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint32_t c = i;
        uint64_t d = i;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
            d = (d >> 1) ^ ((d & 1) ? CRC64NVME_POLY : 0);
        }
        t32c[0][i] = c;
        t64[0][i] = d;
    }
    for (unsigned i = 0; i < 256; i++) {
        for (int k = 1; k < 8; k++) {
            t32c[k][i] = (t32c[k - 1][i] >> 8) ^ t32c[0][t32c[k - 1][i] & 0xFF];
            t64[k][i] = (t64[k - 1][i] >> 8) ^ t64[0][t64[k - 1][i] & 0xFF];
        }
    }
#ifdef HAVE_SSE42_PATH
    __builtin_cpu_init();
    have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SLICE8 1 /* the 8-byte step below reads words little-endian */
#endif

static uint32_t crc32c_sw(uint32_t c, const uint8_t *p, size_t n)
{
#ifdef SLICE8
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;
        c = t32c[7][w & 0xFF] ^ t32c[6][(w >> 8) & 0xFF] ^ t32c[5][(w >> 16) & 0xFF] ^
            t32c[4][(w >> 24) & 0xFF] ^ t32c[3][(w >> 32) & 0xFF] ^ t32c[2][(w >> 40) & 0xFF] ^
            t32c[1][(w >> 48) & 0xFF] ^ t32c[0][w >> 56];
        p += 8;
        n -= 8;
    }
#endif
    while (n--)
        c = (c >> 8) ^ t32c[0][(c ^ *p++) & 0xFF];
    return c;
}

#ifdef HAVE_SSE42_PATH
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = _mm_crc32_u64(c64, w);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}
#endif

uint32_t cf_crc32c(uint32_t crc, const void *p, size_t n)
{
    uint32_t c = ~crc;
    pthread_once(&tables_once, build_tables);
    if (n == 0)
        return crc;
#ifdef HAVE_SSE42_PATH
    if (have_sse42)
        return ~crc32c_hw(c, p, n);
#endif
    return ~crc32c_sw(c, p, n);
}

uint64_t cf_crc64nvme(uint64_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t c = ~crc;
    pthread_once(&tables_once, build_tables);
    if (n == 0)
        return crc;
#ifdef SLICE8
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        w ^= c;
        c = t64[7][w & 0xFF] ^ t64[6][(w >> 8) & 0xFF] ^ t64[5][(w >> 16) & 0xFF] ^
            t64[4][(w >> 24) & 0xFF] ^ t64[3][(w >> 32) & 0xFF] ^ t64[2][(w >> 40) & 0xFF] ^
            t64[1][(w >> 48) & 0xFF] ^ t64[0][w >> 56];
        b += 8;
        n -= 8;
    }
#endif
    while (n--)
        c = (c >> 8) ^ t64[0][(c ^ *b++) & 0xFF];
    return ~c;
}

/* ---- algorithm table ---- */

static const struct {
    const char *name;
    const char *header;
    size_t len;
} algs[] = {
    [CF_CK_NONE] = {"", "", 0},
    [CF_CK_CRC32] = {"CRC32", "x-amz-checksum-crc32", 4},
    [CF_CK_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", 4},
    [CF_CK_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    [CF_CK_SHA1] = {"SHA1", "x-amz-checksum-sha1", CF_SHA1_LEN},
    [CF_CK_SHA256] = {"SHA256", "x-amz-checksum-sha256", CF_SHA256_LEN},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static bool valid(cf_ck_alg alg)
{
    return (unsigned)alg < NALGS && alg != CF_CK_NONE;
}

cf_ck_alg cf_ck_from_header(cf_str name)
{
    for (unsigned a = CF_CK_CRC32; a < NALGS; a++)
        if (cf_str_ieq_c(name, algs[a].header))
            return (cf_ck_alg)a;
    return CF_CK_NONE;
}

cf_ck_alg cf_ck_from_name(cf_str name)
{
    for (unsigned a = CF_CK_CRC32; a < NALGS; a++)
        if (cf_str_ieq_c(name, algs[a].name))
            return (cf_ck_alg)a;
    return CF_CK_NONE;
}

const char *cf_ck_header(cf_ck_alg alg)
{
    return valid(alg) ? algs[alg].header : "";
}

const char *cf_ck_name(cf_ck_alg alg)
{
    return valid(alg) ? algs[alg].name : "";
}

size_t cf_ck_len(cf_ck_alg alg)
{
    return valid(alg) ? algs[alg].len : 0;
}

/* ---- streaming ---- */

cf_rc cf_ck_init(cf_ck *c, cf_ck_alg alg)
{
    c->alg = alg;
    c->crc = 0;
    c->h = NULL;
    switch (alg) {
    case CF_CK_SHA1:
        c->h = cf_hash_new(CF_HASH_SHA1);
        break;
    case CF_CK_SHA256:
        c->h = cf_hash_new(CF_HASH_SHA256);
        break;
    case CF_CK_NONE:
    case CF_CK_CRC32:
    case CF_CK_CRC32C:
    case CF_CK_CRC64NVME:
        return CF_OK;
    default:
        c->alg = CF_CK_NONE;
        return CF_EINVAL;
    }
    return c->h ? CF_OK : CF_ENOMEM;
}

void cf_ck_update(cf_ck *c, const void *p, size_t n)
{
    if (n == 0)
        return;
    switch (c->alg) {
    case CF_CK_CRC32:
        c->crc = crc32_z((uLong)c->crc, p, n);
        break;
    case CF_CK_CRC32C:
        c->crc = cf_crc32c((uint32_t)c->crc, p, n);
        break;
    case CF_CK_CRC64NVME:
        c->crc = cf_crc64nvme(c->crc, p, n);
        break;
    case CF_CK_SHA1:
    case CF_CK_SHA256:
        if (c->h)
            cf_hash_update(c->h, p, n);
        break;
    case CF_CK_NONE:
        break;
    }
}

static void put_be(uint8_t *out, uint64_t v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

size_t cf_ck_final(cf_ck *c, uint8_t out[CF_CK_MAX_LEN])
{
    size_t len = 0;
    switch (c->alg) {
    case CF_CK_CRC32:
    case CF_CK_CRC32C:
    case CF_CK_CRC64NVME:
        len = algs[c->alg].len;
        put_be(out, c->crc, len);
        break;
    case CF_CK_SHA1:
    case CF_CK_SHA256:
        if (c->h)
            len = cf_hash_final(c->h, out);
        break;
    case CF_CK_NONE:
        break;
    }
    cf_ck_free(c);
    return len;
}

void cf_ck_free(cf_ck *c)
{
    cf_hash_free(c->h);
    c->h = NULL;
}

void cf_ck_final_b64(cf_ck *c, char out[48])
{
    uint8_t d[CF_CK_MAX_LEN];
    size_t n = cf_ck_final(c, d);
    cf_b64_encode(d, n, out);
}
