/* Bucket routes: create (optionally with a credential scoped to it, atomically), list, get,
 * patch (quota) and delete. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/names.h"
#include "admin/admin_int.h"

#define REGION_MAX 63

/* A quota as asked: each limit is changed only when set (0: none). */
typedef struct quota_ask {
    bool set_bytes, set_objects;
    uint64_t bytes, objects;
} quota_ask;

static const char *bucket_arn(cf_admin_req *q, cf_str name)
{
    const char *r = cf_arena_printf(q->arena, "arn:coffer:admin:::bucket/%.*s", CF_STR_FMT(name));
    return r != NULL ? r : "arn:coffer:admin:::bucket/?";
}

static bool region_valid(cf_str r)
{
    if (r.len == 0 || r.len > REGION_MAX)
        return false;
    for (size_t i = 0; i < r.len; i++) {
        char c = r.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool ask_name(cf_admin_req *q, json_t *body, cf_str *name)
{
    json_t *v = json_object_get(body, "name");
    if (v == NULL) {
        cf_admin_error(q, 400, "invalid_request", "name", "name is required.");
        return false;
    }
    if (!json_is_string(v) ||
        !cf_bucket_name_valid(*name = cf_str_make(json_string_value(v), json_string_length(v)))) {
        cf_admin_error(q, 400, "invalid_request", "name",
                       "name must be a valid S3 bucket name (3 to 63 characters of a-z, 0-9, "
                       "'.' and '-', starting and ending with a letter or digit).");
        return false;
    }
    return true;
}

static bool ask_region(cf_admin_req *q, json_t *body, cf_str *region)
{
    json_t *v = json_object_get(body, "region");
    const char *mine = q->ad->region;
    /* A server that accepts any region still files new buckets under a real one. */
    *region = cf_str_c(mine == NULL || strcmp(mine, "auto") == 0 ? "us-east-1" : mine);
    if (v == NULL)
        return true;
    if (!json_is_string(v) ||
        !region_valid(*region = cf_str_make(json_string_value(v), json_string_length(v)))) {
        cf_admin_error(q, 400, "invalid_request", "region",
                       "region must be 1 to %d characters of a-z, 0-9 and '-'.", REGION_MAX);
        return false;
    }
    return true;
}

static bool quota_value(cf_admin_req *q, json_t *quota, const char *key, bool *set, uint64_t *out)
{
    json_t *v = json_object_get(quota, key);
    char field[32];
    if (v == NULL)
        return true;
    *set = true;
    *out = 0;
    if (json_is_null(v))
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(field, sizeof field, "quota.%s", key);
        cf_admin_error(q, 400, "invalid_request", field,
                       "%s must be a non-negative integer, or null for no limit.", field);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* "quota": {"max_bytes", "max_objects"}; a limit left out is not changed. */
static bool ask_quota(cf_admin_req *q, json_t *body, quota_ask *qa)
{
    static const char *const keys[] = {"max_bytes", "max_objects", NULL};
    json_t *v = json_object_get(body, "quota");
    memset(qa, 0, sizeof *qa);
    if (v == NULL)
        return true;
    if (!json_is_object(v)) {
        cf_admin_error(q, 400, "invalid_request", "quota",
                       "quota must be an object {\"max_bytes\", \"max_objects\"}.");
        return false;
    }
    return cf_admin_only_keys(q, v, "quota.", keys) &&
           quota_value(q, v, "max_bytes", &qa->set_bytes, &qa->bytes) &&
           quota_value(q, v, "max_objects", &qa->set_objects, &qa->objects);
}

/* The bucket named by the path; an invalid name cannot exist. */
static bool path_bucket(cf_admin_req *q, const char *action, cf_str *name)
{
    *name = q->params[0];
    if (!cf_bucket_name_valid(*name)) {
        cf_admin_error(q, 404, "not_found", NULL, "No bucket %.*s.",
                       (int)(name->len > 64 ? 64 : name->len), name->p);
        return false;
    }
    return cf_admin_allowed(q, action, bucket_arn(q, *name));
}

static bool load_bucket(cf_admin_req *q, cf_str name, cf_bucket_info *bi)
{
    cf_rc rc = cf_meta_call(q->ad->meta, bucket_get, name, q->arena, bi);
    if (rc == CF_ENOTFOUND) {
        cf_admin_error(q, 404, "not_found", NULL, "No bucket %.*s.", CF_STR_FMT(name));
        return false;
    }
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Bucket lookup failed: %s.", cf_rc_str(rc));
        return false;
    }
    return true;
}

static json_t *quota_detail(const quota_ask *qa)
{
    json_t *d = json_object();
    if (qa->set_bytes)
        json_object_set_new(d, "max_bytes", json_integer((json_int_t)qa->bytes));
    if (qa->set_objects)
        json_object_set_new(d, "max_objects", json_integer((json_int_t)qa->objects));
    return d;
}

/* Stores the new bucket (and credential, in the same transaction). */
static bool store_bucket(cf_admin_req *q, const cf_bucket_info *bi, const cf_cred_row *cred,
                         const quota_ask *qa)
{
    cf_str owner = CF_STR_NULL;
    cf_meta *m = q->ad->meta;
    cf_rc rc = cred != NULL ? cf_meta_call(m, bucket_create_with_cred, bi, cred, q->arena, &owner)
                            : cf_meta_call(m, bucket_create, bi, q->arena, &owner);
    if (rc == CF_EEXIST) {
        cf_admin_error(q, 409, "conflict", "name", "The bucket %.*s already exists.",
                       CF_STR_FMT(bi->name));
        return false;
    }
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "create the bucket");
        return false;
    }
    /* The insert carries the quota, but only set_quota is specified to store it. */
    if ((qa->set_bytes || qa->set_objects) &&
        (rc = cf_meta_call(m, bucket_set_quota, bi->name, bi->quota_bytes, bi->quota_objects)) !=
            CF_OK) {
        cf_admin_store_error(q, rc, "set the new bucket's quota (the bucket was created)");
        return false;
    }
    return true;
}

