/* Unit tests for the coffer CLI's command line: option parsing, sizes, durations, times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/tool_args.c"
#include "cli/tool_output.c"

/* A cf_cli writing into memory. */
typedef struct cap {
    cf_cli c;
    char *out, *err;
    size_t outlen, errlen;
} cap;

static void cap_open(cap *k)
{
    memset(k, 0, sizeof(*k));
    k->c.url = "http://127.0.0.1:9001";
    k->c.out = open_memstream(&k->out, &k->outlen);
    k->c.err = open_memstream(&k->err, &k->errlen);
    assert_non_null(k->c.out);
    assert_non_null(k->c.err);
}

/* Flushes so out/err hold everything written so far. */
static void cap_sync(cap *k)
{
    fflush(k->c.out);
    fflush(k->c.err);
}

static void cap_close(cap *k)
{
    fclose(k->c.out);
    fclose(k->c.err);
    free(k->out);
    free(k->err);
}

static cf_str S(const char *s)
{
    return cf_str_c(s);
}

/* ---------------------------------------------------------------- sizes, durations */

static void test_size(void **state)
{
    static const struct {
        const char *in;
        bool ok;
        uint64_t v;
    } cases[] = {
        {"0", true, 0},
        {"1234", true, 1234},
        {"10B", true, 10},
        {"1KB", true, 1000},
        {"1kb", true, 1000},
        {"2MB", true, 2000000},
        {"3GB", true, 3000000000ULL},
        {"4TB", true, 4000000000000ULL},
        {"1KiB", true, 1024},
        {"1kib", true, 1024},
        {"10GiB", true, 10737418240ULL},
        {"2TiB", true, 2199023255552ULL},
        {"18446744073709551615", true, UINT64_MAX},
        {"18446744073709551616", false, 0},
        {"16777216TiB", false, 0}, /* 2^24 * 2^40 overflows */
        {"", false, 0},
        {"KiB", false, 0},
        {"-1", false, 0},
        {"1.5GiB", false, 0},
        {"1 GiB", false, 0},
        {"1K", false, 0},
        {"1GiBx", false, 0},
        {"+1", false, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 99;
        bool ok = cf_cli_parse_size(S(cases[i].in), &v);
        if (ok != cases[i].ok)
            fail_msg("size %s: ok=%d", cases[i].in, ok);
        if (ok)
            assert_int_equal(v, cases[i].v);
    }
    assert_false(cf_cli_parse_size(CF_STR_NULL, &(uint64_t){0}));
    /* Slices are not NUL-terminated: only len counts. */
    assert_true(cf_cli_parse_size(cf_str_make("12KBxx", 4), &(uint64_t){0}));
}

static void test_duration(void **state)
{
    static const struct {
        const char *in;
        bool ok;
        uint64_t v;
    } cases[] = {
        {"0", true, 0},
        {"3600", true, 3600},
        {"90s", true, 90},
        {"15m", true, 900},
        {"12h", true, 43200},
        {"7d", true, 604800},
        {"2w", true, 1209600},
        {"1h30m", true, 5400},
        {"1d12h", true, 129600},
        {"1m1s", true, 61},
        {"1h30", false, 0}, /* bare digits only alone */
        {"", false, 0},
        {"h", false, 0},
        {"1x", false, 0},
        {"1H", false, 0},
        {"-5", false, 0},
        {"1 h", false, 0},
        {"30600000000000w", false, 0}, /* overflows */
        {"18446744073709551615s", true, UINT64_MAX},
        {"18446744073709551615s1s", false, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 99;
        bool ok = cf_cli_parse_duration(S(cases[i].in), &v);
        if (ok != cases[i].ok)
            fail_msg("duration %s: ok=%d", cases[i].in, ok);
        if (ok)
            assert_int_equal(v, cases[i].v);
    }
}

/* ---------------------------------------------------------------- times */

#define NOW INT64_C(1735812000123) /* 2025-01-02T10:00:00.123Z */

static void check_time(const char *in, const char *want)
{
    int64_t ms = -1;
    char out[32];
    bool ok = cf_cli_parse_time(S(in), NOW, &ms);
    if (!want) {
        if (ok)
            fail_msg("time %s: accepted (%lld)", in, (long long)ms);
        return;
    }
    if (!ok)
        fail_msg("time %s: refused", in);
    cf_cli_format_time(ms, out);
    if (strcmp(out, want) != 0)
        fail_msg("time %s: %s, want %s", in, out, want);
}

static void test_time(void **state)
{
    (void)state;
    check_time("2025-01-02T10:00:00Z", "2025-01-02T10:00:00Z");
    check_time("2025-01-02t10:00:00z", "2025-01-02T10:00:00Z");
    check_time("2025-01-02 10:00:00Z", "2025-01-02T10:00:00Z");
    check_time("2025-01-02T10:00Z", "2025-01-02T10:00:00Z");
    check_time("2025-01-02T10:00:00.5Z", "2025-01-02T10:00:00.500Z");
    check_time("2025-01-02T10:00:00.123456789Z", "2025-01-02T10:00:00.123Z");
    check_time("2025-01-02T12:00:00+02:00", "2025-01-02T10:00:00Z");
    check_time("2025-01-02T00:30:00-05:30", "2025-01-02T06:00:00Z");
    check_time("2025-01-01T01:00:00+02:00", "2024-12-31T23:00:00Z");
    check_time("2025-06-30", "2025-06-30T00:00:00Z");
    check_time("2024-02-29", "2024-02-29T00:00:00Z");
    check_time("2000-02-29", "2000-02-29T00:00:00Z");
    check_time("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z");
    check_time("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z");
    /* Relative: from the current whole second. */
    check_time("now", "2025-01-02T10:00:00Z");
    check_time("+1h", "2025-01-02T11:00:00Z");
    check_time("-30m", "2025-01-02T09:30:00Z");
    check_time("+1d12h", "2025-01-03T22:00:00Z");
    check_time("+90", "2025-01-02T10:01:30Z");
    check_time("-7d", "2024-12-26T10:00:00Z");
    /* Refused. */
    check_time("", NULL);
    check_time("yesterday", NULL);
    check_time("2025-01-02T10:00:00", NULL); /* no zone */
    check_time("2025-13-01", NULL);
    check_time("2025-00-10", NULL);
    check_time("2025-02-29", NULL);
    check_time("1900-02-29", NULL);
    check_time("2025-04-31", NULL);
    check_time("2025-01-02T24:00:00Z", NULL);
    check_time("2025-01-02T10:60:00Z", NULL);
    check_time("2025-01-02T10:00:60Z", NULL);
    check_time("2025-01-02T10:00:00.Z", NULL);
    check_time("2025-01-02T10:00:00+2:00", NULL);
    check_time("2025-01-02T10:00:00+02", NULL);
    check_time("2025-01-02T10:00:00+24:00", NULL);
    check_time("2025-01-02T10:00:00Zjunk", NULL);
    check_time("2025-1-2", NULL);
    check_time("2025-01-02X10:00:00Z", NULL);
    check_time("1969-12-31T23:59:59Z", NULL);
    check_time("1970-01-01T00:30:00+01:00", NULL); /* before the epoch in UTC */
    check_time("+", NULL);
    check_time("+1h30", NULL);
    check_time("-100000000d", NULL); /* before 1970 */
    check_time("+99999999999w", NULL);
    check_time("Now", NULL);
}

static void test_time_format(void **state)
{
    char out[32];
    (void)state;
    cf_cli_format_time(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    cf_cli_format_time(NOW, out);
    assert_string_equal(out, "2025-01-02T10:00:00.123Z");
    cf_cli_format_time(NOW - 123, out);
    assert_string_equal(out, "2025-01-02T10:00:00Z");
}

/* ---------------------------------------------------------------- the option parser */

static int noop_run(cf_cli *c, const cf_cli_args *a)
{
    (void)c;
    (void)a;
    return CF_CLI_EXIT_OK;
}

static const cf_cli_opt t_opts[] = {
    {"--name", CF_CLI_VALUE},
    {"--bucket", CF_CLI_LIST},
    {"--env", CF_CLI_FLAG},
    {NULL, CF_CLI_FLAG},
};
static const cf_cli_cmd t_cmd = {"create", "NAME [--name N]", "Help body.\n", t_opts, "NAME",
                                 true,     noop_run,          "does things"};
static const cf_cli_cmd t_cmd_noarg = {"list", "",    "List.\n", t_opts,
                                       NULL,   false, noop_run,  "lists"};

/* Parses the words of line (space-separated, no quoting) against cmd. */
static int parse_line(cap *k, const cf_cli_cmd *cmd, const char *line, cf_cli_args *a, char *store)
{
    char *argv[32];
    int argc = 0;
    snprintf(store, 512, "%s", line);
    for (char *tok = strtok(store, " "); tok && argc < 32; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return cf_cli_parse(&k->c, "thing", cmd, argc, argv, a);
}

static void test_parse_ok(void **state)
{
    cap k;
    cf_cli_args a;
    char store[512];
    size_t i = 0;
    (void)state;
    cap_open(&k);
    assert_int_equal(parse_line(&k, &t_cmd,
                                "--name=one --bucket b1 --env NAME1 --bucket=b2 --bucket --b3", &a,
                                store),
                     CF_CLI_EXIT_OK);
    assert_string_equal(cf_cli_value(&a, "--name"), "one");
    assert_string_equal(a.arg, "NAME1");
    assert_true(cf_cli_has(&a, "--env"));
    assert_null(cf_cli_value(&a, "--env"));
    assert_false(cf_cli_has(&a, "--nope"));
    /* A LIST keeps every value in order; a value may start with "--". */
    assert_string_equal(cf_cli_next(&a, "--bucket", &i), "b1");
    assert_string_equal(cf_cli_next(&a, "--bucket", &i), "b2");
    assert_string_equal(cf_cli_next(&a, "--bucket", &i), "--b3");
    assert_null(cf_cli_next(&a, "--bucket", &i));
    assert_string_equal(cf_cli_value(&a, "--bucket"), "--b3");
    cf_cli_args_free(&a);

    /* Global options anywhere; "--" ends the options; "-" alone is a word. */
    assert_int_equal(
        parse_line(&k, &t_cmd, "--json --url http://x:1 --token=tok -- --name", &a, store),
        CF_CLI_EXIT_OK);
    assert_true(k.c.json);
    assert_string_equal(k.c.url, "http://x:1");
    assert_string_equal(k.c.token, "tok");
    assert_string_equal(a.arg, "--name");
    assert_false(cf_cli_has(&a, "--name"));
    cf_cli_args_free(&a);
    assert_int_equal(parse_line(&k, &t_cmd, "-", &a, store), CF_CLI_EXIT_OK);
    assert_string_equal(a.arg, "-");
    cf_cli_args_free(&a);
    /* An empty value is a value. */
    assert_int_equal(parse_line(&k, &t_cmd, "N --name=", &a, store), CF_CLI_EXIT_OK);
    assert_string_equal(cf_cli_value(&a, "--name"), "");
    cf_cli_args_free(&a);
    assert_int_equal(parse_line(&k, &t_cmd_noarg, "", &a, store), CF_CLI_EXIT_OK);
    assert_null(a.arg);
    cf_cli_args_free(&a);
    cap_sync(&k);
    assert_int_equal(k.errlen, 0);
    cap_close(&k);
}

static void expect_usage(const cf_cli_cmd *cmd, const char *line, const char *err)
{
    cap k;
    cf_cli_args a;
    char store[512];
    cap_open(&k);
    int rc = parse_line(&k, cmd, line, &a, store);
    cf_cli_args_free(&a);
    cap_sync(&k);
    if (rc != CF_CLI_EXIT_USAGE || strcmp(k.err, err) != 0)
        fail_msg("%s: rc %d, stderr %s", line, rc, k.err);
    assert_int_equal(k.outlen, 0);
    cap_close(&k);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_usage(&t_cmd, "", "coffer: missing argument (NAME)\n");
    expect_usage(&t_cmd, "--name x", "coffer: missing argument (NAME)\n");
    expect_usage(&t_cmd, "N --frob", "coffer: unknown option (--frob)\n");
    /* The value of an unknown option is not echoed: it may be a secret. */
    expect_usage(&t_cmd, "N --secret=hunter2", "coffer: unknown option (--secret)\n");
    expect_usage(&t_cmd, "N --name", "coffer: needs a value (--name)\n");
    expect_usage(&t_cmd, "N --name a --name b", "coffer: given more than once (--name)\n");
    expect_usage(&t_cmd, "N --env=1", "coffer: takes no value (--env)\n");
    expect_usage(&t_cmd, "N M", "coffer: only one NAME is taken (M)\n");
    expect_usage(&t_cmd_noarg, "word", "coffer: unexpected argument (word)\n");
    expect_usage(&t_cmd, "N --url", "coffer: needs a value (--url)\n");
    expect_usage(&t_cmd, "N -x", "coffer: unknown option (-x)\n");
}

static void test_parse_help(void **state)
{
    cap k;
    cf_cli_args a;
    char store[512];
    (void)state;
    cap_open(&k);
    /* --help wins even over errors later on the line. */
    assert_int_equal(parse_line(&k, &t_cmd, "--help --frob", &a, store), CF_CLI_HELP_SHOWN);
    cf_cli_args_free(&a);
    assert_int_equal(parse_line(&k, &t_cmd, "N -h", &a, store), CF_CLI_HELP_SHOWN);
    cf_cli_args_free(&a);
    cap_sync(&k);
    assert_non_null(strstr(k.out, "Usage: coffer thing create NAME [--name N]\n\nHelp body.\n"));
    assert_non_null(strstr(k.out, "--token TOKEN"));
    assert_int_equal(k.errlen, 0);
    cap_close(&k);
}

static int seen_runs;
static int counting_run(cf_cli *c, const cf_cli_args *a)
{
    (void)c;
    seen_runs++;
    return a->arg && strcmp(a->arg, "fail") == 0 ? CF_CLI_EXIT_API : CF_CLI_EXIT_OK;
}

static const cf_cli_cmd g_cmds[] = {
    {"create", "NAME", "Creates.\n", t_opts, "NAME", true, counting_run, "create one"},
    {"list", "", "Lists.\n", t_opts, NULL, false, counting_run, "list them"},
    {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL},
};
static const cf_cli_group g_group = {"thing", "Things.", g_cmds, false};
static const cf_cli_group g_single = {"solo", "Solo.", g_cmds + 1, true};

/* Runs the group on the words of line. */
static int group_line(cap *k, const cf_cli_group *g, const char *line)
{
    char store[512], *argv[32];
    int argc = 0;
    snprintf(store, sizeof store, "%s", line);
    for (char *tok = strtok(store, " "); tok && argc < 32; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    return cf_cli_group_run(&k->c, g, argc, argv);
}

static void test_group_run(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    seen_runs = 0;
    assert_int_equal(group_line(&k, &g_group, "create x"), CF_CLI_EXIT_OK);
    assert_int_equal(group_line(&k, &g_group, "create fail"), CF_CLI_EXIT_API);
    assert_int_equal(seen_runs, 2);
    assert_int_equal(group_line(&k, &g_group, "frob"), CF_CLI_EXIT_USAGE);
    assert_int_equal(group_line(&k, &g_group, "create"), CF_CLI_EXIT_USAGE);
    assert_int_equal(seen_runs, 2);
    cap_sync(&k);
    assert_string_equal(k.err, "coffer: unknown command (frob)\ncoffer: missing argument (NAME)\n");
    assert_int_equal(group_line(&k, &g_group, "--help"), CF_CLI_EXIT_OK);
    cap_sync(&k);
    assert_non_null(strstr(k.out, "Usage: coffer thing COMMAND [options]\n\nThings.\n"));
    assert_non_null(strstr(k.out, "  create   create one\n  list     list them\n"));
    /* Without a command: the same list, on stderr, and a usage error. */
    assert_int_equal(group_line(&k, &g_group, ""), CF_CLI_EXIT_USAGE);
    cap_sync(&k);
    assert_non_null(strstr(k.err, "Usage: coffer thing COMMAND [options]\n\nThings.\n"));
    /* A single-command group takes options directly. */
    assert_int_equal(group_line(&k, &g_single, "--env"), CF_CLI_EXIT_OK);
    assert_int_equal(seen_runs, 3);
    assert_int_equal(group_line(&k, &g_group, "list --help"), CF_CLI_EXIT_OK);
    assert_int_equal(seen_runs, 3);
    cap_sync(&k);
    assert_non_null(strstr(k.out, "Usage: coffer thing list\n\nLists.\n"));
    cap_close(&k);
}

/* ---------------------------------------------------------------- value helpers */

static void test_getters(void **state)
{
    cap k;
    uint64_t n;
    char t[32];
    (void)state;
    cap_open(&k);
    assert_int_equal(cf_cli_get_u64(&k.c, "--limit", "10", 1000, &n), CF_CLI_EXIT_OK);
    assert_int_equal(n, 10);
    assert_int_equal(cf_cli_get_u64(&k.c, "--limit", "1001", 1000, &n), CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_get_u64(&k.c, "--limit", "1e3", 1000, &n), CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_get_size(&k.c, "--max-bytes", "1GiB", &n), CF_CLI_EXIT_OK);
    assert_int_equal(n, 1073741824);
    /* JSON integers stop at INT64_MAX. */
    assert_int_equal(cf_cli_get_size(&k.c, "--max-bytes", "9223372036854775808", &n),
                     CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_get_duration(&k.c, "--ttl", "7d", 1, 604800, &n), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_get_duration(&k.c, "--ttl", "0", 1, 604800, &n), CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_get_duration(&k.c, "--ttl", "7d1s", 1, 604800, &n), CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_get_time(&k.c, "--since", "2025-06-30", t), CF_CLI_EXIT_OK);
    assert_string_equal(t, "2025-06-30T00:00:00Z");
    assert_int_equal(cf_cli_get_time(&k.c, "--since", "soon", t), CF_CLI_EXIT_USAGE);
    cap_sync(&k);
    assert_string_equal(k.err,
                        "coffer: at most 1000 (--limit)\n"
                        "coffer: not a whole number: 1e3 (--limit)\n"
                        "coffer: not a size (bytes, or with KB MB GB TB KiB MiB GiB TiB): "
                        "9223372036854775808 (--max-bytes)\n"
                        "coffer: must be from 1 to 604800 seconds (--ttl)\n"
                        "coffer: must be from 1 to 604800 seconds (--ttl)\n"
                        "coffer: not a time (RFC 3339 like 2025-01-02T10:00:00Z, a date, now, "
                        "+1h, -30m): soon (--since)\n");
    cap_close(&k);
}

static void test_json_file(void **state)
{
    cap k;
    json_t *j = NULL;
    char path[] = "/tmp/coffer-cli-test-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]}",
          f);
    fclose(f);
    cap_open(&k);
    assert_int_equal(cf_cli_read_json_file(&k.c, "--policy", path, &j), CF_CLI_EXIT_OK);
    assert_true(json_is_array(json_object_get(j, "Statement")));
    json_decref(j);

    f = fopen(path, "w");
    fputs("{\"a\": 1, \"a\": 2}", f);
    fclose(f);
    assert_int_equal(cf_cli_read_json_file(&k.c, "--policy", path, &j), CF_CLI_EXIT_USAGE);
    assert_null(j);
    f = fopen(path, "w");
    fputs("[1, 2]", f);
    fclose(f);
    assert_int_equal(cf_cli_read_json_file(&k.c, "--policy", path, &j), CF_CLI_EXIT_USAGE);
    /* Past the cap: refused before parsing. */
    f = fopen(path, "w");
    fputc('"', f);
    for (size_t i = 0; i < CF_CLI_MAX_POLICY_FILE; i++)
        fputc('a', f);
    fputc('"', f);
    fclose(f);
    assert_int_equal(cf_cli_read_json_file(&k.c, "--policy", path, &j), CF_CLI_EXIT_USAGE);
    unlink(path);
    assert_int_equal(cf_cli_read_json_file(&k.c, "--policy", path, &j), CF_CLI_EXIT_USAGE);
    cap_sync(&k);
    assert_non_null(strstr(k.err, "duplicate object key"));
    assert_non_null(strstr(k.err, "must hold a JSON object (--policy)\n"));
    assert_non_null(strstr(k.err, "is larger than 1048576 bytes (--policy)\n"));
    assert_non_null(strstr(k.err, "No such file or directory (--policy)\n"));
    cap_close(&k);
}

static void test_body_setters(void **state)
{
    cap k;
    cf_cli_args a;
    char store[512];
    json_t *o = json_object();
    (void)state;
    cap_open(&k);
    assert_int_equal(parse_line(&k, &t_cmd, "N --bucket a --bucket b", &a, store), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_set_list(&k.c, o, "buckets", &a, "--bucket"), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_set_list(&k.c, o, "prefixes", &a, "--prefix"), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_set_str(&k.c, o, "name", "ü", "--name"), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_set_str(&k.c, o, "bad", "\xff", "--name"), CF_CLI_EXIT_USAGE);
    assert_int_equal(cf_cli_set_u64(&k.c, o, "n", UINT64_C(9223372036854775807)), CF_CLI_EXIT_OK);
    assert_int_equal(cf_cli_set_u64(&k.c, o, "m", UINT64_C(9223372036854775808)),
                     CF_CLI_EXIT_USAGE);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_string_equal(s, "{\"buckets\":[\"a\",\"b\"],\"name\":\"ü\",\"n\":9223372036854775807}");
    free(s);
    json_decref(o);
    cf_cli_args_free(&a);
    cap_sync(&k);
    assert_string_equal(k.err,
                        "coffer: not valid UTF-8 (--name)\ncoffer: value out of range (m)\n");
    cap_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size),         cmocka_unit_test(test_duration),
        cmocka_unit_test(test_time),         cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_parse_ok),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_help),   cmocka_unit_test(test_group_run),
        cmocka_unit_test(test_getters),      cmocka_unit_test(test_json_file),
        cmocka_unit_test(test_body_setters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
