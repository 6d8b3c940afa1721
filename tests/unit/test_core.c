/* Unit tests for core/: slices, buffers, arena, clock, log, crypto, s3err, rc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/rc.h"
#include "core/s3err.h"
#include "core/str.h"

/* A slice of a literal without its NUL, so tests catch reads past len. */
static cf_str S(const char *s)
{
    return cf_str_c(s);
}

/* ---------------------------------------------------------------- str */

static void test_str_basics(void **state)
{
    cf_str a = CF_STR("Hello"), head, tail;
    (void)state;
    assert_true(cf_str_eq(a, S("Hello")));
    assert_false(cf_str_eq(a, S("Hell")));
    assert_true(cf_str_eq_c(a, "Hello"));
    assert_true(cf_str_ieq_c(a, "hELLO"));
    assert_false(cf_str_ieq_c(a, "hELL"));
    assert_true(cf_str_eq(CF_STR_NULL, S("")));
    assert_true(cf_str_starts_c(a, "He"));
    assert_true(cf_str_starts_c(a, ""));
    assert_false(cf_str_starts_c(a, "Hello!"));
    assert_int_equal(cf_str_c(NULL).len, 0);

    assert_true(cf_str_cmp(S("a"), S("b")) < 0);
    assert_true(cf_str_cmp(S("ab"), S("a")) > 0);
    assert_true(cf_str_cmp(S("a"), S("ab")) < 0);
    assert_int_equal(cf_str_cmp(S("ab"), S("ab")), 0);
    assert_int_equal(cf_str_cmp(CF_STR_NULL, S("")), 0);
    assert_true(cf_str_cmp(S("\xff"), S("a")) > 0); /* unsigned byte order */

    assert_int_equal(cf_str_find(a, 'l'), 2);
    assert_int_equal(cf_str_find(a, 'z'), -1);
    assert_int_equal(cf_str_find(CF_STR_NULL, 'z'), -1);

    assert_true(cf_str_eq_c(cf_str_sub(a, 1, 3), "ell"));
    assert_true(cf_str_eq_c(cf_str_sub(a, 3, 100), "lo"));
    assert_true(cf_str_eq_c(cf_str_sub(a, 9, 1), ""));
    assert_true(cf_str_eq_c(cf_str_trim(S(" \t x y\t ")), "x y"));
    assert_true(cf_str_eq_c(cf_str_trim(S(" \t ")), ""));

    assert_true(cf_str_cut(S("k=v=w"), '=', &head, &tail));
    assert_true(cf_str_eq_c(head, "k"));
    assert_true(cf_str_eq_c(tail, "v=w"));
    assert_false(cf_str_cut(S("kv"), '=', &head, &tail));
    assert_true(cf_str_eq_c(head, "kv"));
    assert_int_equal(tail.len, 0);
    assert_true(cf_str_cut(S("k="), '=', &head, &tail));
    assert_int_equal(tail.len, 0);
}

static void test_str_numbers(void **state)
{
    uint64_t u = 7;
    int64_t i = 7;
    (void)state;
    assert_true(cf_str_to_u64(S("0"), &u));
    assert_int_equal(u, 0);
    assert_true(cf_str_to_u64(S("00042"), &u));
    assert_int_equal(u, 42);
    assert_true(cf_str_to_u64(S("18446744073709551615"), &u));
    assert_true(u == UINT64_MAX);
    u = 7;
    assert_false(cf_str_to_u64(S("18446744073709551616"), &u));
    assert_false(cf_str_to_u64(S("99999999999999999999"), &u));
    assert_false(cf_str_to_u64(S(""), &u));
    assert_false(cf_str_to_u64(CF_STR_NULL, &u));
    assert_false(cf_str_to_u64(S("-1"), &u));
    assert_false(cf_str_to_u64(S("+1"), &u));
    assert_false(cf_str_to_u64(S(" 1"), &u));
    assert_false(cf_str_to_u64(S("1 "), &u));
    assert_false(cf_str_to_u64(S("0x10"), &u));
    assert_false(cf_str_to_u64(S("1a"), &u));
    assert_int_equal(u, 7); /* untouched on failure */
    /* The slice ends before the NUL-terminated tail. */
    assert_true(cf_str_to_u64(cf_str_make("123abc", 3), &u));
    assert_int_equal(u, 123);

    assert_true(cf_str_to_i64(S("-42"), &i));
    assert_int_equal(i, -42);
    assert_true(cf_str_to_i64(S("9223372036854775807"), &i));
    assert_true(i == INT64_MAX);
    assert_true(cf_str_to_i64(S("-9223372036854775808"), &i));
    assert_true(i == INT64_MIN);
    assert_false(cf_str_to_i64(S("9223372036854775808"), &i));
    assert_false(cf_str_to_i64(S("-9223372036854775809"), &i));
    assert_false(cf_str_to_i64(S("-"), &i));
    assert_false(cf_str_to_i64(S("--1"), &i));
    assert_false(cf_str_to_i64(S("+1"), &i));
    assert_false(cf_str_to_i64(S(""), &i));
    assert_true(cf_str_to_i64(S("-0"), &i));
    assert_int_equal(i, 0);
}

