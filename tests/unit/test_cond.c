/* s3/cond: Range parsing, entity-tag lists and the precondition order for GET and copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "s3/cond.h"

#define OK    CF_RANGE_OK
#define NONE  CF_RANGE_NONE
#define UNSAT CF_RANGE_UNSATISFIABLE

typedef struct range_case {
    const char *header; /* NULL: header absent */
    uint64_t size;
    cf_range_rc want;
    uint64_t off, len; /* when OK */
} range_case;

static const range_case ranges[] = {
    /* first-last */
    {"bytes=0-99", 1000, OK, 0, 100},
    {"bytes=0-0", 1000, OK, 0, 1},
    {"bytes=5-5", 1000, OK, 5, 1},
    {"bytes=999-999", 1000, OK, 999, 1},
    {"bytes=0-999", 1000, OK, 0, 1000},
    {"bytes=900-5000", 1000, OK, 900, 100}, /* end clamped */
    {"bytes=000-009", 1000, OK, 0, 10},     /* leading zeros are digits too */
    {"bytes=5-4", 1000, NONE, 0, 0},        /* last < first: syntax error */
    {"bytes=1000-1000", 1000, UNSAT, 0, 0},
    {"bytes=1000-2000", 1000, UNSAT, 0, 0},
    /* first- */
    {"bytes=0-", 1000, OK, 0, 1000},
    {"bytes=500-", 1000, OK, 500, 500},
    {"bytes=999-", 1000, OK, 999, 1},
    {"bytes=1000-", 1000, UNSAT, 0, 0},
    /* -suffix */
    {"bytes=-1", 1000, OK, 999, 1},
    {"bytes=-100", 1000, OK, 900, 100},
    {"bytes=-1000", 1000, OK, 0, 1000},
    {"bytes=-5000", 1000, OK, 0, 1000}, /* more than there is: whole object, as a range */
    {"bytes=-0", 1000, UNSAT, 0, 0},
    {"bytes=-000", 1000, UNSAT, 0, 0},
    /* empty and one-byte objects */
    {"bytes=0-", 0, UNSAT, 0, 0},
    {"bytes=0-0", 0, UNSAT, 0, 0},
    {"bytes=0-99", 0, UNSAT, 0, 0},
    {"bytes=-1", 0, UNSAT, 0, 0},
    {"bytes=-0", 0, UNSAT, 0, 0},
    {"bytes=5-4", 0, NONE, 0, 0},
    {"bytes=x", 0, NONE, 0, 0},
    {"bytes=0-0", 1, OK, 0, 1},
    {"bytes=0-", 1, OK, 0, 1},
    {"bytes=-1", 1, OK, 0, 1},
    {"bytes=-2", 1, OK, 0, 1},
    {"bytes=1-", 1, UNSAT, 0, 0},
    /* huge numbers */
    {"bytes=18446744073709551615-", 1000, UNSAT, 0, 0},
    {"bytes=18446744073709551616-", 1000, NONE, 0, 0},
    {"bytes=99999999999999999999999999-", 1000, NONE, 0, 0},
    {"bytes=0-18446744073709551615", 1000, OK, 0, 1000},
    {"bytes=0-18446744073709551616", 1000, NONE, 0, 0},
    {"bytes=-18446744073709551615", 1000, OK, 0, 1000},
    {"bytes=-18446744073709551616", 1000, NONE, 0, 0},
    {"bytes=18446744073709551614-18446744073709551615", 1000, UNSAT, 0, 0},
    {"bytes=0-", UINT64_MAX, OK, 0, UINT64_MAX},
    {"bytes=0-18446744073709551615", UINT64_MAX, OK, 0, UINT64_MAX},
    {"bytes=-18446744073709551615", UINT64_MAX, OK, 0, UINT64_MAX},
    {"bytes=18446744073709551614-", UINT64_MAX, OK, UINT64_MAX - 1, 1},
    {"bytes=18446744073709551615-", UINT64_MAX, UNSAT, 0, 0},
    /* whitespace: OWS around the value and around list members only */
    {" bytes=0-1 ", 1000, OK, 0, 2},
    {"\tbytes=0-1\t", 1000, OK, 0, 2},
    {"bytes= 0-1", 1000, OK, 0, 2},
    {"bytes=0-1 ", 1000, OK, 0, 2},
    {"bytes=\t-10\t", 1000, OK, 990, 10},
    {"bytes=0-1, ", 1000, OK, 0, 2},
    {"bytes=, ,0-1,,", 1000, OK, 0, 2},
    {"bytes = 0-1", 1000, NONE, 0, 0},
    {"bytes =0-1", 1000, NONE, 0, 0},
    {"bytes=0 -1", 1000, NONE, 0, 0},
    {"bytes=0- 1", 1000, NONE, 0, 0},
    {"bytes=- 1", 1000, NONE, 0, 0},
    {"bytes=0-1\r\n", 1000, NONE, 0, 0},
    /* unit */
    {"BYTES=0-1", 1000, OK, 0, 2},
    {"Bytes=0-1", 1000, OK, 0, 2},
    {"items=0-1", 1000, NONE, 0, 0},
    {"byte=0-1", 1000, NONE, 0, 0},
    {"bytes 0-1", 1000, NONE, 0, 0},
    {"bytes:0-1", 1000, NONE, 0, 0},
    {"0-1", 1000, NONE, 0, 0},
    {"=0-1", 1000, NONE, 0, 0},
    /* syntax errors: ignored, whole object */
    {NULL, 1000, NONE, 0, 0},
    {"", 1000, NONE, 0, 0},
    {"bytes=", 1000, NONE, 0, 0},
    {"bytes=-", 1000, NONE, 0, 0},
    {"bytes=,", 1000, NONE, 0, 0},
    {"bytes=a-b", 1000, NONE, 0, 0},
    {"bytes=1-2-3", 1000, NONE, 0, 0},
    {"bytes=--1", 1000, NONE, 0, 0},
    {"bytes=+1-2", 1000, NONE, 0, 0},
    {"bytes=1-+2", 1000, NONE, 0, 0},
    {"bytes=-+1", 1000, NONE, 0, 0},
    {"bytes=0x10-", 1000, NONE, 0, 0},
    {"bytes=1.5-2", 1000, NONE, 0, 0},
    {"bytes=5", 1000, NONE, 0, 0},
    {"bytes==0-1", 1000, NONE, 0, 0},
    /* multiple ranges are not served */
    {"bytes=0-1,3-4", 1000, NONE, 0, 0},
    {"bytes=0-1, -1", 1000, NONE, 0, 0},
    {"bytes=0-1,x", 1000, NONE, 0, 0},
    {"bytes=2000-,0-1", 1000, NONE, 0, 0},
};

