/* cofferd's settings: defaults, precedence, every validation error, the config file,
 * --help / --version, and host:port splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"

extern char **environ;

static char out_text[65536]; /* what the last load wrote to stdout and stderr */
static char tmpdir[64];

/* Removes every COFFER_* variable so the caller's environment cannot leak in. */
static void clear_env(void)
{
    for (;;) {
        char name[256];
        char **e;
        for (e = environ; *e; e++)
            if (strncmp(*e, "COFFER_", 7) == 0)
                break;
        if (!*e)
            return;
        size_t n = strcspn(*e, "=");
        assert_true(n < sizeof(name));
        memcpy(name, *e, n);
        name[n] = '\0';
        unsetenv(name);
    }
}

/* Runs cf_config_load on a NULL-terminated argument list, capturing stdout and stderr. */
static int load_v(cf_config *c, const char *first, va_list ap)
{
    char *argv[64];
    int argc = 0, r, save1, save2;
    FILE *cap = tmpfile();
    size_t n;

    assert_non_null(cap);
    argv[argc++] = (char *)"cofferd";
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(argc < 63);
        argv[argc++] = (char *)a;
    }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    save1 = dup(1);
    save2 = dup(2);
    dup2(fileno(cap), 1);
    dup2(fileno(cap), 2);
    r = cf_config_load(c, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    rewind(cap);
    n = fread(out_text, 1, sizeof(out_text) - 1, cap);
    out_text[n] = '\0';
    fclose(cap);
    return r;
}

static int load(cf_config *c, const char *first, ...)
{
    va_list ap;
    int r;
    va_start(ap, first);
    r = load_v(c, first, ap);
    va_end(ap);
    return r;
}

/* Expects the load to fail with exactly one line on stderr containing `needle`. */
static void expect_error(const char *needle, const char *first, ...)
{
    cf_config c;
    va_list ap;
    int r;
    va_start(ap, first);
    r = load_v(&c, first, ap);
    va_end(ap);
    if (r != -1 || !strstr(out_text, needle))
        fail_msg("expected an error naming \"%s\", got %d: %s", needle, r, out_text);
    char *nl = strchr(out_text, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, "");
}

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/coffer-test-config-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_defaults(void **state)
{
    cf_config c;
    (void)state;
    assert_int_equal(load(&c, NULL), 0);
    assert_string_equal(out_text, "");
    assert_string_equal(c.listen, "127.0.0.1:9000");
    assert_string_equal(c.admin_listen, "127.0.0.1:9001");
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.domain, "");
    assert_string_equal(c.region, "us-east-1");
    assert_true(c.fsync);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c.threads, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    assert_int_equal(c.log_level, CF_LOG_INFO);
    assert_true(c.access_log);
    assert_int_equal(c.max_connections, 4096);
    assert_int_equal(c.idle_timeout_s, 60);
    assert_true(c.max_object_size == 5ULL << 40);
    assert_true(c.debug_clock_offset_ms == 0);
}

static void test_every_flag(void **state)
{
    cf_config c;
    (void)state;
    assert_int_equal(load(&c, "--listen", "0.0.0.0:80", "--admin-listen=[::1]:81", "--data",
                          "/srv/coffer", "--domain=S3.Example.COM", "--region", "auto",
                          "--fsync=never", "--threads", "256", "--log-level", "debug",
                          "--access-log", "off", "--max-connections=1", "--idle-timeout", "86400",
                          "--max-object-size", "1K", "--debug-clock-offset-ms", "-3600000", NULL),
                     0);
    assert_string_equal(c.listen, "0.0.0.0:80");
    assert_string_equal(c.admin_listen, "[::1]:81");
    assert_string_equal(c.data_dir, "/srv/coffer");
    assert_string_equal(c.domain, "s3.example.com"); /* stored lowercase */
    assert_string_equal(c.region, "auto");
    assert_false(c.fsync);
    assert_int_equal(c.threads, 256);
    assert_int_equal(c.log_level, CF_LOG_DEBUG);
    assert_false(c.access_log);
    assert_int_equal(c.max_connections, 1);
    assert_int_equal(c.idle_timeout_s, 86400);
    assert_true(c.max_object_size == 1024);
    assert_true(c.debug_clock_offset_ms == -3600000);
}