static void test_str_hex(void **state)
{
    uint8_t b[4];
    char hex[9];
    const uint8_t in[4] = {0x00, 0xab, 0x7f, 0xff};
    (void)state;
    cf_hex_encode(in, 4, hex);
    assert_string_equal(hex, "00ab7fff");
    assert_true(cf_str_hex_decode(S("00AB7fFF"), b, 4));
    assert_memory_equal(b, in, 4);
    assert_false(cf_str_hex_decode(S("00ab7ff"), b, 4));
    assert_false(cf_str_hex_decode(S("00ab7fff00"), b, 4));
    assert_false(cf_str_hex_decode(S("00ab7fgf"), b, 4));
    assert_false(cf_str_hex_decode(S("00ab7f f"), b, 4));
    assert_true(cf_str_hex_decode(S(""), b, 0));
    cf_hex_encode(in, 0, hex);
    assert_string_equal(hex, "");
}

static void test_ct_eq(void **state)
{
    (void)state;
    assert_true(cf_ct_eq("abc", 3, "abc", 3));
    assert_false(cf_ct_eq("abc", 3, "abd", 3));
    assert_false(cf_ct_eq("abc", 3, "abcd", 4));
    assert_true(cf_ct_eq("", 0, "", 0));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(cf_utf8_valid(S("")));
    assert_true(cf_utf8_valid(S("plain ascii/key.txt")));
    assert_true(cf_utf8_valid(S("caf\xc3\xa9")));       /* é */
    assert_true(cf_utf8_valid(S("\xe2\x82\xac")));      /* € */
    assert_true(cf_utf8_valid(S("\xf0\x9f\x98\x80")));  /* U+1F600 */
    assert_true(cf_utf8_valid(S("\xf4\x8f\xbf\xbf")));  /* U+10FFFF */
    assert_true(cf_utf8_valid(S("\xed\x9f\xbf")));      /* U+D7FF */
    assert_true(cf_utf8_valid(S("\xee\x80\x80")));      /* U+E000 */
    assert_true(cf_utf8_valid(cf_str_make("a\0b", 3))); /* NUL is valid UTF-8 */

    assert_false(cf_utf8_valid(S("\xc0\xaf")));         /* overlong '/' */
    assert_false(cf_utf8_valid(S("\xc1\xbf")));         /* overlong */
    assert_false(cf_utf8_valid(S("\xe0\x80\xaf")));     /* overlong 3-byte */
    assert_false(cf_utf8_valid(S("\xe0\x9f\xbf")));     /* overlong U+07FF */
    assert_false(cf_utf8_valid(S("\xf0\x80\x80\xaf"))); /* overlong 4-byte */
    assert_false(cf_utf8_valid(S("\xf0\x8f\xbf\xbf"))); /* overlong U+FFFF */
    assert_false(cf_utf8_valid(S("\xed\xa0\x80")));     /* U+D800 surrogate */
    assert_false(cf_utf8_valid(S("\xed\xbf\xbf")));     /* U+DFFF surrogate */
    assert_false(cf_utf8_valid(S("\xf4\x90\x80\x80"))); /* U+110000 */
    assert_false(cf_utf8_valid(S("\xf5\x80\x80\x80"))); /* lead > F4 */
    assert_false(cf_utf8_valid(S("\xff")));
    assert_false(cf_utf8_valid(S("\x80")));         /* lone continuation */
    assert_false(cf_utf8_valid(S("a\xc3")));        /* truncated 2-byte */
    assert_false(cf_utf8_valid(S("\xe2\x82")));     /* truncated 3-byte */
    assert_false(cf_utf8_valid(S("\xf0\x9f\x98"))); /* truncated 4-byte */
    assert_false(cf_utf8_valid(S("\xe2\x28\xa1"))); /* bad continuation */
    /* A slice that cuts a sequence short is invalid even if the bytes follow in memory. */
    assert_false(cf_utf8_valid(cf_str_make("\xc3\xa9", 1)));
}

/* ---------------------------------------------------------------- buf */