static void test_range_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        const range_case *c = &ranges[i];
        uint64_t off = 12345, len = 67890;
        cf_str h = c->header ? cf_str_c(c->header) : CF_STR_NULL;
        cf_range_rc rc;
        char *copy = NULL;
        /* A copy without a trailing NUL, so ASan catches any over-read. */
        if (h.p && h.len) {
            copy = malloc(h.len);
            assert_non_null(copy);
            memcpy(copy, h.p, h.len);
            h.p = copy;
        }
        rc = cf_range_parse(h, c->size, &off, &len);
        if (rc != c->want)
            print_error("case %zu \"%s\" size %llu: got %d want %d\n", i,
                        c->header ? c->header : "(null)", (unsigned long long)c->size, rc, c->want);
        assert_int_equal(rc, c->want);
        if (c->want == OK) {
            assert_int_equal(off, c->off);
            assert_int_equal(len, c->len);
        }
        free(copy);
    }
}

static void test_range_embedded_nul(void **state)
{
    uint64_t off, len;
    (void)state;
    assert_int_equal(cf_range_parse(cf_str_make("bytes=0-1\0", 10), 100, &off, &len), NONE);
    assert_int_equal(cf_range_parse(cf_str_make("bytes=0\0-1", 10), 100, &off, &len), NONE);
    assert_int_equal(cf_range_parse(cf_str_make("bytes=0-1", 8), 100, &off, &len), OK);
    assert_int_equal(off, 0);
    assert_int_equal(len, 100); /* cut short to "bytes=0-" */
}

/* ---- entity-tag lists ---- */

typedef struct etag_case {
    const char *list;
    const char *etag;
    bool want;
} etag_case;

