/* coffer credential create|list|show|update|rotate|revoke. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_TTL_S   UINT64_C(315360000) /* ten years, the server's bound */
#define MAX_GRACE_S UINT64_C(604800)

static const char *const permissions[] = {"admin-read-write", "admin-read-only",
                                          "object-read-write", "object-read-only", NULL};

void cf_cli_secret_warning(cf_cli *c, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "the %s are shown only this once; store them now", what);
    cf_cli_warn(c, msg);
}

bool cf_cli_permission_known(const char *p)
{
    for (size_t i = 0; permissions[i]; i++)
        if (strcmp(p, permissions[i]) == 0)
            return true;
    return false;
}

int cf_cli_add_rights(cf_cli *c, const cf_cli_args *a, json_t *body, bool required)
{
    const char *perm = cf_cli_value(a, "--permission"), *policy = cf_cli_value(a, "--policy");
    json_t *doc = NULL;
    int rc;
    if (perm && policy)
        return cf_cli_usage(c, "--policy", "give --permission or --policy, not both");
    if (!perm && (cf_cli_has(a, "--bucket") || cf_cli_has(a, "--prefix")))
        return cf_cli_usage(c, cf_cli_has(a, "--bucket") ? "--bucket" : "--prefix",
                            "needs --permission");
    if (policy) {
        rc = cf_cli_read_json_file(c, "--policy", policy, &doc);
        if (rc != CF_CLI_EXIT_OK)
            return rc;
        if (json_object_set_new(body, "policy", doc) != 0)
            return cf_cli_usage(c, "--policy", "out of memory");
        return CF_CLI_EXIT_OK;
    }
    if (!perm)
        return required ? cf_cli_usage(c, "--permission", "missing: give --permission or --policy")
                        : CF_CLI_EXIT_OK;
    if (!cf_cli_permission_known(perm))
        return cf_cli_usage(c, "--permission",
                            "not one of admin-read-write, admin-read-only, object-read-write, "
                            "object-read-only: %s",
                            perm);
    rc = cf_cli_set_str(c, body, "permission", perm, "--permission");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_list(c, body, "buckets", a, "--bucket");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_list(c, body, "prefixes", a, "--prefix");
    return rc;
}

void cf_cli_print_policy(cf_cli *c, const json_t *policy, const char *if_null)
{
    if (!policy || json_is_null(policy)) {
        fprintf(c->out, "policy:  %s\n", if_null);
        return;
    }
    fputs("policy:\n", c->out);
    /* ASCII only: the JSON escapes keep odd characters from reaching the terminal. */
    if (json_dumpf(policy, c->out, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) == 0)
        fputc('\n', c->out);
}

static void kv(cf_cli_table *t, const char *key, const json_t *obj, const char *if_none)
{
    cf_cli_table_cell(t, key);
    cf_cli_table_json(t, json_object_get(obj, key), if_none);
}

void cf_cli_print_credential(cf_cli *c, const json_t *cred)
{
    cf_cli_table t;
    cf_cli_table_init(&t, 2);
    kv(&t, "id", cred, "-");
    kv(&t, "name", cred, "-");
    kv(&t, "parent_id", cred, "- (root)");
    kv(&t, "status", cred, "-");
    kv(&t, "created_at", cred, "-");
    kv(&t, "not_before", cred, "-");
    kv(&t, "expires_at", cred, "never");
    kv(&t, "allowed_ips", cred, "any");
    kv(&t, "last_used_at", cred, "never");
    if (json_object_get(cred, "secret_access_key"))
        kv(&t, "secret_access_key", cred, "-");
    if (json_object_get(cred, "token"))
        kv(&t, "token", cred, "-");
    cf_cli_table_print(&t, c->out);
    cf_cli_table_free(&t);
    cf_cli_print_policy(c, json_object_get(cred, "policy"), "-");
}

static const char *need_str(cf_cli *c, const json_t *obj, const char *key, bool *ok)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v && *ok) {
        cf_cli_error(c, "the answer lacks a field", key);
        *ok = false;
    }
    return v;
}

int cf_cli_print_credential_env(cf_cli *c, const json_t *cred)
{
    bool ok = true;
    const char *id = need_str(c, cred, "id", &ok);
    const char *secret = need_str(c, cred, "secret_access_key", &ok);
    const char *token = need_str(c, cred, "token", &ok);
    if (!ok)
        return CF_CLI_EXIT_API;
    cf_cli_print_env(c, "AWS_ACCESS_KEY_ID", id);
    cf_cli_print_env(c, "AWS_SECRET_ACCESS_KEY", secret);
    cf_cli_print_env(c, "COFFER_TOKEN", token);
    return CF_CLI_EXIT_OK;
}

