/* coffer bucket create|list|show|update|delete. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_TTL_S UINT64_C(315360000)

/* "73400320 (70.0 MiB)": exact bytes, and a readable size past a KiB. */
static void bytes_text(const json_t *v, char *out, size_t n)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    json_int_t b = json_integer_value(v);
    double d = (double)b;
    size_t u = 0;
    if (!json_is_integer(v)) {
        snprintf(out, n, "-");
        return;
    }
    if (b < 1024) {
        snprintf(out, n, "%" JSON_INTEGER_FORMAT, b);
        return;
    }
    d /= 1024;
    while (d >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        d /= 1024;
        u++;
    }
    snprintf(out, n, "%" JSON_INTEGER_FORMAT " (%.1f %s)", b, d, units[u]);
}

static void print_bucket(cf_cli *c, const json_t *b)
{
    cf_cli_table t;
    const json_t *quota = json_object_get(b, "quota");
    char text[64];
    cf_cli_table_init(&t, 2);
    cf_cli_table_cell(&t, "name");
    cf_cli_table_json(&t, json_object_get(b, "name"), "-");
    cf_cli_table_cell(&t, "region");
    cf_cli_table_json(&t, json_object_get(b, "region"), "-");
    cf_cli_table_cell(&t, "created_at");
    cf_cli_table_json(&t, json_object_get(b, "created_at"), "-");
    cf_cli_table_cell(&t, "objects");
    cf_cli_table_json(&t, json_object_get(b, "objects"), "-");
    cf_cli_table_cell(&t, "bytes");
    bytes_text(json_object_get(b, "bytes"), text, sizeof text);
    cf_cli_table_cell(&t, text);
    cf_cli_table_cell(&t, "max_bytes");
    if (json_is_integer(json_object_get(quota, "max_bytes"))) {
        bytes_text(json_object_get(quota, "max_bytes"), text, sizeof text);
        cf_cli_table_cell(&t, text);
    } else {
        cf_cli_table_cell(&t, "none");
    }
    cf_cli_table_cell(&t, "max_objects");
    cf_cli_table_json(&t, json_object_get(quota, "max_objects"), "none");
    cf_cli_table_print(&t, c->out);
    cf_cli_table_free(&t);
}

static int bucket_path(cf_cli *c, cf_buf *b, const char *name)
{
    if (!name[0])
        return cf_cli_usage(c, "NAME", "empty bucket name");
    if (cf_buf_append_c(b, "/v1/buckets/") != CF_OK || cf_cli_url_escape(b, name) != CF_OK)
        return cf_cli_usage(c, "NAME", "too long");
    return CF_CLI_EXIT_OK;
}

static int unexpected(cf_cli *c)
{
    cf_cli_error(c, "unexpected answer from the server", NULL);
    return CF_CLI_EXIT_API;
}

/* ---- create ---- */

/* The credential of the one-call flow, if any --credential-* option asks for one. */
static int credential_body(cf_cli *c, const cf_cli_args *a, json_t *body)
{
    static const char *const opts[] = {"--credential-name", "--credential-prefix",
                                       "--credential-ttl", "--env", NULL};
    const char *perm = cf_cli_value(a, "--credential-permission"), *v;
    json_t *cred;
    uint64_t ttl;
    int rc;
    if (!perm) {
        for (size_t i = 0; opts[i]; i++)
            if (cf_cli_has(a, opts[i]))
                return cf_cli_usage(c, opts[i], "needs --credential-permission");
        return CF_CLI_EXIT_OK;
    }
    if (cf_cli_has(a, "--env") && c->json)
        return cf_cli_usage(c, "--env", "--env and --json exclude each other");
    if (!cf_cli_permission_known(perm))
        return cf_cli_usage(c, "--credential-permission",
                            "not one of admin-read-write, admin-read-only, object-read-write, "
                            "object-read-only: %s",
                            perm);
    cred = json_object();
    if (!cred || json_object_set_new(body, "credential", cred) != 0)
        return cf_cli_usage(c, NULL, "out of memory");
    /* The credential is named after the bucket unless told otherwise. */
    v = cf_cli_value(a, "--credential-name");
    rc = cf_cli_set_str(c, cred, "name", v ? v : a->arg, v ? "--credential-name" : "NAME");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_str(c, cred, "permission", perm, "--credential-permission");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_list(c, cred, "prefixes", a, "--credential-prefix");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--credential-ttl")) != NULL) {
        rc = cf_cli_get_duration(c, "--credential-ttl", v, 1, MAX_TTL_S, &ttl);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_u64(c, cred, "ttl_seconds", ttl);
    }
    return rc;
}

