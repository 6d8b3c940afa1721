/* Signature Version 2: AWS's documented examples (RESTAuthentication, johnsmith bucket),
 * requests signed by this machine's botocore (Debian 12, 1.29.27) with a fixed clock, the
 * parsers, the time rules, and cf_auth_verify_v2 over a fake credential store.
 *
 * The botocore vectors were produced with /usr/bin/python3 by a snippet like this, with
 * time.time and email.utils.formatdate patched to 1700000000 (Tue, 14 Nov 2023 22:13:20 GMT),
 * a "before-send" hook recording each request instead of sending it, and
 * generate_presigned_url(..., ExpiresIn=3600) for the presigned ones:
 *
 *   c = boto3.client("s3", endpoint_url="http://s3.localhost:9000", region_name="us-east-1",
 *         aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
 *         aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
 *         config=Config(signature_version="s3", s3={"addressing_style": style}))
 *   with mock.patch("botocore.auth.time.time", return_value=1700000000):
 *       url = c.generate_presigned_url("get_object", Params={...}, ExpiresIn=3600)
 *   c.meta.events.register("before-send.s3", record_and_stop)
 *   with mock.patch("botocore.auth.formatdate", return_value="Tue, 14 Nov 2023 22:13:20 GMT"):
 *       c.put_object(Bucket="johnsmith", Key="photos/x y.txt", ...)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/authn.h"
#include "auth/cred.h"
#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "core/arena.h"
#include "core/buf.h"

#define AK     "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define MAXH   16

typedef enum form { FORM_DOC, FORM_SLASH, FORM_LITERAL } form;

/* A request as a client sent it. */
typedef struct vec {
    const char *name;
    form form; /* which reading of the resource the client signed */
    const char *method;
    const char *vhost; /* bucket from Host, "" for path style */
    const char *path;  /* raw */
    const char *query; /* raw */
    const char *headers[MAXH][2];
} vec;

static cf_arena *arena;

static int setup(void **state)
{
    (void)state;
    arena = cf_arena_new(0);
    return arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cf_arena_destroy(arena);
    arena = NULL;
    return 0;
}

/* Builds the request and parses its claimed signature (header or query). */
typedef struct built {
    cf_kv headers[MAXH];
    cf_sigv2_request req;
    cf_kv *query;
    size_t nquery;
    cf_sigv2_auth auth;
} built;

static void build(const vec *v, built *b)
{
    size_t n = 0;
    cf_str authz = CF_STR_NULL;
    const char *why = NULL;
    memset(b, 0, sizeof(*b));
    for (; n < MAXH && v->headers[n][0]; n++) {
        b->headers[n].name = cf_str_c(v->headers[n][0]);
        b->headers[n].value = cf_str_c(v->headers[n][1]);
        if (cf_str_ieq_c(b->headers[n].name, "authorization"))
            authz = b->headers[n].value;
    }
    b->req = (cf_sigv2_request){
        .method = cf_str_c(v->method),
        .path = cf_str_c(v->path),
        .vhost_bucket = cf_str_c(v->vhost),
        .query = cf_str_c(v->query),
        .headers = b->headers,
        .nheaders = n,
    };
    assert_true(cf_query_parse(arena, cf_str_c(v->query), 1000, &b->query, &b->nquery));
    if (authz.p) {
        assert_true(cf_sigv2_is_header(authz));
        assert_int_equal(cf_sigv2_parse_header(authz, &b->auth, &why), CF_S3_OK);
    } else {
        assert_true(cf_sigv2_is_query(b->query, b->nquery));
        assert_int_equal(cf_sigv2_parse_query(b->query, b->nquery, &b->auth, &why), CF_S3_OK);
    }
    assert_null(why);
}

static cf_s3err verify(const built *b, const char *secret, int64_t now_ms, const char **why)
{
    cf_sigv2_verify_in in = {
        .req = &b->req,
        .auth = &b->auth,
        .secret = cf_str_c(secret),
        .now_ms = now_ms,
    };
    return cf_sigv2_verify(&in, NULL, why);
}

/* The documented string to sign, and whether it alone carries the claimed signature. */
static bool doc_sts_matches(const built *b, cf_buf *sts)
{
    char sig[CF_SIGV2_SIG_B64_LEN + 1];
    assert_int_equal(cf_sigv2_string_to_sign(&b->req, &b->auth, sts), CF_OK);
    assert_int_equal(cf_sigv2_sign(CF_STR(SECRET), cf_buf_str(sts), sig), CF_OK);
    return cf_str_eq_c(b->auth.signature, sig);
}

/* ---- AWS's examples ---- */

typedef struct doc_case {
    vec v;
    int64_t date_s;
    const char *sts;
    const char *sig;
} doc_case;

