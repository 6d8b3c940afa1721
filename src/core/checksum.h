/* The object checksums S3 knows: CRC32 (zlib), CRC32C, CRC64NVME, SHA1, SHA256. Values
 * travel base64-encoded in x-amz-checksum-<alg> headers and trailers. */
#ifndef COFFER_CORE_CHECKSUM_H
#define COFFER_CORE_CHECKSUM_H

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

#endif
