/* POST /v1/temporary-credentials: a temporary credential derived from the caller or one of
 * its descendants. Nothing is stored: the session token is the credential (auth/sts.h). */
#include <string.h>

#include "auth/sts.h"
#include "core/clock.h"
#include "admin/admin_int.h"

#define DEFAULT_TTL_S 3600

static const char *const temp_keys[] = {"credential_id", "ttl_seconds", "policy", "permission",
                                        "buckets",       "prefixes",    NULL};

static bool ask_parent(cf_admin_req *q, json_t *body, cf_str *parent)
{
    json_t *v = json_object_get(body, "credential_id");
    *parent = q->principal.chain[0].id;
    if (v == NULL)
        return true;
    if (!json_is_string(v)) {
        cf_admin_error(q, 400, "invalid_request", "credential_id",
                       "credential_id must be a string.");
        return false;
    }
    *parent = cf_str_make(json_string_value(v), json_string_length(v));
    return cf_admin_in_subtree(q, *parent, "credential_id");
}

static bool ask_ttl(cf_admin_req *q, json_t *body, int64_t *ttl_s)
{
    json_t *v = json_object_get(body, "ttl_seconds");
    *ttl_s = DEFAULT_TTL_S;
    if (v == NULL)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > CF_TEMP_MAX_TTL_S) {
        cf_admin_error(q, 400, "invalid_request", "ttl_seconds",
                       "ttl_seconds must be an integer from 1 to %d.", CF_TEMP_MAX_TTL_S);
        return false;
    }
    *ttl_s = json_integer_value(v);
    return true;
}

/* The asked policy (empty: exactly the parent's rights), within every policy on the parent's
 * chain, which must be active; *expires_ms is capped at the chain's earliest expiry. */
static bool ask_policy(cf_admin_req *q, json_t *body, cf_str parent, int64_t *expires_ms,
                       cf_str *policy)
{
    const cf_policy *pols[CF_MAX_CHAIN];
    size_t npols = 0;
    int64_t min_exp = 0;
    if (!cf_admin_parent_chain(q, parent, pols, &npols, &min_exp) ||
        !cf_admin_child_policy(q, body, "", CF_STR_NULL, false, pols, npols, policy))
        return false;
    /* The policy travels inside the session token, which has a hard size. */
    if (policy->len > CF_TEMP_MAX_POLICY) {
        cf_admin_error(q, 400, "invalid_request",
                       json_object_get(body, "policy") ? "policy" : "buckets",
                       "The policy is %zu bytes; a temporary credential holds at most %u.",
                       policy->len, CF_TEMP_MAX_POLICY);
        return false;
    }
    if (min_exp != 0 && min_exp < *expires_ms)
        *expires_ms = min_exp;
    return true;
}

static json_t *answer(const cf_temp_cred *t, cf_str token)
{
    json_error_t jerr;
    json_t *pol = t->policy.len ? json_loadb(t->policy.p, t->policy.len, 0, &jerr) : json_null();
    return json_pack("{s:s%, s:s%, s:s%, s:o, s:s%, s:o}", "access_key_id", t->access_key.p,
                     t->access_key.len, "secret_access_key", t->secret.p, t->secret.len,
                     "session_token", token.p, token.len, "expires_at",
                     cf_admin_time(t->expires_ms), "parent_id", t->parent_id.p, t->parent_id.len,
                     "policy", pol);
}

void cf_admin_temp_create(cf_admin_req *q)
{
    cf_str parent, policy, token;
    int64_t ttl_s;
    cf_temp_cred t;
    char ts[25];
    /* Every field is optional: no body at all asks for the defaults. */
    if (q->json == NULL)
        q->json = json_object();
    json_t *body = cf_admin_body(q);
    if (body == NULL || !cf_admin_only_keys(q, body, "", temp_keys) ||
        !ask_parent(q, body, &parent) || !ask_ttl(q, body, &ttl_s))
        return;
    const char *arn =
        cf_arena_printf(q->arena, "arn:coffer:admin:::credential/%.*s", CF_STR_FMT(parent));
    if (arn == NULL) {
        cf_admin_error(q, 500, "internal", NULL, "Out of memory.");
        return;
    }
    int64_t now = cf_now_ms(), expires = now + ttl_s * 1000;
    if (!cf_admin_allowed(q, "admin:CreateTemporaryCredential", arn) ||
        !ask_policy(q, body, parent, &expires, &policy))
        return;
    cf_rc rc = cf_temp_issue(q->ad->keyring, parent, policy, now, expires, q->arena, &t, &token);
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Issuing the temporary credential failed: %s.",
                       cf_rc_str(rc));
        return;
    }
    cf_time_iso8601(t.expires_ms, ts);
    cf_admin_audit(q, "admin:CreateTemporaryCredential", parent, "ok",
                   json_pack("{s:s%, s:s}", "access_key_id", t.access_key.p, t.access_key.len,
                             "expires_at", ts));
    cf_admin_json(q, 201, answer(&t, token));
}