static void test_every_env(void **state)
{
    cf_config c;
    (void)state;
    setenv("COFFER_LISTEN", "localhost:1", 1);
    setenv("COFFER_ADMIN_LISTEN", "localhost:2", 1);
    setenv("COFFER_DATA", "d", 1);
    setenv("COFFER_DOMAIN", "s3.localhost", 1);
    setenv("COFFER_REGION", "eu-west-3", 1);
    setenv("COFFER_FSYNC", "never", 1);
    setenv("COFFER_THREADS", "3", 1);
    setenv("COFFER_LOG_LEVEL", "error", 1);
    setenv("COFFER_ACCESS_LOG", "off", 1);
    setenv("COFFER_MAX_CONNECTIONS", "10", 1);
    setenv("COFFER_IDLE_TIMEOUT", "5", 1);
    setenv("COFFER_MAX_OBJECT_SIZE", "2G", 1);
    setenv("COFFER_DEBUG_CLOCK_OFFSET_MS", "900000", 1);
    assert_int_equal(load(&c, NULL), 0);
    assert_string_equal(c.listen, "localhost:1");
    assert_string_equal(c.admin_listen, "localhost:2");
    assert_string_equal(c.data_dir, "d");
    assert_string_equal(c.domain, "s3.localhost");
    assert_string_equal(c.region, "eu-west-3");
    assert_false(c.fsync);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.log_level, CF_LOG_ERROR);
    assert_false(c.access_log);
    assert_int_equal(c.max_connections, 10);
    assert_int_equal(c.idle_timeout_s, 5);
    assert_true(c.max_object_size == 2ULL << 30);
    assert_true(c.debug_clock_offset_ms == 900000);
}

static void test_precedence(void **state)
{
    cf_config c;
    const char *path;
    (void)state;
    path = write_file("prec.conf", "listen = 127.0.0.1:1001\n"
                                   "threads = 4\n"
                                   "region = file-region\n"
                                   "data = /from/file\n");
    setenv("COFFER_CONFIG", path, 1);
    assert_int_equal(load(&c, NULL), 0);
    assert_string_equal(c.listen, "127.0.0.1:1001"); /* file > default */
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.idle_timeout_s, 60);

    setenv("COFFER_LISTEN", "127.0.0.1:1002", 1);
    setenv("COFFER_THREADS", "5", 1);
    assert_int_equal(load(&c, NULL), 0);
    assert_string_equal(c.listen, "127.0.0.1:1002"); /* env > file */
    assert_int_equal(c.threads, 5);
    assert_string_equal(c.region, "file-region"); /* file still fills the rest */

    assert_int_equal(load(&c, "--listen", "127.0.0.1:1003", "--threads=6", NULL), 0);
    assert_string_equal(c.listen, "127.0.0.1:1003"); /* flag > env */
    assert_int_equal(c.threads, 6);
    assert_string_equal(c.data_dir, "/from/file");

    /* The last of a repeated flag wins. */
    assert_int_equal(load(&c, "--threads=6", "--threads", "7", NULL), 0);
    assert_int_equal(c.threads, 7);

    /* --config beats COFFER_CONFIG; an empty path means no file. */
    path = write_file("other.conf", "region = other\n");
    assert_int_equal(load(&c, "--config", path, NULL), 0);
    assert_string_equal(c.region, "other");
    assert_int_equal(load(&c, "--config=", NULL), 0);
    assert_string_equal(c.region, "us-east-1");
}