static int bucket_create(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *quota = NULL, *ans = NULL;
    const json_t *bucket, *cred;
    const char *v;
    uint64_t n;
    int rc = body ? cf_cli_set_str(c, body, "name", a->arg, "NAME")
                  : cf_cli_usage(c, NULL, "out of memory");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--region")) != NULL)
        rc = cf_cli_set_str(c, body, "region", v, "--region");
    if (rc == CF_CLI_EXIT_OK && (cf_cli_has(a, "--max-bytes") || cf_cli_has(a, "--max-objects"))) {
        quota = json_object();
        if (!quota || json_object_set_new(body, "quota", quota) != 0)
            rc = cf_cli_usage(c, NULL, "out of memory");
        if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--max-bytes")) != NULL) {
            rc = cf_cli_get_size(c, "--max-bytes", v, &n);
            if (rc == CF_CLI_EXIT_OK)
                rc = cf_cli_set_u64(c, quota, "max_bytes", n);
        }
        if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--max-objects")) != NULL) {
            rc = cf_cli_get_u64(c, "--max-objects", v, (uint64_t)INT64_MAX, &n);
            if (rc == CF_CLI_EXIT_OK)
                rc = cf_cli_set_u64(c, quota, "max_objects", n);
        }
    }
    if (rc == CF_CLI_EXIT_OK)
        rc = credential_body(c, a, body);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "POST", "/v1/buckets", body, true, &ans);
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    bucket = json_object_get(ans, "bucket");
    cred = json_object_get(ans, "credential");
    if (!json_is_object(bucket) || (cred && !json_is_object(cred))) {
        rc = unexpected(c);
        goto out;
    }
    if (c->json) {
        cf_cli_print_json(c, ans);
    } else if (cred && cf_cli_has(a, "--env")) {
        rc = cf_cli_print_credential_env(c, cred);
    } else {
        print_bucket(c, bucket);
        if (cred) {
            fputs("\ncredential:\n", c->out);
            cf_cli_print_credential(c, cred);
        }
    }
    if (cred && rc == CF_CLI_EXIT_OK)
        cf_cli_secret_warning(c, "credential's secret access key and token");
out:
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* ---- list ---- */

static int bucket_list(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    const json_t *buckets, *b;
    cf_cli_table t;
    size_t i;
    int rc = cf_cli_call(c, "GET", "/v1/buckets", NULL, true, &ans);
    (void)a;
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    buckets = json_object_get(ans, "buckets");
    if (!json_is_array(buckets)) {
        rc = unexpected(c);
        goto out;
    }
    if (c->json) {
        cf_cli_print_json(c, ans);
        goto out;
    }
    cf_cli_table_init(&t, 7);
    cf_cli_table_cell(&t, "NAME");
    cf_cli_table_cell(&t, "REGION");
    cf_cli_table_cell(&t, "OBJECTS");
    cf_cli_table_cell(&t, "BYTES");
    cf_cli_table_cell(&t, "MAX_BYTES");
    cf_cli_table_cell(&t, "MAX_OBJECTS");
    cf_cli_table_cell(&t, "CREATED_AT");
    for (i = 0; i < json_array_size(buckets); i++) {
        b = json_array_get(buckets, i);
        const json_t *q = json_object_get(b, "quota");
        cf_cli_table_json(&t, json_object_get(b, "name"), "-");
        cf_cli_table_json(&t, json_object_get(b, "region"), "-");
        cf_cli_table_json(&t, json_object_get(b, "objects"), "-");
        cf_cli_table_json(&t, json_object_get(b, "bytes"), "-");
        cf_cli_table_json(&t, json_object_get(q, "max_bytes"), "none");
        cf_cli_table_json(&t, json_object_get(q, "max_objects"), "none");
        cf_cli_table_json(&t, json_object_get(b, "created_at"), "-");
    }
    cf_cli_table_print(&t, c->out);
    cf_cli_table_free(&t);
out:
    json_decref(ans);
    return rc;
}

