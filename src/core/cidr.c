#include "core/cidr.h"

#include <arpa/inet.h>
#include <string.h>

static bool parse_addr(cf_str s, uint8_t out[16], bool *v6)
{
    char tmp[64];
    /* inet_pton stops at a NUL: "10.0.0.1\0junk" must not read as 10.0.0.1. */
    if (s.len == 0 || s.len >= sizeof tmp || memchr(s.p, 0, s.len) != NULL)
        return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = 0;
    memset(out, 0, 16);
    if (inet_pton(AF_INET, tmp, out) == 1) {
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, tmp, out) == 1) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(out, mapped, 12) == 0) {
            memmove(out, out + 12, 4);
            memset(out + 4, 0, 12);
            *v6 = false;
            return true;
        }
        *v6 = true;
        return true;
    }
    return false;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool cf_cidr_parse(cf_str s, bool loose, cf_cidr *out)
{
    cf_str a, b;
    uint64_t bits;
    bool has_len = cf_str_cut(s, '/', &a, &b);
    memset(out, 0, sizeof *out);
    if (!parse_addr(a, out->addr, &out->v6))
        return false;
    /* A v4-mapped v6 text with a v6 prefix length would be ambiguous: refuse it. */
    if (!out->v6 && cf_str_find(a, ':') >= 0 && has_len)
        return false;
    unsigned max = out->v6 ? 128 : 32;
    if (!has_len)
        bits = max;
    else if (!cf_str_to_u64(b, &bits) || bits > max || b.len > 3)
        return false;
    out->bits = (uint8_t)bits;
    if (!loose) {
        /* Every bit past the prefix must be zero: "10.1.2.3/8" is almost always a typo. */
        for (unsigned i = out->bits; i < max; i++)
            if (out->addr[i / 8] & (0x80u >> (i % 8)))
                return false;
    }
    return true;
}

bool cf_cidr_contains(const cf_cidr *n, cf_str ip)
{
    uint8_t a[16];
    bool v6;
    if (!parse_addr(ip, a, &v6) || v6 != n->v6)
        return false;
    return prefix_eq(a, n->addr, n->bits);
}
