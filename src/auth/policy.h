/* IAM policies: the subset people use, parsed once and evaluated per request.
 *
 * Supported: Version "2012-10-17" (or "2008-10-17"), Id; Statement as an object or an array
 * (1..100); Sid; Effect Allow|Deny; Action / NotAction (string or array of 1..100; "*" or
 * "service:name" with service s3 or admin, '*' and '?' wildcards, matched case-insensitively;
 * an s3: name must match an action of AWS's S3 catalogue, so actions coffer does not implement
 * yet are accepted and typos are not; an admin: name must match one of coffer's actions);
 * Resource / NotResource ("*", ARNs "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/prefix*",
 * admin resources "arn:coffer:admin:::credential/<id>", "arn:coffer:admin:::bucket/<name>";
 * wildcards, matched case-sensitively); Condition with the operators StringEquals,
 * StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike,
 * StringNotLike, Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,
 * GreaterThanEquals}, Date{same six}, Bool, IpAddress, NotIpAddress (IPv4/IPv6 CIDRs, a bare
 * address is /32 or /128), Null, and the ...IfExists forms (not of Null), on the keys
 * aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:SecureTransport, s3:prefix, s3:delimiter,
 * s3:max-keys, s3:if-match, s3:if-none-match, s3:ObjectCreationOperation (key names
 * case-insensitive). Dates are ISO 8601 (2026-01-01T00:00:00Z, with or
 * without fraction or offset; a date alone is midnight UTC) or epoch seconds. Operators AND,
 * keys within an operator AND, values of a key OR; a Not... operator holds on a missing key.
 * Anything else is refused at parse time with a message naming the field (policy variables
 * "${...}", ForAnyValue:/ForAllValues:, Principal, unknown fields): a policy never silently
 * means less than it says.
 *
 * Request resources the callers build (the S3 layer and the admin API must agree on these):
 *   S3 bucket operations "arn:aws:s3:::<bucket>", object operations "arn:aws:s3:::<bucket>/<key>",
 *   ListBuckets (s3:ListAllMyBuckets) "*".
 *   admin credential actions (Get/Update/Delete/Rotate Credential) and GetAudit
 *   "arn:coffer:admin:::credential/<id>" with the id acted on; CreateCredential and
 *   CreateTemporaryCredential the id of the parent the new one is made under;
 *   admin bucket actions (Create/Get/Update/Delete Bucket) "arn:coffer:admin:::bucket/<name>";
 *   admin:ListCredentials and admin:ListBuckets the whole collection, "...:credential/" or
 *   "...:bucket/" followed by a literal '*' (so only "*" or a pattern with '*' there grants
 *   them; the shorthand grants admin:ListBuckets on "*"); listings are filtered by the
 *   caller (buckets with cf_policy_may_touch_bucket, like S3's ListBuckets).
 * Request actions are always "s3:..." or "admin:...": cf_policy_within relies on it. */
#ifndef COFFER_AUTH_POLICY_H
#define COFFER_AUTH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/rc.h"
#include "core/str.h"

typedef struct cf_policy cf_policy; /* parsed; lives in the arena it was parsed into */

typedef struct cf_policy_error {
    char field[128];   /* JSON path of the bad element, e.g. "Statement[1].Condition.IpAddress.
                        * aws:SourceIp[0]"; "" when the document as a whole is at fault */
    char message[256]; /* what is wrong, for a human */
} cf_policy_error;

#define CF_POLICY_MAX_BYTES (64u << 10)

/* Parses and validates policy JSON (at most CF_POLICY_MAX_BYTES) into arena memory; nothing
 * else is kept. CF_EINVAL with err filled on any problem (JSON syntax errors give line and
 * column), CF_ENOMEM. err may be NULL. */
cf_rc cf_policy_parse(cf_arena *a, cf_str json, cf_policy **out, cf_policy_error *err);

/* What a request asks for. Condition values not known for a request are left .p NULL (then
 * a condition on that key does not match, except with ...IfExists and the Not... operators).
 * Set s3_prefix (and s3_delimiter, s3_max_keys) for ListObjects (v1 and v2) and
 * ListMultipartUploads from their query parameters, .p NULL when the parameter is absent:
 * a prefix-scoped credential can list only with a prefix inside its scope. Leave them NULL
 * for every other operation, as S3 does: otherwise "?prefix=u1/" added to a GetObject would
 * satisfy a condition written for listings. A source_ip or s3_max_keys that does not parse
 * satisfies no positive operator (and every Not... one). */
/* A boolean condition key of a request: absent (the zero value) or false or true. */
typedef enum cf_authz_bool { CF_AUTHZ_ABSENT = 0, CF_AUTHZ_FALSE, CF_AUTHZ_TRUE } cf_authz_bool;

