/* coffer, the command-line client of the credentials API (docs/admin-api.md): what the
 * src/cli files share. Not part of libcoffer; bin/coffer links libcurl and jansson.
 *
 * Layout: main.c (entry, top-level help), tool_args.c (command line, numbers, times),
 * tool_output.c (errors, tables, JSON, shell quoting), tool_api.c (URLs, answers, errors
 * of the API), tool_http.c (the one libcurl call), and one file per command group. */
#ifndef COFFER_CLI_CLI_H
#define COFFER_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/rc.h"
#include "core/str.h"

#define CF_CLI_EXIT_OK    0
#define CF_CLI_EXIT_API   1    /* the API refused, or could not be reached */
#define CF_CLI_EXIT_USAGE 2    /* bad command line or local input */
#define CF_CLI_HELP_SHOWN (-1) /* cf_cli_parse: --help was printed; exit 0 */

#define CF_CLI_DEFAULT_URL     "http://127.0.0.1:9001"
#define CF_CLI_MAX_RESPONSE    ((size_t)16 << 20) /* answers larger than this are refused */
#define CF_CLI_MAX_POLICY_FILE ((size_t)1 << 20)
#define CF_CLI_MAX_PAGES       100000 /* --all stops after this many pages, whatever happens */

typedef struct cf_cli {
    const char *url;   /* base URL of the admin listener (COFFER_ADMIN_URL, --url) */
    const char *token; /* bearer token (COFFER_TOKEN, --token), or NULL */
    bool json;         /* --json: print the server's JSON */
    FILE *out;         /* results */
    FILE *err;         /* errors and warnings */
} cf_cli;

/* ---- command line (tool_args.c) ---- */

typedef enum cf_cli_optkind {
    CF_CLI_FLAG,  /* --env */
    CF_CLI_VALUE, /* --name N, at most once */
    CF_CLI_LIST,  /* --bucket B, may be repeated */
} cf_cli_optkind;

typedef struct cf_cli_opt {
    const char *name; /* "--bucket" */
    cf_cli_optkind kind;
} cf_cli_opt;

typedef struct cf_cli_args cf_cli_args;
typedef int (*cf_cli_run_fn)(cf_cli *c, const cf_cli_args *a);

typedef struct cf_cli_cmd {
    const char *name;       /* "create"; NULL ends a table */
    const char *synopsis;   /* after "coffer <group> <name> " */
    const char *help;       /* the body of --help */
    const cf_cli_opt *opts; /* ends with {NULL}; the global options are always accepted */
    const char *arg;        /* name of the one positional argument ("NAME"), or NULL */
    bool arg_required;
    cf_cli_run_fn run;
    const char *summary; /* a few words for the top-level help */
} cf_cli_cmd;

typedef struct cf_cli_group {
    const char *name;    /* "bucket" */
    const char *summary; /* one line for the top-level help */
    const cf_cli_cmd *cmds;
    bool single; /* one command named like the group: "coffer audit [options]" */
} cf_cli_group;

typedef struct cf_cli_item {
    const cf_cli_opt *opt;
    const char *value; /* NULL for a flag */
} cf_cli_item;

struct cf_cli_args {
    const cf_cli_cmd *cmd;
    const char *group;  /* for messages: "bucket" */
    cf_cli_item *items; /* in command-line order; owned */
    size_t nitems;
    const char *arg; /* the positional argument, or NULL */
};

/* Parses argv (the words after the command) against cmd: "--opt value", "--opt=value", "--"
 * ends the options. Global options (--url, --token, --json, --help/-h) update c. Returns
 * CF_CLI_EXIT_OK, CF_CLI_EXIT_USAGE (message printed) or CF_CLI_HELP_SHOWN (help printed).
 * Free a with cf_cli_args_free whatever it returns. */
int cf_cli_parse(cf_cli *c, const char *group, const cf_cli_cmd *cmd, int argc, char **argv,
                 cf_cli_args *a);
void cf_cli_args_free(cf_cli_args *a);
/* The value of a VALUE option (the last of a LIST), or NULL if not given. */
const char *cf_cli_value(const cf_cli_args *a, const char *name);
bool cf_cli_has(const cf_cli_args *a, const char *name);
/* Iterates the values of a LIST option: start with *i = 0; NULL at the end. */
const char *cf_cli_next(const cf_cli_args *a, const char *name, size_t *i);

