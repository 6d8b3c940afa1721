/* Authentication of S3 requests: which credential signed this, and is the signature good.
 * Authorization (what that credential may do) is authz's job. */
#ifndef COFFER_AUTH_AUTHN_H
#define COFFER_AUTH_AUTHN_H

#include "auth/cred.h"
#include "auth/sigv4.h"
#include "core/buf.h"
#include "meta/meta.h"

typedef struct cf_auth {
    cf_meta *meta;
    const cf_keyring *keyring;
    const char *region;
} cf_auth;

typedef struct cf_authn_result {
    cf_sigv4_auth sig;  /* what the request claimed */
    cf_cred cred;       /* the signing credential, secrets opened */
    uint8_t signing_key[32];
} cf_authn_result;

/* Verifies a signed request: the credential must exist and be active and inside its time
 * window; the signature must verify against its secret (or, during a rotation grace, its
 * previous secret). sig must already be parsed (header or query form). canon and sts get
 * the canonical request and string to sign for SignatureDoesNotMatch answers.
 * Everything returned lives in arena a. */
cf_s3err cf_auth_verify(const cf_auth *au, const cf_sigv4_request *req, const cf_sigv4_auth *sig,
                        int64_t now_ms, cf_arena *a, cf_authn_result *out, cf_buf *canon,
                        cf_buf *sts);

#endif