/* ---- show, update, delete ---- */

static int answer_bucket(cf_cli *c, const json_t *ans)
{
    if (!json_is_object(ans))
        return unexpected(c);
    if (c->json)
        cf_cli_print_json(c, ans);
    else
        print_bucket(c, ans);
    return CF_CLI_EXIT_OK;
}

static int bucket_show(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    cf_buf path;
    int rc;
    cf_buf_init(&path, 64 << 10);
    rc = bucket_path(c, &path, a->arg);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "GET", path.p, NULL, true, &ans);
    if (rc == CF_CLI_EXIT_OK)
        rc = answer_bucket(c, ans);
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

/* "none" removes a limit (JSON null); otherwise a number (sizes for bytes). */
static int quota_value(cf_cli *c, const cf_cli_args *a, json_t *quota, const char *opt,
                       const char *key, bool size)
{
    const char *v = cf_cli_value(a, opt);
    uint64_t n;
    int rc;
    if (!v)
        return CF_CLI_EXIT_OK;
    if (strcmp(v, "none") == 0) {
        if (json_object_set_new(quota, key, json_null()) != 0)
            return cf_cli_usage(c, opt, "out of memory");
        return CF_CLI_EXIT_OK;
    }
    rc = size ? cf_cli_get_size(c, opt, v, &n) : cf_cli_get_u64(c, opt, v, (uint64_t)INT64_MAX, &n);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_set_u64(c, quota, key, n);
    return rc;
}

static int bucket_update(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *quota = json_object(), *ans = NULL;
    cf_buf path;
    int rc;
    cf_buf_init(&path, 64 << 10);
    if (!body || !quota) {
        json_decref(quota);
        rc = cf_cli_usage(c, NULL, "out of memory");
        goto out;
    }
    /* body owns quota from here on. */
    json_object_set_new(body, "quota", quota);
    rc = bucket_path(c, &path, a->arg);
    if (rc == CF_CLI_EXIT_OK)
        rc = quota_value(c, a, quota, "--max-bytes", "max_bytes", true);
    if (rc == CF_CLI_EXIT_OK)
        rc = quota_value(c, a, quota, "--max-objects", "max_objects", false);
    if (rc == CF_CLI_EXIT_OK && json_object_size(quota) == 0)
        rc = cf_cli_usage(c, NULL, "nothing to change: give --max-bytes or --max-objects");
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "PATCH", path.p, body, true, &ans);
    if (rc == CF_CLI_EXIT_OK)
        rc = answer_bucket(c, ans);
out:
    cf_buf_free(&path);
    json_decref(body);
    json_decref(ans);
    return rc;
}

static int bucket_delete(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    cf_buf path;
    int rc;
    cf_buf_init(&path, 64 << 10);
    rc = bucket_path(c, &path, a->arg);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "DELETE", path.p, NULL, true, &ans);
    if (rc == CF_CLI_EXIT_OK) {
        /* 204 has no body: --json prints nothing, the table mode a confirmation. */
        if (c->json) {
            if (ans)
                cf_cli_print_json(c, ans);
        } else {
            char *name = cf_cli_sanitize(a->arg);
            fprintf(c->out, "deleted bucket %s\n", name ? name : "?");
            free(name);
        }
    }
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

/* ---- the table ---- */