/* Runs "coffer <group> ..." (argv starts after the group word). */
int cf_cli_group_run(cf_cli *c, const cf_cli_group *g, int argc, char **argv);
void cf_cli_group_help(cf_cli *c, const cf_cli_group *g);
void cf_cli_cmd_help(cf_cli *c, const char *group, const cf_cli_cmd *cmd);

/* Pure parsers (no output). Sizes: digits with an optional unit B, KB, MB, GB, TB (powers
 * of 1000) or KiB, MiB, GiB, TiB (powers of 1024), case-insensitive. Durations: digits
 * (seconds) or one or more digits+unit groups, units s, m, h, d, w ("1h30m"). Times: RFC
 * 3339 ("2025-01-02T10:00:00Z", offsets, fractions, 't'/' ' separators), a date alone (UTC
 * midnight), "now", or now +/- a duration ("+1h", "-30m"). */
bool cf_cli_parse_size(cf_str s, uint64_t *out);
bool cf_cli_parse_duration(cf_str s, uint64_t *seconds);
bool cf_cli_parse_time(cf_str s, int64_t now_ms, int64_t *ms);
/* "2025-01-02T10:00:00Z", with ".mmm" only when the milliseconds are not zero. */
void cf_cli_format_time(int64_t ms, char out[32]);

/* The same, printing a usage error naming opt on bad input (return value: exit code). */
int cf_cli_get_u64(cf_cli *c, const char *opt, const char *s, uint64_t max, uint64_t *out);
int cf_cli_get_size(cf_cli *c, const char *opt, const char *s, uint64_t *out);
int cf_cli_get_duration(cf_cli *c, const char *opt, const char *s, uint64_t min, uint64_t max,
                        uint64_t *out);
/* An absolute or relative time as the RFC 3339 string the API wants. */
int cf_cli_get_time(cf_cli *c, const char *opt, const char *s, char out[32]);
/* Reads a JSON object from a file ("-": stdin), at most CF_CLI_MAX_POLICY_FILE bytes; *out
 * is a new reference. */
int cf_cli_read_json_file(cf_cli *c, const char *opt, const char *path, json_t **out);

/* ---- request bodies (tool_args.c) ---- */

/* Sets key to a JSON string: a usage error naming opt if value is not UTF-8. */
int cf_cli_set_str(cf_cli *c, json_t *obj, const char *key, const char *value, const char *opt);
/* Sets key to the array of every value of the LIST option opt (only if given). */
int cf_cli_set_list(cf_cli *c, json_t *obj, const char *key, const cf_cli_args *a, const char *opt);
int cf_cli_set_u64(cf_cli *c, json_t *obj, const char *key, uint64_t v);

/* ---- output (tool_output.c) ---- */

/* "coffer: <message> (<field>)" on c->err; field may be NULL. Control characters in either
 * are shown as '?'. */