/* The answer of create and rotate: JSON, variables, or the view; secrets warned about. */
static int show_with_secrets(cf_cli *c, const json_t *cred, bool env)
{
    int rc = CF_CLI_EXIT_OK;
    if (!json_is_object(cred)) {
        cf_cli_error(c, "unexpected answer from the server", NULL);
        return CF_CLI_EXIT_API;
    }
    if (c->json)
        cf_cli_print_json(c, cred);
    else if (env)
        rc = cf_cli_print_credential_env(c, cred);
    else
        cf_cli_print_credential(c, cred);
    if (rc == CF_CLI_EXIT_OK)
        cf_cli_secret_warning(c, "secret access key and token");
    return rc;
}

static int env_json_conflict(cf_cli *c, const cf_cli_args *a)
{
    if (cf_cli_has(a, "--env") && c->json)
        return cf_cli_usage(c, "--env", "--env and --json exclude each other");
    return CF_CLI_EXIT_OK;
}

/* "/v1/credentials/<id>" + suffix, the id escaped ("self" is a route of its own). */
static int cred_path(cf_cli *c, cf_buf *b, const char *id, const char *suffix)
{
    if (!id[0])
        return cf_cli_usage(c, "ID", "empty credential id");
    if (cf_buf_append_c(b, "/v1/credentials/") != CF_OK || cf_cli_url_escape(b, id) != CF_OK ||
        cf_buf_append_c(b, suffix) != CF_OK)
        return cf_cli_usage(c, "ID", "too long");
    return CF_CLI_EXIT_OK;
}

/* ---- create ---- */

static int cred_create(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *ans = NULL;
    const char *v;
    uint64_t n;
    char t[32];
    int rc = body ? env_json_conflict(c, a) : cf_cli_usage(c, NULL, "out of memory");
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    v = cf_cli_value(a, "--name");
    if (!v) {
        rc = cf_cli_usage(c, "--name", "missing: every credential has a name");
        goto out;
    }
    rc = cf_cli_set_str(c, body, "name", v, "--name");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--parent")) != NULL)
        rc = cf_cli_set_str(c, body, "parent_id", v, "--parent");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_add_rights(c, a, body, true);
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (cf_cli_has(a, "--ttl") && cf_cli_has(a, "--expires-at")) {
        rc = cf_cli_usage(c, "--ttl", "give --ttl or --expires-at, not both");
        goto out;
    }
    if ((v = cf_cli_value(a, "--ttl")) != NULL) {
        rc = cf_cli_get_duration(c, "--ttl", v, 1, MAX_TTL_S, &n);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_u64(c, body, "ttl_seconds", n);
    }
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--expires-at")) != NULL) {
        rc = cf_cli_get_time(c, "--expires-at", v, t);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_str(c, body, "expires_at", t, "--expires-at");
    }
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--not-before")) != NULL) {
        rc = cf_cli_get_time(c, "--not-before", v, t);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_str(c, body, "not_before", t, "--not-before");
    }
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_list(c, body, "allowed_ips", a, "--allow-ip");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "POST", "/v1/credentials", body, true, &ans);
    if (rc == CF_CLI_EXIT_OK)
        rc = show_with_secrets(c, ans, cf_cli_has(a, "--env"));
out:
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* ---- list ---- */

