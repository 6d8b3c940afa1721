#include "core/clock.h"

#include <string.h>
#include <time.h>

static cf_clock_fn clock_fn;
static void *clock_ctx;
static int64_t clock_offset;

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cf_now_ms(void)
{
    if (clock_fn)
        return clock_fn(clock_ctx);
    return real_ms() + clock_offset;
}

void cf_clock_set(cf_clock_fn fn, void *ctx)
{
    clock_fn = fn;
    clock_ctx = ctx;
}

void cf_clock_set_offset(int64_t offset_ms)
{
    clock_offset = offset_ms;
}

/* ---- formatting ---- */

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wdays_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

#define MIN_MS 0                        /* 1970-01-01T00:00:00.000Z */
#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/* Breaks ms into UTC fields, clamped to years 1970..9999 so every format has fixed width. */
static void split(int64_t ms, struct tm *tm, int *msec)
{
    time_t t;
    if (ms < MIN_MS)
        ms = MIN_MS;
    if (ms > MAX_MS)
        ms = MAX_MS;
    t = (time_t)(ms / 1000);
    *msec = (int)(ms % 1000);
    gmtime_r(&t, tm);
}

static char *put(char *o, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

static char *putl(char *o, const char *lit)
{
    size_t n = strlen(lit);
    memcpy(o, lit, n);
    return o + n;
}

void cf_time_amz(int64_t ms, char out[17])
{
    struct tm tm;
    int msec;
    char *o = out;
    split(ms, &tm, &msec);
    o = put(o, tm.tm_year + 1900, 4);
    o = put(o, tm.tm_mon + 1, 2);
    o = put(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = put(o, tm.tm_hour, 2);
    o = put(o, tm.tm_min, 2);
    o = put(o, tm.tm_sec, 2);
    *o++ = 'Z';
    *o = '\0';
}

void cf_time_http(int64_t ms, char out[30])
{
    struct tm tm;
    int msec;
    char *o = out;
    split(ms, &tm, &msec);
    o = putl(o, wdays[tm.tm_wday]);
    o = putl(o, ", ");
    o = put(o, tm.tm_mday, 2);
    *o++ = ' ';
    o = putl(o, months[tm.tm_mon]);
    *o++ = ' ';
    o = put(o, tm.tm_year + 1900, 4);
    *o++ = ' ';
    o = put(o, tm.tm_hour, 2);
    *o++ = ':';
    o = put(o, tm.tm_min, 2);
    *o++ = ':';
    o = put(o, tm.tm_sec, 2);
    o = putl(o, " GMT");
    *o = '\0';
}

void cf_time_iso8601(int64_t ms, char out[25])
{
    struct tm tm;
    int msec;
    char *o = out;
    split(ms, &tm, &msec);
    o = put(o, tm.tm_year + 1900, 4);
    *o++ = '-';
    o = put(o, tm.tm_mon + 1, 2);
    *o++ = '-';
    o = put(o, tm.tm_mday, 2);
    *o++ = 'T';
    o = put(o, tm.tm_hour, 2);
    *o++ = ':';
    o = put(o, tm.tm_min, 2);
    *o++ = ':';
    o = put(o, tm.tm_sec, 2);
    *o++ = '.';
    o = put(o, msec, 3);
    *o++ = 'Z';
    *o = '\0';
}

/* ---- parsing: a cursor over the slice; every step checks bounds ---- */

typedef struct cur {
    const char *p;
    size_t len, i;
} cur;

static bool digits(cur *c, size_t n, int *out)
{
    int v = 0;
    if (c->len - c->i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char ch = c->p[c->i + k];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    c->i += n;
    *out = v;
    return true;
}

static bool lit(cur *c, const char *s)
{
    size_t n = strlen(s);
    if (c->len - c->i < n || memcmp(c->p + c->i, s, n) != 0)
        return false;
    c->i += n;
    return true;
}

/* Matches one of the names exactly (case-sensitive, as the grammars say); index or -1. */
static int name(cur *c, const char *const *names, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        size_t n = strlen(names[k]);
        if (c->len - c->i >= n && memcmp(c->p + c->i, names[k], n) == 0) {
            c->i += n;
            return (int)k;
        }
    }
    return -1;
}

static int month(cur *c)
{
    const char *m[12];
    for (int k = 0; k < 12; k++)
        m[k] = months[k];
    return name(c, m, 12);
}

static int wday_short(cur *c)
{
    const char *w[7];
    for (int k = 0; k < 7; k++)
        w[k] = wdays[k];
    return name(c, w, 7);
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Validates the fields and converts; no normalisation of out-of-range values. */
static bool to_ms(int year, int mon, int day, int hh, int mm, int ss, int msec, int64_t *ms)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm;
    time_t t;
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || hh > 23 || mm > 59 || ss > 59)
        return false;
    if (day > mdays[mon - 1] + (mon == 2 && leap(year)))
        return false;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    t = timegm(&tm);
    *ms = (int64_t)t * 1000 + msec;
    return true;
}

static bool hms(cur *c, int *hh, int *mm, int *ss)
{
    return digits(c, 2, hh) && lit(c, ":") && digits(c, 2, mm) && lit(c, ":") && digits(c, 2, ss);
}

bool cf_time_parse_amz(cf_str s, int64_t *ms)
{
    cur c = {s.p, s.len, 0};
    int y, mo, d, hh, mm, ss;
    if (!(digits(&c, 4, &y) && digits(&c, 2, &mo) && digits(&c, 2, &d) && lit(&c, "T") &&
          digits(&c, 2, &hh) && digits(&c, 2, &mm) && digits(&c, 2, &ss) && lit(&c, "Z")))
        return false;
    return c.i == c.len && to_ms(y, mo, d, hh, mm, ss, 0, ms);
}

bool cf_time_parse_iso8601(cf_str s, int64_t *ms)
{
    cur c = {s.p, s.len, 0};
    int y, mo, d, hh, mm, ss, frac = 0;
    if (!(digits(&c, 4, &y) && lit(&c, "-") && digits(&c, 2, &mo) && lit(&c, "-") &&
          digits(&c, 2, &d) && lit(&c, "T") && hms(&c, &hh, &mm, &ss)))
        return false;
    /* Optional fraction of 1..9 digits; sub-millisecond digits are dropped. */
    if (lit(&c, ".")) {
        size_t nd = 0;
        while (c.i < c.len && c.p[c.i] >= '0' && c.p[c.i] <= '9') {
            if (nd < 3)
                frac = frac * 10 + (c.p[c.i] - '0');
            nd++;
            c.i++;
        }
        if (nd == 0 || nd > 9)
            return false;
        for (; nd < 3; nd++)
            frac *= 10;
    }
    if (!lit(&c, "Z") || c.i != c.len)
        return false;
    return to_ms(y, mo, d, hh, mm, ss, frac, ms);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf(cur c, int64_t *ms)
{
    int d, mo, y, hh, mm, ss;
    if (wday_short(&c) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, " ") ||
        (mo = month(&c)) < 0 || !lit(&c, " ") || !digits(&c, 4, &y) || !lit(&c, " ") ||
        !hms(&c, &hh, &mm, &ss) || !lit(&c, " GMT") || c.i != c.len)
        return false;
    return to_ms(y, mo + 1, d, hh, mm, ss, 0, ms);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool parse_rfc850(cur c, int64_t *ms)
{
    int d, mo, y, hh, mm, ss;
    if (name(&c, wdays_long, 7) < 0 || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, "-") ||
        (mo = month(&c)) < 0 || !lit(&c, "-") || !digits(&c, 2, &y) || !lit(&c, " ") ||
        !hms(&c, &hh, &mm, &ss) || !lit(&c, " GMT") || c.i != c.len)
        return false;
    /* Two-digit years: 70..99 are 19xx, the rest 20xx. */
    y += y >= 70 ? 1900 : 2000;
    return to_ms(y, mo + 1, d, hh, mm, ss, 0, ms);
}

/* "Sun Nov  6 08:49:37 1994" */
static bool parse_asctime(cur c, int64_t *ms)
{
    int d, mo, y, hh, mm, ss;
    if (wday_short(&c) < 0 || !lit(&c, " ") || (mo = month(&c)) < 0 || !lit(&c, " "))
        return false;
    if (lit(&c, " ")) {
        if (!digits(&c, 1, &d))
            return false;
    } else if (!digits(&c, 2, &d)) {
        return false;
    }
    if (!lit(&c, " ") || !hms(&c, &hh, &mm, &ss) || !lit(&c, " ") || !digits(&c, 4, &y) ||
        c.i != c.len)
        return false;
    return to_ms(y, mo + 1, d, hh, mm, ss, 0, ms);
}

bool cf_time_parse_http(cf_str s, int64_t *ms)
{
    cur c = {s.p, s.len, 0};
    if (!s.p)
        return false;
    return parse_imf(c, ms) || parse_rfc850(c, ms) || parse_asctime(c, ms);
}