void cf_cli_error(cf_cli *c, const char *message, const char *field);
/* A usage error: prints it, returns CF_CLI_EXIT_USAGE. */
int cf_cli_usage(cf_cli *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cf_cli_warn(cf_cli *c, const char *message);

/* Appends s quoted for a POSIX shell: unchanged if it only has [A-Za-z0-9@%+=:,./_-] (and is
 * not empty), otherwise in single quotes with each ' written as '"'"'. */
cf_rc cf_cli_shell_quote(cf_buf *b, const char *s);
/* Prints "NAME=value" with value shell-quoted. */
void cf_cli_print_env(cf_cli *c, const char *name, const char *value);

/* Pretty JSON (two-space indent, order kept) and a newline. */
void cf_cli_print_json(cf_cli *c, const json_t *j);

/* A text table: rows of ncols cells, printed with columns aligned on display width (UTF-8
 * code points), two spaces apart, the last column unpadded. Cells are copied with control
 * characters (and bytes of invalid UTF-8) replaced by '?', so server data cannot drive the
 * terminal. Use a first row of upper-case names as a header, or none for key/value lists. */
typedef struct cf_cli_table {
    size_t ncols;
    char **cells;
    size_t ncells, cap;
    bool failed; /* out of memory: printing says so */
} cf_cli_table;

void cf_cli_table_init(cf_cli_table *t, size_t ncols);
void cf_cli_table_free(cf_cli_table *t);
void cf_cli_table_cell(cf_cli_table *t, const char *s); /* NULL: "-" */
/* A cell from a JSON value: strings as they are, integers in decimal, true/false, arrays
 * joined with ", ", objects as compact JSON; if_none for null, missing and empty arrays. */
void cf_cli_table_json(cf_cli_table *t, const json_t *v, const char *if_none);
void cf_cli_table_print(const cf_cli_table *t, FILE *out);
/* Display width of s: its code points (no East Asian width table: good enough for ids). */
size_t cf_cli_display_width(const char *s);
/* s with control characters and invalid UTF-8 replaced by '?' (malloc'd; NULL: no memory). */
char *cf_cli_sanitize(const char *s);

/* ---- the API (tool_api.c over tool_http.c) ---- */

typedef struct cf_cli_http_req {
    const char *method; /* "GET", "POST", "PATCH", "DELETE" */
    const char *url;
    const char *token; /* NULL: no Authorization header */
    const char *body;  /* NULL: none */
    size_t body_len;
} cf_cli_http_req;

/* tool_http.c: performs one request. CF_OK with *status and the body in resp (bounded by
 * resp->max: CF_ETOOBIG past it); CF_EIO with errbuf saying why on a transport failure. */
cf_rc cf_cli_http_do(const cf_cli_http_req *r, long *status, cf_buf *resp, char *errbuf,
                     size_t errlen);
bool cf_cli_http_init(void);
void cf_cli_http_cleanup(void);

/* Appends s percent-encoded (everything but A-Z a-z 0-9 - . _ ~). */
cf_rc cf_cli_url_escape(cf_buf *b, const char *s);
/* Appends "?name=value" or "&name=value" (value escaped); nothing if value is NULL. */
cf_rc cf_cli_query(cf_buf *b, const char *name, const char *value);

/* Sends method path (already escaped, "/v1/...") with body (may be NULL; not stolen).
 * auth: send the token (a usage error if there is none). On a 2xx answer *answer gets the
 * parsed JSON (NULL when the body is empty) and CF_CLI_EXIT_OK is returned; otherwise the
 * one-line error is printed and CF_CLI_EXIT_API (or CF_CLI_EXIT_USAGE) returned. */
int cf_cli_call(cf_cli *c, const char *method, const char *path, const json_t *body, bool auth,
                json_t **answer);

/* Fetches path (with its query, if any) from cursor (NULL: the start) and, with all, every
 * following page (the cursor parameter is added from each answer's next_cursor),
 * concatenating the key arrays; *answer is the first page's object with key holding
 * everything (next_cursor null after all). */
int cf_cli_paginate(cf_cli *c, const char *path, const char *cursor, const char *key, bool all,
                    json_t **answer);

/* ---- command groups ---- */

extern const cf_cli_group cf_cli_health_group;
extern const cf_cli_group cf_cli_bucket_group;
extern const cf_cli_group cf_cli_credential_group;
extern const cf_cli_group cf_cli_temp_group;
extern const cf_cli_group cf_cli_audit_group;

/* tool_credential.c, for bucket create's credential: the key/value view (with secrets when
 * present, then the policy) and the --env lines. */
void cf_cli_print_credential(cf_cli *c, const json_t *cred);
int cf_cli_print_credential_env(cf_cli *c, const json_t *cred);
/* Warns on c->err that secrets were shown and will not be again. */
void cf_cli_secret_warning(cf_cli *c, const char *what);
/* Adds the rights of a create or temp body from --policy FILE or --permission P with
 * --bucket B... and --prefix P... (exactly one of the two if required, else at most one). */
int cf_cli_add_rights(cf_cli *c, const cf_cli_args *a, json_t *body, bool required);
/* Whether p is one of the four shorthand permission levels. */
bool cf_cli_permission_known(const char *p);
/* Prints a JSON policy (or the text if_null) under a "policy:" line, ASCII only. */
void cf_cli_print_policy(cf_cli *c, const json_t *policy, const char *if_null);

#endif
