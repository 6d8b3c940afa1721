/* The object checksums S3 knows: CRC32 (zlib), CRC32C, CRC64NVME, SHA1, SHA256. Values
 * travel base64-encoded in x-amz-checksum-<alg> headers and trailers. */
#ifndef COFFER_CORE_CHECKSUM_H
#define COFFER_CORE_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/str.h"

typedef enum cf_ck_alg {
    CF_CK_NONE = 0,
    CF_CK_CRC32,
    CF_CK_CRC32C,
    CF_CK_CRC64NVME,
    CF_CK_SHA1,
    CF_CK_SHA256,
} cf_ck_alg;

#define CF_CK_MAX_LEN 32 /* bytes of the largest digest */

/* "x-amz-checksum-crc32" (any case) -> CF_CK_CRC32; CF_CK_NONE if not one. */
cf_ck_alg cf_ck_from_header(cf_str name);
/* "CRC32" (any case), as in x-amz-sdk-checksum-algorithm -> CF_CK_CRC32. */
cf_ck_alg cf_ck_from_name(cf_str name);
const char *cf_ck_header(cf_ck_alg alg); /* "x-amz-checksum-crc32" */
const char *cf_ck_name(cf_ck_alg alg);   /* "CRC32" */
size_t cf_ck_len(cf_ck_alg alg);         /* digest bytes: 4, 4, 8, 20, 32 */

typedef struct cf_ck {
    cf_ck_alg alg;
    uint64_t crc;
    cf_hash *h; /* SHA1/SHA256 */
} cf_ck;

/* CF_ENOMEM for SHA algorithms if allocation fails. cf_ck_final frees what init took;
 * cf_ck_free is for abandoning one without final. */
cf_rc cf_ck_init(cf_ck *c, cf_ck_alg alg);
void cf_ck_update(cf_ck *c, const void *p, size_t n);
size_t cf_ck_final(cf_ck *c, uint8_t out[CF_CK_MAX_LEN]); /* big-endian for CRCs */
void cf_ck_free(cf_ck *c);
/* base64 of the final digest into out (NUL-terminated). */
void cf_ck_final_b64(cf_ck *c, char out[48]);

/* Raw CRC primitives (reflected, with the usual init/xorout), for tests and combining. */
uint32_t cf_crc32c(uint32_t crc, const void *p, size_t n);
uint64_t cf_crc64nvme(uint64_t crc, const void *p, size_t n);

/* crc(A||B) from crc(A), crc(B) and the length of B, for finished CRC values as the
 * functions above (and zlib's crc32) return them. Cost grows with log2(len_b), not len_b. */
uint32_t cf_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t cf_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint64_t cf_crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);
/* The same for a CRC algorithm (values in the low bits); CF_EINVAL for the others. */
cf_rc cf_ck_combine(cf_ck_alg alg, uint64_t crc_a, uint64_t crc_b, uint64_t len_b, uint64_t *out);
bool cf_ck_is_crc(cf_ck_alg alg);
/* A CRC digest as cf_ck_final wrote it (big-endian, cf_ck_len bytes) back to its value. */
uint64_t cf_ck_crc_value(cf_ck_alg alg, const uint8_t *digest);

/* ---- multipart object checksums, as S3 computes them from the parts' checksums ----
 * COMPOSITE: the algorithm applied to the concatenated binary part checksums, written
 *   "<base64>-<number of parts>"; any algorithm.
 * FULL_OBJECT: the checksum of the whole object, combined from the part CRCs and sizes,
 *   written "<base64>" like a single PUT's; CRC algorithms only.
 * x-amz-checksum-type / ChecksumType carry the type's name. */
typedef enum cf_ck_type {
    CF_CK_TYPE_NONE = 0,
    CF_CK_COMPOSITE,
    CF_CK_FULL_OBJECT,
} cf_ck_type;

cf_ck_type cf_ck_type_from_name(cf_str name); /* "COMPOSITE" / "FULL_OBJECT" (any case) */
const char *cf_ck_type_name(cf_ck_type t);    /* "" for NONE */
/* Whether S3 accepts that pair: CRC64NVME is FULL_OBJECT only, SHA* COMPOSITE only. */
bool cf_ck_type_supported(cf_ck_alg alg, cf_ck_type t);

/* "<base64 of 32 bytes>-10000" and its NUL fit. */
#define CF_CK_MP_B64_MAX 64

typedef struct cf_ck_mp {
    cf_ck_alg alg;
    cf_ck_type type;
    uint32_t nparts;
    cf_ck inner;  /* COMPOSITE: over the raw part checksums */
    uint64_t crc; /* FULL_OBJECT: combined so far */
} cf_ck_mp;

/* CF_EINVAL for an unsupported pair, CF_ENOMEM as cf_ck_init. cf_ck_mp_final frees what
 * init took; cf_ck_mp_free is for abandoning one. */
cf_rc cf_ck_mp_init(cf_ck_mp *m, cf_ck_alg alg, cf_ck_type type);
/* Adds the next part, in part order: its raw checksum (cf_ck_len bytes, else CF_EINVAL)
 * and its size in bytes (used by FULL_OBJECT only). */
cf_rc cf_ck_mp_add(cf_ck_mp *m, const uint8_t *part_ck, size_t len, uint64_t part_size);
/* The same from the base64 form a client sends; CF_EINVAL if malformed. */
cf_rc cf_ck_mp_add_b64(cf_ck_mp *m, cf_str part_ck_b64, uint64_t part_size);
/* The object's raw digest (for COMPOSITE without the part count); returns its length. */
size_t cf_ck_mp_final(cf_ck_mp *m, uint8_t out[CF_CK_MAX_LEN]);
/* The value as S3 writes it in x-amz-checksum-<alg> (NUL-terminated). */
void cf_ck_mp_final_b64(cf_ck_mp *m, char out[CF_CK_MP_B64_MAX]);
void cf_ck_mp_free(cf_ck_mp *m);

#endif
