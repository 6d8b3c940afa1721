/* core/str: UTF-8 validation and the strict number and hex parsers every header and
 * parameter goes through, each against an independent reference written here.
 * Input: any bytes. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

/* Unicode's table of well-formed byte sequences (Table 3-7). */
static bool ref_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        uint8_t lo = 0x80, hi = 0xBF;
        size_t need;
        if (c <= 0x7F) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3;
        else
            return false;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (n - i - 1 < need)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return false;
        i += need + 1;
    }
    return true;
}

/* Whether the digit string s (no sign) is at most the decimal limit lim, by length and then
 * by comparison as text, leading zeros ignored. */
static bool digits_le(cf_str s, const char *lim)
{
    size_t ll = strlen(lim);
    while (s.len > 1 && s.p[0] == '0')
        s = cf_str_sub(s, 1, s.len - 1);
    if (s.len != ll)
        return s.len < ll;
    return memcmp(s.p, lim, ll) <= 0;
}

static bool all_digits(cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return s.len > 0;
}

static uint64_t value(cf_str s)
{
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++)
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    return v;
}

static void numbers(cf_str s)
{
    uint64_t u;
    int64_t i;
    bool ok = all_digits(s) && digits_le(s, "18446744073709551615");
    FUZZ_CHECK(cf_str_to_u64(s, &u) == ok);
    if (ok)
        FUZZ_CHECK(u == value(s));

    bool neg = s.len > 0 && s.p[0] == '-';
    cf_str m = neg ? cf_str_sub(s, 1, s.len - 1) : s;
    ok = all_digits(m) && digits_le(m, neg ? "9223372036854775808" : "9223372036854775807");
    FUZZ_CHECK(cf_str_to_i64(s, &i) == ok);
    if (ok) {
        uint64_t v = value(m);
        FUZZ_CHECK(neg ? (uint64_t)0 - (uint64_t)i == v : (uint64_t)i == v);
    }
}

static void hex(cf_str s)
{
    uint8_t out[512];
    char back[1025];
    size_t n = s.len / 2;
    bool ok = s.len % 2 == 0 && n <= sizeof(out);
    for (size_t i = 0; ok && i < s.len; i++) {
        char c = s.p[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    if (n > sizeof(out))
        return;
    FUZZ_CHECK(cf_str_hex_decode(s, out, n) == ok);
    if (!ok)
        return;
    cf_hex_encode(out, n, back);
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        FUZZ_CHECK(back[i] == c);
    }
}

static void slices(cf_str s)
{
    cf_str t = cf_str_trim(s), head, tail;
    ptrdiff_t at;
    FUZZ_CHECK(t.len <= s.len && fuzz_inside(t, s.p, s.len));
    if (t.len) {
        FUZZ_CHECK(t.p[0] != ' ' && t.p[0] != '\t');
        FUZZ_CHECK(t.p[t.len - 1] != ' ' && t.p[t.len - 1] != '\t');
    }
    at = cf_str_find(s, '=');
    if (cf_str_cut(s, '=', &head, &tail)) {
        FUZZ_CHECK(at >= 0 && head.len == (size_t)at && head.len + 1 + tail.len == s.len);
        FUZZ_CHECK(memchr(head.p, '=', head.len) == NULL);
    } else {
        FUZZ_CHECK(at == -1 && head.len == s.len && tail.len == 0);
    }
    FUZZ_CHECK(cf_str_cmp(s, s) == 0 && cf_str_eq(s, s));
    FUZZ_CHECK((cf_str_cmp(s, t) == 0) == cf_str_eq(s, t));
    FUZZ_CHECK((cf_str_cmp(s, t) < 0) == (cf_str_cmp(t, s) > 0));
    FUZZ_CHECK(cf_ct_eq(s.p, s.len, t.p, t.len) == cf_str_eq(s, t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_str s = cf_str_make((const char *)data, size);
    if (cf_utf8_valid(s) != ref_utf8(data, size)) {
        fprintf(stderr, "cf_utf8_valid says %d, the reference %d\n", cf_utf8_valid(s),
                ref_utf8(data, size));
        abort();
    }
    numbers(s);
    hex(s);
    slices(s);
    return 0;
}
