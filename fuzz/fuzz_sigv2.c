/* Signature Version 2: the "AWS AKID:sig" header and presigned queries. Input, one item a
 * line:
 *   Authorization value (may be empty: then the query form is tried)
 *   request line "METHOD vhost-bucket /path?query" (vhost-bucket "-" for path style)
 *   headers "name: value", one a line
 * Both parsers run; whichever form parses, the string to sign is built, the time rules
 * checked and the request verified against a fixed secret at the fuzzer's fixed clock.
 * Properties: parsed slices point into the input or the decoded query, the string to sign
 * never exceeds its bound, the 28-character base64 signature of cf_sigv2_sign. */
#include "fuzz.h"

#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "core/arena.h"
#include "core/buf.h"

#define MAX_HEADERS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static void run(const cf_sigv2_request *r, const cf_sigv2_auth *a)
{
    cf_buf sts;
    const char *why = NULL;
    char sig[CF_SIGV2_SIG_B64_LEN + 1];

    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    if (cf_sigv2_string_to_sign(r, a, &sts) == CF_OK) {
        FUZZ_CHECK(sts.len <= CF_SIGV2_MAX_STS);
        FUZZ_CHECK(cf_sigv2_sign(CF_STR("secret"), cf_buf_str(&sts), sig) == CF_OK);
        FUZZ_CHECK(strlen(sig) == CF_SIGV2_SIG_B64_LEN);
    }
    (void)cf_sigv2_check_time(r, a, FUZZ_NOW_MS, &why);
    cf_sigv2_verify_in vin = {r, a, CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                              FUZZ_NOW_MS};
    cf_buf_reset(&sts);
    (void)cf_sigv2_verify(&vin, &sts, &why);
    cf_buf_free(&sts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str authz = fuzz_line(&in), reqline = fuzz_line(&in), method, vhost, target, path, rawq;
    cf_kv headers[MAX_HEADERS];
    size_t nh = 0, nq = 0;
    cf_kv *query = NULL;
    cf_sigv2_auth a;
    cf_arena *ar = cf_arena_new(1 << 20);
    const char *why = NULL;

    if (!ar)
        goto out;
    if (!cf_str_cut(reqline, ' ', &method, &target))
        target = reqline;
    if (!cf_str_cut(target, ' ', &vhost, &target))
        vhost = CF_STR("");
    if (cf_str_eq_c(vhost, "-"))
        vhost = CF_STR("");
    cf_str_cut(target, '?', &path, &rawq);
    while (fuzz_left(&in) && nh < MAX_HEADERS)
        nh += (size_t)fuzz_header(fuzz_line(&in), &headers[nh]);
    cf_sigv2_request r = {method, path, vhost, rawq, headers, nh};

    if (cf_sigv2_is_header(authz) && cf_sigv2_parse_header(authz, &a, &why) == CF_S3_OK) {
        FUZZ_CHECK(!a.presigned);
        FUZZ_CHECK(fuzz_inside(a.access_key, (const char *)data, size));
        FUZZ_CHECK(fuzz_inside(a.signature, (const char *)data, size));
        run(&r, &a);
    }
    if (!cf_query_parse(ar, rawq, 1000, &query, &nq))
        goto out;
    if (cf_sigv2_is_query(query, nq) && cf_sigv2_parse_query(query, nq, &a, &why) == CF_S3_OK) {
        FUZZ_CHECK(a.presigned);
        FUZZ_CHECK(a.access_key.len > 0 && a.signature.len > 0 && a.expires.len > 0);
        run(&r, &a);
    }
out:
    cf_arena_destroy(ar);
    return 0;
}
