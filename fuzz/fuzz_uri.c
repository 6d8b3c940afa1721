/* Percent-decoding, query splitting and SigV4 encoding. Input: any bytes.
 * Properties:
 *  - decode(encode(x)) == x, with and without '/' kept, and encode's output holds only
 *    unreserved bytes, "%XX" with uppercase hex, and '/' when kept;
 *  - encode is canonical: encode(decode(encode(x))) == encode(x);
 *  - decode succeeds exactly when every '%' starts a two-hex-digit escape, and its output is
 *    never longer than its input;
 *  - cf_query_parse gives, for each non-empty '&' segment, the decoded name and value (split
 *    at the first '='), and refuses more than max parameters. */
#include "fuzz.h"

#include "auth/sigv4.h"
#include "core/arena.h"
#include "core/buf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool unreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Whether every '%' in s starts a valid escape. */
static bool escapes_ok(cf_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] != '%')
            continue;
        if (s.len - i < 3 || !is_hex(s.p[i + 1]) || !is_hex(s.p[i + 2]))
            return false;
        i += 2;
    }
    return true;
}

static void check_encoded(cf_str e, bool keep_slash)
{
    for (size_t i = 0; i < e.len; i++) {
        char c = e.p[i];
        if (c == '%') {
            FUZZ_CHECK(e.len - i >= 3);
            for (size_t k = 1; k <= 2; k++) {
                char h = e.p[i + k];
                FUZZ_CHECK((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'));
            }
            i += 2;
        } else {
            FUZZ_CHECK(unreserved(c) || (keep_slash && c == '/'));
        }
    }
}

static void round_trip(cf_arena *a, cf_str x, bool keep_slash)
{
    cf_buf e1, e2;
    cf_str d;
    cf_buf_init(&e1, 1 << 20);
    cf_buf_init(&e2, 1 << 20);
    FUZZ_CHECK(cf_sigv4_uri_encode(x, keep_slash, &e1) == CF_OK);
    check_encoded(cf_buf_str(&e1), keep_slash);
    FUZZ_CHECK(cf_uri_decode(a, cf_buf_str(&e1), &d));
    if (!cf_str_eq(d, x)) {
        fprintf(stderr, "decode(encode(x)) != x (keep_slash %d)\n", keep_slash);
        abort();
    }
    FUZZ_CHECK(cf_sigv4_uri_encode(d, keep_slash, &e2) == CF_OK);
    FUZZ_CHECK(cf_str_eq(cf_buf_str(&e1), cf_buf_str(&e2)));
    cf_buf_free(&e1);
    cf_buf_free(&e2);
}

static void query(cf_arena *a, cf_str raw, size_t max)
{
    cf_kv *kv = NULL;
    size_t n = 0, k = 0, segs = 0;
    cf_str rest, seg;
    bool more = true, escapes = true;

    for (rest = raw; more;) {
        more = cf_str_cut(rest, '&', &seg, &rest);
        segs += seg.len > 0;
    }
    escapes = escapes_ok(raw);
    if (!cf_query_parse(a, raw, max, &kv, &n)) {
        FUZZ_CHECK(segs > max || !escapes);
        return;
    }
    FUZZ_CHECK(segs <= max && escapes && n == segs);
    for (rest = raw, more = true; more;) {
        cf_str name, value, dn, dv;
        more = cf_str_cut(rest, '&', &seg, &rest);
        if (seg.len == 0)
            continue;
        cf_str_cut(seg, '=', &name, &value);
        FUZZ_CHECK(cf_uri_decode(a, name, &dn) && cf_uri_decode(a, value, &dv));
        FUZZ_CHECK(k < n && cf_str_eq(kv[k].name, dn) && cf_str_eq(kv[k].value, dv));
        k++;
    }
    FUZZ_CHECK(k == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_str x = cf_str_make((const char *)data, size), d;
    cf_arena *a = cf_arena_new(0);
    FUZZ_CHECK(a != NULL);

    if (cf_uri_decode(a, x, &d)) {
        FUZZ_CHECK(escapes_ok(x) && d.len <= x.len && d.p != NULL);
        round_trip(a, d, true);
        round_trip(a, d, false);
    } else {
        FUZZ_CHECK(!escapes_ok(x));
    }
    round_trip(a, x, true);
    round_trip(a, x, false);
    query(a, x, 1000);
    query(a, x, size % 7);
    cf_arena_destroy(a);
    return 0;
}
