/* POST policies: the signature fields, the policy document and its conditions.
 *
 * Vectors:
 * - S3 API reference, "Example: Browser-Based Upload using HTTP POST (Using AWS Signature
 *   Version 4)": the sigv4examplebucket policy, its base64 form and signature
 *   8afdbf40...699e with AKIAIOSFODNN7EXAMPLE.
 * - botocore 1.29.27 (Debian 12) generate_presigned_post, run on this machine with the clock
 *   fixed at 2024-05-01T12:00:00Z, once with signature_version "s3v4" and once with the
 *   default (which signs POST forms with Signature Version 2 there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/post_policy.h"
#include "core/clock.h"
#include "core/crypto.h"

#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_AKID   "AKIAIOSFODNN7EXAMPLE"

#define AWS_POLICY                                                                                 \
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7" \
    "ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91" \
    "c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3Qi" \
    "OiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwi" \
    "fSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRh" \
    "LXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVT" \
    "MjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNy" \
    "ZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9" \
    "LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAi" \
    "MjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
#define AWS_SIG      "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
#define AWS_REDIRECT "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"

#define BOTO_V4_POLICY                                                                             \
    "eyJleHBpcmF0aW9uIjogIjIwMjQtMDUtMDFUMTM6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJ4LWFtei1tZXRhLWNv" \
    "bG9yIjogImJsdWUifSwgeyJzdWNjZXNzX2FjdGlvbl9zdGF0dXMiOiAiMjAxIn0sIFsic3RhcnRzLXdpdGgiLCAiJENv" \
    "bnRlbnQtVHlwZSIsICJ0ZXh0LyJdLCBbImNvbnRlbnQtbGVuZ3RoLXJhbmdlIiwgMSwgMTA0ODU3Nl0sIHsiYnVja2V0" \
    "IjogImV4YW1wbGVidWNrZXQifSwgWyJzdGFydHMtd2l0aCIsICIka2V5IiwgInVwbG9hZHMvIl0sIHsieC1hbXotYWxn" \
    "b3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFN" \
    "UExFLzIwMjQwNTAxL3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMjQwNTAxVDEy" \
    "MDAwMFoifV19"
#define BOTO_V4_SIG "40994cf6c61d9e62c648d4441de11e3b4b455d6b820fd05abd873ff92637c2f3"
#define BOTO_V2_POLICY                                                                             \
    "eyJleHBpcmF0aW9uIjogIjIwMjQtMDUtMDFUMTM6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJ4LWFtei1tZXRhLWNv" \
    "bG9yIjogImJsdWUifSwgeyJzdWNjZXNzX2FjdGlvbl9zdGF0dXMiOiAiMjAxIn0sIFsic3RhcnRzLXdpdGgiLCAiJENv" \
    "bnRlbnQtVHlwZSIsICJ0ZXh0LyJdLCBbImNvbnRlbnQtbGVuZ3RoLXJhbmdlIiwgMSwgMTA0ODU3Nl0sIHsiYnVja2V0" \
    "IjogImV4YW1wbGVidWNrZXQifSwgWyJzdGFydHMtd2l0aCIsICIka2V5IiwgInVwbG9hZHMvIl1dfQ=="
#define BOTO_V2_SIG "hAlySkbP2nKCkHtECM08gokr6WI="

/* Static initializers of slices (CF_STR is a compound literal). */
// clang-format off
#define S(x)     {(x), sizeof(x) - 1}
#define KV(n, v) {S(n), S(v)}
// clang-format on

static int64_t at(const char *iso)
{
    int64_t ms = 0;
    assert_true(cf_time_parse_iso8601(cf_str_c(iso), &ms));
    return ms;
}

static int setup(void **state)
{
    *state = cf_arena_new(0);
    return *state == NULL;
}

static int teardown(void **state)
{
    cf_arena_destroy(*state);
    return 0;
}