static const cf_cli_opt bucket_create_opts[] = {
    {"--region", CF_CLI_VALUE},
    {"--max-bytes", CF_CLI_VALUE},
    {"--max-objects", CF_CLI_VALUE},
    {"--credential-permission", CF_CLI_VALUE},
    {"--credential-name", CF_CLI_VALUE},
    {"--credential-prefix", CF_CLI_LIST},
    {"--credential-ttl", CF_CLI_VALUE},
    {"--env", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};
static const cf_cli_opt bucket_no_opts[] = {{NULL, CF_CLI_FLAG}};
static const cf_cli_opt bucket_update_opts[] = {
    {"--max-bytes", CF_CLI_VALUE},
    {"--max-objects", CF_CLI_VALUE},
    {NULL, CF_CLI_FLAG},
};

static const cf_cli_cmd bucket_cmds[] = {
    {"create",
     "NAME [--region R] [--max-bytes SIZE] [--max-objects N]\n"
     "       [--credential-permission P [--credential-name N] [--credential-prefix P]...\n"
     "        [--credential-ttl DURATION] [--env]]",
     "Creates a bucket, with a quota if asked, and with --credential-permission also a\n"
     "credential scoped to it, in one transaction (both or neither). The credential's secret\n"
     "access key and token are printed this once only.\n"
     "\n"
     "Request: POST /v1/buckets (admin:CreateBucket, and admin:CreateCredential with a\n"
     "credential).\n"
     "\n"
     "Options:\n"
     "  --region R                   the bucket's region (default: the server's)\n"
     "  --max-bytes SIZE             quota in bytes (suffixes KB MB GB TB, KiB MiB GiB TiB)\n"
     "  --max-objects N              quota in objects\n"
     "  --credential-permission P    also create a credential with this shorthand on the\n"
     "                               bucket: admin-read-write, admin-read-only,\n"
     "                               object-read-write or object-read-only\n"
     "  --credential-name N          its name (default: the bucket's name)\n"
     "  --credential-prefix P        limit it to a key prefix (repeat for several)\n"
     "  --credential-ttl DURATION    it expires that long from now (90m, 12h, 30d, seconds)\n"
     "  --env                        print only AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...\n"
     "                               COFFER_TOKEN=... lines for the credential\n"
     "\n"
     "Example:\n"
     "  coffer bucket create customer-42 --max-bytes 10GiB \\\n"
     "      --credential-permission object-read-write --credential-ttl 30d\n",
     bucket_create_opts, "NAME", true, bucket_create,
     "create a bucket, optionally with a credential for it"},
    {"list", "",
     "Lists the buckets the caller may see, with usage and quotas.\n"
     "\n"
     "Request: GET /v1/buckets (admin:ListBuckets).\n",
     bucket_no_opts, NULL, false, bucket_list, "list buckets with usage and quotas"},
    {"show", "NAME",
     "Shows a bucket: region, creation time, object count, bytes and quota.\n"
     "\n"
     "Request: GET /v1/buckets/NAME (admin:GetBucket).\n",
     bucket_no_opts, "NAME", true, bucket_show, "show one bucket"},
    {"update", "NAME [--max-bytes SIZE|none] [--max-objects N|none]",
     "Sets or removes the bucket's quota; what is not given stays as it is. A PUT past a\n"
     "quota is refused by the S3 API with QuotaExceeded (403).\n"
     "\n"
     "Request: PATCH /v1/buckets/NAME {\"quota\": {...}} (admin:UpdateBucket).\n"
     "\n"
     "Options:\n"
     "  --max-bytes SIZE|none    quota in bytes (suffixes KB MB GB TB, KiB MiB GiB TiB);\n"
     "                           none removes it\n"
     "  --max-objects N|none     quota in objects; none removes it\n",
     bucket_update_opts, "NAME", true, bucket_update, "set or remove quotas"},
    {"delete", "NAME",
     "Deletes an empty bucket (the server refuses a bucket with objects: 409).\n"
     "\n"
     "Request: DELETE /v1/buckets/NAME (admin:DeleteBucket).\n",
     bucket_no_opts, "NAME", true, bucket_delete, "delete an empty bucket"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};

const cf_cli_group cf_cli_bucket_group = {
    "bucket",
    "Create, list, show, update (quotas) and delete buckets.",
    bucket_cmds,
    false,
};