static const etag_case etags[] = {
    {"*", "abc", true},
    {" * ", "abc", true},
    {"\"abc\"", "abc", true},
    {"abc", "abc", true}, /* unquoted, as S3 accepts */
    {"W/\"abc\"", "abc", true},
    {"\"x\", \"abc\"", "abc", true},
    {"\"x\",\"abc\",\"y\"", "abc", true},
    {" , ,\t\"abc\" ,", "abc", true},
    {"\"abc-2\"", "abc-2", true},
    {"\"a,bc\"", "a,bc", true}, /* a comma inside quotes belongs to the tag */
    {"\"a,bc\"", "a", false},
    {"\"x\", *", "abc", true},
    {"\"abc\"", "\"abc\"", true}, /* quoted etag from the caller tolerated */
    {"\"ABC\"", "abc", false},    /* case-sensitive */
    {"\"x\",\"y\"", "abc", false},
    {"\"ab\"", "abc", false},
    {"\"abcd\"", "abc", false},
    {"\"abc", "abc", false}, /* unterminated */
    {"W/", "abc", false},
    {"", "abc", false},
    {" , ", "abc", false},
    {"\"\"", "abc", false},
    {"**", "abc", false},
};

static void test_etag_list(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(etags) / sizeof(etags[0]); i++) {
        bool got = cf_etag_list_match(cf_str_c(etags[i].list), cf_str_c(etags[i].etag));
        if (got != etags[i].want)
            print_error("case %zu '%s' vs '%s'\n", i, etags[i].list, etags[i].etag);
        assert_int_equal(got, etags[i].want);
    }
    assert_false(cf_etag_list_match(CF_STR_NULL, CF_STR("abc")));
}

/* ---- preconditions ---- */

/* The object was written at 2013-05-24T00:00:00.500Z; "now" is a day later. */
#define MTIME_MS INT64_C(1369353600500)
#define NOW_MS   (MTIME_MS + INT64_C(86400000))
#define ETAG     "0123456789abcdef0123456789abcdef"

#define BEFORE     "Thu, 23 May 2013 23:59:59 GMT"
#define SAME       "Fri, 24 May 2013 00:00:00 GMT" /* same second as mtime */
#define AFTER      "Fri, 24 May 2013 00:00:01 GMT"
#define FUTURE     "Sun, 26 May 2013 00:00:00 GMT" /* after now */
#define SAME_850   "Friday, 24-May-13 00:00:00 GMT"
#define BEFORE_ASC "Thu May 23 23:59:59 2013"
#define BAD_DATE   "yesterday"

#define MATCH "\"" ETAG "\""
#define OTHER "\"ffffffffffffffffffffffffffffffff\""

#define PASS CF_COND_PASS
#define C304 CF_COND_NOT_MODIFIED
#define C412 CF_COND_PRECONDITION_FAILED

typedef struct cond_case {
    const char *im, *inm, *ims, *ius; /* NULL: header absent */
    cf_cond_rc get, copy;
} cond_case;