static const doc_case doc_cases[] = {
    {
        .v = {.name = "Object GET",
              .method = "GET",
              .vhost = "johnsmith",
              .path = "/photos/puppy.jpg",
              .query = "",
              .headers = {{"Host", "johnsmith.s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}}},
        .date_s = 1175024202,
        .sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
        .sig = "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
    },
    {
        .v = {.name = "Object PUT",
              .method = "PUT",
              .vhost = "johnsmith",
              .path = "/photos/puppy.jpg",
              .query = "",
              .headers = {{"Content-Type", "image/jpeg"},
                          {"Content-Length", "94328"},
                          {"Host", "johnsmith.s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"}}},
        .date_s = 1175030145,
        .sts = "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
        .sig = "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
    },
    {
        .v = {.name = "List",
              .method = "GET",
              .vhost = "johnsmith",
              .path = "/",
              .query = "prefix=photos&max-keys=50&marker=puppy",
              .headers = {{"User-Agent", "Mozilla/5.0"},
                          {"Host", "johnsmith.s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}}},
        .date_s = 1175024561,
        .sts = "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
        .sig = "htDYFYduRNen8P9ZfE/s9SuKy0U=",
    },
    {
        .v = {.name = "Fetch",
              .method = "GET",
              .vhost = "johnsmith",
              .path = "/",
              .query = "acl",
              .headers = {{"Host", "johnsmith.s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 19:44:46 +0000"}}},
        .date_s = 1175024686,
        .sts = "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
        .sig = "c2WLPFtWHVgbEmeEG93a4cG37dM=",
    },
    /* The page's Delete example signs the x-amz-date value on the Date line and leaves the
     * header out of the amz headers, against its own rules; its signature is that of the
     * request with only a Date header, which is what we check here. */
    {
        .v = {.name = "Delete",
              .method = "DELETE",
              .vhost = "",
              .path = "/johnsmith/photos/puppy.jpg",
              .query = "",
              .headers = {{"User-Agent", "dotnet"},
                          {"Host", "s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 21:20:26 +0000"}}},
        .date_s = 1175030426,
        .sts = "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
        .sig = "lx3byBScXR6KzyMaifNkardMwNk=",
    },
    /* The same request as the page shows it, signed by the stated rules: an x-amz-date
     * header empties the Date line and is an amz header. */
    {
        .v = {.name = "Delete with x-amz-date",
              .method = "DELETE",
              .vhost = "",
              .path = "/johnsmith/photos/puppy.jpg",
              .query = "",
              .headers = {{"User-Agent", "dotnet"},
                          {"Host", "s3.amazonaws.com"},
                          {"Date", "Tue, 27 Mar 2007 21:20:27 +0000"},
                          {"x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"}}},
        .date_s = 1175030426,
        .sts = "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n"
               "/johnsmith/photos/puppy.jpg",
        .sig = "R4dJ53KECjStyBO5iTBJZ4XVOaI=",
    },
    {
        .v = {.name = "Upload",
              .method = "PUT",
              .vhost = "static.johnsmith.net",
              .path = "/db-backup.dat.gz",
              .query = "",
              .headers = {{"User-Agent", "curl/7.15.5"},
                          {"Host", "static.johnsmith.net:8080"},
                          {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
                          {"x-amz-acl", "public-read"},
                          {"content-type", "application/x-download"},
                          {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
                          {"X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"},
                          {"X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"},
                          {"X-Amz-Meta-FileChecksum", "0x02661779"},
                          {"X-Amz-Meta-ChecksumAlgorithm", "crc32"},
                          {"Content-Disposition", "attachment; filename=database.dat"},
                          {"Content-Encoding", "gzip"},
                          {"Content-Length", "5913339"}}},
        .date_s = 1175029568,
        .sts = "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\n"
               "Tue, 27 Mar 2007 21:06:08 +0000\n"
               "x-amz-acl:public-read\n"
               "x-amz-meta-checksumalgorithm:crc32\n"
               "x-amz-meta-filechecksum:0x02661779\n"
               "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
               "/static.johnsmith.net/db-backup.dat.gz",
        .sig = "ilyl83RwaSoYIEdixDQcA4OnAnc=",
    },
    {
        .v = {.name = "List all my buckets",
              .method = "GET",
              .vhost = "",
              .path = "/",
              .query = "",
              .headers = {{"Host", "s3.amazonaws.com"},
                          {"Date", "Wed, 28 Mar 2007 01:29:59 +0000"}}},
        .date_s = 1175045399,
        .sts = "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
        .sig = "qGdzdERIC03wnaRNKh6OqZehG9s=",
    },
    {
        .v = {.name = "Unicode keys",
              .method = "GET",
              .vhost = "",
              .path = "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
              .query = "",
              .headers = {{"Host", "s3.amazonaws.com"},
                          {"Date", "Wed, 28 Mar 2007 01:49:49 +0000"}}},
        .date_s = 1175046589,
        .sts = "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n"
               "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
        .sig = "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
    },
};

static void test_aws_examples(void **state)
{
    cf_buf sts;
    (void)state;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    for (size_t i = 0; i < sizeof(doc_cases) / sizeof(doc_cases[0]); i++) {
        const doc_case *c = &doc_cases[i];
        vec v = c->v;
        char authz[64];
        built b;
        const char *why = "unset";
        size_t n = 0;
        while (v.headers[n][0])
            n++;
        snprintf(authz, sizeof(authz), "AWS " AK ":%s", c->sig);
        v.headers[n][0] = "Authorization";
        v.headers[n][1] = authz;
        build(&v, &b);
        if (!doc_sts_matches(&b, &sts) || strcmp(sts.p, c->sts) != 0)
            fail_msg("%s: string to sign\n%s\nwant\n%s", v.name, sts.p, c->sts);
        assert_int_equal(verify(&b, SECRET, c->date_s * 1000 + 2000, &why), CF_S3_OK);
        assert_null(why);
        assert_int_equal(
            verify(&b, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEx", c->date_s * 1000, &why),
            CF_S3_SignatureDoesNotMatch);
    }
    cf_buf_free(&sts);
}

static void test_aws_query_example(void **state)
{
    vec v = {.name = "query",
             .method = "GET",
             .vhost = "johnsmith",
             .path = "/photos/puppy.jpg",
             .query =
                 "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
                 "&Expires=1175139620",
             .headers = {{"Host", "johnsmith.s3.amazonaws.com"}}};
    built b;
    cf_buf sts;
    const char *why = NULL;
    (void)state;

    cf_buf_init(&sts, 4096);
    build(&v, &b);
    assert_true(b.auth.presigned);
    assert_true(cf_str_eq_c(b.auth.access_key, AK));
    assert_true(cf_str_eq_c(b.auth.signature, "NpgCjnDzrM+WFzoENXmpNDUsSn8="));
    assert_int_equal(b.auth.expires_s, 1175139620);
    assert_true(doc_sts_matches(&b, &sts));
    assert_string_equal(sts.p, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
    /* A browser's Date header plays no part in query authentication. */
    v.headers[1][0] = "Date";
    v.headers[1][1] = "Mon, 26 Mar 2007 19:37:58 +0000";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, 1175139620000 - 3600000, &why), CF_S3_OK);
    assert_int_equal(verify(&b, SECRET, 1175139620000, &why), CF_S3_OK);
    assert_null(why);
    assert_int_equal(verify(&b, SECRET, 1175139620001, &why), CF_S3_AccessDenied);
    assert_string_equal(why, "Request has expired");
    cf_buf_free(&sts);
}

/* ---- botocore 1.29.27 ---- */

#define BOTO_NOW_MS 1700000000000

static const vec boto_cases[] = {
    {
        .name = "presign_get_vhost",
        .form = FORM_DOC,
        .method = "GET",
        .vhost = "johnsmith",
        .path = "/photos/a%20b%2Bc~%C3%A9.jpg",
        .query = "response-content-type=text%2Fplain%3B%20charset%3Dutf-8&response-content-"
                 "disposition=attachment%3B%20filename%3D%22x%20y.txt%22&versionId=3%"
                 "2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&"
                 "Signature=MhDEXL%2FCMy4yKqdDpIMfxdIihuE%3D&Expires=1700003600",
    },
    {
        .name = "presign_list_path",
        .form = FORM_SLASH,
        .method = "GET",
        .vhost = "",
        .path = "/johnsmith",
        .query = "prefix=photos%2F&encoding-type=url&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature="
                 "Tuy6whj3mYfdgdOHie8B3My2Rb0%3D&Expires=1700003600",
    },
    {
        .name = "presign_put_meta",
        .form = FORM_DOC,
        .method = "PUT",
        .vhost = "",
        .path = "/johnsmith/up.txt",
        .query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=67T9iiREv5BZJer3lBBsszxgSss%3D&"
                 "content-type=text%2Fplain&x-amz-meta-owner=%20Ann%20&Expires=1700003600",
    },
    {
        .name = "header_put_vhost",
        .form = FORM_DOC,
        .method = "PUT",
        .vhost = "johnsmith",
        .path = "/photos/x%20y.txt",
        .query = "",
        .headers =
            {
                {"Content-Type", "text/plain"},
                {"Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="},
                {"x-amz-acl", "public-read"},
                {"x-amz-meta-Color", "blue"},
                {"x-amz-meta-A", "1"},
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Expect", "100-continue"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:eG/Z96n/0uoIJlf8AfR/4efOnFw="},
                {"Content-Length", "5"},
            },
    },
    {
        .name = "header_list_path",
        .form = FORM_SLASH,
        .method = "GET",
        .vhost = "",
        .path = "/johnsmith",
        .query = "prefix=a%2F&max-keys=5&encoding-type=url",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:BIxJsUSgJpQ0frwAdTz8acGar0E="},
            },
    },
    {
        .name = "header_mpu_create",
        .form = FORM_LITERAL,
        .method = "POST",
        .vhost = "",
        .path = "/johnsmith/big.bin",
        .query = "uploads",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:sN3TuCdXLNUPxfAXE+xp2/74kzs="},
                {"Content-Length", "0"},
            },
    },
    {
        .name = "header_upload_part",
        .form = FORM_DOC,
        .method = "PUT",
        .vhost = "johnsmith",
        .path = "/big.bin",
        .query = "partNumber=2&uploadId=VXBsb2FkIElE%2B%2F%3D",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Content-MD5", "ndTkYSaMgDT1yFZOFVxnpg=="},
                {"Expect", "100-continue"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:CrtKXv6H8RY30lP6Jr8iZMuj0lU="},
                {"Content-Length", "1"},
            },
    },
    {
        .name = "header_delete_objects",
        .form = FORM_LITERAL,
        .method = "POST",
        .vhost = "johnsmith",
        .path = "/",
        .query = "delete",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Content-MD5", "b4QRo/AyJasfinJEdrnYKw=="},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:x0bWnEDQ2xW0NDUlyWNLCXGAY7w="},
                {"Content-Length", "123"},
            },
    },
    {
        .name = "header_list_v2_vhost",
        .form = FORM_LITERAL,
        .method = "GET",
        .vhost = "johnsmith",
        .path = "/",
        .query = "list-type=2&prefix=p&encoding-type=url",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:swBlH5BhmCFwSea8mqt2PMiZc/k="},
            },
    },
    {
        .name = "header_get_tagging_path",
        .form = FORM_LITERAL,
        .method = "GET",
        .vhost = "",
        .path = "/johnsmith/k",
        .query = "tagging&versionId=v1",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:tcczgu4TY+77anoFQKQKYH2pd2s="},
            },
    },
    {
        .name = "header_location_path",
        .form = FORM_LITERAL,
        .method = "GET",
        .vhost = "",
        .path = "/johnsmith",
        .query = "location",
        .headers =
            {
                {"User-Agent", "Boto3/1.26.27 Python/3.11.2 Botocore/1.29.27"},
                {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:H6Mp4mX8iW0UdMUS9w9NMlHdXM8="},
            },
    },
    {
        .name = "presign_mpu_vhost",
        .form = FORM_LITERAL,
        .method = "POST",
        .vhost = "johnsmith",
        .path = "/a/b%20c",
        .query = "uploads&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=R8o4CJ1qYNM7B%"
                 "2FKdhvurEKLEDdA%3D&Expires=1700003600",
    },
};

static void test_botocore(void **state)
{
    cf_buf sts;
    (void)state;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    for (size_t i = 0; i < sizeof(boto_cases) / sizeof(boto_cases[0]); i++) {
        const vec *v = &boto_cases[i];
        const char *why = "unset";
        built b;
        cf_s3err e;
        build(v, &b);
        e = verify(&b, SECRET, BOTO_NOW_MS, &why);
        if (e != CF_S3_OK)
            fail_msg("%s: %s (%s)", v->name, cf_s3err_code(e), why ? why : "");
        assert_null(why);
        /* Only the documented reading carries the signature of FORM_DOC requests: the other
         * cases really exercise the botocore readings. */
        if (doc_sts_matches(&b, &sts) != (v->form == FORM_DOC))
            fail_msg("%s: documented string to sign\n%s", v->name, sts.p);
        assert_int_equal(verify(&b, "not-the-secret", BOTO_NOW_MS, &why),
                         CF_S3_SignatureDoesNotMatch);
    }
    cf_buf_free(&sts);
}

static const vec *boto_case(const char *name)
{
    for (size_t i = 0; i < sizeof(boto_cases) / sizeof(boto_cases[0]); i++)
        if (strcmp(boto_cases[i].name, name) == 0)
            return &boto_cases[i];
    fail_msg("no case %s", name);
    return NULL;
}

static void test_botocore_strings(void **state)
{
    cf_buf sts;
    built b;
    (void)state;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);

    /* Sub-resource values decoded, sorted by name; the key stays encoded. */
    build(boto_case("presign_get_vhost"), &b);
    assert_true(doc_sts_matches(&b, &sts));
    assert_string_equal(sts.p, "GET\n\n\n1700003600\n/johnsmith/photos/a%20b%2Bc~%C3%A9.jpg"
                               "?response-content-disposition=attachment; filename=\"x y.txt\""
                               "&response-content-type=text/plain; charset=utf-8"
                               "&versionId=3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");

    /* botocore moves Content-Type and x-amz-* into the query of a presigned URL. */
    build(boto_case("presign_put_meta"), &b);
    assert_true(doc_sts_matches(&b, &sts));
    assert_string_equal(sts.p, "PUT\n\ntext/plain\n1700003600\nx-amz-meta-owner:Ann\n"
                               "/johnsmith/up.txt");

    build(boto_case("header_put_vhost"), &b);
    assert_true(doc_sts_matches(&b, &sts));
    assert_string_equal(sts.p,
                        "PUT\nXUFAKrxLKna5cZ2REBfFkg==\ntext/plain\n"
                        "Tue, 14 Nov 2023 22:13:20 GMT\nx-amz-acl:public-read\n"
                        "x-amz-meta-a:1\nx-amz-meta-color:blue\n/johnsmith/photos/x%20y.txt");

    build(boto_case("header_upload_part"), &b);
    assert_true(doc_sts_matches(&b, &sts));
    assert_string_equal(sts.p, "PUT\nndTkYSaMgDT1yFZOFVxnpg==\n\nTue, 14 Nov 2023 22:13:20 GMT\n"
                               "/johnsmith/big.bin?partNumber=2&uploadId=VXBsb2FkIElE+/=");

    /* SignatureDoesNotMatch answers carry the documented string. */
    {
        cf_sigv2_verify_in in = {
            .req = &b.req, .auth = &b.auth, .secret = CF_STR("x"), .now_ms = BOTO_NOW_MS};
        cf_buf small;
        const char *why;
        cf_buf_reset(&sts);
        assert_int_equal(cf_sigv2_verify(&in, &sts, &why), CF_S3_SignatureDoesNotMatch);
        assert_non_null(strstr(sts.p, "?partNumber=2&uploadId=VXBsb2FkIElE+/="));
        /* Too small for it: left empty, the verdict unchanged. */
        cf_buf_init(&small, 16);
        assert_int_equal(cf_sigv2_verify(&in, &small, &why), CF_S3_SignatureDoesNotMatch);
        assert_int_equal(small.len, 0);
        in.secret = CF_STR(SECRET);
        assert_int_equal(cf_sigv2_verify(&in, &small, &why), CF_S3_OK);
        cf_buf_free(&small);
    }
    cf_buf_free(&sts);
}

/* What a presigned URL signs can't be changed by whoever holds it. */
static void test_presigned_tamper(void **state)
{
    vec v = *boto_case("presign_put_meta");
    built b;
    const char *why;
    (void)state;

    /* Another metadata value in a header: the header is what gets stored, so it is signed. */
    v.headers[0][0] = "x-amz-meta-owner";
    v.headers[0][1] = "Bob";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    /* The same value sent again as a header is fine (signed once). */
    v.headers[0][1] = "  Ann";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_OK);
    /* A real Content-Type header wins over the query's. */
    v.headers[1][0] = "Content-Type";
    v.headers[1][1] = "text/html";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    v.headers[1][1] = "text/plain";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_OK);
    /* An extra x-amz-* header. */
    v.headers[2][0] = "X-Amz-Acl";
    v.headers[2][1] = "public-read";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);

    /* Adding a sub-resource, even spelled with escapes, changes the resource. */
    v = *boto_case("presign_get_vhost");
    v.query = "response-content-type=text%2Fplain%3B%20charset%3Dutf-8&response-content-"
              "disposition=attachment%3B%20filename%3D%22x%20y.txt%22&versionId=3%2FL4kqtJlcpXroD"
              "TDmJ%2BrmSpXd3dIbrHY&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=MhDEXL%2FCMy4yKq"
              "dDpIMfxdIihuE%3D&Expires=1700003600&ac%6C";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    /* Another bucket, same key. */
    v = *boto_case("presign_get_vhost");
    v.vhost = "johnsmith2";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    /* A later Expires. */
    v = *boto_case("presign_list_path");
    v.query = "prefix=photos%2F&encoding-type=url&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature="
              "Tuy6whj3mYfdgdOHie8B3My2Rb0%3D&Expires=1700003601";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    /* Non-sub-resource parameters are not signed in V2 (as in S3). */
    v.query = "prefix=other&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature="
              "Tuy6whj3mYfdgdOHie8B3My2Rb0%3D&Expires=1700003600";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_OK);
}

