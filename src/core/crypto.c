#include "core/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Explicitly fetched algorithms, once per process: implicit fetches on every init are slow. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_md5, *md_sha1, *md_sha256;
static EVP_CIPHER *cipher_gcm;

static void fetch_all(void)
{
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_MD *md_for(cf_hash_alg alg)
{
    pthread_once(&fetch_once, fetch_all);
    switch (alg) {
    case CF_HASH_MD5:
        return md_md5 ? md_md5 : EVP_md5();
    case CF_HASH_SHA1:
        return md_sha1 ? md_sha1 : EVP_sha1();
    case CF_HASH_SHA256:
        break;
    }
    return md_sha256 ? md_sha256 : EVP_sha256();
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&fetch_once, fetch_all);
    return cipher_gcm ? cipher_gcm : EVP_aes_256_gcm();
}

void cf_sha256(const void *p, size_t n, uint8_t out[CF_SHA256_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, md_for(CF_HASH_SHA256), NULL))
        abort(); /* only on internal OpenSSL failure; a wrong digest would be worse */
}

void cf_sha256_hex(const void *p, size_t n, char out[2 * CF_SHA256_LEN + 1])
{
    uint8_t d[CF_SHA256_LEN];
    cf_sha256(p, n, d);
    cf_hex_encode(d, sizeof(d), out);
}

/* HMAC() fetches the MAC and parses its parameters on every call, several times the cost of
 * hashing a short message; SigV4 computes five per request. Each thread keeps one context
 * set up for SHA-256 and only re-keys it. */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *mac_hmac;
static pthread_key_t hmac_ctx_key;

static void hmac_ctx_free(void *ctx)
{
    EVP_MAC_CTX_free(ctx);
}

static void hmac_init(void)
{
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac_hmac == NULL || pthread_key_create(&hmac_ctx_key, hmac_ctx_free) != 0)
        abort();
}

static EVP_MAC_CTX *hmac_ctx(void)
{
    pthread_once(&hmac_once, hmac_init);
    EVP_MAC_CTX *ctx = pthread_getspecific(hmac_ctx_key);
    if (ctx != NULL)
        return ctx;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    ctx = EVP_MAC_CTX_new(mac_hmac);
    if (ctx == NULL || !EVP_MAC_CTX_set_params(ctx, params) ||
        pthread_setspecific(hmac_ctx_key, ctx) != 0)
        abort();
    return ctx;
}

void cf_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    uint8_t out[CF_SHA256_LEN])
{
    EVP_MAC_CTX *ctx = hmac_ctx();
    size_t len = 0;
    /* A zero-length key must still be a key: NULL would mean "keep the previous one". */
    static const uint8_t empty;
    if (!EVP_MAC_init(ctx, keylen ? key : &empty, keylen, NULL) ||
        !EVP_MAC_update(ctx, msg, msglen) || !EVP_MAC_final(ctx, out, &len, CF_SHA256_LEN) ||
        len != CF_SHA256_LEN)
        abort(); /* only on internal OpenSSL failure */
}

struct cf_hash {
    EVP_MD_CTX *ctx;
};

cf_hash *cf_hash_new(cf_hash_alg alg)
{
    cf_hash *h = calloc(1, sizeof(*h));
    if (!h)
        goto fail;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md_for(alg), NULL))
        goto fail;
    return h;
fail:
    cf_hash_free(h);
    return NULL;
}

void cf_hash_update(cf_hash *h, const void *p, size_t n)
{
    if (n && !EVP_DigestUpdate(h->ctx, p, n))
        abort();
}

size_t cf_hash_final(cf_hash *h, uint8_t *out)
{
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(h->ctx, out, &len))
        abort();
    return len;
}

void cf_hash_free(cf_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

cf_rc cf_random(void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        int k = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, k) != 1)
            return CF_EIO;
        p += k;
        n -= (size_t)k;
    }
    return CF_OK;
}