static void test_buf_basics(void **state)
{
    cf_buf b;
    char *p;
    size_t n;
    (void)state;
    cf_buf_init(&b, 1024);
    assert_int_equal(cf_buf_str(&b).len, 0);
    assert_int_equal(cf_buf_append_c(&b, "abc"), CF_OK);
    assert_int_equal(cf_buf_append_ch(&b, '-'), CF_OK);
    assert_int_equal(cf_buf_append_str(&b, S("xyz")), CF_OK);
    assert_int_equal(cf_buf_printf(&b, "/%d/%s", 42, "q"), CF_OK);
    assert_string_equal(b.p, "abc-xyz/42/q");
    assert_int_equal(b.len, 12);
    assert_true(cf_str_eq_c(cf_buf_str(&b), "abc-xyz/42/q"));
    cf_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(cf_buf_append(&b, "", 0), CF_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(cf_buf_append_c(&b, "0123456789"), CF_OK);
    assert_int_equal(b.len, 1000);
    assert_true(b.cap <= 1025);
    p = cf_buf_take(&b, &n);
    assert_int_equal(n, 1000);
    assert_int_equal(p[1000], '\0');
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    free(p);
    /* An empty buffer still hands out a valid empty string. */
    p = cf_buf_take(&b, &n);
    assert_non_null(p);
    assert_int_equal(n, 0);
    assert_string_equal(p, "");
    free(p);
    cf_buf_free(&b);
}

static void test_buf_max(void **state)
{
    cf_buf b;
    char big[300];
    (void)state;
    memset(big, 'x', sizeof(big));
    cf_buf_init(&b, 10);
    assert_int_equal(cf_buf_append_c(&b, "0123456789"), CF_OK); /* exactly max */
    assert_int_equal(cf_buf_append_ch(&b, 'x'), CF_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "0123456789");
    cf_buf_reset(&b);
    assert_int_equal(cf_buf_append_c(&b, "01234"), CF_OK);
    assert_int_equal(cf_buf_printf(&b, "%s", "abcdef"), CF_ETOOBIG);
    assert_string_equal(b.p, "01234");
    assert_int_equal(cf_buf_printf(&b, "%s", "abcde"), CF_OK);
    assert_string_equal(b.p, "01234abcde");
    assert_int_equal(cf_buf_append(&b, big, SIZE_MAX), CF_ETOOBIG); /* no overflow */
    cf_buf_free(&b);

    cf_buf_init(&b, 100);
    assert_int_equal(cf_buf_append(&b, big, sizeof(big)), CF_ETOOBIG);
    assert_int_equal(b.len, 0);
    cf_buf_free(&b);
}

static void test_buf_xml(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 64);
    assert_int_equal(cf_buf_append_xml(&b, S("a<b>&\"c'd")), CF_OK);
    assert_string_equal(b.p, "a&lt;b&gt;&amp;&quot;c&apos;d");
    cf_buf_reset(&b);
    assert_int_equal(cf_buf_append_xml(&b, S("plain")), CF_OK);
    assert_string_equal(b.p, "plain");
    assert_int_equal(cf_buf_append_xml(&b, S("")), CF_OK);
    assert_string_equal(b.p, "plain");
    cf_buf_free(&b);

    /* Over max: all or nothing. */
    cf_buf_init(&b, 12);
    assert_int_equal(cf_buf_append_c(&b, "ab"), CF_OK);
    assert_int_equal(cf_buf_append_xml(&b, S("x&y&z")), CF_ETOOBIG); /* 2 + 13 > 12 */
    assert_string_equal(b.p, "ab");
    assert_int_equal(b.len, 2);
    assert_int_equal(cf_buf_append_xml(&b, S("x&y")), CF_OK);
    assert_string_equal(b.p, "abx&amp;y");
    cf_buf_free(&b);
}

/* ---------------------------------------------------------------- arena */

static char order[16];
static size_t norder;

static void record(void *data)
{
    order[norder++] = *(const char *)data;
}

static void test_arena_alloc(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_str s;
    char *p;
    (void)state;
    assert_non_null(a);
    for (size_t n = 1; n < 200; n += 7) {
        unsigned char *m = cf_arena_alloc(a, n);
        assert_non_null(m);
        assert_int_equal((uintptr_t)m % 16, 0);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(m[k], 0);
        memset(m, 0xAA, n);
    }
    /* Large allocations (own chunk) are aligned and zeroed too. */
    {
        unsigned char *m = cf_arena_alloc(a, 100000);
        assert_non_null(m);
        assert_int_equal((uintptr_t)m % 16, 0);
        assert_int_equal(m[0] | m[99999], 0);
        memset(m, 1, 100000);
    }
    assert_non_null(cf_arena_alloc(a, 0));
    p = cf_arena_strdup(a, "hello");
    assert_string_equal(p, "hello");
    p = cf_arena_strndup(a, "hello world", 5);
    assert_string_equal(p, "hello");
    s = cf_arena_str(a, cf_str_make("abcdef", 3));
    assert_true(cf_str_eq_c(s, "abc"));
    assert_int_equal(s.p[3], '\0');
    p = cf_arena_printf(a, "%s-%d", "n", 7);
    assert_string_equal(p, "n-7");
    assert_true(cf_arena_used(a) >= 100000);
    cf_arena_destroy(a);
    cf_arena_destroy(NULL);
}

