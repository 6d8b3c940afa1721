/* AWS Signature Version 4 for S3: parsing of the Authorization header and of presigned
 * query strings, canonical request, string to sign, signing key and verification.
 * Pure functions over slices: nothing here knows HTTP or storage. */
#ifndef COFFER_AUTH_SIGV4_H
#define COFFER_AUTH_SIGV4_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/s3err.h"
#include "core/str.h"

#define CF_SIGV4_ALGO "AWS4-HMAC-SHA256"
#define CF_SIGV4_MAX_SKEW_MS (15 * 60 * 1000)
#define CF_SIGV4_MAX_EXPIRES_S 604800

/* Payload hash sentinels a client may send in x-amz-content-sha256. */
#define CF_PAYLOAD_UNSIGNED "UNSIGNED-PAYLOAD"
#define CF_PAYLOAD_STREAMING "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define CF_PAYLOAD_STREAMING_TRAILER "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define CF_PAYLOAD_STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/* What a request claims about its signature. Slices point into the caller's input. */
typedef struct cf_sigv4_auth {
    bool presigned;
    cf_str access_key;
    cf_str date;    /* YYYYMMDD of the credential scope */
    cf_str region;
    cf_str service;
    cf_str scope;   /* "date/region/service/aws4_request" */
    cf_str signed_headers; /* "host;x-amz-date", as sent */
    cf_str signature;      /* 64 lowercase hex */
    cf_str amz_date;       /* X-Amz-Date (header or query), YYYYMMDDTHHMMSSZ */
    int64_t expires_s;     /* presigned only */
    cf_str security_token; /* X-Amz-Security-Token, if any */
} cf_sigv4_auth;

/* The request as signed. path is the raw path from the request line (still percent-encoded);
 * query holds the decoded parameters; headers are as received (any case, values raw). */
typedef struct cf_sigv4_request {
    cf_str method;
    cf_str path;
    const cf_kv *query;
    size_t nquery;
    const cf_kv *headers;
    size_t nheaders;
    cf_str payload_hash; /* x-amz-content-sha256, or UNSIGNED-PAYLOAD for presigned */
} cf_sigv4_request;

/* Parses "AWS4-HMAC-SHA256 Credential=.../..., SignedHeaders=..., Signature=...". amz_date
 * is the X-Amz-Date header (or Date) value. AuthorizationHeaderMalformed / InvalidArgument
 * on bad input. */
cf_s3err cf_sigv4_parse_header(cf_str authorization, cf_str amz_date, cf_sigv4_auth *out);
/* Parses X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature,
 * -Security-Token from decoded query parameters. AuthorizationQueryParametersError,
 * AccessDenied on bad input. */
cf_s3err cf_sigv4_parse_query(const cf_kv *query, size_t nquery, cf_sigv4_auth *out);

/* Rules for the canonical URI: S3 uses the path as is (encoded once, no normalisation);
 * other AWS services normalise dot segments and encode twice (used by the test vectors). */
typedef enum cf_sigv4_mode { CF_SIGV4_S3 = 0, CF_SIGV4_GENERIC = 1 } cf_sigv4_mode;

/* Builds the canonical request into out (reset first). InvalidRequest / AccessDenied if a
 * signed header is missing; SignatureDoesNotMatch if the path cannot be decoded. */
cf_s3err cf_sigv4_canonical_request(const cf_sigv4_request *r, const cf_sigv4_auth *a,
                                    cf_sigv4_mode mode, cf_buf *out);
/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical>" into out (reset). */
cf_rc cf_sigv4_string_to_sign(cf_str amz_date, cf_str scope, cf_str canonical, cf_buf *out);
void cf_sigv4_signing_key(cf_str secret, cf_str date, cf_str region, cf_str service,
                          uint8_t key[32]);
/* Lowercase hex HMAC-SHA256(key, msg). */
void cf_sigv4_sign(const uint8_t key[32], cf_str msg, char hex[65]);

/* Encodes s per SigV4 (unreserved A-Z a-z 0-9 - _ . ~ kept, the rest %XX uppercase);
 * '/' is kept when keep_slash. */
cf_rc cf_sigv4_uri_encode(cf_str s, bool keep_slash, cf_buf *out);
/* Percent-decodes s into arena memory ('+' stays '+'); false on a bad escape. */
bool cf_uri_decode(cf_arena *a, cf_str s, cf_str *out);
/* Splits a raw query string into decoded parameters (arena memory). A name without '='
 * gets an empty value. False on a bad escape or more than max parameters. */
bool cf_query_parse(cf_arena *a, cf_str raw, size_t max, cf_kv **out, size_t *n);

/* The signing key last derived from one secret and the scope it was for: a client signs all
 * of a day's requests with one key, and deriving it takes four HMACs. Thread-safe; set up
 * with cf_sigv4_keymemo_init, released with cf_sigv4_keymemo_destroy (which wipes it). */
typedef struct cf_sigv4_keymemo {
    pthread_mutex_t lock;
    bool valid;
    char scope[128]; /* date/region/service */
    size_t scope_len;
    uint8_t key[32];
} cf_sigv4_keymemo;
void cf_sigv4_keymemo_init(cf_sigv4_keymemo *m);
void cf_sigv4_keymemo_destroy(cf_sigv4_keymemo *m);

typedef struct cf_sigv4_verify_in {
    const cf_sigv4_request *req;
    const cf_sigv4_auth *auth;
    cf_str secret;
    cf_str region;       /* the server's region; "auto" accepts any */
    int64_t now_ms;
    cf_sigv4_keymemo *memo; /* optional: remembers the signing key derived from secret */
} cf_sigv4_verify_in;

/* Checks scope (service s3, region, date matching X-Amz-Date, aws4_request), time (skew for
 * headers; presigned: 1..604800 s and not expired) and the signature, compared in constant
 * time. On success key gets the signing key (for aws-chunked). canon/sts, when non-NULL,
 * get the canonical request and string to sign (for SignatureDoesNotMatch hints). */
cf_s3err cf_sigv4_verify(const cf_sigv4_verify_in *in, uint8_t key[32], cf_buf *canon,
                         cf_buf *sts);

#endif