static void audit_create(cf_admin_req *q, const cf_bucket_info *bi, const cf_cred_row *cred,
                         const quota_ask *qa)
{
    json_t *d =
        json_pack("{s:s%, s:o}", "region", bi->region.p, bi->region.len, "quota", quota_detail(qa));
    if (cred != NULL)
        json_object_set_new(d, "credential", json_stringn(cred->id.p, cred->id.len));
    cf_admin_audit(q, "admin:CreateBucket", bi->name, "ok", d);
    if (cred != NULL)
        cf_admin_audit(q, "admin:CreateCredential", cred->id, "ok",
                       json_pack("{s:s%, s:s%, s:s%}", "parent_id", cred->parent_id.p,
                                 cred->parent_id.len, "name", cred->name.p, cred->name.len,
                                 "bucket", bi->name.p, bi->name.len));
}

void cf_admin_bucket_create(cf_admin_req *q)
{
    static const char *const keys[] = {"name", "region", "quota", "credential", NULL};
    cf_bucket_info bi;
    quota_ask qa;
    cf_cred_row row;
    cf_str secret = CF_STR_NULL, token = CF_STR_NULL;
    json_t *body = cf_admin_body(q), *cred_body;
    memset(&bi, 0, sizeof bi);
    if (body == NULL || !cf_admin_only_keys(q, body, "", keys) || !ask_name(q, body, &bi.name) ||
        !ask_region(q, body, &bi.region) || !ask_quota(q, body, &qa))
        return;
    cred_body = json_object_get(body, "credential");
    if (!cf_admin_allowed(q, "admin:CreateBucket", bucket_arn(q, bi.name)))
        return;
    /* build_cred checks admin:CreateCredential on the new credential's parent. */
    if (cred_body != NULL &&
        !cf_admin_build_cred(q, cred_body, "credential.", bi.name, &row, &secret, &token))
        return;
    bi.owner = cf_principal_root(&q->principal);
    bi.created_ms = cf_now_ms();
    bi.quota_bytes = qa.bytes;
    bi.quota_objects = qa.objects;
    if (!store_bucket(q, &bi, cred_body != NULL ? &row : NULL, &qa))
        return;
    audit_create(q, &bi, cred_body != NULL ? &row : NULL, &qa);
    json_t *j = json_pack("{s:o}", "bucket", cf_admin_bucket_json(&bi));
    if (j != NULL && cred_body != NULL)
        json_object_set_new(j, "credential", cf_admin_cred_secrets_json(&row, secret, token));
    cf_admin_json(q, 201, j);
}

