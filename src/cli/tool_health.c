/* coffer health. */
#include "cli/cli.h"

static int run_health(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    const char *status;
    int rc = cf_cli_call(c, "GET", "/v1/health", NULL, false, &ans);
    (void)a;
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    status = json_string_value(json_object_get(ans, "status"));
    if (!status) {
        cf_cli_error(c, "unexpected answer from the server", NULL);
        rc = CF_CLI_EXIT_API;
        goto out;
    }
    if (c->json) {
        cf_cli_print_json(c, ans);
    } else {
        cf_cli_table t;
        cf_cli_table_init(&t, 1);
        cf_cli_table_cell(&t, status);
        cf_cli_table_print(&t, c->out);
        cf_cli_table_free(&t);
    }
out:
    json_decref(ans);
    return rc;
}

static const cf_cli_opt health_no_opts[] = {{NULL, CF_CLI_FLAG}};

static const cf_cli_cmd health_cmds[] = {
    {"", "",
     "Checks that the credentials API answers; prints its status (\"ok\"). Needs no token.\n"
     "\n"
     "Request: GET /v1/health (no authentication).\n",
     health_no_opts, NULL, false, run_health, "check that the API answers (no token)"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};

const cf_cli_group cf_cli_health_group = {
    "health",
    "Check that the credentials API answers (no token needed).",
    health_cmds,
    true,
};