/* The AWS example form as a browser sends it (the key's ${filename} expanded by the caller). */
static cf_kv aws_fields[] = {
    KV("key", "user/user1/${filename}"),
    KV("acl", "public-read"),
    KV("success_action_redirect", AWS_REDIRECT),
    KV("Content-Type", "image/jpeg"),
    KV("x-amz-meta-uuid", "14365123651274"),
    KV("x-amz-server-side-encryption", "AES256"),
    KV("X-Amz-Credential", EX_AKID "/20151229/us-east-1/s3/aws4_request"),
    KV("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    KV("X-Amz-Date", "20151229T000000Z"),
    KV("x-amz-meta-tag", ""),
    KV("Policy", AWS_POLICY),
    KV("X-Amz-Signature", AWS_SIG),
};
#define N_AWS (sizeof aws_fields / sizeof aws_fields[0])

static cf_post_form aws_form(const cf_kv *fields, size_t n, cf_str key)
{
    cf_post_form f = {
        .fields = fields,
        .nfields = n,
        .bucket = CF_STR("sigv4examplebucket"),
        .key = key,
        .version = 4,
    };
    return f;
}

static void test_aws_example(void **state)
{
    cf_arena *a = *state;
    cf_post_auth au;
    cf_post_policy p;
    const char *why = NULL;

    assert_int_equal(cf_post_auth_parse(aws_fields, N_AWS, &au, &why), CF_S3_OK);
    assert_int_equal(au.version, 4);
    assert_true(cf_str_eq_c(au.access_key, EX_AKID));
    assert_true(cf_str_eq_c(au.region, "us-east-1"));
    assert_true(cf_str_eq_c(au.date, "20151229"));
    assert_int_equal(au.security_token.len, 0);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("us-east-1"), a, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("auto"), a, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("eu-west-1"), a, &why),
                     CF_S3_InvalidArgument);
    assert_non_null(strstr(why, "the region 'us-east-1' is wrong; expecting 'eu-west-1'"));
    assert_int_equal(cf_post_auth_verify(&au, CF_STR(EX_SECRET)), CF_S3_OK);
    assert_int_equal(cf_post_auth_verify(&au, CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz")),
                     CF_S3_SignatureDoesNotMatch);

    assert_int_equal(cf_post_policy_parse(au.policy, a, &p, &why), CF_S3_OK);
    assert_null(why);
    assert_int_equal(p.expires_ms, at("2015-12-30T12:00:00.000Z"));
    assert_int_equal(p.nconds, 11);
    assert_int_equal(p.conds[1].op, CF_POST_STARTS_WITH);
    assert_true(cf_str_eq_c(p.conds[1].field, "key"));
    assert_true(cf_str_eq_c(p.conds[1].value, "user/user1/"));
    assert_false(p.has_range);
    assert_int_equal(cf_post_policy_check_size(&p, 0), CF_S3_OK);
    assert_int_equal(cf_post_policy_check_size(&p, UINT64_MAX), CF_S3_OK);

    cf_str key = cf_post_expand_key(a, aws_fields[0].value, CF_STR("MyPhoto.jpg"));
    assert_true(cf_str_eq_c(key, "user/user1/MyPhoto.jpg"));
    cf_post_form f = aws_form(aws_fields, N_AWS, key);
    const char *msg = NULL;
    assert_int_equal(cf_post_policy_check(&p, &f, at("2015-12-29T12:00:00Z"), a, &msg), CF_S3_OK);
    assert_null(msg);
    /* Up to the expiry instant, and not after. */
    assert_int_equal(cf_post_policy_check(&p, &f, at("2015-12-30T12:00:00Z"), a, &msg), CF_S3_OK);
    assert_int_equal(cf_post_policy_check(&p, &f, at("2015-12-30T12:00:00.001Z"), a, &msg),
                     CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Policy expired.");

    /* Another bucket, another key prefix. */
    f.bucket = CF_STR("otherbucket");
    assert_int_equal(cf_post_policy_check(&p, &f, at("2015-12-29T12:00:00Z"), a, &msg),
                     CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Policy Condition failed: "
                             "[\"eq\", \"$bucket\", \"sigv4examplebucket\"]");
    f = aws_form(aws_fields, N_AWS, CF_STR("user/user2/MyPhoto.jpg"));
    assert_int_equal(cf_post_policy_check(&p, &f, at("2015-12-29T12:00:00Z"), a, &msg),
                     CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Policy Condition failed: "
                             "[\"starts-with\", \"$key\", \"user/user1/\"]");
}

/* One field changed, added or removed from the AWS example form. */
static cf_s3err aws_variant(cf_arena *a, const char *name, const char *value, const char **msg)
{
    cf_kv fs[N_AWS + 1];
    size_t n = 0;
    bool replaced = false;
    cf_post_policy p;
    const char *why;
    for (size_t i = 0; i < N_AWS; i++) {
        if (cf_str_ieq_c(aws_fields[i].name, name)) {
            replaced = true;
            if (value == NULL)
                continue;
            fs[n].name = aws_fields[i].name;
            fs[n++].value = cf_str_c(value);
        } else {
            fs[n++] = aws_fields[i];
        }
    }
    if (!replaced && value != NULL) {
        fs[n].name = cf_str_c(name);
        fs[n++].value = cf_str_c(value);
    }
    assert_int_equal(cf_post_policy_parse(CF_STR(AWS_POLICY), a, &p, &why), CF_S3_OK);
    cf_post_form f = aws_form(fs, n, CF_STR("user/user1/MyPhoto.jpg"));
    return cf_post_policy_check(&p, &f, at("2015-12-29T12:00:00Z"), a, msg);
}

static void test_conditions(void **state)
{
    cf_arena *a = *state;
    const char *msg;
    assert_int_equal(aws_variant(a, "acl", "private", &msg), CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Policy Condition failed: "
                             "[\"eq\", \"$acl\", \"public-read\"]");
    /* A missing field reads as empty: eq fails, starts-with "" holds. */
    assert_int_equal(aws_variant(a, "acl", NULL, &msg), CF_S3_AccessDenied);
    assert_int_equal(aws_variant(a, "x-amz-meta-tag", NULL, &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "x-amz-meta-tag", "anything", &msg), CF_S3_OK);
    /* Values are case-sensitive, names are not. */
    assert_int_equal(aws_variant(a, "ACL", "Public-Read", &msg), CF_S3_AccessDenied);
    assert_int_equal(aws_variant(a, "CONTENT-TYPE", "image/png", &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "Content-Type", "text/html", &msg), CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Policy Condition failed: "
                             "[\"starts-with\", \"$Content-Type\", \"image/\"]");
    /* Content-Type lists: every type must match. */
    assert_int_equal(aws_variant(a, "Content-Type", "image/jpeg, image/png", &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "Content-Type", "image/jpeg,text/html", &msg),
                     CF_S3_AccessDenied);
    /* Every field needs a condition, but for the exempt ones. */
    assert_int_equal(aws_variant(a, "x-amz-meta-extra", "sneaky", &msg), CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Extra input fields: x-amz-meta-extra");
    assert_int_equal(aws_variant(a, "x-ignore-submit", "Upload", &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "X-Ignore-Anything", "1", &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "file", "x", &msg), CF_S3_OK);
    assert_int_equal(aws_variant(a, "submit", "Upload", &msg), CF_S3_AccessDenied);
    /* V2's signature fields are not exempt in a V4 form. */
    assert_int_equal(aws_variant(a, "AWSAccessKeyId", EX_AKID, &msg), CF_S3_AccessDenied);
    /* The key condition sees the expanded key, and a key field is covered by it. */
    assert_int_equal(aws_variant(a, "key", "elsewhere/${filename}", &msg), CF_S3_OK);
}

static void test_boto_v4(void **state)
{
    cf_arena *a = *state;
    cf_kv fields[] = {
        KV("x-amz-meta-color", "blue"),
        KV("success_action_status", "201"),
        KV("Content-Type", "text/plain"),
        KV("key", "uploads/${filename}"),
        KV("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        KV("x-amz-credential", EX_AKID "/20240501/us-east-1/s3/aws4_request"),
        KV("x-amz-date", "20240501T120000Z"),
        KV("policy", BOTO_V4_POLICY),
        KV("x-amz-signature", BOTO_V4_SIG),
    };
    size_t n = sizeof fields / sizeof fields[0];
    cf_post_auth au;
    cf_post_policy p;
    const char *why, *msg;
    assert_int_equal(cf_post_auth_parse(fields, n, &au, &why), CF_S3_OK);
    assert_int_equal(au.version, 4);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("us-east-1"), a, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_verify(&au, CF_STR(EX_SECRET)), CF_S3_OK);
    assert_int_equal(cf_post_policy_parse(au.policy, a, &p, &why), CF_S3_OK);
    assert_int_equal(p.expires_ms, at("2024-05-01T13:00:00Z"));
    assert_true(p.has_range);
    assert_int_equal(p.min_size, 1);
    assert_int_equal(p.max_size, 1048576);
    assert_int_equal(cf_post_policy_check_size(&p, 0), CF_S3_EntityTooSmall);
    assert_int_equal(cf_post_policy_check_size(&p, 1), CF_S3_OK);
    assert_int_equal(cf_post_policy_check_size(&p, 1048576), CF_S3_OK);
    assert_int_equal(cf_post_policy_check_size(&p, 1048577), CF_S3_EntityTooLarge);
    cf_post_form f = {fields, n, CF_STR("examplebucket"),
                      cf_post_expand_key(a, fields[3].value, CF_STR("hello.txt")), 4};
    assert_int_equal(cf_post_policy_check(&p, &f, at("2024-05-01T12:30:00Z"), a, &msg), CF_S3_OK);
    assert_int_equal(cf_post_policy_check(&p, &f, at("2024-05-01T13:00:01Z"), a, &msg),
                     CF_S3_AccessDenied);
    f.key = CF_STR("elsewhere/hello.txt");
    assert_int_equal(cf_post_policy_check(&p, &f, at("2024-05-01T12:30:00Z"), a, &msg),
                     CF_S3_AccessDenied);
    /* A tampered policy or signature does not verify. */
    cf_post_auth bad = au;
    bad.policy = CF_STR(BOTO_V2_POLICY);
    assert_int_equal(cf_post_auth_verify(&bad, CF_STR(EX_SECRET)), CF_S3_SignatureDoesNotMatch);
    bad = au;
    bad.signature = CF_STR("40994cf6c61d9e62c648d4441de11e3b4b455d6b820fd05abd873ff92637c2f4");
    assert_int_equal(cf_post_auth_verify(&bad, CF_STR(EX_SECRET)), CF_S3_SignatureDoesNotMatch);
    bad.signature = CF_STR("40994CF6C61D9E62C648D4441DE11E3B4B455D6B820FD05ABD873FF92637C2F3");
    assert_int_equal(cf_post_auth_verify(&bad, CF_STR(EX_SECRET)), CF_S3_SignatureDoesNotMatch);
    bad.signature = CF_STR("");
    assert_int_equal(cf_post_auth_verify(&bad, CF_STR(EX_SECRET)), CF_S3_SignatureDoesNotMatch);
}

static void test_boto_v2(void **state)
{
    cf_arena *a = *state;
    cf_kv fields[] = {
        KV("x-amz-meta-color", "blue"),   KV("success_action_status", "201"),
        KV("Content-Type", "text/plain"), KV("key", "uploads/${filename}"),
        KV("AWSAccessKeyId", EX_AKID),    KV("policy", BOTO_V2_POLICY),
        KV("signature", BOTO_V2_SIG),
    };
    size_t n = sizeof fields / sizeof fields[0];
    cf_post_auth au;
    cf_post_policy p;
    const char *why, *msg;
    assert_int_equal(cf_post_auth_parse(fields, n, &au, &why), CF_S3_OK);
    assert_int_equal(au.version, 2);
    assert_true(cf_str_eq_c(au.access_key, EX_AKID));
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("eu-west-1"), a, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_verify(&au, CF_STR(EX_SECRET)), CF_S3_OK);
    assert_int_equal(cf_post_auth_verify(&au, CF_STR("other")), CF_S3_SignatureDoesNotMatch);
    assert_int_equal(cf_post_policy_parse(au.policy, a, &p, &why), CF_S3_OK);
    cf_post_form f = {fields, n, CF_STR("examplebucket"), CF_STR("uploads/a.txt"), 2};
    assert_int_equal(cf_post_policy_check(&p, &f, at("2024-05-01T12:00:00Z"), a, &msg), CF_S3_OK);
    /* Only V2's own signature fields are exempt in a V2 form. */
    cf_kv more[8];
    memcpy(more, fields, sizeof fields);
    more[7] = (cf_kv)KV("x-amz-signature", "00");
    f.fields = more;
    f.nfields = 8;
    assert_int_equal(cf_post_policy_check(&p, &f, at("2024-05-01T12:00:00Z"), a, &msg),
                     CF_S3_AccessDenied);
}

static void test_auth_fields(void **state)
{
    cf_arena *a = *state;
    cf_post_auth au;
    const char *why;
    cf_kv fs[16];
    /* No signature at all: anonymous. */
    cf_kv anon[] = {KV("key", "k"), KV("acl", "public-read")};
    assert_int_equal(cf_post_auth_parse(anon, 2, &au, &why), CF_S3_OK);
    assert_int_equal(au.version, 0);
    assert_int_equal(cf_post_auth_parse(NULL, 0, &au, &why), CF_S3_OK);
    assert_int_equal(au.version, 0);
    /* Each required V4 field missing in turn. */
    static const char *const req[] = {"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                                      "x-amz-signature"};
    for (size_t r = 0; r < 5; r++) {
        size_t n = 0;
        for (size_t i = 0; i < N_AWS; i++)
            if (!cf_str_ieq_c(aws_fields[i].name, req[r]))
                fs[n++] = aws_fields[i];
        assert_int_equal(cf_post_auth_parse(fs, n, &au, &why), CF_S3_InvalidArgument);
        assert_non_null(strstr(why, req[r]));
    }
    /* A policy alone is a V4 form missing its signature fields. */
    cf_kv only_policy[] = {KV("key", "k"), KV("policy", AWS_POLICY)};
    assert_int_equal(cf_post_auth_parse(only_policy, 2, &au, &why), CF_S3_InvalidArgument);
    /* Repeated, mixed, malformed. */
    memcpy(fs, aws_fields, sizeof aws_fields);
    fs[N_AWS] = (cf_kv)KV("x-amz-date", "20151229T000000Z");
    assert_int_equal(cf_post_auth_parse(fs, N_AWS + 1, &au, &why), CF_S3_InvalidArgument);
    fs[N_AWS] = (cf_kv)KV("signature", "x");
    assert_int_equal(cf_post_auth_parse(fs, N_AWS + 1, &au, &why), CF_S3_InvalidArgument);
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA1"},
        {"X-Amz-Credential", EX_AKID "/20151229/us-east-1/s3"},
        {"X-Amz-Credential", EX_AKID "/20151229/us-east-1/s3/aws4_request/x"},
        {"X-Amz-Credential", EX_AKID "/2015122/us-east-1/s3/aws4_request"},
        {"X-Amz-Credential", "/20151229/us-east-1/s3/aws4_request"},
        {"X-Amz-Credential", EX_AKID "/20151229/us-east-1/s3/aws4_reques"},
        {"X-Amz-Date", "2015-12-29T00:00:00Z"},
        {"X-Amz-Date", ""},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        memcpy(fs, aws_fields, sizeof aws_fields);
        for (size_t i = 0; i < N_AWS; i++)
            if (cf_str_eq_c(fs[i].name, bad[b].name))
                fs[i].value = cf_str_c(bad[b].value);
        assert_int_equal(cf_post_auth_parse(fs, N_AWS, &au, &why), CF_S3_InvalidArgument);
        assert_non_null(why);
    }
    /* Scope: service and the day of x-amz-date. */
    memcpy(fs, aws_fields, sizeof aws_fields);
    fs[6].value = CF_STR(EX_AKID "/20151229/us-east-1/ec2/aws4_request");
    assert_int_equal(cf_post_auth_parse(fs, N_AWS, &au, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("us-east-1"), a, &why),
                     CF_S3_InvalidArgument);
    fs[6].value = CF_STR(EX_AKID "/20151228/us-east-1/s3/aws4_request");
    assert_int_equal(cf_post_auth_parse(fs, N_AWS, &au, &why), CF_S3_OK);
    assert_int_equal(cf_post_auth_check_scope(&au, CF_STR("us-east-1"), a, &why),
                     CF_S3_InvalidArgument);
    /* The session token is picked up. */
    memcpy(fs, aws_fields, sizeof aws_fields);
    fs[N_AWS] = (cf_kv)KV("X-Amz-Security-Token", "tok");
    assert_int_equal(cf_post_auth_parse(fs, N_AWS + 1, &au, &why), CF_S3_OK);
    assert_true(cf_str_eq_c(au.security_token, "tok"));
    /* V2 needs all three. */
    cf_kv v2[] = {KV("AWSAccessKeyId", EX_AKID), KV("signature", BOTO_V2_SIG)};
    assert_int_equal(cf_post_auth_parse(v2, 2, &au, &why), CF_S3_InvalidArgument);
    assert_non_null(strstr(why, "policy"));
}

/* Parses a policy given as JSON text. */
static cf_s3err parse_json(cf_arena *a, const char *json, cf_post_policy *p, const char **why)
{
    char b64[4096];
    assert_true(cf_b64_enclen(strlen(json)) < sizeof b64);
    size_t n = cf_b64_encode((const uint8_t *)json, strlen(json), b64);
    return cf_post_policy_parse(cf_str_make(b64, n), a, p, why);
}

static void test_policy_documents(void **state)
{
    cf_arena *a = *state;
    cf_post_policy p;
    const char *why;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"conditions\": []}",
        "{\"expiration\": \"tomorrow\", \"conditions\": []}",
        "{\"expiration\": 1735689600, \"conditions\": []}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\"}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": {}}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"ends-with\", \"$key\", "
        "\"x\"]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"eq\", \"key\", \"x\"]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"eq\", \"$\", \"x\"]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"eq\", \"$key\"]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"eq\", \"$key\", []]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"content-length-range\", "
        "-1, 5]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [[\"content-length-range\", 1, "
        "\"x\"]]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [{}]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [{\"acl\": null}]}",
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": [\"acl\"]}",
        ("{\"expiration\": \"2030-01-01T00:00:00Z\", \"expiration\": \"2031-01-01T00:00:00Z\", "
         "\"conditions\": []}"),
        "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": []} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(parse_json(a, bad[i], &p, &why), CF_S3_InvalidPolicyDocument);
        assert_non_null(why);
        assert_int_equal(p.nconds, 0);
    }
    assert_int_equal(cf_post_policy_parse(CF_STR("!!!!"), a, &p, &why),
                     CF_S3_InvalidPolicyDocument);
    assert_int_equal(cf_post_policy_parse(CF_STR(""), a, &p, &why), CF_S3_InvalidPolicyDocument);

    /* Several conditions in one object, numbers for strings, ranges as strings, several
     * ranges (their intersection), operators in any case. */
    assert_int_equal(parse_json(a,
                                "{\"expiration\": \"2030-01-01T00:00:00.000Z\", \"conditions\": ["
                                "{\"acl\": \"private\", \"success_action_status\": 201},"
                                "[\"content-length-range\", \"10\", 1000],"
                                "[\"content-length-range\", 5, 500],"
                                "[\"EQ\", \"$x-amz-meta-a\", \"1\"],"
                                "[\"Starts-With\", \"$key\", \"\"]]}",
                                &p, &why),
                     CF_S3_OK);
    assert_int_equal(p.nconds, 6);
    assert_int_equal(p.conds[0].op, CF_POST_EQ);
    assert_true(cf_str_eq_c(p.conds[1].field, "success_action_status"));
    assert_true(cf_str_eq_c(p.conds[1].value, "201"));
    assert_true(p.has_range);
    assert_int_equal(p.min_size, 10);
    assert_int_equal(p.max_size, 500);
    assert_int_equal(p.conds[4].op, CF_POST_EQ);
    assert_int_equal(p.conds[5].op, CF_POST_STARTS_WITH);
    assert_int_equal(cf_post_policy_check_size(&p, 9), CF_S3_EntityTooSmall);
    assert_int_equal(cf_post_policy_check_size(&p, 501), CF_S3_EntityTooLarge);

    /* Line-wrapped base64 (what is signed stays as sent). */
    char wrapped[sizeof AWS_POLICY + 64];
    size_t w = 0;
    for (size_t i = 0; i < sizeof AWS_POLICY - 1; i++) {
        if (i && i % 60 == 0) {
            wrapped[w++] = '\r';
            wrapped[w++] = '\n';
        }
        wrapped[w++] = AWS_POLICY[i];
    }
    assert_int_equal(cf_post_policy_parse(cf_str_make(wrapped, w), a, &p, &why), CF_S3_OK);
    assert_int_equal(p.nconds, 11);

    /* An empty condition list allows nothing but the exempt fields. */
    assert_int_equal(
        parse_json(a, "{\"expiration\": \"2030-01-01T00:00:00Z\", \"conditions\": []}", &p, &why),
        CF_S3_OK);
    const char *msg;
    cf_kv only[] = {KV("policy", "x"), KV("x-amz-signature", "y"), KV("x-ignore-z", "")};
    cf_post_form f = {only, 3, CF_STR("b"), CF_STR("k"), 4};
    assert_int_equal(cf_post_policy_check(&p, &f, 0, a, &msg), CF_S3_OK);
    cf_kv withkey[] = {KV("policy", "x"), KV("key", "k")};
    f.fields = withkey;
    f.nfields = 2;
    assert_int_equal(cf_post_policy_check(&p, &f, 0, a, &msg), CF_S3_AccessDenied);
    assert_string_equal(msg, "Invalid according to Policy: Extra input fields: key");
}

static void test_expand_key(void **state)
{
    cf_arena *a = *state;
    assert_true(
        cf_str_eq_c(cf_post_expand_key(a, CF_STR("a/${filename}"), CF_STR("b.txt")), "a/b.txt"));
    assert_true(
        cf_str_eq_c(cf_post_expand_key(a, CF_STR("${filename}/${filename}"), CF_STR("x")), "x/x"));
    assert_true(cf_str_eq_c(cf_post_expand_key(a, CF_STR("p/${filename}"), CF_STR("")), "p/"));
    assert_true(cf_str_eq_c(cf_post_expand_key(a, CF_STR("plain"), CF_STR("x")), "plain"));
    assert_true(
        cf_str_eq_c(cf_post_expand_key(a, CF_STR("${filename"), CF_STR("x")), "${filename"));
    assert_true(cf_str_eq_c(cf_post_expand_key(a, CF_STR("$${filename}}"), CF_STR("y")), "$y}"));
    assert_int_equal(cf_post_expand_key(a, CF_STR(""), CF_STR("x")).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aws_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boto_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boto_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
