/* Lifecycle configuration (s3/lifecycle.c): parsing with S3's checks and messages, the
 * normalized document (a fixed point), generated IDs, dates, and the sweeper's decisions:
 * due times rounded up to midnight UTC, prefixes, exclusive size bounds, tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/s3/lifecycle.c"

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

#define CFG(rules) "<LifecycleConfiguration>" rules "</LifecycleConfiguration>"
#define RULE(x)    "<Rule>" x "</Rule>"
#define ON         "<Status>Enabled</Status>"
#define EXP(d)     "<Expiration><Days>" #d "</Days></Expiration>"
#define PFX(p)     "<Filter><Prefix>" p "</Prefix></Filter>"

static cf_s3err parse(const char *doc, lc_rule **r, size_t *n, perr *pe)
{
    return parse_config(A, cf_str_c(doc), r, n, pe);
}

static int64_t ms_of(const char *iso)
{
    int64_t ms = 0;
    assert_true(cf_time_parse_iso8601(cf_str_c(iso), &ms));
    return ms;
}

static void test_parse_forms(void **state)
{
    lc_rule *r = NULL;
    size_t n = 0;
    perr pe;
    (void)state;
    const char *doc = CFG(
        RULE("<ID>a</ID>" PFX("logs/") ON EXP(30))
            RULE("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Disabled</Status>"
                 "<Expiration><Date>2030-01-02</Date></Expiration>")
                RULE("<Filter><And><Prefix></Prefix><Tag><Key>x</Key></Tag>"
                     "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter>" ON EXP(1))
                    RULE("<Filter/>" ON "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7"
                         "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")
                        RULE("<Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter>" ON
                             "<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays>"
                             "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></"
                             "NoncurrentVersionExpiration>"));
    assert_int_equal(parse(doc, &r, &n, &pe), CF_S3_OK);
    assert_int_equal(n, 5);
    assert_true(r[0].enabled && r[0].filter == F_PREFIX && cf_str_eq_c(r[0].prefix, "logs/"));
    assert_int_equal(r[0].exp_days, 30);
    assert_false(r[1].enabled);
    assert_true(r[1].filter == F_TAG && r[1].ntags == 1 && r[1].has_exp_date);
    assert_true(r[1].exp_date_ms == ms_of("2030-01-02T00:00:00Z"));
    assert_true(r[2].filter == F_AND && r[2].has_prefix && r[2].prefix.len == 0);
    assert_true(r[2].ntags == 1 && r[2].tags[0].value.len == 0 && r[2].has_gt && r[2].gt == 10);
    assert_true(r[3].filter == F_EMPTY && r[3].has_abort && r[3].abort_days == 7);
    assert_true(r[4].filter == F_LT && r[4].lt == 100 && r[4].nve_days == 3 && r[4].nve_newer == 2);
    /* IDs are given to rules without one: 48 characters, all different */
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(r[i].id.len, 48);
        for (size_t j = i + 1; j < n; j++)
            assert_false(cf_str_eq(r[i].id, r[j].id));
    }
}

