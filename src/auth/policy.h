/* IAM policies: the subset people use, parsed once and evaluated per request.
 *
 * Supported: Version "2012-10-17" (or "2008-10-17"); Statement as an object or an array;
 * Sid; Effect Allow|Deny; Action / NotAction (string or array, '*' and '?' wildcards,
 * service prefix case-insensitive: "s3:GetObject", "s3:*", "admin:*", "*"); Resource /
 * NotResource (ARNs "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/prefix/" with a trailing star, "*"; admin
 * resources "arn:coffer:admin:::credential/<id>", "arn:coffer:admin:::bucket/<name>");
 * Condition with operators StringEquals, StringNotEquals, StringLike, StringNotLike,
 * IpAddress, NotIpAddress, DateLessThan, DateLessThanEquals, DateGreaterThan,
 * DateGreaterThanEquals, Bool, NumericLessThanEquals... (see policy.c), on the keys
 * aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:SecureTransport, s3:prefix,
 * s3:delimiter, s3:max-keys, and the ...IfExists forms. Anything else is refused at parse
 * time with a message naming the field: a policy never silently means less than it says. */
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
    char field[128];   /* JSON path of the bad element, e.g. "Statement[1].Condition" */
    char message[256]; /* what is wrong, for a human */
} cf_policy_error;

#define CF_POLICY_MAX_BYTES (64u << 10)

/* Parses and validates policy JSON. CF_EINVAL with err filled on any problem. */
cf_rc cf_policy_parse(cf_arena *a, cf_str json, cf_policy **out, cf_policy_error *err);

/* What a request asks for. Condition values not known for a request are left .p NULL (then
 * a condition on that key does not match, except with ...IfExists). */
typedef struct cf_authz_req {
    cf_str action;     /* "s3:GetObject" */
    cf_str resource;   /* "arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket", "*" */
    cf_str source_ip;  /* textual IPv4 or IPv6 */
    int64_t now_ms;
    bool secure_transport;
    cf_str s3_prefix;    /* ListBucket's prefix parameter */
    cf_str s3_delimiter;
    cf_str s3_max_keys;
} cf_authz_req;

typedef enum cf_policy_decision {
    CF_POLICY_IMPLICIT_DENY = 0, /* no statement matched */
    CF_POLICY_ALLOW,
    CF_POLICY_DENY, /* an explicit Deny matched: wins over every Allow */
} cf_policy_decision;

cf_policy_decision cf_policy_eval(const cf_policy *p, const cf_authz_req *r);

/* Whether some Allow statement could grant any action on the bucket or any of its objects
 * (ignoring conditions), and no unconditional Deny of s3:* on all of it: used to filter
 * ListBuckets to the buckets a credential may touch. */
bool cf_policy_may_touch_bucket(const cf_policy *p, cf_str bucket);

/* Conservative containment for delegation: true only if every request child allows is
 * allowed by parent, judged statement by statement (every child Allow statement must be
 * covered by one parent Allow statement whose action and resource patterns contain the
 * child's and whose conditions are absent or identical; parent Deny statements are
 * inherited at request time anyway). On false, err says which child statement exceeds. */
bool cf_policy_within(const cf_policy *child, const cf_policy *parent, cf_policy_error *err);

/* Glob containment: every string matched by pattern a is matched by pattern b ('*' any run,
 * '?' one character). Exposed for tests. */
bool cf_glob_within(cf_str a, cf_str b);
bool cf_glob_match(cf_str pattern, cf_str s); /* '*' and '?'; case-sensitive */

/* The shorthand of the credentials API:
 *   {"permission": "admin-read-write" | "admin-read-only" | "object-read-write" |
 *    "object-read-only", "buckets": ["b1", ...], "prefixes": ["p/", ...]}
 * expanded to a full policy JSON (into out, reset first). buckets empty or absent means all
 * buckets ("*"); prefixes restrict object actions to those key prefixes and ListBucket to
 * s3:prefix StringLike "p/" plus a star (and the prefix itself). admin-* levels also grant the admin:
 * actions (read-only: the Get/List ones). Every level grants s3:ListAllMyBuckets (listing
 * is filtered). CF_EINVAL with err naming the field (e.g. "buckets[2]") on bad input:
 * unknown permission, invalid bucket name, prefix with '*' or '?', unknown keys. */
cf_rc cf_policy_from_shorthand(cf_str shorthand_json, cf_buf *out, cf_policy_error *err);

#endif
