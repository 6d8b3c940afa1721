/* SigV4: AWS's published test suite (generic mode), the S3 documentation examples (S3 mode),
 * the presigned-URL example, and the parsers' error cases.
 *
 * Sources of the vectors:
 * - aws-sig-v4-test-suite (AKIDEXAMPLE, 20150830T123600Z, us-east-1, "service"), as carried by
 *   awslabs/aws-c-auth tests/aws-signing-test-suite/v4/<name>/ (header-signed-request.txt,
 *   query-signed-request.txt, query-canonical-request.txt) and aws-sdk-js-v3
 *   packages/signature-v4/src/suite.fixture.ts (the 2015 post-x-www-form-urlencoded cases);
 *   get-query-plus from smithy-rs aws-sigv4/aws-signing-test-suite; double-encode-path from
 *   aws-sdk-rust aws-sigv4/aws-sig-v4-test-suite.
 * - S3 API reference, "Signature Calculations for the Authorization Header: Transferring
 *   Payload in a Single Chunk" and "Authenticating Requests: Using Query Parameters". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/crypto.h"

#define EMPTY        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_CRED   "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
#define SUITE_AUTH   "AWS4-HMAC-SHA256 " SUITE_CRED
#define SUITE_DATE   "20150830T123600Z"
#define H            "host:example.amazonaws.com\n"
#define D            "x-amz-date:20150830T123600Z\n"
#define FORM_HASH    "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
#define UNRES        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define UTF8         "\xe1\x88\xb4" /* U+1234 */

#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_CRED   "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
#define S3_HOST   "examplebucket.s3.amazonaws.com"
#define S3_DATE   "20130524T000000Z"

typedef struct hdr {
    const char *n, *v;
} hdr;

typedef struct vec {
    const char *name;
    const char *method;
    const char *path;  /* raw, as on the request line */
    const char *query; /* raw query string, "" if none */
    hdr h[8];          /* as received; X-Amz-Date among them */
    const char *payload_hash;
    const char *authz;    /* header form: the Authorization value; NULL for presigned */
    const char *creq;     /* expected canonical request */
    const char *sts_hash; /* expected last line of the string to sign, or NULL */
} vec;

static size_t nhdr(const vec *v)
{
    size_t n = 0;
    while (n < 8 && v->h[n].n)
        n++;
    return n;
}

static cf_str header_value(const vec *v, const char *name)
{
    for (size_t i = 0; i < nhdr(v); i++)
        if (cf_str_ieq_c(cf_str_c(v->h[i].n), name))
            return cf_str_c(v->h[i].v);
    return CF_STR_NULL;
}

/* Parses, canonicalises, signs, and checks each step against the vector. */
static void run_vec(const vec *v, cf_sigv4_mode mode, const char *secret)
{
    cf_arena *a = cf_arena_new(0);
    cf_kv *q = NULL, hk[8];
    size_t nq = 0;
    cf_sigv4_auth au;
    cf_buf canon, sts;
    uint8_t key[32];
    char sig[65];
    cf_s3err e;

    assert_non_null(a);
    cf_buf_init(&canon, 1 << 16);
    cf_buf_init(&sts, 1 << 16);
    assert_true(cf_query_parse(a, cf_str_c(v->query), 100, &q, &nq));
    for (size_t i = 0; i < nhdr(v); i++) {
        hk[i].name = cf_str_c(v->h[i].n);
        hk[i].value = cf_str_c(v->h[i].v);
    }
    if (v->authz)
        e = cf_sigv4_parse_header(cf_str_c(v->authz), header_value(v, "X-Amz-Date"), &au);
    else
        e = cf_sigv4_parse_query(q, nq, &au);
    if (e != CF_S3_OK)
        print_error("%s: parse failed: %s\n", v->name, cf_s3err_code(e));
    assert_int_equal(e, CF_S3_OK);

    cf_sigv4_request r = {
        .method = cf_str_c(v->method),
        .path = cf_str_c(v->path),
        .query = q,
        .nquery = nq,
        .headers = hk,
        .nheaders = nhdr(v),
        .payload_hash = cf_str_c(v->payload_hash ? v->payload_hash : EMPTY),
    };
    e = cf_sigv4_canonical_request(&r, &au, mode, &canon);
    assert_int_equal(e, CF_S3_OK);
    if (strcmp(canon.p, v->creq) != 0)
        print_error("%s: canonical request\n--- got\n%s\n--- want\n%s\n", v->name, canon.p,
                    v->creq);
    assert_string_equal(canon.p, v->creq);

    assert_int_equal(cf_sigv4_string_to_sign(au.amz_date, au.scope, cf_buf_str(&canon), &sts),
                     CF_OK);
    if (v->sts_hash) {
        char want[256];
        snprintf(want, sizeof(want), "AWS4-HMAC-SHA256\n%.*s\n%.*s\n%s", CF_STR_FMT(au.amz_date),
                 CF_STR_FMT(au.scope), v->sts_hash);
        assert_string_equal(sts.p, want);
    }
    cf_sigv4_signing_key(cf_str_c(secret), au.date, au.region, au.service, key);
    cf_sigv4_sign(key, cf_buf_str(&sts), sig);
    if (!cf_str_eq_c(au.signature, sig))
        print_error("%s: signature %s, want %.*s\n", v->name, sig, CF_STR_FMT(au.signature));
    assert_true(cf_str_eq_c(au.signature, sig));

    cf_buf_free(&canon);
    cf_buf_free(&sts);
    cf_arena_destroy(a);
}

#define HOST                                                                                       \
    {                                                                                              \
        "Host", "example.amazonaws.com"                                                            \
    }
#define XDATE                                                                                      \
    {                                                                                              \
        "X-Amz-Date", SUITE_DATE                                                                   \
    }
#define CR_TAIL(sh) "\n" sh "\n" EMPTY

