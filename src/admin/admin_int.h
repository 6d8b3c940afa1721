/* Internals shared by the admin handler files. */
#ifndef COFFER_ADMIN_ADMIN_INT_H
#define COFFER_ADMIN_ADMIN_INT_H

#include <jansson.h>

#include "admin/admin.h"
#include "auth/authz.h"

#define CF_ADMIN_BODY_MAX (256u << 10)
#define CF_ADMIN_MAX_PARAMS 8

typedef struct cf_admin_req cf_admin_req;

typedef struct cf_admin_route {
    cf_http_method method;
    const char *pattern; /* "/v1/credentials/{id}/rotate": {x} matches one segment */
    const char *action;  /* IAM action checked by the handler, NULL: none */
    bool needs_auth;
    void (*handler)(cf_admin_req *q);
} cf_admin_route;

struct cf_admin_req {
    cf_admin *ad;
    cf_http_req *http;
    cf_arena *arena;
    const cf_admin_route *route;
    cf_str params[CF_ADMIN_MAX_PARAMS]; /* decoded {x} segments, in order */
    size_t nparams;
    cf_kv *query;
    size_t nquery;
    cf_buf body;
    bool body_too_large;
    json_t *json; /* parsed body (object), or NULL; freed at the end */
    cf_principal principal;
    cf_str token_cred; /* id of the bearer token's credential */
    bool failed;
};

/* Answers {"error": {"code", "message", "field"}}; field may be NULL. */
void cf_admin_error(cf_admin_req *q, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Answers a failed metadata write or read: 507 insufficient_storage when the disk is full
 * (nothing was changed), 404 not_found, else 500 internal. what completes "Cannot ...". */
void cf_admin_store_error(cf_admin_req *q, cf_rc rc, const char *what);
/* Answers status with j as the body (reference stolen). */
void cf_admin_json(cf_admin_req *q, int status, json_t *j);
cf_str cf_admin_query(const cf_admin_req *q, const char *name);

/* The body as an object: answers 400 and returns NULL if it is missing or not an object. */
json_t *cf_admin_body(cf_admin_req *q);
/* 400 naming the first key of obj that is not in allowed (NULL-terminated); false then. */
bool cf_admin_only_keys(cf_admin_req *q, json_t *obj, const char *prefix,
                        const char *const *allowed);

/* Whether the principal may do action on resource ("arn:coffer:admin:::credential/ID"...);
 * answers 403 (and audits it) when not. */
bool cf_admin_allowed(cf_admin_req *q, const char *action, const char *resource);
/* Appends an audit record for an admin action by the caller. */
void cf_admin_audit(cf_admin_req *q, const char *action, cf_str target, const char *outcome,
                    json_t *detail);

/* JSON views. Times are RFC 3339 strings or null. */
json_t *cf_admin_time(int64_t ms);
json_t *cf_admin_cred_json(const cf_cred_row *c);
json_t *cf_admin_bucket_json(const cf_bucket_info *b);
/* Parses an RFC 3339 time from a JSON string; false if it is not one. */
bool cf_admin_parse_time(json_t *v, int64_t *ms);

/* Handlers. */
void cf_admin_health(cf_admin_req *q);
void cf_admin_cred_self(cf_admin_req *q);
void cf_admin_cred_create(cf_admin_req *q);
void cf_admin_cred_list(cf_admin_req *q);
void cf_admin_cred_get(cf_admin_req *q);
void cf_admin_cred_patch(cf_admin_req *q);
void cf_admin_cred_delete(cf_admin_req *q);
void cf_admin_cred_rotate(cf_admin_req *q);
void cf_admin_temp_create(cf_admin_req *q);
void cf_admin_bucket_create(cf_admin_req *q);
void cf_admin_bucket_list(cf_admin_req *q);
void cf_admin_bucket_get(cf_admin_req *q);
void cf_admin_bucket_patch(cf_admin_req *q);
void cf_admin_bucket_delete(cf_admin_req *q);
void cf_admin_audit_list(cf_admin_req *q);

/* Shared by credentials.c, temp.c and buckets.c: builds a stored credential from a create
 * body (policy or shorthand, times, IPs) as a child of parent_id, checking delegation
 * against the parent's chain; on success *row is filled (secrets generated and sealed) and
 * secret/token get the clear values. default_bucket, when non-empty, is the shorthand's
 * default bucket list. Answers the error itself and returns false otherwise. */
bool cf_admin_build_cred(cf_admin_req *q, json_t *body, const char *field_prefix,
                         cf_str default_bucket, cf_cred_row *row, cf_str *secret, cf_str *token);
/* Whether id is the caller or one of its descendants; answers 404 naming field otherwise. */
bool cf_admin_in_subtree(cf_admin_req *q, cf_str id, const char *field);
/* Loads parent_id's chain (parent first), requires every link to be active (409 otherwise)
 * and parses each policy into pols (room for CF_MAX_CHAIN); *min_expiry gets the earliest
 * expiry on the chain (0: none). Answers errors itself. */
bool cf_admin_parent_chain(cf_admin_req *q, cf_str parent_id, const cf_policy **pols,
                           size_t *npols, int64_t *min_expiry);
/* The policy a create body asks for: "policy" (object) or the shorthand ("permission",
 * "buckets" (default [default_bucket] when that is non-empty), "prefixes"). It must parse and
 * lie within every policy in pols. With neither given: required answers 400, otherwise *json
 * is empty and true is returned. Field names in errors start with prefix. */
bool cf_admin_child_policy(cf_admin_req *q, json_t *obj, const char *prefix,
                           cf_str default_bucket, bool required, const cf_policy *const *pols,
                           size_t npols, cf_str *json);

/* The credential with its clear secrets, for create and rotate answers. */
json_t *cf_admin_cred_secrets_json(const cf_cred_row *c, cf_str secret, cf_str token);

#endif