/* ---- base64 ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cf_b64_enclen(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t cf_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64chars[v >> 18];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = b64chars[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool cf_b64_decode(cf_str in, uint8_t *out, size_t outcap, size_t *outlen)
{
    size_t o = 0;
    if (in.len % 4 != 0)
        return false;
    for (size_t i = 0; i < in.len; i += 4) {
        bool last = i + 4 == in.len;
        int v[4];
        size_t pad = 0, nout;
        uint32_t w;
        for (int k = 0; k < 4; k++) {
            unsigned char ch = (unsigned char)in.p[i + (size_t)k];
            if (ch == '=' && last && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after '=' */
                return false;
            v[k] = b64val(ch);
            if (v[k] < 0)
                return false;
        }
        w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical form only: the bits the padding hides must be zero. */
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF)))
            return false;
        nout = 3 - pad;
        if (outcap - o < nout)
            return false;
        out[o++] = (uint8_t)(w >> 16);
        if (nout > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (nout > 2)
            out[o++] = (uint8_t)w;
    }
    *outlen = o;
    return true;
}

/* ---- AES-256-GCM ---- */

#define NONCE_LEN 12
#define TAG_LEN   16

/* EVP update calls take int lengths; feed big inputs in pieces. */
static bool update_all(EVP_CIPHER_CTX *ctx, bool enc, uint8_t *out, const uint8_t *in, size_t n)
{
    while (n) {
        int k = n > (INT_MAX / 2) ? (INT_MAX / 2) : (int)n;
        int got = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, out, &got, in, k)
                     : EVP_DecryptUpdate(ctx, out, &got, in, k);
        if (!ok || got != k)
            return false;
        in += k;
        out += k;
        n -= (size_t)k;
    }
    return true;
}

static bool aad_all(EVP_CIPHER_CTX *ctx, bool enc, const uint8_t *aad, size_t n)
{
    while (n) {
        int k = n > (INT_MAX / 2) ? (INT_MAX / 2) : (int)n;
        int got = 0;
        int ok = enc ? EVP_EncryptUpdate(ctx, NULL, &got, aad, k)
                     : EVP_DecryptUpdate(ctx, NULL, &got, aad, k);
        if (!ok)
            return false;
        aad += k;
        n -= (size_t)k;
    }
    return true;
}

cf_rc cf_aead_seal(const uint8_t key[32], const void *aad, size_t aadlen, const void *in, size_t n,
                   uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    cf_rc rc = CF_EIO;
    int fin = 0;
    if (cf_random(out, NONCE_LEN) != CF_OK)
        goto out;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx) {
        rc = CF_ENOMEM;
        goto out;
    }
    if (!EVP_EncryptInit_ex2(ctx, gcm(), key, out, NULL))
        goto out;
    if (aad && !aad_all(ctx, true, aad, aadlen))
        goto out;
    if (!update_all(ctx, true, out + NONCE_LEN, in, n))
        goto out;
    if (!EVP_EncryptFinal_ex(ctx, out + NONCE_LEN + n, &fin))
        goto out;
    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + n))
        goto out;
    rc = CF_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

bool cf_aead_open(const uint8_t key[32], const void *aad, size_t aadlen, const uint8_t *in,
                  size_t n, uint8_t *out, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    bool ok = false;
    size_t clen;
    uint8_t tag[TAG_LEN];
    int fin = 0;
    if (n < CF_GCM_OVERHEAD)
        goto out;
    clen = n - CF_GCM_OVERHEAD;
    memcpy(tag, in + NONCE_LEN + clen, TAG_LEN);
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        goto out;
    if (!EVP_DecryptInit_ex2(ctx, gcm(), key, in, NULL))
        goto out;
    if (aad && !aad_all(ctx, false, aad, aadlen))
        goto out;
    if (!update_all(ctx, false, out, in + NONCE_LEN, clen))
        goto out;
    if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag))
        goto out;
    if (EVP_DecryptFinal_ex(ctx, out + clen, &fin) != 1)
        goto out;
    *outlen = clen;
    ok = true;
out:
    /* Never leave unauthenticated plaintext behind. */
    if (!ok && n > CF_GCM_OVERHEAD)
        memset(out, 0, n - CF_GCM_OVERHEAD);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
