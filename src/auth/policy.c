// IAM policies: parse (jansson, everything copied into the arena), evaluate (AWS's order:
// an explicit Deny wins, then any Allow, else implicit deny), containment for delegation,
// and the shorthand of the credentials API.
//
// Shorthand expansion. BUCKETS = "arn:aws:s3:::<b>" per bucket ("arn:aws:s3:::*" without
// buckets); OBJECTS = "arn:aws:s3:::<b>/<p>*" per bucket and prefix ("arn:aws:s3:::<b>/*"
// without prefixes, "arn:aws:s3:::*/*" without buckets); LIST = Condition StringLike s3:prefix
// ["<p>*", "<p>" per prefix]. Sids in the order they are emitted:
//
//   level              no prefixes                           with prefixes (need buckets)
//   object-read-only   ObjectRead: GetObject, GetObjectTagging, ListMultipartUploadParts on OBJECTS
//                      BucketRead: ListBucket,               BucketLocation: GetBucketLocation
//                        GetBucketLocation on BUCKETS          on BUCKETS; ListPrefixes:
//                                                              ListBucket on BUCKETS if LIST
//   object-read-write  ObjectReadWrite: the read actions + PutObject, DeleteObject,
//                        AbortMultipartUpload, PutObjectTagging, DeleteObjectTagging on OBJECTS
//                      BucketReadWrite: ListBucket,          BucketLocation as above;
//                        GetBucketLocation,                  ListPrefixes: ListBucket,
//                        ListBucketMultipartUploads            ListBucketMultipartUploads
//                        on BUCKETS                            on BUCKETS if LIST
//   admin-read-only    S3Read: s3:Get*, s3:List* on          S3Read: s3:Get*, s3:List* on
//                        BUCKETS + OBJECTS                     OBJECTS; BucketLocation and
//                                                              ListPrefixes as for read-write
//                      no buckets: AdminRead: admin:Get*, admin:List* on "*"
//                      buckets:    AdminCredentialsRead: admin:Get*, admin:List* on
//                                    "arn:coffer:admin:::credential/*"
//                                  AdminBucketsRead: the same on "arn:coffer:admin:::bucket/<b>"
//                                    (not with prefixes: the bucket is not wholly in scope)
//   admin-read-write   S3ReadWrite: s3:* on BUCKETS +        S3ReadWrite: s3:* on OBJECTS;
//                        OBJECTS                               BucketLocation, ListPrefixes
//                      no buckets: AdminReadWrite: admin:* on "*"
//                      buckets:    AdminCredentialsReadWrite: admin:* on credential/*,
//                                  AdminBucketsReadWrite: admin:* on bucket/<b> (not with prefixes)
//   every level        ListAllMyBuckets: s3:ListAllMyBuckets (admin-*: + admin:ListBuckets) on "*"
//
// Why LIST is "p*" and "p": a client browsing p/ sends prefix=p/ (aws s3 ls s3://b/p/), one
// browsing deeper sends p/sub/; both match "p/*" ("p/" is listed too, for the reader). A list
// without a prefix, or with "p" (no slash), could reveal keys outside p/ ("p0/...") and is
// refused.
#include "auth/policy.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/names.h"

#define MAX_STATEMENTS   100
#define MAX_LIST         100
#define MAX_PATTERN      2048                 /* one Action, Resource or condition value, bytes */
#define MAX_EPOCH_S      253402300799LL       /* 9999-12-31T23:59:59Z */
#define WITHIN_BUDGET    ((uint64_t)64 << 20) /* pattern steps one within() may spend */
#define INTERSECT_STATES ((size_t)1 << 24)
#define MSG_STR          80 /* bytes of user text quoted in a message */
#define S3_ARN           "arn:aws:s3:::"
#define ADMIN_ARN        "arn:coffer:admin:::"
#define SH_MAX_PREFIXES  50 /* each yields two condition values */
#define SH_MAX_PREFIX    1024
#define SH_VERSION       "2012-10-17"

/* User text in a message, cut to MSG_STR bytes. */
#define QS(s) (int)((s).len > MSG_STR ? MSG_STR : (s).len), (s).p

static const char *const admin_actions[] = {
    "CreateCredential",
    "GetCredential",
    "ListCredentials",
    "UpdateCredential",
    "DeleteCredential",
    "RotateCredential",
    "CreateTemporaryCredential",
    "CreateBucket",
    "ListBuckets",
    "GetBucket",
    "UpdateBucket",
    "DeleteBucket",
    "GetAudit",
};
/* AWS's S3 action names (the Service Authorization Reference, 2025): an s3: pattern must
 * match one, so real actions coffer does not implement yet are accepted and typos are not. */
static const char *const s3_actions[] = {
    "AbortMultipartUpload",
    "AllowVendedLogDeliveryForResource",
    "AssociateAccessGrantsIdentityCenter",
    "BypassGovernanceRetention",
    "CreateAccessGrant",
    "CreateAccessGrantsInstance",
    "CreateAccessGrantsLocation",
    "CreateAccessPoint",
    "CreateAccessPointForObjectLambda",
    "CreateBucket",
    "CreateBucketMetadataTableConfiguration",
    "CreateJob",
    "CreateMultiRegionAccessPoint",
    "CreateStorageLensGroup",
    "DeleteAccessGrant",
    "DeleteAccessGrantsInstance",
    "DeleteAccessGrantsInstanceResourcePolicy",
    "DeleteAccessGrantsLocation",
    "DeleteAccessPoint",
    "DeleteAccessPointForObjectLambda",
    "DeleteAccessPointPolicy",
    "DeleteAccessPointPolicyForObjectLambda",
    "DeleteBucket",
    "DeleteBucketMetadataTableConfiguration",
    "DeleteBucketPolicy",
    "DeleteBucketWebsite",
    "DeleteJobTagging",
    "DeleteMultiRegionAccessPoint",
    "DeleteObject",
    "DeleteObjectAnnotation",
    "DeleteObjectTagging",
    "DeleteObjectVersion",
    "DeleteObjectVersionAnnotation",
    "DeleteObjectVersionTagging",
    "DeleteStorageLensConfiguration",
    "DeleteStorageLensConfigurationTagging",
    "DeleteStorageLensGroup",
    "DescribeJob",
    "DescribeMultiRegionAccessPointOperation",
    "DissociateAccessGrantsIdentityCenter",
    "GetAccelerateConfiguration",
    "GetAccessGrant",
    "GetAccessGrantsInstance",
    "GetAccessGrantsInstanceForPrefix",
    "GetAccessGrantsInstanceResourcePolicy",
    "GetAccessGrantsLocation",
    "GetAccessPoint",
    "GetAccessPointConfigurationForObjectLambda",
    "GetAccessPointForObjectLambda",
    "GetAccessPointPolicy",
    "GetAccessPointPolicyForObjectLambda",
    "GetAccessPointPolicyStatus",
    "GetAccessPointPolicyStatusForObjectLambda",
    "GetAccountPublicAccessBlock",
    "GetAnalyticsConfiguration",
    "GetBucketAbac",
    "GetBucketAcl",
    "GetBucketCORS",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketMetadataTableConfiguration",
    "GetBucketNotification",
    "GetBucketObjectLockConfiguration",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketPublicAccessBlock",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetBucketWebsite",
    "GetDataAccess",
    "GetEncryptionConfiguration",
    "GetIntelligentTieringConfiguration",
    "GetInventoryConfiguration",
    "GetJobTagging",
    "GetLifecycleConfiguration",
    "GetMetricsConfiguration",
    "GetMultiRegionAccessPoint",
    "GetMultiRegionAccessPointPolicy",
    "GetMultiRegionAccessPointPolicyStatus",
    "GetMultiRegionAccessPointRoutes",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAnnotation",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectTorrent",
    "GetObjectVersion",
    "GetObjectVersionAcl",
    "GetObjectVersionAnnotation",
    "GetObjectVersionAnnotationForReplication",
    "GetObjectVersionAttributes",
    "GetObjectVersionForReplication",
    "GetObjectVersionTagging",
    "GetObjectVersionTorrent",
    "GetReplicationConfiguration",
    "GetStorageLensConfiguration",
    "GetStorageLensConfigurationTagging",
    "GetStorageLensDashboard",
    "GetStorageLensGroup",
    "ListAccessGrants",
    "ListAccessGrantsInstances",
    "ListAccessGrantsLocations",
    "ListAccessPoints",
    "ListAccessPointsForObjectLambda",
    "ListAllMyBuckets",
    "ListBucket",
    "ListBucketMultipartUploads",
    "ListBucketVersions",
    "ListCallerAccessGrants",
    "ListJobs",
    "ListMultiRegionAccessPoints",
    "ListMultipartUploadParts",
    "ListObjectAnnotations",
    "ListObjectVersionAnnotations",
    "ListStorageLensConfigurations",
    "ListStorageLensGroups",
    "ListTagsForResource",
    "ObjectOwnerOverrideToBucketOwner",
    "PutAccelerateConfiguration",
    "PutAccessGrantsInstanceResourcePolicy",
    "PutAccessPointConfigurationForObjectLambda",
    "PutAccessPointPolicy",
    "PutAccessPointPolicyForObjectLambda",
    "PutAccessPointPublicAccessBlock",
    "PutAccountPublicAccessBlock",
    "PutAnalyticsConfiguration",
    "PutBucketAbac",
    "PutBucketAcl",
    "PutBucketCORS",
    "PutBucketLogging",
    "PutBucketNotification",
    "PutBucketObjectLockConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketPublicAccessBlock",
    "PutBucketRequestPayment",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutEncryptionConfiguration",
    "PutIntelligentTieringConfiguration",
    "PutInventoryConfiguration",
    "PutJobTagging",
    "PutLifecycleConfiguration",
    "PutMetricsConfiguration",
    "PutMultiRegionAccessPointPolicy",
    "PutObject",
    "PutObjectAcl",
    "PutObjectAnnotation",
    "PutObjectLegalHold",
    "PutObjectRetention",
    "PutObjectTagging",
    "PutObjectVersionAcl",
    "PutObjectVersionAnnotation",
    "PutObjectVersionTagging",
    "PutReplicationConfiguration",
    "PutStorageLensConfiguration",
    "PutStorageLensConfigurationTagging",
    "ReplicateDelete",
    "ReplicateObject",
    "ReplicateObjectAnnotation",
    "ReplicateTags",
    "RestoreObject",
    "SubmitMultiRegionAccessPointRoutes",
    "TagResource",
    "UntagResource",
    "UpdateAccessGrantsLocation",
    "UpdateBucketMetadataAnnotationTableConfiguration",
    "UpdateBucketMetadataInventoryTableConfiguration",
    "UpdateBucketMetadataJournalTableConfiguration",
    "UpdateJobPriority",
    "UpdateJobStatus",
    "UpdateObjectEncryption",
    "UpdateStorageLensGroup",
};
static const char *const admin_bucket_actions[] = {
    "admin:CreateBucket",
    "admin:GetBucket",
    "admin:UpdateBucket",
    "admin:DeleteBucket",
};

