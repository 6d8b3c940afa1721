/* The command line: options, command dispatch, help, and the parsing of numbers, sizes,
 * durations and times. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"

static const cf_cli_opt global_opts[] = {
    {"--url", CF_CLI_VALUE},
    {"--token", CF_CLI_VALUE},
    {"--json", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};

static const cf_cli_opt *find_opt(const cf_cli_opt *opts, const char *name, size_t len)
{
    for (; opts && opts->name; opts++)
        if (strlen(opts->name) == len && memcmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

static bool is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

void cf_cli_args_free(cf_cli_args *a)
{
    free(a->items);
    a->items = NULL;
    a->nitems = 0;
}

/* Applies a global option; false if name is not one. */
static bool apply_global(cf_cli *c, const cf_cli_opt *o, const char *value)
{
    if (strcmp(o->name, "--url") == 0)
        c->url = value;
    else if (strcmp(o->name, "--token") == 0)
        c->token = value;
    else if (strcmp(o->name, "--json") == 0)
        c->json = true;
    else
        return false;
    return true;
}

int cf_cli_parse(cf_cli *c, const char *group, const cf_cli_cmd *cmd, int argc, char **argv,
                 cf_cli_args *a)
{
    bool only_args = false;
    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    a->group = group;
    /* Every word is at most one item: argc bounds the array. */
    a->items = calloc((size_t)argc + 1, sizeof(*a->items));
    if (!a->items)
        return cf_cli_usage(c, NULL, "out of memory");
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!only_args && is_help(w)) {
            cf_cli_cmd_help(c, group, cmd);
            return CF_CLI_HELP_SHOWN;
        }
        if (!only_args && strcmp(w, "--") == 0) {
            only_args = true;
            continue;
        }
        if (only_args || w[0] != '-' || w[1] == '\0') {
            /* A positional word ("-" alone is one too). */
            if (!cmd->arg)
                return cf_cli_usage(c, w, "unexpected argument");
            if (a->arg)
                return cf_cli_usage(c, w, "only one %s is taken", cmd->arg);
            a->arg = w;
            continue;
        }
        const char *eq = strchr(w, '=');
        size_t nlen = eq ? (size_t)(eq - w) : strlen(w);
        const cf_cli_opt *o = find_opt(cmd->opts, w, nlen);
        bool global = false;
        if (!o) {
            o = find_opt(global_opts, w, nlen);
            global = o != NULL;
        }
        if (!o) {
            /* Name the option without its value: the value may be a secret. */
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(nlen < 60 ? nlen : 60), w);
            return cf_cli_usage(c, name, "unknown option");
        }
        const char *value = NULL;
        if (o->kind == CF_CLI_FLAG) {
            if (eq)
                return cf_cli_usage(c, o->name, "takes no value");
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return cf_cli_usage(c, o->name, "needs a value");
        }
        if (global) {
            apply_global(c, o, value);
            continue;
        }
        if (o->kind != CF_CLI_LIST && cf_cli_has(a, o->name))
            return cf_cli_usage(c, o->name, "given more than once");
        a->items[a->nitems].opt = o;
        a->items[a->nitems].value = value;
        a->nitems++;
    }
    if (cmd->arg && cmd->arg_required && !a->arg)
        return cf_cli_usage(c, cmd->arg, "missing argument");
    return CF_CLI_EXIT_OK;
}

const char *cf_cli_value(const cf_cli_args *a, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < a->nitems; i++)
        if (strcmp(a->items[i].opt->name, name) == 0)
            v = a->items[i].value;
    return v;
}

bool cf_cli_has(const cf_cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->nitems; i++)
        if (strcmp(a->items[i].opt->name, name) == 0)
            return true;
    return false;
}

const char *cf_cli_next(const cf_cli_args *a, const char *name, size_t *i)
{
    for (; *i < a->nitems; (*i)++) {
        if (strcmp(a->items[*i].opt->name, name) == 0)
            return a->items[(*i)++].value;
    }
    return NULL;
}

/* ---- dispatch and help ---- */

static void print_globals(cf_cli *c)
{
    fputs(
        "\nGlobal options (anywhere on the line):\n"
        "  --url URL      the credentials API (default $COFFER_ADMIN_URL, else " CF_CLI_DEFAULT_URL
        ")\n"
        "  --token TOKEN  bearer token (default $COFFER_TOKEN; prefer the variable: arguments\n"
        "                 are visible to other users in the process list)\n"
        "  --json         print the server's JSON answer (pretty) instead of a table\n"
        "  -h, --help     this help\n",
        c->out);
}

