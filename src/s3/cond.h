/* HTTP semantics S3 uses on reads and copies, as pure functions: byte ranges and
 * conditional requests. */
#ifndef COFFER_S3_COND_H
#define COFFER_S3_COND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

typedef enum cf_range_rc {
    CF_RANGE_NONE = 0,      /* no usable Range: send the whole object (also for syntax errors
                               and multiple ranges, which S3 ignores) */
    CF_RANGE_OK,            /* *off and *len describe the part to send (206) */
    CF_RANGE_UNSATISFIABLE, /* 416 InvalidRange */
} cf_range_rc;

/* Parses a Range header value ("bytes=a-b", "bytes=a-", "bytes=-n") against an object of
 * size bytes. An end past the object is clamped. */
cf_range_rc cf_range_parse(cf_str header, uint64_t size, uint64_t *off, uint64_t *len);

/* Whether an If-Match / If-None-Match list ("*", "\"etag\"", W/"etag", comma-separated)
 * matches the object's etag (given without quotes). */
bool cf_etag_list_match(cf_str list, cf_str etag);

typedef enum cf_cond_rc {
    CF_COND_PASS = 0,
    CF_COND_NOT_MODIFIED,       /* 304 */
    CF_COND_PRECONDITION_FAILED /* 412 */
} cf_cond_rc;

typedef struct cf_cond_headers {
    cf_str if_match; /* .p NULL when absent */
    cf_str if_none_match;
    cf_str if_modified_since;
    cf_str if_unmodified_since;
} cf_cond_headers;

/* RFC 7232 section 6 order, as S3 applies it: If-Match (else If-Unmodified-Since), then
 * If-None-Match (else If-Modified-Since). Dates compare at whole seconds; unparsable dates
 * are ignored. For CopyObject's x-amz-copy-source-if-* pass copy=true: a failed
 * none-match/modified-since is then 412 as S3 answers, not 304. */
cf_cond_rc cf_cond_eval(const cf_cond_headers *h, cf_str etag, int64_t mtime_ms, bool copy);

#endif