static void test_file_parsing(void **state)
{
    cf_config c;
    const char *path;
    (void)state;
    path = write_file("ok.conf", "# a comment\n"
                                 "\n"
                                 "   # an indented comment\n"
                                 "listen=127.0.0.1:7000\n"
                                 "\tadmin-listen   =   [::1]:7001   # trailing comment\n"
                                 "data = /var/lib/coffer#1\r\n"
                                 "domain =\n"
                                 "max-object-size = 16M\n"
                                 "log-level = warn");
    assert_int_equal(load(&c, "--config", path, NULL), 0);
    assert_string_equal(c.listen, "127.0.0.1:7000");
    assert_string_equal(c.admin_listen, "[::1]:7001");
    assert_string_equal(c.data_dir, "/var/lib/coffer#1"); /* '#' inside a value is kept */
    assert_string_equal(c.domain, "");
    assert_true(c.max_object_size == 16ULL << 20);
    assert_int_equal(c.log_level, CF_LOG_WARN);

    path = write_file("noeq.conf", "# ok\nlisten 127.0.0.1:7000\n");
    expect_error("noeq.conf:2: expected `key = value`", "--config", path, NULL);
    path = write_file("unknown.conf", "\n\nthread = 4\n");
    expect_error("unknown.conf:3: unknown key", "--config", path, NULL);
    path = write_file("envname.conf", "COFFER_THREADS = 4\n");
    expect_error("envname.conf:1: unknown key", "--config", path, NULL);
    path = write_file("badval.conf", "threads = 4\nthreads = many\n");
    expect_error("badval.conf:2: threads: expected an integer in 0..256", "--config", path, NULL);
    path = write_file("nested.conf", "config = /etc/other.conf\n");
    expect_error("nested.conf:1: a config file cannot name another", "--config", path, NULL);

    expect_error("--config: cannot open the config file", "--config", "/nonexistent/x.conf", NULL);
    setenv("COFFER_CONFIG", "/nonexistent/y.conf", 1);
    expect_error("COFFER_CONFIG: cannot open the config file", NULL);
    unsetenv("COFFER_CONFIG");
    expect_error("--config: cannot read the config file", "--config", tmpdir, NULL);
    /* Over 1 MiB is refused. */
    {
        char big[128];
        FILE *f;
        snprintf(big, sizeof(big), "%s/big.conf", tmpdir);
        f = fopen(big, "w");
        assert_non_null(f);
        for (int i = 0; i < 70000; i++)
            fputs("# padding line\n", f);
        fclose(f);
        expect_error("config file larger than 1 MiB", "--config", big, NULL);
    }
}

/* Each bad value through a flag and through its variable. */
static const struct {
    const char *flag, *env, *value, *why;
} bad[] = {
    {"listen", "COFFER_LISTEN", "127.0.0.1", "expected host:port"},
    {"listen", "COFFER_LISTEN", "127.0.0.1:0", "expected host:port"},
    {"listen", "COFFER_LISTEN", "", "expected host:port"},
    {"admin-listen", "COFFER_ADMIN_LISTEN", "::1:9000", "expected host:port"},
    {"admin-listen", "COFFER_ADMIN_LISTEN", "[::1]:65536", "expected host:port"},
    {"data", "COFFER_DATA", "", "expected a non-empty path"},
    {"domain", "COFFER_DOMAIN", "a..b", "expected a DNS name"},
    {"domain", "COFFER_DOMAIN", "s3.localhost:9000", "expected a DNS name"},
    {"domain", "COFFER_DOMAIN", "-x.com", "expected a DNS name"},
    {"region", "COFFER_REGION", "US-EAST-1", "expected 1..63 characters"},
    {"region", "COFFER_REGION", "", "expected 1..63 characters"},
    {"region", "COFFER_REGION", "eu_west", "expected 1..63 characters"},
    {"region", "COFFER_REGION", "a123456789012345678901234567890123456789012345678901234567890123",
     "expected 1..63 characters"},
    {"fsync", "COFFER_FSYNC", "sometimes", "expected always|never"},
    {"fsync", "COFFER_FSYNC", "", "expected always|never"},
    {"threads", "COFFER_THREADS", "257", "expected an integer in 0..256"},
    {"threads", "COFFER_THREADS", "-1", "expected an integer in 0..256"},
    {"threads", "COFFER_THREADS", " 4", "expected an integer in 0..256"},
    {"threads", "COFFER_THREADS", "4x", "expected an integer in 0..256"},
    {"log-level", "COFFER_LOG_LEVEL", "verbose", "expected debug|info|warn|error"},
    {"access-log", "COFFER_ACCESS_LOG", "yes", "expected on|off"},
    {"max-connections", "COFFER_MAX_CONNECTIONS", "0", "expected an integer in 1..1000000"},
    {"max-connections", "COFFER_MAX_CONNECTIONS", "99999999999999999999999",
     "expected an integer in 1..1000000"},
    {"idle-timeout", "COFFER_IDLE_TIMEOUT", "0", "expected an integer in 1..86400"},
    {"idle-timeout", "COFFER_IDLE_TIMEOUT", "86401", "expected an integer in 1..86400"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "6T", "expected a size in bytes"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "5497558138881", "expected a size in bytes"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "0", "expected a size in bytes"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "1X", "expected a size in bytes"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "K", "expected a size in bytes"},
    {"max-object-size", "COFFER_MAX_OBJECT_SIZE", "99999999999999999T", "expected a size"},
    {"debug-clock-offset-ms", "COFFER_DEBUG_CLOCK_OFFSET_MS", "1.5", "expected an integer"},
    {"debug-clock-offset-ms", "COFFER_DEBUG_CLOCK_OFFSET_MS", "-", "expected an integer"},
    {"debug-clock-offset-ms", "COFFER_DEBUG_CLOCK_OFFSET_MS", "999999999999999",
     "expected an integer"},
};

