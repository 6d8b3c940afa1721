/* Admin API entry: routing, bearer-token authentication, body buffering and JSON errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/failures.h"
#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/log.h"
#include "admin/admin_int.h"

static const cf_admin_route routes[] = {
    {CF_HTTP_GET, "/v1/health", NULL, false, cf_admin_health},
    {CF_HTTP_GET, "/v1/credentials/self", NULL, true, cf_admin_cred_self},
    {CF_HTTP_POST, "/v1/credentials", "admin:CreateCredential", true, cf_admin_cred_create},
    {CF_HTTP_GET, "/v1/credentials", "admin:ListCredentials", true, cf_admin_cred_list},
    {CF_HTTP_GET, "/v1/credentials/{id}", "admin:GetCredential", true, cf_admin_cred_get},
    {CF_HTTP_PATCH, "/v1/credentials/{id}", "admin:UpdateCredential", true, cf_admin_cred_patch},
    {CF_HTTP_DELETE, "/v1/credentials/{id}", "admin:DeleteCredential", true, cf_admin_cred_delete},
    {CF_HTTP_POST, "/v1/credentials/{id}/rotate", "admin:RotateCredential", true,
     cf_admin_cred_rotate},
    {CF_HTTP_POST, "/v1/temporary-credentials", "admin:CreateTemporaryCredential", true,
     cf_admin_temp_create},
    {CF_HTTP_POST, "/v1/buckets", "admin:CreateBucket", true, cf_admin_bucket_create},
    {CF_HTTP_GET, "/v1/buckets", "admin:ListBuckets", true, cf_admin_bucket_list},
    {CF_HTTP_GET, "/v1/buckets/{name}", "admin:GetBucket", true, cf_admin_bucket_get},
    {CF_HTTP_PATCH, "/v1/buckets/{name}", "admin:UpdateBucket", true, cf_admin_bucket_patch},
    {CF_HTTP_DELETE, "/v1/buckets/{name}", "admin:DeleteBucket", true, cf_admin_bucket_delete},
    {CF_HTTP_GET, "/v1/audit", "admin:GetAudit", true, cf_admin_audit_list},
};

static const char *method_name(cf_http_method m)
{
    switch (m) {
    case CF_HTTP_GET:
        return "GET";
    case CF_HTTP_POST:
        return "POST";
    case CF_HTTP_PATCH:
        return "PATCH";
    case CF_HTTP_DELETE:
        return "DELETE";
    default:
        return "?";
    }
}

void cf_admin_print_routes(void)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        printf("%s %s\n", method_name(routes[i].method), routes[i].pattern);
}

void cf_admin_json(cf_admin_req *q, int status, json_t *j)
{
    cf_buf b;
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    cf_buf_init(&b, 0);
    if (s == NULL || cf_buf_append_c(&b, s) != CF_OK || cf_buf_append_ch(&b, '\n') != CF_OK) {
        free(s);
        cf_buf_free(&b);
        cf_http_respond(q->http, 500, NULL, NULL);
        return;
    }
    free(s);
    cf_http_respond(q->http, status, &b, "application/json");
}

void cf_admin_error(cf_admin_req *q, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    q->failed = true;
    if (q->http->responded)
        return;
    if (status >= 500)
        cf_warn("admin: %s answered %d: %s", q->http->request_id, status, msg);
    json_t *err = json_pack("{s:s, s:s, s:s?}", "code", code, "message", msg, "field", field);
    if (status == 401)
        cf_http_add_header(q->http, "WWW-Authenticate", "Bearer");
    cf_admin_json(q, status, json_pack("{s:o}", "error", err));
}

void cf_admin_store_error(cf_admin_req *q, cf_rc rc, const char *what)
{
    if (rc == CF_ENOSPC)
        cf_admin_error(q, 507, "insufficient_storage", NULL,
                       "Cannot %s: the server's disk is full; nothing was changed.", what);
    else if (rc == CF_ENOTFOUND)
        cf_admin_error(q, 404, "not_found", NULL, "Cannot %s: it does not exist.", what);
    else
        cf_admin_error(q, 500, "internal", NULL, "Cannot %s (%s).", what, cf_rc_str(rc));
}

cf_str cf_admin_query(const cf_admin_req *q, const char *name)
{
    for (size_t i = 0; i < q->nquery; i++)
        if (cf_str_eq_c(q->query[i].name, name))
            return q->query[i].value;
    return CF_STR_NULL;
}

json_t *cf_admin_body(cf_admin_req *q)
{
    if (q->json == NULL || !json_is_object(q->json)) {
        cf_admin_error(q, 400, "invalid_request", NULL, "The request body must be a JSON object.");
        return NULL;
    }
    return q->json;
}

bool cf_admin_only_keys(cf_admin_req *q, json_t *obj, const char *prefix,
                        const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(k, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            char field[256];
            snprintf(field, sizeof field, "%s%s", prefix, k);
            cf_admin_error(q, 400, "invalid_request", field, "Unknown field \"%s\".", field);
            return false;
        }
    }
    return true;
}

void cf_admin_audit(cf_admin_req *q, const char *action, cf_str target, const char *outcome,
                    json_t *detail)
{
    char *d = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    cf_audit_row row = {
        .time_ms = cf_now_ms(),
        .actor = q->token_cred,
        .action = cf_str_c(action),
        .target = target,
        .source_ip = cf_str_c(q->http->remote_addr),
        .outcome = cf_str_c(outcome),
        .detail = cf_str_c(d),
    };
    if (cf_meta_call(q->ad->meta, audit_append, &row) != CF_OK)
        cf_warn("admin: cannot append to the audit log");
    free(d);
}

bool cf_admin_allowed(cf_admin_req *q, const char *action, const char *resource)
{
    cf_authz_req r = {
        .action = cf_str_c(action),
        .resource = cf_str_c(resource),
        .source_ip = cf_str_c(q->http->remote_addr),
        .now_ms = cf_now_ms(),
    };
    if (cf_principal_allows(&q->principal, &r))
        return true;
    const char *slash = strrchr(resource, '/');
    cf_admin_audit(q, action, cf_str_c(slash ? slash + 1 : resource), "denied", NULL);
    cf_admin_error(q, 403, "forbidden", NULL, "%s on %s is not allowed for this credential.",
                   action, resource);
    return false;
}

/* Matches path against pattern, collecting decoded {x} segments. */
static bool match(cf_admin_req *q, const char *pattern, cf_str path)
{
    cf_str pat = cf_str_c(pattern), ps, pp;
    q->nparams = 0;
    while (pat.len > 0 || path.len > 0) {
        if (pat.len == 0 || path.len == 0 || pat.p[0] != '/' || path.p[0] != '/')
            return false;
        pat = cf_str_sub(pat, 1, pat.len);
        path = cf_str_sub(path, 1, path.len);
        ptrdiff_t i = cf_str_find(pat, '/'), j = cf_str_find(path, '/');
        ps = cf_str_sub(pat, 0, i < 0 ? pat.len : (size_t)i);
        pp = cf_str_sub(path, 0, j < 0 ? path.len : (size_t)j);
        pat = cf_str_sub(pat, ps.len, pat.len);
        path = cf_str_sub(path, pp.len, path.len);
        if (ps.len > 2 && ps.p[0] == '{') {
            if (pp.len == 0 || q->nparams == CF_ADMIN_MAX_PARAMS ||
                !cf_uri_decode(q->arena, pp, &q->params[q->nparams]))
                return false;
            q->nparams++;
        } else if (!cf_str_eq(ps, pp)) {
            return false;
        }
    }
    return true;
}

