/* Unit tests for the coffer CLI's output: shell quoting, sanitising, tables, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/tool_output.c"

typedef struct cap {
    cf_cli c;
    char *out, *err;
    size_t outlen, errlen;
} cap;

static void cap_open(cap *k)
{
    memset(k, 0, sizeof(*k));
    k->c.out = open_memstream(&k->out, &k->outlen);
    k->c.err = open_memstream(&k->err, &k->errlen);
    assert_non_null(k->c.out);
    assert_non_null(k->c.err);
}

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

/* ---------------------------------------------------------------- shell quoting */

static char *quoted(const char *s)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 20);
    assert_int_equal(cf_cli_shell_quote(&b, s), CF_OK);
    return cf_buf_take(&b, NULL);
}

static void test_shell_quote(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"CFABCDEFGHIJKLMNOPQR", "CFABCDEFGHIJKLMNOPQR"},
        {"wJalrXUtnFEMI/K7MDENG+bPxRfiCY=", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY="},
        {"cft_a-b.c:d,e@f%g", "cft_a-b.c:d,e@f%g"},
        {"", "''"},
        {"a b", "'a b'"},
        {"it's", "'it'\"'\"'s'"},
        {"'", "''\"'\"''"},
        {"$HOME", "'$HOME'"},
        {"`id`", "'`id`'"},
        {"a\nb", "'a\nb'"},
        {"\\", "'\\'"},
        {"*", "'*'"},
        {"~root", "'~root'"},
        {"a;b|c&d", "'a;b|c&d'"},
        {"ü", "'ü'"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *q = quoted(cases[i].in);
        if (strcmp(q, cases[i].want) != 0)
            fail_msg("quote [%s]: [%s], want [%s]", cases[i].in, q, cases[i].want);
        free(q);
    }
}

/* The real test of quoting: a POSIX shell reads back exactly what went in. */
static void test_shell_roundtrip(void **state)
{
    static const char *const values[] = {
        "plain", "",       "it's",        "''",        "a b  c",    "$(touch /tmp/coffer-pwned)",
        "`id`",  "\"dq\"", "back\\slash", "new\nline", "tab\tx",    "*?[a]",
        "!bang", "#hash",  "-n",          "ü日本",     "x'\"'\"'y",
    };
    (void)state;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        cf_buf cmd;
        char got[256];
        size_t n;
        FILE *p;
        char *q = quoted(values[i]);
        cf_buf_init(&cmd, 1 << 16);
        assert_int_equal(cf_buf_printf(&cmd, "V=%s; printf '%%s' \"$V\"", q), CF_OK);
        p = popen(cmd.p, "r");
        assert_non_null(p);
        n = fread(got, 1, sizeof got - 1, p);
        got[n] = '\0';
        assert_int_equal(pclose(p), 0);
        if (strcmp(got, values[i]) != 0)
            fail_msg("round trip [%s] via [%s]: [%s]", values[i], q, got);
        free(q);
        cf_buf_free(&cmd);
    }
}

static void test_print_env(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    cf_cli_print_env(&k.c, "AWS_ACCESS_KEY_ID", "CFABCDEFGHIJKLMNOPQR");
    cf_cli_print_env(&k.c, "AWS_SESSION_TOKEN", "a b'c");
    cap_sync(&k);
    assert_string_equal(k.out, "AWS_ACCESS_KEY_ID=CFABCDEFGHIJKLMNOPQR\n"
                               "AWS_SESSION_TOKEN='a b'\"'\"'c'\n");
    cap_close(&k);
}

/* ---------------------------------------------------------------- sanitising */

