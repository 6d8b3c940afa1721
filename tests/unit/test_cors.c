/* CORS configuration parsing, normalization and rule matching (s3/cors.c): S3's checks and
 * messages, the one-wildcard patterns, first-match order, requested headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/s3/cors.c"

static cf_arena *A;

static int setup(void **state)
{
    (void)state;
    A = cf_arena_new(0);
    return A == NULL;
}

static int teardown(void **state)
{
    (void)state;
    cf_arena_destroy(A);
    return 0;
}

#define DOC(rules) "<CORSConfiguration>" rules "</CORSConfiguration>"
#define RULE(x)    "<CORSRule>" x "</CORSRule>"
#define GET_ANY    "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"

static cf_s3err parse(const char *doc, cors_rule **r, size_t *n, char *msg, size_t cap)
{
    return parse_rules(A, cf_str_c(doc), r, n, msg, cap);
}

static void test_wildcards(void **state)
{
    (void)state;
    assert_true(wild_match(CF_STR("*"), CF_STR(""), false));
    assert_true(wild_match(CF_STR("*"), CF_STR("http://x"), false));
    assert_true(wild_match(CF_STR("*suffix"), CF_STR("suffix"), false));
    assert_true(wild_match(CF_STR("*suffix"), CF_STR("foo.suffix"), false));
    assert_false(wild_match(CF_STR("*suffix"), CF_STR("foo.suffix.get"), false));
    assert_true(wild_match(CF_STR("start*end"), CF_STR("startend"), false));
    assert_true(wild_match(CF_STR("start*end"), CF_STR("start12end"), false));
    assert_false(wild_match(CF_STR("start*end"), CF_STR("0start12end"), false));
    assert_false(wild_match(CF_STR("start*end"), CF_STR("startend0"), false));
    /* head and tail may not overlap */
    assert_false(wild_match(CF_STR("ab*ba"), CF_STR("aba"), false));
    assert_true(wild_match(CF_STR("prefix*"), CF_STR("prefix"), false));
    assert_false(wild_match(CF_STR("prefix*"), CF_STR("bla.prefix"), false));
    assert_true(
        wild_match(CF_STR("http://*.example.com"), CF_STR("http://a.b.example.com"), false));
    assert_false(wild_match(CF_STR("http://*.example.com"), CF_STR("http://example.com"), false));
    assert_true(wild_match(CF_STR("exact"), CF_STR("exact"), false));
    assert_false(wild_match(CF_STR("exact"), CF_STR("Exact"), false));
    assert_true(wild_match(CF_STR("X-Amz-*"), CF_STR("x-amz-date"), true));
    assert_false(wild_match(CF_STR("X-Amz-*"), CF_STR("x-amz-date"), false));
    assert_true(wild_match(CF_STR(""), CF_STR(""), false));
    assert_false(wild_match(CF_STR(""), CF_STR("a"), false));
}

