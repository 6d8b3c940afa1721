/* Credential routes: self, create, list, get, patch, delete (subtree), rotate; and the
 * delegation checks shared with temporary credentials and bucket creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/clock.h"
#include "core/log.h"
#include "admin/admin_int.h"

#define NAME_MAX_LEN 128
#define MAX_TTL_S (10LL * 365 * 86400)
#define MAX_GRACE_S 604800
#define MAX_IPS 100

static cf_str caller_id(const cf_admin_req *q)
{
    return q->principal.chain[0].id;
}

static const char *cred_arn(cf_admin_req *q, cf_str id)
{
    const char *r = cf_arena_printf(q->arena, "arn:coffer:admin:::credential/%.*s", CF_STR_FMT(id));
    return r != NULL ? r : "arn:coffer:admin:::credential/?";
}

void cf_admin_health(cf_admin_req *q)
{
    cf_admin_json(q, 200, json_pack("{s:s}", "status", "ok"));
}

bool cf_admin_in_subtree(cf_admin_req *q, cf_str id, const char *field)
{
    bool in = false;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_in_subtree, caller_id(q), id, &in);
    if (rc != CF_OK && rc != CF_ENOTFOUND) {
        cf_admin_error(q, 500, "internal", NULL, "Credential lookup failed.");
        return false;
    }
    if (!in) {
        cf_admin_error(q, 404, "not_found", field, "No credential %.*s in your tree.",
                       CF_STR_FMT(id));
        return false;
    }
    return true;
}

bool cf_admin_parent_chain(cf_admin_req *q, cf_str parent_id, const cf_policy **pols,
                           size_t *npols, int64_t *min_expiry)
{
    cf_cred_row *chain = NULL;
    size_t n = 0;
    int64_t now = cf_now_ms();
    cf_policy_error perr;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_chain, parent_id, CF_MAX_CHAIN, q->arena, &chain, &n);
    if (rc == CF_ETOOBIG) {
        cf_admin_error(q, 409, "conflict", NULL, "Delegation deeper than %d levels.", CF_MAX_CHAIN);
        return false;
    }
    if (rc != CF_OK) {
        cf_admin_error(q, rc == CF_ENOTFOUND ? 404 : 500, rc == CF_ENOTFOUND ? "not_found" : "internal",
                       NULL, "Cannot load the credential chain of %.*s.", CF_STR_FMT(parent_id));
        return false;
    }
    *npols = 0;
    *min_expiry = 0;
    for (size_t i = 0; i < n; i++) {
        cf_policy *p;
        if (!cf_cred_row_active(&chain[i], now)) {
            cf_admin_error(q, 409, "conflict", NULL,
                           "Credential %.*s is disabled, expired or not yet valid.",
                           CF_STR_FMT(chain[i].id));
            return false;
        }
        if (cf_policy_parse(q->arena, chain[i].policy, &p, &perr) != CF_OK) {
            cf_admin_error(q, 500, "internal", NULL, "The stored policy of %.*s does not parse.",
                           CF_STR_FMT(chain[i].id));
            return false;
        }
        pols[(*npols)++] = p;
        if (chain[i].expires_ms && (*min_expiry == 0 || chain[i].expires_ms < *min_expiry))
            *min_expiry = chain[i].expires_ms;
    }
    return true;
}

static bool string_array(cf_admin_req *q, json_t *v, const char *field)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v)) {
        cf_admin_error(q, 400, "invalid_request", field, "%s must be an array of strings.", field);
        return false;
    }
    json_array_foreach(v, i, e) if (!json_is_string(e))
    {
        cf_admin_error(q, 400, "invalid_request", field, "%s[%zu] must be a string.", field, i);
        return false;
    }
    return true;
}

bool cf_admin_child_policy(cf_admin_req *q, json_t *obj, const char *prefix,
                           cf_str default_bucket, bool required, const cf_policy *const *pols,
                           size_t npols, cf_str *json)
{
    char field[256];
    json_t *pol = json_object_get(obj, "policy"), *perm = json_object_get(obj, "permission");
    json_t *buckets = json_object_get(obj, "buckets"), *prefixes = json_object_get(obj, "prefixes");
    cf_policy_error perr;
    cf_policy *parsed = NULL;
    cf_buf b;
    bool ok = false;
    char *dump = NULL;
    json_t *sh = NULL;

    cf_buf_init(&b, CF_POLICY_MAX_BYTES * 2);
    *json = CF_STR_NULL;
    if (pol != NULL && perm != NULL) {
        snprintf(field, sizeof field, "%spolicy", prefix);
        cf_admin_error(q, 400, "invalid_request", field, "Give either policy or permission, not both.");
        goto out;
    }
    if (perm == NULL && (buckets != NULL || prefixes != NULL)) {
        snprintf(field, sizeof field, "%spermission", prefix);
        cf_admin_error(q, 400, "invalid_request", field, "buckets and prefixes need a permission.");
        goto out;
    }
    if (pol == NULL && perm == NULL) {
        if (required) {
            snprintf(field, sizeof field, "%spolicy", prefix);
            cf_admin_error(q, 400, "invalid_request", field,
                           "A policy or a permission is required.");
            goto out;
        }
        ok = true;
        goto out;
    }
    if (pol != NULL) {
        snprintf(field, sizeof field, "%spolicy", prefix);
        if (!json_is_object(pol)) {
            cf_admin_error(q, 400, "invalid_request", field, "policy must be a JSON object.");
            goto out;
        }
        dump = json_dumps(pol, JSON_COMPACT);
    } else {
        sh = json_pack("{s:O}", "permission", perm);
        if (buckets != NULL)
            json_object_set(sh, "buckets", buckets);
        else if (default_bucket.len > 0)
            json_object_set_new(sh, "buckets", json_pack("[s%]", default_bucket.p, default_bucket.len));
        if (prefixes != NULL)
            json_object_set(sh, "prefixes", prefixes);
        dump = json_dumps(sh, JSON_COMPACT);
        if (dump == NULL || cf_policy_from_shorthand(cf_str_c(dump), &b, &perr) != CF_OK) {
            snprintf(field, sizeof field, "%s%s", prefix, dump ? perr.field : "permission");
            cf_admin_error(q, 400, "invalid_request", field, "%s", dump ? perr.message : "bad shorthand");
            goto out;
        }
        free(dump);
        dump = strdup(b.p);
    }
    if (dump == NULL) {
        cf_admin_error(q, 500, "internal", NULL, "Out of memory.");
        goto out;
    }
    if (cf_policy_parse(q->arena, cf_str_c(dump), &parsed, &perr) != CF_OK) {
        snprintf(field, sizeof field, "%spolicy%s%s", prefix, perr.field[0] ? "." : "", perr.field);
        cf_admin_error(q, 400, "invalid_request", field, "%s", perr.message);
        goto out;
    }
    for (size_t i = 0; i < npols; i++) {
        if (!cf_policy_within(parsed, pols[i], &perr)) {
            snprintf(field, sizeof field, "%spolicy", prefix);
            cf_admin_error(q, 403, "forbidden", field,
                           "The policy grants more than a parent allows: %s", perr.message);
            goto out;
        }
    }
    *json = cf_arena_str(q->arena, cf_str_c(dump));
    ok = json->p != NULL;
out:
    free(dump);
    json_decref(sh);
    cf_buf_free(&b);
    return ok;
}

/* Validates an allowed_ips array into its stored compact JSON form. */
static bool allowed_ips(cf_admin_req *q, json_t *v, const char *field, cf_str *out)
{
    size_t i;
    json_t *e;
    if (!string_array(q, v, field))
        return false;
    if (json_array_size(v) > MAX_IPS) {
        cf_admin_error(q, 400, "invalid_request", field, "At most %d networks.", MAX_IPS);
        return false;
    }
    json_array_foreach(v, i, e)
    {
        cf_cidr n;
        if (!cf_cidr_parse(cf_str_make(json_string_value(e), json_string_length(e)), false, &n)) {
            char f[256];
            snprintf(f, sizeof f, "%s[%zu]", field, i);
            cf_admin_error(q, 400, "invalid_request", f,
                           "\"%s\" is not an IPv4 or IPv6 network (CIDR) with zero host bits.",
                           json_string_value(e));
            return false;
        }
    }
    char *d = json_dumps(v, JSON_COMPACT);
    *out = cf_arena_str(q->arena, cf_str_c(d));
    free(d);
    return out->p != NULL;
}