static void fail_auth(cf_admin_req *q, int status, const char *why)
{
    uint32_t n = cf_authfail_note(cf_str_c(q->http->remote_addr), cf_now_ms());
    cf_warn("admin: authentication failed from %s: %s (%u failures from this address in 10 "
            "minutes)",
            q->http->remote_addr, why, n);
    cf_admin_error(q, status, status == 401 ? "unauthorized" : "forbidden", NULL, "%s", why);
}

/* An address locked out for failed authentications is refused before its token is looked
 * at (health stays open for monitors). The lockout was logged when it began. */
static bool locked_out(cf_admin_req *q)
{
    int64_t left = cf_authfail_locked(cf_str_c(q->http->remote_addr), cf_now_ms());
    char retry[24];
    if (left <= 0)
        return false;
    snprintf(retry, sizeof retry, "%lld", (long long)((left + 999) / 1000));
    cf_http_add_header(q->http, "Retry-After", retry);
    cf_admin_error(q, 429, "too_many_requests", NULL,
                   "Too many failed authentications from your address; retry after %s s.", retry);
    return true;
}

static bool authenticate(cf_admin_req *q)
{
    cf_str h = cf_http_header(q->http, "authorization");
    cf_str token;
    char hash[65];
    cf_cred_row row;
    const char *why = NULL;
    if (h.p == NULL || !cf_str_starts_c(h, "Bearer ")) {
        fail_auth(q, 401, "A bearer token is required (Authorization: Bearer <token>).");
        return false;
    }
    token = cf_str_trim(cf_str_sub(h, 7, h.len));
    if (token.len == 0 || token.len > 512) {
        fail_auth(q, 401, "The bearer token is malformed.");
        return false;
    }
    cf_cred_token_hash(token, hash);
    cf_rc rc = cf_meta_call(q->ad->meta, cred_get_by_token_hash, cf_str_c(hash), q->arena, &row);
    if (rc == CF_ENOTFOUND) {
        fail_auth(q, 401, "The bearer token is not valid.");
        return false;
    }
    if (rc != CF_OK) {
        cf_admin_error(q, 500, "internal", NULL, "Credential lookup failed.");
        return false;
    }
    q->token_cred = row.id;
    int64_t now = cf_now_ms();
    cf_principal_rc pr = cf_principal_load(q->ad->meta, row.id, NULL, cf_str_c(q->http->remote_addr),
                                           now, q->arena, &q->principal, &why);
    if (pr == CF_PRINCIPAL_ERROR) {
        cf_admin_error(q, 500, "internal", NULL, "%s", why);
        return false;
    }
    if (pr != CF_PRINCIPAL_OK) {
        cf_admin_audit(q, "admin:Authenticate", row.id, "denied", json_pack("{s:s}", "reason", why));
        fail_auth(q, pr == CF_PRINCIPAL_IP ? 403 : 401, why);
        return false;
    }
    if (now - row.last_used_ms >= 60000)
        cf_meta_call(q->ad->meta, cred_touch, row.id, now);
    return true;
}