static void test_parse_and_normalize(void **state)
{
    cors_rule *r = NULL, *r2 = NULL;
    size_t n = 0, n2 = 0;
    char msg[512];
    cf_buf b, b2;
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?><CORSConfiguration xmlns=\"" CF_S3_XMLNS "\">" RULE(
        "<MaxAgeSeconds>\n 3000 </MaxAgeSeconds><AllowedOrigin> http://a.example "
        "</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>"
        "<ExposeHeader>ETag</ExposeHeader><AllowedHeader>*</AllowedHeader><ID>one</ID>")
        RULE(GET_ANY) "</CORSConfiguration>";
    assert_int_equal(parse(doc, &r, &n, msg, sizeof msg), CF_S3_OK);
    assert_int_equal(n, 2);
    assert_true(cf_str_eq_c(r[0].id, "one"));
    assert_true(cf_str_eq_c(r[0].origins.v[0], "http://a.example"));
    assert_int_equal(r[0].methods.n, 2);
    assert_true(r[0].has_max_age && r[0].max_age == 3000);
    assert_false(r[1].has_max_age);
    assert_int_equal(r[1].id.len, 0);

    cf_buf_init(&b, 1 << 20);
    assert_int_equal(write_doc(&b, r, n), CF_OK);
    assert_string_equal(
        b.p, CF_XML_DECL
        "<CORSConfiguration xmlns=\"" CF_S3_XMLNS "\"><CORSRule><ID>one</ID>"
        "<AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod>"
        "<AllowedMethod>GET</AllowedMethod><AllowedOrigin>http://a.example</AllowedOrigin>"
        "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>"
        "<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
        "</CORSRule></CORSConfiguration>");
    /* The stored form parses to the same document. */
    assert_int_equal(parse_rules(A, cf_buf_str(&b), &r2, &n2, msg, sizeof msg), CF_S3_OK);
    cf_buf_init(&b2, 1 << 20);
    assert_int_equal(write_doc(&b2, r2, n2), CF_OK);
    assert_string_equal(b.p, b2.p);
    cf_buf_free(&b);
    cf_buf_free(&b2);

    /* Escaping survives the round trip. */
    assert_int_equal(parse(DOC(RULE("<AllowedOrigin>http://a&amp;b&lt;c</AllowedOrigin>"
                                    "<AllowedMethod>GET</AllowedMethod>")),
                           &r, &n, msg, sizeof msg),
                     CF_S3_OK);
    assert_true(cf_str_eq_c(r[0].origins.v[0], "http://a&b<c"));
    cf_buf_init(&b, 4096);
    write_doc(&b, r, n);
    assert_non_null(strstr(b.p, "http://a&amp;b&lt;c"));
    cf_buf_free(&b);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *doc;
        cf_s3err e;
        const char *msg; /* NULL: the table's */
    } cases[] = {
        {"<CORSConfiguration/>", CF_S3_MalformedXML, NULL},
        {"<Other>" RULE(GET_ANY) "</Other>", CF_S3_MalformedXML, NULL},
        {DOC(RULE("")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY) "<Stray/>"), CF_S3_MalformedXML, NULL},
        {DOC(RULE("<AllowedMethod>GET</AllowedMethod>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE("<AllowedOrigin>*</AllowedOrigin>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<Unknown>1</Unknown>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<ID>a</ID><ID>b</ID>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>")),
         CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<MaxAgeSeconds>x</MaxAgeSeconds>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<MaxAgeSeconds>2147483648</MaxAgeSeconds>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE(GET_ANY "<AllowedHeader><x/></AllowedHeader>")), CF_S3_MalformedXML, NULL},
        {DOC(RULE("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>")),
         CF_S3_InvalidRequest,
         "Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS"},
        {DOC(RULE("<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>")),
         CF_S3_InvalidRequest, "AllowedOrigin \"*.*\" can not have more than one wildcard."},
        {DOC(RULE(GET_ANY "<AllowedHeader>**</AllowedHeader>")), CF_S3_InvalidRequest,
         "AllowedHeader \"**\" can not have more than one wildcard."},
        {DOC(RULE(GET_ANY "<ExposeHeader>x-*</ExposeHeader>")), CF_S3_InvalidRequest,
         "ExposeHeader \"x-*\" contains wildcard. We currently do not support wildcard for "
         "ExposeHeader."},
        {"<CORSConfiguration", CF_S3_MalformedXML, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cors_rule *r = NULL;
        size_t n = 0;
        char msg[512];
        cf_s3err e = parse(cases[i].doc, &r, &n, msg, sizeof msg);
        if (e != cases[i].e)
            fail_msg("case %zu: %s", i, cf_s3err_code(e));
        if (cases[i].msg != NULL)
            assert_string_equal(msg, cases[i].msg);
        else if (e != CF_S3_MalformedXML || msg[0] != '\0')
            assert_string_equal(msg, "");
    }
}