void cf_cli_cmd_help(cf_cli *c, const char *group, const cf_cli_cmd *cmd)
{
    fprintf(c->out, "Usage: coffer %s%s%s%s%s\n\n%s", group, cmd->name[0] ? " " : "", cmd->name,
            cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->help);
    print_globals(c);
}

void cf_cli_group_help(cf_cli *c, const cf_cli_group *g)
{
    fprintf(c->out, "Usage: coffer %s COMMAND [options]\n\n%s\n\nCommands:\n", g->name, g->summary);
    for (const cf_cli_cmd *cmd = g->cmds; cmd->name; cmd++)
        fprintf(c->out, "  %-8s %s\n", cmd->name, cmd->summary);
    fprintf(c->out, "\n'coffer %s COMMAND --help' tells more.\n", g->name);
}

int cf_cli_group_run(cf_cli *c, const cf_cli_group *g, int argc, char **argv)
{
    const cf_cli_cmd *cmd = NULL;
    cf_cli_args a;
    int rc;
    if (g->single) {
        cmd = &g->cmds[0];
    } else {
        if (argc < 1) {
            /* A missing command is a usage error: the list goes to stderr. */
            FILE *out = c->out;
            c->out = c->err;
            cf_cli_group_help(c, g);
            c->out = out;
            return CF_CLI_EXIT_USAGE;
        }
        if (is_help(argv[0]) || strcmp(argv[0], "help") == 0) {
            cf_cli_group_help(c, g);
            return CF_CLI_EXIT_OK;
        }
        for (const cf_cli_cmd *k = g->cmds; k->name; k++)
            if (strcmp(k->name, argv[0]) == 0)
                cmd = k;
        if (!cmd)
            return cf_cli_usage(c, argv[0], "unknown command");
        argc--;
        argv++;
    }
    rc = cf_cli_parse(c, g->name, cmd, argc, argv, &a);
    if (rc == CF_CLI_EXIT_OK)
        rc = cmd->run(c, &a);
    else if (rc == CF_CLI_HELP_SHOWN)
        rc = CF_CLI_EXIT_OK;
    cf_cli_args_free(&a);
    return rc;
}

/* ---- numbers ---- */

static bool digits_prefix(cf_str s, size_t *n)
{
    size_t i = 0;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++;
    *n = i;
    return i > 0;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return false;
    *out = a * b;
    return true;
}

bool cf_cli_parse_size(cf_str s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KB", UINT64_C(1000)},
        {"MB", UINT64_C(1000000)},
        {"GB", UINT64_C(1000000000)},
        {"TB", UINT64_C(1000000000000)},
        {"KiB", UINT64_C(1) << 10},
        {"MiB", UINT64_C(1) << 20},
        {"GiB", UINT64_C(1) << 30},
        {"TiB", UINT64_C(1) << 40},
    };
    size_t n;
    uint64_t v;
    if (!s.p || !digits_prefix(s, &n) || !cf_str_to_u64(cf_str_sub(s, 0, n), &v))
        return false;
    cf_str unit = cf_str_sub(s, n, s.len - n);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (unit.len == strlen(units[i].unit) && cf_str_ieq_c(unit, units[i].unit))
            return mul_ok(v, units[i].mult, out);
    return false;
}

static uint64_t unit_seconds(char u)
{
    switch (u) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    case 'w':
        return 7 * 86400;
    default:
        return 0;
    }
}

