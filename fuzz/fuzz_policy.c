/* IAM policies: parser, evaluator, containment (cf_policy_within), ListBuckets filtering and
 * the credentials API's shorthand. Input: policy JSON (or two, split at a 0x1E byte, also
 * compared with each other), optionally followed by a NUL byte and a request, one field a
 * line: action, resource, source IP, time (ISO 8601 or epoch ms), secure ("1"), s3:prefix,
 * s3:delimiter, s3:max-keys (a missing line is an absent value).
 *
 * When the JSON parses, it is evaluated against that request and a table of requests, and
 * compared with cf_policy_within both ways against fixed policies. Properties:
 *  - evaluation is deterministic;
 *  - containment is sound: when within(child, parent) holds, every request (s3: or admin:
 *    action, as the header promises callers send) the child allows matches some parent
 *    statement (the fixed parents have no Deny, so there the parent must allow);
 *  - a shorthand that expands gives a policy that parses and grants s3:ListAllMyBuckets. */
#include "fuzz.h"

#include "auth/policy.h"
#include "core/arena.h"
#include "core/buf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

/* Fixed policies: parents hold no Deny (so "the parent allows" is exact), children are
 * typical delegated grants. Shorthand expansions are added at first use. */
static const char *const fixed_parents[] = {
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\","
    "\"admin:*\"],\"Resource\":\"*\"}]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Objects\",\"Effect\":\"Allow\","
    "\"Action\":[\"s3:Get*\",\"s3:PutObject\"],\"Resource\":\"arn:aws:s3:::bk1/p/*\"},"
    "{\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::bk1\","
    "\"Condition\":{\"StringLike\":{\"s3:prefix\":[\"p/*\",\"p/\"]}}}]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":"
    "\"s3:Delete*\",\"Resource\":[\"arn:aws:s3:::bk?\",\"arn:aws:s3:::bk?/*\"],\"Condition\":"
    "{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\"]},\"DateLessThan\":"
    "{\"aws:CurrentTime\":\"2027-01-01T00:00:00Z\"},\"Bool\":{\"aws:SecureTransport\":\"true\"},"
    "\"NumericLessThanEquals\":{\"s3:max-keys\":\"100\"}}}}",
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
    "\"NotResource\":\"arn:aws:s3:::secret*\"},{\"Effect\":\"Allow\",\"Action\":\"admin:Get*\","
    "\"Resource\":\"arn:coffer:admin:::credential/*\",\"Condition\":{\"StringEqualsIfExists\":"
    "{\"s3:delimiter\":\"/\"},\"NotIpAddress\":{\"aws:SourceIp\":\"192.168.0.0/16\"}}}]}",
};

static const char *const fixed_children[] = {
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
    "\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bk1/p/x*\"}]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:List*\","
    "\"Resource\":\"arn:aws:s3:::bk1\",\"Condition\":{\"StringLike\":{\"s3:prefix\":\"p/q*\"},"
    "\"IpAddress\":{\"aws:SourceIp\":\"10.1.0.0/16\"}}}]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"admin:*\","
    "\"s3:*\"],\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"aws:EpochTime\":"
    "\"1800000000\"},\"Bool\":{\"aws:SecureTransport\":\"true\"}}}]}",
};

static const char *const shorthands[] = {
    "{\"permission\":\"object-read-write\",\"buckets\":[\"bk1\"],\"prefixes\":[\"p/\"]}",
    "{\"permission\":\"object-read-only\",\"buckets\":[\"bk1\",\"bk2\"]}",
    "{\"permission\":\"admin-read-only\"}",
    "{\"permission\":\"admin-read-write\",\"buckets\":[\"bk1\"],\"prefixes\":[\"p/\",\"q\"]}",
};

#define NFIXED 8
static cf_arena *g_arena;
static const cf_policy *g_parents[NFIXED], *g_children[NFIXED];
static size_t g_nparents, g_nchildren;

static const cf_policy *parse_fixed(cf_str json)
{
    cf_policy *p = NULL;
    cf_policy_error e;
    if (cf_policy_parse(g_arena, json, &p, &e) != CF_OK) {
        fprintf(stderr, "fixed policy does not parse: %s: %s\n%.*s\n", e.field, e.message,
                CF_STR_FMT(json));
        abort();
    }
    return p;
}