static int cred_list(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    const json_t *cred;
    cf_cli_table t;
    cf_buf path;
    uint64_t n;
    size_t i;
    const char *v;
    int rc = CF_CLI_EXIT_OK;
    cf_buf_init(&path, 64 << 10);
    cf_buf_append_c(&path, "/v1/credentials");
    if ((v = cf_cli_value(a, "--limit")) != NULL) {
        rc = cf_cli_get_u64(c, "--limit", v, 1000, &n);
        if (rc == CF_CLI_EXIT_OK && n == 0)
            rc = cf_cli_usage(c, "--limit", "at least 1");
        if (rc == CF_CLI_EXIT_OK && cf_cli_query(&path, "limit", v) != CF_OK)
            rc = cf_cli_usage(c, "--limit", "out of memory");
    }
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    rc = cf_cli_paginate(c, path.p, cf_cli_value(a, "--cursor"), "credentials",
                         cf_cli_has(a, "--all"), &ans);
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (c->json) {
        cf_cli_print_json(c, ans);
        goto out;
    }
    cf_cli_table_init(&t, 6);
    cf_cli_table_cell(&t, "ID");
    cf_cli_table_cell(&t, "NAME");
    cf_cli_table_cell(&t, "PARENT");
    cf_cli_table_cell(&t, "STATUS");
    cf_cli_table_cell(&t, "EXPIRES_AT");
    cf_cli_table_cell(&t, "LAST_USED_AT");
    for (i = 0; i < json_array_size(json_object_get(ans, "credentials")); i++) {
        cred = json_array_get(json_object_get(ans, "credentials"), i);
        cf_cli_table_json(&t, json_object_get(cred, "id"), "-");
        cf_cli_table_json(&t, json_object_get(cred, "name"), "-");
        cf_cli_table_json(&t, json_object_get(cred, "parent_id"), "-");
        cf_cli_table_json(&t, json_object_get(cred, "status"), "-");
        cf_cli_table_json(&t, json_object_get(cred, "expires_at"), "never");
        cf_cli_table_json(&t, json_object_get(cred, "last_used_at"), "never");
    }
    cf_cli_table_print(&t, c->out);
    cf_cli_table_free(&t);
    v = json_string_value(json_object_get(ans, "next_cursor"));
    if (v) {
        char msg[300];
        snprintf(msg, sizeof msg, "more credentials follow: add --cursor %s, or use --all", v);
        cf_cli_warn(c, msg);
    }
out:
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

/* ---- show ---- */

static int cred_show(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    cf_buf path;
    int rc;
    cf_buf_init(&path, 64 << 10);
    rc = cred_path(c, &path, a->arg, "");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "GET", path.p, NULL, true, &ans);
    if (rc == CF_CLI_EXIT_OK && !json_is_object(ans)) {
        cf_cli_error(c, "unexpected answer from the server", NULL);
        rc = CF_CLI_EXIT_API;
    }
    if (rc == CF_CLI_EXIT_OK) {
        if (c->json)
            cf_cli_print_json(c, ans);
        else
            cf_cli_print_credential(c, ans);
    }
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

/* ---- update ---- */

static int cred_update(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *ans = NULL;
    cf_buf path;
    const char *v;
    char t[32];
    int rc;
    cf_buf_init(&path, 64 << 10);
    rc = body ? cred_path(c, &path, a->arg, "") : cf_cli_usage(c, NULL, "out of memory");
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (cf_cli_has(a, "--allow-ip") && cf_cli_has(a, "--any-ip")) {
        rc = cf_cli_usage(c, "--any-ip", "give --allow-ip or --any-ip, not both");
        goto out;
    }
    if ((v = cf_cli_value(a, "--name")) != NULL)
        rc = cf_cli_set_str(c, body, "name", v, "--name");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--status")) != NULL) {
        if (strcmp(v, "active") != 0 && strcmp(v, "disabled") != 0)
            rc = cf_cli_usage(c, "--status", "must be active or disabled: %s", v);
        else
            rc = cf_cli_set_str(c, body, "status", v, "--status");
    }
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--expires-at")) != NULL) {
        rc = cf_cli_get_time(c, "--expires-at", v, t);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_str(c, body, "expires_at", t, "--expires-at");
    }
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_list(c, body, "allowed_ips", a, "--allow-ip");
    if (rc == CF_CLI_EXIT_OK && cf_cli_has(a, "--any-ip") &&
        json_object_set_new(body, "allowed_ips", json_array()) != 0)
        rc = cf_cli_usage(c, "--any-ip", "out of memory");
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (json_object_size(body) == 0) {
        rc = cf_cli_usage(c, NULL,
                          "nothing to change: give --name, --status, --expires-at, --allow-ip "
                          "or --any-ip");
        goto out;
    }
    rc = cf_cli_call(c, "PATCH", path.p, body, true, &ans);
    if (rc == CF_CLI_EXIT_OK && !json_is_object(ans)) {
        cf_cli_error(c, "unexpected answer from the server", NULL);
        rc = CF_CLI_EXIT_API;
    }
    if (rc == CF_CLI_EXIT_OK) {
        if (c->json)
            cf_cli_print_json(c, ans);
        else
            cf_cli_print_credential(c, ans);
    }
out:
    cf_buf_free(&path);
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* ---- rotate ---- */