typedef struct cf_authz_req {
    cf_str action;    /* "s3:GetObject" */
    cf_str resource;  /* "arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket", "*" */
    cf_str source_ip; /* textual IPv4 or IPv6 */
    int64_t now_ms;
    bool secure_transport;
    cf_str s3_prefix; /* ListBucket's prefix parameter */
    cf_str s3_delimiter;
    cf_str s3_max_keys;
    /* Conditional writes, as S3 sets them: s3:if-match (If-Match of a PutObject,
     * CompleteMultipartUpload, CopyObject or DeleteObject, a DeleteObjects key's ETag) and
     * s3:if-none-match (If-None-Match of the three writes); .p NULL when not sent. */
    cf_str s3_if_match;
    cf_str s3_if_none_match;
    /* s3:ObjectCreationOperation, for s3:PutObject only: true for the requests that make
     * the object (PutObject, CompleteMultipartUpload, CopyObject, POST uploads), false for the
     * steps of a multipart upload (which take no conditional headers). */
    cf_authz_bool s3_object_creation;
} cf_authz_req;

typedef enum cf_policy_decision {
    CF_POLICY_IMPLICIT_DENY = 0, /* no statement matched */
    CF_POLICY_ALLOW,
    CF_POLICY_DENY, /* an explicit Deny matched: wins over every Allow */
} cf_policy_decision;

cf_policy_decision cf_policy_eval(const cf_policy *p, const cf_authz_req *r);

/* Whether some Allow statement could grant an action on the bucket or any of its objects
 * (any s3 action but ListAllMyBuckets on its ARNs, or an admin bucket action on
 * arn:coffer:admin:::bucket/<name>; conditions ignored), and no unconditional Deny of s3:*
 * covers the bucket and all its objects: used to filter ListBuckets (S3 and admin) to the
 * buckets a credential may touch. Check every credential of the chain. */
bool cf_policy_may_touch_bucket(const cf_policy *p, cf_str bucket);

/* Conservative containment for delegation: true only if every request child allows is
 * allowed by parent. Judged per child Allow statement and per (action, resource) pair of it:
 * some parent Allow statement must contain the action and the resource patterns (glob
 * containment; NotAction/NotResource handled against the universe of s3:/admin: actions and
 * "*"/ARN resources) and have conditions implied by the child's (each parent condition implied
 * by one child condition on the same key: same or narrower values, patterns, CIDRs, date and
 * number bounds). Deny statements are ignored: the parent's are enforced at request time
 * anyway, as every request is checked against the whole chain; this is the admission check.
 * Very large policy pairs are judged not within. On false, err names the child statement
 * (field "Statement[i]") and the action and resource that exceed. */
bool cf_policy_within(const cf_policy *child, const cf_policy *parent, cf_policy_error *err);

/* Glob containment: every string matched by pattern a is matched by pattern b ('*' any run,
 * '?' one character). Exposed for tests. */
bool cf_glob_within(cf_str a, cf_str b);
bool cf_glob_match(cf_str pattern, cf_str s); /* '*' and '?'; case-sensitive */

/* The shorthand of the credentials API:
 *   {"permission": "admin-read-write" | "admin-read-only" | "object-read-write" |
 *    "object-read-only", "buckets": ["b1", ...], "prefixes": ["p/", ...]}
 * expanded to a full policy JSON, one line, stable order, with Sids (into out, reset first;
 * the exact table is at the top of policy.c). buckets empty, null or absent means all buckets;
 * prefixes (which need buckets: at most 50, and buckets x prefixes <= 100) restrict object
 * actions to those key prefixes and the listing actions (ListBucket, and
 * ListBucketMultipartUploads at the levels that have it) to s3:prefix StringLike "p" + star
 * and "p"; bucket configuration and admin bucket actions are then not granted. admin-* levels
 * also grant the admin: actions (read-only: admin:Get*, admin:List*), with buckets given
 * limited to arn:coffer:admin:::bucket/<name>, and on credential/<any> for the credential
 * actions. Every level grants s3:ListAllMyBuckets (admin-*: and admin:ListBuckets) on "*"
 * (listing is filtered). CF_EINVAL with err naming the field (e.g. "buckets[2]") on bad
 * input: unknown permission, invalid or duplicate bucket name, empty or duplicate prefix or
 * one with '*', '?' or "${", unknown keys; CF_ETOOBIG if out's maximum is too small. */
cf_rc cf_policy_from_shorthand(cf_str shorthand_json, cf_buf *out, cf_policy_error *err);

#endif
