/* cofferd's settings. One table drives the flags, the COFFER_* variables, the config-file
 * keys, the defaults and --help, so a new setting is one row. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"

#define VERSION_TEXT     "cofferd 0.1.0"
#define MAX_THREADS      256
#define FILE_MAX         (1u << 20) /* a config file is a few lines; refuse anything huge */
#define SHOW_MAX         80         /* bytes of a bad value echoed in an error */
#define CLOCK_OFFSET_MAX (10LL * 366 * 86400 * 1000) /* ten years either way */

typedef enum kind {
    K_ADDR,   /* host:port or [v6]:port */
    K_PATH,   /* non-empty path */
    K_DOMAIN, /* empty or a DNS name, stored lowercase */
    K_REGION, /* [a-z0-9-]{1,63} or "auto" */
    K_CHOICE, /* one of choices[] */
    K_UINT,   /* decimal in [min, max] */
    K_SIZE,   /* decimal with optional K/M/G/T (binary) suffix, in [min, max] */
    K_INT,    /* signed decimal in [min, max] */
    K_CONFIG, /* the config file itself: read before the other sources */
} kind;

typedef enum ftype { F_NONE, F_STR, F_BOOL, F_INT, F_UNSIGNED, F_U64, F_I64 } ftype;

typedef struct choice {
    const char *name;
    int value;
} choice;

typedef struct setting {
    const char *name; /* the flag without "--", and the config-file key */
    const char *env;
    const char *def;
    const char *metavar;
    kind kind;
    ftype ftype;
    size_t off, size; /* the cf_config member */
    int64_t min, max;
    const choice *choices;
    const char *help;
} setting;

#define FIELD(m, t) .ftype = (t), .off = offsetof(cf_config, m), .size = sizeof(((cf_config *)0)->m)

static const choice fsync_choices[] = {{"always", 1}, {"never", 0}, {NULL, 0}};
static const choice onoff_choices[] = {{"on", 1}, {"off", 0}, {NULL, 0}};
static const choice level_choices[] = {{"debug", CF_LOG_DEBUG},
                                       {"info", CF_LOG_INFO},
                                       {"warn", CF_LOG_WARN},
                                       {"error", CF_LOG_ERROR},
                                       {NULL, 0}};

