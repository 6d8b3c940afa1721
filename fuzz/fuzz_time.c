/* Time parsers and formatters: X-Amz-Date (ISO 8601 basic), HTTP dates (IMF-fixdate, RFC 850,
 * asctime) and ISO 8601 with fraction. Input: any bytes, parsed by all three; the first 8
 * bytes are also an instant to format.
 * Properties:
 *  - an X-Amz-Date that parses to an instant the formatter covers (1970..9999) formats back
 *    to the same text; one before 1970 is negative;
 *  - an ISO 8601 time formats to text that parses to the same instant; HTTP dates likewise,
 *    at whole seconds;
 *  - every instant formats in each form to text of the fixed width that parses back to the
 *    instant clamped to 1970..9999 (whole seconds for the second-precision forms). */
#include "fuzz.h"

#define MAX_MS INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static int64_t clamp(int64_t ms)
{
    return ms < 0 ? 0 : ms > MAX_MS ? MAX_MS : ms;
}

static int64_t floor_s(int64_t ms)
{
    return ms - ms % 1000; /* ms >= 0 here */
}

static void format_all(int64_t ms)
{
    char amz[17], http[30], iso[25];
    int64_t t, c = clamp(ms);
    cf_time_amz(ms, amz);
    cf_time_http(ms, http);
    cf_time_iso8601(ms, iso);
    FUZZ_CHECK(strlen(amz) == 16 && strlen(http) == 29 && strlen(iso) == 24);
    FUZZ_CHECK(cf_time_parse_amz(cf_str_c(amz), &t) && t == floor_s(c));
    FUZZ_CHECK(cf_time_parse_http(cf_str_c(http), &t) && t == floor_s(c));
    FUZZ_CHECK(cf_time_parse_iso8601(cf_str_c(iso), &t) && t == c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_str s = cf_str_make((const char *)data, size);
    int64_t ms, t;
    char buf[30];

    if (cf_time_parse_amz(s, &ms)) {
        FUZZ_CHECK(size == 16);
        if (ms >= 0) {
            cf_time_amz(ms, buf);
            FUZZ_CHECK(memcmp(buf, data, 16) == 0);
        } else {
            FUZZ_CHECK(memcmp(data, "1970", 4) < 0);
        }
        format_all(ms);
    }
    if (cf_time_parse_iso8601(s, &ms)) {
        if (ms >= 0 && ms <= MAX_MS) {
            cf_time_iso8601(ms, buf);
            FUZZ_CHECK(cf_time_parse_iso8601(cf_str_c(buf), &t) && t == ms);
        }
        format_all(ms);
    }
    if (cf_time_parse_http(s, &ms)) {
        FUZZ_CHECK(ms % 1000 == 0);
        if (ms >= 0 && ms <= MAX_MS) {
            cf_time_http(ms, buf);
            FUZZ_CHECK(cf_time_parse_http(cf_str_c(buf), &t) && t == ms);
        }
        format_all(ms);
    }
    if (size >= 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | data[i];
        format_all((int64_t)u);
        /* Instants near the range are the interesting ones. */
        format_all((int64_t)(u % (uint64_t)(MAX_MS + 2)) - 1);
    }
    return 0;
}