static void test_bad_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char flag[64], eq[256], needle[256];
        snprintf(flag, sizeof(flag), "--%s", bad[i].flag);
        snprintf(needle, sizeof(needle), "cofferd: --%s: %s", bad[i].flag, bad[i].why);
        expect_error(needle, flag, bad[i].value, NULL);
        snprintf(eq, sizeof(eq), "--%s=%s", bad[i].flag, bad[i].value);
        expect_error(needle, eq, NULL);

        snprintf(needle, sizeof(needle), "cofferd: %s: %s", bad[i].env, bad[i].why);
        setenv(bad[i].env, bad[i].value, 1);
        expect_error(needle, NULL);
        unsetenv(bad[i].env);
    }
    /* The value is echoed, cut short and with control characters masked. */
    expect_error("(got \"a\?b\")", "--fsync",
                 "a\x01"
                 "b",
                 NULL);
}

static void test_good_edges(void **state)
{
    cf_config c;
    (void)state;
    assert_int_equal(load(&c, "--max-object-size", "5T", NULL), 0);
    assert_true(c.max_object_size == 5ULL << 40);
    assert_int_equal(load(&c, "--max-object-size", "5497558138880", NULL), 0);
    assert_true(c.max_object_size == 5ULL << 40);
    assert_int_equal(load(&c, "--max-object-size", "1", NULL), 0);
    assert_true(c.max_object_size == 1);
    assert_int_equal(load(&c, "--max-object-size", "3g", NULL), 0);
    assert_true(c.max_object_size == 3ULL << 30);
    assert_int_equal(load(&c, "--threads", "0", NULL), 0);
    assert_true(c.threads >= 1 && c.threads <= 256);
    assert_int_equal(load(&c, "--region", "a", NULL), 0);
    assert_int_equal(load(&c, "--domain", "", NULL), 0);
    assert_string_equal(c.domain, "");
    assert_int_equal(load(&c, "--debug-clock-offset-ms", "-0", NULL), 0);
    assert_int_equal(load(&c, "--data", "has space/and#hash", NULL), 0);
    assert_string_equal(c.data_dir, "has space/and#hash");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    expect_error("cofferd: --listn: unknown flag", "--listn", "x", NULL);
    expect_error("cofferd: --listn: unknown flag", "--listn=x", NULL);
    expect_error("cofferd: serve: unknown argument", "serve", NULL);
    expect_error("cofferd: -l: unknown argument", "-l", NULL);
    expect_error("cofferd: --: unknown argument", "--", NULL);
    expect_error("cofferd: --threads: missing value", "--threads", NULL);
    /* Unknown flags are reported even before a --help. */
    expect_error("unknown flag", "--nope", "--help", NULL);
    /* A later bad flag fails even though earlier ones were fine. */
    expect_error("cofferd: --threads: expected", "--listen", "127.0.0.1:1", "--threads", "x", NULL);
}