/* The botocore readings apply only where botocore produces them. */
static void test_botocore_readings_scope(void **state)
{
    vec v;
    built b;
    const char *why;
    (void)state;

    /* "/johnsmith/" signed for "/johnsmith/k" is not a bucket request. */
    v = *boto_case("header_list_path");
    v.path = "/johnsmith/k";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    /* The trailing-slash path is the documented reading of the same signature. */
    v.path = "/johnsmith/";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_OK);

    /* The literal must lead the query. */
    v = *boto_case("header_mpu_create");
    v.query = "x=1&uploads";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    v.query = "uploads=";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
    v.query = "uploads&x=1";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_OK);
    /* Another key. */
    v.path = "/johnsmith/big.bin2";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);

    /* list-type=2 signed as a literal; "list-type=1" is another request. */
    v = *boto_case("header_list_v2_vhost");
    v.query = "list-type=1&prefix=p&encoding-type=url";
    build(&v, &b);
    assert_int_equal(verify(&b, SECRET, BOTO_NOW_MS, &why), CF_S3_SignatureDoesNotMatch);
}

/* ---- resource and headers ---- */

static void test_subresources_sorted(void **state)
{
    /* Every sub-resource, in reverse order, every other one with a value, plus a repeat and
     * look-alikes; expected output from botocore's HmacV1Auth.canonical_resource. */
    static const char query[] =
        "website&versions=v%201&versioning&versionId=v%203&uploads&uploadId=v%205&torrent&"
        "tagging=v%207&storageClass&select-type=v%209&select&restore=v%2011&response-expires&"
        "response-content-type=v%2013&response-content-language&response-content-encoding=v%2015&"
        "response-content-disposition&response-cache-control=v%2017&requestPayment&"
        "replication=v%2019&policy&partNumber=v%2021&object-lock&notification=v%2023&metrics&"
        "logging=v%2025&location&lifecycle=v%2027&inventory&delete=v%2029&defaultObjectAcl&"
        "cors=v%2031&analytics&acl=v%2033&accelerate&prefix=x&versionId=2nd&Acl=no";
    static const char want[] =
        "GET\n\n\nTue, 14 Nov 2023 22:13:20 GMT\n/b/k?accelerate&acl=v 33&analytics&cors=v 31&"
        "defaultObjectAcl&delete=v 29&inventory&lifecycle=v 27&location&logging=v 25&metrics&"
        "notification=v 23&object-lock&partNumber=v 21&policy&replication=v 19&requestPayment&"
        "response-cache-control=v 17&response-content-disposition&"
        "response-content-encoding=v 15&response-content-language&response-content-type=v 13&"
        "response-expires&restore=v 11&select&select-type=v 9&storageClass&tagging=v 7&torrent&"
        "uploadId=v 5&uploads&versionId=v 3&versionId=2nd&versioning&versions=v 1&website";
    vec v = {.name = "subs",
             .method = "GET",
             .vhost = "",
             .path = "/b/k",
             .query = query,
             .headers = {{"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                         {"Authorization", "AWS " AK ":AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}};
    built b;
    cf_buf sts;
    (void)state;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    build(&v, &b);
    assert_int_equal(cf_sigv2_string_to_sign(&b.req, &b.auth, &sts), CF_OK);
    assert_string_equal(sts.p, want);
    cf_buf_free(&sts);
}

static void test_amz_headers(void **state)
{
    vec v = {.name = "amz",
             .method = "PUT",
             .vhost = "",
             .path = "/b/k",
             .query = "",
             .headers = {{"X-Amz-Meta-B", "  two  "},
                         {"x-amz-meta-a", "1"},
                         {"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
                         {"X-AMZ-META-B", "three"},
                         {"x-amz-meta-", "empty name tail"},
                         {"x-amz-meta-c", ""},
                         {"x-amzfoo", "not amz"},
                         {"Content-Type", " text/plain "},
                         {"Content-Type", "ignored/second"},
                         {"Authorization", "AWS " AK ":AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}};
    built b;
    cf_buf sts;
    (void)state;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    build(&v, &b);
    assert_int_equal(cf_sigv2_string_to_sign(&b.req, &b.auth, &sts), CF_OK);
    assert_string_equal(sts.p, "PUT\n\ntext/plain\nTue, 14 Nov 2023 22:13:20 GMT\n"
                               "x-amz-meta-:empty name tail\nx-amz-meta-a:1\n"
                               "x-amz-meta-b:two,three\nx-amz-meta-c:\n/b/k");
    /* A bounded string: too small a buffer is refused. */
    cf_buf_free(&sts);
    cf_buf_init(&sts, 32);
    assert_int_equal(cf_sigv2_string_to_sign(&b.req, &b.auth, &sts), CF_ETOOBIG);
    cf_buf_free(&sts);
}

static void test_too_many_amz_headers(void **state)
{
    static cf_kv h[300];
    static char names[300][32];
    cf_sigv2_request r = {
        .method = CF_STR("GET"), .path = CF_STR("/b"), .headers = h, .nheaders = 300};
    cf_sigv2_auth a = {.presigned = false};
    cf_buf sts;
    (void)state;
    for (size_t i = 0; i < 300; i++) {
        snprintf(names[i], sizeof(names[i]), "x-amz-meta-%zu", i);
        h[i].name = cf_str_c(names[i]);
        h[i].value = CF_STR("v");
    }
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    assert_int_equal(cf_sigv2_string_to_sign(&r, &a, &sts), CF_ETOOBIG);
    r.nheaders = 256;
    assert_int_equal(cf_sigv2_string_to_sign(&r, &a, &sts), CF_OK);
    assert_non_null(strstr(sts.p, "x-amz-meta-0:v\nx-amz-meta-1:v\nx-amz-meta-10:v\n"));
    cf_buf_free(&sts);
}

static void test_hmac_sha1(void **state)
{
    char out[CF_SIGV2_SIG_B64_LEN + 1];
    uint8_t key80[80], key20[20];
    (void)state;
    /* RFC 2202 cases 1 and 6 (a key longer than a block is hashed first). */
    memset(key20, 0x0b, sizeof(key20));
    assert_int_equal(cf_sigv2_sign(cf_str_make((const char *)key20, 20), CF_STR("Hi There"), out),
                     CF_OK);
    assert_string_equal(out, "thcxhlUFcmTii8C2+zeMjvFGvgA=");
    memset(key80, 0xaa, sizeof(key80));
    assert_int_equal(cf_sigv2_sign(cf_str_make((const char *)key80, 80),
                                   CF_STR("Test Using Larger Than Block-Size Key - Hash Key First"),
                                   out),
                     CF_OK);
    assert_string_equal(out, "qkrl4VJy0A6VcFY3zoo7Ve1AIRI=");
}

/* ---- parsers ---- */

static void test_parse_header(void **state)
{
    static const char *const bad[] = {
        "AWS",
        "AWS ",
        "AWS :sig=",
        "AWS AK:",
        "AWS AKsig",
        "AWS AK :sig",
        "AWS AK: sig",
        "aws AK:sig",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request",
        "AWS A K:sig",
        "AWS AK:si g",
    };
    cf_sigv2_auth a;
    const char *why;
    (void)state;

    assert_true(cf_sigv2_is_header(CF_STR("AWS AK:sig")));
    assert_false(cf_sigv2_is_header(CF_STR("AWS4-HMAC-SHA256 Credential=x")));
    assert_false(cf_sigv2_is_header(CF_STR("Bearer x")));
    assert_false(cf_sigv2_is_header(CF_STR_NULL));

    assert_int_equal(
        cf_sigv2_parse_header(CF_STR("AWS " AK ":frJIUN8DYpKDtOLCwo//yllqDzg= "), &a, &why),
        CF_S3_OK);
    assert_false(a.presigned);
    assert_true(cf_str_eq_c(a.access_key, AK));
    assert_true(cf_str_eq_c(a.signature, "frJIUN8DYpKDtOLCwo//yllqDzg="));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (cf_sigv2_parse_header(cf_str_c(bad[i]), &a, &why) != CF_S3_InvalidArgument)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(why);
    }
    /* The value is a slice: no NUL needed. */
    assert_int_equal(cf_sigv2_parse_header(cf_str_make("AWS a:b-and-more", 7), &a, NULL), CF_S3_OK);
    assert_true(cf_str_eq_c(a.signature, "b"));
}

static cf_s3err parse_q(const char *raw, cf_sigv2_auth *a, const char **why)
{
    cf_kv *q;
    size_t n;
    assert_true(cf_query_parse(arena, cf_str_c(raw), 100, &q, &n));
    return cf_sigv2_parse_query(q, n, a, why);
}

static void test_parse_query(void **state)
{
    static const char *const missing[] = {
        "",
        "Signature=x&Expires=1",
        "AWSAccessKeyId=AK&Expires=1",
        "AWSAccessKeyId=AK&Signature=x",
        "AWSAccessKeyId=&Signature=x&Expires=1",
        "AWSAccessKeyId=AK&Signature=&Expires=1",
        "AWSAccessKeyId=AK&Signature=x&Expires=",
        "awsaccesskeyid=AK&Signature=x&Expires=1",
    };
    static const char *const bad_expires[] = {
        "AWSAccessKeyId=AK&Signature=x&Expires=-5",
        "AWSAccessKeyId=AK&Signature=x&Expires=12a",
        "AWSAccessKeyId=AK&Signature=x&Expires=%2B12",
        "AWSAccessKeyId=AK&Signature=x&Expires=1.5",
        "AWSAccessKeyId=AK&Signature=x&Expires=99999999999999999999",
        "AWSAccessKeyId=AK&Signature=x&Expires=9223372036854775808",
    };
    cf_sigv2_auth a;
    const char *why;
    cf_kv *q;
    size_t n;
    (void)state;

    assert_true(cf_query_parse(arena, CF_STR("Signature=x"), 10, &q, &n));
    assert_true(cf_sigv2_is_query(q, n));
    assert_true(cf_query_parse(arena, CF_STR("AWSAccessKeyId=x"), 10, &q, &n));
    assert_true(cf_sigv2_is_query(q, n));
    assert_true(cf_query_parse(arena, CF_STR("X-Amz-Signature=x&Expires=1"), 10, &q, &n));
    assert_false(cf_sigv2_is_query(q, n));
    assert_false(cf_sigv2_is_query(NULL, 0));

    assert_int_equal(
        parse_q("a=b&Expires=9223372036854775807&Signature=a%2Bb%3D&AWSAccessKeyId=K", &a, &why),
        CF_S3_OK);
    assert_true(a.presigned);
    assert_true(cf_str_eq_c(a.access_key, "K"));
    assert_true(cf_str_eq_c(a.signature, "a+b="));
    assert_true(cf_str_eq_c(a.expires, "9223372036854775807"));
    assert_true(a.expires_s == INT64_MAX);
    /* An unencoded '+' in the signature stays a '+'. */
    assert_int_equal(parse_q("AWSAccessKeyId=K&Signature=a+b=&Expires=0", &a, &why), CF_S3_OK);
    assert_true(cf_str_eq_c(a.signature, "a+b="));

    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        why = NULL;
        if (parse_q(missing[i], &a, &why) != CF_S3_AccessDenied)
            fail_msg("accepted \"%s\"", missing[i]);
        assert_non_null(strstr(why, "requires the Signature, Expires and AWSAccessKeyId"));
    }
    for (size_t i = 0; i < sizeof(bad_expires) / sizeof(bad_expires[0]); i++) {
        why = NULL;
        if (parse_q(bad_expires[i], &a, &why) != CF_S3_AccessDenied)
            fail_msg("accepted \"%s\"", bad_expires[i]);
        assert_non_null(strstr(why, "Expires"));
    }
    why = NULL;
    assert_int_equal(parse_q("AWSAccessKeyId=K&Signature=x&Expires=1&Signature=y", &a, &why),
                     CF_S3_AccessDenied);
    assert_non_null(strstr(why, "repeated"));
}

/* ---- time ---- */

static void test_expiry(void **state)
{
    cf_sigv2_request r = {.method = CF_STR("GET"), .path = CF_STR("/")};
    cf_sigv2_auth a = {.presigned = true, .expires = CF_STR("1700003600"), .expires_s = 1700003600};
    const int64_t exp_ms = 1700003600000;
    const char *why;
    (void)state;

    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms, &why), CF_S3_OK);
    assert_null(why);
    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms + 1, &why), CF_S3_AccessDenied);
    assert_string_equal(why, "Request has expired");
    /* Up to a week ahead. */
    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms - 604800000, &why), CF_S3_OK);
    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms - 604800001, &why), CF_S3_AccessDenied);
    assert_non_null(strstr(why, "604800"));
    a.expires_s = INT64_MAX;
    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms, &why), CF_S3_AccessDenied);
    assert_non_null(strstr(why, "week"));
    a.expires_s = 0;
    assert_int_equal(cf_sigv2_check_time(&r, &a, exp_ms, &why), CF_S3_AccessDenied);
    assert_string_equal(why, "Request has expired");

    /* Through verify, before the signature is looked at. */
    {
        vec v = *boto_case("presign_get_vhost");
        built b;
        build(&v, &b);
        assert_int_equal(verify(&b, "wrong", 1700003600001, &why), CF_S3_AccessDenied);
        assert_string_equal(why, "Request has expired");
        assert_int_equal(verify(&b, SECRET, 1700003600000 - 604800000 - 1, &why),
                         CF_S3_AccessDenied);
        assert_int_equal(verify(&b, SECRET, 1700003600000 - 604800000, &why), CF_S3_OK);
    }
}