static int cred_rotate(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *ans = NULL;
    cf_buf path;
    const char *v;
    uint64_t grace = 0;
    int rc = env_json_conflict(c, a);
    cf_buf_init(&path, 64 << 10);
    if (rc == CF_CLI_EXIT_OK)
        rc = body ? cred_path(c, &path, a->arg, "/rotate") : cf_cli_usage(c, NULL, "out of memory");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--grace")) != NULL)
        rc = cf_cli_get_duration(c, "--grace", v, 0, MAX_GRACE_S, &grace);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_u64(c, body, "grace_seconds", grace);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "POST", path.p, body, true, &ans);
    if (rc == CF_CLI_EXIT_OK)
        rc = show_with_secrets(c, ans, cf_cli_has(a, "--env"));
    cf_buf_free(&path);
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* ---- revoke ---- */

static int cred_revoke(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    cf_buf path;
    int rc;
    cf_buf_init(&path, 64 << 10);
    rc = cred_path(c, &path, a->arg, "");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "DELETE", path.p, NULL, true, &ans);
    if (rc == CF_CLI_EXIT_OK) {
        if (c->json) {
            if (ans)
                cf_cli_print_json(c, ans);
        } else {
            json_t *d = json_object_get(ans, "deleted");
            char *id = cf_cli_sanitize(a->arg);
            if (json_is_integer(d))
                fprintf(c->out, "revoked %s: %" JSON_INTEGER_FORMAT " credential%s deleted\n",
                        id ? id : "?", json_integer_value(d),
                        json_integer_value(d) == 1 ? "" : "s");
            else
                fprintf(c->out, "revoked %s\n", id ? id : "?");
            free(id);
        }
    }
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

/* ---- the table ---- */

