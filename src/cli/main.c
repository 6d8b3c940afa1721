/* coffer: the command-line client of the credentials API. Reads the environment, hands the
 * command to its group (src/cli/tool_*.c), and makes sure the output really was written. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const cf_cli_group *const groups[] = {
    &cf_cli_health_group, &cf_cli_bucket_group, &cf_cli_credential_group,
    &cf_cli_temp_group,   &cf_cli_audit_group,  NULL,
};

static void usage(cf_cli *c, FILE *f)
{
    FILE *out = c->out;
    c->out = f;
    fputs("Usage: coffer [--url URL] [--token TOKEN] [--json] COMMAND [options]\n"
          "\n"
          "The command-line client of coffer's credentials API (docs/admin-api.md).\n"
          "\n"
          "Commands ('coffer COMMAND --help' tells more):\n",
          c->out);
    for (size_t i = 0; groups[i]; i++) {
        const cf_cli_group *g = groups[i];
        for (const cf_cli_cmd *cmd = g->cmds; cmd->name; cmd++) {
            char words[64];
            snprintf(words, sizeof words, "%s%s%s", g->name, cmd->name[0] ? " " : "", cmd->name);
            fprintf(c->out, "  %-26s %s\n", words, cmd->summary);
        }
    }
    fputs("\n"
          "Environment:\n"
          "  COFFER_ADMIN_URL  the credentials API (default " CF_CLI_DEFAULT_URL ")\n"
          "  COFFER_TOKEN      bearer token (needed by every command but health)\n"
          "\n"
          "Global options (anywhere on the line):\n"
          "  --url URL, --token TOKEN   override the variables\n"
          "  --json                     print the server's JSON answer (pretty) instead of\n"
          "                             a table\n"
          "  -h, --help                 help; 'coffer COMMAND --help' for one command\n"
          "\n"
          "Output: aligned tables by default. Secrets (secret access keys, tokens, session\n"
          "tokens) are printed once, when created or rotated, with a warning on standard\n"
          "error. --env prints NAME=value lines, shell-quoted, ready for eval.\n"
          "\n"
          "Exit status: 0 success, 1 the API refused or could not be reached, 2 bad usage.\n"
          "Errors are one line on standard error: coffer: <message> (<field>).\n",
          c->out);
    c->out = out;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && v[0] ? v : fallback;
}

static const cf_cli_group *find_group(const char *name)
{
    for (size_t i = 0; groups[i]; i++)
        if (strcmp(groups[i]->name, name) == 0)
            return groups[i];
    return NULL;
}

/* "coffer help [GROUP [COMMAND]]" */
static int help(cf_cli *c, int argc, char **argv)
{
    const cf_cli_group *g = argc > 0 ? find_group(argv[0]) : NULL;
    if (argc == 0) {
        usage(c, c->out);
        return CF_CLI_EXIT_OK;
    }
    if (!g)
        return cf_cli_usage(c, argv[0], "unknown command");
    if (g->single) {
        cf_cli_cmd_help(c, g->name, &g->cmds[0]);
        return CF_CLI_EXIT_OK;
    }
    if (argc > 1) {
        for (const cf_cli_cmd *cmd = g->cmds; cmd->name; cmd++) {
            if (strcmp(cmd->name, argv[1]) == 0) {
                cf_cli_cmd_help(c, g->name, cmd);
                return CF_CLI_EXIT_OK;
            }
        }
        return cf_cli_usage(c, argv[1], "unknown command");
    }
    cf_cli_group_help(c, g);
    return CF_CLI_EXIT_OK;
}

static int run(cf_cli *c, int argc, char **argv)
{
    int i = 0;
    /* Global options before the command; later ones are taken by the command's parser. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            usage(c, c->out);
            return CF_CLI_EXIT_OK;
        } else if (strcmp(w, "--json") == 0) {
            c->json = true;
        } else if (strcmp(w, "--url") == 0 || strcmp(w, "--token") == 0) {
            if (i + 1 >= argc)
                return cf_cli_usage(c, w, "needs a value");
            if (w[2] == 'u')
                c->url = argv[++i];
            else
                c->token = argv[++i];
        } else if (strncmp(w, "--url=", 6) == 0) {
            c->url = w + 6;
        } else if (strncmp(w, "--token=", 8) == 0) {
            c->token = w + 8;
        } else {
            /* Name the option without its value. */
            const char *eq = strchr(w, '=');
            char name[64];
            snprintf(name, sizeof name, "%.*s", eq && eq - w < 60 ? (int)(eq - w) : 60, w);
            return cf_cli_usage(c, name, "unknown option");
        }
    }
    if (i >= argc) {
        usage(c, c->err);
        return CF_CLI_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0)
        return help(c, argc - i - 1, argv + i + 1);
    const cf_cli_group *g = find_group(argv[i]);
    if (!g)
        return cf_cli_usage(c, argv[i], "unknown command; see 'coffer --help'");
    return cf_cli_group_run(c, g, argc - i - 1, argv + i + 1);
}

int main(int argc, char **argv)
{
    cf_cli c = {
        .url = env_or("COFFER_ADMIN_URL", CF_CLI_DEFAULT_URL),
        .token = env_or("COFFER_TOKEN", NULL),
        .json = false,
        .out = stdout,
        .err = stderr,
    };
    int rc;
    if (!cf_cli_http_init()) {
        cf_cli_error(&c, "cannot initialise libcurl", NULL);
        return CF_CLI_EXIT_API;
    }
    rc = run(&c, argc - 1, argv + 1);
    cf_cli_http_cleanup();
    /* A secret that was never written is lost: a failed write must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cf_cli_error(&c, "cannot write to standard output", NULL);
        if (rc == CF_CLI_EXIT_OK)
            rc = CF_CLI_EXIT_API;
    }
    return rc;
}