static bool name_field(cf_admin_req *q, json_t *v, const char *field, cf_str *out)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > NAME_MAX_LEN ||
        !cf_utf8_valid(cf_str_make(json_string_value(v), json_string_length(v)))) {
        cf_admin_error(q, 400, "invalid_request", field, "%s must be 1..%d characters of text.",
                       field, NAME_MAX_LEN);
        return false;
    }
    *out = cf_arena_str(q->arena, cf_str_make(json_string_value(v), json_string_length(v)));
    return true;
}

static bool time_field(cf_admin_req *q, json_t *v, const char *field, int64_t *ms)
{
    if (!cf_admin_parse_time(v, ms)) {
        cf_admin_error(q, 400, "invalid_request", field,
                       "%s must be an RFC 3339 time such as 2030-01-02T03:04:05Z.", field);
        return false;
    }
    return true;
}

/* Fresh secret and token for row (sealed into it); the clear values go to secret/token. */
static bool new_secrets(cf_admin_req *q, cf_cred_row *row, cf_str *secret, cf_str *token)
{
    char sk[CF_SECRET_KEY_LEN + 1], tk[48], hash[65];
    if (cf_cred_new_secret(sk) != CF_OK || cf_cred_new_token(tk) != CF_OK ||
        cf_secret_seal(q->ad->keyring, row->id, cf_str_c(sk), q->arena, &row->secret_sealed) != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Cannot create secrets.");
        return false;
    }
    cf_cred_token_hash(cf_str_c(tk), hash);
    row->token_hash = cf_arena_str(q->arena, cf_str_c(hash));
    *secret = cf_arena_str(q->arena, cf_str_c(sk));
    *token = cf_arena_str(q->arena, cf_str_c(tk));
    memset(sk, 0, sizeof sk);
    memset(tk, 0, sizeof tk);
    return row->token_hash.p != NULL && secret->p != NULL && token->p != NULL;
}

