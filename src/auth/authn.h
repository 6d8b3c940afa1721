/* Authentication of S3 requests: which credential signed this, and is the signature good.
 * Authorization (what that credential may do) is authz's job. */
#ifndef COFFER_AUTH_AUTHN_H
#define COFFER_AUTH_AUTHN_H

#include "auth/cred.h"
#include "auth/credcache.h"
#include "auth/sigv2.h"
#include "auth/sts.h"
#include "auth/sigv4.h"
#include "core/buf.h"
#include "meta/meta.h"

typedef struct cf_auth {
    cf_meta *meta;
    const cf_keyring *keyring;
    const char *region;
    cf_credcache *cache; /* optional: without it every request reads the store */
} cf_auth;

typedef struct cf_authn_result {
    cf_sigv4_auth sig;  /* what the request claimed */
    cf_cred cred;       /* the signing credential, secrets opened */
    uint8_t signing_key[32];
    /* Static text for the error when the table's says too little ("Request has expired"),
     * else NULL. */
    const char *message;
    /* With a session token (X-Amz-Security-Token): the temporary credential it carries.
     * cred.row then holds only id (the temporary key) and parent_id. */
    bool temporary;
    cf_temp_cred temp;
    /* The signing credential's cache entry (NULL for temporary credentials or without a
     * cache), pinned for the request: authorization reuses its chain. */
    cf_cred_entry *entry;
} cf_authn_result;

/* Verifies a signed request (session_token: X-Amz-Security-Token, or empty; a bad one is
 * InvalidToken, an expired one ExpiredToken): the credential must exist and be active and inside its time
 * window; the signature must verify against its secret (or, during a rotation grace, its
 * previous secret). sig must already be parsed (header or query form). canon and sts get
 * the canonical request and string to sign for SignatureDoesNotMatch answers.
 * Everything returned lives in arena a. */
cf_s3err cf_auth_verify(const cf_auth *au, const cf_sigv4_request *req, const cf_sigv4_auth *sig,
                        cf_str session_token, int64_t now_ms, cf_arena *a, cf_authn_result *out,
                        cf_buf *canon, cf_buf *sts);

/* The same for Signature Version 2 (header or presigned form, sig already parsed): same
 * credential checks, then cf_sigv2_verify with the current secret and, during a rotation
 * grace, the previous one. out->sig gets presigned, access_key, signature and expires_s
 * (the rest empty); signing_key stays zero: V2 has no aws-chunked streaming, so the caller
 * must refuse STREAMING-* payloads for these requests. out->message may explain the error.
 * sts gets the string to sign for SignatureDoesNotMatch answers (give it a max of
 * CF_SIGV2_MAX_STS; it is left empty if it does not fit). Everything lives in arena a. */
cf_s3err cf_auth_verify_v2(const cf_auth *au, const cf_sigv2_request *req, const cf_sigv2_auth *sig,
                           cf_str session_token, int64_t now_ms, cf_arena *a, cf_authn_result *out,
                           cf_buf *sts);

#endif
