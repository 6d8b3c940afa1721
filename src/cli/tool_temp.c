/* coffer temp-credential create. */
#include "cli/cli.h"

#define MAX_TEMP_TTL_S UINT64_C(604800) /* 7 days */

static int temp_print_env(cf_cli *c, const json_t *t)
{
    const char *id = json_string_value(json_object_get(t, "access_key_id"));
    const char *secret = json_string_value(json_object_get(t, "secret_access_key"));
    const char *token = json_string_value(json_object_get(t, "session_token"));
    if (!id || !secret || !token) {
        cf_cli_error(c, "the answer lacks a field",
                     !id       ? "access_key_id"
                     : !secret ? "secret_access_key"
                               : "session_token");
        return CF_CLI_EXIT_API;
    }
    cf_cli_print_env(c, "AWS_ACCESS_KEY_ID", id);
    cf_cli_print_env(c, "AWS_SECRET_ACCESS_KEY", secret);
    cf_cli_print_env(c, "AWS_SESSION_TOKEN", token);
    return CF_CLI_EXIT_OK;
}

static void print_temp(cf_cli *c, const json_t *t)
{
    static const char *const keys[] = {"access_key_id", "secret_access_key", "session_token",
                                       "expires_at",    "parent_id",         NULL};
    cf_cli_table tab;
    cf_cli_table_init(&tab, 2);
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(t, keys[i]);
        /* parent_id is an extra some servers add; show it when there. */
        if (!v && i == 4)
            continue;
        cf_cli_table_cell(&tab, keys[i]);
        cf_cli_table_json(&tab, v, "-");
    }
    cf_cli_table_print(&tab, c->out);
    cf_cli_table_free(&tab);
    cf_cli_print_policy(c, json_object_get(t, "policy"), "(none: the parent's rights)");
}

static int temp_create(cf_cli *c, const cf_cli_args *a)
{
    json_t *body = json_object(), *ans = NULL;
    const char *v;
    uint64_t ttl;
    bool env = cf_cli_has(a, "--env");
    int rc = body ? CF_CLI_EXIT_OK : cf_cli_usage(c, NULL, "out of memory");
    if (rc == CF_CLI_EXIT_OK && env && c->json)
        rc = cf_cli_usage(c, "--env", "--env and --json exclude each other");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--credential")) != NULL)
        rc = cf_cli_set_str(c, body, "credential_id", v, "--credential");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--ttl")) != NULL) {
        rc = cf_cli_get_duration(c, "--ttl", v, 1, MAX_TEMP_TTL_S, &ttl);
        if (rc == CF_CLI_EXIT_OK)
            rc = cf_cli_set_u64(c, body, "ttl_seconds", ttl);
    }
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_add_rights(c, a, body, false);
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_call(c, "POST", "/v1/temporary-credentials", body, true, &ans);
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (!json_is_object(ans)) {
        cf_cli_error(c, "unexpected answer from the server", NULL);
        rc = CF_CLI_EXIT_API;
        goto out;
    }
    if (c->json)
        cf_cli_print_json(c, ans);
    else if (env)
        rc = temp_print_env(c, ans);
    else
        print_temp(c, ans);
    if (rc == CF_CLI_EXIT_OK)
        cf_cli_secret_warning(c, "secret access key and session token");
out:
    json_decref(body);
    json_decref(ans);
    return rc;
}

static const cf_cli_opt temp_create_opts[] = {
    {"--credential", CF_CLI_VALUE}, {"--ttl", CF_CLI_VALUE},   {"--permission", CF_CLI_VALUE},
    {"--bucket", CF_CLI_LIST},      {"--prefix", CF_CLI_LIST}, {"--policy", CF_CLI_VALUE},
    {"--env", CF_CLI_FLAG},         {NULL, CF_CLI_FLAG},
};

static const cf_cli_cmd temp_cmds[] = {
    {"create",
     "[--credential ID] [--ttl DURATION]\n"
     "       [--permission P [--bucket B]... [--prefix P]... | --policy FILE|-] [--env]",
     "Mints a temporary S3 credential (access key id, secret and session token) derived from\n"
     "the caller or from a credential of its tree. It is never wider than its parent chain,\n"
     "works only on the S3 API (SDKs send the session token as X-Amz-Security-Token), dies\n"
     "with its parent, and costs the server no storage. Without --permission or --policy it\n"
     "has its parent's rights. Its secrets are printed this once only.\n"
     "\n"
     "Request: POST /v1/temporary-credentials (admin:CreateTemporaryCredential).\n"
     "\n"
     "Options:\n"
     "  --credential ID     the parent (default: the caller)\n"
     "  --ttl DURATION      lifetime, 1s to 7d (server default 1h); never past the parent's\n"
     "                      expiry\n"
     "  --permission P      shorthand rights: admin-read-write, admin-read-only,\n"
     "                      object-read-write or object-read-only\n"
     "  --bucket B          with --permission: a bucket it applies to (repeat for several)\n"
     "  --prefix P          with --permission: a key prefix it is limited to (repeat)\n"
     "  --policy FILE|-     a full IAM policy JSON from FILE or standard input\n"
     "  --env               print AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...\n"
     "                      AWS_SESSION_TOKEN=... lines instead of the table\n"
     "\n"
     "Durations are seconds (900) or groups of digits and a unit s m h d w (15m, 1d12h).\n"
     "\n"
     "Example:\n"
     "  set -a; eval \"$(coffer temp-credential create --ttl 15m --permission object-read-only \\\n"
     "      --bucket customer-42 --prefix exports/ --env)\"; set +a\n"
     "  aws --endpoint-url http://127.0.0.1:9000 s3 ls s3://customer-42/exports/\n",
     temp_create_opts, NULL, false, temp_create, "mint a temporary S3 credential"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};

const cf_cli_group cf_cli_temp_group = {
    "temp-credential",
    "Mint temporary S3 credentials (session tokens) without storing anything.",
    temp_cmds,
    false,
};