static void on_request(void *ctx, cf_http_req *r)
{
    cf_admin *ad = ctx;
    cf_admin_req *q = cf_arena_alloc(r->arena, sizeof *q);
    bool path_known = false;
    if (q == NULL) {
        cf_http_respond_empty(r, 503);
        return;
    }
    r->app = q;
    q->ad = ad;
    q->http = r;
    q->arena = r->arena;
    cf_buf_init(&q->body, CF_ADMIN_BODY_MAX);
    if (!cf_query_parse(q->arena, r->query, 32, &q->query, &q->nquery)) {
        cf_admin_error(q, 400, "invalid_request", NULL, "The query string is malformed.");
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(q, routes[i].pattern, r->path))
            continue;
        path_known = true;
        if (routes[i].method == r->method) {
            q->route = &routes[i];
            break;
        }
    }
    if (q->route == NULL) {
        if (path_known)
            cf_admin_error(q, 405, "method_not_allowed", NULL, "Method %.*s is not allowed here.",
                           CF_STR_FMT(r->method_str));
        else
            cf_admin_error(q, 404, "not_found", NULL, "No such route.");
        return;
    }
    /* match() was last run on the chosen route: params are its own. */
    match(q, q->route->pattern, r->path);
    if (r->has_content_length && r->content_length > CF_ADMIN_BODY_MAX) {
        cf_admin_error(q, 413, "too_large", NULL, "The body exceeds %u bytes.", CF_ADMIN_BODY_MAX);
        return;
    }
    if (q->route->needs_auth && locked_out(q))
        return;
    if (q->route->needs_auth && !authenticate(q))
        return;
    if (q->route->needs_auth)
        r->log_access_key = q->token_cred;
}

static void on_body(void *ctx, cf_http_req *r, const char *p, size_t n)
{
    cf_admin_req *q = r->app;
    (void)ctx;
    if (q == NULL || q->failed || q->body_too_large)
        return;
    if (cf_buf_append(&q->body, p, n) != CF_OK)
        q->body_too_large = true;
}

static void on_complete(void *ctx, cf_http_req *r)
{
    cf_admin_req *q = r->app;
    (void)ctx;
    if (q == NULL || q->failed || q->route == NULL)
        return;
    if (q->body_too_large) {
        cf_admin_error(q, 413, "too_large", NULL, "The body exceeds %u bytes.", CF_ADMIN_BODY_MAX);
        return;
    }
    if (q->body.len > 0) {
        json_error_t jerr;
        q->json = json_loadb(q->body.p, q->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (q->json == NULL) {
            cf_admin_error(q, 400, "invalid_request", NULL, "Malformed JSON at line %d column %d: %s",
                           jerr.line, jerr.column, jerr.text);
            return;
        }
    }
    q->route->handler(q);
}

static void on_done(void *ctx, cf_http_req *r, bool completed)
{
    cf_admin_req *q = r->app;
    (void)ctx;
    (void)completed;
    if (q == NULL)
        return;
    json_decref(q->json);
    cf_buf_free(&q->body);
}

void cf_admin_handler(cf_admin *ad, cf_http_handler *h)
{
    h->on_request = on_request;
    h->on_body = on_body;
    h->on_complete = on_complete;
    h->on_done = on_done;
    h->ctx = ad;
}