static void check_clean(const char *in, const char *want)
{
    char *got = cf_cli_sanitize(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("sanitize: [%s], want [%s]", got, want);
    free(got);
}

static void test_sanitize(void **state)
{
    (void)state;
    check_clean("plain text", "plain text");
    check_clean("ü 日本 😀", "ü 日本 😀");
    check_clean("a\x1b[31mred", "a?[31mred");
    check_clean("tab\there\r\n", "tab?here??");
    check_clean("del\x7f", "del?");
    check_clean("c1 \xc2\x9b"
                "2J",
                "c1 ?"
                "?2J"); /* U+009B CSI: both bytes replaced */
    check_clean("bad \xff\xfe", "bad ??");
    check_clean("overlong \xc0\xaf", "overlong ??");
    check_clean("surrogate \xed\xa0\x80", "surrogate ???");
    check_clean("cut \xe6\x97", "cut ??");
    check_clean("too big \xf4\x90\x80\x80", "too big ????");
    check_clean("", "");
    assert_int_equal(cf_cli_display_width("abc"), 3);
    assert_int_equal(cf_cli_display_width("ü日😀"), 3);
    assert_int_equal(cf_cli_display_width(""), 0);
}

static void test_error_line(void **state)
{
    cap k;
    (void)state;
    cap_open(&k);
    cf_cli_error(&k.c, "No credential CFX in your tree.", "id");
    cf_cli_error(&k.c, "Missing token.", NULL);
    cf_cli_error(&k.c, "empty field", "");
    cf_cli_error(&k.c, "evil\x1b]0;title\x07", "f\nx");
    assert_int_equal(cf_cli_usage(&k.c, "--limit", "at most %d", 1000), CF_CLI_EXIT_USAGE);
    cf_cli_warn(&k.c, "shown once");
    cap_sync(&k);
    assert_string_equal(k.err, "coffer: No credential CFX in your tree. (id)\n"
                               "coffer: Missing token.\n"
                               "coffer: empty field\n"
                               "coffer: evil?]0;title? (f?x)\n"
                               "coffer: at most 1000 (--limit)\n"
                               "coffer: warning: shown once\n");
    assert_int_equal(k.outlen, 0);
    cap_close(&k);
}

/* ---------------------------------------------------------------- tables */

static void test_table(void **state)
{
    cap k;
    cf_cli_table t;
    (void)state;
    cap_open(&k);
    cf_cli_table_init(&t, 3);
    cf_cli_table_cell(&t, "ID");
    cf_cli_table_cell(&t, "NAME");
    cf_cli_table_cell(&t, "STATUS");
    cf_cli_table_cell(&t, "CF1");
    cf_cli_table_cell(&t, "über");
    cf_cli_table_cell(&t, "active");
    cf_cli_table_cell(&t, "CF22222");
    cf_cli_table_cell(&t, NULL);
    cf_cli_table_cell(&t, "");
    cf_cli_table_cell(&t, "CF3");
    cf_cli_table_cell(&t, "a\x1b[2Jb");
    cf_cli_table_cell(&t, "disabled");
    cf_cli_table_print(&t, k.c.out);
    cf_cli_table_free(&t);
    cap_sync(&k);
    /* Aligned on code points, two spaces apart, no trailing spaces, escapes defused. */
    assert_string_equal(k.out, "ID       NAME    STATUS\n"
                               "CF1      über    active\n"
                               "CF22222  -\n"
                               "CF3      a?[2Jb  disabled\n");
    cap_close(&k);
}

static void test_table_ragged_and_empty(void **state)
{
    cap k;
    cf_cli_table t;
    (void)state;
    cap_open(&k);
    cf_cli_table_init(&t, 2);
    cf_cli_table_print(&t, k.c.out); /* nothing */
    cf_cli_table_cell(&t, "key");
    cf_cli_table_cell(&t, "value");
    cf_cli_table_cell(&t, "longer_key");
    cf_cli_table_print(&t, k.c.out); /* last row incomplete */
    cf_cli_table_free(&t);
    cap_sync(&k);
    assert_string_equal(k.out, "key         value\nlonger_key\n");
    cap_close(&k);
}

static void test_table_json(void **state)
{
    cap k;
    cf_cli_table t;
    json_t *o = json_pack("{s:s, s:I, s:b, s:n, s:[], s:[s,s], s:{s:i}, s:[i,{}], s:f}", "s",
                          "text", "i", (json_int_t)10737418240, "b", 1, "n", "e", "a", "10.0.0.0/8",
                          "::1", "o", "k", 1, "mixed", 5, "r", 1.5);
    static const char *const keys[] = {"s", "i", "b", "n", "e", "a", "o", "mixed", "r", "missing"};
    (void)state;
    assert_non_null(o);
    cap_open(&k);
    cf_cli_table_init(&t, 2);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        cf_cli_table_cell(&t, keys[i]);
        cf_cli_table_json(&t, json_object_get(o, keys[i]), "none");
    }
    cf_cli_table_print(&t, k.c.out);
    cf_cli_table_free(&t);
    json_decref(o);
    cap_sync(&k);
    assert_string_equal(k.out, "s        text\n"
                               "i        10737418240\n"
                               "b        true\n"
                               "n        none\n"
                               "e        none\n"
                               "a        10.0.0.0/8, ::1\n"
                               "o        {\"k\":1}\n"
                               "mixed    5, {}\n"
                               "r        1.5\n"
                               "missing  none\n");
    cap_close(&k);
}

static void test_print_json(void **state)
{
    cap k;
    json_t *j = json_pack("{s:s, s:[i], s:n}", "z", "ü/x", "a", 1, "n");
    (void)state;
    cap_open(&k);
    cf_cli_print_json(&k.c, j);
    json_decref(j);
    cap_sync(&k);
    /* Pretty, order kept, UTF-8 and slashes as they are. */
    assert_string_equal(k.out, "{\n  \"z\": \"ü/x\",\n  \"a\": [\n    1\n  ],\n  \"n\": null\n}\n");
    cap_close(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_shell_roundtrip),
        cmocka_unit_test(test_print_env),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_error_line),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_ragged_and_empty),
        cmocka_unit_test(test_table_json),
        cmocka_unit_test(test_print_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