static void init_fixed(void)
{
    cf_buf b;
    cf_policy_error e;
    if (g_arena)
        return;
    g_arena = cf_arena_new(0);
    FUZZ_CHECK(g_arena != NULL);
    for (size_t i = 0; i < sizeof(fixed_parents) / sizeof(fixed_parents[0]); i++)
        g_parents[g_nparents++] = parse_fixed(cf_str_c(fixed_parents[i]));
    for (size_t i = 0; i < sizeof(fixed_children) / sizeof(fixed_children[0]); i++)
        g_children[g_nchildren++] = parse_fixed(cf_str_c(fixed_children[i]));
    /* Shorthand expansions are children (what the API stores most). */
    cf_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof(shorthands) / sizeof(shorthands[0]); i++) {
        FUZZ_CHECK(cf_policy_from_shorthand(cf_str_c(shorthands[i]), &b, &e) == CF_OK);
        g_children[g_nchildren++] = parse_fixed(cf_arena_str(g_arena, cf_buf_str(&b)));
    }
    cf_buf_free(&b);
}

static const char *const actions[] = {
    "s3:GetObject",           "s3:PutObject",
    "s3:ListBucket",          "s3:DeleteObject",
    "s3:ListAllMyBuckets",    "s3:GetBucketLocation",
    "s3:PutBucketPolicy",     "s3:ListMultipartUploadParts",
    "admin:CreateCredential", "admin:ListBuckets",
    "admin:GetBucket",        "admin:GetCredential",
};
static const char *const resources[] = {
    "*",
    "arn:aws:s3:::bk1",
    "arn:aws:s3:::bk1/p/x",
    "arn:aws:s3:::bk1/p/",
    "arn:aws:s3:::bk2/q",
    "arn:aws:s3:::secretb/k",
    "arn:coffer:admin:::credential/c1",
    "arn:coffer:admin:::credential/*",
    "arn:coffer:admin:::bucket/bk1",
};
/* Request contexts: IP, time, secure, prefix, delimiter, max-keys (NULL: absent). */
typedef struct ctx {
    const char *ip;
    int64_t now;
    bool secure;
    const char *prefix, *delim, *max_keys;
} ctx;
static const ctx contexts[] = {
    {"10.1.2.3", FUZZ_NOW_MS, true, NULL, NULL, NULL},
    {"10.1.2.3", FUZZ_NOW_MS, true, "p/q", "/", "50"},
    {"192.168.1.1", INT64_C(1900000000000), false, "p/", NULL, "1000"},
    {"2001:db8::1", FUZZ_NOW_MS, true, "", "", "x"},
    {"::ffff:10.0.0.1", 0, true, "q", NULL, "100"},
    {"bogus", FUZZ_NOW_MS, false, NULL, "/", NULL},
};

static cf_str opt(const char *s)
{
    return s ? cf_str_c(s) : CF_STR_NULL;
}

/* The request fields given after the NUL byte. */
static cf_authz_req request_from(fuzz_in *in)
{
    cf_authz_req r;
    cf_str f[8];
    int64_t ms;
    memset(&r, 0, sizeof(r));
    for (size_t i = 0; i < 8; i++)
        f[i] = fuzz_left(in) ? fuzz_line(in) : CF_STR_NULL;
    r.action = f[0];
    r.resource = f[1];
    r.source_ip = f[2];
    r.now_ms = FUZZ_NOW_MS;
    if (cf_time_parse_iso8601(f[3], &ms) || cf_str_to_i64(f[3], &ms))
        r.now_ms = ms;
    r.secure_transport = cf_str_eq_c(f[4], "1");
    r.s3_prefix = f[5];
    r.s3_delimiter = f[6];
    r.s3_max_keys = f[7];
    return r;
}

static bool callers_action(cf_str a)
{
    return cf_str_starts_c(a, "s3:") || cf_str_starts_c(a, "admin:");
}

/* within(child, parent) must not be contradicted by request r. parent_exact: the parent has
 * no Deny, so it must allow; otherwise it must at least match (allow or deny). */
static void check_sound(const cf_policy *child, const cf_policy *parent, bool parent_exact,
                        const cf_authz_req *r)
{
    cf_policy_decision c, p;
    if (!callers_action(r->action))
        return;
    c = cf_policy_eval(child, r);
    if (c != CF_POLICY_ALLOW)
        return;
    p = cf_policy_eval(parent, r);
    if (parent_exact ? p != CF_POLICY_ALLOW : p == CF_POLICY_IMPLICIT_DENY) {
        fprintf(stderr,
                "within() holds but the child allows what the parent does not: %.*s on "
                "%.*s\n",
                CF_STR_FMT(r->action), CF_STR_FMT(r->resource));
        abort();
    }
}