static void test_rule_limits(void **state)
{
    cf_buf b;
    cors_rule *r = NULL;
    size_t n = 0;
    char msg[512], id[300];
    (void)state;
    cf_buf_init(&b, 1 << 20);
    cf_buf_append_c(&b, "<CORSConfiguration>");
    for (int i = 0; i < 100; i++)
        cf_buf_append_c(&b, RULE(GET_ANY));
    cf_buf_append_c(&b, "</CORSConfiguration>");
    assert_int_equal(parse_rules(A, cf_buf_str(&b), &r, &n, msg, sizeof msg), CF_S3_OK);
    assert_int_equal(n, 100);
    b.len -= strlen("</CORSConfiguration>");
    cf_buf_append_c(&b, RULE(GET_ANY) "</CORSConfiguration>");
    assert_int_equal(parse_rules(A, cf_buf_str(&b), &r, &n, msg, sizeof msg), CF_S3_InvalidRequest);
    cf_buf_free(&b);

    memset(id, 'i', 255);
    id[255] = '\0';
    cf_buf_init(&b, 4096);
    cf_buf_printf(&b, DOC(RULE(GET_ANY "<ID>%s</ID>")), id);
    assert_int_equal(parse_rules(A, cf_buf_str(&b), &r, &n, msg, sizeof msg), CF_S3_OK);
    cf_buf_reset(&b);
    cf_buf_printf(&b, DOC(RULE(GET_ANY "<ID>%si</ID>")), id);
    assert_int_equal(parse_rules(A, cf_buf_str(&b), &r, &n, msg, sizeof msg),
                     CF_S3_InvalidArgument);
    assert_string_equal(msg, "ID length should not exceed allowed limit of 255");
    cf_buf_free(&b);
}

static str_list list_of(const char *csv)
{
    str_list l = {cf_arena_alloc(A, 16 * sizeof(cf_str)), 0};
    cf_str rest = cf_str_c(csv), tok;
    while (rest.len > 0) {
        cf_str_cut(rest, ',', &tok, &rest);
        l.v[l.n++] = tok;
    }
    return l;
}

static void test_matching(void **state)
{
    cors_rule *r = NULL;
    size_t n = 0;
    char msg[512];
    cf_str pat;
    (void)state;
    const char *doc = DOC(
        RULE("<AllowedOrigin>http://a.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>"
             "<AllowedHeader>content-*</AllowedHeader><AllowedHeader>X-Amz-Date</AllowedHeader>")
            RULE("<AllowedOrigin>http://b.example</AllowedOrigin><AllowedOrigin>*</AllowedOrigin>"
                 "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"));
    assert_int_equal(parse(doc, &r, &n, msg, sizeof msg), CF_S3_OK);

    str_list none = {NULL, 0};
    str_list ok = list_of("content-type,x-amz-date,content-md5");
    str_list bad = list_of("content-type,authorization");
    assert_ptr_equal(find_rule(r, n, CF_STR("http://a.example"), CF_STR("PUT"), &ok, &pat), &r[0]);
    assert_true(cf_str_eq_c(pat, "http://a.example"));
    /* refused headers fall through to the next rule, which allows none */
    assert_null(find_rule(r, n, CF_STR("http://a.example"), CF_STR("PUT"), &bad, &pat));
    assert_ptr_equal(find_rule(r, n, CF_STR("http://a.example"), CF_STR("PUT"), &none, &pat),
                     &r[0]);
    /* GET is only in the second rule, which any origin matches by "*" */
    assert_ptr_equal(find_rule(r, n, CF_STR("http://a.example"), CF_STR("GET"), NULL, &pat), &r[1]);
    assert_true(cf_str_eq_c(pat, "*"));
    assert_ptr_equal(find_rule(r, n, CF_STR("http://b.example"), CF_STR("GET"), NULL, &pat), &r[1]);
    assert_true(cf_str_eq_c(pat, "http://b.example"));
    /* methods compare exactly */
    assert_null(find_rule(r, n, CF_STR("http://b.example"), CF_STR("get"), NULL, &pat));
    assert_null(find_rule(r, n, CF_STR("http://b.example"), CF_STR("DELETE"), NULL, &pat));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcards), cmocka_unit_test(test_parse_and_normalize),
        cmocka_unit_test(test_refusals),  cmocka_unit_test(test_rule_limits),
        cmocka_unit_test(test_matching),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