bool cf_admin_build_cred(cf_admin_req *q, json_t *body, const char *prefix, cf_str default_bucket,
                         cf_cred_row *row, cf_str *secret, cf_str *token)
{
    static const char *const keys[] = {"name",     "parent_id",  "policy",     "permission",
                                       "buckets",  "prefixes",   "not_before", "expires_at",
                                       "ttl_seconds", "allowed_ips", NULL};
    const cf_policy *pols[CF_MAX_CHAIN];
    size_t npols = 0;
    int64_t min_exp = 0, now = cf_now_ms();
    char f[256], ak[CF_ACCESS_KEY_LEN + 1];
    json_t *v;

    memset(row, 0, sizeof *row);
    if (!json_is_object(body)) {
        cf_admin_error(q, 400, "invalid_request", prefix[0] ? "credential" : NULL,
                       "The credential must be a JSON object.");
        return false;
    }
    if (!cf_admin_only_keys(q, body, prefix, keys))
        return false;
#define FIELD(name) (snprintf(f, sizeof f, "%s%s", prefix, name), f)
    if (!name_field(q, json_object_get(body, "name"), FIELD("name"), &row->name))
        return false;
    row->parent_id = caller_id(q);
    if ((v = json_object_get(body, "parent_id")) != NULL) {
        if (!json_is_string(v)) {
            cf_admin_error(q, 400, "invalid_request", FIELD("parent_id"), "parent_id must be a string.");
            return false;
        }
        row->parent_id = cf_arena_str(q->arena, cf_str_c(json_string_value(v)));
        if (!cf_admin_in_subtree(q, row->parent_id, FIELD("parent_id")))
            return false;
    }
    if (!cf_admin_allowed(q, "admin:CreateCredential", cred_arn(q, row->parent_id)))
        return false;
    if (!cf_admin_parent_chain(q, row->parent_id, pols, &npols, &min_exp))
        return false;
    if (!cf_admin_child_policy(q, body, prefix, default_bucket, true, pols, npols, &row->policy))
        return false;
    if ((v = json_object_get(body, "not_before")) != NULL &&
        !time_field(q, v, FIELD("not_before"), &row->not_before_ms))
        return false;
    json_t *exp = json_object_get(body, "expires_at"), *ttl = json_object_get(body, "ttl_seconds");
    if (exp != NULL && ttl != NULL) {
        cf_admin_error(q, 400, "invalid_request", FIELD("ttl_seconds"),
                       "Give either expires_at or ttl_seconds, not both.");
        return false;
    }
    if (exp != NULL && !time_field(q, exp, FIELD("expires_at"), &row->expires_ms))
        return false;
    if (ttl != NULL) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
            json_integer_value(ttl) > MAX_TTL_S) {
            cf_admin_error(q, 400, "invalid_request", FIELD("ttl_seconds"),
                           "ttl_seconds must be an integer from 1 to %lld.", (long long)MAX_TTL_S);
            return false;
        }
        row->expires_ms = now + json_integer_value(ttl) * 1000;
    }
    if (row->expires_ms != 0 && row->expires_ms <= now) {
        cf_admin_error(q, 400, "invalid_request", FIELD("expires_at"), "expires_at is in the past.");
        return false;
    }
    if (min_exp != 0) {
        if (row->expires_ms > min_exp) {
            char t[25];
            cf_time_iso8601(min_exp, t);
            cf_admin_error(q, 400, "invalid_request", FIELD(exp ? "expires_at" : "ttl_seconds"),
                           "A credential cannot outlive its parent, which expires at %s.", t);
            return false;
        }
        if (row->expires_ms == 0)
            row->expires_ms = min_exp;
    }
    row->allowed_ips = CF_STR("[]");
    if ((v = json_object_get(body, "allowed_ips")) != NULL &&
        !allowed_ips(q, v, FIELD("allowed_ips"), &row->allowed_ips))
        return false;
