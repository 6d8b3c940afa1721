#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX ((size_t)64 << 20)
#define MIN_CAP     64

void cf_buf_init(cf_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : DEFAULT_MAX;
}

void cf_buf_free(cf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void cf_buf_reset(cf_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. */
static cf_rc reserve(cf_buf *b, size_t n)
{
    size_t want, cap;
    char *np;
    if (n > b->max || b->len > b->max - n)
        return CF_ETOOBIG;
    want = b->len + n + 1;
    if (want <= b->cap)
        return CF_OK;
    cap = b->cap ? b->cap : MIN_CAP;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    /* Never allocate more than max bytes of content (+1 for the NUL). */
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1;
    np = realloc(b->p, cap);
    if (!np)
        return CF_ENOMEM;
    b->p = np;
    b->cap = cap;
    return CF_OK;
}

cf_rc cf_buf_append(cf_buf *b, const void *p, size_t n)
{
    cf_rc rc = reserve(b, n);
    if (rc != CF_OK)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return CF_OK;
}

cf_rc cf_buf_append_str(cf_buf *b, cf_str s)
{
    return cf_buf_append(b, s.p, s.len);
}

cf_rc cf_buf_append_c(cf_buf *b, const char *s)
{
    return cf_buf_append(b, s, strlen(s));
}

cf_rc cf_buf_append_ch(cf_buf *b, char c)
{
    return cf_buf_append(b, &c, 1);
}

cf_rc cf_buf_vprintf(cf_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    cf_rc rc;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return CF_EINVAL;
    rc = reserve(b, (size_t)n);
    if (rc != CF_OK)
        return rc;
    va_copy(ap2, ap);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return CF_OK;
}

cf_rc cf_buf_printf(cf_buf *b, const char *fmt, ...)
{
    va_list ap;
    cf_rc rc;
    va_start(ap, fmt);
    rc = cf_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

cf_rc cf_buf_append_xml(cf_buf *b, cf_str s)
{
    size_t old = b->len;
    size_t start = 0;
    cf_rc rc = CF_OK;
    if (s.len == 0)
        return CF_OK; /* also for an absent (NULL) slice */
    for (size_t i = 0; i < s.len && rc == CF_OK; i++) {
        const char *rep;
        char ref[8]; /* outlives the switch: rep may point at it */
        switch (s.p[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default: {
            unsigned char c = (unsigned char)s.p[i];
            /* A raw CR would reach the client as LF (XML end-of-line handling). */
            if (c != 0 && c < 0x20 && c != '\t' && c != '\n') {
                /* As S3 writes them; clients that cannot read these use encoding-type=url. */
                snprintf(ref, sizeof ref, "&#x%X;", c);
                rep = ref;
                break;
            }
            /* NUL has no XML form at all, not even as a reference: U+FFFD below. */
            if (c < 0x80 && c != 0)
                continue;
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            /* U+FFFE and U+FFFF are valid UTF-8 but not XML characters. */
            bool nonchar = n == 3 && i + 2 < s.len && c == 0xEF && (unsigned char)s.p[i + 1] == 0xBF &&
                           ((unsigned char)s.p[i + 2] == 0xBE || (unsigned char)s.p[i + 2] == 0xBF);
            if (n > 1 && !nonchar && i + n <= s.len && cf_utf8_valid(cf_str_make(s.p + i, n))) {
                i += n - 1;
                continue;
            }
            /* Never emit malformed UTF-8 or a non-character: the document would not parse. */
            rc = cf_buf_append(b, s.p + start, i - start);
            if (rc == CF_OK)
                rc = cf_buf_append_c(b, "\xEF\xBF\xBD"); /* U+FFFD */
            if (nonchar)
                i += 2;
            start = i + 1;
            continue;
        }
        }
        rc = cf_buf_append(b, s.p + start, i - start);
        if (rc == CF_OK)
            rc = cf_buf_append_c(b, rep);
        start = i + 1;
    }
    if (rc == CF_OK)
        rc = cf_buf_append(b, s.p + start, s.len - start);
    /* All or nothing: a failed append leaves the buffer as it was. */
    if (rc != CF_OK) {
        b->len = old;
        if (b->p)
            b->p[old] = '\0';
    }
    return rc;
}

cf_str cf_buf_str(const cf_buf *b)
{
    return cf_str_make(b->p ? b->p : "", b->len);
}

char *cf_buf_take(cf_buf *b, size_t *len)
{
    char *p = b->p;
    if (!p)
        p = calloc(1, 1);
    if (len)
        *len = p ? b->len : 0;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