/* ---- errors and paths ---- */

static cf_rc refuse(cf_policy_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cf_rc refuse(cf_policy_error *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return CF_EINVAL;
    if (snprintf(err->field, sizeof(err->field), "%s", field) < 0)
        err->field[0] = '\0';
    va_start(ap, fmt);
    if (vsnprintf(err->message, sizeof(err->message), fmt, ap) < 0)
        err->message[0] = '\0';
    va_end(ap);
    return CF_EINVAL;
}

static cf_rc nomem(cf_policy_error *err)
{
    if (err) {
        err->field[0] = '\0';
        (void)snprintf(err->message, sizeof(err->message), "out of memory");
    }
    return CF_ENOMEM;
}

typedef char path_t[sizeof(((cf_policy_error *)0)->field)];

/* "base.key" (or "key" at the root); cut to fit: a path is for humans. */
static void path_key(path_t out, const char *base, const char *key)
{
    int n = snprintf(out, sizeof(path_t), "%s%s%s", base, base[0] ? "." : "", key);
    if (n < 0)
        out[0] = '\0';
}

static void path_idx(path_t out, const char *base, size_t i)
{
    int n = snprintf(out, sizeof(path_t), "%s[%zu]", base, i);
    if (n < 0)
        out[0] = '\0';
}

/* ---- globs ---- */

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool ch_eq(char a, char b, bool fold)
{
    return fold ? lower((unsigned char)a) == lower((unsigned char)b) : a == b;
}

static bool str_ieq(cf_str a, cf_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (!ch_eq(a.p[i], b.p[i], true))
            return false;
    return true;
}

static bool is_wild(char c)
{
    return c == '*' || c == '?';
}

static bool has_wild(cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (is_wild(s.p[i]))
            return true;
    return false;
}

/* The classic star-backtracking matcher ('*' any run, '?' one character). */
static bool glob_run(cf_str pat, cf_str txt, bool fold)
{
    size_t p = 0, t = 0, star_p = SIZE_MAX, star_t = 0;
    while (t < txt.len) {
        if (p < pat.len && pat.p[p] == '*') {
            star_p = p++;
            star_t = t;
        } else if (p < pat.len && (pat.p[p] == '?' || ch_eq(pat.p[p], txt.p[t], fold))) {
            p++;
            t++;
        } else if (star_p != SIZE_MAX) {
            p = star_p + 1;
            t = ++star_t;
        } else {
            return false;
        }
    }
    while (p < pat.len && pat.p[p] == '*')
        p++;
    return p == pat.len;
}

bool cf_glob_match(cf_str pattern, cf_str s)
{
    return glob_run(pattern, s, false);
}

/* L(a) within L(b). b is read as items, each of which must cover a contiguous segment of a:
 * a literal covers the same literal; k '?' cover k symbols of a that are not '*'; a run of k
 * '?' and a '*' (in any order: the same language) covers any segment that always yields at
 * least k characters, i.e. holds at least k symbols other than '*'. cur[pos]: a[0..pos) is
 * covered by the items so far. Sound; exact except when a star of a would have to be split
 * between two items of b. */
static bool glob_within_ex(cf_str a, cf_str b, bool fold)
{
    size_t stack[3 * 128]; /* short patterns, the common case, need no malloc */
    size_t n = a.len + 1, j = 0, *nonstar, *stars;
    unsigned char *cur, *next, *tmp;
    void *mem = stack;
    bool r;
    if (n > SIZE_MAX / (2 * sizeof(size_t) + 2))
        return false;
    if (n * (2 * sizeof(size_t) + 2) > sizeof(stack))
        mem = malloc(n * (2 * sizeof(size_t) + 2));
    if (!mem)
        return false;
    nonstar = mem;
    stars = nonstar + n;
    cur = (unsigned char *)(stars + n);
    next = cur + n;
    nonstar[0] = stars[0] = 0;
    for (size_t i = 0; i < a.len; i++) {
        nonstar[i + 1] = nonstar[i] + (a.p[i] != '*');
        stars[i + 1] = stars[i] + (a.p[i] == '*');
    }
    memset(cur, 0, n);
    cur[0] = 1;
    while (j < b.len) {
        memset(next, 0, n);
        if (!is_wild(b.p[j])) {
            char c = b.p[j++];
            for (size_t pos = 0; pos < a.len; pos++)
                if (cur[pos] && !is_wild(a.p[pos]) && ch_eq(a.p[pos], c, fold))
                    next[pos + 1] = 1;
        } else {
            size_t k = 0, best = SIZE_MAX;
            bool star = false;
            for (; j < b.len && is_wild(b.p[j]); j++) {
                if (b.p[j] == '*')
                    star = true;
                else
                    k++;
            }
            for (size_t end = 0; end < n; end++) {
                if (star) { /* best: the fewest non-stars before a covered position */
                    if (cur[end] && nonstar[end] < best)
                        best = nonstar[end];
                    if (best != SIZE_MAX && nonstar[end] - best >= k)
                        next[end] = 1;
                } else if (cur[end] && end + k < n && stars[end + k] == stars[end]) {
                    next[end + k] = 1;
                }
            }
        }
        tmp = cur;
        cur = next;
        next = tmp;
    }
    r = cur[a.len] != 0;
    if (mem != stack)
        free(mem);
    return r;
}

bool cf_glob_within(cf_str a, cf_str b)
{
    return glob_within_ex(a, b, false);
}

/* Whether some string matches both patterns: reachability in the product of the two
 * patterns read as automata. Row-major order visits every state after its predecessors.
 * Too large to decide: says true (callers treat "may intersect" conservatively). */
static bool glob_intersects(cf_str a, cf_str b, bool fold)
{
    size_t w = b.len + 1, n, i, j;
    unsigned char *seen;
    bool r;
    if (a.len + 1 > INTERSECT_STATES / w)
        return true;
    n = (a.len + 1) * w;
    seen = calloc(n / 8 + 1, 1);
    if (!seen)
        return true;
#define SEEN(k) (seen[(k) / 8] & (1u << ((k) % 8)))
#define MARK(k) (seen[(k) / 8] |= (unsigned char)(1u << ((k) % 8)))
    MARK(0);
    for (i = 0; i <= a.len; i++) {
        for (j = 0; j <= b.len; j++) {
            char ca, cb;
            size_t ni, nj;
            if (!SEEN(i * w + j))
                continue;
            if (i < a.len && a.p[i] == '*')
                MARK((i + 1) * w + j);
            if (j < b.len && b.p[j] == '*')
                MARK(i * w + j + 1);
            if (i == a.len || j == b.len)
                continue;
            ca = a.p[i];
            cb = b.p[j];
            if (!is_wild(ca) && !is_wild(cb) && !ch_eq(ca, cb, fold))
                continue;
            ni = ca == '*' ? i : i + 1;
            nj = cb == '*' ? j : j + 1;
            if (ni != i || nj != j)
                MARK(ni * w + nj);
        }
    }
    r = SEEN(a.len * w + b.len) != 0;
#undef SEEN
#undef MARK
    free(seen);
    return r;
}

/* ---- dates and addresses ---- */

static bool take_num(cf_str s, size_t *i, size_t n, int *out)
{
    int v = 0;
    if (*i + n > s.len)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s.p[*i + k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool take_ch(cf_str s, size_t *i, char c)
{
    if (*i < s.len && s.p[*i] == c) {
        (*i)++;
        return true;
    }
    return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Epoch seconds, or ISO 8601: YYYY-MM-DD, or that + Thh:mm[:ss[.fraction]] + optional Z or
 * +hh:mm / -hhmm (no zone: UTC, as AWS evaluates). Milliseconds out. */
static bool parse_date(cf_str s, int64_t *ms)
{
    uint64_t secs;
    size_t i = 0;
    int y, mo, d, hh = 0, mm = 0, ss = 0, frac = 0, off = 0;
    if (cf_str_to_u64(s, &secs)) {
        if (secs > (uint64_t)MAX_EPOCH_S)
            return false;
        *ms = (int64_t)secs * 1000;
        return true;
    }
    if (!take_num(s, &i, 4, &y) || !take_ch(s, &i, '-') || !take_num(s, &i, 2, &mo) ||
        !take_ch(s, &i, '-') || !take_num(s, &i, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return false;
    if (take_ch(s, &i, 'T')) {
        if (!take_num(s, &i, 2, &hh) || !take_ch(s, &i, ':') || !take_num(s, &i, 2, &mm))
            return false;
        if (take_ch(s, &i, ':') && !take_num(s, &i, 2, &ss))
            return false;
        if (take_ch(s, &i, '.')) {
            size_t nd = 0;
            for (; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++, nd++)
                if (nd < 3)
                    frac = frac * 10 + (s.p[i] - '0');
            if (nd == 0 || nd > 9)
                return false;
            for (; nd < 3; nd++)
                frac *= 10;
        }
        if (hh > 23 || mm > 59 || ss > 59)
            return false;
        if (i < s.len && (s.p[i] == '+' || s.p[i] == '-')) {
            int sign = s.p[i++] == '-' ? -1 : 1, oh, om;
            if (!take_num(s, &i, 2, &oh))
                return false;
            (void)take_ch(s, &i, ':');
            if (!take_num(s, &i, 2, &om) || oh > 23 || om > 59)
                return false;
            off = sign * (oh * 60 + om);
        } else {
            (void)take_ch(s, &i, 'Z');
        }
    }
    if (i != s.len)
        return false;
    *ms = ((days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss) - (int64_t)off * 60) *
              1000 +
          frac;
    return true;
}

/* An address for a condition: bare only (a '/' makes it unusable). */
static bool parse_addr(cf_str s, cf_cidr *out)
{
    return cf_str_find(s, '/') < 0 && cf_cidr_parse(s, false, out);
}

/* Whether network x (an address is a /32 or /128) lies inside net. */
static bool cidr_contains(const cf_cidr *net, const cf_cidr *x)
{
    unsigned full = net->bits / 8, rest = net->bits % 8;
    if (net->v6 != x->v6 || x->bits < net->bits)
        return false;
    if (memcmp(net->addr, x->addr, full) != 0)
        return false;
    return rest == 0 || ((net->addr[full] ^ x->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

static bool cidr_overlap(const cf_cidr *a, const cf_cidr *b)
{
    return cidr_contains(a, b) || cidr_contains(b, a);
}

/* ---- the parsed model ---- */

typedef enum fam { F_STRING, F_NUMERIC, F_DATE, F_BOOL, F_IP, F_NULL } fam;
typedef enum kind { K_EQ, K_EQ_IC, K_LIKE, K_LT, K_LE, K_GT, K_GE, K_IP, K_BOOL, K_NULL } kind;

typedef struct opdef {
    const char *name;
    fam f;
    kind k;
    bool neg; /* the Not... form: true when no value matches, and on a missing key */
} opdef;

static const opdef opdefs[] = {
    {"StringEquals", F_STRING, K_EQ, false},
    {"StringNotEquals", F_STRING, K_EQ, true},
    {"StringEqualsIgnoreCase", F_STRING, K_EQ_IC, false},
    {"StringNotEqualsIgnoreCase", F_STRING, K_EQ_IC, true},
    {"StringLike", F_STRING, K_LIKE, false},
    {"StringNotLike", F_STRING, K_LIKE, true},
    {"NumericEquals", F_NUMERIC, K_EQ, false},
    {"NumericNotEquals", F_NUMERIC, K_EQ, true},
    {"NumericLessThan", F_NUMERIC, K_LT, false},
    {"NumericLessThanEquals", F_NUMERIC, K_LE, false},
    {"NumericGreaterThan", F_NUMERIC, K_GT, false},
    {"NumericGreaterThanEquals", F_NUMERIC, K_GE, false},
    {"DateEquals", F_DATE, K_EQ, false},
    {"DateNotEquals", F_DATE, K_EQ, true},
    {"DateLessThan", F_DATE, K_LT, false},
    {"DateLessThanEquals", F_DATE, K_LE, false},
    {"DateGreaterThan", F_DATE, K_GT, false},
    {"DateGreaterThanEquals", F_DATE, K_GE, false},
    {"Bool", F_BOOL, K_BOOL, false},
    {"IpAddress", F_IP, K_IP, false},
    {"NotIpAddress", F_IP, K_IP, true},
    {"Null", F_NULL, K_NULL, false},
};

typedef enum ckey {
    KEY_SOURCE_IP,
    KEY_CURRENT_TIME,
    KEY_EPOCH_TIME,
    KEY_SECURE_TRANSPORT,
    KEY_S3_PREFIX,
    KEY_S3_DELIMITER,
    KEY_S3_MAX_KEYS,
    KEY_S3_IF_MATCH,
    KEY_S3_IF_NONE_MATCH,
    KEY_S3_OBJECT_CREATION,
} ckey;

static const struct keydef {
    const char *name;
    unsigned fams; /* operator families that apply; Null applies to every key */
} keydefs[] = {
    [KEY_SOURCE_IP] = {"aws:SourceIp", 1u << F_IP},
    [KEY_CURRENT_TIME] = {"aws:CurrentTime", 1u << F_DATE},
    [KEY_EPOCH_TIME] = {"aws:EpochTime", 1u << F_DATE | 1u << F_NUMERIC},
    [KEY_SECURE_TRANSPORT] = {"aws:SecureTransport", 1u << F_BOOL},
    [KEY_S3_PREFIX] = {"s3:prefix", 1u << F_STRING},
    [KEY_S3_DELIMITER] = {"s3:delimiter", 1u << F_STRING},
    [KEY_S3_MAX_KEYS] = {"s3:max-keys", 1u << F_NUMERIC},
    [KEY_S3_IF_MATCH] = {"s3:if-match", 1u << F_STRING},
    [KEY_S3_IF_NONE_MATCH] = {"s3:if-none-match", 1u << F_STRING},
    [KEY_S3_OBJECT_CREATION] = {"s3:ObjectCreationOperation", 1u << F_BOOL},
};

#define NKEYS (sizeof(keydefs) / sizeof(keydefs[0]))

typedef struct cval {
    cf_str s;   /* F_STRING */
    int64_t n;  /* F_NUMERIC; F_DATE in ms; F_BOOL / F_NULL as 0 or 1 */
    cf_cidr ip; /* F_IP */
} cval;

typedef struct pcond {
    const opdef *op;
    bool if_exists;
    ckey key;
    cval *v;
    size_t nv; /* >= 1; the values are ORed */
} pcond;

typedef struct stmt {
    cf_str sid;
    bool deny;
    bool not_action, not_resource;
    bool act_array, res_array; /* given as arrays (for error paths) */
    cf_str *act;
    size_t nact;
    cf_str *res;
    size_t nres;
    pcond *cond;
    size_t ncond; /* ANDed */
} stmt;

struct cf_policy {
    stmt *st;
    size_t n;
    bool st_array;
};

/* ---- parsing ---- */

static bool is_action_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || is_wild(c);
}

static cf_rc check_action(cf_str s, const char *path, cf_policy_error *err)
{
    cf_str svc, name;
    if (cf_str_eq_c(s, "*"))
        return CF_OK;
    if (!cf_str_cut(s, ':', &svc, &name))
        return refuse(err, path, "action \"%.*s\" needs a service prefix such as \"s3:\"", QS(s));
    if (!cf_str_ieq_c(svc, "s3") && !cf_str_ieq_c(svc, "admin"))
        return refuse(err, path,
                      "unknown service \"%.*s\" in action \"%.*s\" (coffer has s3 and admin)",
                      QS(svc), QS(s));
    if (name.len == 0)
        return refuse(err, path, "action \"%.*s\" has no action name", QS(s));
    for (size_t i = 0; i < name.len; i++)
        if (!is_action_char(name.p[i]))
            return refuse(err, path, "invalid character in action \"%.*s\"", QS(s));
    if (cf_str_ieq_c(svc, "admin")) {
        /* coffer owns the admin actions: a name matching none of them is a typo. */
        for (size_t i = 0; i < sizeof(admin_actions) / sizeof(admin_actions[0]); i++)
            if (glob_run(name, cf_str_c(admin_actions[i]), true))
                return CF_OK;
        return refuse(err, path, "\"%.*s\" matches no admin action", QS(s));
    }
    for (size_t i = 0; i < sizeof(s3_actions) / sizeof(s3_actions[0]); i++)
        if (glob_run(name, cf_str_c(s3_actions[i]), true))
            return CF_OK;
    return refuse(err, path, "\"%.*s\" matches no S3 action", QS(s));
}

static bool has_variable(cf_str s)
{
    for (size_t i = 0; i + 1 < s.len; i++)
        if (s.p[i] == '$' && s.p[i + 1] == '{')
            return true;
    return false;
}

static cf_rc check_resource(cf_str s, const char *path, cf_policy_error *err)
{
    if (has_variable(s))
        return refuse(err, path, "policy variables such as ${aws:username} are not supported");
    if (cf_str_eq_c(s, "*"))
        return CF_OK;
    if (cf_str_starts_c(s, S3_ARN)) {
        if (s.len == strlen(S3_ARN))
            return refuse(err, path, "ARN \"%.*s\" names no bucket", QS(s));
        return CF_OK;
    }
    if (cf_str_starts_c(s, ADMIN_ARN)) {
        cf_str rest = cf_str_sub(s, strlen(ADMIN_ARN), s.len);
        if (glob_intersects(rest, CF_STR("credential/*"), false) ||
            glob_intersects(rest, CF_STR("bucket/*"), false))
            return CF_OK;
        return refuse(err, path,
                      "unknown admin resource \"%.*s\" (expected " ADMIN_ARN
                      "credential/<id> or " ADMIN_ARN "bucket/<name>)",
                      QS(s));
    }
    return refuse(
        err, path,
        "resource \"%.*s\" must be \"*\" or an ARN starting with " S3_ARN " or " ADMIN_ARN, QS(s));
}

static cf_str jstr(json_t *v)
{
    return cf_str_make(json_string_value(v), json_string_length(v));
}

/* Action, NotAction, Resource or NotResource: a string or a non-empty array of strings. */
static cf_rc parse_patterns(cf_arena *a, json_t *v, const char *path, const char *name, bool action,
                            cf_str **out, size_t *n, bool *array, cf_policy_error *err)
{
    size_t count;
    cf_rc rc;
    *array = json_is_array(v);
    if (!json_is_string(v) && !*array)
        return refuse(err, path, "%s must be a string or an array of strings", name);
    count = *array ? json_array_size(v) : 1;
    if (count == 0)
        return refuse(err, path, "%s must not be empty", name);
    if (count > MAX_LIST)
        return refuse(err, path, "%s has %zu entries; at most %d allowed", name, count, MAX_LIST);
    *out = cf_arena_alloc(a, count * sizeof(**out));
    if (!*out)
        return nomem(err);
    for (size_t i = 0; i < count; i++) {
        json_t *e = *array ? json_array_get(v, i) : v;
        path_t ip;
        cf_str s;
        if (*array)
            path_idx(ip, path, i);
        else
            path_key(ip, "", path);
        if (!json_is_string(e))
            return refuse(err, ip, "%s entries must be strings", name);
        s = jstr(e);
        if (s.len == 0)
            return refuse(err, ip, "empty %s entry", name);
        if (s.len > MAX_PATTERN)
            return refuse(err, ip, "%s entry is %zu bytes; at most %d allowed", name, s.len,
                          MAX_PATTERN);
        rc = action ? check_action(s, ip, err) : check_resource(s, ip, err);
        if (rc != CF_OK)
            return rc;
        (*out)[i] = cf_arena_str(a, s);
        if (!(*out)[i].p)
            return nomem(err);
    }
    *n = count;
    return CF_OK;
}

static const opdef *find_op(const char *name, bool *if_exists)
{
    cf_str s = cf_str_c(name);
    static const char suffix[] = "IfExists";
    *if_exists = false;
    if (s.len > sizeof(suffix) - 1 &&
        memcmp(s.p + s.len - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) == 0) {
        s.len -= sizeof(suffix) - 1;
        *if_exists = true;
    }
    for (size_t i = 0; i < sizeof(opdefs) / sizeof(opdefs[0]); i++)
        if (cf_str_eq_c(s, opdefs[i].name))
            return (*if_exists && opdefs[i].k == K_NULL) ? NULL : &opdefs[i];
    return NULL;
}

static bool parse_bool_value(json_t *v, int64_t *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        if (cf_str_ieq_c(jstr(v), "true") || cf_str_ieq_c(jstr(v), "false")) {
            *out = cf_str_ieq_c(jstr(v), "true");
            return true;
        }
    }
    return false;
}

static cf_rc parse_value(cf_arena *a, const pcond *c, json_t *v, const char *path, cval *out,
                         cf_policy_error *err)
{
    cf_str s = json_is_string(v) ? jstr(v) : CF_STR_NULL;
    switch (c->op->f) {
    case F_STRING:
        if (!json_is_string(v))
            return refuse(err, path, "%s values must be strings", c->op->name);
        if (s.len > MAX_PATTERN)
            return refuse(err, path, "value is %zu bytes; at most %d allowed", s.len, MAX_PATTERN);
        if (has_variable(s))
            return refuse(err, path, "policy variables such as ${aws:username} are not supported");
        out->s = cf_arena_str(a, s);
        return out->s.p ? CF_OK : nomem(err);
    case F_NUMERIC:
        if (json_is_integer(v)) {
            out->n = json_integer_value(v);
            return CF_OK;
        }
        if (s.p && cf_str_to_i64(s, &out->n))
            return CF_OK;
        return refuse(err, path, "%s values must be integers", c->op->name);
    case F_DATE:
        if (json_is_integer(v) && json_integer_value(v) >= 0 &&
            json_integer_value(v) <= MAX_EPOCH_S) {
            out->n = (int64_t)json_integer_value(v) * 1000;
            return CF_OK;
        }
        if (s.p && parse_date(s, &out->n))
            return CF_OK;
        return refuse(err, path,
                      "%s values must be dates: ISO 8601 such as 2026-01-01T00:00:00Z, or "
                      "epoch seconds",
                      c->op->name);
    case F_BOOL:
    case F_NULL:
        if (parse_bool_value(v, &out->n))
            return CF_OK;
        return refuse(err, path, "%s values must be true or false", c->op->name);
    case F_IP:
        if (!s.p)
            return refuse(err, path, "%s values must be strings", c->op->name);
        if (cf_cidr_parse(s, false, &out->ip))
            return CF_OK;
        if (cf_cidr_parse(s, true, &out->ip))
            return refuse(err, path, "\"%.*s\" has bits set past its prefix length", QS(s));
        return refuse(err, path, "\"%.*s\" is not an IPv4 or IPv6 address or CIDR", QS(s));
    }
    return refuse(err, path, "unsupported value");
}

/* One "key": value-or-values of an operator. */
static cf_rc parse_cond_key(cf_arena *a, const opdef *op, bool if_exists, const char *keyname,
                            json_t *vals, const char *path, pcond *c, cf_policy_error *err)
{
    size_t k, count;
    bool array = json_is_array(vals);
    cf_rc rc;
    for (k = 0; k < NKEYS; k++)
        if (cf_str_ieq_c(cf_str_c(keyname), keydefs[k].name))
            break;
    if (k == NKEYS)
        return refuse(err, path,
                      "unknown condition key \"%.*s\" (supported: aws:SourceIp, aws:CurrentTime, "
                      "aws:EpochTime, aws:SecureTransport, s3:prefix, s3:delimiter, s3:max-keys, "
                      "s3:if-match, s3:if-none-match, s3:ObjectCreationOperation)",
                      QS(cf_str_c(keyname)));
    if (op->f != F_NULL && !(keydefs[k].fams & (1u << op->f)))
        return refuse(err, path, "operator %s does not apply to %s", op->name, keydefs[k].name);
    c->op = op;
    c->if_exists = if_exists;
    c->key = (ckey)k;
    if (json_is_object(vals) || json_is_null(vals))
        return refuse(err, path, "condition values must be a value or an array of values");
    count = array ? json_array_size(vals) : 1;
    if (count == 0)
        return refuse(err, path, "no condition value");
    if (count > MAX_LIST)
        return refuse(err, path, "%zu condition values; at most %d allowed", count, MAX_LIST);
    c->v = cf_arena_alloc(a, count * sizeof(*c->v));
    if (!c->v)
        return nomem(err);
    c->nv = count;
    for (size_t i = 0; i < count; i++) {
        path_t vp;
        if (array)
            path_idx(vp, path, i);
        else
            path_key(vp, "", path);
        rc = parse_value(a, c, array ? json_array_get(vals, i) : vals, vp, &c->v[i], err);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

static cf_rc parse_condition(cf_arena *a, json_t *cv, const char *path, stmt *st,
                             cf_policy_error *err)
{
    const char *opname, *keyname;
    json_t *keys, *vals;
    size_t total = 0;
    cf_rc rc;
    if (!json_is_object(cv))
        return refuse(err, path, "Condition must be an object of operators");
    /* First pass: operators and shapes, so the array can be sized. */
    json_object_foreach(cv, opname, keys)
    {
        path_t op_path;
        bool if_exists;
        path_key(op_path, path, opname);
        if (strncmp(opname, "ForAnyValue:", 12) == 0 || strncmp(opname, "ForAllValues:", 13) == 0)
            return refuse(err, op_path,
                          "set operators (ForAnyValue:, ForAllValues:) are not supported: "
                          "every supported key has a single value");
        if (!find_op(opname, &if_exists))
            return refuse(err, op_path, "unknown condition operator \"%.*s\"",
                          QS(cf_str_c(opname)));
        if (!json_is_object(keys))
            return refuse(err, op_path, "%s must be an object of condition keys", opname);
        if (json_object_size(keys) == 0)
            return refuse(err, op_path, "%s names no condition key", opname);
        total += json_object_size(keys);
        if (total > MAX_LIST)
            return refuse(err, path, "more than %d conditions in one statement", MAX_LIST);
    }
    if (total == 0)
        return CF_OK;
    st->cond = cf_arena_alloc(a, total * sizeof(*st->cond));
    if (!st->cond)
        return nomem(err);
    json_object_foreach(cv, opname, keys)
    {
        path_t op_path;
        bool if_exists;
        const opdef *op = find_op(opname, &if_exists);
        path_key(op_path, path, opname);
        json_object_foreach(keys, keyname, vals)
        {
            path_t key_path;
            path_key(key_path, op_path, keyname);
            rc = parse_cond_key(a, op, if_exists, keyname, vals, key_path, &st->cond[st->ncond],
                                err);
            if (rc != CF_OK)
                return rc;
            st->ncond++;
        }
    }
    return CF_OK;
}

static cf_rc parse_statement(cf_arena *a, json_t *o, const char *path, stmt *st,
                             cf_policy_error *err)
{
    const char *key;
    json_t *v, *action = NULL, *resource = NULL, *effect = NULL, *cond = NULL;
    path_t fp;
    cf_rc rc;
    if (!json_is_object(o))
        return refuse(err, path, "a statement must be an object");
    json_object_foreach(o, key, v)
    {
        path_key(fp, path, key);
        if (strcmp(key, "Sid") == 0) {
            if (!json_is_string(v))
                return refuse(err, fp, "Sid must be a string");
            st->sid = cf_arena_str(a, jstr(v));
            if (!st->sid.p)
                return nomem(err);
        } else if (strcmp(key, "Effect") == 0) {
            effect = v;
        } else if (strcmp(key, "Action") == 0 || strcmp(key, "NotAction") == 0) {
            if (action)
                return refuse(err, fp, "a statement has Action or NotAction, not both");
            action = v;
            st->not_action = key[0] == 'N';
        } else if (strcmp(key, "Resource") == 0 || strcmp(key, "NotResource") == 0) {
            if (resource)
                return refuse(err, fp, "a statement has Resource or NotResource, not both");
            resource = v;
            st->not_resource = key[0] == 'N';
        } else if (strcmp(key, "Condition") == 0) {
            cond = v;
        } else if (strcmp(key, "Principal") == 0 || strcmp(key, "NotPrincipal") == 0) {
            return refuse(err, fp, "%s is not allowed: a credential's policy applies to itself",
                          key);
        } else {
            return refuse(err, fp, "unknown statement field \"%.*s\"", QS(cf_str_c(key)));
        }
    }
    path_key(fp, path, "Effect");
    if (!effect)
        return refuse(err, fp, "missing Effect");
    if (!json_is_string(effect) ||
        !(cf_str_eq_c(jstr(effect), "Allow") || cf_str_eq_c(jstr(effect), "Deny")))
        return refuse(err, fp, "Effect must be \"Allow\" or \"Deny\"");
    st->deny = cf_str_eq_c(jstr(effect), "Deny");
    if (!action) {
        path_key(fp, path, "Action");
        return refuse(err, fp, "missing Action (or NotAction)");
    }
    path_key(fp, path, st->not_action ? "NotAction" : "Action");
    rc = parse_patterns(a, action, fp, st->not_action ? "NotAction" : "Action", true, &st->act,
                        &st->nact, &st->act_array, err);
    if (rc != CF_OK)
        return rc;
    if (!resource) {
        path_key(fp, path, "Resource");
        return refuse(err, fp, "missing Resource (or NotResource)");
    }
    path_key(fp, path, st->not_resource ? "NotResource" : "Resource");
    rc = parse_patterns(a, resource, fp, st->not_resource ? "NotResource" : "Resource", false,
                        &st->res, &st->nres, &st->res_array, err);
    if (rc != CF_OK)
        return rc;
    if (cond) {
        path_key(fp, path, "Condition");
        rc = parse_condition(a, cond, fp, st, err);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

cf_rc cf_policy_parse(cf_arena *a, cf_str json, cf_policy **out, cf_policy_error *err)
{
    cf_rc rc = CF_EINVAL;
    json_t *root = NULL, *stmts = NULL, *v;
    json_error_t je;
    const char *key;
    cf_policy *p;
    size_t count;
    *out = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    if (json.len > CF_POLICY_MAX_BYTES) {
        rc = refuse(err, "", "policy is %zu bytes; at most %u allowed", json.len,
                    CF_POLICY_MAX_BYTES);
        goto out;
    }
    root = json_loadb(json.p ? json.p : "", json.len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        rc = refuse(err, "", "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = refuse(err, "", "a policy must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "Version") == 0) {
            if (!json_is_string(v) ||
                !(cf_str_eq_c(jstr(v), "2012-10-17") || cf_str_eq_c(jstr(v), "2008-10-17"))) {
                rc = refuse(err, "Version", "Version must be \"2012-10-17\" or \"2008-10-17\"");
                goto out;
            }
        } else if (strcmp(key, "Id") == 0) {
            if (!json_is_string(v)) {
                rc = refuse(err, "Id", "Id must be a string");
                goto out;
            }
        } else if (strcmp(key, "Statement") == 0) {
            stmts = v;
        } else {
            path_t fp;
            path_key(fp, "", key);
            rc = refuse(err, fp, "unknown policy field \"%.*s\"", QS(cf_str_c(key)));
            goto out;
        }
    }
    if (!stmts) {
        rc = refuse(err, "Statement", "missing Statement");
        goto out;
    }
    if (!json_is_array(stmts) && !json_is_object(stmts)) {
        rc = refuse(err, "Statement", "Statement must be an object or an array of objects");
        goto out;
    }
    count = json_is_array(stmts) ? json_array_size(stmts) : 1;
    if (count == 0) {
        rc = refuse(err, "Statement", "Statement must not be empty");
        goto out;
    }
    if (count > MAX_STATEMENTS) {
        rc = refuse(err, "Statement", "%zu statements; at most %d allowed", count, MAX_STATEMENTS);
        goto out;
    }
    p = cf_arena_alloc(a, sizeof(*p));
    if (!p || !(p->st = cf_arena_alloc(a, count * sizeof(*p->st)))) {
        rc = nomem(err);
        goto out;
    }
    p->n = count;
    p->st_array = json_is_array(stmts);
    for (size_t i = 0; i < count; i++) {
        path_t sp;
        if (p->st_array)
            path_idx(sp, "Statement", i);
        else
            path_key(sp, "", "Statement");
        rc = parse_statement(a, p->st_array ? json_array_get(stmts, i) : stmts, sp, &p->st[i], err);
        if (rc != CF_OK)
            goto out;
    }
    *out = p;
    rc = CF_OK;
out:
    json_decref(root);
    return rc;
}

/* ---- evaluation ---- */

static bool cmp_kind(int64_t v, int64_t ref, kind k)
{
    switch (k) {
    case K_EQ:
        return v == ref;
    case K_LT:
        return v < ref;
    case K_LE:
        return v <= ref;
    case K_GT:
        return v > ref;
    case K_GE:
        return v >= ref;
    default:
        return false;
    }
}

/* Whether q holds for a present key whose value is e (of q's family). */
static bool cond_holds_on(const pcond *q, const cval *e)
{
    bool any = false;
    for (size_t i = 0; i < q->nv && !any; i++) {
        const cval *v = &q->v[i];
        switch (q->op->f) {
        case F_STRING:
            if (q->op->k == K_EQ)
                any = cf_str_eq(v->s, e->s);
            else if (q->op->k == K_EQ_IC)
                any = str_ieq(v->s, e->s);
            else
                any = glob_run(v->s, e->s, false);
            break;
        case F_NUMERIC:
        case F_DATE:
            any = cmp_kind(e->n, v->n, q->op->k);
            break;
        case F_BOOL:
            any = v->n == e->n;
            break;
        case F_IP:
            any = cidr_contains(&v->ip, &e->ip);
            break;
        case F_NULL:
            break;
        }
    }
    return q->op->neg ? !any : any;
}

typedef struct ectx {
    const cf_authz_req *r;
    int ip_state; /* 0 not parsed yet, 1 parsed, -1 malformed */
    cf_cidr ip;
} ectx;

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && a < 0);
}

/* The request's value for c's key: false if absent. *usable false when present but not
 * readable as the operator's type (a malformed address or number). */
static bool request_value(const pcond *c, ectx *x, cval *e, bool *usable)
{
    const cf_authz_req *r = x->r;
    *usable = true;
    memset(e, 0, sizeof(*e));
    switch (c->key) {
    case KEY_SOURCE_IP:
        if (!r->source_ip.p)
            return false;
        if (x->ip_state == 0)
            x->ip_state = parse_addr(r->source_ip, &x->ip) ? 1 : -1;
        e->ip = x->ip;
        *usable = x->ip_state == 1;
        return true;
    case KEY_CURRENT_TIME:
        e->n = r->now_ms;
        return true;
    case KEY_EPOCH_TIME:
        e->n = c->op->f == F_NUMERIC ? floor_div(r->now_ms, 1000) : r->now_ms;
        return true;
    case KEY_SECURE_TRANSPORT:
        e->n = r->secure_transport;
        return true;
    case KEY_S3_PREFIX:
        e->s = r->s3_prefix;
        return r->s3_prefix.p != NULL;
    case KEY_S3_DELIMITER:
        e->s = r->s3_delimiter;
        return r->s3_delimiter.p != NULL;
    case KEY_S3_MAX_KEYS:
        if (!r->s3_max_keys.p)
            return false;
        *usable = cf_str_to_i64(r->s3_max_keys, &e->n);
        return true;
    case KEY_S3_IF_MATCH:
        e->s = r->s3_if_match;
        return r->s3_if_match.p != NULL;
    case KEY_S3_IF_NONE_MATCH:
        e->s = r->s3_if_none_match;
        return r->s3_if_none_match.p != NULL;
    case KEY_S3_OBJECT_CREATION:
        e->n = r->s3_object_creation == CF_AUTHZ_TRUE;
        return r->s3_object_creation != CF_AUTHZ_ABSENT;
    }
    return false;
}

static bool cond_eval(const pcond *c, ectx *x)
{
    cval e;
    bool usable, present = request_value(c, x, &e, &usable);
    if (c->op->k == K_NULL) {
        for (size_t i = 0; i < c->nv; i++)
            if ((c->v[i].n != 0) == !present)
                return true;
        return false;
    }
    if (!present)
        return c->op->neg || c->if_exists;
    if (!usable)
        return c->op->neg;
    return cond_holds_on(c, &e);
}

static bool any_match(const cf_str *pats, size_t n, cf_str s, bool fold)
{
    for (size_t i = 0; i < n; i++)
        if (glob_run(pats[i], s, fold))
            return true;
    return false;
}

static bool stmt_matches(const stmt *s, ectx *x)
{
    cf_str action = x->r->action.p ? x->r->action : CF_STR("");
    cf_str resource = x->r->resource.p ? x->r->resource : CF_STR("");
    if (any_match(s->act, s->nact, action, true) == s->not_action)
        return false;
    if (any_match(s->res, s->nres, resource, false) == s->not_resource)
        return false;
    for (size_t i = 0; i < s->ncond; i++)
        if (!cond_eval(&s->cond[i], x))
            return false;
    return true;
}

cf_policy_decision cf_policy_eval(const cf_policy *p, const cf_authz_req *r)
{
    ectx x = {r, 0, {{0}, 0, false}};
    bool allow = false;
    if (!p || !r)
        return CF_POLICY_IMPLICIT_DENY;
    for (size_t i = 0; i < p->n; i++) {
        if (!stmt_matches(&p->st[i], &x))
            continue;
        if (p->st[i].deny)
            return CF_POLICY_DENY;
        allow = true;
    }
    return allow ? CF_POLICY_ALLOW : CF_POLICY_IMPLICIT_DENY;
}

/* ---- ListBuckets filtering ---- */

/* Whether the statement's action element could match one of the n literal actions. */
static bool actions_may_include(const stmt *s, const char *const *acts, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        bool hit = any_match(s->act, s->nact, cf_str_c(acts[k]), true);
        if (hit != s->not_action)
            return true;
    }
    return false;
}

/* Whether the statement could match some s3 action that concerns a bucket or its objects
 * (every s3 action but ListAllMyBuckets). */
static bool may_include_bucket_s3_action(const stmt *s)
{
    for (size_t i = 0; i < s->nact; i++) {
        cf_str a = s->act[i];
        bool s3 = cf_str_eq_c(a, "*") || (a.len > 3 && str_ieq(cf_str_sub(a, 0, 3), CF_STR("s3:")));
        bool lamb_only = glob_within_ex(a, CF_STR("s3:ListAllMyBuckets"), true);
        if (!s->not_action && s3 && !lamb_only)
            return true;
        if (s->not_action && glob_within_ex(CF_STR("s3:*"), a, true))
            return false;
    }
    return s->not_action;
}

/* Whether the resource element could match something in one of the n target patterns. */
static bool resources_may_include(const stmt *s, const cf_str *targets, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        bool excluded = false, hit = false;
        for (size_t i = 0; i < s->nres; i++) {
            if (s->not_resource && glob_within_ex(targets[k], s->res[i], false))
                excluded = true;
            if (!s->not_resource && glob_intersects(s->res[i], targets[k], false))
                hit = true;
        }
        if (s->not_resource ? !excluded : hit)
            return true;
    }
    return false;
}

/* Whether the resource element surely matches everything the n target patterns match. */
static bool resources_cover(const stmt *s, const cf_str *targets, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        bool ok = s->not_resource;
        for (size_t i = 0; i < s->nres; i++) {
            if (s->not_resource && glob_intersects(s->res[i], targets[k], false))
                ok = false;
            if (!s->not_resource && glob_within_ex(targets[k], s->res[i], false))
                ok = true;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool actions_cover_s3(const stmt *s)
{
    for (size_t i = 0; i < s->nact; i++) {
        if (s->not_action && glob_intersects(s->act[i], CF_STR("s3:*"), true))
            return false;
        if (!s->not_action && glob_within_ex(CF_STR("s3:*"), s->act[i], true))
            return true;
    }
    return s->not_action;
}

bool cf_policy_may_touch_bucket(const cf_policy *p, cf_str bucket)
{
    char b_arn[128], o_arn[128], a_arn[128];
    cf_str s3_targets[2], admin_target[1];
    bool may = false;
    int n1, n2, n3;
    if (!p || bucket.len == 0 || bucket.len > 63 || has_wild(bucket) ||
        cf_str_find(bucket, '/') >= 0)
        return false;
    n1 = snprintf(b_arn, sizeof(b_arn), S3_ARN "%.*s", CF_STR_FMT(bucket));
    n2 = snprintf(o_arn, sizeof(o_arn), S3_ARN "%.*s/*", CF_STR_FMT(bucket));
    n3 = snprintf(a_arn, sizeof(a_arn), ADMIN_ARN "bucket/%.*s", CF_STR_FMT(bucket));
    if (n1 < 0 || n2 < 0 || n3 < 0)
        return false;
    s3_targets[0] = cf_str_make(b_arn, (size_t)n1);
    s3_targets[1] = cf_str_make(o_arn, (size_t)n2);
    admin_target[0] = cf_str_make(a_arn, (size_t)n3);
    for (size_t i = 0; i < p->n; i++) {
        const stmt *s = &p->st[i];
        if (s->deny) {
            if (s->ncond == 0 && actions_cover_s3(s) && resources_cover(s, s3_targets, 2))
                return false;
            continue;
        }
        if ((may_include_bucket_s3_action(s) && resources_may_include(s, s3_targets, 2)) ||
            (actions_may_include(s, admin_bucket_actions,
                                 sizeof(admin_bucket_actions) / sizeof(admin_bucket_actions[0])) &&
             resources_may_include(s, admin_target, 1)))
            may = true;
    }
    return may;
}

/* ---- containment ---- */

/* Pattern work is bounded: a policy pair too costly to compare is judged "not within". */
typedef struct wctx {
    uint64_t budget;
} wctx;

static bool charge(wctx *w, cf_str a, cf_str b)
{
    uint64_t cost = ((uint64_t)a.len + 1) * ((uint64_t)b.len + 1);
    if (cost > w->budget) {
        w->budget = 0;
        return false;
    }
    w->budget -= cost;
    return true;
}

static bool w_within(wctx *w, cf_str a, cf_str b, bool fold)
{
    return charge(w, a, b) && glob_within_ex(a, b, fold);
}

static bool w_intersects(wctx *w, cf_str a, cf_str b, bool fold)
{
    return !charge(w, a, b) || glob_intersects(a, b, fold);
}

static bool w_match(wctx *w, cf_str pat, cf_str s, bool fold)
{
    return charge(w, pat, s) && glob_run(pat, s, fold);
}

/* An Action or Resource element, or one pattern of it. */
typedef struct elem {
    const cf_str *v;
    size_t n;
    bool neg;
} elem;

/* What requests can name: coffer evaluates only s3: and admin: actions, and resources that
 * are "*" or ARNs of the two kinds. A NotAction/NotResource means "everything else" in it. */
static const cf_str action_universe[] = {{"s3:*", 4}, {"admin:*", 7}};
static const cf_str resource_universe[] = {{"arn:aws:s3:::*", 14}, {"arn:coffer:admin:::*", 20}};

static bool any_within(wctx *w, cf_str a, const cf_str *bs, size_t n, bool fold)
{
    for (size_t i = 0; i < n; i++)
        if (w_within(w, a, bs[i], fold))
            return true;
    return false;
}

static bool any_literal(wctx *w, const cf_str *pats, size_t n, cf_str lit)
{
    for (size_t i = 0; i < n; i++)
        if (w_match(w, pats[i], lit, false))
            return true;
    return false;
}

/* Whether everything child item c can match, parent element p matches. */
static bool elem_covered(wctx *w, elem c, elem p, bool action)
{
    bool fold = action;
    if (!c.neg && !p.neg)
        return any_within(w, c.v[0], p.v, p.n, fold);
    if (!c.neg && p.neg) {
        for (size_t i = 0; i < p.n; i++)
            if (w_intersects(w, c.v[0], p.v[i], fold))
                return false;
        return true;
    }
    if (c.neg && p.neg) {
        for (size_t i = 0; i < p.n; i++)
            if (!any_within(w, p.v[i], c.v, c.n, fold))
                return false;
        return true;
    }
    /* Child "everything but X" under a parent list: each part of the universe must be
     * excluded by the child or granted by the parent. */
    const cf_str *u = action ? action_universe : resource_universe;
    for (size_t k = 0; k < 2; k++)
        if (!any_within(w, u[k], c.v, c.n, fold) && !any_within(w, u[k], p.v, p.n, fold))
            return false;
    if (!action && !any_literal(w, c.v, c.n, CF_STR("*")) && !any_literal(w, p.v, p.n, CF_STR("*")))
        return false;
    return true;
}

static int64_t vals_max(const pcond *c)
{
    int64_t m = c->v[0].n;
    for (size_t i = 1; i < c->nv; i++)
        if (c->v[i].n > m)
            m = c->v[i].n;
    return m;
}

static int64_t vals_min(const pcond *c)
{
    int64_t m = c->v[0].n;
    for (size_t i = 1; i < c->nv; i++)
        if (c->v[i].n < m)
            m = c->v[i].n;
    return m;
}

/* Numeric or date ranges: v < max, v <= max, v > min, v >= min (values are ORed). */
static bool range_implies(const pcond *c, const pcond *q)
{
    kind ck = c->op->k, qk = q->op->k;
    bool upper_c = ck == K_LT || ck == K_LE, upper_q = qk == K_LT || qk == K_LE;
    int64_t cb, qb;
    if (q->op->neg) { /* NotEquals: no excluded value may lie in c's range */
        cb = upper_c ? vals_max(c) : vals_min(c);
        for (size_t i = 0; i < q->nv; i++) {
            int64_t v = q->v[i].n;
            if (ck == K_LT ? v < cb : ck == K_LE ? v <= cb : ck == K_GT ? v > cb : v >= cb)
                return false;
        }
        return true;
    }
    if (qk == K_EQ || upper_c != upper_q)
        return false;
    if (upper_c) {
        cb = vals_max(c);
        qb = vals_max(q);
        return qk == K_LE || ck == K_LT ? cb <= qb : cb < qb;
    }
    cb = vals_min(c);
    qb = vals_min(q);
    return qk == K_GE || ck == K_GT ? cb >= qb : cb > qb;
}

/* Whether excluded value or pattern qv (of q, a negated string operator) is excluded by one of
 * c's values (c negated too). */
static bool string_excluded(wctx *w, const pcond *c, cf_str qv, kind qk)
{
    if (qk == K_LIKE && !has_wild(qv))
        qk = K_EQ; /* a pattern without wildcards is a value */
    for (size_t i = 0; i < c->nv; i++) {
        cf_str cv = c->v[i].s;
        kind ck = c->op->k;
        if (ck == K_LIKE && qk == K_EQ && w_match(w, cv, qv, false))
            return true;
        if (ck == K_LIKE && qk == K_LIKE && w_within(w, qv, cv, false))
            return true;
        if (ck == K_EQ && qk == K_EQ && charge(w, cv, qv) && cf_str_eq(cv, qv))
            return true;
        /* c excludes every case variant of cv: that covers qv and its variants */
        if (ck == K_EQ_IC && (qk == K_EQ || qk == K_EQ_IC) && charge(w, cv, qv) && str_ieq(cv, qv))
            return true;
    }
    return false;
}

/* String operators other than "c enumerates its values" (StringEquals, handled by the
 * caller). */
static bool string_implies(wctx *w, const pcond *c, const pcond *q)
{
    kind ck = c->op->k, qk = q->op->k;
    bool qneg = q->op->neg;
    if (c->op->neg) { /* c excludes values: q may exclude no more */
        if (!qneg)
            return false;
        for (size_t j = 0; j < q->nv; j++)
            if (!string_excluded(w, c, q->v[j].s, qk))
                return false;
        return true;
    }
    for (size_t i = 0; i < c->nv; i++) {
        cf_str cv = c->v[i].s;
        bool ok = qneg; /* positive q: some value must admit cv; negated: none may */
        for (size_t j = 0; j < q->nv; j++) {
            cf_str qv = q->v[j].s;
            bool hit;
            if (ck == K_EQ_IC) /* every case variant of cv */
                hit = qk == K_EQ_IC ? charge(w, cv, qv) && str_ieq(cv, qv) : qneg;
            else if (qk == K_LIKE) /* c is StringLike: pattern cv */
                hit = qneg ? w_intersects(w, cv, qv, false) : w_within(w, cv, qv, false);
            else if (qk == K_EQ)
                hit = qneg ? w_match(w, cv, qv, false)
                           : !has_wild(cv) && charge(w, cv, qv) && cf_str_eq(cv, qv);
            else /* StringLike under an IgnoreCase operator: not judged */
                hit = qneg;
            if (hit)
                ok = !qneg;
            if (hit && qneg)
                break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* For every request, c true implies q true. Both are conditions of one statement pair. */
static bool cond_implies(wctx *w, const pcond *c, const pcond *q)
{
    if (c->key != q->key)
        return false;
    if (c->op->k == K_NULL || q->op->k == K_NULL) {
        if (c->op != q->op)
            return false;
        for (size_t i = 0; i < c->nv; i++) {
            bool found = false;
            for (size_t j = 0; j < q->nv; j++)
                found = found || q->v[j].n == c->v[i].n;
            if (!found)
                return false;
        }
        return true;
    }
    if (c->op->f != q->op->f)
        return false;
    /* A missing key makes q false only when q is positive and not ...IfExists; then c must
     * be false for it too. */
    if (!q->op->neg && !q->if_exists && (c->op->neg || c->if_exists))
        return false;
    /* c admits just its values: each must satisfy q. */
    if (!c->op->neg && (c->op->k == K_EQ || c->op->k == K_BOOL)) {
        for (size_t i = 0; i < c->nv; i++) {
            if (c->op->f == F_STRING) {
                for (size_t j = 0; j < q->nv; j++)
                    if (!charge(w, c->v[i].s, q->v[j].s))
                        return false;
            }
            if (!cond_holds_on(q, &c->v[i]))
                return false;
        }
        return true;
    }
    switch (c->op->f) {
    case F_STRING:
        return string_implies(w, c, q);
    case F_NUMERIC:
    case F_DATE:
        if (c->op->neg) { /* NotEquals: q may exclude only values c excludes */
            if (!q->op->neg)
                return false;
            for (size_t j = 0; j < q->nv; j++) {
                bool found = false;
                for (size_t i = 0; i < c->nv && !found; i++)
                    found = c->v[i].n == q->v[j].n;
                if (!found)
                    return false;
            }
            return true;
        }
        return range_implies(c, q);
    case F_IP:
        if (c->op->neg && !q->op->neg)
            return false;
        if (c->op->neg) { /* each network q excludes lies in one c excludes */
            for (size_t j = 0; j < q->nv; j++) {
                bool ok = false;
                for (size_t i = 0; i < c->nv && !ok; i++)
                    ok = cidr_contains(&c->v[i].ip, &q->v[j].ip);
                if (!ok)
                    return false;
            }
            return true;
        }
        for (size_t i = 0; i < c->nv; i++) { /* each network c admits: inside q / outside q */
            bool ok = q->op->neg;
            for (size_t j = 0; j < q->nv; j++) {
                if (q->op->neg && cidr_overlap(&c->v[i].ip, &q->v[j].ip))
                    ok = false;
                if (!q->op->neg && cidr_contains(&q->v[j].ip, &c->v[i].ip))
                    ok = true;
            }
            if (!ok)
                return false;
        }
        return true;
    default:
        return false;
    }
}

static bool conds_implied(wctx *w, const stmt *c, const stmt *p)
{
    for (size_t j = 0; j < p->ncond; j++) {
        bool found = false;
        for (size_t i = 0; i < c->ncond && !found; i++)
            found = cond_implies(w, &c->cond[i], &p->cond[j]);
        if (!found)
            return false;
    }
    return true;
}

typedef struct mask {
    uint64_t m[(MAX_STATEMENTS + 63) / 64];
} mask;

static void mask_set(mask *m, size_t i)
{
    m->m[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool mask_get(const mask *m, size_t i)
{
    return (m->m[i / 64] >> (i % 64)) & 1;
}

static bool mask_and3_any(const mask *a, const mask *b, const mask *c)
{
    for (size_t k = 0; k < sizeof(a->m) / sizeof(a->m[0]); k++)
        if (a->m[k] & b->m[k] & c->m[k])
            return true;
    return false;
}

/* Item i of a child element: one pattern, or for Not... the whole list. */
static elem child_item(const cf_str *v, size_t n, bool neg, size_t i)
{
    elem e = {neg ? v : v + i, neg ? n : 1, neg};
    return e;
}

static void describe_item(char *out, size_t size, const cf_str *v, size_t n, bool neg, size_t i,
                          const char *notname)
{
    int r;
    if (neg)
        r = snprintf(out, size, "anything outside its %s (%zu entries)", notname, n);
    else
        r = snprintf(out, size, "\"%.*s\"", QS(v[i]));
    if (r < 0)
        out[0] = '\0';
}

bool cf_policy_within(const cf_policy *child, const cf_policy *parent, cf_policy_error *err)
{
    wctx w = {WITHIN_BUDGET};
    if (err)
        memset(err, 0, sizeof(*err));
    if (!child || !parent) {
        (void)refuse(err, "", "no policy to compare");
        return false;
    }
    for (size_t i = 0; i < child->n; i++) {
        const stmt *c = &child->st[i];
        cf_str sid = c->sid.p ? c->sid : CF_STR("");
        size_t na = c->not_action ? 1 : c->nact, nr = c->not_resource ? 1 : c->nres;
        mask cm = {{0}};
        path_t sp;
        bool any = false;
        if (c->deny)
            continue;
        if (child->st_array)
            path_idx(sp, "Statement", i);
        else
            path_key(sp, "", "Statement");
        for (size_t k = 0; k < parent->n; k++) {
            if (!parent->st[k].deny && conds_implied(&w, c, &parent->st[k])) {
                mask_set(&cm, k);
                any = true;
            }
        }
        for (size_t ai = 0; ai < na; ai++) {
            mask am = {{0}};
            elem ce = child_item(c->act, c->nact, c->not_action, ai);
            for (size_t k = 0; k < parent->n && any; k++) {
                const stmt *p = &parent->st[k];
                elem pe = {p->act, p->nact, p->not_action};
                if (mask_get(&cm, k) && elem_covered(&w, ce, pe, true))
                    mask_set(&am, k);
            }
            for (size_t ri = 0; ri < nr; ri++) {
                mask rm = {{0}};
                elem re = child_item(c->res, c->nres, c->not_resource, ri);
                char ad[128], rd[128];
                for (size_t k = 0; k < parent->n && any; k++) {
                    const stmt *p = &parent->st[k];
                    elem pe = {p->res, p->nres, p->not_resource};
                    if (mask_get(&am, k) && elem_covered(&w, re, pe, false))
                        mask_set(&rm, k);
                }
                if (w.budget == 0) {
                    (void)refuse(err, sp, "policy too complex to compare with the parent's");
                    return false;
                }
                if (mask_and3_any(&am, &rm, &cm))
                    continue;
                describe_item(ad, sizeof(ad), c->act, c->nact, c->not_action, ai, "NotAction");
                describe_item(rd, sizeof(rd), c->res, c->nres, c->not_resource, ri, "NotResource");
                (void)refuse(err, sp,
                             "%s%s%.*s%s allows %s on %s%s, which the parent's policy does not", sp,
                             sid.len ? " (" : "", QS(sid), sid.len ? ")" : "", ad, rd,
                             c->ncond ? " (under its conditions)" : "");
                return false;
            }
        }
    }
    return true;
}

/* ---- shorthand ---- */

typedef enum level { OBJ_RO, OBJ_RW, ADM_RO, ADM_RW } level;

static const char *const level_names[] = {"object-read-only", "object-read-write",
                                          "admin-read-only", "admin-read-write"};

static const char *const acts_obj_read[] = {"s3:GetObject", "s3:GetObjectTagging",
                                            "s3:ListMultipartUploadParts"};
static const char *const acts_obj_write[] = {
    "s3:GetObject",        "s3:GetObjectTagging",   "s3:ListMultipartUploadParts",
    "s3:PutObject",        "s3:DeleteObject",       "s3:AbortMultipartUpload",
    "s3:PutObjectTagging", "s3:DeleteObjectTagging"};
static const char *const acts_bucket_read[] = {"s3:ListBucket", "s3:GetBucketLocation"};
static const char *const acts_bucket_write[] = {"s3:ListBucket", "s3:GetBucketLocation",
                                                "s3:ListBucketMultipartUploads"};
static const char *const acts_location[] = {"s3:GetBucketLocation"};
static const char *const acts_list_ro[] = {"s3:ListBucket"};
static const char *const acts_list_rw[] = {"s3:ListBucket", "s3:ListBucketMultipartUploads"};
static const char *const acts_s3_read[] = {"s3:Get*", "s3:List*"};
static const char *const acts_s3_all[] = {"s3:*"};
static const char *const acts_admin_read[] = {"admin:Get*", "admin:List*"};
static const char *const acts_admin_all[] = {"admin:*"};
static const char *const acts_lamb_obj[] = {"s3:ListAllMyBuckets"};
static const char *const acts_lamb_admin[] = {"s3:ListAllMyBuckets", "admin:ListBuckets"};

#define ACTS(x) x, sizeof(x) / sizeof(x[0])

typedef struct shorthand {
    level lvl;
    cf_str buckets[MAX_LIST];
    size_t nb;
    cf_str prefixes[SH_MAX_PREFIXES];
    size_t np;
} shorthand;

/* Appends a + b + c as a JSON string. */
static bool add_cat(json_t *arr, const char *a, cf_str b, const char *c)
{
    char tmp[64 + SH_MAX_PREFIX + 64];
    int n = snprintf(tmp, sizeof(tmp), "%s%.*s%s", a, CF_STR_FMT(b), c);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return false;
    return json_array_append_new(arr, json_stringn(tmp, (size_t)n)) == 0;
}

/* An array of one element reads better as the element. Takes arr. */
static json_t *simplify(json_t *arr)
{
    json_t *one;
    if (!arr || json_array_size(arr) != 1)
        return arr;
    one = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return one;
}

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_string(v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Appends a statement; takes res and cond (NULL: none). */
static bool add_stmt(json_t *stmts, const char *sid, const char *const *acts, size_t na,
                     json_t *res, json_t *cond)
{
    json_t *s = json_object();
    bool ok = s && res && json_object_set_new(s, "Sid", json_string(sid)) == 0 &&
              json_object_set_new(s, "Effect", json_string("Allow")) == 0 &&
              json_object_set_new(s, "Action", simplify(str_array(acts, na))) == 0 &&
              json_object_set_new(s, "Resource", simplify(json_incref(res))) == 0 &&
              (!cond || json_object_set(s, "Condition", cond) == 0) &&
              json_array_append(stmts, s) == 0;
    json_decref(s);
    json_decref(res);
    json_decref(cond);
    return ok;
}

static json_t *one_str(const char *s)
{
    json_t *arr = json_array();
    if (arr && json_array_append_new(arr, json_string(s)) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *bucket_arns(const shorthand *sh)
{
    json_t *arr;
    if (sh->nb == 0)
        return one_str(S3_ARN "*");
    arr = json_array();
    for (size_t i = 0; arr && i < sh->nb; i++)
        if (!add_cat(arr, S3_ARN, sh->buckets[i], "")) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *object_arns(const shorthand *sh, json_t *arr)
{
    if (!arr)
        return NULL;
    if (sh->nb == 0) {
        if (json_array_append_new(arr, json_string(S3_ARN "*/*")) != 0)
            goto fail;
        return arr;
    }
    for (size_t i = 0; i < sh->nb; i++) {
        if (sh->np == 0 && !add_cat(arr, S3_ARN, sh->buckets[i], "/*"))
            goto fail;
        for (size_t j = 0; j < sh->np; j++) {
            char head[128];
            int n = snprintf(head, sizeof(head), S3_ARN "%.*s/", CF_STR_FMT(sh->buckets[i]));
            if (n < 0 || (size_t)n >= sizeof(head) || !add_cat(arr, head, sh->prefixes[j], "*"))
                goto fail;
        }
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static json_t *admin_bucket_arns(const shorthand *sh)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < sh->nb; i++)
        if (!add_cat(arr, ADMIN_ARN "bucket/", sh->buckets[i], "")) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

static json_t *list_condition(const shorthand *sh)
{
    json_t *vals = json_array(), *like = json_object(), *cond = json_object();
    bool ok = vals && like && cond;
    for (size_t j = 0; ok && j < sh->np; j++)
        ok = add_cat(vals, "", sh->prefixes[j], "*") && add_cat(vals, "", sh->prefixes[j], "");
    ok = ok && json_object_set(like, "s3:prefix", vals) == 0 &&
         json_object_set(cond, "StringLike", like) == 0;
    json_decref(vals);
    json_decref(like);
    if (!ok) {
        json_decref(cond);
        return NULL;
    }
    return cond;
}

/* The table at the top of this file, as code. */
static json_t *expand(const shorthand *sh)
{
    json_t *pol = json_object(), *st = json_array();
    bool rw = sh->lvl == OBJ_RW || sh->lvl == ADM_RW, adm = sh->lvl == ADM_RO || sh->lvl == ADM_RW;
    bool ok = pol && st && json_object_set_new(pol, "Version", json_string(SH_VERSION)) == 0 &&
              json_object_set(pol, "Statement", st) == 0;
    if (!adm) {
        ok = ok && add_stmt(st, rw ? "ObjectReadWrite" : "ObjectRead",
                            rw ? acts_obj_write : acts_obj_read,
                            rw ? sizeof(acts_obj_write) / sizeof(acts_obj_write[0])
                               : sizeof(acts_obj_read) / sizeof(acts_obj_read[0]),
                            object_arns(sh, json_array()), NULL);
        if (sh->np == 0)
            ok = ok && add_stmt(st, rw ? "BucketReadWrite" : "BucketRead",
                                rw ? acts_bucket_write : acts_bucket_read,
                                rw ? sizeof(acts_bucket_write) / sizeof(acts_bucket_write[0])
                                   : sizeof(acts_bucket_read) / sizeof(acts_bucket_read[0]),
                                bucket_arns(sh), NULL);
    } else {
        json_t *res;
        if (sh->np == 0 && sh->nb == 0)
            res = one_str(S3_ARN "*");
        else if (sh->np == 0)
            res = object_arns(sh, bucket_arns(sh));
        else
            res = object_arns(sh, json_array());
        /* add_stmt takes res even when ok is already false */
        ok = add_stmt(st, rw ? "S3ReadWrite" : "S3Read", rw ? acts_s3_all : acts_s3_read,
                      rw ? 1 : 2, res, NULL) &&
             ok;
    }
    if (sh->np > 0) {
        ok = ok && add_stmt(st, "BucketLocation", ACTS(acts_location), bucket_arns(sh), NULL);
        ok = ok && add_stmt(st, "ListPrefixes", rw || adm ? acts_list_rw : acts_list_ro,
                            rw || adm ? 2 : 1, bucket_arns(sh), list_condition(sh));
    }
    if (adm && sh->nb == 0) {
        ok = ok && add_stmt(st, rw ? "AdminReadWrite" : "AdminRead",
                            rw ? acts_admin_all : acts_admin_read, rw ? 1 : 2, one_str("*"), NULL);
    } else if (adm) {
        ok = ok && add_stmt(st, rw ? "AdminCredentialsReadWrite" : "AdminCredentialsRead",
                            rw ? acts_admin_all : acts_admin_read, rw ? 1 : 2,
                            one_str(ADMIN_ARN "credential/*"), NULL);
        if (sh->np == 0)
            ok = ok && add_stmt(st, rw ? "AdminBucketsReadWrite" : "AdminBucketsRead",
                                rw ? acts_admin_all : acts_admin_read, rw ? 1 : 2,
                                admin_bucket_arns(sh), NULL);
    }
    ok = ok && add_stmt(st, "ListAllMyBuckets", adm ? acts_lamb_admin : acts_lamb_obj, adm ? 2 : 1,
                        one_str("*"), NULL);
    json_decref(st);
    if (!ok) {
        json_decref(pol);
        return NULL;
    }
    return pol;
}

/* "buckets" or "prefixes": absent, null or an array of distinct strings. */
static cf_rc sh_list(json_t *v, const char *name, size_t max, cf_str *out, size_t *n,
                     cf_policy_error *err)
{
    size_t count;
    *n = 0;
    if (!v || json_is_null(v))
        return CF_OK;
    if (!json_is_array(v))
        return refuse(err, name, "%s must be an array of strings", name);
    count = json_array_size(v);
    if (count > max)
        return refuse(err, name, "%zu %s; at most %zu allowed", count, name, max);
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(v, i);
        path_t ip;
        cf_str s;
        path_idx(ip, name, i);
        if (!json_is_string(e))
            return refuse(err, ip, "%s entries must be strings", name);
        s = jstr(e);
        if (name[0] == 'b' && !cf_bucket_name_valid(s))
            return refuse(err, ip, "\"%.*s\" is not a valid bucket name", QS(s));
        if (name[0] == 'p') {
            if (s.len == 0)
                return refuse(err, ip, "empty prefix (omit prefixes to cover whole buckets)");
            if (s.len > SH_MAX_PREFIX)
                return refuse(err, ip, "prefix is %zu bytes; at most %d allowed", s.len,
                              SH_MAX_PREFIX);
            if (has_wild(s))
                return refuse(err, ip, "a prefix cannot contain '*' or '?'");
            if (has_variable(s))
                return refuse(err, ip, "a prefix cannot contain \"${\"");
        }
        for (size_t k = 0; k < i; k++)
            if (cf_str_eq(out[k], s))
                return refuse(err, ip, "duplicate entry \"%.*s\"", QS(s));
        out[i] = s;
    }
    *n = count;
    return CF_OK;
}

typedef struct dump_ctx {
    cf_buf *out;
    cf_rc rc;
} dump_ctx;

static int dump_cb(const char *buffer, size_t size, void *data)
{
    dump_ctx *d = data;
    d->rc = cf_buf_append(d->out, buffer, size);
    return d->rc == CF_OK ? 0 : -1;
}

cf_rc cf_policy_from_shorthand(cf_str shorthand_json, cf_buf *out, cf_policy_error *err)
{
    cf_rc rc = CF_EINVAL;
    json_t *root = NULL, *pol = NULL, *v, *perm = NULL, *buckets = NULL, *prefixes = NULL;
    json_error_t je;
    const char *key;
    shorthand *sh = NULL;
    dump_ctx d = {out, CF_OK};
    size_t lvl;
    if (err)
        memset(err, 0, sizeof(*err));
    cf_buf_reset(out);
    if (shorthand_json.len > CF_POLICY_MAX_BYTES) {
        rc = refuse(err, "", "shorthand is %zu bytes; at most %u allowed", shorthand_json.len,
                    CF_POLICY_MAX_BYTES);
        goto out;
    }
    root = json_loadb(shorthand_json.p ? shorthand_json.p : "", shorthand_json.len,
                      JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        rc = refuse(err, "", "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = refuse(err, "", "the shorthand must be a JSON object");
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "permission") == 0) {
            perm = v;
        } else if (strcmp(key, "buckets") == 0) {
            buckets = v;
        } else if (strcmp(key, "prefixes") == 0) {
            prefixes = v;
        } else {
            path_t fp;
            path_key(fp, "", key);
            rc = refuse(err, fp, "unknown field \"%.*s\" (expected permission, buckets, prefixes)",
                        QS(cf_str_c(key)));
            goto out;
        }
    }
    sh = calloc(1, sizeof(*sh));
    if (!sh) {
        rc = nomem(err);
        goto out;
    }
    if (!perm || json_is_null(perm)) {
        rc = refuse(err, "permission", "missing permission");
        goto out;
    }
    for (lvl = 0; lvl < 4; lvl++)
        if (json_is_string(perm) && cf_str_eq_c(jstr(perm), level_names[lvl]))
            break;
    if (lvl == 4) {
        rc = refuse(err, "permission",
                    "permission must be \"admin-read-write\", \"admin-read-only\", "
                    "\"object-read-write\" or \"object-read-only\"");
        goto out;
    }
    sh->lvl = (level)lvl;
    rc = sh_list(buckets, "buckets", MAX_LIST, sh->buckets, &sh->nb, err);
    if (rc != CF_OK)
        goto out;
    rc = sh_list(prefixes, "prefixes", SH_MAX_PREFIXES, sh->prefixes, &sh->np, err);
    if (rc != CF_OK)
        goto out;
    /* "*" in "arn:aws:s3:::*" + "/p*" would also match "b/x/p...": prefixes need names. */
    if (sh->np > 0 && sh->nb == 0) {
        rc = refuse(err, "prefixes", "prefixes need buckets: name the buckets they apply to");
        goto out;
    }
    if (sh->np * sh->nb > MAX_LIST) {
        rc = refuse(err, "prefixes", "%zu buckets x %zu prefixes; at most %d combinations allowed",
                    sh->nb, sh->np, MAX_LIST);
        goto out;
    }
    pol = expand(sh);
    if (!pol) {
        rc = nomem(err);
        goto out;
    }
    if (json_dump_callback(pol, dump_cb, &d, JSON_PRESERVE_ORDER) != 0) {
        rc = d.rc != CF_OK ? d.rc : CF_ENOMEM;
        if (rc == CF_ETOOBIG)
            (void)refuse(err, "", "the expanded policy does not fit");
        else
            (void)nomem(err);
        goto out;
    }
    if (out->len > CF_POLICY_MAX_BYTES) {
        rc = refuse(err, "", "the expanded policy would exceed %u bytes", CF_POLICY_MAX_BYTES);
        goto out;
    }
    rc = CF_OK;
out:
    if (rc != CF_OK)
        cf_buf_reset(out);
    free(sh);
    json_decref(pol);
    json_decref(root);
    return rc;
}
