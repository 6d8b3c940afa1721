/* Range and conditional request headers. Input, one item a line:
 *   object size (decimal; anything else: the input's length), Range, ETag (bare),
 *   If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, mtime (HTTP date)
 * A missing line is an absent header.
 * Properties: a satisfiable range lies inside the object and is not empty; a range on an
 * empty object is never satisfiable; "*" matches any etag and a list holding the etag
 * quoted matches it; the copy form never answers 304; an absent header never fails. */
#include "fuzz.h"

#include "s3/cond.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static cf_str opt_line(fuzz_in *in)
{
    return fuzz_left(in) ? fuzz_line(in) : CF_STR_NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str sz = fuzz_line(&in), range = opt_line(&in), etag = opt_line(&in);
    cf_cond_headers h;
    uint64_t objsize, off = 0, len = 0;
    int64_t mtime = FUZZ_NOW_MS - 86400000;
    char quoted[256];

    h.if_match = opt_line(&in);
    h.if_none_match = opt_line(&in);
    h.if_modified_since = opt_line(&in);
    h.if_unmodified_since = opt_line(&in);
    if (fuzz_left(&in))
        (void)cf_time_parse_http(fuzz_line(&in), &mtime);
    if (!cf_str_to_u64(sz, &objsize))
        objsize = size;
    if (!etag.p)
        etag = CF_STR("d41d8cd98f00b204e9800998ecf8427e");

    switch (cf_range_parse(range, objsize, &off, &len)) {
    case CF_RANGE_OK:
        FUZZ_CHECK(len >= 1 && off < objsize && len <= objsize - off);
        break;
    case CF_RANGE_UNSATISFIABLE:
        break;
    case CF_RANGE_NONE:
        break;
    default:
        FUZZ_CHECK(0);
    }
    if (objsize == 0)
        FUZZ_CHECK(cf_range_parse(range, 0, &off, &len) != CF_RANGE_OK);

    FUZZ_CHECK(cf_etag_list_match(CF_STR("*"), etag));
    FUZZ_CHECK(!cf_etag_list_match(CF_STR_NULL, etag));
    if (etag.len + 3 <= sizeof(quoted) && memchr(etag.p, '"', etag.len) == NULL &&
        memchr(etag.p, ',', etag.len) == NULL) {
        quoted[0] = '"';
        memcpy(quoted + 1, etag.p, etag.len);
        quoted[etag.len + 1] = '"';
        FUZZ_CHECK(cf_etag_list_match(cf_str_make(quoted, etag.len + 2), etag));
    }
    if (h.if_match.p)
        (void)cf_etag_list_match(h.if_match, etag);

    FUZZ_CHECK(cf_cond_eval(&h, etag, mtime, true) != CF_COND_NOT_MODIFIED);
    (void)cf_cond_eval(&h, etag, mtime, false);
    (void)cf_cond_eval(&h, etag, INT64_MIN + 1, false);
    (void)cf_cond_eval(&h, etag, INT64_MAX, true);
    cf_cond_headers none = {CF_STR_NULL, CF_STR_NULL, CF_STR_NULL, CF_STR_NULL};
    FUZZ_CHECK(cf_cond_eval(&none, etag, mtime, false) == CF_COND_PASS);
    return 0;
}
