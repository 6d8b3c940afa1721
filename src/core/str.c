#include "core/str.h"

#include <string.h>

cf_str cf_str_c(const char *s)
{
    cf_str r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

cf_str cf_str_make(const char *p, size_t len)
{
    cf_str r = {p, len};
    return r;
}

bool cf_str_eq(cf_str a, cf_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool cf_str_eq_c(cf_str a, const char *lit)
{
    return cf_str_eq(a, cf_str_c(lit));
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool cf_str_ieq_c(cf_str a, const char *lit)
{
    return cf_str_ieq(a, cf_str_c(lit));
}

bool cf_str_ieq(cf_str a, cf_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

bool cf_str_starts(cf_str s, cf_str prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

bool cf_str_starts_c(cf_str s, const char *prefix)
{
    return cf_str_starts(s, cf_str_c(prefix));
}

int cf_str_cmp(cf_str a, cf_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a.len == b.len)
        return 0;
    return a.len < b.len ? -1 : 1;
}

ptrdiff_t cf_str_find(cf_str s, char c)
{
    const char *q = s.len ? memchr(s.p, c, s.len) : NULL;
    return q ? q - s.p : -1;
}

cf_str cf_str_sub(cf_str s, size_t from, size_t len)
{
    if (from > s.len)
        from = s.len;
    if (len > s.len - from)
        len = s.len - from;
    return cf_str_make(s.p ? s.p + from : s.p, len);
}

cf_str cf_str_trim(cf_str s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

bool cf_str_cut(cf_str s, char sep, cf_str *head, cf_str *tail)
{
    ptrdiff_t i = cf_str_find(s, sep);
    if (i < 0) {
        *head = s;
        *tail = cf_str_make(s.p ? s.p + s.len : s.p, 0);
        return false;
    }
    *head = cf_str_make(s.p, (size_t)i);
    *tail = cf_str_make(s.p + i + 1, s.len - (size_t)i - 1);
    return true;
}

bool cf_str_to_u64(cf_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool cf_str_to_i64(cf_str s, int64_t *out)
{
    bool neg = s.len && s.p[0] == '-';
    uint64_t v;
    if (neg)
        s = cf_str_sub(s, 1, s.len - 1);
    if (!cf_str_to_u64(s, &v))
        return false;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        /* Negate in unsigned space so INT64_MIN does not overflow. */
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool cf_str_hex_decode(cf_str s, uint8_t *out, size_t n)
{
    if (s.len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s.p[2 * i]);
        int lo = hexval((unsigned char)s.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void cf_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool cf_ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        acc |= x[i] ^ y[i];
    return acc == 0;
}

bool cf_utf8_valid(cf_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.len) {
        unsigned c = p[i];
        size_t need;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false; /* continuation byte, C0/C1 overlong lead, or > U+13FFFF */
        }
        if (s.len - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            unsigned cc = p[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}
