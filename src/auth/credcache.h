/* What authenticating and authorizing a stored credential needs (its row with secrets opened,
 * its ancestor chain and their parsed policies), loaded once and shared by the requests that
 * follow. An entry is valid for one credential epoch of the metadata store, which every
 * credential write moves on, so a revocation, rotation or policy change acts on the very next
 * request. Status and time windows are still checked on every use; only storage reads,
 * unsealing and policy parsing are saved. */
#ifndef COFFER_AUTH_CREDCACHE_H
#define COFFER_AUTH_CREDCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/cred.h"
#include "auth/policy.h"
#include "auth/sigv4.h"
#include "core/arena.h"
#include "meta/meta.h"

#define CF_CREDCACHE_MAX_CHAIN 32 /* = CF_MAX_CHAIN */

typedef struct cf_cred_entry {
    cf_cred cred; /* chain[0] with its secrets opened (empty without a keyring) */
    cf_cred_row *chain;
    size_t nchain;
    /* The parsed policy of chain[i]; when one does not parse, npolicies stops before it and
     * policy_error says which (authorization then fails, authentication need not). */
    const cf_policy *policies[CF_CREDCACHE_MAX_CHAIN];
    size_t npolicies;
    const char *policy_error;
    /* Signing keys derived from cred.secret and cred.old_secret, remembered per scope (only
     * in cached entries: memoized). */
    bool memoized;
    cf_sigv4_keymemo memo[2];
    _Atomic int64_t touched_ms; /* last time last_used was written (s3/auth.c) */
} cf_cred_entry;

typedef struct cf_credcache cf_credcache;

/* A cache of at most `slots` entries (0: caching off, every get loads afresh). kr opens the
 * secrets; m must outlive the cache. NULL on allocation failure. */
cf_credcache *cf_credcache_new(cf_meta *m, const cf_keyring *kr, size_t slots);
void cf_credcache_free(cf_credcache *cc);

/* The entry of credential id, from the cache when its epoch is current, else loaded (and
 * cached). It stays valid until arena a is destroyed. CF_ENOTFOUND: no such credential, or an
 * ancestor is gone; CF_EIO: storage failure or a secret that does not open; CF_ENOMEM. */
cf_rc cf_credcache_get(cf_credcache *cc, cf_str id, cf_arena *a, cf_cred_entry **out);

/* Loads an entry into arena a without any cache (kr NULL: secrets stay sealed). */
cf_rc cf_cred_entry_load(cf_meta *m, const cf_keyring *kr, cf_str id, cf_arena *a,
                         cf_cred_entry *out);

#endif
