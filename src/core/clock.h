/* The injectable clock. Everything time-dependent asks cf_now_ms(); tests move it. */
#ifndef COFFER_CORE_CLOCK_H
#define COFFER_CORE_CLOCK_H

#include <stdint.h>

typedef int64_t (*cf_clock_fn)(void *ctx);

/* Milliseconds since the Unix epoch, from the installed clock (the real one by default). */
int64_t cf_now_ms(void);
/* Installs a clock; NULL restores the real one. Not thread-safe: call before serving. */
void cf_clock_set(cf_clock_fn fn, void *ctx);
/* A fixed offset in ms added to the real clock (for --debug-clock-offset in tests). */
void cf_clock_set_offset(int64_t offset_ms);

/* Formats: "20130524T000000Z" (16+1), "Fri, 24 May 2013 00:00:00 GMT" (29+1),
 * "2013-05-24T00:00:00.000Z" (24+1). out must hold the given size. */
void cf_time_amz(int64_t ms, char out[17]);
void cf_time_http(int64_t ms, char out[30]);
void cf_time_iso8601(int64_t ms, char out[25]);
/* Parses the same formats (HTTP date also RFC 850 and asctime); false if malformed. */
#include "core/str.h"
bool cf_time_parse_amz(cf_str s, int64_t *ms);
bool cf_time_parse_http(cf_str s, int64_t *ms);
bool cf_time_parse_iso8601(cf_str s, int64_t *ms);

#endif
