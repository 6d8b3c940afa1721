/* JSON views of credentials and buckets, and RFC 3339 times. */
#include <string.h>

#include "core/clock.h"
#include "admin/admin_int.h"

json_t *cf_admin_time(int64_t ms)
{
    char t[25];
    if (ms == 0)
        return json_null();
    cf_time_iso8601(ms, t);
    return json_string(t);
}

bool cf_admin_parse_time(json_t *v, int64_t *ms)
{
    if (!json_is_string(v))
        return false;
    return cf_time_parse_iso8601(cf_str_make(json_string_value(v), json_string_length(v)), ms);
}

static json_t *str_or_null(cf_str s)
{
    return s.len ? json_stringn(s.p, s.len) : json_null();
}

/* A stored JSON document, or null if it does not parse (it always should). */
static json_t *stored_json(cf_str s, json_t *fallback)
{
    json_error_t e;
    json_t *j = s.len ? json_loadb(s.p, s.len, 0, &e) : NULL;
    if (j == NULL)
        return fallback;
    json_decref(fallback);
    return j;
}

json_t *cf_admin_cred_json(const cf_cred_row *c)
{
    return json_pack("{s:s%, s:s%, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", c->id.p,
                     c->id.len, "name", c->name.p, c->name.len, "parent_id",
                     str_or_null(c->parent_id), "policy", stored_json(c->policy, json_null()),
                     "status", c->status == CF_CRED_ACTIVE ? "active" : "disabled", "created_at",
                     cf_admin_time(c->created_ms), "not_before", cf_admin_time(c->not_before_ms),
                     "expires_at", cf_admin_time(c->expires_ms), "allowed_ips",
                     stored_json(c->allowed_ips, json_array()), "last_used_at",
                     cf_admin_time(c->last_used_ms));
}

json_t *cf_admin_cred_secrets_json(const cf_cred_row *c, cf_str secret, cf_str token)
{
    json_t *j = cf_admin_cred_json(c);
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "secret_access_key", json_stringn(secret.p, secret.len));
    json_object_set_new(j, "token", json_stringn(token.p, token.len));
    return j;
}

static json_t *limit_or_null(uint64_t v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

json_t *cf_admin_bucket_json(const cf_bucket_info *b)
{
    return json_pack("{s:s%, s:s%, s:o, s:I, s:I, s:{s:o, s:o}}", "name", b->name.p, b->name.len,
                     "region", b->region.p, b->region.len, "created_at",
                     cf_admin_time(b->created_ms), "objects", (json_int_t)b->objects, "bytes",
                     (json_int_t)b->bytes, "quota", "max_bytes", limit_or_null(b->quota_bytes),
                     "max_objects", limit_or_null(b->quota_objects));
}
