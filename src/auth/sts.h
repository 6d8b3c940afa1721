/* Temporary credentials: self-contained, so issuing one writes nothing. The session token
 * is the credential itself (parent id, access key id, secret, policy, times) sealed with
 * AES-256-GCM under a key derived from the master key; the server opens it on every request
 * and then checks the parent chain as for any credential, so it dies with its parent. */
#ifndef COFFER_AUTH_STS_H
#define COFFER_AUTH_STS_H

#include <stdint.h>

#include "auth/cred.h"
#include "core/arena.h"
#include "core/str.h"

#define CF_TEMP_KEY_PREFIX "CT" /* access key ids of temporary credentials */
#define CF_TEMP_MAX_TTL_S 604800
#define CF_TEMP_MAX_POLICY (16u << 10)

typedef struct cf_temp_cred {
    cf_str access_key; /* "CT" + 18 */
    cf_str secret;
    cf_str parent_id;
    cf_str policy; /* IAM JSON narrowing the parent's rights, or empty */
    int64_t issued_ms;
    int64_t expires_ms;
} cf_temp_cred;

/* Mints a temporary credential; out and *token live in arena a. policy may be empty. */
cf_rc cf_temp_issue(const cf_keyring *kr, cf_str parent_id, cf_str policy, int64_t now_ms,
                    int64_t expires_ms, cf_arena *a, cf_temp_cred *out, cf_str *token);
/* Opens a session token: CF_EINVAL if it is malformed, tampered with or not ours. Expiry is
 * the caller's to check. */
cf_rc cf_temp_open(const cf_keyring *kr, cf_str token, cf_arena *a, cf_temp_cred *out);

#endif