static const cf_cli_opt cred_create_opts[] = {
    {"--name", CF_CLI_VALUE},    {"--parent", CF_CLI_VALUE},     {"--permission", CF_CLI_VALUE},
    {"--bucket", CF_CLI_LIST},   {"--prefix", CF_CLI_LIST},      {"--policy", CF_CLI_VALUE},
    {"--ttl", CF_CLI_VALUE},     {"--expires-at", CF_CLI_VALUE}, {"--not-before", CF_CLI_VALUE},
    {"--allow-ip", CF_CLI_LIST}, {"--env", CF_CLI_FLAG},         {NULL, CF_CLI_FLAG},
};
static const cf_cli_opt cred_list_opts[] = {
    {"--limit", CF_CLI_VALUE},
    {"--cursor", CF_CLI_VALUE},
    {"--all", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};
static const cf_cli_opt cred_no_opts[] = {{NULL, CF_CLI_FLAG}};
static const cf_cli_opt cred_update_opts[] = {
    {"--name", CF_CLI_VALUE},    {"--status", CF_CLI_VALUE}, {"--expires-at", CF_CLI_VALUE},
    {"--allow-ip", CF_CLI_LIST}, {"--any-ip", CF_CLI_FLAG},  {NULL, CF_CLI_FLAG},
};
static const cf_cli_opt cred_rotate_opts[] = {
    {"--grace", CF_CLI_VALUE},
    {"--env", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};

#define TIME_HELP                                                                                  \
    "TIME is RFC 3339 (2025-06-30T00:00:00Z, 2025-06-30T02:00:00+02:00), a date alone\n"           \
    "(2025-06-30, midnight UTC), now, or now plus or minus a duration (+12h, -30m).\n"             \
    "Durations are seconds (3600) or groups of digits and a unit s m h d w (90m, 1d12h).\n"

static const cf_cli_cmd cred_cmds[] = {
    {"create",
     "--name N [--parent ID] (--permission P [--bucket B]... [--prefix P]... | --policy FILE|-)\n"
     "       [--ttl DURATION | --expires-at TIME] [--not-before TIME] [--allow-ip CIDR]... [--env]",
     "Creates a credential: an S3 access key with a policy, a child of the caller (or of\n"
     "--parent). It can never do more than its parent; the server refuses a child asking for\n"
     "more (403) or outliving its parent. The S3 secret access key and the bearer token are\n"
     "printed this once only.\n"
     "\n"
     "Request: POST /v1/credentials (admin:CreateCredential).\n"
     "\n"
     "Options:\n"
     "  --name N             a name, 1..128 characters (required)\n"
     "  --parent ID          the parent credential (default: the caller), in the caller's tree\n"
     "  --permission P       shorthand rights: admin-read-write, admin-read-only,\n"
     "                       object-read-write or object-read-only; expanded by the server\n"
     "  --bucket B           with --permission: a bucket it applies to (repeat for several;\n"
     "                       none: all buckets)\n"
     "  --prefix P           with --permission: a key prefix it is limited to (repeat)\n"
     "  --policy FILE|-      a full IAM policy JSON from FILE or standard input, instead of\n"
     "                       --permission\n"
     "  --ttl DURATION       expires that long from now\n"
     "  --expires-at TIME    expires at TIME (not later than the parent)\n"
     "  --not-before TIME    refused before TIME\n"
     "  --allow-ip CIDR      only from this network, IPv4 or IPv6 (repeat; none: any address)\n"
     "  --env                print shell variable lines instead of the table:\n"
     "                       AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... COFFER_TOKEN=...\n"
     "\n" TIME_HELP "\n"
     "Examples:\n"
     "  coffer credential create --name uploader --permission object-read-write \\\n"
     "      --bucket customer-42 --prefix uploads/ --ttl 1d\n"
     "  coffer credential create --name reports --policy policy.json --allow-ip 10.0.0.0/8\n"
     "  set -a; eval \"$(coffer credential create --name ci --permission object-read-only "
     "--env)\"; set +a\n",
     cred_create_opts, NULL, false, cred_create, "create a credential (prints its secrets once)"},
    {"list", "[--limit N] [--cursor C] [--all]",
     "Lists the credentials of the caller's tree (itself included), ordered by id, one page\n"
     "at a time. When more follow, a note on standard error gives the next cursor.\n"
     "\n"
     "Request: GET /v1/credentials?limit=N&cursor=C (admin:ListCredentials).\n"
     "\n"
     "Options:\n"
     "  --limit N    credentials per page, 1..1000 (server default 100)\n"
     "  --cursor C   start after this cursor (the next_cursor of a previous page)\n"
     "  --all        follow the cursors to the end (with --json: one merged answer)\n",
     cred_list_opts, NULL, false, cred_list, "list the credentials of your tree"},
    {"show", "ID|self",
     "Shows one credential of the caller's tree (never its secrets); 'self' is the caller.\n"
     "\n"
     "Request: GET /v1/credentials/ID (admin:GetCredential), or GET /v1/credentials/self\n"
     "(no action needed).\n",
     cred_no_opts, "ID", true, cred_show, "show one credential"},
    {"update",
     "ID [--name N] [--status active|disabled] [--expires-at TIME] [--allow-ip CIDR]... | "
     "[--any-ip]",
     "Changes a credential. Disabling one cuts off its whole subtree at once; the expiry can\n"
     "only move earlier (or be set where there was none).\n"
     "\n"
     "Request: PATCH /v1/credentials/ID (admin:UpdateCredential).\n"
     "\n"
     "Options:\n"
     "  --name N              rename\n"
     "  --status S            active or disabled\n"
     "  --expires-at TIME     a new, earlier expiry\n"
     "  --allow-ip CIDR       replace the allowed networks (repeat for several)\n"
     "  --any-ip              allow any address (an empty list)\n"
     "\n" TIME_HELP,
     cred_update_opts, "ID", true, cred_update,
     "rename, disable, shorten, change allowed networks"},
    {"rotate", "ID [--grace DURATION] [--env]",
     "Gives a credential a new S3 secret access key and bearer token (same id), printed this\n"
     "once only. The old token stops working at once; the old secret keeps working for the\n"
     "grace period.\n"
     "\n"
     "Request: POST /v1/credentials/ID/rotate {\"grace_seconds\": N} (admin:RotateCredential).\n"
     "\n"
     "Options:\n"
     "  --grace DURATION  how long the old secret still works, up to 7d (default 0: not at all)\n"
     "  --env             print AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... COFFER_TOKEN=...\n",
     cred_rotate_opts, "ID", true, cred_rotate, "new secret and token for the same id"},
    {"revoke", "ID",
     "Deletes a credential and its whole subtree: every one of them is refused from the very\n"
     "next request. There is no undo and no confirmation prompt.\n"
     "\n"
     "Request: DELETE /v1/credentials/ID (admin:DeleteCredential).\n",
     cred_no_opts, "ID", true, cred_revoke, "delete a credential and its subtree"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};

const cf_cli_group cf_cli_credential_group = {
    "credential",
    "Create, list, show, update, rotate and revoke credentials (S3 access keys with policies).",
    cred_cmds,
    false,
};