static void test_arena_max(void **state)
{
    cf_arena *a = cf_arena_new(1024);
    size_t used;
    (void)state;
    assert_non_null(a);
    assert_non_null(cf_arena_alloc(a, 1000));
    used = cf_arena_used(a);
    assert_null(cf_arena_alloc(a, 100));
    assert_int_equal(cf_arena_used(a), used); /* failure hands out nothing */
    assert_non_null(cf_arena_alloc(a, 16));
    assert_null(cf_arena_alloc(a, SIZE_MAX));
    assert_null(cf_arena_alloc(a, SIZE_MAX - 8));
    assert_null(cf_arena_strndup(a, "x", SIZE_MAX));
    cf_arena_destroy(a);

    a = cf_arena_new(64);
    assert_null(cf_arena_alloc(a, 65));
    assert_null(cf_arena_printf(a, "%0100d", 1));
    assert_non_null(cf_arena_alloc(a, 64));
    cf_arena_destroy(a);
}

static void test_arena_cleanup(void **state)
{
    static const char tags[] = "abcde";
    cf_arena *a = cf_arena_new(0);
    void *hb, *hd, *he;
    (void)state;
    norder = 0;
    assert_non_null(cf_arena_cleanup_add(a, record, (void *)&tags[0]));
    hb = cf_arena_cleanup_add(a, record, (void *)&tags[1]);
    assert_non_null(cf_arena_cleanup_add(a, record, (void *)&tags[2]));
    hd = cf_arena_cleanup_add(a, record, (void *)&tags[3]);
    he = cf_arena_cleanup_add(a, record, (void *)&tags[4]);
    assert_non_null(hb);
    cf_arena_cleanup_cancel(hb); /* middle */
    cf_arena_cleanup_cancel(he); /* newest */
    cf_arena_cleanup_cancel(NULL);
    assert_non_null(hd);
    assert_int_equal(norder, 0);
    cf_arena_destroy(a);
    assert_int_equal(norder, 3);
    assert_memory_equal(order, "dca", 3);

    /* Cancelling the oldest and everything. */
    a = cf_arena_new(0);
    norder = 0;
    hb = cf_arena_cleanup_add(a, record, (void *)&tags[0]);
    hd = cf_arena_cleanup_add(a, record, (void *)&tags[1]);
    cf_arena_cleanup_cancel(hb);
    cf_arena_cleanup_cancel(hd);
    cf_arena_destroy(a);
    assert_int_equal(norder, 0);
}

/* ---------------------------------------------------------------- clock */

static int64_t fixed_clock(void *ctx)
{
    return *(const int64_t *)ctx;
}

static void test_clock(void **state)
{
    int64_t t = 1369353600000, now;
    (void)state;
    now = cf_now_ms();
    assert_true(now > INT64_C(1700000000000));
    cf_clock_set(fixed_clock, &t);
    assert_true(cf_now_ms() == t);
    cf_clock_set(NULL, NULL);
    cf_clock_set_offset(INT64_C(86400000) * 365 * 100);
    assert_true(cf_now_ms() > now + INT64_C(86400000) * 365 * 99);
    cf_clock_set_offset(0);
    assert_true(cf_now_ms() < now + INT64_C(86400000));
}

