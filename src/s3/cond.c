#include "s3/cond.h"

#include "core/clock.h"

/* ---- Range (RFC 7233 section 2.1) ---- */

/* One byte-range-spec, already trimmed: "first-last", "first-" or "-suffix". */
static cf_range_rc one_range(cf_str spec, uint64_t size, uint64_t *off, uint64_t *len)
{
    cf_str a, b;
    uint64_t first, last, n;
    if (!cf_str_cut(spec, '-', &a, &b))
        return CF_RANGE_NONE;
    if (a.len == 0) {
        /* The last n bytes; asking for more than there is means the whole object. */
        if (!cf_str_to_u64(b, &n))
            return CF_RANGE_NONE;
        if (n == 0 || size == 0)
            return CF_RANGE_UNSATISFIABLE;
        if (n > size)
            n = size;
        *off = size - n;
        *len = n;
        return CF_RANGE_OK;
    }
    if (!cf_str_to_u64(a, &first))
        return CF_RANGE_NONE;
    if (b.len == 0)
        last = UINT64_MAX;
    else if (!cf_str_to_u64(b, &last) || last < first)
        return CF_RANGE_NONE;
    if (first >= size)
        return CF_RANGE_UNSATISFIABLE;
    if (last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return CF_RANGE_OK;
}

cf_range_rc cf_range_parse(cf_str header, uint64_t size, uint64_t *off, uint64_t *len)
{
    cf_str unit, set, elem, found = CF_STR_NULL;
    bool more, have = false;
    if (!header.p)
        return CF_RANGE_NONE;
    /* Range units are case-insensitive; no whitespace around '='. */
    if (!cf_str_cut(cf_str_trim(header), '=', &unit, &set) || !cf_str_ieq_c(unit, "bytes"))
        return CF_RANGE_NONE;
    /* A 1#list: OWS around elements and empty elements are allowed. S3 serves one range
     * only, so a second one makes the header unusable. */
    do {
        more = cf_str_cut(set, ',', &elem, &set);
        elem = cf_str_trim(elem);
        if (elem.len == 0)
            continue;
        if (have)
            return CF_RANGE_NONE;
        have = true;
        found = elem;
    } while (more);
    if (!have)
        return CF_RANGE_NONE;
    return one_range(found, size, off, len);
}

/* ---- entity tags (RFC 7232 section 2.3) ---- */

static cf_str unquote(cf_str s)
{
    if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"')
        return cf_str_sub(s, 1, s.len - 2);
    return s;
}

/* One list member against the bare etag. W/ is ignored (S3 has no weak tags) and an
 * unquoted tag is accepted, as S3 does. */
static bool member_match(cf_str m, cf_str etag)
{
    if (m.len == 0)
        return false;
    if (cf_str_eq_c(m, "*"))
        return true;
    if (cf_str_starts_c(m, "W/"))
        m = cf_str_sub(m, 2, m.len - 2);
    if (m.len && m.p[0] == '"') {
        if (m.len < 2 || m.p[m.len - 1] != '"')
            return false;
        m = cf_str_sub(m, 1, m.len - 2);
    }
    return cf_str_eq(m, etag);
}

bool cf_etag_list_match(cf_str list, cf_str etag)
{
    cf_str rest = list;
    if (!list.p)
        return false;
    etag = unquote(etag); /* tolerate a caller passing the quoted form */
    while (rest.len) {
        /* A comma inside a quoted tag is part of the tag. */
        size_t k = 0;
        bool inq = false;
        while (k < rest.len && (inq || rest.p[k] != ',')) {
            if (rest.p[k] == '"')
                inq = !inq;
            k++;
        }
        if (member_match(cf_str_trim(cf_str_sub(rest, 0, k)), etag))
            return true;
        rest = cf_str_sub(rest, k < rest.len ? k + 1 : k, rest.len);
    }
    return false;
}

/* ---- preconditions (RFC 7232 section 6) ---- */

/* Floor division, so instants before the epoch land in the right second too. */
static int64_t whole_seconds(int64_t ms)
{
    int64_t s = ms / 1000;
    if (ms % 1000 < 0)
        s--;
    return s;
}

static bool header_date(cf_str v, int64_t *sec)
{
    int64_t ms;
    if (!v.p || !cf_time_parse_http(cf_str_trim(v), &ms))
        return false;
    *sec = whole_seconds(ms);
    return true;
}

cf_cond_rc cf_cond_eval(const cf_cond_headers *h, cf_str etag, int64_t mtime_ms, bool copy)
{
    int64_t mtime = whole_seconds(mtime_ms), t;
    cf_cond_rc not_modified = copy ? CF_COND_PRECONDITION_FAILED : CF_COND_NOT_MODIFIED;

    /* A passing If-Match makes If-Unmodified-Since irrelevant. */
    if (h->if_match.p) {
        if (!cf_etag_list_match(h->if_match, etag))
            return CF_COND_PRECONDITION_FAILED;
    } else if (header_date(h->if_unmodified_since, &t) && mtime > t) {
        return CF_COND_PRECONDITION_FAILED;
    }

    /* Likewise If-None-Match decides alone when present. A date in the future is invalid
     * (RFC 2616 14.25) and S3 ignores it rather than answering 304/412. */
    if (h->if_none_match.p) {
        if (cf_etag_list_match(h->if_none_match, etag))
            return not_modified;
    } else if (header_date(h->if_modified_since, &t) && t <= whole_seconds(cf_now_ms()) &&
               mtime <= t) {
        return not_modified;
    }
    return CF_COND_PASS;
}