bool cf_cli_parse_duration(cf_str s, uint64_t *seconds)
{
    uint64_t total = 0;
    size_t groups = 0;
    if (!s.p || s.len == 0)
        return false;
    while (s.len > 0) {
        size_t n;
        uint64_t v, mult, part;
        if (!digits_prefix(s, &n) || !cf_str_to_u64(cf_str_sub(s, 0, n), &v))
            return false;
        if (n == s.len) {
            /* Bare digits mean seconds, but only alone: "1h30" is a typo, not 1h30s. */
            if (groups > 0)
                return false;
            *seconds = v;
            return true;
        }
        mult = unit_seconds(s.p[n]);
        if (mult == 0 || !mul_ok(v, mult, &part) || total > UINT64_MAX - part)
            return false;
        total += part;
        groups++;
        s = cf_str_sub(s, n + 1, s.len - n - 1);
    }
    *seconds = total;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's method). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool fixed_digits(cf_str s, size_t at, size_t n, int *out)
{
    int v = 0;
    if (at + n > s.len)
        return false;
    for (size_t i = at; i < at + n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

#define MAX_TIME_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static bool parse_rfc3339(cf_str s, int64_t *ms)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh = 0, mm = 0, ss = 0, frac = 0, oh = 0, om = 0, sign = 0;
    size_t i = 10;
    if (!fixed_digits(s, 0, 4, &y) || s.len < 10 || s.p[4] != '-' || !fixed_digits(s, 5, 2, &mo) ||
        s.p[7] != '-' || !fixed_digits(s, 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
        return false;
    if (s.len > 10) {
        char sep = s.p[10];
        if (sep != 'T' && sep != 't' && sep != ' ')
            return false;
        if (!fixed_digits(s, 11, 2, &hh) || s.len < 16 || s.p[13] != ':' ||
            !fixed_digits(s, 14, 2, &mm))
            return false;
        i = 16;
        /* Seconds are optional here (RFC 3339 wants them; people often omit them). */
        if (i < s.len && s.p[i] == ':') {
            if (!fixed_digits(s, 17, 2, &ss))
                return false;
            i = 19;
        }
        if (hh > 23 || mm > 59 || ss > 59)
            return false;
        if (i < s.len && s.p[i] == '.') {
            size_t nd = 0;
            for (i++; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++, nd++)
                if (nd < 3)
                    frac = frac * 10 + (s.p[i] - '0');
            if (nd == 0)
                return false;
            for (; nd < 3; nd++)
                frac *= 10;
        }
        /* A zone is required: a time without one means different instants to different
         * people. */
        if (i >= s.len)
            return false;
        if (s.p[i] == 'Z' || s.p[i] == 'z') {
            i++;
        } else if (s.p[i] == '+' || s.p[i] == '-') {
            sign = s.p[i] == '+' ? 1 : -1;
            if (!fixed_digits(s, i + 1, 2, &oh) || i + 3 >= s.len || s.p[i + 3] != ':' ||
                !fixed_digits(s, i + 4, 2, &om) || oh > 23 || om > 59)
                return false;
            i += 6;
        } else {
            return false;
        }
        if (i != s.len)
            return false;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
    t -= sign * (oh * 3600 + om * 60);
    t = t * 1000 + frac;
    if (t < 0 || t > MAX_TIME_MS)
        return false;
    *ms = t;
    return true;
}

bool cf_cli_parse_time(cf_str s, int64_t now_ms, int64_t *ms)
{
    uint64_t secs;
    if (!s.p || s.len == 0)
        return false;
    /* Relative times count from the current whole second: no stray milliseconds. */
    now_ms -= now_ms % 1000;
    if (cf_str_eq_c(s, "now")) {
        *ms = now_ms;
        return true;
    }
    if (s.p[0] == '+' || s.p[0] == '-') {
        if (!cf_cli_parse_duration(cf_str_sub(s, 1, s.len - 1), &secs) ||
            secs > (uint64_t)MAX_TIME_MS / 1000)
            return false;
        int64_t d = (int64_t)secs * 1000;
        int64_t t = s.p[0] == '+' ? now_ms + d : now_ms - d;
        if (t < 0 || t > MAX_TIME_MS)
            return false;
        *ms = t;
        return true;
    }
    return parse_rfc3339(s, ms);
}

void cf_cli_format_time(int64_t ms, char out[32])
{
    char iso[25];
    cf_time_iso8601(ms, iso);
    /* "...:SS.000Z" -> "...:SSZ": the shorter form when it says the same. */
    if (memcmp(iso + 19, ".000", 4) == 0) {
        memcpy(out, iso, 19);
        out[19] = 'Z';
        out[20] = '\0';
    } else {
        memcpy(out, iso, 25);
    }
}

int cf_cli_get_u64(cf_cli *c, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    if (!cf_str_to_u64(cf_str_c(s), out))
        return cf_cli_usage(c, opt, "not a whole number: %s", s);
    if (*out > max)
        return cf_cli_usage(c, opt, "at most %llu", (unsigned long long)max);
    return CF_CLI_EXIT_OK;
}

int cf_cli_get_size(cf_cli *c, const char *opt, const char *s, uint64_t *out)
{
    if (!cf_cli_parse_size(cf_str_c(s), out) || *out > (uint64_t)INT64_MAX)
        return cf_cli_usage(c, opt, "not a size (bytes, or with KB MB GB TB KiB MiB GiB TiB): %s",
                            s);
    return CF_CLI_EXIT_OK;
}

int cf_cli_get_duration(cf_cli *c, const char *opt, const char *s, uint64_t min, uint64_t max,
                        uint64_t *out)
{
    if (!cf_cli_parse_duration(cf_str_c(s), out))
        return cf_cli_usage(c, opt, "not a duration (seconds, or like 90s 15m 12h 7d 1h30m): %s",
                            s);
    if (*out < min || *out > max)
        return cf_cli_usage(c, opt, "must be from %llu to %llu seconds", (unsigned long long)min,
                            (unsigned long long)max);
    return CF_CLI_EXIT_OK;
}

int cf_cli_get_time(cf_cli *c, const char *opt, const char *s, char out[32])
{
    int64_t ms;
    if (!cf_cli_parse_time(cf_str_c(s), cf_now_ms(), &ms))
        return cf_cli_usage(c, opt,
                            "not a time (RFC 3339 like 2025-01-02T10:00:00Z, a date, now, "
                            "+1h, -30m): %s",
                            s);
    cf_cli_format_time(ms, out);
    return CF_CLI_EXIT_OK;
}

int cf_cli_read_json_file(cf_cli *c, const char *opt, const char *path, json_t **out)
{
    FILE *f = NULL;
    cf_buf b;
    char chunk[8192];
    json_error_t jerr;
    int rc = CF_CLI_EXIT_USAGE;
    bool is_stdin = strcmp(path, "-") == 0;
    cf_buf_init(&b, CF_CLI_MAX_POLICY_FILE);
    *out = NULL;
    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cf_cli_usage(c, opt, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n > 0 && cf_buf_append(&b, chunk, n) != CF_OK) {
            cf_cli_usage(c, opt, "%s is larger than %zu bytes", is_stdin ? "standard input" : path,
                         CF_CLI_MAX_POLICY_FILE);
            goto out;
        }
        if (n < sizeof chunk)
            break;
    }
    if (ferror(f)) {
        cf_cli_usage(c, opt, "cannot read %s", is_stdin ? "standard input" : path);
        goto out;
    }
    *out = json_loadb(b.p ? b.p : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        cf_cli_usage(c, opt, "%s: line %d column %d: %s", is_stdin ? "standard input" : path,
                     jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(*out)) {
        cf_cli_usage(c, opt, "%s must hold a JSON object", is_stdin ? "standard input" : path);
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    rc = CF_CLI_EXIT_OK;
out:
    if (f && !is_stdin)
        fclose(f);
    cf_buf_free(&b);
    return rc;
}

/* ---- request bodies ---- */

int cf_cli_set_str(cf_cli *c, json_t *obj, const char *key, const char *value, const char *opt)
{
    json_t *v = json_string(value);
    if (!v)
        return cf_cli_usage(c, opt, "not valid UTF-8");
    if (json_object_set_new(obj, key, v) != 0)
        return cf_cli_usage(c, opt, "out of memory");
    return CF_CLI_EXIT_OK;
}

int cf_cli_set_list(cf_cli *c, json_t *obj, const char *key, const cf_cli_args *a, const char *opt)
{
    json_t *arr;
    const char *v;
    size_t i = 0;
    if (!cf_cli_has(a, opt))
        return CF_CLI_EXIT_OK;
    arr = json_array();
    if (!arr || json_object_set_new(obj, key, arr) != 0)
        return cf_cli_usage(c, opt, "out of memory");
    while ((v = cf_cli_next(a, opt, &i)) != NULL) {
        json_t *s = json_string(v);
        if (!s)
            return cf_cli_usage(c, opt, "not valid UTF-8");
        if (json_array_append_new(arr, s) != 0)
            return cf_cli_usage(c, opt, "out of memory");
    }
    return CF_CLI_EXIT_OK;
}

int cf_cli_set_u64(cf_cli *c, json_t *obj, const char *key, uint64_t v)
{
    /* JSON integers are int64 in jansson; callers bound v below that. */
    if (v > (uint64_t)INT64_MAX || json_object_set_new(obj, key, json_integer((json_int_t)v)) != 0)
        return cf_cli_usage(c, key, "value out of range");
    return CF_CLI_EXIT_OK;
}
