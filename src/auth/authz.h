/* Authorization: a principal is a credential with its whole ancestor chain (and, for a
 * temporary credential, the temporary policy on top). A request is allowed only when every
 * policy on the chain allows it and none denies it. A credential disabled, expired or deleted
 * anywhere up the chain stops the next request: the chain comes from the store or from a
 * cache entry of the current credential epoch (auth/credcache.h), and every state that
 * depends on time is checked on each request. */
#ifndef COFFER_AUTH_AUTHZ_H
#define COFFER_AUTH_AUTHZ_H

#include <stdbool.h>

#include "auth/credcache.h"
#include "auth/policy.h"
#include "auth/sts.h"
#include "meta/meta.h"

#define CF_MAX_CHAIN 32 /* delegation depth */

typedef struct cf_principal {
    cf_str id;          /* the acting access key id (a temporary one for temp credentials) */
    cf_cred_row *chain; /* chain[0]: the stored credential acting (a temp's parent); root last */
    size_t nchain;
    const cf_policy *policies[CF_MAX_CHAIN + 1];
    size_t npolicies;
    bool temporary;
    int64_t expires_ms; /* the earliest expiry on the chain (and of the temp), 0 if none */
} cf_principal;

typedef enum cf_principal_rc {
    CF_PRINCIPAL_OK = 0,
    CF_PRINCIPAL_UNKNOWN,   /* no such credential (or an ancestor is gone) */
    CF_PRINCIPAL_INACTIVE,  /* disabled, expired or not yet valid somewhere on the chain */
    CF_PRINCIPAL_IP,        /* the source address is outside an allowed_ips list */
    CF_PRINCIPAL_ERROR,     /* storage failure or a stored policy that does not parse */
} cf_principal_rc;

/* Loads and checks the chain of cred_id (for a temporary credential: of temp->parent_id, with
 * temp's own policy and expiry on top). source_ip is the client's address. *why gets a
 * static explanation for logs and audit. Everything lives in arena a. */
cf_principal_rc cf_principal_load(cf_meta *m, cf_str cred_id, const cf_temp_cred *temp,
                                  cf_str source_ip, int64_t now_ms, cf_arena *a,
                                  cf_principal *out, const char **why);

/* The same from a loaded entry of the credential (for a temporary credential: of its parent):
 * out points into e, which must outlive it. */
cf_principal_rc cf_principal_from_entry(const cf_cred_entry *e, cf_str cred_id,
                                        const cf_temp_cred *temp, cf_str source_ip,
                                        int64_t now_ms, cf_arena *a, cf_principal *out,
                                        const char **why);

/* Every policy allows and none denies. */
bool cf_principal_allows(const cf_principal *p, const cf_authz_req *r);
/* For ListBuckets filtering: every policy may touch the bucket. */
bool cf_principal_may_touch_bucket(const cf_principal *p, cf_str bucket);
/* The root of the principal's tree (bucket owner). */
cf_str cf_principal_root(const cf_principal *p);

/* Checks a stored credential row's own state (status, time window) at now_ms. */
bool cf_cred_row_active(const cf_cred_row *c, int64_t now_ms);
/* Whether ip is in the JSON array of CIDRs allowed_ips (empty or "[]": any). */
bool cf_cred_ip_allowed(cf_str allowed_ips_json, cf_str ip);

#endif