void cf_admin_bucket_list(cf_admin_req *q)
{
    cf_bucket_info *bs = NULL;
    size_t n = 0;
    if (!cf_admin_allowed(q, "admin:ListBuckets", "arn:coffer:admin:::bucket/*"))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, bucket_list, q->arena, &bs, &n);
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Cannot list buckets: %s.", cf_rc_str(rc));
        return;
    }
    json_t *arr = json_array();
    /* Only the buckets the credential may touch, as S3 ListBuckets does. */
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (cf_principal_may_touch_bucket(&q->principal, bs[i].name))
            json_array_append_new(arr, cf_admin_bucket_json(&bs[i]));
    cf_admin_json(q, 200, json_pack("{s:o}", "buckets", arr));
}

void cf_admin_bucket_get(cf_admin_req *q)
{
    cf_str name;
    cf_bucket_info bi;
    if (path_bucket(q, "admin:GetBucket", &name) && load_bucket(q, name, &bi))
        cf_admin_json(q, 200, cf_admin_bucket_json(&bi));
}

void cf_admin_bucket_patch(cf_admin_req *q)
{
    static const char *const keys[] = {"quota", NULL};
    cf_str name;
    cf_bucket_info bi;
    quota_ask qa;
    json_t *body = cf_admin_body(q);
    if (body == NULL || !cf_admin_only_keys(q, body, "", keys))
        return;
    if (json_object_get(body, "quota") == NULL) {
        cf_admin_error(q, 400, "invalid_request", "quota", "quota is required.");
        return;
    }
    if (!ask_quota(q, body, &qa) || !path_bucket(q, "admin:UpdateBucket", &name) ||
        !load_bucket(q, name, &bi))
        return;
    /* A limit left out of the body keeps its value. */
    if (qa.set_bytes)
        bi.quota_bytes = qa.bytes;
    if (qa.set_objects)
        bi.quota_objects = qa.objects;
    if (qa.set_bytes || qa.set_objects) {
        cf_rc rc =
            cf_meta_call(q->ad->meta, bucket_set_quota, name, bi.quota_bytes, bi.quota_objects);
        if (rc == CF_ENOTFOUND) {
            cf_admin_error(q, 404, "not_found", NULL, "No bucket %.*s.", CF_STR_FMT(name));
            return;
        }
        if (rc != CF_OK) {
            cf_admin_store_error(q, rc, "set the quota");
            return;
        }
    }
    cf_admin_audit(q, "admin:UpdateBucket", name, "ok",
                   json_pack("{s:o}", "quota", quota_detail(&qa)));
    cf_admin_json(q, 200, cf_admin_bucket_json(&bi));
}

void cf_admin_bucket_delete(cf_admin_req *q)
{
    cf_str name;
    if (!path_bucket(q, "admin:DeleteBucket", &name))
        return;
    cf_rc rc = cf_meta_call(q->ad->meta, bucket_delete, name);
    if (rc == CF_ENOTFOUND) {
        cf_admin_error(q, 404, "not_found", NULL, "No bucket %.*s.", CF_STR_FMT(name));
        return;
    }
    if (rc == CF_ENOTEMPTY) {
        cf_admin_error(q, 409, "conflict", NULL, "The bucket %.*s is not empty.", CF_STR_FMT(name));
        return;
    }
    if (rc != CF_OK) {
        cf_admin_store_error(q, rc, "delete the bucket");
        return;
    }
    cf_admin_audit(q, "admin:DeleteBucket", name, "ok", NULL);
    cf_http_respond_empty(q->http, 204);
}
