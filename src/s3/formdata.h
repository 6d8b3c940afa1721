/* Streaming multipart/form-data reader (RFC 7578) for browser form uploads (S3 POST Object).
 * The fields before the part named "file" are collected, with hard limits; the file's bytes
 * go to a callback as they arrive and are never buffered whole; everything after the file
 * part is ignored, as S3 does. The delimiter is found across any split of the input (a
 * held-back partial match is always a prefix of the delimiter, so it needs no buffer). */
#ifndef COFFER_S3_FORMDATA_H
#define COFFER_S3_FORMDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/s3err.h"
#include "core/str.h"

#define CF_FORM_BOUNDARY_MAX     70          /* RFC 2046 */
#define CF_FORM_FIELD_MAX        (64u << 10) /* one field's value */
#define CF_FORM_PREDATA_MAX      (1u << 20)  /* every byte before the file's first byte */
#define CF_FORM_MAX_FIELDS       1000
#define CF_FORM_HEADER_LINE_MAX  8192 /* one part header line */
#define CF_FORM_MAX_PART_HEADERS 32

typedef struct cf_form cf_form;

/* Callbacks; a return other than CF_S3_OK stops the reader, and cf_form_feed and
 * cf_form_finish return it from then on. */
typedef struct cf_form_cb {
    /* The file part's headers are in: every field before it is known (cf_form_fields,
     * cf_form_filename). */
    cf_s3err (*file_begin)(void *ctx, cf_form *f);
    /* The next bytes of the file, in order. */
    cf_s3err (*file_data)(void *ctx, const char *p, size_t n);
    /* The delimiter after the file's last byte was seen. */
    cf_s3err (*file_end)(void *ctx);
} cf_form_cb;

/* The boundary of a Content-Type value "multipart/form-data; boundary=..." (quoted or not),
 * as a slice of content_type or of arena memory. PreconditionFailed when the media type is
 * another one (S3: "Bucket POST must be of the enclosure-type multipart/form-data"),
 * MalformedPOSTRequest when the boundary is missing or invalid. */
cf_s3err cf_form_boundary(cf_arena *a, cf_str content_type, cf_str *boundary);

/* A reader in arena a (which owns everything it returns); NULL when out of memory. cb and
 * ctx must outlive it. */
cf_form *cf_form_new(cf_arena *a, cf_str boundary, const cf_form_cb *cb, void *ctx);

/* Feeds the next n body bytes. Errors: MalformedPOSTRequest, MaxPostPreDataLengthExceededError
 * (a field over CF_FORM_FIELD_MAX, more than CF_FORM_PREDATA_MAX bytes or CF_FORM_MAX_FIELDS
 * fields before the file), or a callback's. */
cf_s3err cf_form_feed(cf_form *f, const char *p, size_t n);
/* After the last byte: CF_S3_OK once the file part was complete; IncorrectNumberOfFiles-
 * InPostRequest when the form closed without one; MalformedPOSTRequest when it was cut. */
cf_s3err cf_form_finish(cf_form *f);

/* The fields before the file, in order, names and values as sent (arena memory). */
const cf_kv *cf_form_fields(const cf_form *f, size_t *n);
/* The first field named name (ASCII case-insensitive), or .p NULL. */
cf_str cf_form_field(const cf_form *f, const char *name);
/* The file part's filename parameter (empty if none) and Content-Type (empty if none). */
cf_str cf_form_filename(const cf_form *f);
cf_str cf_form_file_type(const cf_form *f);
/* File bytes handed out so far. */
uint64_t cf_form_file_size(const cf_form *f);

#endif
