/* Credentials at rest and at start-up: the master key, sealing of secrets, the root
 * credential, and lookup of a signing credential with its secrets opened. */
#ifndef COFFER_AUTH_CRED_H
#define COFFER_AUTH_CRED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/rc.h"
#include "core/str.h"
#include "meta/meta.h"

#define CF_ACCESS_KEY_LEN 20 /* "CF" + 18 of [A-Z2-7] */
#define CF_SECRET_KEY_LEN 40 /* [A-Za-z0-9] */

typedef struct cf_keyring {
    uint8_t master[32];
} cf_keyring;

/* The master key: COFFER_MASTER_KEY (64 hex chars) if set, else <data_dir>/master.key
 * (created with 32 random bytes, mode 0600, on first start). CF_EINVAL if malformed. */
cf_rc cf_keyring_load(const char *data_dir, cf_keyring *out);

/* Seals a secret with AES-256-GCM under the master key, bound to the credential id (AAD),
 * as base64 in arena memory; open does the reverse (CF_EINVAL if it does not verify). */
cf_rc cf_secret_seal(const cf_keyring *kr, cf_str cred_id, cf_str secret, cf_arena *a,
                     cf_str *sealed);
cf_rc cf_secret_open(const cf_keyring *kr, cf_str cred_id, cf_str sealed, cf_arena *a,
                     cf_str *secret);

/* New random identifiers: access key id (20), secret (40), bearer token ("cft_" + 43). */
cf_rc cf_cred_new_access_key(char out[CF_ACCESS_KEY_LEN + 1]);
cf_rc cf_cred_new_secret(char out[CF_SECRET_KEY_LEN + 1]);
cf_rc cf_cred_new_token(char out[48]);
/* Hex SHA-256 of a bearer token, as stored. */
void cf_cred_token_hash(cf_str token, char out[65]);

typedef struct cf_root_info {
    bool created; /* false: it already existed, secrets below are empty */
    char access_key[CF_ACCESS_KEY_LEN + 1 + 108];
    char secret[CF_SECRET_KEY_LEN + 1 + 108];
    char token[256];
} cf_root_info;

/* On an empty credential table, creates the root credential (policy: everything) from
 * COFFER_ROOT_ACCESS_KEY_ID / COFFER_ROOT_SECRET_ACCESS_KEY / COFFER_ROOT_TOKEN when set
 * (validated: 3..128 chars of [A-Za-z0-9_.-] for the id, 8..128 printable for secrets),
 * else random ones; out gets them to print once. */
cf_rc cf_cred_bootstrap_root(cf_meta *m, const cf_keyring *kr, int64_t now_ms, cf_root_info *out);

/* A signing credential with its secrets opened (arena memory). */
typedef struct cf_cred {
    cf_cred_row row;
    cf_str secret;
    cf_str old_secret; /* non-empty during a rotation grace period */
} cf_cred;

/* Loads the credential by access key id: CF_ENOTFOUND if unknown. Status, time window and
 * ancestors are the caller's to check (see authz). */
cf_rc cf_cred_lookup(cf_meta *m, const cf_keyring *kr, cf_str access_key, cf_arena *a,
                     cf_cred *out);
/* Opens the secrets of a row already read (into arena a; out->row copies *row). CF_EIO if a
 * sealed secret does not open under kr. */
cf_rc cf_cred_open_row(const cf_keyring *kr, const cf_cred_row *row, cf_arena *a, cf_cred *out);

#endif
