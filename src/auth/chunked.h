/* Streaming decoder for aws-chunked bodies: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (each chunk
 * signed, signatures chained from the seed signature), its -TRAILER variant (a signed
 * trailer), and STREAMING-UNSIGNED-PAYLOAD-TRAILER (plain chunks, unsigned trailer).
 * Memory is bounded whatever the chunk sizes: data is passed through as it arrives. */
#ifndef COFFER_AUTH_CHUNKED_H
#define COFFER_AUTH_CHUNKED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/s3err.h"
#include "core/str.h"

typedef struct cf_chunked cf_chunked;

typedef struct cf_chunked_params {
    bool signed_chunks; /* chunk-signature= on every chunk line */
    bool trailer;       /* a trailer section follows the final 0-size chunk */
    /* For signed modes: */
    const uint8_t *signing_key; /* 32 bytes */
    cf_str amz_date;
    cf_str scope;
    cf_str seed_signature; /* the request's own signature */
} cf_chunked_params;

/* Receives decoded payload bytes. Return CF_S3_OK to go on, anything else stops decoding. */
typedef cf_s3err (*cf_chunked_sink)(void *ctx, const char *p, size_t n);

/* Allocated in (and freed with) arena a; params' slices are copied. NULL on no memory. */
cf_chunked *cf_chunked_new(cf_arena *a, const cf_chunked_params *params);

/* Feeds wire bytes. Decoded bytes may reach the sink before their chunk's signature is
 * checked: nothing may be published until cf_chunked_finish succeeds. Errors:
 * SignatureDoesNotMatch, IncompleteBody, InvalidArgument (malformed framing), or the sink's. */
cf_s3err cf_chunked_feed(cf_chunked *c, const char *p, size_t n, cf_chunked_sink sink,
                         void *ctx);
/* After the last wire byte: IncompleteBody unless the final chunk (and trailer, whose
 * signature is checked in signed mode) was complete. */
cf_s3err cf_chunked_finish(cf_chunked *c);

/* Trailer fields (names lowercase) after a successful finish. */
size_t cf_chunked_trailers(const cf_chunked *c, const cf_kv **out);
uint64_t cf_chunked_decoded_len(const cf_chunked *c);

#endif
