/* coffer audit. */
#include "cli/cli.h"

static int run_audit(cf_cli *c, const cf_cli_args *a)
{
    json_t *ans = NULL;
    const json_t *ev;
    cf_cli_table t;
    cf_buf path;
    char since[32], until[32];
    const char *v;
    uint64_t n;
    size_t i;
    int rc = CF_CLI_EXIT_OK;
    cf_buf_init(&path, 64 << 10);
    if (cf_buf_append_c(&path, "/v1/audit") != CF_OK ||
        cf_cli_query(&path, "credential", cf_cli_value(a, "--credential")) != CF_OK)
        rc = cf_cli_usage(c, "--credential", "too long");
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--since")) != NULL) {
        rc = cf_cli_get_time(c, "--since", v, since);
        if (rc == CF_CLI_EXIT_OK && cf_cli_query(&path, "since", since) != CF_OK)
            rc = cf_cli_usage(c, "--since", "out of memory");
    }
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--until")) != NULL) {
        rc = cf_cli_get_time(c, "--until", v, until);
        if (rc == CF_CLI_EXIT_OK && cf_cli_query(&path, "until", until) != CF_OK)
            rc = cf_cli_usage(c, "--until", "out of memory");
    }
    if (rc == CF_CLI_EXIT_OK && (v = cf_cli_value(a, "--limit")) != NULL) {
        rc = cf_cli_get_u64(c, "--limit", v, 1000, &n);
        if (rc == CF_CLI_EXIT_OK && n == 0)
            rc = cf_cli_usage(c, "--limit", "at least 1");
        if (rc == CF_CLI_EXIT_OK && cf_cli_query(&path, "limit", v) != CF_OK)
            rc = cf_cli_usage(c, "--limit", "out of memory");
    }
    if (rc == CF_CLI_EXIT_OK)
        rc = cf_cli_paginate(c, path.p, cf_cli_value(a, "--cursor"), "events",
                             cf_cli_has(a, "--all"), &ans);
    if (rc != CF_CLI_EXIT_OK)
        goto out;
    if (c->json) {
        cf_cli_print_json(c, ans);
        goto out;
    }
    cf_cli_table_init(&t, 8);
    cf_cli_table_cell(&t, "SEQ");
    cf_cli_table_cell(&t, "TIME");
    cf_cli_table_cell(&t, "ACTOR");
    cf_cli_table_cell(&t, "ACTION");
    cf_cli_table_cell(&t, "TARGET");
    cf_cli_table_cell(&t, "SOURCE_IP");
    cf_cli_table_cell(&t, "OUTCOME");
    cf_cli_table_cell(&t, "DETAIL");
    for (i = 0; i < json_array_size(json_object_get(ans, "events")); i++) {
        ev = json_array_get(json_object_get(ans, "events"), i);
        cf_cli_table_json(&t, json_object_get(ev, "seq"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "time"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "actor"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "action"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "target"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "source_ip"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "outcome"), "-");
        cf_cli_table_json(&t, json_object_get(ev, "detail"), "");
    }
    cf_cli_table_print(&t, c->out);
    cf_cli_table_free(&t);
    v = json_string_value(json_object_get(ans, "next_cursor"));
    if (v) {
        char msg[300];
        snprintf(msg, sizeof msg, "more events follow: add --cursor %s, or use --all", v);
        cf_cli_warn(c, msg);
    }
out:
    cf_buf_free(&path);
    json_decref(ans);
    return rc;
}

static const cf_cli_opt audit_opts[] = {
    {"--credential", CF_CLI_VALUE},
    {"--since", CF_CLI_VALUE},
    {"--until", CF_CLI_VALUE},
    {"--limit", CF_CLI_VALUE},
    {"--cursor", CF_CLI_VALUE},
    {"--all", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};

static const cf_cli_cmd audit_cmds[] = {
    {"", "[--credential ID] [--since TIME] [--until TIME] [--limit N] [--cursor C] [--all]",
     "Shows the audit log, oldest first: who created, changed, rotated or revoked which\n"
     "credential or bucket, from which address, and the S3 requests that were denied.\n"
     "\n"
     "Request: GET /v1/audit?credential=&since=&until=&cursor=&limit= (admin:GetAudit).\n"
     "\n"
     "Options:\n"
     "  --credential ID   only events whose actor or target is this credential\n"
     "  --since TIME      only events at or after TIME\n"
     "  --until TIME      only events before TIME\n"
     "  --limit N         events per page, 1..1000\n"
     "  --cursor C        start after this cursor (the next_cursor of a previous page)\n"
     "  --all             follow the cursors to the end (with --json: one merged answer)\n"
     "\n"
     "TIME is RFC 3339 (2025-06-30T00:00:00Z), a date alone (midnight UTC), now, or now plus\n"
     "or minus a duration (-24h, -7d).\n"
     "\n"
     "Example:\n"
     "  coffer audit --credential CFQ2W3E4R5T6Y7U7IOPA --since -24h --all\n",
     audit_opts, NULL, false, run_audit, "show the audit log"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};

const cf_cli_group cf_cli_audit_group = {
    "audit",
    "Show the audit log (admin actions and denied S3 requests).",
    audit_cmds,
    true,
};