#undef FIELD
    if (cf_cred_new_access_key(ak) != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Cannot create an access key id.");
        return false;
    }
    row->id = cf_arena_str(q->arena, cf_str_c(ak));
    row->status = CF_CRED_ACTIVE;
    row->created_ms = now;
    row->old_secret_sealed = CF_STR("");
    row->version = 1;
    return row->id.p != NULL && new_secrets(q, row, secret, token);
}

void cf_admin_cred_self(cf_admin_req *q)
{
    cf_admin_json(q, 200, cf_admin_cred_json(&q->principal.chain[0]));
}

void cf_admin_cred_create(cf_admin_req *q)
{
    cf_cred_row row;
    cf_str secret, token;
    json_t *body = cf_admin_body(q);
    if (body == NULL || !cf_admin_build_cred(q, body, "", CF_STR_NULL, &row, &secret, &token))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_insert, &row);
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "store the credential");
        return;
    }
    cf_admin_audit(q, "admin:CreateCredential", row.id, "ok",
                   json_pack("{s:s%, s:s%}", "parent_id", row.parent_id.p, row.parent_id.len,
                             "name", row.name.p, row.name.len));
    cf_admin_json(q, 201, cf_admin_cred_secrets_json(&row, secret, token));
}

void cf_admin_cred_list(cf_admin_req *q)
{
    cf_str lim = cf_admin_query(q, "limit"), cursor = cf_admin_query(q, "cursor");
    uint64_t limit = 100;
    cf_cred_row *rows = NULL;
    size_t n = 0;
    if (lim.p != NULL && (!cf_str_to_u64(lim, &limit) || limit < 1 || limit > 1000)) {
        cf_admin_error(q, 400, "invalid_request", "limit", "limit must be an integer from 1 to 1000.");
        return;
    }
    if (!cf_admin_allowed(q, "admin:ListCredentials", "arn:coffer:admin:::credential/*"))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_list_subtree, caller_id(q),
                            cursor.p ? cursor : CF_STR(""), (uint32_t)limit, q->arena, &rows, &n);
    if (rc == CF_ENOTFOUND) {
        cf_admin_error(q, 400, "invalid_request", "cursor",
                       "The cursor names a credential that no longer exists.");
        return;
    }
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Cannot list credentials.");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, cf_admin_cred_json(&rows[i]));
    json_t *next = n == limit ? json_stringn(rows[n - 1].id.p, rows[n - 1].id.len) : json_null();
    cf_admin_json(q, 200, json_pack("{s:o, s:o}", "credentials", arr, "next_cursor", next));
}

/* The credential named by the path, which must be in the caller's subtree. */
static bool target(cf_admin_req *q, const char *action, cf_cred_row *row)
{
    cf_str id = q->params[0];
    if (!cf_admin_in_subtree(q, id, NULL) || !cf_admin_allowed(q, action, cred_arn(q, id)))
        return false;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_get, id, q->arena, row);
    if (rc != CF_OK) {
        cf_admin_error(q, rc == CF_ENOTFOUND ? 404 : 500, rc == CF_ENOTFOUND ? "not_found" : "internal",
                       NULL, "No credential %.*s.", CF_STR_FMT(id));
        return false;
    }
    return true;
}