static void test_time_format(void **state)
{
    char amz[17], http[30], iso[25];
    int64_t ms = INT64_C(1369353600000); /* 2013-05-24T00:00:00Z, a Friday */
    (void)state;
    cf_time_amz(ms, amz);
    cf_time_http(ms, http);
    cf_time_iso8601(ms + 7, iso);
    assert_string_equal(amz, "20130524T000000Z");
    assert_string_equal(http, "Fri, 24 May 2013 00:00:00 GMT");
    assert_string_equal(iso, "2013-05-24T00:00:00.007Z");

    cf_time_iso8601(0, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
    cf_time_http(0, http);
    assert_string_equal(http, "Thu, 01 Jan 1970 00:00:00 GMT");
    cf_time_iso8601(INT64_C(951782400000) + 86399999, iso); /* leap day 2000 */
    assert_string_equal(iso, "2000-02-29T23:59:59.999Z");
    cf_time_amz(INT64_C(4102444799000), amz);
    assert_string_equal(amz, "20991231T235959Z");
    /* Out of range values are clamped, never overflow the fixed-size outputs. */
    cf_time_iso8601(-5, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
    cf_time_iso8601(INT64_MAX, iso);
    assert_string_equal(iso, "9999-12-31T23:59:59.999Z");
    cf_time_http(INT64_MAX, http);
    assert_int_equal(strlen(http), 29);
}

static void test_time_parse(void **state)
{
    int64_t ms = 0;
    const int64_t want = INT64_C(784111777000); /* Sun, 06 Nov 1994 08:49:37 GMT */
    (void)state;
    assert_true(cf_time_parse_http(S("Sun, 06 Nov 1994 08:49:37 GMT"), &ms));
    assert_true(ms == want);
    ms = 0;
    assert_true(cf_time_parse_http(S("Sunday, 06-Nov-94 08:49:37 GMT"), &ms));
    assert_true(ms == want);
    ms = 0;
    assert_true(cf_time_parse_http(S("Sun Nov  6 08:49:37 1994"), &ms));
    assert_true(ms == want);
    assert_true(cf_time_parse_http(S("Wed Nov 16 08:49:37 1994"), &ms));
    assert_true(ms == want + INT64_C(10) * 86400000);
    assert_true(cf_time_parse_http(S("Thursday, 01-Jan-15 00:00:00 GMT"), &ms));
    assert_true(ms == INT64_C(1420070400000));

    assert_true(cf_time_parse_amz(S("20130524T000000Z"), &ms));
    assert_true(ms == INT64_C(1369353600000));
    assert_true(cf_time_parse_iso8601(S("2013-05-24T00:00:00.007Z"), &ms));
    assert_true(ms == INT64_C(1369353600007));
    assert_true(cf_time_parse_iso8601(S("2013-05-24T00:00:00Z"), &ms));
    assert_true(ms == INT64_C(1369353600000));
    assert_true(cf_time_parse_iso8601(S("2013-05-24T00:00:00.5Z"), &ms));
    assert_true(ms == INT64_C(1369353600500));
    assert_true(cf_time_parse_iso8601(S("2013-05-24T00:00:00.123456Z"), &ms));
    assert_true(ms == INT64_C(1369353600123));
    assert_true(cf_time_parse_amz(S("20000229T120000Z"), &ms));

    /* Malformed. */
    ms = 99;
    assert_false(cf_time_parse_amz(S(""), &ms));
    assert_false(cf_time_parse_amz(CF_STR_NULL, &ms));
    assert_false(cf_time_parse_amz(S("20130524T000000"), &ms));
    assert_false(cf_time_parse_amz(S("20130524T000000Z "), &ms));
    assert_false(cf_time_parse_amz(S("20130524t000000Z"), &ms));
    assert_false(cf_time_parse_amz(S("2013052AT000000Z"), &ms));
    assert_false(cf_time_parse_amz(S("20131324T000000Z"), &ms)); /* month 13 */
    assert_false(cf_time_parse_amz(S("20130532T000000Z"), &ms)); /* day 32 */
    assert_false(cf_time_parse_amz(S("20130229T000000Z"), &ms)); /* not a leap year */
    assert_false(cf_time_parse_amz(S("19000229T000000Z"), &ms)); /* century rule */
    assert_false(cf_time_parse_amz(S("20130524T240000Z"), &ms));
    assert_false(cf_time_parse_amz(S("20130524T006000Z"), &ms));
    assert_false(cf_time_parse_amz(S("20130524T000060Z"), &ms));
    assert_false(cf_time_parse_amz(S("20130400T000000Z"), &ms));
    assert_false(cf_time_parse_amz(cf_str_make("20130524T000000Z", 15), &ms));
    assert_false(cf_time_parse_iso8601(S("2013-05-24T00:00:00.Z"), &ms));
    assert_false(cf_time_parse_iso8601(S("2013-05-24T00:00:00.0000000000Z"), &ms));
    assert_false(cf_time_parse_iso8601(S("2013-05-24 00:00:00Z"), &ms));
    assert_false(cf_time_parse_iso8601(S("2013-05-24T00:00:00+00:00"), &ms));
    assert_false(cf_time_parse_iso8601(S("2013-5-24T00:00:00Z"), &ms));
    assert_false(cf_time_parse_http(S("Sun, 06 Nov 1994 08:49:37 UTC"), &ms));
    assert_false(cf_time_parse_http(S("Sun, 6 Nov 1994 08:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Sun, 06 nov 1994 08:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Xyz, 06 Nov 1994 08:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Sun, 06 Nov 1994 08:49:37 GMT "), &ms));
    assert_false(cf_time_parse_http(S("Sun, 31 Nov 1994 08:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Sun, 06 Nov 1994 8:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Sunday, 06-Nov-1994 08:49:37 GMT"), &ms));
    assert_false(cf_time_parse_http(S("Sun Nov 6 08:49:37 1994"), &ms));
    assert_false(cf_time_parse_http(S("Sun Nov  6 08:49:37 94"), &ms));
    assert_false(cf_time_parse_http(S(""), &ms));
    assert_false(cf_time_parse_http(CF_STR_NULL, &ms));
    assert_false(cf_time_parse_http(cf_str_make("Sun, 06 Nov 1994 08:49:37 GMT", 28), &ms));
    assert_true(ms == 99);
}

static void test_time_roundtrip(void **state)
{
    char amz[17], http[30], iso[25];
    int64_t back;
    /* A spread of instants, including leap days and year ends. */
    const int64_t samples[] = {0,
                               INT64_C(951782400000),
                               INT64_C(951868799999),
                               INT64_C(1369353600123),
                               INT64_C(1709164800000),
                               INT64_C(1798761599999),
                               INT64_C(4102444799000),
                               INT64_C(253402300799999)};
    (void)state;
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        int64_t ms = samples[i], secs = ms - ms % 1000;
        cf_time_amz(ms, amz);
        cf_time_http(ms, http);
        cf_time_iso8601(ms, iso);
        assert_true(cf_time_parse_amz(S(amz), &back));
        assert_true(back == secs);
        assert_true(cf_time_parse_http(S(http), &back));
        assert_true(back == secs);
        assert_true(cf_time_parse_iso8601(S(iso), &back));
        assert_true(back == ms);
    }
    for (int64_t ms = 0; ms < INT64_C(4102444800000); ms += INT64_C(86400000) * 37 + 12345) {
        cf_time_iso8601(ms, iso);
        assert_true(cf_time_parse_iso8601(S(iso), &back));
        assert_true(back == ms);
        cf_time_http(ms, http);
        assert_true(cf_time_parse_http(S(http), &back));
        assert_true(back == ms - ms % 1000);
    }
}

/* ---------------------------------------------------------------- log */

static void test_log(void **state)
{
    int pipefd[2], saved;
    char out[512];
    ssize_t n;
    int64_t t = INT64_C(1795835400123); /* 2026-11-28T03:10:00.123Z */
    (void)state;
    assert_int_equal(cf_log_level_parse("debug"), CF_LOG_DEBUG);
    assert_int_equal(cf_log_level_parse("info"), CF_LOG_INFO);
    assert_int_equal(cf_log_level_parse("warn"), CF_LOG_WARN);
    assert_int_equal(cf_log_level_parse("error"), CF_LOG_ERROR);
    assert_int_equal(cf_log_level_parse("ERROR"), CF_LOG_ERROR);
    assert_int_equal(cf_log_level_parse("verbose"), -1);
    assert_int_equal(cf_log_level_parse(""), -1);

    assert_int_equal(pipe(pipefd), 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(pipefd[1], STDERR_FILENO) >= 0);
    cf_clock_set(fixed_clock, &t);
    cf_log_set_level(CF_LOG_WARN);
    assert_int_equal(cf_log_get_level(), CF_LOG_WARN);
    cf_info("hidden %d", 1);
    cf_warn("disk %s at %d%%", "sda", 93);
    cf_error("two\nlines");
    cf_log_set_level(CF_LOG_INFO);
    cf_clock_set(NULL, NULL);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(pipefd[1]);
    n = read(pipefd[0], out, sizeof(out) - 1);
    close(pipefd[0]);
    assert_true(n > 0);
    out[n] = '\0';
    assert_string_equal(out, "2026-11-28T03:10:00.123Z WARN disk sda at 93%\n"
                             "2026-11-28T03:10:00.123Z ERROR two lines\n");
}

/* ---------------------------------------------------------------- crypto */

static void hex_of(const uint8_t *d, size_t n, char *out)
{
    cf_hex_encode(d, n, out);
}

static void test_hashes(void **state)
{
    char hex[129];
    uint8_t d[64];
    cf_hash *h;
    size_t n;
    (void)state;
    cf_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cf_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cf_sha256("abc", 3, d);
    hex_of(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* RFC 4231 test case 2. */
    cf_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    hex_of(d, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* An empty key is a key of zero bytes (the context is reused across calls). */
    cf_hmac_sha256("", 0, "", 0, d);
    hex_of(d, 32, hex);
    assert_string_equal(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    /* RFC 4231 test case 6: key longer than the block size. */
    {
        uint8_t key[131];
        const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
        memset(key, 0xaa, sizeof(key));
        cf_hmac_sha256(key, sizeof(key), msg, strlen(msg), d);
        hex_of(d, 32, hex);
        assert_string_equal(hex,
                            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    h = cf_hash_new(CF_HASH_MD5);
    assert_non_null(h);
    cf_hash_update(h, "a", 1);
    cf_hash_update(h, "bc", 2);
    n = cf_hash_final(h, d);
    cf_hash_free(h);
    assert_int_equal(n, CF_MD5_LEN);
    hex_of(d, n, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");

    h = cf_hash_new(CF_HASH_SHA1);
    cf_hash_update(h, "ab", 2);
    cf_hash_update(h, "", 0);
    cf_hash_update(h, "c", 1);
    n = cf_hash_final(h, d);
    cf_hash_free(h);
    assert_int_equal(n, CF_SHA1_LEN);
    hex_of(d, n, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");

    h = cf_hash_new(CF_HASH_SHA256);
    for (int i = 0; i < 1000; i++)
        cf_hash_update(h, "a", 1);
    n = cf_hash_final(h, d);
    cf_hash_free(h);
    assert_int_equal(n, CF_SHA256_LEN);
    hex_of(d, n, hex);
    assert_string_equal(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
    cf_hash_free(NULL);
}

static void test_random(void **state)
{
    uint8_t a[32], b[32];
    (void)state;
    assert_int_equal(cf_random(a, sizeof(a)), CF_OK);
    assert_int_equal(cf_random(b, sizeof(b)), CF_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(cf_random(a, 0), CF_OK);
}

static void test_base64(void **state)
{
    /* RFC 4648 section 10. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[64];
    uint8_t dec[64];
    size_t n;
    (void)state;
    for (size_t i = 0; i < 7; i++) {
        size_t len = strlen(plain[i]);
        assert_int_equal(cf_b64_enclen(len), strlen(enc[i]));
        assert_int_equal(cf_b64_encode((const uint8_t *)plain[i], len, out), strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        assert_true(cf_b64_decode(S(enc[i]), dec, sizeof(dec), &n));
        assert_int_equal(n, len);
        assert_memory_equal(dec, plain[i], len);
    }
    {
        const uint8_t bin[3] = {0xfb, 0xff, 0xbf};
        cf_b64_encode(bin, 3, out);
        assert_string_equal(out, "+/+/");
    }
    /* Exactly enough room, and one byte too little. */
    assert_true(cf_b64_decode(S("Zm9vYmFy"), dec, 6, &n));
    assert_false(cf_b64_decode(S("Zm9vYmFy"), dec, 5, &n));
    assert_false(cf_b64_decode(S("Zm9vYg=="), dec, 3, &n));

    assert_false(cf_b64_decode(S("Zm9"), dec, sizeof(dec), &n)); /* no padding */
    assert_false(cf_b64_decode(S("Zg="), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zg"), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zm9v\n"), dec, sizeof(dec), &n)); /* whitespace */
    assert_false(cf_b64_decode(S("Zm 9v"), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zm9-"), dec, sizeof(dec), &n)); /* url alphabet */
    assert_false(cf_b64_decode(S("Zm9_"), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zg==Zg=="), dec, sizeof(dec), &n)); /* padding mid-way */
    assert_false(cf_b64_decode(S("Z=g="), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zg=a"), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Z==="), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("===="), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(S("Zh=="), dec, sizeof(dec), &n)); /* non-canonical bits */
    assert_false(cf_b64_decode(S("Zm9="), dec, sizeof(dec), &n));
    assert_false(cf_b64_decode(cf_str_make("Zm9v\0\0\0\0", 8), dec, sizeof(dec), &n));
}

static void test_aead(void **state)
{
    uint8_t key[32], key2[32], sealed[64 + CF_GCM_OVERHEAD], sealed2[64 + CF_GCM_OVERHEAD];
    uint8_t plain[64], out[64];
    size_t n = 0;
    const char aad[] = "bucket/key";
    (void)state;
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        key2[i] = (uint8_t)(i + 1);
    }
    for (int i = 0; i < 64; i++)
        plain[i] = (uint8_t)(i * 7);
    assert_int_equal(cf_aead_seal(key, aad, 10, plain, 64, sealed), CF_OK);
    assert_true(cf_aead_open(key, aad, 10, sealed, sizeof(sealed), out, &n));
    assert_int_equal(n, 64);
    assert_memory_equal(out, plain, 64);

    /* Fresh nonce each time: the same input seals differently. */
    assert_int_equal(cf_aead_seal(key, aad, 10, plain, 64, sealed2), CF_OK);
    assert_memory_not_equal(sealed, sealed2, sizeof(sealed));
    assert_memory_not_equal(sealed + 12, plain, 64);

    /* Tampering anywhere (nonce, ciphertext, tag), a wrong key or wrong aad fails. */
    for (size_t pos = 0; pos < sizeof(sealed); pos += 9) {
        memcpy(sealed2, sealed, sizeof(sealed));
        sealed2[pos] ^= 1;
        assert_false(cf_aead_open(key, aad, 10, sealed2, sizeof(sealed2), out, &n));
    }
    sealed2[sizeof(sealed2) - 1] ^= 0x80;
    assert_false(cf_aead_open(key2, aad, 10, sealed, sizeof(sealed), out, &n));
    assert_false(cf_aead_open(key, "bucket/kez", 10, sealed, sizeof(sealed), out, &n));
    assert_false(cf_aead_open(key, NULL, 0, sealed, sizeof(sealed), out, &n));
    assert_false(cf_aead_open(key, aad, 10, sealed, sizeof(sealed) - 1, out, &n));
    assert_false(cf_aead_open(key, aad, 10, sealed, 27, out, &n));

    /* Empty plaintext, no aad. */
    assert_int_equal(cf_aead_seal(key, NULL, 0, "", 0, sealed), CF_OK);
    assert_true(cf_aead_open(key, NULL, 0, sealed, CF_GCM_OVERHEAD, out, &n));
    assert_int_equal(n, 0);
    sealed[20] ^= 4;
    assert_false(cf_aead_open(key, NULL, 0, sealed, CF_GCM_OVERHEAD, out, &n));
}

/* ---------------------------------------------------------------- s3err, rc */

static void test_s3err(void **state)
{
    (void)state;
    assert_string_equal(cf_s3err_code(CF_S3_OK), "OK");
    assert_int_equal(cf_s3err_status(CF_S3_OK), 200);
    assert_string_equal(cf_s3err_code(CF_S3_NoSuchKey), "NoSuchKey");
    assert_int_equal(cf_s3err_status(CF_S3_NoSuchKey), 404);
    assert_string_equal(cf_s3err_message(CF_S3_NoSuchKey), "The specified key does not exist.");
    assert_string_equal(cf_s3err_code(CF_S3_AccessDenied), "AccessDenied");
    assert_int_equal(cf_s3err_status(CF_S3_InvalidRange), 416);
    assert_string_equal(cf_s3err_code(CF_S3_XAmzContentSHA256Mismatch),
                        "XAmzContentSHA256Mismatch");
    assert_int_equal(cf_s3err_status(CF_S3_NotModified), 304);
    assert_int_equal(cf_s3err_status(CF_S3_ERR_COUNT), 500);
    assert_string_equal(cf_s3err_code((cf_s3err)-1), "InternalError");
    for (int e = 1; e < CF_S3_ERR_COUNT; e++) {
        assert_true(strlen(cf_s3err_code((cf_s3err)e)) > 0);
        assert_true(strlen(cf_s3err_message((cf_s3err)e)) > 0);
        assert_true(cf_s3err_status((cf_s3err)e) >= 300);
    }
}

static void test_rc(void **state)
{
    (void)state;
    assert_string_equal(cf_rc_str(CF_OK), "ok");
    assert_string_equal(cf_rc_str(CF_ETOOBIG), "too big");
    for (int r = CF_OK; r <= CF_EIO; r++)
        assert_string_not_equal(cf_rc_str((cf_rc)r), "unknown error");
    assert_string_equal(cf_rc_str((cf_rc)99), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_basics),     cmocka_unit_test(test_str_numbers),
        cmocka_unit_test(test_str_hex),        cmocka_unit_test(test_ct_eq),
        cmocka_unit_test(test_utf8),           cmocka_unit_test(test_buf_basics),
        cmocka_unit_test(test_buf_max),        cmocka_unit_test(test_buf_xml),
        cmocka_unit_test(test_arena_alloc),    cmocka_unit_test(test_arena_max),
        cmocka_unit_test(test_arena_cleanup),  cmocka_unit_test(test_clock),
        cmocka_unit_test(test_time_format),    cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_roundtrip), cmocka_unit_test(test_log),
        cmocka_unit_test(test_hashes),         cmocka_unit_test(test_random),
        cmocka_unit_test(test_base64),         cmocka_unit_test(test_aead),
        cmocka_unit_test(test_s3err),          cmocka_unit_test(test_rc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
