/* SigV4 Authorization header. Input, one item a line:
 *   Authorization value
 *   X-Amz-Date (or Date) value
 *   request line "METHOD /path?query"
 *   headers "name: value", one a line
 * The header is parsed; when it parses, the request is canonicalised (S3 and generic rules)
 * and verified against a fixed secret at the request's own time, so the whole path a real
 * request takes runs (the seeds carry AWS's documented examples, signed with this secret).
 * Properties: parsed slices point into the input, the signature is 64
 * lowercase hex, the scope is "date/region/service/aws4_request" of the parsed parts. */
#include "fuzz.h"

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

static void check_parsed(const cf_sigv4_auth *a, const uint8_t *data, size_t size)
{
    const char *base = (const char *)data;
    FUZZ_CHECK(!a->presigned);
    FUZZ_CHECK(fuzz_inside(a->access_key, base, size) && a->access_key.len > 0);
    FUZZ_CHECK(fuzz_inside(a->date, base, size) && a->date.len == 8);
    FUZZ_CHECK(fuzz_inside(a->region, base, size) && a->region.len > 0);
    FUZZ_CHECK(fuzz_inside(a->service, base, size) && a->service.len > 0);
    FUZZ_CHECK(fuzz_inside(a->scope, base, size));
    FUZZ_CHECK(fuzz_inside(a->signed_headers, base, size) && a->signed_headers.len > 0);
    FUZZ_CHECK(fuzz_inside(a->signature, base, size) && a->signature.len == 64);
    for (size_t i = 0; i < 64; i++) {
        char c = a->signature.p[i];
        FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    /* scope = date "/" region "/" service "/aws4_request", contiguous in the input */
    FUZZ_CHECK(a->scope.p == a->date.p);
    FUZZ_CHECK(a->scope.len == a->date.len + 1 + a->region.len + 1 + a->service.len + 13);
    FUZZ_CHECK(memcmp(a->scope.p + a->scope.len - 13, "/aws4_request", 13) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str authz = fuzz_line(&in), date = fuzz_line(&in), reqline = fuzz_line(&in);
    cf_str method, target, path, rawq;
    cf_kv headers[MAX_HEADERS];
    size_t nh = 0;
    cf_kv *query = NULL;
    size_t nq = 0;
    cf_sigv4_auth a;
    cf_arena *ar = NULL;
    cf_buf canon, sts;
    int64_t t = FUZZ_NOW_MS;
    uint8_t key[32];

    cf_buf_init(&canon, 64 << 10);
    cf_buf_init(&sts, 64 << 10);
    if (cf_sigv4_parse_header(authz, date, &a) != CF_S3_OK)
        goto out;
    check_parsed(&a, data, size);

    while (fuzz_left(&in) && nh < MAX_HEADERS)
        nh += (size_t)fuzz_header(fuzz_line(&in), &headers[nh]);
    if (!cf_str_cut(reqline, ' ', &method, &target))
        target = CF_STR("/");
    cf_str_cut(target, '?', &path, &rawq);
    ar = cf_arena_new(1 << 20);
    if (!ar || !cf_query_parse(ar, rawq, 1000, &query, &nq))
        goto out;

    cf_sigv4_request r = {method, path, query, nq, headers, nh, CF_STR(CF_PAYLOAD_UNSIGNED)};
    for (size_t i = 0; i < nh; i++)
        if (cf_str_ieq_c(headers[i].name, "x-amz-content-sha256"))
            r.payload_hash = headers[i].value;
    for (int mode = 0; mode < 2; mode++) {
        if (cf_sigv4_canonical_request(&r, &a, (cf_sigv4_mode)mode, &canon) == CF_S3_OK)
            (void)cf_sigv4_string_to_sign(a.amz_date, a.scope, cf_buf_str(&canon), &sts);
    }
    /* Verify at the request's own time so the time checks pass and the signature is
     * computed; it will not match, which is fine. */
    if (!cf_time_parse_amz(date, &t))
        (void)cf_time_parse_http(date, &t);
    cf_sigv4_verify_in vin = {&r, &a, CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                              CF_STR("auto"), t, NULL};
    (void)cf_sigv4_verify(&vin, key, &canon, &sts);
out:
    cf_buf_free(&canon);
    cf_buf_free(&sts);
    cf_arena_destroy(ar);
    return 0;
}
