/* Tagging's pure parts (s3/tagging.c): S3's character set and UTF-16 lengths, the header's
 * form decoding, the canonical stored form (a round trip for every byte), counts, order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/s3/tagging.c"

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

static void test_text_rules(void **state)
{
    size_t u = 0;
    (void)state;
    assert_true(tag_text(CF_STR("abcXYZ019 _.:/=+-@"), &u));
    assert_int_equal(u, 18);
    assert_true(tag_text(CF_STR(""), &u));
    assert_int_equal(u, 0);
    /* two-, three- and four-byte characters: 1, 1 and 2 UTF-16 units */
    assert_true(tag_text(CF_STR("\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80"), &u));
    assert_int_equal(u, 4);
    static const char *const bad[] = {"a&b", "a,b", "[x]", "tab\there", "new\nline", "q\"", "%",
                                      "a*",  "#",   "?",   "!",         "~",         "\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(tag_text(cf_str_c(bad[i]), &u));
    assert_false(tag_text(CF_STR("nul\0x"), &u));
    assert_false(tag_text(CF_STR("\xff"), &u));         /* not UTF-8 */
    assert_false(tag_text(CF_STR("\xed\xa0\x80"), &u)); /* a surrogate */
}

static void test_form_decoding(void **state)
{
    cf_kv *t = NULL;
    size_t n = 0;
    (void)state;
    assert_true(parse_form(A, CF_STR("a=1&b=two+words&c=%2B%25%3d&d"), &t, &n));
    assert_int_equal(n, 4);
    assert_true(cf_str_eq_c(t[0].name, "a") && cf_str_eq_c(t[0].value, "1"));
    assert_true(cf_str_eq_c(t[1].value, "two words"));
    assert_true(cf_str_eq_c(t[2].value, "+%="));
    assert_true(cf_str_eq_c(t[3].name, "d") && t[3].value.len == 0);
    assert_true(parse_form(A, CF_STR(""), &t, &n));
    assert_int_equal(n, 0);
    assert_true(parse_form(A, CF_STR("&&a=1&"), &t, &n));
    assert_int_equal(n, 1);
    assert_true(parse_form(A, CF_STR("=v"), &t, &n)); /* an empty key: refused by the checks */
    assert_int_equal(t[0].name.len, 0);
    static const char *const bad[] = {"a=%", "a=%4", "a=%G0", "%zz=1", "a=b=c", "k=v&x=1=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(parse_form(A, cf_str_c(bad[i]), &t, &n));
}

/* Every byte value survives encode + decode, and the encoding uses no '+', '=' or '&'. */
static void test_roundtrip_every_byte(void **state)
{
    char bytes[256];
    cf_kv in[2], *out = NULL;
    size_t n = 0;
    cf_str enc;
    (void)state;
    for (int i = 0; i < 256; i++)
        bytes[i] = (char)i;
    in[0].name = cf_str_make(bytes, 128);
    in[0].value = cf_str_make(bytes + 128, 128);
    in[1].name = CF_STR("k");
    in[1].value = cf_str_make(bytes, 256);
    assert_true(encode_set(A, in, 2, &enc));
    for (size_t i = 0, amps = 0, eqs = 0; i < enc.len; i++) {
        assert_true(enc.p[i] != '+');
        amps += enc.p[i] == '&';
        eqs += enc.p[i] == '=';
        if (i + 1 == enc.len) {
            assert_int_equal(amps, 1);
            assert_int_equal(eqs, 2);
        }
    }
    assert_true(cf_s3_tags_decode(A, enc, &out, &n));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(cf_str_eq(out[i].name, in[i].name));
        assert_true(cf_str_eq(out[i].value, in[i].value));
    }
    assert_int_equal(cf_s3_tag_count(enc), 2);
    assert_true(encode_set(A, in, 0, &enc));
    assert_int_equal(enc.len, 0);
    assert_int_equal(cf_s3_tag_count(enc), 0);
    assert_true(encode_set(A, in + 1, 1, &enc));
    assert_int_equal(cf_s3_tag_count(enc), 1);
}

static void test_encoding_is_canonical(void **state)
{
    cf_kv t[] = {{CF_STR("sp ace"), CF_STR("a+b")}, {CF_STR("U~n-r_e.s"), CF_STR("")}};
    cf_str enc;
    (void)state;
    assert_true(encode_set(A, t, 2, &enc));
    assert_true(cf_str_eq_c(enc, "sp%20ace=a%2Bb&U~n-r_e.s="));
    assert_int_equal(cf_s3_tag_count(CF_STR("a=1&&b=2&")), 2);
}

static void test_sorting(void **state)
{
    cf_kv t[] = {{CF_STR("b"), CF_STR("2")},
                 {CF_STR("a"), CF_STR("1")},
                 {CF_STR("ab"), CF_STR("3")},
                 {CF_STR("B"), CF_STR("4")},
                 {CF_STR(""), CF_STR("5")}};
    (void)state;
    sort_tags(t, 5);
    assert_true(cf_str_eq_c(t[0].name, ""));
    assert_true(cf_str_eq_c(t[1].name, "B"));
    assert_true(cf_str_eq_c(t[2].name, "a"));
    assert_true(cf_str_eq_c(t[3].name, "ab"));
    assert_true(cf_str_eq_c(t[4].name, "b"));
}

static void test_stored_lookup(void **state)
{
    cf_header hs[] = {{CF_STR("content-type"), CF_STR("text/plain")},
                      {CF_STR("x-amz-tagging"), CF_STR("a=1")},
                      {CF_STR("x-amz-meta-x"), CF_STR("y")}};
    cf_object_info o = {.headers = hs, .nheaders = 3};
    size_t n = 0;
    (void)state;
    assert_true(cf_str_eq_c(stored_tags(&o), "a=1"));
    cf_header *w = without_tags(A, hs, 3, &n);
    assert_non_null(w);
    assert_int_equal(n, 2);
    assert_true(cf_str_eq_c(w[0].name, "content-type") && cf_str_eq_c(w[1].name, "x-amz-meta-x"));
    o.nheaders = 1;
    assert_int_equal(stored_tags(&o).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_rules),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_roundtrip_every_byte),
        cmocka_unit_test(test_encoding_is_canonical),
        cmocka_unit_test(test_sorting),
        cmocka_unit_test(test_stored_lookup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
