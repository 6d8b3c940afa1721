#include "auth/sts.h"

#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"

#define TOKEN_PREFIX "CFST1"
#define TOKEN_MAX (64u << 10)
static const char aad[] = "coffer temporary credential v1";

/* A key of its own, so a token can never be confused with a sealed secret. */
static void temp_key(const cf_keyring *kr, uint8_t key[32])
{
    cf_hmac_sha256(kr->master, sizeof kr->master, aad, sizeof aad - 1, key);
}

static cf_rc put_field(cf_buf *b, cf_str s)
{
    uint8_t len[4] = {(uint8_t)(s.len >> 24), (uint8_t)(s.len >> 16), (uint8_t)(s.len >> 8),
                      (uint8_t)s.len};
    cf_rc rc = cf_buf_append(b, len, 4);
    return rc != CF_OK ? rc : cf_buf_append(b, s.p, s.len);
}

static cf_rc put_i64(cf_buf *b, int64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return cf_buf_append(b, x, 8);
}

static bool get_field(const uint8_t **p, const uint8_t *end, cf_arena *a, cf_str *out)
{
    if (end - *p < 4)
        return false;
    size_t n = ((size_t)(*p)[0] << 24) | ((size_t)(*p)[1] << 16) | ((size_t)(*p)[2] << 8) | (*p)[3];
    *p += 4;
    if ((size_t)(end - *p) < n)
        return false;
    *out = cf_arena_str(a, cf_str_make((const char *)*p, n));
    *p += n;
    return out->p != NULL;
}

static bool get_i64(const uint8_t **p, const uint8_t *end, int64_t *v)
{
    uint64_t x = 0;
    if (end - *p < 8)
        return false;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | (*p)[i];
    *p += 8;
    *v = (int64_t)x;
    return true;
}

cf_rc cf_temp_issue(const cf_keyring *kr, cf_str parent_id, cf_str policy, int64_t now_ms,
                    int64_t expires_ms, cf_arena *a, cf_temp_cred *out, cf_str *token)
{
    char ak[CF_ACCESS_KEY_LEN + 1], sk[CF_SECRET_KEY_LEN + 1];
    uint8_t key[32];
    cf_buf plain;
    uint8_t *sealed = NULL;
    char *tok = NULL;
    cf_rc rc;

    cf_buf_init(&plain, TOKEN_MAX);
    if (policy.len > CF_TEMP_MAX_POLICY) {
        rc = CF_ETOOBIG;
        goto out;
    }
    rc = cf_cred_new_access_key(ak);
    if (rc == CF_OK)
        rc = cf_cred_new_secret(sk);
    if (rc != CF_OK)
        goto out;
    memcpy(ak, CF_TEMP_KEY_PREFIX, 2);
    if ((rc = cf_buf_append_ch(&plain, 1)) != CF_OK || (rc = put_field(&plain, cf_str_c(ak))) != CF_OK ||
        (rc = put_field(&plain, cf_str_c(sk))) != CF_OK || (rc = put_field(&plain, parent_id)) != CF_OK ||
        (rc = put_field(&plain, policy)) != CF_OK || (rc = put_i64(&plain, now_ms)) != CF_OK ||
        (rc = put_i64(&plain, expires_ms)) != CF_OK)
        goto out;
    sealed = cf_arena_alloc(a, plain.len + CF_GCM_OVERHEAD);
    tok = cf_arena_alloc(a, sizeof TOKEN_PREFIX + cf_b64_enclen(plain.len + CF_GCM_OVERHEAD) + 1);
    if (sealed == NULL || tok == NULL) {
        rc = CF_ENOMEM;
        goto out;
    }
    temp_key(kr, key);
    rc = cf_aead_seal(key, aad, sizeof aad - 1, plain.p, plain.len, sealed);
    if (rc != CF_OK)
        goto out;
    memcpy(tok, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
    cf_b64_encode(sealed, plain.len + CF_GCM_OVERHEAD, tok + sizeof TOKEN_PREFIX - 1);
    *token = cf_str_c(tok);
    out->access_key = cf_arena_str(a, cf_str_c(ak));
    out->secret = cf_arena_str(a, cf_str_c(sk));
    out->parent_id = cf_arena_str(a, parent_id);
    out->policy = cf_arena_str(a, policy);
    out->issued_ms = now_ms;
    out->expires_ms = expires_ms;
    if (out->access_key.p == NULL || out->secret.p == NULL || out->parent_id.p == NULL ||
        out->policy.p == NULL)
        rc = CF_ENOMEM;
out:
    memset(key, 0, sizeof key);
    memset(sk, 0, sizeof sk);
    if (plain.p != NULL)
        memset(plain.p, 0, plain.len);
    cf_buf_free(&plain);
    return rc;
}

cf_rc cf_temp_open(const cf_keyring *kr, cf_str token, cf_arena *a, cf_temp_cred *out)
{
    uint8_t key[32];
    uint8_t *raw = NULL, *plain = NULL;
    size_t rawlen = 0, plen = 0;
    cf_rc rc = CF_EINVAL;
    if (token.len > TOKEN_MAX || !cf_str_starts_c(token, TOKEN_PREFIX))
        return CF_EINVAL;
    cf_str body = cf_str_sub(token, sizeof TOKEN_PREFIX - 1, token.len);
    raw = cf_arena_alloc(a, body.len + 1);
    plain = cf_arena_alloc(a, body.len + 1);
    if (raw == NULL || plain == NULL)
        return CF_ENOMEM;
    if (!cf_b64_decode(body, raw, body.len, &rawlen) || rawlen < CF_GCM_OVERHEAD + 1)
        return CF_EINVAL;
    temp_key(kr, key);
    bool ok = cf_aead_open(key, aad, sizeof aad - 1, raw, rawlen, plain, &plen);
    memset(key, 0, sizeof key);
    if (!ok || plen < 1 || plain[0] != 1)
        goto out;
    const uint8_t *p = plain + 1, *end = plain + plen;
    memset(out, 0, sizeof *out);
    if (!get_field(&p, end, a, &out->access_key) || !get_field(&p, end, a, &out->secret) ||
        !get_field(&p, end, a, &out->parent_id) || !get_field(&p, end, a, &out->policy) ||
        !get_i64(&p, end, &out->issued_ms) || !get_i64(&p, end, &out->expires_ms) || p != end)
        goto out;
    rc = CF_OK;
out:
    memset(plain, 0, plen);
    return rc;
}