void cf_admin_cred_get(cf_admin_req *q)
{
    cf_cred_row row;
    if (target(q, "admin:GetCredential", &row))
        cf_admin_json(q, 200, cf_admin_cred_json(&row));
}

void cf_admin_cred_patch(cf_admin_req *q)
{
    static const char *const keys[] = {"name", "status", "expires_at", "allowed_ips", NULL};
    cf_cred_row row;
    json_t *body = cf_admin_body(q), *v;
    if (body == NULL || !cf_admin_only_keys(q, body, "", keys) ||
        !target(q, "admin:UpdateCredential", &row))
        return;
    if ((v = json_object_get(body, "name")) != NULL && !name_field(q, v, "name", &row.name))
        return;
    if ((v = json_object_get(body, "status")) != NULL) {
        const char *s = json_string_value(v);
        if (s == NULL || (strcmp(s, "active") != 0 && strcmp(s, "disabled") != 0)) {
            cf_admin_error(q, 400, "invalid_request", "status", "status must be \"active\" or \"disabled\".");
            return;
        }
        if (row.parent_id.len == 0 && strcmp(s, "disabled") == 0) {
            cf_admin_error(q, 409, "conflict", "status", "The root credential cannot be disabled.");
            return;
        }
        row.status = strcmp(s, "active") == 0 ? CF_CRED_ACTIVE : CF_CRED_DISABLED;
    }
    if ((v = json_object_get(body, "expires_at")) != NULL) {
        int64_t t;
        if (!time_field(q, v, "expires_at", &t))
            return;
        if (row.expires_ms != 0 && t > row.expires_ms) {
            cf_admin_error(q, 400, "invalid_request", "expires_at",
                           "expires_at can only be made earlier.");
            return;
        }
        row.expires_ms = t;
    }
    if ((v = json_object_get(body, "allowed_ips")) != NULL &&
        !allowed_ips(q, v, "allowed_ips", &row.allowed_ips))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_update, &row);
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "update the credential");
        return;
    }
    cf_admin_audit(q, "admin:UpdateCredential", row.id, "ok", json_deep_copy(body));
    cf_admin_json(q, 200, cf_admin_cred_json(&row));
}

void cf_admin_cred_delete(cf_admin_req *q)
{
    cf_cred_row row;
    uint64_t deleted = 0;
    if (!target(q, "admin:DeleteCredential", &row))
        return;
    if (row.parent_id.len == 0) {
        cf_admin_error(q, 409, "conflict", NULL, "The root credential cannot be deleted.");
        return;
    }
    cf_rc rc = cf_meta_call(q->ad->meta, cred_delete_subtree, row.id, &deleted);
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "delete the credential");
        return;
    }
    cf_admin_audit(q, "admin:DeleteCredential", row.id, "ok",
                   json_pack("{s:I}", "deleted", (json_int_t)deleted));
    cf_admin_json(q, 200, json_pack("{s:I}", "deleted", (json_int_t)deleted));
}

void cf_admin_cred_rotate(cf_admin_req *q)
{
    static const char *const keys[] = {"grace_seconds", NULL};
    cf_cred_row row;
    cf_str secret, token;
    json_int_t grace = 0;
    json_t *v;
    if (q->json != NULL) {
        json_t *body = cf_admin_body(q);
        if (body == NULL || !cf_admin_only_keys(q, body, "", keys))
            return;
        if ((v = json_object_get(body, "grace_seconds")) != NULL) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > MAX_GRACE_S) {
                cf_admin_error(q, 400, "invalid_request", "grace_seconds",
                               "grace_seconds must be an integer from 0 to %d.", MAX_GRACE_S);
                return;
            }
            grace = json_integer_value(v);
        }
    }
    if (!target(q, "admin:RotateCredential", &row))
        return;
    if (grace > 0) {
        row.old_secret_sealed = row.secret_sealed;
        row.old_secret_until_ms = cf_now_ms() + (int64_t)grace * 1000;
    } else {
        row.old_secret_sealed = CF_STR("");
        row.old_secret_until_ms = 0;
    }
    if (!new_secrets(q, &row, &secret, &token))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, cred_update, &row);
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "store the new secrets");
        return;
    }
    cf_admin_audit(q, "admin:RotateCredential", row.id, "ok",
                   json_pack("{s:I}", "grace_seconds", grace));
    cf_admin_json(q, 200, cf_admin_cred_secrets_json(&row, secret, token));
}