static void test_help_version(void **state)
{
    cf_config c;
    static const char *const must[] = {
        "--listen",
        "COFFER_LISTEN",
        "127.0.0.1:9000",
        "--admin-listen",
        "COFFER_ADMIN_LISTEN",
        "127.0.0.1:9001",
        "--data",
        "COFFER_DATA",
        "./data",
        "--domain",
        "COFFER_DOMAIN",
        "--region",
        "COFFER_REGION",
        "us-east-1",
        "--fsync",
        "COFFER_FSYNC",
        "always",
        "--threads",
        "COFFER_THREADS",
        "--log-level",
        "COFFER_LOG_LEVEL",
        "--access-log",
        "COFFER_ACCESS_LOG",
        "--max-connections",
        "COFFER_MAX_CONNECTIONS",
        "4096",
        "--idle-timeout",
        "COFFER_IDLE_TIMEOUT",
        "--max-object-size",
        "COFFER_MAX_OBJECT_SIZE",
        "5T",
        "--config",
        "COFFER_CONFIG",
        "--debug-clock-offset-ms",
        "COFFER_DEBUG_CLOCK_OFFSET_MS",
        "TESTS ONLY",
        "power loss",
        "acknowledged",
        "crash of cofferd alone loses nothing",
        "--help",
        "--version",
    };
    (void)state;
    assert_int_equal(load(&c, "--help", NULL), 1);
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (!strstr(out_text, must[i]))
            fail_msg("--help does not mention %s", must[i]);
    /* --help wins over a bad value after it. */
    assert_int_equal(load(&c, "--threads", "x", "--help", NULL), 1);
    assert_int_equal(load(&c, "-h", NULL), 1);
    assert_int_equal(load(&c, "--version", NULL), 1);
    assert_string_equal(out_text, "cofferd 0.1.0\n");
}

static void test_split_hostport(void **state)
{
    char host[64];
    uint16_t port = 0;
    (void)state;
    assert_true(cf_config_split_hostport("127.0.0.1:9000", host, sizeof(host), &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9000);
    assert_true(cf_config_split_hostport("[::1]:443", host, sizeof(host), &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 443);
    assert_true(cf_config_split_hostport("[2001:db8::7]:1", host, sizeof(host), &port));
    assert_string_equal(host, "2001:db8::7");
    assert_int_equal(port, 1);
    assert_true(cf_config_split_hostport("localhost:65535", host, sizeof(host), &port));
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 65535);
    assert_true(cf_config_split_hostport("0.0.0.0:80", host, sizeof(host), &port));

    static const char *const no[] = {
        "127.0.0.1",                  /* missing port */
        "127.0.0.1:",                 /* empty port */
        ":9000",                      /* empty host */
        "[::1]",                      /* missing port */
        "[::1]:",                     /* empty port */
        "[::1]9000",                  /* no colon */
        "[::1:9000",                  /* no bracket */
        "[]:9000",                    /* empty v6 */
        "[nothex]:80",                /* not an address */
        "[127.0.0.1]:80", "::1:9000", /* unbracketed v6 */
        "host:0",                     /* port 0 */
        "host:65536",                 /* port too large */
        "host:-1",        "host:+80", "host:8o", "host: 80",
        "999.1.1.1:80", /* numeric but not IPv4 */
        "bad_host:80",    "-host:80", "a..b:80", "",
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (cf_config_split_hostport(no[i], host, sizeof(host), &port))
            fail_msg("accepted \"%s\"", no[i]);
    /* Too small a buffer fails rather than truncating. */
    assert_false(cf_config_split_hostport("localhost:80", host, 9, &port));
    assert_true(cf_config_split_hostport("localhost:80", host, 10, &port));
    assert_false(cf_config_split_hostport(NULL, host, sizeof(host), &port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_every_flag, setup),
        cmocka_unit_test_setup(test_every_env, setup),
        cmocka_unit_test_setup(test_precedence, setup),
        cmocka_unit_test_setup(test_file_parsing, setup),
        cmocka_unit_test_setup(test_bad_values, setup),
        cmocka_unit_test_setup(test_good_edges, setup),
        cmocka_unit_test_setup(test_bad_arguments, setup),
        cmocka_unit_test_setup(test_help_version, setup),
        cmocka_unit_test_setup(test_split_hostport, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
