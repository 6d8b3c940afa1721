/* AWS Signature Version 2 for S3 (HMAC-SHA1): the "Authorization: AWS AKID:signature" header
 * and presigned query strings (AWSAccessKeyId, Signature, Expires), as sent by botocore's
 * HmacV1Auth / HmacV1QueryAuth (Debian 12's boto3 presigns with V2 by default) and older
 * tools. Pure functions over slices: nothing here knows HTTP or storage.
 *
 * V2 signs no payload hash, so a V2 request cannot use aws-chunked streaming; the S3 layer
 * refuses STREAMING-* x-amz-content-sha256 values for it. */
#ifndef COFFER_AUTH_SIGV2_H
#define COFFER_AUTH_SIGV2_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/rc.h"
#include "core/s3err.h"
#include "core/str.h"

#define CF_SIGV2_MAX_SKEW_MS   (15 * 60 * 1000)
#define CF_SIGV2_MAX_EXPIRES_S 604800       /* S3 sets no limit for V2; we cap it like V4 */
#define CF_SIGV2_MAX_STS       (256u << 10) /* larger strings to sign are refused */
#define CF_SIGV2_SIG_B64_LEN   28           /* base64 of a 20-byte HMAC-SHA1 */

/* What a request claims about its signature. Slices point into the caller's input. */
typedef struct cf_sigv2_auth {
    bool presigned;
    cf_str access_key;
    cf_str signature;  /* base64, as sent (from the decoded query when presigned) */
    cf_str expires;    /* presigned: the Expires value as sent; it is what gets signed */
    int64_t expires_s; /* presigned: Expires as Unix seconds */
} cf_sigv2_auth;

/* The request as signed. */
typedef struct cf_sigv2_request {
    cf_str method;
    cf_str path;          /* raw path from the request line (still percent-encoded) */
    cf_str vhost_bucket;  /* bucket named by the Host header (virtual-hosted style); empty
                           * for path style */
    cf_str query;         /* raw query string after '?' (still percent-encoded), or empty */
    const cf_kv *headers; /* as received: any case, repeats allowed, values raw */
    size_t nheaders;
} cf_sigv2_request;

/* True when the Authorization header value is the V2 form ("AWS " ...). */
bool cf_sigv2_is_header(cf_str authorization);
/* True when the decoded query carries V2 presign parameters (AWSAccessKeyId or Signature). */
bool cf_sigv2_is_query(const cf_kv *query, size_t nquery);

/* Parse "AWS AKID:base64signature". On failure *why (if non-NULL) gets a static message:
 * InvalidArgument. */
cf_s3err cf_sigv2_parse_header(cf_str authorization, cf_sigv2_auth *out, const char **why);
/* Parse AWSAccessKeyId, Signature and Expires (Unix seconds) from the decoded query: all
 * three once each, non-empty. AccessDenied with a static *why otherwise. */
cf_s3err cf_sigv2_parse_query(const cf_kv *query, size_t nquery, cf_sigv2_auth *out,
                              const char **why);

/* Builds the string to sign into out (reset first):
 *   Method \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource
 * Date is Expires when presigned, empty when an x-amz-date header is present, else the Date
 * header. Amz headers: x-amz-* lowercased, sorted, values trimmed, repeats joined with ','.
 * When presigned, x-amz-*, Content-MD5 and Content-Type query parameters (botocore moves
 * them there) count as headers, unless a real header of that name is present.
 * Resource: ["/" vhost_bucket] raw path, then the sub-resources in the query (acl, uploads,
 * versionId, response-*, ...: AWS's list plus botocore's) sorted by name, values decoded.
 * CF_ETOOBIG past out's max or CF_SIGV2_MAX_STS. */
cf_rc cf_sigv2_string_to_sign(const cf_sigv2_request *r, const cf_sigv2_auth *a, cf_buf *out);

/* base64(HMAC-SHA1(secret, sts)) into out (NUL-terminated). CF_ENOMEM if hashing fails. */
cf_rc cf_sigv2_sign(cf_str secret, cf_str sts, char out[CF_SIGV2_SIG_B64_LEN + 1]);

/* The time rules alone. Presigned: AccessDenied when now is past Expires or Expires is more
 * than CF_SIGV2_MAX_EXPIRES_S ahead. Header form: AccessDenied without a parseable
 * x-amz-date (preferred) or Date header (HTTP date, "+hhmm" zones allowed), and
 * RequestTimeTooSkewed beyond CF_SIGV2_MAX_SKEW_MS. *why (if non-NULL) gets a static
 * message, or NULL when the error table's message fits. */
cf_s3err cf_sigv2_check_time(const cf_sigv2_request *r, const cf_sigv2_auth *a, int64_t now_ms,
                             const char **why);

typedef struct cf_sigv2_verify_in {
    const cf_sigv2_request *req;
    const cf_sigv2_auth *auth;
    cf_str secret;
    int64_t now_ms;
} cf_sigv2_verify_in;

/* Checks time (cf_sigv2_check_time), then the signature, compared in constant time.
 * Besides the documented string to sign, two forms botocore is known to sign are accepted
 * (both name the same resource): a path-style bucket request "/bucket" signed as "/bucket/",
 * and botocore 1.29's (Debian 12) operations whose URI template carries a literal query
 * (?uploads, ?delete, ?list-type=2, ...) signed as "/bucket[/key]?<literal>[?<sub-resources>]".
 * sts, when non-NULL, gets the documented string to sign (for SignatureDoesNotMatch
 * answers; left empty if it does not fit its max). Errors: those of check_time,
 * SignatureDoesNotMatch, MaxMessageLengthExceeded, InternalError. *why as above. */
cf_s3err cf_sigv2_verify(const cf_sigv2_verify_in *in, cf_buf *sts, const char **why);

#endif
