/* Browser form uploads (S3 POST Object): the signature fields of a form, the base64 policy
 * document they sign, and its conditions checked against the form. Signature Version 4
 * (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature = hex HMAC-SHA256 of the
 * base64 policy under the SigV4 signing key) and, as older SDKs still send it, Version 2
 * (AWSAccessKeyId, signature = base64 HMAC-SHA1 of the base64 policy). Pure functions over
 * slices: the caller looks the credential up and reads the form. */
#ifndef COFFER_AUTH_POST_POLICY_H
#define COFFER_AUTH_POST_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/s3err.h"
#include "core/str.h"

typedef enum cf_post_op { CF_POST_EQ, CF_POST_STARTS_WITH, CF_POST_LENGTH_RANGE } cf_post_op;

typedef struct cf_post_cond {
    cf_post_op op;
    cf_str field;      /* the form field without "$", as written (matched case-insensitively) */
    cf_str value;      /* EQ, STARTS_WITH */
    uint64_t min, max; /* LENGTH_RANGE */
} cf_post_cond;

typedef struct cf_post_policy {
    int64_t expires_ms;
    cf_post_cond *conds;
    size_t nconds;
    bool has_range; /* the intersection of every content-length-range */
    uint64_t min_size, max_size;
} cf_post_policy;

/* The signature fields of a form. Slices point into the fields. */
typedef struct cf_post_auth {
    int version;      /* 4, 2, or 0: the form carries no signature (anonymous) */
    cf_str policy;    /* base64, as sent: what is signed */
    cf_str signature; /* V4: 64 lowercase hex; V2: base64 */
    cf_str access_key;
    cf_str security_token; /* x-amz-security-token, empty if none */
    /* V4 only: x-amz-credential "AKID/YYYYMMDD/region/service/aws4_request", x-amz-date. */
    cf_str date, region, service, amz_date;
} cf_post_auth;

/* Finds and checks the shape of the signature fields (names ASCII case-insensitive).
 * InvalidArgument with *why (static) when one is missing, repeated, mixed between versions
 * or malformed; version 0 when there are none at all. */
cf_s3err cf_post_auth_parse(const cf_kv *fields, size_t n, cf_post_auth *out, const char **why);
/* V4: the credential scope must name service s3, region (unless region is "auto") and the day
 * of x-amz-date. InvalidArgument with *why in arena a. V2: always OK. */
cf_s3err cf_post_auth_check_scope(const cf_post_auth *au, cf_str region, cf_arena *a,
                                  const char **why);
/* Whether the signature is the one secret makes over the policy, compared in constant time:
 * CF_S3_OK or SignatureDoesNotMatch. */
cf_s3err cf_post_auth_verify(const cf_post_auth *au, cf_str secret);

/* Decodes and parses the policy (base64 of JSON {"expiration": ISO 8601, "conditions": [...]};
 * line breaks in the base64 are tolerated). InvalidPolicyDocument with a static *why.
 * Everything lives in arena a. */
cf_s3err cf_post_policy_parse(cf_str policy_b64, cf_arena *a, cf_post_policy *out,
                              const char **why);

/* The form as the policy sees it. */
typedef struct cf_post_form {
    const cf_kv *fields; /* every field before the file, as sent */
    size_t nfields;
    cf_str bucket; /* the request's: what "$bucket" is */
    cf_str key;    /* after ${filename}: what "$key" is */
    int version;   /* which signature fields need no condition (see cf_post_auth) */
} cf_post_form;

/* Expiry against now_ms, then every eq/starts-with condition against the form (a missing
 * field reads as empty; a starts-with on Content-Type holding a comma-separated list must
 * hold for each), then that every field is named by some condition except policy, the
 * signature (x-amz-signature; signature and AWSAccessKeyId for V2), file and x-ignore-*.
 * AccessDenied with *message (arena a) as S3 words it: "Invalid according to Policy: Policy
 * expired." / "...: Policy Condition failed: [\"eq\", \"$key\", \"v\"]" / "...: Extra input
 * fields: name". content-length-range is left to cf_post_policy_check_size. */
cf_s3err cf_post_policy_check(const cf_post_policy *p, const cf_post_form *f, int64_t now_ms,
                              cf_arena *a, const char **message);
/* EntityTooSmall / EntityTooLarge when size is outside the content-length-range. */
cf_s3err cf_post_policy_check_size(const cf_post_policy *p, uint64_t size);

/* key with every "${filename}" replaced by filename, in arena a (key itself when it has
 * none); .p NULL when out of memory. */
cf_str cf_post_expand_key(cf_arena *a, cf_str key, cf_str filename);

#endif
