#include "core/checksum.h"

#include <pthread.h>
#include <stdio.h>
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

/* A reflected CRC as polynomials over GF(2) modulo P: the top bit of a w-bit value is the
 * coefficient of x^0 and multiplying by x is a right shift (reducing by P on carry-out). */
typedef struct crc_model {
    uint64_t poly; /* reflected, without the x^w term */
    uint64_t top;  /* 1 << (w - 1): the polynomial 1 */
    /* x^(2^k) mod P for k = 0..66: enough for x^(8n) with any 64-bit n. */
    uint64_t x2k[67];
} crc_model;

static crc_model model32c, model64;

static void build_model(crc_model *m, uint64_t poly, unsigned width);

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
    build_model(&model32c, CRC32C_POLY, 32);
    build_model(&model64, CRC64NVME_POLY, 64);
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

/* ---- combining ----
 * For A||B the CRC register after A is fed B's bytes; by linearity that equals feeding B
 * from the initial register, XORed with the register difference advanced over len(B) zero
 * bytes, which is multiplication by x^(8 len(B)) mod P. With init == xorout == ~0 the
 * difference is exactly crc(A), so crc(A||B) = crc(A) * x^(8 len(B)) + crc(B). */

static uint64_t gf_mul(const crc_model *m, uint64_t a, uint64_t b)
{
    uint64_t p = 0;
    for (uint64_t bit = m->top; bit != 0 && a != 0; bit >>= 1) {
        if (a & bit) {
            p ^= b;
            a ^= bit;
        }
        b = (b & 1) ? (b >> 1) ^ m->poly : b >> 1;
    }
    return p;
}

static void build_model(crc_model *m, uint64_t poly, unsigned width)
{
    m->poly = poly;
    m->top = UINT64_C(1) << (width - 1);
    m->x2k[0] = m->top >> 1; /* x^1 */
    for (size_t k = 1; k < sizeof m->x2k / sizeof m->x2k[0]; k++)
        m->x2k[k] = gf_mul(m, m->x2k[k - 1], m->x2k[k - 1]);
}

/* crc * x^(8 len) mod P, one multiplication per set bit of len. */
static uint64_t gf_shift_bytes(const crc_model *m, uint64_t crc, uint64_t len)
{
    for (size_t k = 3; len != 0; k++, len >>= 1)
        if (len & 1)
            crc = gf_mul(m, m->x2k[k], crc);
    return crc;
}

uint32_t cf_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    /* z_off_t is 64-bit here; no object comes near 2^63 bytes. */
    return (uint32_t)crc32_combine((uLong)crc_a, (uLong)crc_b, (z_off_t)len_b);
}

uint32_t cf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    pthread_once(&tables_once, build_tables);
    return (uint32_t)gf_shift_bytes(&model32c, crc_a, len_b) ^ crc_b;
}

uint64_t cf_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    pthread_once(&tables_once, build_tables);
    return gf_shift_bytes(&model64, crc_a, len_b) ^ crc_b;
}

bool cf_ck_is_crc(cf_ck_alg alg)
{
    return alg == CF_CK_CRC32 || alg == CF_CK_CRC32C || alg == CF_CK_CRC64NVME;
}