static cf_s3err at(const char *name, const char *date, const char *name2, const char *date2,
                   int64_t now_ms, const char **why)
{
    cf_kv h[2] = {{cf_str_c(name), cf_str_c(date)}, {cf_str_c(name2), cf_str_c(date2)}};
    cf_sigv2_request r = {.method = CF_STR("GET"),
                          .path = CF_STR("/"),
                          .headers = h,
                          .nheaders = name ? (name2 ? 2 : 1) : 0};
    cf_sigv2_auth a = {.presigned = false};
    return cf_sigv2_check_time(&r, &a, now_ms, why);
}

static void test_skew(void **state)
{
    const int64_t t = 1700000000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    const int64_t m15 = 15 * 60 * 1000;
    const char *d = "Tue, 14 Nov 2023 22:13:20 GMT";
    const char *why;
    (void)state;

    assert_int_equal(at("Date", d, NULL, NULL, t, &why), CF_S3_OK);
    assert_null(why);
    assert_int_equal(at("date", d, NULL, NULL, t + m15, &why), CF_S3_OK);
    assert_int_equal(at("DATE", d, NULL, NULL, t - m15, &why), CF_S3_OK);
    assert_int_equal(at("Date", d, NULL, NULL, t + m15 + 1, &why), CF_S3_RequestTimeTooSkewed);
    assert_int_equal(at("Date", d, NULL, NULL, t - m15 - 1, &why), CF_S3_RequestTimeTooSkewed);
    /* Zones V2 clients use. */
    assert_int_equal(at("Date", "Tue, 14 Nov 2023 22:13:20 +0000", NULL, NULL, t, &why), CF_S3_OK);
    assert_int_equal(at("Date", "Tue, 14 Nov 2023 23:43:20 +0130", NULL, NULL, t, &why), CF_S3_OK);
    assert_int_equal(at("Date", "Tue, 14 Nov 2023 17:13:20 -0500", NULL, NULL, t, &why), CF_S3_OK);
    assert_int_equal(at("Date", "Tue, 14 Nov 2023 22:13:20 -0500", NULL, NULL, t, &why),
                     CF_S3_RequestTimeTooSkewed);
    assert_int_equal(at("Date", "Tue, 14 Nov 2023 22:13:20 UTC", NULL, NULL, t, &why), CF_S3_OK);
    assert_int_equal(at("Date", "Tuesday, 14-Nov-23 22:13:20 GMT", NULL, NULL, t, &why), CF_S3_OK);
    assert_int_equal(at("x-amz-date", "20231114T221320Z", NULL, NULL, t, &why), CF_S3_OK);
    /* x-amz-date wins over Date, even a bad one. */
    assert_int_equal(at("Date", "garbage", "X-Amz-Date", d, t, &why), CF_S3_OK);
    assert_int_equal(at("Date", d, "x-amz-date", "Tue, 14 Nov 2023 23:13:20 GMT", t, &why),
                     CF_S3_RequestTimeTooSkewed);
    assert_int_equal(at("Date", d, "x-amz-date", "garbage", t, &why), CF_S3_AccessDenied);
    assert_non_null(strstr(why, "valid Date or x-amz-date"));

    static const char *const bad[] = {
        "",
        "garbage",
        "Tue, 14 Nov 2023 22:13:20",
        "Tue, 14 Nov 2023 22:13:20 +2400",
        "Tue, 14 Nov 2023 22:13:20 +0060",
        "Tue, 14 Nov 2023 22:13:20 +00",
        "+0000",
        "Tue, 14 Nov 2023 22:13:20 PST",
        "Tue, 14 Nov 2023 22:13:20 +0000 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (at("Date", bad[i], NULL, NULL, t, &why) != CF_S3_AccessDenied)
            fail_msg("accepted date \"%s\"", bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(at(NULL, NULL, NULL, NULL, t, &why), CF_S3_AccessDenied);
    assert_int_equal(at("Host", "h", NULL, NULL, t, &why), CF_S3_AccessDenied);
}

static void test_bad_signature_encoding(void **state)
{
    vec v = doc_cases[0].v;
    built b;
    const char *why;
    static const char *const sigs[] = {
        "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU",      /* no padding */
        "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU=AAAA", /* too long */
        "AWS " AK ":bWq2s1WEIj-Ydj0vQ697zp+IXMU=",     /* not base64 */
        "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMV=",     /* one bit off */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        v.headers[2][0] = "Authorization";
        v.headers[2][1] = sigs[i];
        build(&v, &b);
        assert_int_equal(verify(&b, SECRET, 1175024202000, &why), CF_S3_SignatureDoesNotMatch);
    }
}

/* ---- cf_auth_verify_v2 ---- */

typedef struct fake_meta {
    cf_meta base;
    cf_cred_row rows[3];
    size_t n;
} fake_meta;

static cf_rc fake_cred_get(cf_meta *m, cf_str id, cf_arena *a, cf_cred_row *out)
{
    fake_meta *f = (fake_meta *)m;
    (void)a;
    for (size_t i = 0; i < f->n; i++)
        if (cf_str_eq(f->rows[i].id, id)) {
            *out = f->rows[i];
            return CF_OK;
        }
    return CF_ENOTFOUND;
}

static const cf_meta_ops fake_ops = {.cred_get = fake_cred_get};

static void test_auth_verify_v2(void **state)
{
    cf_keyring kr;
    fake_meta fm = {.base = {.ops = &fake_ops}};
    cf_auth au = {.meta = &fm.base, .keyring = &kr, .region = "us-east-1"};
    cf_authn_result res;
    cf_buf sts;
    built b;
    vec v;
    (void)state;

    memset(kr.master, 7, sizeof(kr.master));
    /* AK: rotated to a new secret; the example secret stays valid until 1700000100000. */
    fm.rows[0] = (cf_cred_row){
        .id = CF_STR(AK), .status = CF_CRED_ACTIVE, .old_secret_until_ms = 1700000100000};
    assert_int_equal(cf_secret_seal(&kr, fm.rows[0].id, CF_STR("the-new-secret-0123456789"), arena,
                                    &fm.rows[0].secret_sealed),
                     CF_OK);
    assert_int_equal(
        cf_secret_seal(&kr, fm.rows[0].id, CF_STR(SECRET), arena, &fm.rows[0].old_secret_sealed),
        CF_OK);
    fm.n = 1;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);

    v = *boto_case("header_put_vhost");
    build(&v, &b);
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_OK);
    assert_true(cf_str_eq_c(res.sig.access_key, AK));
    assert_false(res.sig.presigned);
    assert_true(cf_str_eq_c(res.cred.row.id, AK));
    assert_null(res.message);
    /* After the grace, only the new secret. */
    assert_int_equal(
        cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS + 100000, arena, &res, &sts),
        CF_S3_SignatureDoesNotMatch);
    assert_non_null(strstr(sts.p, "/johnsmith/photos/x%20y.txt"));

    /* Presigned, with the message for an expired URL. */
    v = *boto_case("presign_get_vhost");
    build(&v, &b);
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_OK);
    assert_true(res.sig.presigned);
    assert_int_equal(res.sig.expires_s, 1700003600);
    fm.rows[0].old_secret_until_ms = 1800000000000;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, 1700003600001, arena, &res, &sts),
                     CF_S3_AccessDenied);
    assert_string_equal(res.message, "Request has expired");
    assert_true(cf_str_eq_c(res.sig.access_key, AK)); /* still there for the access log */

    /* Unknown, disabled, not yet valid, expired credentials all look unknown. */
    fm.rows[0].status = CF_CRED_DISABLED;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_InvalidAccessKeyId);
    fm.rows[0].status = CF_CRED_ACTIVE;
    fm.rows[0].not_before_ms = BOTO_NOW_MS + 1;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_InvalidAccessKeyId);
    fm.rows[0].not_before_ms = 0;
    fm.rows[0].expires_ms = BOTO_NOW_MS;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_InvalidAccessKeyId);
    fm.rows[0].expires_ms = 0;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_OK);
    fm.n = 0;
    assert_int_equal(cf_auth_verify_v2(&au, &b.req, &b.auth, CF_STR_NULL, BOTO_NOW_MS, arena, &res, &sts),
                     CF_S3_InvalidAccessKeyId);
    cf_buf_free(&sts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aws_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aws_query_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_botocore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_botocore_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presigned_tamper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_botocore_readings_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subresources_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amz_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_amz_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hmac_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_verify_v2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