/* Header-signed requests of the suite, canonicalised the generic way. */
static const vec suite[] = {
    {"get-vanilla",
     "GET",
     "/",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
     "GET\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"},
    {"get-vanilla-empty-query-key",
     "GET",
     "/",
     "Param1=value1",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
     "GET\n/\nParam1=value1\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/",
     "Param2=value2&Param1=value1",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
     "GET\n/\nParam1=value1&Param2=value2\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-vanilla-query-unreserved",
     "GET",
     "/",
     UNRES "=" UNRES,
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
     "GET\n/\n" UNRES "=" UNRES "\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-vanilla-utf8-query",
     "GET",
     "/",
     UTF8 "=bar",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
     "GET\n/\n%E1%88%B4=bar\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-vanilla-query-order-encoded",
     "GET",
     "/",
     "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
     "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-query-plus",
     "GET",
     "/",
     "c+d",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=ae684ce3aadc299e3ac7d9216fcc039c7edf40dea57cf5b3005821dd2f176654",
     "GET\n/\nc%2Bd=\n" H D CR_TAIL("host;x-amz-date"),
     "4e8aace1e2037a6225f205f9cd633a67261068dede07745be24ece98db91f8eb"},
    {"get-unreserved",
     "GET",
     "/" UNRES,
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
     "GET\n/" UNRES "\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-utf8",
     "GET",
     "/" UTF8,
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
     "GET\n/%E1%88%B4\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-space",
     "GET",
     "/example space/",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
     "GET\n/example%20space/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-header-key-duplicate",
     "GET",
     "/",
     "",
     {HOST, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
                "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
     "GET\n/\n\n" H "my-header1:value2,value2,value1\n" D CR_TAIL("host;my-header1;x-amz-date"),
     NULL},
    /* The suite's request folds "value1\n  value2\n     value3" over three lines; its
     * harness treats each line as a value of the header, which is what we do with repeats. */
    {"get-header-value-multiline",
     "GET",
     "/",
     "",
     {HOST,
      {"My-Header1", "value1"},
      {"My-Header1", "  value2"},
      {"My-Header1", "     value3"},
      XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
                "Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790",
     "GET\n/\n\n" H "my-header1:value1,value2,value3\n" D CR_TAIL("host;my-header1;x-amz-date"),
     NULL},
    {"get-header-value-order",
     "GET",
     "/",
     "",
     {HOST,
      {"My-Header1", "value4"},
      {"My-Header1", "value1"},
      {"My-Header1", "value3"},
      {"My-Header1", "value2"},
      XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
                "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
     "GET\n/\n\n" H
     "my-header1:value4,value1,value3,value2\n" D CR_TAIL("host;my-header1;x-amz-date"),
     NULL},
    {"get-header-value-trim",
     "GET",
     "/",
     "",
     {HOST, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
     "GET\n/\n\n" H
     "my-header1:value1\nmy-header2:\"a b c\"\n" D CR_TAIL("host;my-header1;my-header2;x-amz-date"),
     NULL},
    {"get-relative-normalized",
     "GET",
     "/example/..",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
     "GET\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-relative-relative-normalized",
     "GET",
     "/example1/example2/../..",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
     "GET\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-slash-dot-slash-normalized",
     "GET",
     "/./",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
     "GET\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-slash-normalized",
     "GET",
     "//",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
     "GET\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-slash-pointless-dot-normalized",
     "GET",
     "/./example",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
     "GET\n/example\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"get-slashes-normalized",
     "GET",
     "//example//",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
     "GET\n/example/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"post-vanilla",
     "POST",
     "/",
     "",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
     "POST\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    /* An unsigned header present in the request does not enter the canonical request. */
    {"post-sts-header-after",
     "POST",
     "/",
     "",
     {HOST, {"x-amz-content-sha256", EMPTY}, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
     "POST\n/\n\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"post-vanilla-query",
     "POST",
     "/",
     "Param1=value1",
     {HOST, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
     "POST\n/\nParam1=value1\n" H D CR_TAIL("host;x-amz-date"),
     NULL},
    {"post-header-key-sort",
     "POST",
     "/",
     "",
     {HOST, {"My-Header1", "value1"}, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
                "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
     "POST\n/\n\n" H "my-header1:value1\n" D CR_TAIL("host;my-header1;x-amz-date"),
     NULL},
    {"post-header-value-case",
     "POST",
     "/",
     "",
     {HOST, {"My-Header1", "VALUE1"}, XDATE},
     NULL,
     SUITE_AUTH "SignedHeaders=host;my-header1;x-amz-date, "
                "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
     "POST\n/\n\n" H "my-header1:VALUE1\n" D CR_TAIL("host;my-header1;x-amz-date"),
     NULL},
    {"post-x-www-form-urlencoded (2015)",
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded"}, HOST, XDATE},
     FORM_HASH,
     SUITE_AUTH "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n" H D
     "\ncontent-type;host;x-amz-date\n" FORM_HASH,
     NULL},
    {"post-x-www-form-urlencoded-parameters (2015)",
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"}, HOST, XDATE},
     FORM_HASH,
     SUITE_AUTH "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\n" H D
     "\ncontent-type;host;x-amz-date\n" FORM_HASH,
     NULL},
    {"post-x-www-form-urlencoded",
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded"},
      HOST,
      {"Content-Length", "13"},
      {"x-amz-content-sha256", FORM_HASH},
      XDATE},
     FORM_HASH,
     SUITE_AUTH "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
                "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
     "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n" H
     "x-amz-content-sha256:" FORM_HASH "\n" D
     "\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" FORM_HASH,
     NULL},
    {"post-x-www-form-urlencoded-parameters",
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
      HOST,
      {"Content-Length", "13"},
      {"x-amz-content-sha256", FORM_HASH},
      XDATE},
     FORM_HASH,
     SUITE_AUTH "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
                "Signature=328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
     "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded; "
     "charset=utf-8\n" H "x-amz-content-sha256:" FORM_HASH "\n" D
     "\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n" FORM_HASH,
     NULL},
    {"get-vanilla-with-session-token",
     "GET",
     "/",
     "",
     {HOST,
      XDATE,
      {"X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
     "GET\n/\n\n" H D
     "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
     "\nhost;x-amz-date;x-amz-security-token\n" EMPTY,
     NULL},
    /* A '%' already on the wire is encoded again: %3D becomes %253D. */
    {"double-encode-path",
     "POST",
     "/test/@connections/JBDvjfGEIAMCERw%3D",
     "",
     {{"X-amz-date", SUITE_DATE}, {"Host", "tj9n5r0m12.execute-api.us-east-1.amazonaws.com"}},
     NULL,
     SUITE_AUTH "SignedHeaders=host;x-amz-date, "
                "Signature=6f871eb157f326fa5f7439eb88ca200048635950ce7d6037deda56f0c95d4364",
     "POST\n/test/%40connections/JBDvjfGEIAMCERw%253D\n\n"
     "host:tj9n5r0m12.execute-api.us-east-1.amazonaws.com\n" D CR_TAIL("host;x-amz-date"),
     NULL},
};

#define QP_AUTH(sh)                                                                                \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"      \
    "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=" sh                   \
    "&X-Amz-Expires=3600"
#define QC_AUTH(sh)                                                                                \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2F"      \
    "service%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-"                 \
    "SignedHeaders=" sh

/* The suite's presigned forms (query-signed-request.txt): X-Amz-Signature excluded. */
static const vec suite_query[] = {
    {"get-query-plus (query)",
     "GET",
     "/",
     "c+d=&" QP_AUTH("host") "&X-Amz-Signature="
                             "0eab864b028f58edbf5290cbe84acc5db34e5f92786a96fe01434e515f9342b8",
     {HOST},
     NULL,
     NULL,
     "GET\n/\n" QC_AUTH("host") "&c%2Bd=\n" H "\nhost\n" EMPTY,
     "5404d821be2e7073b0f7701e77aeb92f6a243fd027a2615ea9ad625923df474c"},
    {"get-vanilla-query-order-key-case (query)",
     "GET",
     "/",
     "Param2=value2&Param1=value1&" QP_AUTH("host") "&X-Amz-Signature="
                                                    "86012e2c9ad4d77369f5d81c11f75158aae4f895a085"
                                                    "212cc6d3f923d300bed5",
     {HOST, XDATE},
     NULL,
     NULL,
     "GET\n/\nParam1=value1&Param2=value2&" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
    {"get-utf8 (query)",
     "GET",
     "/" UTF8,
     QP_AUTH("host") "&X-Amz-Signature="
                     "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44",
     {HOST, XDATE},
     NULL,
     NULL,
     "GET\n/%E1%88%B4\n" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
    {"get-header-key-duplicate (query)",
     "GET",
     "/",
     QP_AUTH("host%3Bmy-header1") "&X-Amz-Signature="
                                  "3349ee0b81b4b589da0ff28a395c3591e04de515651dd74f298fa992d150"
                                  "7a97",
     {HOST, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, XDATE},
     NULL,
     NULL,
     "GET\n/\n" QC_AUTH(
         "host%3Bmy-header1") "\n" H "my-header1:value2,value2,value1\n\nhost;my-header1\n" EMPTY,
     NULL},
    {"get-vanilla-query-unreserved (query)",
     "GET",
     "/",
     UNRES "=" UNRES "&" QP_AUTH("host") "&X-Amz-Signature="
                                         "8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f"
                                         "0acda2bf",
     {HOST, XDATE},
     NULL,
     NULL,
     "GET\n/\n" UNRES "=" UNRES "&" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
    {"get-space-normalized (query)",
     "GET",
     "/example space/",
     QP_AUTH("host") "&X-Amz-Signature="
                     "7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6",
     {HOST, XDATE},
     NULL,
     NULL,
     "GET\n/example%20space/\n" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
    {"post-vanilla (query)",
     "POST",
     "/",
     QP_AUTH("host") "&X-Amz-Signature="
                     "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b",
     {HOST, XDATE},
     NULL,
     NULL,
     "POST\n/\n" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
    /* Sorted by the encoded name ('%' before 'X'), as the signature from aws-c-auth commit
     * 9140186 requires; that suite's older query-canonical-request.txt sorted raw names. */
    {"get-vanilla-utf8-query (query)",
     "GET",
     "/",
     UTF8 "=bar&" QP_AUTH("host") "&X-Amz-Signature="
                                  "0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21f"
                                  "f600",
     {HOST, XDATE},
     NULL,
     NULL,
     "GET\n/\n%E1%88%B4=bar&" QC_AUTH("host") "\n" H "\nhost\n" EMPTY,
     NULL},
};

static void test_suite_header(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++)
        run_vec(&suite[i], CF_SIGV4_GENERIC, SUITE_SECRET);
}

static void test_suite_query(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suite_query) / sizeof(suite_query[0]); i++)
        run_vec(&suite_query[i], CF_SIGV4_GENERIC, SUITE_SECRET);
}

/* ---- S3 documentation examples, S3 mode, through cf_sigv4_verify ---- */

static int64_t s3_now(void)
{
    int64_t t;
    assert_true(cf_time_parse_amz(CF_STR(S3_DATE), &t));
    return t;
}

/* Runs verify on v with the given clock and server region; returns the result and, when
 * canon_out is set, the canonical request produced. */
static cf_s3err verify_vec(const vec *v, cf_str amz_date, int64_t now, const char *region,
                           const char *secret, char *canon_out, size_t canon_cap)
{
    cf_arena *a = cf_arena_new(0);
    cf_kv *q = NULL, hk[8];
    size_t nq = 0;
    cf_sigv4_auth au;
    cf_buf canon, sts;
    uint8_t key[32];
    cf_s3err e;

    cf_buf_init(&canon, 1 << 16);
    cf_buf_init(&sts, 1 << 16);
    assert_true(cf_query_parse(a, cf_str_c(v->query), 100, &q, &nq));
    for (size_t i = 0; i < nhdr(v); i++) {
        hk[i].name = cf_str_c(v->h[i].n);
        hk[i].value = cf_str_c(v->h[i].v);
    }
    if (v->authz)
        e = cf_sigv4_parse_header(cf_str_c(v->authz), amz_date, &au);
    else
        e = cf_sigv4_parse_query(q, nq, &au);
    assert_int_equal(e, CF_S3_OK);
    cf_sigv4_request r = {
        .method = cf_str_c(v->method),
        .path = cf_str_c(v->path),
        .query = q,
        .nquery = nq,
        .headers = hk,
        .nheaders = nhdr(v),
        .payload_hash = cf_str_c(v->payload_hash),
    };
    cf_sigv4_verify_in in = {
        .req = &r,
        .auth = &au,
        .secret = cf_str_c(secret),
        .region = cf_str_c(region),
        .now_ms = now,
    };
    memset(key, 0xAA, sizeof(key));
    e = cf_sigv4_verify(&in, key, &canon, &sts);
    {
        /* A key memo gives the same verdict and key, whether it misses or hits. */
        cf_sigv4_keymemo memo;
        uint8_t mk[32];
        cf_sigv4_keymemo_init(&memo);
        in.memo = &memo;
        for (int pass = 0; pass < 2; pass++) {
            assert_int_equal(cf_sigv4_verify(&in, mk, NULL, NULL), e);
            if (e == CF_S3_OK)
                assert_memory_equal(mk, key, 32);
        }
        cf_sigv4_keymemo_destroy(&memo);
        in.memo = NULL;
    }
    if (canon_out)
        snprintf(canon_out, canon_cap, "%s", canon.p ? canon.p : "");
    if (e == CF_S3_OK) {
        uint8_t k2[32];
        cf_sigv4_signing_key(cf_str_c(secret), au.date, au.region, au.service, k2);
        assert_memory_equal(key, k2, 32);
        if (v->sts_hash) {
            char want[256];
            snprintf(want, sizeof(want), "AWS4-HMAC-SHA256\n%s\n%.*s\n%s", S3_DATE,
                     CF_STR_FMT(au.scope), v->sts_hash);
            assert_string_equal(sts.p, want);
        }
    } else {
        static const uint8_t zero[32];
        assert_memory_equal(key, zero, 32); /* no key material left behind on failure */
    }
    cf_buf_free(&canon);
    cf_buf_free(&sts);
    cf_arena_destroy(a);
    return e;
}

#define S3H                                                                                        \
    {                                                                                              \
        "Host", S3_HOST                                                                            \
    }
#define S3XD                                                                                       \
    {                                                                                              \
        "x-amz-date", S3_DATE                                                                      \
    }

static const vec s3_get_object = {
    "GET Object",
    "GET",
    "/test.txt",
    "",
    {S3H, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", EMPTY}, S3XD},
    EMPTY,
    "AWS4-HMAC-SHA256 " S3_CRED "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    "GET\n/test.txt\n\nhost:" S3_HOST "\nrange:bytes=0-9\nx-amz-content-sha256:" EMPTY
    "\nx-amz-date:" S3_DATE "\n\nhost;range;x-amz-content-sha256;x-amz-date\n" EMPTY,
    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"};

#define PUT_HASH "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
#define PUT_VEC(path)                                                                              \
    {                                                                                              \
        "PUT Object", "PUT", path, "",                                                             \
            {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},                                            \
             S3H,                                                                                  \
             S3XD,                                                                                 \
             {"x-amz-storage-class", "REDUCED_REDUNDANCY"},                                        \
             {"x-amz-content-sha256", PUT_HASH}},                                                  \
            PUT_HASH,                                                                              \
            "AWS4-HMAC-SHA256 " S3_CRED                                                            \
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"         \
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",          \
            "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" S3_HOST          \
            "\nx-amz-content-sha256:" PUT_HASH "\nx-amz-date:" S3_DATE                             \
            "\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"                                         \
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" PUT_HASH,            \
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"                     \
    }

static const vec s3_put_object[] = {PUT_VEC("/test%24file.text"), PUT_VEC("/test$file.text")};

static const vec s3_lifecycle = {
    "GET Bucket lifecycle",
    "GET",
    "/",
    "lifecycle",
    {S3H, {"x-amz-content-sha256", EMPTY}, S3XD},
    EMPTY,
    "AWS4-HMAC-SHA256 " S3_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    "GET\n/\nlifecycle=\nhost:" S3_HOST "\nx-amz-content-sha256:" EMPTY "\nx-amz-date:" S3_DATE
    "\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY,
    "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"};

static const vec s3_list = {
    "GET Bucket (List Objects)",
    "GET",
    "/",
    "max-keys=2&prefix=J",
    {S3H, {"x-amz-content-sha256", EMPTY}, S3XD},
    EMPTY,
    "AWS4-HMAC-SHA256 " S3_CRED "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
    "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    "GET\n/\nmax-keys=2&prefix=J\nhost:" S3_HOST "\nx-amz-content-sha256:" EMPTY
    "\nx-amz-date:" S3_DATE "\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY,
    "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"};

static const vec s3_presigned = {
    "presigned GET Object",
    "GET",
    "/test.txt",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
    "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
    "X-Amz-SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    {S3H},
    CF_PAYLOAD_UNSIGNED,
    NULL,
    "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
    "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
    "X-Amz-SignedHeaders=host\nhost:" S3_HOST "\n\nhost\nUNSIGNED-PAYLOAD",
    "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"};

static void check_s3(const vec *v)
{
    char canon[4096];
    cf_s3err e =
        verify_vec(v, CF_STR(S3_DATE), s3_now(), "us-east-1", S3_SECRET, canon, sizeof(canon));
    if (e != CF_S3_OK)
        print_error("%s: %s\n%s\n", v->name, cf_s3err_code(e), canon);
    assert_int_equal(e, CF_S3_OK);
    assert_string_equal(canon, v->creq);
    /* Also through the generic entry points, S3 mode. */
    run_vec(v, CF_SIGV4_S3, S3_SECRET);
}

static void test_s3_examples(void **state)
{
    (void)state;
    check_s3(&s3_get_object);
    check_s3(&s3_put_object[0]);
    check_s3(&s3_put_object[1]);
    check_s3(&s3_lifecycle);
    check_s3(&s3_list);
}

/* Without X-Amz-Date the Date header dates the request; the string to sign still carries the
 * ISO 8601 basic form, so the documented signature holds. */
static void test_s3_http_date(void **state)
{
    (void)state;
    assert_int_equal(verify_vec(&s3_get_object, CF_STR("Fri, 24 May 2013 00:00:00 GMT"), s3_now(),
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(verify_vec(&s3_get_object, CF_STR("Friday, 24-May-13 00:00:00 GMT"), s3_now(),
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    /* A Date on another day than the credential scope. */
    assert_int_equal(verify_vec(&s3_get_object, CF_STR("Sat, 25 May 2013 00:00:00 GMT"),
                                s3_now() + 86400000, "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_AuthorizationHeaderMalformed);
}

static void test_s3_presigned(void **state)
{
    int64_t t = s3_now();
    (void)state;
    check_s3(&s3_presigned);
    /* Valid through the last millisecond of X-Amz-Expires, expired after. */
    assert_int_equal(
        verify_vec(&s3_presigned, CF_STR_NULL, t + 86400000, "us-east-1", S3_SECRET, NULL, 0),
        CF_S3_OK);
    assert_int_equal(
        verify_vec(&s3_presigned, CF_STR_NULL, t + 86400001, "us-east-1", S3_SECRET, NULL, 0),
        CF_S3_AccessDenied);
    /* Dated in the future: fine within the skew, "not yet valid" beyond. */
    assert_int_equal(verify_vec(&s3_presigned, CF_STR_NULL, t - CF_SIGV4_MAX_SKEW_MS, "us-east-1",
                                S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(verify_vec(&s3_presigned, CF_STR_NULL, t - CF_SIGV4_MAX_SKEW_MS - 1,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_AccessDenied);
    assert_int_equal(verify_vec(&s3_presigned, CF_STR_NULL, t, "auto", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(verify_vec(&s3_presigned, CF_STR_NULL, t, "eu-west-1", S3_SECRET, NULL, 0),
                     CF_S3_AuthorizationQueryParametersError);
    assert_int_equal(verify_vec(&s3_presigned, CF_STR_NULL, t, "us-east-1", SUITE_SECRET, NULL, 0),
                     CF_S3_SignatureDoesNotMatch);
}

static void test_s3_verify_failures(void **state)
{
    int64_t t = s3_now();
    vec v;
    (void)state;
    /* Clock skew: 15 minutes either way. */
    assert_int_equal(verify_vec(&s3_get_object, CF_STR(S3_DATE), t + CF_SIGV4_MAX_SKEW_MS,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(verify_vec(&s3_get_object, CF_STR(S3_DATE), t - CF_SIGV4_MAX_SKEW_MS,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(verify_vec(&s3_get_object, CF_STR(S3_DATE), t + CF_SIGV4_MAX_SKEW_MS + 1,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_RequestTimeTooSkewed);
    assert_int_equal(verify_vec(&s3_get_object, CF_STR(S3_DATE), t - CF_SIGV4_MAX_SKEW_MS - 1,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_RequestTimeTooSkewed);
    /* Region: "auto" takes any, otherwise it must match. */
    assert_int_equal(verify_vec(&s3_get_object, CF_STR(S3_DATE), t, "auto", S3_SECRET, NULL, 0),
                     CF_S3_OK);
    assert_int_equal(
        verify_vec(&s3_get_object, CF_STR(S3_DATE), t, "eu-west-1", S3_SECRET, NULL, 0),
        CF_S3_AuthorizationHeaderMalformed);
    /* Wrong secret. */
    assert_int_equal(
        verify_vec(&s3_get_object, CF_STR(S3_DATE), t, "us-east-1", SUITE_SECRET, NULL, 0),
        CF_S3_SignatureDoesNotMatch);
    /* A signed header changed in transit. */
    v = s3_get_object;
    v.h[1].v = "bytes=0-10";
    assert_int_equal(verify_vec(&v, CF_STR(S3_DATE), t, "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_SignatureDoesNotMatch);
    /* A signed header missing. */
    v = s3_get_object;
    v.h[1].n = "X-Range";
    assert_int_equal(verify_vec(&v, CF_STR(S3_DATE), t, "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_AccessDenied);
    /* Another service's scope. */
    v = s3_get_object;
    v.authz = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/iam/"
              "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    assert_int_equal(verify_vec(&v, CF_STR(S3_DATE), t, "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_AuthorizationHeaderMalformed);
    /* Scope date other than X-Amz-Date's day. */
    assert_int_equal(verify_vec(&s3_get_object, CF_STR("20130525T000000Z"), t + 86400000,
                                "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_AuthorizationHeaderMalformed);
    /* Undecodable path. */
    v = s3_get_object;
    v.path = "/test%zz.txt";
    assert_int_equal(verify_vec(&v, CF_STR(S3_DATE), t, "us-east-1", S3_SECRET, NULL, 0),
                     CF_S3_SignatureDoesNotMatch);
}

/* ---- parsers ---- */

#define GOOD_CRED "Credential=AKID/20130524/us-east-1/s3/aws4_request"
#define GOOD_SIG  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

static cf_s3err ph(const char *authz)
{
    cf_sigv4_auth au;
    return cf_sigv4_parse_header(cf_str_c(authz), CF_STR(S3_DATE), &au);
}

static void test_parse_header(void **state)
{
    cf_sigv4_auth au;
    (void)state;
    /* Spaces after commas, or none, or several. */
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG), CF_S3_OK);
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ",SignedHeaders=host," GOOD_SIG), CF_S3_OK);
    assert_int_equal(ph("AWS4-HMAC-SHA256  " GOOD_CRED ",   SignedHeaders=host,  " GOOD_SIG),
                     CF_S3_OK);
    assert_int_equal(ph("AWS4-HMAC-SHA256," GOOD_CRED ",SignedHeaders=host," GOOD_SIG), CF_S3_OK);
    assert_int_equal(ph("AWS4-HMAC-SHA256, " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG),
                     CF_S3_OK);
    assert_int_equal(ph("AWS4-HMAC-SHA256,," GOOD_CRED ",SignedHeaders=host," GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    /* Any order of the three components. */
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_SIG ", SignedHeaders=host, " GOOD_CRED), CF_S3_OK);

    assert_int_equal(cf_sigv4_parse_header(CF_STR("AWS4-HMAC-SHA256 " GOOD_CRED
                                                  ", SignedHeaders=host;x-amz-date, " GOOD_SIG),
                                           CF_STR(S3_DATE), &au),
                     CF_S3_OK);
    assert_false(au.presigned);
    assert_true(cf_str_eq_c(au.access_key, "AKID"));
    assert_true(cf_str_eq_c(au.date, "20130524"));
    assert_true(cf_str_eq_c(au.region, "us-east-1"));
    assert_true(cf_str_eq_c(au.service, "s3"));
    assert_true(cf_str_eq_c(au.scope, "20130524/us-east-1/s3/aws4_request"));
    assert_true(cf_str_eq_c(au.signed_headers, "host;x-amz-date"));
    assert_true(cf_str_eq_c(au.amz_date, S3_DATE));
    assert_int_equal(au.signature.len, 64);

    /* Algorithm. */
    assert_int_equal(ph("AWS AKID:c2lnbmF0dXJl"), CF_S3_InvalidArgument);
    assert_int_equal(ph("AWS4-ECDSA-P256-SHA256 " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG),
                     CF_S3_InvalidArgument);
    assert_int_equal(ph("AWS4-HMAC-SHA256X " GOOD_CRED), CF_S3_InvalidArgument);
    assert_int_equal(ph("AWS4-HMAC-SHA256"), CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 "), CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph(""), CF_S3_InvalidArgument);
    /* Components missing, repeated, unknown, empty. */
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host"),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", " GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 SignedHeaders=host, " GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(
        ph("AWS4-HMAC-SHA256 " GOOD_CRED ", " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG),
        CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host, Foo=bar, " GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host, " GOOD_SIG ","),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders host, " GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    assert_int_equal(ph("AWS4-HMAC-SHA256 credential=AKID/20130524/us-east-1/s3/aws4_request, "
                        "SignedHeaders=host, " GOOD_SIG),
                     CF_S3_AuthorizationHeaderMalformed);
    /* Credential: five non-empty parts, a date, aws4_request. */
    static const char *const bad_creds[] = {
        "AKID/20130524/us-east-1/s3",
        "AKID/20130524/us-east-1/s3/aws4_request/x",
        "AKID/20130524/us-east-1/s3/aws4_request/",
        "/20130524/us-east-1/s3/aws4_request",
        "AKID//us-east-1/s3/aws4_request",
        "AKID/20130524//s3/aws4_request",
        "AKID/20130524/us-east-1//aws4_request",
        "AKID/2013052/us-east-1/s3/aws4_request",
        "AKID/2013O524/us-east-1/s3/aws4_request",
        "AKID/20130524/us-east-1/s3/aws4_requests",
        "AKID/20130524/us-east-1/s3/AWS4_REQUEST",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_creds) / sizeof(bad_creds[0]); i++) {
        char h[512];
        snprintf(h, sizeof(h), "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=host, " GOOD_SIG,
                 bad_creds[i]);
        assert_int_equal(ph(h), CF_S3_AuthorizationHeaderMalformed);
    }
    /* SignedHeaders: lowercase, sorted, no duplicates or empty names, host included. */
    static const char *const bad_sh[] = {
        "Host",
        "host;X-Amz-Date",
        "x-amz-date;host",
        "host;host",
        "host;;x-amz-date",
        "host;",
        ";host",
        "",
        "range;x-amz-date",
        "host;x amz",
        "host,x-amz-date",
    };
    for (size_t i = 0; i < sizeof(bad_sh) / sizeof(bad_sh[0]); i++) {
        char h[512];
        snprintf(h, sizeof(h), "AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=%s, " GOOD_SIG,
                 bad_sh[i]);
        assert_int_equal(ph(h), CF_S3_AuthorizationHeaderMalformed);
    }
    assert_int_equal(
        ph("AWS4-HMAC-SHA256 " GOOD_CRED
           ", SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, " GOOD_SIG),
        CF_S3_OK);
    /* Signature: exactly 64 lowercase hex digits. */
    static const char *const bad_sig[] = {
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb4",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb411",
        "F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41",
        "g0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_sig) / sizeof(bad_sig[0]); i++) {
        char h[512];
        snprintf(h, sizeof(h), "AWS4-HMAC-SHA256 " GOOD_CRED ", SignedHeaders=host, Signature=%s",
                 bad_sig[i]);
        assert_int_equal(ph(h), CF_S3_AuthorizationHeaderMalformed);
    }
    /* The date: X-Amz-Date or an HTTP Date, nothing else. */
    static const char *const dates_ok[] = {
        "20130524T000000Z",
        "Fri, 24 May 2013 00:00:00 GMT",
        "Friday, 24-May-13 00:00:00 GMT",
        "Fri May 24 00:00:00 2013",
    };
    static const char *const dates_bad[] = {
        "",
        "20130524",
        "20130524T000000",
        "2013-05-24T00:00:00Z",
        "20130524T240000Z",
        "20130532T000000Z",
        "Fri, 24 May 2013 00:00:00 UTC",
        "20130524T000000Zx",
    };
    for (size_t i = 0; i < sizeof(dates_ok) / sizeof(dates_ok[0]); i++)
        assert_int_equal(cf_sigv4_parse_header(CF_STR("AWS4-HMAC-SHA256 " GOOD_CRED
                                                      ", SignedHeaders=host, " GOOD_SIG),
                                               cf_str_c(dates_ok[i]), &au),
                         CF_S3_OK);
    for (size_t i = 0; i < sizeof(dates_bad) / sizeof(dates_bad[0]); i++)
        assert_int_equal(cf_sigv4_parse_header(CF_STR("AWS4-HMAC-SHA256 " GOOD_CRED
                                                      ", SignedHeaders=host, " GOOD_SIG),
                                               cf_str_c(dates_bad[i]), &au),
                         CF_S3_AccessDenied);
}

static cf_s3err pq(cf_arena *a, const char *raw, cf_sigv4_auth *au)
{
    cf_kv *q;
    size_t n;
    assert_true(cf_query_parse(a, cf_str_c(raw), 100, &q, &n));
    return cf_sigv4_parse_query(q, n, au);
}

#define PQ_ALG  "X-Amz-Algorithm=AWS4-HMAC-SHA256"
#define PQ_CRED "X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
#define PQ_DATE "X-Amz-Date=20130524T000000Z"
#define PQ_EXP  "X-Amz-Expires=86400"
#define PQ_SH   "X-Amz-SignedHeaders=host"
#define PQ_SIG  "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static void test_parse_query(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_sigv4_auth au;
    char q[1024];
    (void)state;

    assert_int_equal(pq(a, PQ_ALG "&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&" PQ_SH "&" PQ_SIG, &au),
                     CF_S3_OK);
    assert_true(au.presigned);
    assert_int_equal(au.expires_s, 86400);
    assert_true(cf_str_eq_c(au.access_key, "AKID"));
    assert_true(cf_str_eq_c(au.scope, "20130524/us-east-1/s3/aws4_request"));
    assert_true(cf_str_eq_c(au.amz_date, S3_DATE));
    assert_int_equal(au.security_token.len, 0);
    /* Order does not matter; a security token is picked up; other parameters are ignored. */
    assert_int_equal(pq(a,
                        "response-content-type=text%2Fplain&" PQ_SIG "&" PQ_SH "&" PQ_EXP
                        "&X-Amz-Security-Token=tok%2Ben&" PQ_DATE "&" PQ_CRED "&" PQ_ALG,
                        &au),
                     CF_S3_OK);
    assert_true(cf_str_eq_c(au.security_token, "tok+en"));

    /* Each required parameter missing. */
    const char *parts[] = {PQ_ALG, PQ_CRED, PQ_DATE, PQ_EXP, PQ_SH, PQ_SIG};
    for (size_t skip = 0; skip < 6; skip++) {
        q[0] = '\0';
        for (size_t i = 0; i < 6; i++) {
            if (i == skip)
                continue;
            size_t l = strlen(q);
            snprintf(q + l, sizeof(q) - l, "%s%s", l ? "&" : "", parts[i]);
        }
        assert_int_equal(pq(a, q, &au), CF_S3_AuthorizationQueryParametersError);
    }
    /* Repeated. */
    assert_int_equal(
        pq(a, PQ_ALG "&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&" PQ_EXP "&" PQ_SH "&" PQ_SIG, &au),
        CF_S3_AuthorizationQueryParametersError);
    /* Bad values. */
    static const char *const bad[] = {
        "X-Amz-Algorithm=AWS4-HMAC-SHA1&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&X-Amz-Credential=AKID%2F20130524%2Fus-east-1%2Fs3&" PQ_DATE "&" PQ_EXP "&" PQ_SH
               "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&X-Amz-Date=Fri%2C%2024%20May%202013%2000%3A00%3A00%20GMT&" PQ_EXP
               "&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&X-Amz-Date=20130524&" PQ_EXP "&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=0&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=604801&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=-1&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=%2B5&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=1e3&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=%2086400&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=99999999999999999999999&" PQ_SH "&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&X-Amz-SignedHeaders=x-amz-date&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&X-Amz-SignedHeaders=Host&" PQ_SIG,
        PQ_ALG "&" PQ_CRED "&" PQ_DATE "&" PQ_EXP "&" PQ_SH "&X-Amz-Signature=abc",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_s3err e = pq(a, bad[i], &au);
        if (e != CF_S3_AuthorizationQueryParametersError)
            print_error("case %zu: %s\n", i, cf_s3err_code(e));
        assert_int_equal(e, CF_S3_AuthorizationQueryParametersError);
    }
    /* Bounds of X-Amz-Expires. */
    assert_int_equal(
        pq(a, PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=1&" PQ_SH "&" PQ_SIG, &au), CF_S3_OK);
    assert_int_equal(
        pq(a, PQ_ALG "&" PQ_CRED "&" PQ_DATE "&X-Amz-Expires=604800&" PQ_SH "&" PQ_SIG, &au),
        CF_S3_OK);
    assert_int_equal(au.expires_s, 604800);
    cf_arena_destroy(a);
}

static void test_uri_decode(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_str out;
    (void)state;
    assert_true(cf_uri_decode(a, CF_STR("%41%62+c%2fd%2F"), &out));
    assert_true(cf_str_eq_c(out, "Ab+c/d/"));
    assert_true(cf_uri_decode(a, CF_STR("a%00b"), &out));
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.p, "a\0b", 3);
    assert_true(cf_uri_decode(a, CF_STR(""), &out));
    assert_int_equal(out.len, 0);
    assert_true(cf_uri_decode(a, CF_STR("%E1%88%B4"), &out));
    assert_true(cf_str_eq_c(out, UTF8));
    assert_false(cf_uri_decode(a, CF_STR("%"), &out));
    assert_false(cf_uri_decode(a, CF_STR("abc%4"), &out));
    assert_false(cf_uri_decode(a, CF_STR("%zz"), &out));
    assert_false(cf_uri_decode(a, CF_STR("%4g"), &out));
    assert_false(cf_uri_decode(a, CF_STR("%%41"), &out));
    /* Not NUL-terminated input. */
    char buf[4] = {'%', '4', '1', '%'};
    assert_true(cf_uri_decode(a, cf_str_make(buf, 3), &out));
    assert_true(cf_str_eq_c(out, "A"));
    assert_false(cf_uri_decode(a, cf_str_make(buf, 4), &out));
    cf_arena_destroy(a);
}

static void test_query_parse(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_kv *q;
    size_t n;
    (void)state;
    assert_true(cf_query_parse(a, CF_STR("a=1&b&c=%20&d=x=y&=e"), 10, &q, &n));
    assert_int_equal(n, 5);
    assert_true(cf_str_eq_c(q[0].name, "a") && cf_str_eq_c(q[0].value, "1"));
    assert_true(cf_str_eq_c(q[1].name, "b") && cf_str_eq_c(q[1].value, ""));
    assert_true(cf_str_eq_c(q[2].name, "c") && cf_str_eq_c(q[2].value, " "));
    assert_true(cf_str_eq_c(q[3].name, "d") && cf_str_eq_c(q[3].value, "x=y"));
    assert_true(cf_str_eq_c(q[4].name, "") && cf_str_eq_c(q[4].value, "e"));
    assert_true(cf_query_parse(a, CF_STR(""), 10, &q, &n));
    assert_int_equal(n, 0);
    assert_true(cf_query_parse(a, CF_STR("&&&"), 0, &q, &n));
    assert_int_equal(n, 0);
    assert_true(cf_query_parse(a, CF_STR("a&&b&"), 2, &q, &n));
    assert_int_equal(n, 2);
    assert_false(cf_query_parse(a, CF_STR("a&b&c"), 2, &q, &n));
    assert_false(cf_query_parse(a, CF_STR("a=%zz"), 10, &q, &n));
    assert_false(cf_query_parse(a, CF_STR("%=1"), 10, &q, &n));
    cf_arena_destroy(a);
}

static void test_uri_encode(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 64);
    assert_int_equal(cf_sigv4_uri_encode(CF_STR("a b/c~d_e.f-g*+=" UTF8), true, &b), CF_OK);
    assert_string_equal(b.p, "a%20b/c~d_e.f-g%2A%2B%3D%E1%88%B4");
    cf_buf_reset(&b);
    assert_int_equal(cf_sigv4_uri_encode(CF_STR("a b/c"), false, &b), CF_OK);
    assert_string_equal(b.p, "a%20b%2Fc");
    /* Appends; all or nothing at the buffer's max. */
    assert_int_equal(cf_sigv4_uri_encode(CF_STR("!"), false, &b), CF_OK);
    assert_string_equal(b.p, "a%20b%2Fc%21");
    size_t before = b.len;
    assert_int_equal(cf_sigv4_uri_encode(CF_STR("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                                "                                    "),
                                         false, &b),
                     CF_ETOOBIG);
    assert_int_equal(b.len, before);
    assert_string_equal(b.p, "a%20b%2Fc%21");
    cf_buf_free(&b);
}

/* S3 mode: decoded once, encoded once, never normalised. */
static void test_canonical_uri_s3(void **state)
{
    static const struct {
        const char *raw, *want;
    } cases[] = {
        {"", "/"},
        {"/", "/"},
        {"/bucket/key", "/bucket/key"},
        {"/a%2Fb", "/a/b"},
        {"/a%2fb%7e", "/a/b~"},
        {"/a+b", "/a%2Bb"},
        {"/a%2Bb", "/a%2Bb"},
        {"/a b", "/a%20b"},
        {"/%E1%88%B4/" UTF8, "/%E1%88%B4/%E1%88%B4"},
        {"/a//b/../c/./", "/a//b/../c/./"},
        {"/test$file.text", "/test%24file.text"},
        {"/a%25b", "/a%25b"},
    };
    cf_sigv4_auth au;
    cf_buf b;
    (void)state;
    memset(&au, 0, sizeof(au));
    au.signed_headers = CF_STR("host");
    cf_kv h = {CF_STR("Host"), CF_STR("h")};
    cf_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cf_sigv4_request r = {.method = CF_STR("GET"),
                              .path = cf_str_c(cases[i].raw),
                              .headers = &h,
                              .nheaders = 1,
                              .payload_hash = CF_STR(EMPTY)};
        char want[256];
        snprintf(want, sizeof(want), "GET\n%s\n\nhost:h\n\nhost\n" EMPTY, cases[i].want);
        assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_OK);
        assert_string_equal(b.p, want);
    }
    static const char *const bad[] = {"/%", "/%2", "/%zz", "/a%g0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cf_sigv4_request r = {.method = CF_STR("GET"),
                              .path = cf_str_c(bad[i]),
                              .headers = &h,
                              .nheaders = 1,
                              .payload_hash = CF_STR(EMPTY)};
        assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b),
                         CF_S3_SignatureDoesNotMatch);
    }
    cf_buf_free(&b);
}

/* Query and header canonicalisation details, and the size bound. */
static void test_canonical_misc(void **state)
{
    cf_arena *a = cf_arena_new(0);
    cf_sigv4_auth au;
    cf_buf b;
    cf_kv *q;
    size_t nq;
    (void)state;
    memset(&au, 0, sizeof(au));
    cf_buf_init(&b, 1 << 16);

    /* Sorted by encoded name, then by encoded value; repeated names kept. */
    assert_true(cf_query_parse(a, CF_STR("b=2&a=z&a=y&A=1&a%20b=&~=1&a=%2F"), 100, &q, &nq));
    cf_kv h[] = {{CF_STR("HOST"), CF_STR("\t h  x \t")},
                 {CF_STR("X-Multi"), CF_STR(" one ")},
                 {CF_STR("x-multi"), CF_STR("two  three")}};
    au.signed_headers = CF_STR("host;x-multi");
    cf_sigv4_request r = {.method = CF_STR("GET"),
                          .path = CF_STR("/"),
                          .query = q,
                          .nquery = nq,
                          .headers = h,
                          .nheaders = 3,
                          .payload_hash = CF_STR("UNSIGNED-PAYLOAD")};
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_OK);
    assert_string_equal(b.p, "GET\n/\nA=1&a=%2F&a=y&a=z&a%20b=&b=2&~=1\n"
                             "host:h x\nx-multi:one,two three\n\nhost;x-multi\nUNSIGNED-PAYLOAD");

    /* Header mode keeps X-Amz-Signature in the query; presigned mode drops it. */
    assert_true(cf_query_parse(a, CF_STR("X-Amz-Signature=abc&x=1"), 100, &q, &nq));
    r.query = q;
    r.nquery = nq;
    au.signed_headers = CF_STR("host");
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_OK);
    assert_true(strstr(b.p, "\nX-Amz-Signature=abc&x=1\n") != NULL);
    au.presigned = true;
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_OK);
    assert_true(strstr(b.p, "\nx=1\n") != NULL);

    /* Bounded: a canonical request that would pass the 64 KiB working limit fails cleanly. */
    static char big[70000];
    memset(big, 'a', sizeof(big) - 1);
    cf_kv bq = {CF_STR("k"), cf_str_c(big)};
    r.query = &bq;
    r.nquery = 1;
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_InvalidRequest);
    r.query = NULL;
    r.nquery = 0;
    r.path = cf_str_c(big);
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_S3, &b), CF_S3_InvalidRequest);
    assert_int_equal(cf_sigv4_canonical_request(&r, &au, CF_SIGV4_GENERIC, &b),
                     CF_S3_InvalidRequest);
    cf_buf_free(&b);
    cf_arena_destroy(a);
}

static void test_signing_key(void **state)
{
    uint8_t key[32], k2[32], t[32];
    char hex[65];
    (void)state;
    /* AWS General Reference, "Examples of how to derive a signing key for Signature V4". */
    cf_sigv4_signing_key(CF_STR(SUITE_SECRET), CF_STR("20120215"), CF_STR("us-east-1"),
                         CF_STR("iam"), key);
    cf_hex_encode(key, 32, hex);
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");

    /* A secret longer than any buffer: same as plain HMAC with "AWS4" + secret as key. */
    static char secret[300], k[304];
    memset(secret, 's', sizeof(secret));
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret, sizeof(secret));
    cf_sigv4_signing_key(cf_str_make(secret, sizeof(secret)), CF_STR("20150830"),
                         CF_STR("us-east-1"), CF_STR("s3"), key);
    cf_hmac_sha256(k, sizeof(k), "20150830", 8, t);
    cf_hmac_sha256(t, 32, "us-east-1", 9, t);
    cf_hmac_sha256(t, 32, "s3", 2, t);
    cf_hmac_sha256(t, 32, "aws4_request", 12, k2);
    assert_memory_equal(key, k2, 32);
    /* And at the boundary of the stack buffer. */
    for (size_t len = 120; len <= 132; len++) {
        memcpy(k + 4, secret, len);
        cf_sigv4_signing_key(cf_str_make(secret, len), CF_STR("20150830"), CF_STR("us-east-1"),
                             CF_STR("s3"), key);
        cf_hmac_sha256(k, 4 + len, "20150830", 8, t);
        cf_hmac_sha256(t, 32, "us-east-1", 9, t);
        cf_hmac_sha256(t, 32, "s3", 2, t);
        cf_hmac_sha256(t, 32, "aws4_request", 12, k2);
        assert_memory_equal(key, k2, 32);
    }
}

static void test_string_to_sign(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 1024);
    assert_int_equal(cf_sigv4_string_to_sign(CF_STR(S3_DATE), CF_STR("s"), CF_STR(""), &b), CF_OK);
    assert_string_equal(b.p, "AWS4-HMAC-SHA256\n" S3_DATE "\ns\n" EMPTY);
    assert_int_equal(cf_sigv4_string_to_sign(CF_STR("Fri, 24 May 2013 00:00:00 GMT"), CF_STR("s"),
                                             CF_STR(""), &b),
                     CF_OK);
    assert_string_equal(b.p, "AWS4-HMAC-SHA256\n" S3_DATE "\ns\n" EMPTY);
    assert_int_equal(cf_sigv4_string_to_sign(CF_STR("yesterday"), CF_STR("s"), CF_STR(""), &b),
                     CF_EINVAL);
    cf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_header),   cmocka_unit_test(test_suite_query),
        cmocka_unit_test(test_s3_examples),    cmocka_unit_test(test_s3_http_date),
        cmocka_unit_test(test_s3_presigned),   cmocka_unit_test(test_s3_verify_failures),
        cmocka_unit_test(test_parse_header),   cmocka_unit_test(test_parse_query),
        cmocka_unit_test(test_uri_decode),     cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_uri_encode),     cmocka_unit_test(test_canonical_uri_s3),
        cmocka_unit_test(test_canonical_misc), cmocka_unit_test(test_signing_key),
        cmocka_unit_test(test_string_to_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