cf_rc cf_ck_combine(cf_ck_alg alg, uint64_t crc_a, uint64_t crc_b, uint64_t len_b, uint64_t *out)
{
    switch (alg) {
    case CF_CK_CRC32:
        *out = cf_crc32_combine((uint32_t)crc_a, (uint32_t)crc_b, len_b);
        return CF_OK;
    case CF_CK_CRC32C:
        *out = cf_crc32c_combine((uint32_t)crc_a, (uint32_t)crc_b, len_b);
        return CF_OK;
    case CF_CK_CRC64NVME:
        *out = cf_crc64nvme_combine(crc_a, crc_b, len_b);
        return CF_OK;
    case CF_CK_NONE:
    case CF_CK_SHA1:
    case CF_CK_SHA256:
        break;
    }
    return CF_EINVAL;
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

uint64_t cf_ck_crc_value(cf_ck_alg alg, const uint8_t *digest)
{
    uint64_t v = 0;
    size_t len = cf_ck_is_crc(alg) ? algs[alg].len : 0;
    for (size_t i = 0; i < len; i++)
        v = (v << 8) | digest[i];
    return v;
}

/* ---- multipart ---- */

cf_ck_type cf_ck_type_from_name(cf_str name)
{
    if (cf_str_ieq_c(name, "COMPOSITE"))
        return CF_CK_COMPOSITE;
    if (cf_str_ieq_c(name, "FULL_OBJECT"))
        return CF_CK_FULL_OBJECT;
    return CF_CK_TYPE_NONE;
}

const char *cf_ck_type_name(cf_ck_type t)
{
    switch (t) {
    case CF_CK_COMPOSITE:
        return "COMPOSITE";
    case CF_CK_FULL_OBJECT:
        return "FULL_OBJECT";
    case CF_CK_TYPE_NONE:
        break;
    }
    return "";
}

bool cf_ck_type_supported(cf_ck_alg alg, cf_ck_type t)
{
    switch (t) {
    case CF_CK_COMPOSITE:
        return valid(alg) && alg != CF_CK_CRC64NVME;
    case CF_CK_FULL_OBJECT:
        return cf_ck_is_crc(alg);
    case CF_CK_TYPE_NONE:
        break;
    }
    return false;
}

cf_rc cf_ck_mp_init(cf_ck_mp *m, cf_ck_alg alg, cf_ck_type type)
{
    memset(m, 0, sizeof *m);
    if (!cf_ck_type_supported(alg, type))
        return CF_EINVAL;
    m->alg = alg;
    m->type = type;
    return type == CF_CK_COMPOSITE ? cf_ck_init(&m->inner, alg) : CF_OK;
}

cf_rc cf_ck_mp_add(cf_ck_mp *m, const uint8_t *part_ck, size_t len, uint64_t part_size)
{
    if (m->type == CF_CK_TYPE_NONE || len != cf_ck_len(m->alg) || m->nparts == UINT32_MAX)
        return CF_EINVAL;
    if (m->type == CF_CK_COMPOSITE)
        cf_ck_update(&m->inner, part_ck, len);
    else /* the CRC of nothing is 0, so the first part needs no special case */
        cf_ck_combine(m->alg, m->crc, cf_ck_crc_value(m->alg, part_ck), part_size, &m->crc);
    m->nparts++;
    return CF_OK;
}

cf_rc cf_ck_mp_add_b64(cf_ck_mp *m, cf_str part_ck_b64, uint64_t part_size)
{
    uint8_t raw[CF_CK_MAX_LEN];
    size_t n = 0;
    if (!cf_b64_decode(part_ck_b64, raw, sizeof raw, &n))
        return CF_EINVAL;
    return cf_ck_mp_add(m, raw, n, part_size);
}

size_t cf_ck_mp_final(cf_ck_mp *m, uint8_t out[CF_CK_MAX_LEN])
{
    size_t len = 0;
    if (m->type == CF_CK_COMPOSITE) {
        len = cf_ck_final(&m->inner, out);
    } else if (m->type == CF_CK_FULL_OBJECT) {
        len = algs[m->alg].len;
        put_be(out, m->crc, len);
    }
    cf_ck_mp_free(m);
    return len;
}

void cf_ck_mp_final_b64(cf_ck_mp *m, char out[CF_CK_MP_B64_MAX])
{
    uint8_t d[CF_CK_MAX_LEN];
    bool composite = m->type == CF_CK_COMPOSITE;
    uint32_t nparts = m->nparts;
    size_t n = cf_ck_mp_final(m, d);
    size_t len = cf_b64_encode(d, n, out);
    if (composite)
        snprintf(out + len, CF_CK_MP_B64_MAX - len, "-%u", (unsigned)nparts);
}

void cf_ck_mp_free(cf_ck_mp *m)
{
    cf_ck_free(&m->inner);
}