static const setting settings[] = {
    {.name = "listen",
     .env = "COFFER_LISTEN",
     .def = "127.0.0.1:9000",
     .metavar = "ADDR",
     .kind = K_ADDR,
     FIELD(listen, F_STR),
     .help = "S3 API address, host:port or [v6]:port"},
    {.name = "admin-listen",
     .env = "COFFER_ADMIN_LISTEN",
     .def = "127.0.0.1:9001",
     .metavar = "ADDR",
     .kind = K_ADDR,
     FIELD(admin_listen, F_STR),
     .help = "admin (credentials) API address, host:port or [v6]:port"},
    {.name = "data",
     .env = "COFFER_DATA",
     .def = "./data",
     .metavar = "DIR",
     .kind = K_PATH,
     FIELD(data_dir, F_STR),
     .help = "data directory (metadata, blobs, master.key)"},
    {.name = "domain",
     .env = "COFFER_DOMAIN",
     .def = "",
     .metavar = "NAME",
     .kind = K_DOMAIN,
     FIELD(domain, F_STR),
     .help = "base domain for virtual-host buckets (bucket.NAME); empty: path style only"},
    {.name = "region",
     .env = "COFFER_REGION",
     .def = "us-east-1",
     .metavar = "REGION",
     .kind = K_REGION,
     FIELD(region, F_STR),
     .help = "region name, [a-z0-9-]{1,63}; \"auto\" accepts any region in signatures"},
    {.name = "fsync",
     .env = "COFFER_FSYNC",
     .def = "always",
     .metavar = "always|never",
     .kind = K_CHOICE,
     FIELD(fsync, F_BOOL),
     .choices = fsync_choices,
     .help = "flush writes to stable storage before acknowledging them (see below)"},
    {.name = "threads",
     .env = "COFFER_THREADS",
     .def = "0",
     .metavar = "N",
     .kind = K_UINT,
     FIELD(threads, F_UNSIGNED),
     .min = 0,
     .max = MAX_THREADS,
     .help = "worker threads, 0..256; 0: one per online CPU"},
    {.name = "log-level",
     .env = "COFFER_LOG_LEVEL",
     .def = "info",
     .metavar = "debug|info|warn|error",
     .kind = K_CHOICE,
     FIELD(log_level, F_INT),
     .choices = level_choices,
     .help = "least severe log level written to stderr"},
    {.name = "access-log",
     .env = "COFFER_ACCESS_LOG",
     .def = "on",
     .metavar = "on|off",
     .kind = K_CHOICE,
     FIELD(access_log, F_BOOL),
     .choices = onoff_choices,
     .help = "one line per request on stderr"},
    {.name = "max-connections",
     .env = "COFFER_MAX_CONNECTIONS",
     .def = "4096",
     .metavar = "N",
     .kind = K_UINT,
     FIELD(max_connections, F_UNSIGNED),
     .min = 1,
     .max = 1000000,
     .help = "client connections served at once, 1..1000000; requests on more get 503 SlowDown"},
    {.name = "idle-timeout",
     .env = "COFFER_IDLE_TIMEOUT",
     .def = "60",
     .metavar = "SECONDS",
     .kind = K_UINT,
     FIELD(idle_timeout_s, F_UNSIGNED),
     .min = 1,
     .max = 86400,
     .help = "close a connection idle this long, or whose request headers take this long, "
             "1..86400 seconds"},
    {.name = "max-object-size",
     .env = "COFFER_MAX_OBJECT_SIZE",
     .def = "5T",
     .metavar = "BYTES",
     .kind = K_SIZE,
     FIELD(max_object_size, F_U64),
     .min = 1,
     .max = 5LL << 40,
     .help = "largest object accepted; suffix K, M, G or T (powers of 1024), at most 5T"},
    {.name = "lifecycle-interval",
     .env = "COFFER_LIFECYCLE_INTERVAL",
     .def = "3600",
     .metavar = "SECONDS",
     .kind = K_UINT,
     FIELD(lifecycle_interval_s, F_UNSIGNED),
     .min = 1,
     .max = 604800,
     .help = "seconds between sweeps applying the buckets' lifecycle rules, 1..604800"},
    {.name = "auth-fail-limit",
     .env = "COFFER_AUTH_FAIL_LIMIT",
     .def = "500",
     .metavar = "N",
     .kind = K_UINT,
     FIELD(auth_fail_limit, F_UNSIGNED),
     .min = 0,
     .max = 1000000,
     .help = "failed authentications from one address in 10 minutes before it is locked out, "
             "0..1000000; 0: never"},
    {.name = "auth-fail-lockout",
     .env = "COFFER_AUTH_FAIL_LOCKOUT",
     .def = "60",
     .metavar = "SECONDS",
     .kind = K_UINT,
     FIELD(auth_fail_lockout_s, F_UNSIGNED),
     .min = 1,
     .max = 86400,
     .help = "first lockout of such an address, 1..86400 seconds (doubles on repeats, to 16x)"},
    {.name = "config",
     .env = "COFFER_CONFIG",
     .def = "",
     .metavar = "FILE",
     .kind = K_CONFIG,
     .ftype = F_NONE,
     .help = "file of `key = value` lines (keys as the flag names, '#' comments)"},
    {.name = "debug-clock-offset-ms",
     .env = "COFFER_DEBUG_CLOCK_OFFSET_MS",
     .def = "0",
     .metavar = "MS",
     .kind = K_INT,
     FIELD(debug_clock_offset_ms, F_I64),
     .min = -CLOCK_OFFSET_MAX,
     .max = CLOCK_OFFSET_MAX,
     .help = "FOR TESTS ONLY: shift the server clock by MS ms (may be negative)"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const setting *find_setting(cf_str name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (cf_str_eq_c(name, settings[i].name))
            return &settings[i];
    return NULL;
}

/* A bad value, made safe to echo on a terminal and cut short. */
static void show_value(cf_str v, char out[SHOW_MAX + 4])
{
    size_t n = v.len < SHOW_MAX ? v.len : SHOW_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (v.len > SHOW_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* One line on stderr: "cofferd: ORIGIN[: KEY]: WHY[ (got "VALUE")]". */
static void report(const char *origin, const char *key, const cf_str *v, const char *why)
{
    char shown[SHOW_MAX + 4];
    if (v)
        show_value(*v, shown);
    fprintf(stderr, "cofferd: %s%s%s: %s%s%s%s\n", origin, key ? ": " : "", key ? key : "", why,
            v ? " (got \"" : "", v ? shown : "", v ? "\")" : "");
}

/* For an unknown argument, the argument itself is the origin. */
static void report_arg(cf_str a, const char *why)
{
    char shown[SHOW_MAX + 4];
    show_value(a, shown);
    fprintf(stderr, "cofferd: %s: %s\n", shown, why);
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* A DNS name or dotted IPv4: labels of [A-Za-z0-9-], no empty label, no edge hyphen. */
static bool valid_dns_name(cf_str h)
{
    size_t label = 0;
    bool numeric = true;
    if (h.len == 0 || h.len > 253)
        return false;
    for (size_t i = 0; i <= h.len; i++) {
        char ch = i < h.len ? h.p[i] : '.';
        if (ch == '.') {
            if (label == 0 || label > 63 || h.p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(ch) && ch != '-')
            return false;
        if (ch == '-' && label == 0)
            return false;
        if (!is_digit(ch))
            numeric = false;
        label++;
    }
    if (numeric) {
        /* All digits and dots: it must be a real IPv4 address, not "999.1.1.1". */
        char tmp[254];
        struct in_addr a4;
        memcpy(tmp, h.p, h.len);
        tmp[h.len] = '\0';
        return inet_pton(AF_INET, tmp, &a4) == 1;
    }
    return true;
}

static bool valid_v6(cf_str h)
{
    char tmp[64];
    struct in6_addr a6;
    if (h.len == 0 || h.len >= sizeof(tmp))
        return false;
    memcpy(tmp, h.p, h.len);
    tmp[h.len] = '\0';
    return inet_pton(AF_INET6, tmp, &a6) == 1;
}

bool cf_config_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port)
{
    cf_str in = cf_str_c(s), h, p;
    uint64_t n;
    if (!s || !host || hostcap == 0 || !port)
        return false;
    if (in.len && in.p[0] == '[') {
        ptrdiff_t close = cf_str_find(in, ']');
        cf_str rest;
        if (close < 0)
            return false;
        h = cf_str_sub(in, 1, (size_t)close - 1);
        rest = cf_str_sub(in, (size_t)close + 1, in.len);
        if (rest.len < 1 || rest.p[0] != ':')
            return false;
        p = cf_str_sub(rest, 1, rest.len);
        if (!valid_v6(h))
            return false;
    } else {
        if (!cf_str_cut(in, ':', &h, &p))
            return false;
        /* A second colon means an unbracketed IPv6 address: ambiguous, refuse. */
        if (cf_str_find(p, ':') >= 0 || !valid_dns_name(h))
            return false;
    }
    if (!cf_str_to_u64(p, &n) || n < 1 || n > 65535)
        return false;
    if (h.len >= hostcap)
        return false;
    memcpy(host, h.p, h.len);
    host[h.len] = '\0';
    *port = (uint16_t)n;
    return true;
}

static bool parse_size(cf_str v, uint64_t *out)
{
    unsigned shift = 0;
    uint64_t n;
    if (v.len) {
        switch (v.p[v.len - 1]) {
        case 'K':
        case 'k':
            shift = 10;
            break;
        case 'M':
        case 'm':
            shift = 20;
            break;
        case 'G':
        case 'g':
            shift = 30;
            break;
        case 'T':
        case 't':
            shift = 40;
            break;
        default:
            break;
        }
        if (shift)
            v.len--;
    }
    if (!cf_str_to_u64(v, &n) || n > (UINT64_MAX >> shift))
        return false;
    *out = n << shift;
    return true;
}

static bool valid_addr(cf_str v)
{
    char tmp[sizeof(((cf_config *)0)->listen)], host[sizeof(tmp)];
    uint16_t port;
    if (v.len >= sizeof(tmp) || memchr(v.p, '\0', v.len))
        return false;
    memcpy(tmp, v.p, v.len);
    tmp[v.len] = '\0';
    return cf_config_split_hostport(tmp, host, sizeof(host), &port);
}

static void store_int(cf_config *c, const setting *s, int64_t iv, uint64_t uv)
{
    char *f = (char *)c + s->off;
    switch (s->ftype) {
    case F_BOOL:
        *(bool *)(void *)f = iv != 0;
        break;
    case F_INT:
        *(int *)(void *)f = (int)iv;
        break;
    case F_UNSIGNED:
        *(unsigned *)(void *)f = (unsigned)uv;
        break;
    case F_U64:
        *(uint64_t *)(void *)f = uv;
        break;
    case F_I64:
        *(int64_t *)(void *)f = iv;
        break;
    default:
        break;
    }
}

/* Validates v for s and stores it in c; on failure returns false with *why set. */
static bool apply(cf_config *c, const setting *s, cf_str v, char *why, size_t whycap)
{
    char *f = (char *)c + s->off;
    uint64_t u;
    int64_t i;

    switch (s->kind) {
    case K_ADDR:
        if (!valid_addr(v)) {
            snprintf(why, whycap, "expected host:port or [ipv6]:port with a port in 1..65535");
            return false;
        }
        break;
    case K_PATH:
        if (v.len == 0 || v.len >= s->size || memchr(v.p, '\0', v.len)) {
            snprintf(why, whycap, "expected a non-empty path of at most %zu bytes", s->size - 1);
            return false;
        }
        break;
    case K_DOMAIN:
        if (v.len && (v.len >= s->size || !valid_dns_name(v))) {
            snprintf(why, whycap, "expected a DNS name such as s3.example.com, or empty");
            return false;
        }
        break;
    case K_REGION: {
        bool ok = v.len >= 1 && v.len <= 63;
        for (size_t k = 0; ok && k < v.len; k++) {
            char ch = v.p[k];
            ok = is_digit(ch) || (ch >= 'a' && ch <= 'z') || ch == '-';
        }
        if (!ok) {
            snprintf(why, whycap, "expected 1..63 characters of [a-z0-9-], or \"auto\"");
            return false;
        }
        break;
    }
    case K_CHOICE:
        for (const choice *ch = s->choices; ch->name; ch++) {
            if (cf_str_eq_c(v, ch->name)) {
                store_int(c, s, ch->value, (uint64_t)ch->value);
                return true;
            }
        }
        snprintf(why, whycap, "expected %s", s->metavar);
        return false;
    case K_UINT:
        if (!cf_str_to_u64(v, &u) || u < (uint64_t)s->min || u > (uint64_t)s->max) {
            snprintf(why, whycap, "expected an integer in %lld..%lld", (long long)s->min,
                     (long long)s->max);
            return false;
        }
        store_int(c, s, (int64_t)u, u);
        return true;
    case K_SIZE:
        if (!parse_size(v, &u) || u < (uint64_t)s->min || u > (uint64_t)s->max) {
            snprintf(why, whycap,
                     "expected a size in bytes, optionally with K, M, G or T, from %lld to 5T",
                     (long long)s->min);
            return false;
        }
        store_int(c, s, 0, u);
        return true;
    case K_INT:
        if (!cf_str_to_i64(v, &i) || i < s->min || i > s->max) {
            snprintf(why, whycap, "expected an integer in %lld..%lld", (long long)s->min,
                     (long long)s->max);
            return false;
        }
        store_int(c, s, i, (uint64_t)i);
        return true;
    case K_CONFIG:
        return true;
    }

    /* The string kinds, validated above. */
    memcpy(f, v.p, v.len);
    f[v.len] = '\0';
    if (s->kind == K_DOMAIN)
        for (size_t k = 0; k < v.len; k++)
            if (f[k] >= 'A' && f[k] <= 'Z')
                f[k] = (char)(f[k] + 32);
    return true;
}

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: cofferd [--FLAG VALUE | --FLAG=VALUE]...\n\n"
                 "cofferd serves the S3 API. Every setting is a flag, an environment variable\n"
                 "and a key in the config file. A flag beats the environment, which beats the\n"
                 "file, which beats the default. The file holds `key = value` lines whose keys\n"
                 "are the flag names; '#' at the start of a line or after a blank starts a\n"
                 "comment.\n\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        fprintf(out, "  --%s %s\n      %s\n      %s, default %s\n", s->name, s->metavar, s->help,
                s->env, *s->def ? s->def : "none");
    }
    fprintf(out, "  --help\n      print this text and exit\n");
    fprintf(out, "  --version\n      print the version and exit\n\n");
    fprintf(out, "--fsync=never skips flushing to stable storage: a power loss or an operating\n"
                 "system crash may lose writes that were already acknowledged (and recently\n"
                 "deleted objects may reappear). A crash of cofferd alone loses nothing.\n\n"
                 "Other variables: COFFER_MASTER_KEY (64 hex characters; else DIR/master.key is\n"
                 "used, created on first start), COFFER_ROOT_ACCESS_KEY_ID,\n"
                 "COFFER_ROOT_SECRET_ACCESS_KEY and COFFER_ROOT_TOKEN (the root credential\n"
                 "created on first start; random when unset).\n");
}

enum { ARG_END, ARG_SETTING, ARG_HELP, ARG_VERSION, ARG_ERROR };

/* Reads the argument at argv[*i] (and its value), advancing *i. On ARG_SETTING, *s, *v and
 * *flag (the flag as written, for errors) are set. Prints the error on ARG_ERROR. */
static int next_arg(int argc, char **argv, int *i, const setting **s, cf_str *v, cf_str *flag)
{
    cf_str a, name, val;
    bool has_eq;
    if (*i >= argc)
        return ARG_END;
    a = cf_str_c(argv[(*i)++]);
    if (cf_str_eq_c(a, "--help") || cf_str_eq_c(a, "-h"))
        return ARG_HELP;
    if (cf_str_eq_c(a, "--version"))
        return ARG_VERSION;
    if (!cf_str_starts_c(a, "--") || a.len == 2) {
        report_arg(a, "unknown argument; see --help");
        return ARG_ERROR;
    }
    has_eq = cf_str_cut(cf_str_sub(a, 2, a.len), '=', &name, &val);
    *flag = cf_str_make(a.p, has_eq ? name.len + 2 : a.len);
    *s = find_setting(name);
    if (!*s) {
        report_arg(*flag, "unknown flag; see --help");
        return ARG_ERROR;
    }
    if (!has_eq) {
        if (*i >= argc) {
            char origin[80];
            snprintf(origin, sizeof(origin), "--%s", (*s)->name);
            report(origin, NULL, NULL, "missing value");
            return ARG_ERROR;
        }
        val = cf_str_c(argv[(*i)++]);
    }
    *v = val;
    return ARG_SETTING;
}

/* Applies the config file's lines; false after reporting an error. */
static bool load_file(cf_config *c, const char *path, const char *origin)
{
    bool ok = false;
    FILE *fp = NULL;
    cf_buf b;
    cf_str rest, line;
    char chunk[4096];
    size_t n;
    unsigned lineno = 0;
    char why[4300], where[4200];
    cf_str pathv = cf_str_c(path);

    cf_buf_init(&b, FILE_MAX);
    fp = fopen(path, "r");
    if (!fp) {
        snprintf(why, sizeof(why), "cannot open the config file %s: %s", path, strerror(errno));
        report(origin, NULL, NULL, why);
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (cf_buf_append(&b, chunk, n) != CF_OK) {
            report(origin, NULL, &pathv, "config file larger than 1 MiB");
            goto out;
        }
    }
    if (ferror(fp)) {
        snprintf(why, sizeof(why), "cannot read the config file %s: %s", path, strerror(errno));
        report(origin, NULL, NULL, why);
        goto out;
    }

    rest = cf_buf_str(&b);
    while (rest.len) {
        cf_str key, val;
        const setting *s;
        cf_str_cut(rest, '\n', &line, &rest);
        lineno++;
        snprintf(where, sizeof(where), "%s:%u", path, lineno);
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        /* '#' starts a comment at the start of a line or after a blank, so a value such
         * as a path may still contain '#'. */
        for (size_t k = 0; k < line.len; k++) {
            if (line.p[k] == '#' && (k == 0 || line.p[k - 1] == ' ' || line.p[k - 1] == '\t')) {
                line.len = k;
                break;
            }
        }
        line = cf_str_trim(line);
        if (line.len == 0)
            continue;
        if (!cf_str_cut(line, '=', &key, &val)) {
            report(where, NULL, &line, "expected `key = value`");
            goto out;
        }
        key = cf_str_trim(key);
        val = cf_str_trim(val);
        s = find_setting(key);
        if (!s) {
            report(where, NULL, &key, "unknown key; keys are the flag names, see --help");
            goto out;
        }
        if (s->kind == K_CONFIG) {
            report(where, NULL, &key, "a config file cannot name another config file");
            goto out;
        }
        if (!apply(c, s, val, why, sizeof(why))) {
            report(where, s->name, &val, why);
            goto out;
        }
    }
    ok = true;
out:
    if (fp)
        fclose(fp);
    cf_buf_free(&b);
    return ok;
}

int cf_config_load(cf_config *c, int argc, char **argv)
{
    const setting *s;
    cf_str v, flag;
    int i, r;
    char why[160], origin[80];
    char config_path[4096] = "";
    const char *config_origin = NULL;

    memset(c, 0, sizeof(*c));
    for (size_t k = 0; k < NSETTINGS; k++) {
        if (!apply(c, &settings[k], cf_str_c(settings[k].def), why, sizeof(why))) {
            cf_str d = cf_str_c(settings[k].def);
            report("default", settings[k].name, &d, why);
            return -1;
        }
    }

    /* First pass over argv: --help, --version, unknown flags, and --config, which must be
     * known before the file can be read. Values are applied in the second pass. */
    for (i = 1; (r = next_arg(argc, argv, &i, &s, &v, &flag)) != ARG_END;) {
        if (r == ARG_ERROR)
            return -1;
        if (r == ARG_HELP) {
            print_usage(stdout);
            return 1;
        }
        if (r == ARG_VERSION) {
            printf("%s\n", VERSION_TEXT);
            return 1;
        }
        if (s->kind == K_CONFIG) {
            if (v.len >= sizeof(config_path) || memchr(v.p, '\0', v.len)) {
                report("--config", NULL, NULL, "path too long");
                return -1;
            }
            memcpy(config_path, v.p, v.len);
            config_path[v.len] = '\0';
            config_origin = "--config";
        }
    }
    if (!config_origin) {
        const char *e = getenv("COFFER_CONFIG");
        if (e) {
            if (strlen(e) >= sizeof(config_path)) {
                report("COFFER_CONFIG", NULL, NULL, "path too long");
                return -1;
            }
            snprintf(config_path, sizeof(config_path), "%s", e);
            config_origin = "COFFER_CONFIG";
        }
    }
    /* An empty path (the default) means no file. */
    if (config_path[0] && !load_file(c, config_path, config_origin))
        return -1;

    for (size_t k = 0; k < NSETTINGS; k++) {
        const char *e;
        s = &settings[k];
        e = getenv(s->env);
        if (s->kind == K_CONFIG || !e)
            continue;
        v = cf_str_c(e);
        if (!apply(c, s, v, why, sizeof(why))) {
            report(s->env, NULL, &v, why);
            return -1;
        }
    }

    for (i = 1; (r = next_arg(argc, argv, &i, &s, &v, &flag)) == ARG_SETTING;) {
        if (s->kind == K_CONFIG)
            continue;
        if (!apply(c, s, v, why, sizeof(why))) {
            snprintf(origin, sizeof(origin), "--%s", s->name);
            report(origin, NULL, &v, why);
            return -1;
        }
    }

    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
    }
    return 0;
}
