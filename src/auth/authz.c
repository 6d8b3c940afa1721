#include "auth/authz.h"

#include <string.h>

#include <jansson.h>

#include "core/cidr.h"
#include "core/log.h"

bool cf_cred_row_active(const cf_cred_row *c, int64_t now_ms)
{
    if (c->status != CF_CRED_ACTIVE)
        return false;
    if (c->not_before_ms != 0 && now_ms < c->not_before_ms)
        return false;
    if (c->expires_ms != 0 && now_ms >= c->expires_ms)
        return false;
    return true;
}

bool cf_cred_ip_allowed(cf_str allowed_ips_json, cf_str ip)
{
    json_error_t jerr;
    json_t *arr;
    bool ok = false;
    size_t i;
    json_t *v;
    if (allowed_ips_json.len == 0 || cf_str_eq_c(allowed_ips_json, "[]"))
        return true; /* the common case, without a parse per request */
    arr = json_loadb(allowed_ips_json.p, allowed_ips_json.len, 0, &jerr);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return false; /* a stored list we cannot read allows nobody */
    }
    if (json_array_size(arr) == 0)
        ok = true;
    json_array_foreach(arr, i, v)
    {
        cf_cidr n;
        if (json_is_string(v) &&
            cf_cidr_parse(cf_str_make(json_string_value(v), json_string_length(v)), true, &n) &&
            cf_cidr_contains(&n, ip)) {
            ok = true;
            break;
        }
    }
    json_decref(arr);
    return ok;
}

cf_principal_rc cf_principal_load(cf_meta *m, cf_str cred_id, const cf_temp_cred *temp,
                                  cf_str source_ip, int64_t now_ms, cf_arena *a,
                                  cf_principal *out, const char **why)
{
    cf_cred_entry *e = cf_arena_alloc(a, sizeof *e);
    cf_str start = temp != NULL ? temp->parent_id : cred_id;
    memset(out, 0, sizeof *out);
    *why = NULL;
    cf_rc rc = e != NULL ? cf_cred_entry_load(m, NULL, start, a, e) : CF_ENOMEM;
    if (rc == CF_ENOTFOUND) {
        *why = temp != NULL ? "the parent of the temporary credential is gone" : "unknown credential";
        return CF_PRINCIPAL_UNKNOWN;
    }
    if (rc != CF_OK) {
        cf_error("authz: loading the chain of %.*s: %s", CF_STR_FMT(start), cf_rc_str(rc));
        *why = "storage error";
        return CF_PRINCIPAL_ERROR;
    }
    return cf_principal_from_entry(e, cred_id, temp, source_ip, now_ms, a, out, why);
}

cf_principal_rc cf_principal_from_entry(const cf_cred_entry *e, cf_str cred_id,
                                        const cf_temp_cred *temp, cf_str source_ip,
                                        int64_t now_ms, cf_arena *a, cf_principal *out,
                                        const char **why)
{
    cf_policy_error perr;
    memset(out, 0, sizeof *out);
    *why = NULL;
    out->chain = e->chain;
    out->nchain = e->nchain;
    out->id = temp != NULL ? temp->access_key : cred_id;
    if (temp != NULL) {
        out->temporary = true;
        out->expires_ms = temp->expires_ms;
        if (now_ms >= temp->expires_ms) {
            *why = "the temporary credential has expired";
            return CF_PRINCIPAL_INACTIVE;
        }
        if (temp->policy.len > 0) {
            cf_policy *p;
            if (cf_policy_parse(a, temp->policy, &p, &perr) != CF_OK) {
                *why = "the temporary credential's policy does not parse";
                return CF_PRINCIPAL_ERROR;
            }
            out->policies[out->npolicies++] = p;
        }
    }
    for (size_t i = 0; i < out->nchain; i++) {
        const cf_cred_row *c = &out->chain[i];
        if (!cf_cred_row_active(c, now_ms)) {
            *why = i == 0 ? "the credential is disabled, expired or not yet valid"
                          : "an ancestor credential is disabled, expired or not yet valid";
            return CF_PRINCIPAL_INACTIVE;
        }
        if (!cf_cred_ip_allowed(c->allowed_ips, source_ip)) {
            *why = "the source address is not allowed for this credential";
            return CF_PRINCIPAL_IP;
        }
        if (c->expires_ms != 0 && (out->expires_ms == 0 || c->expires_ms < out->expires_ms))
            out->expires_ms = c->expires_ms;
    }
    if (e->npolicies < e->nchain) {
        *why = e->policy_error;
        return CF_PRINCIPAL_ERROR;
    }
    for (size_t i = 0; i < e->npolicies; i++)
        out->policies[out->npolicies++] = e->policies[i];
    return CF_PRINCIPAL_OK;
}

bool cf_principal_allows(const cf_principal *p, const cf_authz_req *r)
{
    if (p->npolicies == 0)
        return false;
    for (size_t i = 0; i < p->npolicies; i++)
        if (cf_policy_eval(p->policies[i], r) != CF_POLICY_ALLOW)
            return false;
    return true;
}

bool cf_principal_may_touch_bucket(const cf_principal *p, cf_str bucket)
{
    if (p->npolicies == 0)
        return false;
    for (size_t i = 0; i < p->npolicies; i++)
        if (!cf_policy_may_touch_bucket(p->policies[i], bucket))
            return false;
    return true;
}

cf_str cf_principal_root(const cf_principal *p)
{
    return p->nchain ? p->chain[p->nchain - 1].id : CF_STR_NULL;
}
