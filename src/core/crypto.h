/* Thin wrappers over OpenSSL libcrypto: hashes, HMAC, randomness, base64, AES-256-GCM. */
#ifndef COFFER_CORE_CRYPTO_H
#define COFFER_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rc.h"
#include "core/str.h"

#define CF_SHA256_LEN 32
#define CF_MD5_LEN 16
#define CF_SHA1_LEN 20

void cf_sha256(const void *p, size_t n, uint8_t out[CF_SHA256_LEN]);
void cf_sha256_hex(const void *p, size_t n, char out[2 * CF_SHA256_LEN + 1]);
void cf_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    uint8_t out[CF_SHA256_LEN]);

/* Streaming digest. cf_hash_new returns NULL on allocation failure; free with cf_hash_free
 * (NULL is a no-op). cf_hash_final may be called once; it returns the digest length. */
typedef enum cf_hash_alg { CF_HASH_MD5, CF_HASH_SHA1, CF_HASH_SHA256 } cf_hash_alg;
typedef struct cf_hash cf_hash;
cf_hash *cf_hash_new(cf_hash_alg alg);
void cf_hash_update(cf_hash *h, const void *p, size_t n);
size_t cf_hash_final(cf_hash *h, uint8_t *out);
void cf_hash_free(cf_hash *h);

/* Cryptographically secure random bytes; CF_EIO if the RNG fails. */
cf_rc cf_random(void *out, size_t n);

/* Standard base64 with padding. out must hold cf_b64_enclen(n)+1 bytes; NUL-terminated. */
size_t cf_b64_enclen(size_t n);
size_t cf_b64_encode(const uint8_t *in, size_t n, char *out);
/* Strict decode (padding required, no whitespace). Returns false if malformed or if the
 * result would exceed outcap. */
bool cf_b64_decode(cf_str in, uint8_t *out, size_t outcap, size_t *outlen);

/* AES-256-GCM. seal: out = 12-byte nonce | ciphertext | 16-byte tag, so outcap must be
 * n + 28. aad may be NULL. open: the reverse; false if the tag does not verify. */
#define CF_GCM_OVERHEAD 28
cf_rc cf_aead_seal(const uint8_t key[32], const void *aad, size_t aadlen, const void *in,
                   size_t n, uint8_t *out);
bool cf_aead_open(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *in,
                  size_t n, uint8_t *out, size_t *outlen);

#endif