/* Runs fn over the request from the input and the table. */
static void each_request(const cf_authz_req *given, const cf_policy *a, const cf_policy *b,
                         bool b_exact, uint32_t h)
{
    const ctx *x = &contexts[h % (sizeof(contexts) / sizeof(contexts[0]))];
    if (given)
        check_sound(a, b, b_exact, given);
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        for (size_t k = 0; k < sizeof(resources) / sizeof(resources[0]); k++) {
            cf_authz_req r = {.action = cf_str_c(actions[i]),
                              .resource = cf_str_c(resources[k]),
                              .source_ip = opt(x->ip),
                              .now_ms = x->now,
                              .secure_transport = x->secure,
                              .s3_prefix = opt(x->prefix),
                              .s3_delimiter = opt(x->delim),
                              .s3_max_keys = opt(x->max_keys)};
            check_sound(a, b, b_exact, &r);
        }
    }
}

static uint32_t hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void shorthand(cf_str json)
{
    cf_buf b;
    cf_policy_error e;
    cf_arena *a;
    cf_policy *p = NULL;
    cf_buf_init(&b, 1 << 20);
    if (cf_policy_from_shorthand(json, &b, &e) == CF_OK) {
        /* Absent condition values are .p NULL: zero-initialised. */
        cf_authz_req r = {.action = CF_STR("s3:ListAllMyBuckets"),
                          .resource = CF_STR("*"),
                          .now_ms = FUZZ_NOW_MS};
        a = cf_arena_new(0);
        FUZZ_CHECK(a != NULL);
        if (cf_policy_parse(a, cf_buf_str(&b), &p, &e) != CF_OK) {
            fprintf(stderr, "shorthand expansion does not parse: %s: %s\n%s\n", e.field, e.message,
                    b.p);
            abort();
        }
        FUZZ_CHECK(cf_policy_eval(p, &r) == CF_POLICY_ALLOW);
        cf_arena_destroy(a);
    } else {
        FUZZ_CHECK(memchr(e.field, '\0', sizeof(e.field)) != NULL);
        FUZZ_CHECK(memchr(e.message, '\0', sizeof(e.message)) != NULL);
    }
    cf_buf_free(&b);
}

/* Two policies from the input (split at a 0x1E byte): containment both ways. */
static void pair(cf_arena *a, cf_str json, const cf_authz_req *given, uint32_t h)
{
    cf_str j1, j2;
    cf_policy *p1 = NULL, *p2 = NULL;
    cf_policy_error e;
    if (!cf_str_cut(json, '\x1e', &j1, &j2))
        return;
    if (cf_policy_parse(a, j1, &p1, &e) != CF_OK || cf_policy_parse(a, j2, &p2, &e) != CF_OK)
        return;
    if (cf_policy_within(p1, p2, &e))
        each_request(given, p1, p2, false, h);
    if (cf_policy_within(p2, p1, &e))
        each_request(given, p2, p1, false, h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, '\0', size);
    size_t jlen = nul ? (size_t)(nul - (const char *)data) : size;
    cf_str json = cf_str_make((const char *)data, jlen);
    fuzz_in in = fuzz_in_make(data, size);
    cf_authz_req given;
    cf_policy *p = NULL;
    cf_policy_error e;
    cf_arena *a = cf_arena_new(0);
    uint32_t h = hash(data, size);

    init_fixed();
    FUZZ_CHECK(a != NULL);
    in.i = nul ? jlen + 1 : size;
    given = request_from(&in);

    shorthand(json);
    pair(a, json, nul ? &given : NULL, h);
    if (cf_policy_parse(a, json, &p, &e) != CF_OK) {
        FUZZ_CHECK(memchr(e.field, '\0', sizeof(e.field)) != NULL);
        FUZZ_CHECK(memchr(e.message, '\0', sizeof(e.message)) != NULL);
        goto out;
    }
    FUZZ_CHECK(cf_policy_eval(p, &given) == cf_policy_eval(p, &given));
    (void)cf_policy_may_touch_bucket(p, CF_STR("bk1"));
    (void)cf_policy_may_touch_bucket(p, given.resource);
    (void)cf_policy_within(p, p, &e);
    for (size_t i = 0; i < g_nparents; i++)
        if (cf_policy_within(p, g_parents[i], &e))
            each_request(nul ? &given : NULL, p, g_parents[i], true, h);
    for (size_t i = 0; i < g_nchildren; i++)
        if (cf_policy_within(g_children[i], p, &e))
            each_request(nul ? &given : NULL, g_children[i], p, false, h);
out:
    cf_arena_destroy(a);
    return 0;
}