static const cond_case conds[] = {
    {NULL, NULL, NULL, NULL, PASS, PASS},
    /* If-Match */
    {MATCH, NULL, NULL, NULL, PASS, PASS},
    {ETAG, NULL, NULL, NULL, PASS, PASS},
    {"*", NULL, NULL, NULL, PASS, PASS},
    {OTHER ", " MATCH, NULL, NULL, NULL, PASS, PASS},
    {OTHER, NULL, NULL, NULL, C412, C412},
    {"", NULL, NULL, NULL, C412, C412},
    /* If-Unmodified-Since */
    {NULL, NULL, NULL, AFTER, PASS, PASS},
    {NULL, NULL, NULL, SAME, PASS, PASS}, /* whole seconds: the .500 does not count */
    {NULL, NULL, NULL, FUTURE, PASS, PASS},
    {NULL, NULL, NULL, BEFORE, C412, C412},
    {NULL, NULL, NULL, BEFORE_ASC, C412, C412},
    {NULL, NULL, NULL, BAD_DATE, PASS, PASS}, /* unparsable: ignored */
    {NULL, NULL, NULL, "", PASS, PASS},
    /* If-Match decides alone: S3's "If-Match true + If-Unmodified-Since false -> 200" */
    {MATCH, NULL, NULL, BEFORE, PASS, PASS},
    {OTHER, NULL, NULL, AFTER, C412, C412},
    /* If-None-Match */
    {NULL, MATCH, NULL, NULL, C304, C412},
    {NULL, "*", NULL, NULL, C304, C412},
    {NULL, "W/" MATCH, NULL, NULL, C304, C412},
    {NULL, OTHER ", " MATCH, NULL, NULL, C304, C412},
    {NULL, OTHER, NULL, NULL, PASS, PASS},
    /* If-Modified-Since */
    {NULL, NULL, BEFORE, NULL, PASS, PASS},
    {NULL, NULL, BEFORE_ASC, NULL, PASS, PASS},
    {NULL, NULL, SAME, NULL, C304, C412},
    {NULL, NULL, SAME_850, NULL, C304, C412},
    {NULL, NULL, AFTER, NULL, C304, C412},
    {NULL, NULL, FUTURE, NULL, PASS, PASS}, /* later than now: invalid, ignored */
    {NULL, NULL, BAD_DATE, NULL, PASS, PASS},
    /* If-None-Match decides alone: S3's "If-None-Match false + If-Modified-Since true -> 304"
     * (412 for copy) */
    {NULL, MATCH, BEFORE, NULL, C304, C412},
    {NULL, OTHER, SAME, NULL, PASS, PASS},
    {NULL, OTHER, AFTER, NULL, PASS, PASS},
    /* The If-Match group is evaluated first */
    {OTHER, MATCH, NULL, NULL, C412, C412},
    {OTHER, NULL, SAME, NULL, C412, C412},
    {NULL, MATCH, NULL, BEFORE, C412, C412},
    {NULL, NULL, SAME, BEFORE, C412, C412},
    {MATCH, MATCH, NULL, NULL, C304, C412},
    {MATCH, NULL, SAME, NULL, C304, C412},
    {MATCH, OTHER, NULL, NULL, PASS, PASS},
    {NULL, NULL, BEFORE, AFTER, PASS, PASS},
    {NULL, NULL, AFTER, AFTER, C304, C412},
    {MATCH, MATCH, BEFORE, BEFORE, C304, C412},
    {MATCH, OTHER, SAME, BEFORE, PASS, PASS},
    {"*", "*", NULL, NULL, C304, C412},
    /* unparsable dates never decide */
    {NULL, NULL, BAD_DATE, BAD_DATE, PASS, PASS},
    {MATCH, NULL, BAD_DATE, BAD_DATE, PASS, PASS},
};

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW_MS;
}

static cf_str opt(const char *s)
{
    return s ? cf_str_c(s) : CF_STR_NULL;
}

static void test_cond_table(void **state)
{
    (void)state;
    cf_clock_set(fixed_now, NULL);
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
        const cond_case *c = &conds[i];
        cf_cond_headers h = {opt(c->im), opt(c->inm), opt(c->ims), opt(c->ius)};
        cf_cond_rc get = cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS, false);
        cf_cond_rc copy = cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS, true);
        if (get != c->get || copy != c->copy)
            print_error("case %zu: get %d (want %d), copy %d (want %d)\n", i, get, c->get, copy,
                        c->copy);
        assert_int_equal(get, c->get);
        assert_int_equal(copy, c->copy);
    }
    cf_clock_set(NULL, NULL);
}

static void test_cond_seconds(void **state)
{
    /* An object written in the last millisecond of a second is still "not modified since"
     * that second, and one written at .000 of the next second is modified. */
    cf_cond_headers h = {CF_STR_NULL, CF_STR_NULL, CF_STR(SAME), CF_STR_NULL};
    (void)state;
    cf_clock_set(fixed_now, NULL);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS + 499, false), C304);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS + 500, false), PASS);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS - 500, false), C304);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS - 501, false), C304);
    h.if_modified_since = CF_STR_NULL;
    h.if_unmodified_since = CF_STR(SAME);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS + 499, false), PASS);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS + 500, false), C412);
    /* Dates with surrounding OWS still parse. */
    h.if_unmodified_since = CF_STR(" " BEFORE " ");
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), MTIME_MS, false), C412);
    /* Before the epoch: floor, not truncation, to whole seconds. */
    h.if_unmodified_since = CF_STR("Thu, 01 Jan 1970 00:00:00 GMT");
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), -1, false), PASS);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), 999, false), PASS);
    assert_int_equal(cf_cond_eval(&h, CF_STR(ETAG), 1000, false), C412);
    cf_clock_set(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_table),  cmocka_unit_test(test_range_embedded_nul),
        cmocka_unit_test(test_etag_list),    cmocka_unit_test(test_cond_table),
        cmocka_unit_test(test_cond_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