static void test_normalized_fixed_point(void **state)
{
    lc_rule *r = NULL, *r2 = NULL;
    size_t n = 0, n2 = 0;
    perr pe;
    cf_buf b, b2;
    (void)state;
    const char *doc =
        CFG(RULE("<Status>Enabled</Status><Expiration><Date>2031-05-06T00:00:00.000Z</Date>"
                 "</Expiration><ID>d</ID><Filter><And><Tag><Key>a</Key><Value>1</Value></Tag>"
                 "<Tag><Key>b</Key><Value>&lt;2&gt;</Value></Tag></And></Filter>")
                RULE("<ID>m</ID><Filter><Prefix>x</Prefix></Filter>" ON
                     "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                     "</Expiration>"));
    assert_int_equal(parse(doc, &r, &n, &pe), CF_S3_OK);
    cf_buf_init(&b, 1 << 20);
    assert_int_equal(write_config(&b, r, n), CF_OK);
    assert_string_equal(
        b.p,
        CF_XML_DECL "<LifecycleConfiguration xmlns=\"" CF_S3_XMLNS "\"><Rule><ID>d</ID>"
                    "<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key>"
                    "<Value>&lt;2&gt;</Value></Tag></And></Filter><Status>Enabled</Status>"
                    "<Expiration><Date>2031-05-06T00:00:00.000Z</Date></Expiration></Rule>"
                    "<Rule><ID>m</ID><Filter><Prefix>x</Prefix></Filter><Status>Enabled</Status>"
                    "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                    "</Expiration></Rule></LifecycleConfiguration>");
    assert_int_equal(parse_config(A, cf_buf_str(&b), &r2, &n2, &pe), CF_S3_OK);
    cf_buf_init(&b2, 1 << 20);
    assert_int_equal(write_config(&b2, r2, n2), CF_OK);
    assert_string_equal(b.p, b2.p);
    cf_buf_free(&b);
    cf_buf_free(&b2);

    /* A legacy rule stays one. */
    assert_int_equal(parse(CFG(RULE("<ID>l</ID><Prefix>p/</Prefix>" ON EXP(2))), &r, &n, &pe),
                     CF_S3_OK);
    cf_buf_init(&b, 4096);
    write_config(&b, r, n);
    assert_non_null(strstr(b.p, "<Rule><ID>l</ID><Prefix>p/</Prefix><Status>Enabled</Status>"
                                "<Expiration><Days>2</Days></Expiration></Rule>"));
    cf_buf_free(&b);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *doc;
        cf_s3err e;
        const char *msg;
    } cases[] = {
        {CFG(""), CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") EXP(1))), CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") "<Status>On</Status>" EXP(1))), CF_S3_MalformedXML, NULL},
        {CFG(RULE(ON EXP(1))), CF_S3_MalformedXML, NULL},
        {CFG(RULE("<Prefix>a</Prefix>" PFX("a") ON EXP(1))), CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") PFX("b") ON EXP(1))), CF_S3_MalformedXML, NULL},
        {CFG(RULE("<Filter><And><Prefix>a</Prefix></And></Filter>" ON EXP(1))), CF_S3_MalformedXML,
         NULL},
        {CFG(RULE("<Filter><And><Prefix>a</Prefix><Prefix>b</Prefix></And></Filter>" ON EXP(1))),
         CF_S3_MalformedXML, NULL},
        {CFG(RULE("<Filter><Tag><Value>v</Value></Tag></Filter>" ON EXP(1))), CF_S3_MalformedXML,
         NULL},
        {CFG(RULE(PFX("a") ON EXP(0))), CF_S3_InvalidArgument,
         "'Days' for Expiration action must be a positive integer"},
        {CFG(RULE(PFX("a") ON EXP(-1))), CF_S3_InvalidArgument,
         "'Days' for Expiration action must be a positive integer"},
        {CFG(RULE(PFX("a") ON EXP(2147483648))), CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") ON EXP(1.5))), CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") ON "<Expiration><Date>2030-01-01T00:00:01Z</Date></Expiration>")),
         CF_S3_InvalidArgument, "'Date' must be at midnight GMT"},
        {CFG(RULE(PFX("a") ON "<Expiration><Date>2030-13-01</Date></Expiration>")),
         CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") ON "<Expiration><Date>2030-01-01T00:00:00+01:00</Date>"
                              "</Expiration>")),
         CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") ON "<Expiration><ExpiredObjectDeleteMarker>yes"
                              "</ExpiredObjectDeleteMarker></Expiration>")),
         CF_S3_MalformedXML, NULL},
        {CFG(RULE(PFX("a") ON)), CF_S3_InvalidRequest,
         "At least one action needs to be specified in a rule"},
        {CFG(RULE("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>" ON
                  "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                  "</Expiration>")),
         CF_S3_InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags."},
        {CFG(RULE("<Filter><ObjectSizeLessThan>9</ObjectSizeLessThan></Filter>" ON
                  "<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker>"
                  "</Expiration>")),
         CF_S3_InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Object Size."},
        {CFG(RULE("<Filter><ObjectSizeGreaterThan>1099511627776001</ObjectSizeGreaterThan>"
                  "</Filter>" ON EXP(1))),
         CF_S3_InvalidRequest,
         "'ObjectSizeGreaterThan' should be between 0 and "
         "1099511627776000."},
        {CFG(RULE("<Filter><ObjectSizeLessThan>-5</ObjectSizeLessThan></Filter>" ON EXP(1))),
         CF_S3_InvalidRequest, "'ObjectSizeLessThan' should be between 1 and 1099511627776000."},
        {CFG(RULE(PFX("a") ON "<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
                              "</NoncurrentVersionExpiration>")),
         CF_S3_InvalidArgument,
         "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
        {CFG(RULE(PFX("a") ON "<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays>"
                              "<StorageClass>GLACIER</StorageClass>"
                              "</NoncurrentVersionTransition>")),
         CF_S3_NotImplemented, NULL},
        {CFG(RULE("<Prefix>a</Prefix>" ON "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                  "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")
                 RULE("<Prefix></Prefix>" ON "<AbortIncompleteMultipartUpload>"
                      "<DaysAfterInitiation>2</DaysAfterInitiation>"
                      "</AbortIncompleteMultipartUpload>")),
         CF_S3_InvalidRequest,
         "Found overlapping prefixes 'a' and '' for same action type "
         "'AbortIncompleteMultipartUpload'"},
        {"<LifecycleConfiguration><Rule>", CF_S3_MalformedXML, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lc_rule *r = NULL;
        size_t n = 0;
        perr pe;
        cf_s3err e = parse(cases[i].doc, &r, &n, &pe);
        if (e != cases[i].e || pe.e != e)
            fail_msg("case %zu: %s", i, cf_s3err_code(e));
        if (cases[i].msg != NULL)
            assert_string_equal(pe.msg, cases[i].msg);
    }
    /* Legacy prefixes that do not overlap, or overlap for different actions, are fine. */
    lc_rule *r = NULL;
    size_t n = 0;
    perr pe;
    assert_int_equal(
        parse(CFG(RULE("<Prefix>a</Prefix>" ON EXP(1)) RULE("<Prefix>b</Prefix>" ON EXP(1))
                      RULE("<Prefix>ab</Prefix>" ON "<AbortIncompleteMultipartUpload>"
                           "<DaysAfterInitiation>1</DaysAfterInitiation>"
                           "</AbortIncompleteMultipartUpload>")),
              &r, &n, &pe),
        CF_S3_OK);
}

static void test_dates(void **state)
{
    static const char *const ok[] = {"2030-01-01", "2030-01-01T00:00:00Z",
                                     "2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00+00:00",
                                     " 2030-01-01T00:00:00.000000Z\n"};
    lc_rule *r = NULL;
    size_t n = 0;
    perr pe;
    char doc[512];
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(doc, sizeof doc, CFG(RULE(PFX("") ON "<Expiration><Date>%s</Date></Expiration>")),
                 ok[i]);
        assert_int_equal(parse(doc, &r, &n, &pe), CF_S3_OK);
        assert_true(r[0].exp_date_ms == ms_of("2030-01-01T00:00:00Z"));
    }
}

static void test_due_times(void **state)
{
    (void)state;
    /* S3's example: created 1/15/2014 10:30 UTC, 3 days -> due 1/19/2014 00:00 UTC */
    assert_true(due_at(ms_of("2014-01-15T10:30:00Z"), 3) == ms_of("2014-01-19T00:00:00Z"));
    /* created 00:05 on January 2, 1 day -> eligible at 00:00 on January 4 */
    assert_true(due_at(ms_of("2014-01-02T00:05:00Z"), 1) == ms_of("2014-01-04T00:00:00Z"));
    /* already at midnight: that midnight */
    assert_true(due_at(ms_of("2014-01-02T00:00:00Z"), 1) == ms_of("2014-01-03T00:00:00Z"));
    assert_true(due_at(ms_of("2014-01-02T23:59:59.999Z"), 1) == ms_of("2014-01-04T00:00:00Z"));
    /* before the epoch too */
    assert_true(due_at(-1, 1) == DAY_MS);
}

static void test_sweeper_decisions(void **state)
{
    lc_rule *r = NULL;
    size_t n = 0;
    perr pe;
    (void)state;
    const char *doc = CFG(
        RULE("<ID>p</ID>" PFX("logs/") ON EXP(1)) RULE(
            "<ID>s</ID><Filter><And><Prefix>s/</Prefix><ObjectSizeGreaterThan>10"
            "</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter>" ON
                EXP(1)) RULE("<ID>d</ID>" PFX("dated/") ON
                             "<Expiration><Date>2030-01-01</Date></Expiration>")
            RULE("<ID>off</ID>" PFX("") "<Status>Disabled</Status>" EXP(1)) RULE(
                "<ID>t</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag>"
                "<Tag><Key>b</Key><Value></Value></Tag></And></Filter>" ON EXP(1)));
    assert_int_equal(parse(doc, &r, &n, &pe), CF_S3_OK);
    int64_t t0 = ms_of("2029-06-01T12:00:00Z"), due = ms_of("2029-06-03T00:00:00Z");
    cf_object_info o = {.key = CF_STR("logs/a"), .size = 5, .mtime_ms = t0};
    assert_false(due_untagged(&r[0], &o, due - 1));
    assert_true(due_untagged(&r[0], &o, due));
    o.key = CF_STR("log/a");
    assert_false(due_untagged(&r[0], &o, due));
    /* size bounds are exclusive */
    o.key = CF_STR("s/x");
    for (uint64_t size = 9; size <= 21; size++) {
        o.size = size;
        assert_int_equal(due_untagged(&r[1], &o, due), size > 10 && size < 20);
    }
    /* a date: every matching object from then on, however new */
    o.key = CF_STR("dated/x");
    o.mtime_ms = ms_of("2029-12-31T23:59:59Z");
    assert_false(due_untagged(&r[2], &o, ms_of("2029-12-31T23:59:59.999Z")));
    assert_true(due_untagged(&r[2], &o, ms_of("2030-01-01T00:00:00Z")));
    /* disabled rules never act */
    o.mtime_ms = 0;
    assert_false(due_untagged(&r[3], &o, ms_of("2040-01-01T00:00:00Z")));
    /* tags: all of the rule's, values exact, extra tags fine */
    cf_header h[] = {{CF_STR("x-amz-tagging"), CF_STR("a=1&b=&c=3")}};
    cf_object_info t = {.key = CF_STR("t/x"), .headers = h, .nheaders = 1};
    assert_true(has_tags(&r[4], A, &t));
    h[0].value = CF_STR("a=1&b=x");
    assert_false(has_tags(&r[4], A, &t));
    h[0].value = CF_STR("a=1");
    assert_false(has_tags(&r[4], A, &t));
    t.nheaders = 0;
    assert_false(has_tags(&r[4], A, &t));
    /* the listing prefix shared by the expiring rules (the disabled one does not count) */
    assert_true(cf_str_eq_c(common_prefix(r, n), ""));
    lc_rule two[2] = {r[0], r[0]};
    two[1].prefix = CF_STR("logs/b/");
    assert_true(cf_str_eq_c(common_prefix(two, 2), "logs/"));
    two[0].enabled = two[1].enabled = false;
    assert_true(cf_str_eq_c(common_prefix(two, 2), ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms), cmocka_unit_test(test_normalized_fixed_point),
        cmocka_unit_test(test_refusals),    cmocka_unit_test(test_dates),
        cmocka_unit_test(test_due_times),   cmocka_unit_test(test_sweeper_decisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
