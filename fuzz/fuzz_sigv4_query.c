/* SigV4 presigned query. Input, one item a line:
 *   request line "METHOD /path?query" (the query as sent, percent-encoded)
 *   headers "name: value", one a line
 * The query is split and decoded, the X-Amz-* parameters parsed; when they parse, the
 * canonical request is built (S3 and generic rules), the string to sign, and the request is
 * verified against a fixed secret at its own X-Amz-Date. Properties: parsed slices point into
 * the decoded parameters, Expires is 1..604800, every decoded parameter is no longer than its
 * raw form. */
#include "fuzz.h"

#include "auth/sigv4.h"
#include "core/arena.h"
#include "core/buf.h"

#define MAX_HEADERS 64
#define MAX_PARAMS  1024

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

/* Whether s lies inside one of the decoded names or values. */
static int in_params(cf_str s, const cf_kv *q, size_t n)
{
    if (s.len == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (fuzz_inside(s, q[i].name.p, q[i].name.len) ||
            fuzz_inside(s, q[i].value.p, q[i].value.len))
            return 1;
    return 0;
}

/* Whether the canonical query (third line) carries X-Amz-Signature: a presigned request
 * never signs its own signature. */
static int signs_signature(cf_str canon)
{
    cf_str line, rest = canon;
    for (int i = 0; i < 3; i++)
        cf_str_cut(rest, '\n', &line, &rest);
    if (cf_str_starts_c(line, "X-Amz-Signature="))
        return 1;
    return memmem(line.p, line.len, "&X-Amz-Signature=", 17) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str reqline = fuzz_line(&in), method, target, path, rawq;
    cf_kv headers[MAX_HEADERS];
    size_t nh = 0, nq = 0;
    cf_kv *query = NULL;
    cf_sigv4_auth a;
    cf_arena *ar = cf_arena_new(1 << 20);
    cf_buf canon, sts;
    int64_t t;
    uint8_t key[32];

    cf_buf_init(&canon, 64 << 10);
    cf_buf_init(&sts, 64 << 10);
    if (!ar)
        goto out;
    if (!cf_str_cut(reqline, ' ', &method, &target))
        target = reqline;
    cf_str_cut(target, '?', &path, &rawq);
    if (!cf_query_parse(ar, rawq, MAX_PARAMS, &query, &nq))
        goto out;
    FUZZ_CHECK(nq <= MAX_PARAMS && nq <= rawq.len);
    for (size_t i = 0; i < nq; i++)
        FUZZ_CHECK(query[i].name.len + query[i].value.len <= rawq.len);
    while (fuzz_left(&in) && nh < MAX_HEADERS)
        nh += (size_t)fuzz_header(fuzz_line(&in), &headers[nh]);

    if (cf_sigv4_parse_query(query, nq, &a) != CF_S3_OK)
        goto out;
    FUZZ_CHECK(a.presigned);
    FUZZ_CHECK(a.expires_s >= 1 && a.expires_s <= CF_SIGV4_MAX_EXPIRES_S);
    FUZZ_CHECK(a.signature.len == 64 && a.date.len == 8);
    FUZZ_CHECK(in_params(a.access_key, query, nq) && in_params(a.scope, query, nq) &&
               in_params(a.signed_headers, query, nq) && in_params(a.amz_date, query, nq) &&
               in_params(a.security_token, query, nq));
    FUZZ_CHECK(cf_time_parse_amz(a.amz_date, &t));

    cf_sigv4_request r = {method, path, query, nq, headers, nh, CF_STR(CF_PAYLOAD_UNSIGNED)};
    for (int mode = 0; mode < 2; mode++) {
        if (cf_sigv4_canonical_request(&r, &a, (cf_sigv4_mode)mode, &canon) != CF_S3_OK)
            continue;
        FUZZ_CHECK(!signs_signature(cf_buf_str(&canon)));
        (void)cf_sigv4_string_to_sign(a.amz_date, a.scope, cf_buf_str(&canon), &sts);
    }
    cf_sigv4_verify_in vin = {&r, &a, CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                              CF_STR("auto"), t + 1000, NULL};
    (void)cf_sigv4_verify(&vin, key, &canon, &sts);
out:
    cf_buf_free(&canon);
    cf_buf_free(&sts);
    cf_arena_destroy(ar);
    return 0;
}
