#include "core/names.h"

#include <string.h>

static bool is_ipv4_like(cf_str s)
{
    int dots = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '.')
            dots++;
        else if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    }
    return dots == 3;
}

static bool ends_with(cf_str s, const char *suf)
{
    size_t n = strlen(suf);
    return s.len >= n && memcmp(s.p + s.len - n, suf, n) == 0;
}

/* S3's general purpose bucket naming rules. */
bool cf_bucket_name_valid(cf_str n)
{
    if (n.len < 3 || n.len > 63)
        return false;
    for (size_t i = 0; i < n.len; i++) {
        char c = n.p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n.len - 1) && !alnum)
            return false;
        if (c == '.' && i > 0 && (n.p[i - 1] == '.' || n.p[i - 1] == '-'))
            return false;
        if (c == '-' && i > 0 && n.p[i - 1] == '.')
            return false;
    }
    if (is_ipv4_like(n))
        return false;
    if (cf_str_starts_c(n, "xn--") || cf_str_starts_c(n, "sthree-") ||
        cf_str_starts_c(n, "amzn-s3-demo-"))
        return false;
    if (ends_with(n, "-s3alias") || ends_with(n, "--ol-s3") || ends_with(n, ".mrap") ||
        ends_with(n, "--x-s3"))
        return false;
    return true;
}

