/* auth/policy: parsing and its refusals, evaluation, conditions, the shorthand expansion,
 * ListBuckets filtering, containment for delegation and glob containment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The .c itself, to reach parse_date and glob_intersects. */
#include "auth/policy.c"

/* Request tables leave trailing fields out: absent values, NULL. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ALLOW CF_POLICY_ALLOW
#define DENY  CF_POLICY_DENY
#define IMPL  CF_POLICY_IMPLICIT_DENY

#define T2026 1767225600000LL /* 2026-01-01T00:00:00Z in ms */

static cf_arena *A;

static int setup(void **state)
{
    (void)state;
    A = cf_arena_new(0);
    return A ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cf_arena_destroy(A);
    A = NULL;
    return 0;
}

static cf_policy *parse_ok(const char *json)
{
    cf_policy *p = NULL;
    cf_policy_error e;
    cf_rc rc = cf_policy_parse(A, cf_str_c(json), &p, &e);
    if (rc != CF_OK)
        fail_msg("unexpected parse error at \"%s\": %s\nin %s", e.field, e.message, json);
    assert_non_null(p);
    return p;
}

/* Expands a shorthand and parses the result. */
static cf_policy *sh_policy(const char *sh)
{
    cf_buf b;
    cf_policy_error e;
    cf_policy *p = NULL;
    cf_rc rc;
    cf_buf_init(&b, 1 << 20);
    rc = cf_policy_from_shorthand(cf_str_c(sh), &b, &e);
    if (rc != CF_OK)
        fail_msg("shorthand %s: %s: %s", sh, e.field, e.message);
    rc = cf_policy_parse(A, cf_buf_str(&b), &p, &e);
    if (rc != CF_OK)
        fail_msg("expansion of %s does not parse: %s: %s\n%s", sh, e.field, e.message, b.p);
    cf_buf_free(&b);
    return p;
}

/* A request, with NULL for an absent value. */
typedef struct rq {
    const char *action, *resource;
    cf_policy_decision want;
    const char *ip, *prefix, *delimiter, *max_keys;
    int64_t now_ms;
    bool secure;
    const char *if_match, *if_none_match;
    cf_authz_bool creation;
} rq;

static cf_authz_req mkreq(const rq *q)
{
    cf_authz_req r;
    memset(&r, 0, sizeof(r));
    r.action = cf_str_c(q->action);
    r.resource = cf_str_c(q->resource);
    r.source_ip = q->ip ? cf_str_c(q->ip) : CF_STR_NULL;
    r.s3_prefix = q->prefix ? cf_str_c(q->prefix) : CF_STR_NULL;
    r.s3_delimiter = q->delimiter ? cf_str_c(q->delimiter) : CF_STR_NULL;
    r.s3_max_keys = q->max_keys ? cf_str_c(q->max_keys) : CF_STR_NULL;
    r.now_ms = q->now_ms;
    r.secure_transport = q->secure;
    r.s3_if_match = q->if_match ? cf_str_c(q->if_match) : CF_STR_NULL;
    r.s3_if_none_match = q->if_none_match ? cf_str_c(q->if_none_match) : CF_STR_NULL;
    r.s3_object_creation = q->creation;
    return r;
}

static const char *dname(cf_policy_decision d)
{
    return d == ALLOW ? "ALLOW" : d == DENY ? "DENY" : "IMPLICIT_DENY";
}

#define MAX_RQ 40
typedef struct eval_case {
    const char *policy; /* JSON, or a shorthand when it starts with {"permission" */
    rq reqs[MAX_RQ];    /* up to the first with action NULL */
} eval_case;

static void run_eval_cases(const eval_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const eval_case *c = &cases[i];
        cf_policy *p = strncmp(c->policy, "{\"permission\"", 13) == 0 ? sh_policy(c->policy)
                                                                      : parse_ok(c->policy);
        for (size_t j = 0; j < MAX_RQ && c->reqs[j].action; j++) {
            const rq *q = &c->reqs[j];
            cf_authz_req r = mkreq(q);
            cf_policy_decision got = cf_policy_eval(p, &r);
            if (got != q->want)
                fail_msg("case %zu request %zu: %s on %s (ip %s, prefix %s, max-keys %s, "
                         "now %lld, secure %d): got %s, want %s\npolicy: %s",
                         i, j, q->action, q->resource, q->ip ? q->ip : "-",
                         q->prefix ? q->prefix : "-", q->max_keys ? q->max_keys : "-",
                         (long long)q->now_ms, q->secure, dname(got), dname(q->want), c->policy);
        }
    }
}

/* ---- parse refusals ---- */

typedef struct perr_case {
    const char *json;
    const char *field;
    const char *msg; /* a substring of the message */
} perr_case;

#define ST(body) "{\"Version\":\"2012-10-17\",\"Statement\":[" body "]}"
#define OKS      "\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\""
#define COND(c)  ST("{" OKS ",\"Condition\":" c "}")

static const perr_case parse_errors[] = {
    /* the document */
    {"", "", "invalid JSON at line 1"},
    {"{", "", "invalid JSON at line 1, column"},
    {"{\n  \"Statement\": [\n  }", "", "invalid JSON at line 3"},
    {"[]", "", "must be a JSON object"},
    {"\"x\"", "", "invalid JSON"},
    {"{\"Statement\":[{" OKS "}],\"Statement\":[]}", "", "duplicate"},
    {ST("{\"Effect\":\"Allow\",\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}"), "",
     "duplicate"},
    {"{}", "Statement", "missing Statement"},
    {"{\"Version\":\"2012-10-17\"}", "Statement", "missing Statement"},
    {"{\"Version\":\"2013-01-01\",\"Statement\":[{" OKS "}]}", "Version", "Version must be"},
    {"{\"Version\":2012,\"Statement\":[{" OKS "}]}", "Version", "Version must be"},
    {"{\"Id\":5,\"Statement\":[{" OKS "}]}", "Id", "Id must be a string"},
    {"{\"Statment\":[{" OKS "}]}", "Statment", "unknown policy field \"Statment\""},
    {"{\"Statement\":[]}", "Statement", "must not be empty"},
    {"{\"Statement\":\"x\"}", "Statement", "an object or an array"},
    {"{\"Statement\":[1]}", "Statement[0]", "must be an object"},
    {"{\"Statement\":[{" OKS "},[]]}", "Statement[1]", "must be an object"},
    /* statements */
    {ST("{\"Action\":\"*\",\"Resource\":\"*\"}"), "Statement[0].Effect", "missing Effect"},
    {ST("{\"Effect\":\"allow\",\"Action\":\"*\",\"Resource\":\"*\"}"), "Statement[0].Effect",
     "\"Allow\" or \"Deny\""},
    {ST("{\"Effect\":true,\"Action\":\"*\",\"Resource\":\"*\"}"), "Statement[0].Effect",
     "\"Allow\" or \"Deny\""},
    {"{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}}",
     "Statement.Effect", "\"Allow\" or \"Deny\""},
    {ST("{" OKS "},{\"Effect\":\"Allow\",\"Resource\":\"*\"}"), "Statement[1].Action",
     "missing Action"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\"}"), "Statement[0].Resource", "missing Resource"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"s3:*\",\"Resource\":\"*\"}"),
     "Statement[0].NotAction", "not both"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"NotResource\":\"*\"}"),
     "Statement[0].NotResource", "not both"},
    {ST("{" OKS ",\"Principal\":\"*\"}"), "Statement[0].Principal", "not allowed"},
    {ST("{" OKS ",\"NotPrincipal\":{\"AWS\":\"x\"}}"), "Statement[0].NotPrincipal", "not allowed"},
    {ST("{" OKS ",\"Effects\":\"Allow\"}"), "Statement[0].Effects",
     "unknown statement field \"Effects\""},
    {ST("{" OKS ",\"Sid\":5}"), "Statement[0].Sid", "Sid must be a string"},
    /* actions */
    {ST("{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}"), "Statement[0].Action",
     "must not be empty"},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":[],\"Resource\":\"*\"}"), "Statement[0].NotAction",
     "must not be empty"},
    {ST("{\"Effect\":\"Allow\",\"Action\":5,\"Resource\":\"*\"}"), "Statement[0].Action",
     "a string or an array"},
    {ST("{\"Effect\":\"Allow\",\"Action\":{},\"Resource\":\"*\"}"), "Statement[0].Action",
     "a string or an array"},
    {ST("{\"Effect\":\"Allow\",\"Action\":[5],\"Resource\":\"*\"}"), "Statement[0].Action[0]",
     "must be strings"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"\",\"Resource\":\"*\"}"), "Statement[0].Action",
     "empty Action entry"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"GetObject\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "needs a service prefix"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s4:GetObject\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "unknown service \"s4\""},
    {ST("{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"iam:CreateUser\"],\"Resource\":"
        "\"*\"}"),
     "Statement[0].Action[1]", "unknown service \"iam\""},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*:GetObject\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "unknown service"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s*:GetObject\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "unknown service"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:\",\"Resource\":\"*\"}"), "Statement[0].Action",
     "no action name"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:Get Object\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "invalid character"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:Get:Object\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "invalid character"},
    {ST("{\"Effect\":\"Allow\",\"Action\":[\"admin:GetBucket\",\"admin:CreateCredentail\"],"
        "\"Resource\":\"*\"}"),
     "Statement[0].Action[1]", "matches no admin action"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"admin:Put*\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "matches no admin action"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:NoSuchAction\",\"Resource\":\"*\"}"),
     "Statement[0].Action", "\"s3:NoSuchAction\" matches no S3 action"},
    {ST("{\"Effect\":\"Deny\",\"Action\":[\"s3:GetObject\",\"s3:DeleteObjcet\"],\"Resource\":\"*"
        "\"}"),
     "Statement[0].Action[1]", "matches no S3 action"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:Gte*\",\"Resource\":\"*\"}"), "Statement[0].Action",
     "matches no S3 action"},
    /* resources */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":[]}"), "Statement[0].Resource",
     "must not be empty"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s4:::b\"}"),
     "Statement[0].Resource", "must be \"*\" or an ARN"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":[\"*\",\"bkt1\"]}"),
     "Statement[0].Resource[1]", "must be \"*\" or an ARN"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::\"}"),
     "Statement[0].Resource", "names no bucket"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotResource\":[\"arn:aws:s3:::x\",\"arn:*\"]}"),
     "Statement[0].NotResource[1]", "must be \"*\" or an ARN"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:coffer:admin:::buckets/b1\"}"),
     "Statement[0].Resource", "unknown admin resource"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::${aws:username}/*\"}"),
     "Statement[0].Resource", "policy variables"},
    /* conditions */
    {COND("\"x\""), "Statement[0].Condition", "Condition must be an object"},
    {COND("{\"StringEqual\":{\"s3:prefix\":\"a\"}}"), "Statement[0].Condition.StringEqual",
     "unknown condition operator \"StringEqual\""},
    {COND("{\"stringequals\":{\"s3:prefix\":\"a\"}}"), "Statement[0].Condition.stringequals",
     "unknown condition operator"},
    {COND("{\"ForAnyValue:StringLike\":{\"s3:prefix\":\"a\"}}"),
     "Statement[0].Condition.ForAnyValue:StringLike", "set operators"},
    {COND("{\"ForAllValues:StringLike\":{\"s3:prefix\":\"a\"}}"),
     "Statement[0].Condition.ForAllValues:StringLike", "set operators"},
    {COND("{\"NullIfExists\":{\"s3:prefix\":\"true\"}}"), "Statement[0].Condition.NullIfExists",
     "unknown condition operator"},
    {COND("{\"IfExists\":{\"s3:prefix\":\"true\"}}"), "Statement[0].Condition.IfExists",
     "unknown condition operator"},
    {COND("{\"StringLike\":\"x\"}"), "Statement[0].Condition.StringLike",
     "must be an object of condition keys"},
    {COND("{\"StringLike\":{}}"), "Statement[0].Condition.StringLike", "names no condition key"},
    {COND("{\"StringLike\":{\"aws:username\":\"x\"}}"),
     "Statement[0].Condition.StringLike.aws:username", "unknown condition key \"aws:username\""},
    {COND("{\"StringLike\":{\"s3:prefix\":\"a\",\"s3:versionid\":\"x\"}}"),
     "Statement[0].Condition.StringLike.s3:versionid", "unknown condition key"},
    {COND("{\"IpAddress\":{\"s3:prefix\":\"10.0.0.0/8\"}}"),
     "Statement[0].Condition.IpAddress.s3:prefix", "does not apply to s3:prefix"},
    {COND("{\"StringEquals\":{\"aws:SourceIp\":\"10.0.0.1\"}}"),
     "Statement[0].Condition.StringEquals.aws:SourceIp", "does not apply"},
    {COND("{\"DateLessThan\":{\"s3:max-keys\":\"5\"}}"),
     "Statement[0].Condition.DateLessThan.s3:max-keys", "does not apply"},
    {COND("{\"Bool\":{\"aws:CurrentTime\":\"true\"}}"),
     "Statement[0].Condition.Bool.aws:CurrentTime", "does not apply"},
    {COND("{\"NumericLessThan\":{\"aws:CurrentTime\":\"5\"}}"),
     "Statement[0].Condition.NumericLessThan.aws:CurrentTime", "does not apply"},
    /* condition values */
    {COND("{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp[1]", "not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":\"nope\"}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp", "\"nope\" is not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":\"10.1.0.0/8\"}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp", "bits set past"},
    {COND("{\"NotIpAddress\":{\"aws:SourceIp\":[\"2001:db8::/32\",\"2001:db8::/129\"]}}"),
     "Statement[0].Condition.NotIpAddress.aws:SourceIp[1]", "not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8:::1\"}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp", "not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.1/\"}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp", "not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":\"010.0.0.1\"}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp", "not an IPv4 or IPv6"},
    {COND("{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.1\", 10]}}"),
     "Statement[0].Condition.IpAddress.aws:SourceIp[1]", "must be strings"},
    {COND("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-13-01T00:00:00Z\"}}"),
     "Statement[0].Condition.DateLessThan.aws:CurrentTime", "must be dates"},
    {COND("{\"DateLessThan\":{\"aws:CurrentTime\":[\"2026-01-01\",\"2026-02-30\"]}}"),
     "Statement[0].Condition.DateLessThan.aws:CurrentTime[1]", "must be dates"},
    {COND("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"yesterday\"}}"),
     "Statement[0].Condition.DateGreaterThan.aws:CurrentTime", "must be dates"},
    {COND("{\"DateGreaterThan\":{\"aws:EpochTime\":1.5}}"),
     "Statement[0].Condition.DateGreaterThan.aws:EpochTime", "must be dates"},
    {COND("{\"DateGreaterThan\":{\"aws:CurrentTime\":-5}}"),
     "Statement[0].Condition.DateGreaterThan.aws:CurrentTime", "must be dates"},
    {COND("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-01-01T24:00:00Z\"}}"),
     "Statement[0].Condition.DateLessThan.aws:CurrentTime", "must be dates"},
    {COND("{\"Bool\":{\"aws:SecureTransport\":\"yes\"}}"),
     "Statement[0].Condition.Bool.aws:SecureTransport", "true or false"},
    {COND("{\"Bool\":{\"aws:SecureTransport\":1}}"),
     "Statement[0].Condition.Bool.aws:SecureTransport", "true or false"},
    {COND("{\"Null\":{\"s3:prefix\":\"maybe\"}}"), "Statement[0].Condition.Null.s3:prefix",
     "true or false"},
    {COND("{\"NumericLessThan\":{\"s3:max-keys\":\"1.5\"}}"),
     "Statement[0].Condition.NumericLessThan.s3:max-keys", "must be integers"},
    {COND("{\"NumericLessThan\":{\"s3:max-keys\":2.5}}"),
     "Statement[0].Condition.NumericLessThan.s3:max-keys", "must be integers"},
    {COND("{\"NumericLessThan\":{\"s3:max-keys\":[\"10\",\"ten\"]}}"),
     "Statement[0].Condition.NumericLessThan.s3:max-keys[1]", "must be integers"},
    {COND("{\"StringLike\":{\"s3:prefix\":5}}"), "Statement[0].Condition.StringLike.s3:prefix",
     "must be strings"},
    {COND("{\"StringLike\":{\"s3:prefix\":true}}"), "Statement[0].Condition.StringLike.s3:prefix",
     "must be strings"},
    {COND("{\"StringLike\":{\"s3:prefix\":\"home/${aws:username}/*\"}}"),
     "Statement[0].Condition.StringLike.s3:prefix", "policy variables"},
    {COND("{\"StringLike\":{\"s3:prefix\":[]}}"), "Statement[0].Condition.StringLike.s3:prefix",
     "no condition value"},
    {COND("{\"StringLike\":{\"s3:prefix\":{}}}"), "Statement[0].Condition.StringLike.s3:prefix",
     "a value or an array"},
    {COND("{\"StringLike\":{\"s3:prefix\":null}}"), "Statement[0].Condition.StringLike.s3:prefix",
     "a value or an array"},
    {COND("{\"StringLike\":{\"s3:prefix\":[\"a\",null]}}"),
     "Statement[0].Condition.StringLike.s3:prefix[1]", "must be strings"},
    /* the error names the second statement */
    {ST("{" OKS "},{" OKS ",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"1.2.3.4\","
        "\"::1\",\"1.2.3.4/40\"]}}}"),
     "Statement[1].Condition.IpAddress.aws:SourceIp[2]", "not an IPv4 or IPv6"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_errors) / sizeof(parse_errors[0]); i++) {
        const perr_case *c = &parse_errors[i];
        cf_policy *p = (cf_policy *)1;
        cf_policy_error e;
        cf_rc rc = cf_policy_parse(A, cf_str_c(c->json), &p, &e);
        if (rc != CF_EINVAL)
            fail_msg("case %zu: parsed (rc %d), want an error at \"%s\"\n%s", i, rc, c->field,
                     c->json);
        assert_null(p);
        if (strcmp(e.field, c->field) != 0 || !strstr(e.message, c->msg))
            fail_msg("case %zu: got \"%s\": %s\nwant \"%s\": ...%s...\n%s", i, e.field, e.message,
                     c->field, c->msg, c->json);
    }
}

/* A big JSON document: n statements, or one statement with n actions, conditions... */
static char *build(const char *head, const char *item, size_t n, const char *tail)
{
    cf_buf b;
    cf_buf_init(&b, 1 << 22);
    assert_int_equal(cf_buf_append_c(&b, head), CF_OK);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_int_equal(cf_buf_append_c(&b, ","), CF_OK);
        assert_int_equal(cf_buf_printf(&b, item, i), CF_OK);
    }
    assert_int_equal(cf_buf_append_c(&b, tail), CF_OK);
    return cf_buf_take(&b, NULL);
}

static void expect_error(const char *json, const char *field, const char *msg)
{
    cf_policy *p;
    cf_policy_error e;
    assert_int_equal(cf_policy_parse(A, cf_str_c(json), &p, &e), CF_EINVAL);
    if (strcmp(e.field, field) != 0 || !strstr(e.message, msg))
        fail_msg("got \"%s\": %s; want \"%s\": ...%s...", e.field, e.message, field, msg);
}

static void test_parse_limits(void **state)
{
    char *j;
    (void)state;
    /* 100 statements fit, 101 do not */
    j = build("{\"Statement\":[", "{\"Sid\":\"S%zu\"," OKS "}", 100, "]}");
    parse_ok(j);
    free(j);
    j = build("{\"Statement\":[", "{\"Sid\":\"S%zu\"," OKS "}", 101, "]}");
    expect_error(j, "Statement", "at most 100");
    free(j);
    /* 100 actions, resources, values fit; 101 do not */
    j = build("{\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\",\"Action\":[",
              "\"s3:GetObject\"", 100, "]}]}");
    parse_ok(j);
    free(j);
    j = build("{\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\",\"Action\":[",
              "\"s3:GetObject\"", 101, "]}]}");
    expect_error(j, "Statement[0].Action", "at most 100");
    free(j);
    j = build("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotResource\":[",
              "\"arn:aws:s3:::b%zu\"", 101, "]}]}");
    expect_error(j, "Statement[0].NotResource", "at most 100");
    free(j);
    j = build("{\"Statement\":[{" OKS ",\"Condition\":{\"StringLike\":{\"s3:prefix\":[",
              "\"p%zu/*\"", 101, "]}}}]}");
    expect_error(j, "Statement[0].Condition.StringLike.s3:prefix", "at most 100");
    free(j);
    /* more than 100 conditions in one statement (keys are case-insensitive, so distinct
     * spellings of one key are distinct JSON keys) */
    {
        cf_buf b;
        cf_buf_init(&b, 1 << 20);
        assert_int_equal(cf_buf_append_c(&b, "{\"Statement\":[{" OKS ",\"Condition\":{"), 0);
        for (int op = 0; op < 6; op++) {
            static const char *const ops[] = {"StringLike",         "StringNotLike",
                                              "StringEquals",       "StringNotEquals",
                                              "StringLikeIfExists", "StringEqualsIfExists"};
            assert_int_equal(cf_buf_printf(&b, "%s\"%s\":{", op ? "," : "", ops[op]), 0);
            for (int k = 0; k < 20; k++) {
                char key[16];
                snprintf(key, sizeof(key), "s3:prefix");
                for (int bit = 0; bit < 5; bit++)
                    if (k & (1 << bit))
                        key[3 + bit] = (char)(key[3 + bit] - 32);
                assert_int_equal(cf_buf_printf(&b, "%s\"%s\":\"x\"", k ? "," : "", key), 0);
            }
            assert_int_equal(cf_buf_append_c(&b, "}"), 0);
        }
        assert_int_equal(cf_buf_append_c(&b, "}}]}"), 0);
        expect_error(b.p, "Statement[0].Condition", "more than 100 conditions");
        cf_buf_free(&b);
    }
    /* a long pattern */
    j = build(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::b/",
        "%.0zuaaaaaaaaaaaaaaaaaaaa", 110, "\"}]}");
    {
        /* build() put commas between items; the resource is then still one string */
        expect_error(j, "Statement[0].Resource", "at most 2048");
    }
    free(j);
    /* the size limit */
    j = build("{\"Statement\":[{" OKS ",\"Sid\":\"", "%.0zuxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 2100,
              "\"}]}");
    expect_error(j, "", "at most 65536");
    free(j);
}

static const char *const parse_oks[] = {
    "{\"Statement\":{" OKS "}}",
    "{\"Version\":\"2008-10-17\",\"Id\":\"x\",\"Statement\":[{" OKS "}]}",
    ST("{\"Sid\":\"\",\"Effect\":\"Deny\",\"NotAction\":[\"s3:Put*\"],\"NotResource\":"
       "\"arn:aws:s3:::b/*\"}"),
    ST("{\"Effect\":\"Allow\",\"Action\":[\"*\",\"S3:getobject\",\"ADMIN:*\",\"s3:"
       "GetObjectVersion\",\"s3:*Acl\","
       "\"admin:?etBucket\"],\"Resource\":[\"arn:coffer:admin:::*\","
       "\"arn:coffer:admin:::credential/x\",\"arn:coffer:admin:::bucket/b\","
       "\"arn:coffer:admin:::b*\"]}"),
    COND("{}"),
    COND("{\"IpAddress\":{\"AWS:SOURCEIP\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"::1\","
         "\"::ffff:10.0.0.1\",\"0.0.0.0/0\",\"::/0\"]}}"),
    COND("{\"NotIpAddressIfExists\":{\"aws:SourceIp\":\"192.0.2.7\"}}"),
    COND("{\"DateLessThan\":{\"aws:CurrentTime\":[\"2026-01-01T00:00:00Z\","
         "\"2026-01-01T00:00:00.123Z\",\"2026-01-01T01:00:00+01:00\",\"2026-01-01\","
         "\"1767225600\",1767225600]}}"),
    COND("{\"DateGreaterThanEquals\":{\"aws:EpochTime\":\"2026-01-01T00:00:00Z\"},"
         "\"NumericGreaterThan\":{\"aws:EpochTime\":1767225600}}"),
    COND("{\"Bool\":{\"aws:SecureTransport\":[true,\"FALSE\"]}}"),
    COND("{\"BoolIfExists\":{\"aws:SecureTransport\":\"true\"}}"),
    COND("{\"Null\":{\"s3:prefix\":true,\"aws:SourceIp\":\"false\"}}"),
    COND("{\"NumericLessThanEquals\":{\"s3:max-keys\":[\"100\",1000,\"-1\"]}}"),
    COND("{\"StringEqualsIgnoreCase\":{\"s3:delimiter\":\"/\"},\"StringNotEqualsIfExists\":"
         "{\"s3:prefix\":[\"\",\"a\"]}}"),
};

static void test_parse_ok(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_oks) / sizeof(parse_oks[0]); i++)
        parse_ok(parse_oks[i]);
    /* err may be NULL; the error still comes back as a code */
    {
        cf_policy *p;
        assert_int_equal(cf_policy_parse(A, CF_STR("{"), &p, NULL), CF_EINVAL);
        assert_int_equal(cf_policy_parse(A, CF_STR_NULL, &p, NULL), CF_EINVAL);
    }
    /* out of arena: CF_ENOMEM, nothing leaks */
    {
        cf_arena *small = cf_arena_new(64);
        cf_policy *p;
        cf_policy_error e;
        assert_non_null(small);
        assert_int_equal(cf_policy_parse(small, cf_str_c(parse_oks[5]), &p, &e), CF_ENOMEM);
        cf_arena_destroy(small);
    }
}

/* ---- evaluation ---- */

#define S3(s) "arn:aws:s3:::" s

static const eval_case basic_cases[] = {
    /* Deny wins over Allow; nothing matched: implicit deny */
    {"{\"Statement\":["
     "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b1/*\"},"
     "{\"Effect\":\"Deny\",\"Action\":\"s3:DeleteObject\",\"Resource\":"
     "\"arn:aws:s3:::b1/keep/*\"}]}",
     {{"s3:GetObject", S3("b1/x"), ALLOW},
      {"s3:DeleteObject", S3("b1/x"), ALLOW},
      {"s3:DeleteObject", S3("b1/keep/x"), DENY},
      {"s3:GetObject", S3("b1/keep/x"), ALLOW},
      {"s3:GetObject", S3("b2/x"), IMPL},
      {"s3:ListBucket", S3("b1"), IMPL},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/b1", IMPL}}},
    /* order does not matter: the Deny first */
    {"{\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"},"
     "{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
     {{"s3:GetObject", S3("b1/x"), DENY}, {"admin:GetAudit", "*", DENY}}},
    /* actions are case-insensitive, resources are not */
    {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"S3:getobject\",\"Resource\":"
     "\"arn:aws:s3:::b1/Photos/*\"}}",
     {{"s3:GetObject", S3("b1/Photos/a.jpg"), ALLOW},
      {"S3:GETOBJECT", S3("b1/Photos/a.jpg"), ALLOW},
      {"s3:GetObject", S3("b1/photos/a.jpg"), IMPL},
      {"s3:GetObjectTagging", S3("b1/Photos/a.jpg"), IMPL},
      {"s3:GetObject", S3("B1/Photos/a.jpg"), IMPL}}},
    /* wildcards in both */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\",\"s3:?utObject\"],"
     "\"Resource\":[\"arn:aws:s3:::b?/*\",\"arn:aws:s3:::logs-*\"]}]}",
     {{"s3:GetObject", S3("b1/x"), ALLOW},
      {"s3:GetBucketTagging", S3("logs-2026"), ALLOW},
      {"s3:PutObject", S3("b2/deep/key"), ALLOW},
      {"s3:PutObjectTagging", S3("b2/x"), IMPL},
      {"s3:GetObject", S3("b10/x"), IMPL},
      {"s3:GetObject", S3("b1"), IMPL},
      {"s3:GetObject", S3("logs-a/key"), ALLOW}, /* '*' spans '/' as in IAM */
      {"s3:ListBucket", S3("b1"), IMPL}}},
    /* "*" matches every action and resource, including "*" itself */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
     {{"s3:GetObject", S3("b/k"), ALLOW},
      {"s3:ListAllMyBuckets", "*", ALLOW},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"", "", ALLOW}}},
    /* NotAction: everything but */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":[\"s3:Delete*\",\"admin:*\"],"
     "\"Resource\":\"*\"}]}",
     {{"s3:GetObject", S3("b/k"), ALLOW},
      {"s3:DeleteObject", S3("b/k"), IMPL},
      {"s3:deletebucket", S3("b"), IMPL},
      {"admin:GetAudit", "*", IMPL},
      {"s3:PutObject", S3("b/k"), ALLOW}}},
    /* Deny with NotAction: a read-only guard over a broad Allow */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
     "{\"Effect\":\"Deny\",\"NotAction\":[\"s3:Get*\",\"s3:List*\"],\"Resource\":\"*\"}]}",
     {{"s3:GetObject", S3("b/k"), ALLOW},
      {"s3:ListBucket", S3("b"), ALLOW},
      {"s3:PutObject", S3("b/k"), DENY},
      {"admin:GetAudit", "*", DENY}}},
    /* NotResource */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":"
     "[\"arn:aws:s3:::secret/*\",\"arn:aws:s3:::secret\"]}]}",
     {{"s3:GetObject", S3("b1/x"), ALLOW},
      {"s3:GetObject", S3("secret/x"), IMPL},
      {"s3:ListBucket", S3("secret"), IMPL},
      {"s3:ListBucket", S3("secrets"), ALLOW},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
     "{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::pub/*\"}]}",
     {{"s3:GetObject", S3("pub/x"), ALLOW},
      {"s3:GetObject", S3("priv/x"), DENY},
      {"s3:ListAllMyBuckets", "*", DENY}}},
    /* admin resources */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"admin:*Credential\",\"Resource\":"
     "\"arn:coffer:admin:::credential/CF*\"},{\"Effect\":\"Allow\",\"Action\":\"admin:GetBucket\","
     "\"Resource\":\"arn:coffer:admin:::bucket/bkt1\"}]}",
     {{"admin:GetCredential", "arn:coffer:admin:::credential/CFABC", ALLOW},
      {"admin:DeleteCredential", "arn:coffer:admin:::credential/CFABC", ALLOW},
      {"admin:ListCredentials", "arn:coffer:admin:::credential/CFABC", IMPL},
      {"admin:GetCredential", "arn:coffer:admin:::credential/XX", IMPL},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt1", ALLOW},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt2", IMPL},
      {"admin:DeleteBucket", "arn:coffer:admin:::bucket/bkt1", IMPL}}},
};

static void test_eval_basic(void **state)
{
    (void)state;
    run_eval_cases(basic_cases, sizeof(basic_cases) / sizeof(basic_cases[0]));
    /* a NULL policy or request allows nothing */
    {
        rq q = {"s3:GetObject", S3("b/k"), IMPL, NULL, NULL, NULL, NULL, 0, false};
        cf_authz_req r = mkreq(&q);
        assert_int_equal(cf_policy_eval(NULL, &r), IMPL);
        assert_int_equal(cf_policy_eval(parse_ok(ST("{" OKS "}")), NULL), IMPL);
    }
}

#define GET  "s3:GetObject", S3("b/k")
#define LIST "s3:ListBucket", S3("b")
#define ALLOW_IF(c)                                                                                \
    "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","                \
    "\"Condition\":" c "}]}"
#define DENY_IF(c)                                                                                 \
    "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"               \
    "{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":" c "}]}"

#define PUT "s3:PutObject", S3("b/k")
#define DEL "s3:DeleteObject", S3("b/k")
/* A request with only the conditional-write keys: if-match, if-none-match, creation. */
#define CW(im, inm, cr) NULL, NULL, NULL, NULL, 0, false, im, inm, cr
#define T               CF_AUTHZ_TRUE
#define F               CF_AUTHZ_FALSE

static const eval_case cond_cases[] = {
    /* Write-once: writes must carry If-None-Match; the steps of a multipart upload (which
     * take no conditional header) are let through by s3:ObjectCreationOperation. */
    {"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\","
     "\"Condition\":{\"Null\":{\"s3:if-none-match\":\"false\"}}},"
     "{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"*\","
     "\"Condition\":{\"Bool\":{\"s3:ObjectCreationOperation\":\"false\"}}}]}",
     {{PUT, ALLOW, CW(NULL, "*", T)},
      {PUT, IMPL, CW(NULL, NULL, T)},
      {PUT, IMPL, CW("\"abc\"", NULL, T)},
      {PUT, ALLOW, CW(NULL, NULL, F)},
      {PUT, IMPL, CW(NULL, NULL, CF_AUTHZ_ABSENT)},
      {DEL, IMPL, CW(NULL, "*", CF_AUTHZ_ABSENT)}}},
    /* The same as a Deny over broad rights; StringEquals on the header's value. */
    {DENY_IF("{\"Null\":{\"s3:if-none-match\":\"true\"},"
             "\"Bool\":{\"s3:ObjectCreationOperation\":\"true\"}}"),
     {{PUT, ALLOW, CW(NULL, "*", T)},
      {PUT, DENY, CW(NULL, NULL, T)},
      {PUT, ALLOW, CW(NULL, NULL, F)},
      {GET, ALLOW},
      {DEL, ALLOW}}},
    {ALLOW_IF("{\"StringEquals\":{\"s3:if-match\":\"\\\"e1\\\"\"}}"),
     {{DEL, ALLOW, CW("\"e1\"", NULL, CF_AUTHZ_ABSENT)},
      {DEL, IMPL, CW("\"e2\"", NULL, CF_AUTHZ_ABSENT)},
      {DEL, IMPL, CW(NULL, NULL, CF_AUTHZ_ABSENT)}}},

    /* IpAddress, IPv4 and IPv6, values ORed */
    {ALLOW_IF("{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\","
              "\"192.0.2.7\",\"::1\"]}}"),
     {{GET, ALLOW, "10.1.2.3"},
      {GET, ALLOW, "10.255.255.255"},
      {GET, IMPL, "11.0.0.1"},
      {GET, IMPL, "9.255.255.255"},
      {GET, ALLOW, "192.0.2.7"},
      {GET, IMPL, "192.0.2.8"},
      {GET, ALLOW, "2001:db8::1"},
      {GET, ALLOW, "2001:db8:ffff:ffff::"},
      {GET, IMPL, "2001:db9::1"},
      {GET, ALLOW, "::1"},
      {GET, IMPL, "::2"},
      {GET, ALLOW, "::ffff:10.0.0.1"}, /* IPv4-mapped: the IPv4 address */
      {GET, IMPL, "::ffff:11.0.0.1"},
      {GET, IMPL, NULL},             /* unknown address: a positive operator fails */
      {GET, IMPL, "not-an-address"}, /* malformed likewise */
      {GET, IMPL, "10.0.0.1/8"},
      {GET, IMPL, ""}}},
    {ALLOW_IF("{\"IpAddress\":{\"aws:SourceIp\":\"2001:db8:abcd:12::/64\"}}"),
     {{GET, ALLOW, "2001:db8:abcd:12::ffff"},
      {GET, ALLOW, "2001:DB8:ABCD:12:1:2:3:4"},
      {GET, IMPL, "2001:db8:abcd:13::1"},
      {GET, IMPL, "10.0.0.1"}}},
    {ALLOW_IF("{\"IpAddress\":{\"aws:SourceIp\":[\"0.0.0.0/0\"]}}"),
     {{GET, ALLOW, "1.2.3.4"}, {GET, IMPL, "::2"}}},
    /* NotIpAddress in a Deny: outside the office is refused; a missing address is too */
    {DENY_IF("{\"NotIpAddress\":{\"aws:SourceIp\":[\"192.168.0.0/16\",\"fd00::/8\"]}}"),
     {{GET, ALLOW, "192.168.1.1"},
      {GET, ALLOW, "fd12::1"},
      {GET, DENY, "10.0.0.1"},
      {GET, DENY, "fe80::1"},
      {GET, DENY, NULL},
      {GET, DENY, "garbage"}}},
    /* ...IfExists: a missing key passes */
    {ALLOW_IF("{\"IpAddressIfExists\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}"),
     {{GET, ALLOW, NULL}, {GET, ALLOW, "10.0.0.1"}, {GET, IMPL, "11.0.0.1"}}},
    /* StringLike on s3:prefix, the listing scope */
    {ALLOW_IF("{\"StringLike\":{\"s3:prefix\":[\"home/*\",\"pub/?/x\"]}}"),
     {{LIST, ALLOW, NULL, "home/"},
      {LIST, ALLOW, NULL, "home/a/b"},
      {LIST, ALLOW, NULL, "pub/1/x"},
      {LIST, IMPL, NULL, "pub/12/x"},
      {LIST, IMPL, NULL, "home"},
      {LIST, IMPL, NULL, "Home/"},
      {LIST, IMPL, NULL, ""},
      {LIST, IMPL, NULL, NULL}}},
    {ALLOW_IF("{\"StringEquals\":{\"s3:prefix\":[\"\",\"a/\"]}}"),
     {{LIST, ALLOW, NULL, ""},
      {LIST, ALLOW, NULL, "a/"},
      {LIST, IMPL, NULL, "a/b"},
      {LIST, IMPL, NULL, "A/"},
      {LIST, IMPL, NULL, NULL}}},
    {ALLOW_IF("{\"StringEqualsIgnoreCase\":{\"s3:prefix\":\"Home/\"}}"),
     {{LIST, ALLOW, NULL, "HOME/"}, {LIST, ALLOW, NULL, "home/"}, {LIST, IMPL, NULL, "homes/"}}},
    /* Not... string operators: true on a missing key, as in IAM */
    {ALLOW_IF("{\"StringNotEquals\":{\"s3:delimiter\":[\"/\",\"|\"]}}"),
     {{LIST, ALLOW, NULL, NULL, NULL},
      {LIST, IMPL, NULL, NULL, "/"},
      {LIST, IMPL, NULL, NULL, "|"},
      {LIST, ALLOW, NULL, NULL, "-"}}},
    {ALLOW_IF("{\"StringNotLike\":{\"s3:prefix\":\"secret*\"}}"),
     {{LIST, ALLOW, NULL, NULL},
      {LIST, ALLOW, NULL, "public/"},
      {LIST, IMPL, NULL, "secret/"},
      {LIST, IMPL, NULL, "secrets"}}},
    {ALLOW_IF("{\"StringNotEqualsIgnoreCase\":{\"s3:prefix\":\"tmp/\"}}"),
     {{LIST, IMPL, NULL, "TMP/"}, {LIST, ALLOW, NULL, "tmp2/"}, {LIST, ALLOW, NULL, NULL}}},
    /* StringLikeIfExists: missing passes, present must match */
    {ALLOW_IF("{\"StringLikeIfExists\":{\"s3:prefix\":\"u1/*\"}}"),
     {{LIST, ALLOW, NULL, NULL}, {LIST, ALLOW, NULL, "u1/x"}, {LIST, IMPL, NULL, "u2/"}}},
    /* Null: key presence */
    {ALLOW_IF("{\"Null\":{\"s3:prefix\":\"true\"}}"),
     {{LIST, ALLOW, NULL, NULL}, {LIST, IMPL, NULL, "a"}, {LIST, IMPL, NULL, ""}}},
    {ALLOW_IF("{\"Null\":{\"aws:SourceIp\":false}}"),
     {{LIST, IMPL, NULL}, {LIST, ALLOW, "10.0.0.1"}, {LIST, ALLOW, "junk"}}},
    /* numbers on s3:max-keys */
    {ALLOW_IF("{\"NumericLessThanEquals\":{\"s3:max-keys\":\"100\"}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, "50"},
      {LIST, ALLOW, NULL, NULL, NULL, "100"},
      {LIST, IMPL, NULL, NULL, NULL, "101"},
      {LIST, IMPL, NULL, NULL, NULL, NULL},
      {LIST, IMPL, NULL, NULL, NULL, "abc"},
      {LIST, IMPL, NULL, NULL, NULL, "99999999999999999999999"}}},
    {ALLOW_IF("{\"NumericLessThanEqualsIfExists\":{\"s3:max-keys\":100}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, NULL}, {LIST, IMPL, NULL, NULL, NULL, "1000"}}},
    {ALLOW_IF("{\"NumericLessThan\":{\"s3:max-keys\":\"100\"}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, "99"}, {LIST, IMPL, NULL, NULL, NULL, "100"}}},
    {ALLOW_IF("{\"NumericGreaterThan\":{\"s3:max-keys\":\"10\"}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, "11"}, {LIST, IMPL, NULL, NULL, NULL, "10"}}},
    {ALLOW_IF("{\"NumericGreaterThanEquals\":{\"s3:max-keys\":\"10\"}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, "10"}, {LIST, IMPL, NULL, NULL, NULL, "9"}}},
    {ALLOW_IF("{\"NumericEquals\":{\"s3:max-keys\":[\"10\",\"20\"]}}"),
     {{LIST, ALLOW, NULL, NULL, NULL, "20"}, {LIST, IMPL, NULL, NULL, NULL, "15"}}},
    {ALLOW_IF("{\"NumericNotEquals\":{\"s3:max-keys\":[\"10\",\"20\"]}}"),
     {{LIST, IMPL, NULL, NULL, NULL, "20"},
      {LIST, ALLOW, NULL, NULL, NULL, "15"},
      {LIST, ALLOW, NULL, NULL, NULL, NULL},
      {LIST, ALLOW, NULL, NULL, NULL, "x"}}},
    /* dates */
    {ALLOW_IF("{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026 - 1},
      {GET, IMPL, NULL, NULL, NULL, NULL, T2026},
      {GET, IMPL, NULL, NULL, NULL, NULL, T2026 + 1}}},
    {ALLOW_IF("{\"DateLessThanEquals\":{\"aws:CurrentTime\":\"2026-01-01T01:00:00+01:00\"}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026}, {GET, IMPL, NULL, NULL, NULL, NULL, T2026 + 1}}},
    {ALLOW_IF("{\"DateGreaterThan\":{\"aws:CurrentTime\":1767225600}}"),
     {{GET, IMPL, NULL, NULL, NULL, NULL, T2026}, {GET, ALLOW, NULL, NULL, NULL, NULL, T2026 + 1}}},
    {ALLOW_IF(
         "{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2025-12-31T19:00:00.000-05:00\"}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026}, {GET, IMPL, NULL, NULL, NULL, NULL, T2026 - 1}}},
    {ALLOW_IF("{\"DateEquals\":{\"aws:CurrentTime\":\"2026-01-01\"}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026}, {GET, IMPL, NULL, NULL, NULL, NULL, T2026 + 1}}},
    {ALLOW_IF("{\"DateNotEquals\":{\"aws:CurrentTime\":\"2026-01-01\"}}"),
     {{GET, IMPL, NULL, NULL, NULL, NULL, T2026}, {GET, ALLOW, NULL, NULL, NULL, NULL, T2026 + 1}}},
    /* a time window: operators AND */
    {ALLOW_IF("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"},"
              "\"DateLessThan\":{\"aws:CurrentTime\":\"2026-01-02T00:00:00Z\"}}"),
     {{GET, IMPL, NULL, NULL, NULL, NULL, T2026 - 1},
      {GET, ALLOW, NULL, NULL, NULL, NULL, T2026},
      {GET, ALLOW, NULL, NULL, NULL, NULL, T2026 + 86399999},
      {GET, IMPL, NULL, NULL, NULL, NULL, T2026 + 86400000}}},
    /* aws:EpochTime, as a number (seconds) or a date */
    {ALLOW_IF("{\"NumericGreaterThanEquals\":{\"aws:EpochTime\":1767225600}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026},
      {GET, ALLOW, NULL, NULL, NULL, NULL, T2026 + 999},
      {GET, IMPL, NULL, NULL, NULL, NULL, T2026 - 1}}},
    {ALLOW_IF("{\"DateLessThan\":{\"aws:EpochTime\":\"2026-01-01T00:00:00Z\"}}"),
     {{GET, ALLOW, NULL, NULL, NULL, NULL, T2026 - 1}, {GET, IMPL, NULL, NULL, NULL, NULL, T2026}}},
    /* Bool on aws:SecureTransport: strings or JSON booleans */
    {DENY_IF("{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"),
     {{GET, DENY, NULL, NULL, NULL, NULL, 0, false},
      {GET, ALLOW, NULL, NULL, NULL, NULL, 0, true}}},
    {ALLOW_IF("{\"Bool\":{\"aws:SecureTransport\":true}}"),
     {{GET, IMPL, NULL, NULL, NULL, NULL, 0, false},
      {GET, ALLOW, NULL, NULL, NULL, NULL, 0, true}}},
    /* keys within an operator AND; values OR */
    {ALLOW_IF("{\"StringEquals\":{\"s3:prefix\":[\"a/\",\"b/\"],\"s3:delimiter\":\"/\"}}"),
     {{LIST, ALLOW, NULL, "a/", "/"},
      {LIST, ALLOW, NULL, "b/", "/"},
      {LIST, IMPL, NULL, "a/", NULL},
      {LIST, IMPL, NULL, "c/", "/"}}},
    /* operators AND across kinds */
    {ALLOW_IF("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"},\"Bool\":{\"aws:SecureTransport\":"
              "\"true\"},\"StringLike\":{\"s3:prefix\":\"a/*\"}}"),
     {{LIST, ALLOW, "10.0.0.1", "a/", NULL, NULL, 0, true},
      {LIST, IMPL, "10.0.0.1", "a/", NULL, NULL, 0, false},
      {LIST, IMPL, "11.0.0.1", "a/", NULL, NULL, 0, true},
      {LIST, IMPL, "10.0.0.1", "b/", NULL, NULL, 0, true}}},
    /* key names are case-insensitive */
    {ALLOW_IF("{\"StringLike\":{\"S3:Prefix\":\"a/*\"}}"),
     {{LIST, ALLOW, NULL, "a/x"}, {LIST, IMPL, NULL, "b/x"}}},
    /* a conditional Deny only denies when its condition holds */
    {DENY_IF("{\"StringLike\":{\"s3:prefix\":\"private/*\"}}"),
     {{LIST, ALLOW, NULL, NULL}, {LIST, ALLOW, NULL, "public/"}, {LIST, DENY, NULL, "private/x"}}},
    /* an empty Condition object is no condition */
    {ALLOW_IF("{}"), {{GET, ALLOW}}},
};

static void test_eval_conditions(void **state)
{
    (void)state;
    run_eval_cases(cond_cases, sizeof(cond_cases) / sizeof(cond_cases[0]));
}

/* ---- shorthand ---- */

#define OBJ(k) "arn:aws:s3:::bkt1/" k

static const eval_case shorthand_cases[] = {
    {"{\"permission\":\"object-read-only\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"u1/\"]}",
     {{"s3:GetObject", OBJ("u1/x"), ALLOW},
      {"s3:GetObject", OBJ("u1/a/b/c"), ALLOW},
      {"s3:GetObject", OBJ("u1/"), ALLOW},
      {"s3:GetObjectTagging", OBJ("u1/x"), ALLOW},
      {"s3:ListMultipartUploadParts", OBJ("u1/x"), ALLOW},
      {"s3:GetObject", OBJ("u2/x"), IMPL},
      {"s3:GetObject", OBJ("u1x"), IMPL},
      {"s3:GetObject", OBJ("x/u1/x"), IMPL},
      {"s3:GetObject", "arn:aws:s3:::bkt2/u1/x", IMPL},
      {"s3:PutObject", OBJ("u1/x"), IMPL},
      {"s3:DeleteObject", OBJ("u1/x"), IMPL},
      {"s3:AbortMultipartUpload", OBJ("u1/x"), IMPL},
      {"s3:PutObjectTagging", OBJ("u1/x"), IMPL},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u1/"},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u1/a/"},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u1/a"},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, NULL},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, ""},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, "u1"},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, "u2/"},
      {"s3:ListBucket", S3("bkt2"), IMPL, NULL, "u1/"},
      {"s3:GetBucketLocation", S3("bkt1"), ALLOW},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), IMPL, NULL, "u1/"},
      {"s3:ListAllMyBuckets", "*", ALLOW},
      {"s3:CreateBucket", S3("bkt1"), IMPL},
      {"s3:DeleteBucket", S3("bkt1"), IMPL},
      {"s3:GetBucketTagging", S3("bkt1"), IMPL},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/x", IMPL},
      {"admin:ListBuckets", "*", IMPL}}},
    {"{\"permission\":\"object-read-only\",\"buckets\":[\"bkt1\"]}",
     {{"s3:GetObject", OBJ("any/key"), ALLOW},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, NULL},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "x/"},
      {"s3:PutObject", OBJ("k"), IMPL},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), IMPL},
      {"s3:GetObject", "arn:aws:s3:::bkt10/k", IMPL}}},
    {"{\"permission\":\"object-read-only\"}",
     {{"s3:GetObject", S3("any/k"), ALLOW},
      {"s3:ListBucket", S3("any"), ALLOW},
      {"s3:GetBucketLocation", S3("any"), ALLOW},
      {"s3:PutObject", S3("any/k"), IMPL},
      {"s3:CreateBucket", S3("new"), IMPL},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"permission\":\"object-read-write\",\"buckets\":[\"bkt1\",\"bkt2\"],\"prefixes\":null}",
     {{"s3:PutObject", OBJ("k"), ALLOW},
      {"s3:PutObject", "arn:aws:s3:::bkt2/k", ALLOW},
      {"s3:GetObject", OBJ("k"), ALLOW},
      {"s3:DeleteObject", OBJ("k"), ALLOW},
      {"s3:AbortMultipartUpload", OBJ("k"), ALLOW},
      {"s3:PutObjectTagging", OBJ("k"), ALLOW},
      {"s3:DeleteObjectTagging", OBJ("k"), ALLOW},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), ALLOW},
      {"s3:ListBucket", S3("bkt2"), ALLOW},
      {"s3:PutObject", "arn:aws:s3:::bkt3/k", IMPL},
      {"s3:PutBucketTagging", S3("bkt1"), IMPL},
      {"s3:PutBucketCORS", S3("bkt1"), IMPL},
      {"s3:DeleteBucket", S3("bkt1"), IMPL},
      {"s3:CreateBucket", S3("bkt1"), IMPL},
      {"s3:PutLifecycleConfiguration", S3("bkt1"), IMPL},
      {"admin:GetCredential", "arn:coffer:admin:::credential/x", IMPL},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"permission\":\"object-read-write\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"u1/\",\"u2/\"]}",
     {{"s3:PutObject", OBJ("u1/x"), ALLOW},
      {"s3:PutObject", OBJ("u2/x"), ALLOW},
      {"s3:PutObject", OBJ("u3/x"), IMPL},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u2/"},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, "u3/"},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), ALLOW, NULL, "u1/"},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), IMPL, NULL, NULL},
      {"s3:GetBucketLocation", S3("bkt1"), ALLOW},
      {"s3:DeleteBucket", S3("bkt1"), IMPL}}},
    {"{\"permission\":\"object-read-write\"}",
     {{"s3:PutObject", S3("any/k"), ALLOW},
      {"s3:CreateBucket", S3("any"), IMPL},
      {"s3:ListBucketMultipartUploads", S3("any"), ALLOW},
      {"admin:ListBuckets", "*", IMPL}}},
    {"{\"permission\":\"admin-read-only\",\"buckets\":[\"bkt1\"]}",
     {{"s3:GetObject", OBJ("k"), ALLOW},
      {"s3:GetObjectTagging", OBJ("k"), ALLOW},
      {"s3:ListMultipartUploadParts", OBJ("k"), ALLOW},
      {"s3:ListBucket", S3("bkt1"), ALLOW},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), ALLOW},
      {"s3:GetBucketLocation", S3("bkt1"), ALLOW},
      {"s3:GetBucketTagging", S3("bkt1"), ALLOW},
      {"s3:GetBucketCORS", S3("bkt1"), ALLOW},
      {"s3:GetLifecycleConfiguration", S3("bkt1"), ALLOW},
      {"s3:PutObject", OBJ("k"), IMPL},
      {"s3:PutBucketCORS", S3("bkt1"), IMPL},
      {"s3:DeleteBucket", S3("bkt1"), IMPL},
      {"s3:GetObject", "arn:aws:s3:::bkt2/k", IMPL},
      {"s3:ListBucket", S3("bkt2"), IMPL},
      {"admin:GetCredential", "arn:coffer:admin:::credential/CFX", ALLOW},
      {"admin:ListCredentials", "arn:coffer:admin:::credential/*", ALLOW},
      {"admin:GetAudit", "arn:coffer:admin:::credential/CFX", ALLOW},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/CFX", IMPL},
      {"admin:RotateCredential", "arn:coffer:admin:::credential/CFX", IMPL},
      {"admin:CreateTemporaryCredential", "arn:coffer:admin:::credential/CFX", IMPL},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt1", ALLOW},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt2", IMPL},
      {"admin:UpdateBucket", "arn:coffer:admin:::bucket/bkt1", IMPL},
      {"admin:ListBuckets", "*", ALLOW},
      {"admin:ListBuckets", "arn:coffer:admin:::bucket/*", ALLOW},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"permission\":\"admin-read-only\"}",
     {{"s3:GetObject", S3("any/k"), ALLOW},
      {"s3:GetBucketTagging", S3("any"), ALLOW},
      {"s3:PutObject", S3("any/k"), IMPL},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/any", ALLOW},
      {"admin:GetAudit", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:DeleteBucket", "arn:coffer:admin:::bucket/any", IMPL},
      {"admin:UpdateCredential", "arn:coffer:admin:::credential/x", IMPL}}},
    {"{\"permission\":\"admin-read-only\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"u1/\"]}",
     {{"s3:GetObject", OBJ("u1/k"), ALLOW},
      {"s3:GetObject", OBJ("u2/k"), IMPL},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u1/"},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, NULL},
      {"s3:GetBucketTagging", S3("bkt1"), IMPL},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt1", IMPL},
      {"admin:GetCredential", "arn:coffer:admin:::credential/x", ALLOW}}},
    {"{\"permission\":\"admin-read-write\",\"buckets\":[\"bkt1\"]}",
     {{"s3:PutObject", OBJ("k"), ALLOW},
      {"s3:DeleteBucket", S3("bkt1"), ALLOW},
      {"s3:PutBucketCORS", S3("bkt1"), ALLOW},
      {"s3:PutLifecycleConfiguration", S3("bkt1"), ALLOW},
      {"s3:CreateBucket", S3("bkt1"), ALLOW},
      {"s3:CreateBucket", S3("bkt2"), IMPL},
      {"s3:GetObject", "arn:aws:s3:::bkt2/k", IMPL},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:CreateTemporaryCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:DeleteCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:DeleteBucket", "arn:coffer:admin:::bucket/bkt1", ALLOW},
      {"admin:UpdateBucket", "arn:coffer:admin:::bucket/bkt1", ALLOW},
      {"admin:DeleteBucket", "arn:coffer:admin:::bucket/bkt2", IMPL},
      {"admin:CreateBucket", "arn:coffer:admin:::bucket/bkt2", IMPL},
      {"admin:ListBuckets", "arn:coffer:admin:::bucket/*", ALLOW},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"permission\":\"admin-read-write\"}",
     {{"s3:CreateBucket", S3("new"), ALLOW},
      {"s3:PutObject", S3("new/k"), ALLOW},
      {"admin:CreateBucket", "arn:coffer:admin:::bucket/new", ALLOW},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:GetAudit", "arn:coffer:admin:::credential/x", ALLOW},
      {"s3:ListAllMyBuckets", "*", ALLOW}}},
    {"{\"permission\":\"admin-read-write\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"u1/\"]}",
     {{"s3:PutObject", OBJ("u1/k"), ALLOW},
      {"s3:PutObjectTagging", OBJ("u1/k"), ALLOW},
      {"s3:PutObject", OBJ("u2/k"), IMPL},
      {"s3:ListBucket", S3("bkt1"), ALLOW, NULL, "u1/"},
      {"s3:ListBucket", S3("bkt1"), IMPL, NULL, NULL},
      {"s3:ListBucketMultipartUploads", S3("bkt1"), ALLOW, NULL, "u1/x"},
      {"s3:GetBucketLocation", S3("bkt1"), ALLOW},
      {"s3:DeleteBucket", S3("bkt1"), IMPL},
      {"s3:PutBucketCORS", S3("bkt1"), IMPL},
      {"admin:CreateCredential", "arn:coffer:admin:::credential/x", ALLOW},
      {"admin:GetBucket", "arn:coffer:admin:::bucket/bkt1", IMPL},
      {"admin:DeleteBucket", "arn:coffer:admin:::bucket/bkt1", IMPL},
      {"admin:ListBuckets", "*", ALLOW}}},
};

static void test_shorthand_eval(void **state)
{
    (void)state;
    run_eval_cases(shorthand_cases, sizeof(shorthand_cases) / sizeof(shorthand_cases[0]));
}

static char *expand_ok(const char *sh)
{
    cf_buf b;
    cf_policy_error e;
    cf_buf_init(&b, 1 << 20);
    if (cf_policy_from_shorthand(cf_str_c(sh), &b, &e) != CF_OK)
        fail_msg("shorthand %s: %s: %s", sh, e.field, e.message);
    return cf_buf_take(&b, NULL);
}

typedef struct sids_case {
    const char *sh;
    const char *sids; /* in order, comma-separated */
} sids_case;

static const sids_case sids_cases[] = {
    {"{\"permission\":\"object-read-only\"}", "ObjectRead,BucketRead,ListAllMyBuckets"},
    {"{\"permission\":\"object-read-only\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\"]}",
     "ObjectRead,BucketLocation,ListPrefixes,ListAllMyBuckets"},
    {"{\"permission\":\"object-read-write\",\"buckets\":[]}",
     "ObjectReadWrite,BucketReadWrite,ListAllMyBuckets"},
    {"{\"permission\":\"object-read-write\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\"]}",
     "ObjectReadWrite,BucketLocation,ListPrefixes,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-only\"}", "S3Read,AdminRead,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-only\",\"buckets\":[\"bkt1\"]}",
     "S3Read,AdminCredentialsRead,AdminBucketsRead,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-only\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\"]}",
     "S3Read,BucketLocation,ListPrefixes,AdminCredentialsRead,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-write\"}", "S3ReadWrite,AdminReadWrite,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-write\",\"buckets\":[\"bkt1\"]}",
     "S3ReadWrite,AdminCredentialsReadWrite,AdminBucketsReadWrite,ListAllMyBuckets"},
    {"{\"permission\":\"admin-read-write\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\"]}",
     "S3ReadWrite,BucketLocation,ListPrefixes,AdminCredentialsReadWrite,ListAllMyBuckets"},
};

static void test_shorthand_text(void **state)
{
    char *j;
    (void)state;
    /* The exact text of one expansion: stable order, readable, returned as is by the API. */
    j = expand_ok("{\"prefixes\":[\"u1/\"],\"buckets\":[\"bkt1\"],\"permission\":"
                  "\"object-read-only\"}");
    assert_string_equal(
        j, "{\"Version\": \"2012-10-17\", \"Statement\": ["
           "{\"Sid\": \"ObjectRead\", \"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\", "
           "\"s3:GetObjectTagging\", \"s3:ListMultipartUploadParts\"], \"Resource\": "
           "\"arn:aws:s3:::bkt1/u1/*\"}, "
           "{\"Sid\": \"BucketLocation\", \"Effect\": \"Allow\", \"Action\": "
           "\"s3:GetBucketLocation\", \"Resource\": \"arn:aws:s3:::bkt1\"}, "
           "{\"Sid\": \"ListPrefixes\", \"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", "
           "\"Resource\": \"arn:aws:s3:::bkt1\", \"Condition\": {\"StringLike\": {\"s3:prefix\": "
           "[\"u1/*\", \"u1/\"]}}}, "
           "{\"Sid\": \"ListAllMyBuckets\", \"Effect\": \"Allow\", \"Action\": "
           "\"s3:ListAllMyBuckets\", \"Resource\": \"*\"}]}");
    free(j);
    /* bucket and prefix order is kept; every bucket x prefix pair is an object resource */
    j = expand_ok("{\"permission\":\"object-read-write\",\"buckets\":[\"bkt2\",\"bkt1\"],"
                  "\"prefixes\":[\"b/\",\"a/\"]}");
    assert_non_null(strstr(j,
                           "\"Resource\": [\"arn:aws:s3:::bkt2/b/*\", \"arn:aws:s3:::bkt2/a/*\", "
                           "\"arn:aws:s3:::bkt1/b/*\", \"arn:aws:s3:::bkt1/a/*\"]"));
    assert_non_null(strstr(j, "[\"b/*\", \"b/\", \"a/*\", \"a/\"]"));
    free(j);
    /* a prefix needing JSON escapes stays exact */
    j = expand_ok("{\"permission\":\"object-read-only\",\"buckets\":[\"bkt1\"],"
                  "\"prefixes\":[\"we\\\"ird\\\\ é/\"]}");
    assert_non_null(strstr(j, "\"arn:aws:s3:::bkt1/we\\\"ird\\\\ é/*\""));
    {
        cf_policy *p = parse_ok(j);
        rq q = {"s3:GetObject", "arn:aws:s3:::bkt1/we\"ird\\ é/k", ALLOW};
        cf_authz_req r = mkreq(&q);
        assert_int_equal(cf_policy_eval(p, &r), ALLOW);
    }
    free(j);
    /* Sids, in order, for every level */
    for (size_t i = 0; i < sizeof(sids_cases) / sizeof(sids_cases[0]); i++) {
        char want[512], got[512] = "";
        const char *s;
        j = expand_ok(sids_cases[i].sh);
        for (s = strstr(j, "\"Sid\": \""); s; s = strstr(s + 1, "\"Sid\": \"")) {
            const char *b = s + 8, *e = strchr(b, '"');
            size_t n = strlen(got);
            snprintf(got + n, sizeof(got) - n, "%s%.*s", n ? "," : "", (int)(e - b), b);
        }
        snprintf(want, sizeof(want), "%s", sids_cases[i].sids);
        if (strcmp(got, want) != 0)
            fail_msg("%s: Sids %s, want %s\n%s", sids_cases[i].sh, got, want, j);
        parse_ok(j);
        free(j);
    }
}

typedef struct sherr_case {
    const char *sh;
    const char *field;
    const char *msg;
} sherr_case;

#define PERM "\"permission\":\"object-read-only\""

static const sherr_case shorthand_errors[] = {
    {"", "", "invalid JSON at line 1"},
    {"{\"permission\":", "", "invalid JSON at line 1, column"},
    {"[]", "", "must be a JSON object"},
    {"{\"permission\":\"admin-read-only\",\"permission\":\"admin-read-only\"}", "", "duplicate"},
    {"{}", "permission", "missing permission"},
    {"{\"permission\":null}", "permission", "missing permission"},
    {"{\"permission\":\"read\"}", "permission", "permission must be"},
    {"{\"permission\":\"Object-Read-Only\"}", "permission", "permission must be"},
    {"{\"permission\":5}", "permission", "permission must be"},
    {"{" PERM ",\"colour\":\"blue\"}", "colour", "unknown field \"colour\""},
    {"{" PERM ",\"bucket\":[\"bkt1\"]}", "bucket", "unknown field"},
    {"{" PERM ",\"buckets\":\"bkt1\"}", "buckets", "must be an array"},
    {"{" PERM ",\"buckets\":[\"bkt1\",\"Bad_Name\"]}", "buckets[1]", "not a valid bucket name"},
    {"{" PERM ",\"buckets\":[\"b1\"]}", "buckets[0]", "not a valid bucket name"},
    {"{" PERM ",\"buckets\":[\"bkt*\"]}", "buckets[0]", "not a valid bucket name"},
    {"{" PERM ",\"buckets\":[\"bkt1/x\"]}", "buckets[0]", "not a valid bucket name"},
    {"{" PERM ",\"buckets\":[\"bkt1\",\"bkt2\",\"bkt1\"]}", "buckets[2]", "duplicate"},
    {"{" PERM ",\"buckets\":[5]}", "buckets[0]", "must be strings"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":\"p/\"}", "prefixes", "must be an array"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\",\"a*\"]}", "prefixes[1]",
     "cannot contain '*' or '?'"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[\"a?\"]}", "prefixes[0]",
     "cannot contain '*' or '?'"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[\"\"]}", "prefixes[0]", "empty prefix"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[\"${aws:username}/\"]}", "prefixes[0]", "${"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[\"p/\",\"p/\"]}", "prefixes[1]", "duplicate"},
    {"{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[{}]}", "prefixes[0]", "must be strings"},
    {"{" PERM ",\"prefixes\":[\"p/\"]}", "prefixes", "prefixes need buckets"},
    {"{" PERM ",\"buckets\":[],\"prefixes\":[\"p/\"]}", "prefixes", "prefixes need buckets"},
};

static void test_shorthand_errors(void **state)
{
    cf_buf b;
    (void)state;
    cf_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < sizeof(shorthand_errors) / sizeof(shorthand_errors[0]); i++) {
        const sherr_case *c = &shorthand_errors[i];
        cf_policy_error e;
        assert_int_equal(cf_buf_append_c(&b, "junk"), CF_OK);
        if (cf_policy_from_shorthand(cf_str_c(c->sh), &b, &e) != CF_EINVAL)
            fail_msg("case %zu: %s expanded", i, c->sh);
        assert_int_equal(b.len, 0);
        if (strcmp(e.field, c->field) != 0 || !strstr(e.message, c->msg))
            fail_msg("case %zu: got \"%s\": %s; want \"%s\": ...%s...\n%s", i, e.field, e.message,
                     c->field, c->msg, c->sh);
    }
    /* list limits */
    {
        char *j = build("{" PERM ",\"buckets\":[", "\"bucket-%zu\"", 100, "]}");
        char *k;
        cf_policy_error e;
        assert_int_equal(cf_policy_from_shorthand(cf_str_c(j), &b, &e), CF_OK);
        parse_ok(b.p);
        free(j);
        j = build("{" PERM ",\"buckets\":[", "\"bucket-%zu\"", 101, "]}");
        assert_int_equal(cf_policy_from_shorthand(cf_str_c(j), &b, &e), CF_EINVAL);
        assert_string_equal(e.field, "buckets");
        free(j);
        j = build("{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[", "\"p%zu/\"", 50, "]}");
        assert_int_equal(cf_policy_from_shorthand(cf_str_c(j), &b, &e), CF_OK);
        parse_ok(b.p);
        free(j);
        j = build("{" PERM ",\"buckets\":[\"bkt1\"],\"prefixes\":[", "\"p%zu/\"", 51, "]}");
        assert_int_equal(cf_policy_from_shorthand(cf_str_c(j), &b, &e), CF_EINVAL);
        assert_string_equal(e.field, "prefixes");
        free(j);
        /* 11 buckets x 10 prefixes = 110 object resources: too many */
        k = build("\"buckets\":[", "\"bucket-%zu\"", 11, "]");
        j = build("{" PERM ",\"prefixes\":[", "\"p%zu/\"", 10, "],");
        {
            char *all = malloc(strlen(j) + strlen(k) + 2);
            assert_non_null(all);
            snprintf(all, strlen(j) + strlen(k) + 2, "%s%s}", j, k);
            assert_int_equal(cf_policy_from_shorthand(cf_str_c(all), &b, &e), CF_EINVAL);
            assert_string_equal(e.field, "prefixes");
            assert_non_null(strstr(e.message, "combinations"));
            free(all);
        }
        free(j);
        free(k);
    }
    cf_buf_free(&b);
    /* an output buffer too small for the expansion */
    {
        cf_policy_error e;
        cf_buf small;
        cf_buf_init(&small, 64);
        assert_int_equal(cf_policy_from_shorthand(CF_STR("{" PERM "}"), &small, &e), CF_ETOOBIG);
        assert_int_equal(small.len, 0);
        cf_buf_free(&small);
    }
}

/* ---- ListBuckets filtering ---- */

typedef struct touch_case {
    const char *policy; /* JSON or shorthand */
    const char *yes;    /* space-separated buckets that may be touched */
    const char *no;
} touch_case;

static const touch_case touch_cases[] = {
    {"{\"permission\":\"object-read-only\",\"buckets\":[\"bkt1\"],\"prefixes\":[\"u1/\"]}", "bkt1",
     "bkt2 bkt10 bkt"},
    {"{\"permission\":\"object-read-write\",\"buckets\":[\"bkt1\",\"bkt2\"]}", "bkt1 bkt2", "bkt3"},
    {"{\"permission\":\"object-read-only\"}", "bkt1 any-bucket", ""},
    {"{\"permission\":\"admin-read-write\",\"buckets\":[\"bkt1\"]}", "bkt1", "bkt2"},
    {"{\"permission\":\"admin-read-only\"}", "bkt1 bkt2", ""},
    /* ListAllMyBuckets alone touches no bucket */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:ListAllMyBuckets\",\"Resource\":\"*\"}"), "",
     "bkt1"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:List*\",\"Resource\":\"*\"}"), "bkt1", ""},
    /* an object under the bucket is enough */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":"
        "\"arn:aws:s3:::bkt1/deep/*\"}"),
     "bkt1", "bkt2 deep"},
    /* an unconditional Deny of s3:* on the bucket and its objects removes it */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"Action\":\"*\",\"Resource\":[\"arn:aws:s3:::bkt2\",\"arn:aws:s3:::bkt2/*\"]}"),
     "bkt1 bkt3", "bkt2"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::bkt2*\"}"),
     "bkt1", "bkt2 bkt22"},
    /* ...but not a partial or conditional one */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::bkt2/*\"}"),
     "bkt1 bkt2", ""},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"Action\":\"s3:Put*\",\"Resource\":\"*\"}"),
     "bkt1 bkt2", ""},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":"
        "false}}}"),
     "bkt1", ""},
    /* NotResource and NotAction */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":[\"arn:aws:s3:::bkt2\","
        "\"arn:aws:s3:::bkt2/*\"]}"),
     "bkt1", "bkt2"},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\","
        "\"NotAction\":\"admin:*\",\"NotResource\":\"arn:aws:s3:::bkt1*\"}"),
     "bkt1", "bkt2"},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:*\",\"Resource\":\"arn:aws:s3:::*\"}"), "",
     "bkt1"},
    /* admin bucket actions count (the admin API lists buckets with this too) */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"admin:*Bucket\",\"Resource\":"
        "\"arn:coffer:admin:::bucket/bkt5\"}"),
     "bkt5", "bkt6"},
    {ST("{\"Effect\":\"Allow\",\"Action\":[\"admin:GetCredential\",\"admin:ListBuckets\"],"
        "\"Resource\":\"*\"}"),
     "", "bkt1"},
    /* bucket names that are not names touch nothing */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}"), "bkt1", "* b?t1 a/b"},
};

static void check_touch(const cf_policy *p, const char *list, bool want, size_t i)
{
    char buf[256], *save = NULL, *tok;
    snprintf(buf, sizeof(buf), "%s", list);
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        if (cf_policy_may_touch_bucket(p, cf_str_c(tok)) != want)
            fail_msg("case %zu: may_touch_bucket(%s) is %d", i, tok, !want);
}

static void test_may_touch_bucket(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(touch_cases) / sizeof(touch_cases[0]); i++) {
        const touch_case *c = &touch_cases[i];
        cf_policy *p = strncmp(c->policy, "{\"permission\"", 13) == 0 ? sh_policy(c->policy)
                                                                      : parse_ok(c->policy);
        check_touch(p, c->yes, true, i);
        check_touch(p, c->no, false, i);
    }
    assert_false(cf_policy_may_touch_bucket(NULL, CF_STR("bkt1")));
    assert_false(cf_policy_may_touch_bucket(parse_ok(ST("{" OKS "}")), CF_STR("")));
}

/* ---- containment ---- */

typedef struct within_case {
    const char *child, *parent; /* JSON or shorthand */
    bool want;
} within_case;

#define SH(perm, rest) "{\"permission\":\"" perm "\"" rest "}"
#define B1             ",\"buckets\":[\"bkt1\"]"
#define B12            ",\"buckets\":[\"bkt1\",\"bkt2\"]"
#define B1P(p)         ",\"buckets\":[\"bkt1\"],\"prefixes\":[" p "]"
#define ROOT                                                                                       \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\","       \
    "\"admin:*\"],\"Resource\":\"*\"}]}"

static const within_case within_shorthands[] = {
    {SH("object-read-only", B1), SH("object-read-only", B1), true},
    {SH("object-read-only", B1), SH("object-read-write", B1), true},
    {SH("object-read-write", B1), SH("object-read-only", B1), false},
    {SH("object-read-only", B1), SH("object-read-only", ""), true},
    {SH("object-read-only", ""), SH("object-read-only", B1), false},
    {SH("object-read-only", B12), SH("object-read-only", B1), false},
    {SH("object-read-only", B1), SH("object-read-only", B12), true},
    {SH("object-read-write", B12), SH("object-read-write", ""), true},
    {SH("object-read-only", B1P("\"u1/\"")), SH("object-read-only", B1), true},
    {SH("object-read-only", B1), SH("object-read-only", B1P("\"u1/\"")), false},
    {SH("object-read-only", B1P("\"u1/a/\"")), SH("object-read-only", B1P("\"u1/\"")), true},
    {SH("object-read-only", B1P("\"u1/\"")), SH("object-read-only", B1P("\"u1/a/\"")), false},
    {SH("object-read-only", B1P("\"u1\"")), SH("object-read-only", B1P("\"u1/\"")), false},
    {SH("object-read-only", B1P("\"u1/\"")), SH("object-read-only", B1P("\"u1\"")), true},
    {SH("object-read-only", B1P("\"u1/\",\"u2/\"")), SH("object-read-only", B1P("\"u1/\"")), false},
    {SH("object-read-only", B1P("\"u1/\"")), SH("object-read-only", B1P("\"u1/\",\"u2/\"")), true},
    {SH("object-read-only", B1P("\"u2/x/\"")), SH("object-read-write", B1P("\"u1/\",\"u2/\"")),
     true},
    {SH("object-read-write", B1P("\"u1/\"")), SH("object-read-only", B1P("\"u1/\"")), false},
    {SH("object-read-write", B1P("\"u1/\"")), SH("object-read-write", B1), true},
    {SH("object-read-write", B1P("\"u1/\"")), SH("object-read-write", ""), true},
    {SH("object-read-write", B1P("\"u1/\"")), SH("admin-read-write", B1), true},
    {SH("object-read-write", B1P("\"u1/\"")), SH("admin-read-write", B1P("\"u1/\"")), true},
    {SH("object-read-write", B1P("\"u1/\"")), SH("admin-read-write", B1P("\"u2/\"")), false},
    {SH("object-read-only", B1P("\"u1/\"")), SH("admin-read-only", B1P("\"u1/\"")), true},
    {SH("object-read-only", B1), SH("admin-read-only", B1), true},
    {SH("object-read-write", B1), SH("admin-read-only", B1), false},
    {SH("admin-read-only", B1), SH("admin-read-write", B1), true},
    {SH("admin-read-write", B1), SH("admin-read-only", B1), false},
    {SH("admin-read-write", B1), SH("admin-read-write", B12), true},
    {SH("admin-read-write", B12), SH("admin-read-write", B1), false},
    {SH("admin-read-write", B1), SH("admin-read-write", ""), true},
    {SH("admin-read-write", ""), SH("admin-read-write", B1), false},
    {SH("admin-read-only", ""), SH("admin-read-write", ""), true},
    {SH("admin-read-only", B1), SH("admin-read-write", ""), true},
    {SH("admin-read-write", B1), SH("object-read-write", B1), false},
    {SH("admin-read-only", B1), SH("object-read-write", ""), false},
    {SH("admin-read-write", B1P("\"u1/\"")), SH("admin-read-write", B1), true},
    {SH("admin-read-write", B1), SH("admin-read-write", B1P("\"u1/\"")), false},
    {SH("admin-read-only", B1P("\"u1/\"")), SH("admin-read-write", B1P("\"u1/\"")), true},
    {SH("admin-read-write", B1P("\"u1/\"")), SH("admin-read-only", B1P("\"u1/\"")), false},
    {SH("admin-read-write", B1P("\"u1/a/\"")), SH("admin-read-write", B1P("\"u1/\"")), true},
    {SH("object-read-only", ""), ROOT, true},
    {SH("object-read-write", ""), ROOT, true},
    {SH("admin-read-only", ""), ROOT, true},
    {SH("admin-read-write", ""), ROOT, true},
    {SH("admin-read-write", B1P("\"u1/\"")), ROOT, true},
    {ROOT, SH("admin-read-write", ""), false}, /* s3 actions on "*" are wider */
    {ROOT, ROOT, true},
};

static const within_case within_customs[] = {
    /* actions: containment, case-insensitively */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:Get*\",\"Resource\":\"arn:aws:s3:::b/*\"}"), true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:getobject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"S3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:Get*\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     false},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}"), false},
    /* resources: case-sensitive containment */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/A/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/a/*\"}"),
     false},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/a/?\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/a/*\"}"),
     true},
    /* a child statement covered by two parent statements together, pair by pair */
    {ST("{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":"
        "[\"arn:aws:s3:::b1/*\",\"arn:aws:s3:::b2/*\"]}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b1/*\"},"
        "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b2/*\"}"),
     true},
    {ST("{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\",\"s3:PutObject\"],\"Resource\":"
        "\"arn:aws:s3:::b1/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b1/*\"},"
        "{\"Effect\":\"Allow\",\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::b1/*\"}"),
     true},
    /* the child's Deny statements only narrow it */
    {ST("{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     true},
    /* the parent's Deny statements grant nothing */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}"), false},
    /* NotAction in the child: the universe is s3:* and admin:* */
    {ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::b/"
        "*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}"), false},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::b/"
        "*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":[\"s3:*\",\"admin:*\"],\"Resource\":\"arn:aws:s3:::b/"
        "*\"}"),
     true},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":\"admin:*\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}"), true},
    /* NotAction in the parent */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"}"), true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*Object\",\"Resource\":\"arn:aws:s3:::b/*\"}"),
     ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"}"), false},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":[\"s3:Delete*\",\"admin:*\"],\"Resource\":\"*\"}"),
     ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:DeleteObject\",\"Resource\":\"*\"}"), true},
    {ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:DeleteObject\",\"Resource\":\"*\"}"),
     ST("{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\",\"Resource\":\"*\"}"), false},
    /* NotResource */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::secret/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}"), true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::secret/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::*\"}"), false},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":[\"*\","
        "\"arn:coffer:admin:::*\"]}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::*\"}"), true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::pub/*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::secret/*\"}"),
     true},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::s*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::secret/*\"}"),
     false},
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::s*\"}"),
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotResource\":\"arn:aws:s3:::secret/*\"}"),
     true},
};

#define WC(c, p, want)                                                                             \
    {                                                                                              \
        ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":" c "}"),   \
            ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":" p     \
               "}"),                                                                               \
            want                                                                                   \
    }
#define NOC           ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}")
#define IP(op, v)     "{\"" op "\":{\"aws:SourceIp\":" v "}}"
#define DT(op, v)     "{\"" op "\":{\"aws:CurrentTime\":\"" v "\"}}"
#define PX(op, v)     "{\"" op "\":{\"s3:prefix\":" v "}}"
#define CWK(op, k, v) "{\"" op "\":{\"" k "\":" v "}}"
#define NOC_COND      "{}"
#define MK(op, v)     "{\"" op "\":{\"s3:max-keys\":" v "}}"

static const within_case within_conditions[] = {
    /* a parent without conditions covers any child; never the reverse */
    {ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":" IP(
         "IpAddress", "\"10.0.0.0/8\"") "}"),
     NOC, true},
    {NOC,
     ST("{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":" IP(
         "IpAddress", "\"10.0.0.0/8\"") "}"),
     false},
    /* addresses */
    WC(IP("IpAddress", "\"10.1.0.0/16\""), IP("IpAddress", "\"10.0.0.0/8\""), true),
    WC(IP("IpAddress", "\"10.0.0.0/8\""), IP("IpAddress", "\"10.1.0.0/16\""), false),
    WC(IP("IpAddress", "[\"10.1.0.0/16\",\"10.2.0.1\"]"), IP("IpAddress", "\"10.0.0.0/8\""), true),
    WC(IP("IpAddress", "[\"10.1.0.0/16\",\"11.0.0.1\"]"), IP("IpAddress", "\"10.0.0.0/8\""), false),
    WC(IP("IpAddress", "\"10.1.0.0/16\""), IP("IpAddress", "[\"192.168.0.0/16\",\"10.0.0.0/8\"]"),
       true),
    WC(IP("IpAddress", "\"2001:db8:1::/48\""), IP("IpAddress", "\"2001:db8::/32\""), true),
    WC(IP("IpAddress", "\"2001:db8::/32\""), IP("IpAddress", "\"2001:db8:1::/48\""), false),
    WC(IP("IpAddress", "\"2001:db8::/32\""), IP("IpAddress", "\"10.0.0.0/8\""), false),
    WC(IP("IpAddress", "\"192.168.0.0/16\""), IP("NotIpAddress", "\"10.0.0.0/8\""), true),
    WC(IP("IpAddress", "\"10.1.0.0/16\""), IP("NotIpAddress", "\"10.0.0.0/8\""), false),
    WC(IP("IpAddress", "\"10.0.0.0/8\""), IP("NotIpAddress", "\"10.1.0.0/16\""), false),
    WC(IP("NotIpAddress", "\"10.0.0.0/8\""), IP("NotIpAddress", "\"10.1.0.0/16\""), true),
    WC(IP("NotIpAddress", "\"10.1.0.0/16\""), IP("NotIpAddress", "\"10.0.0.0/8\""), false),
    WC(IP("NotIpAddress", "\"10.0.0.0/8\""), IP("IpAddress", "\"0.0.0.0/0\""), false),
    /* ...IfExists: the child may not admit a missing key the parent refuses */
    WC(IP("IpAddress", "\"10.0.0.0/8\""), IP("IpAddressIfExists", "\"10.0.0.0/8\""), true),
    WC(IP("IpAddressIfExists", "\"10.0.0.0/8\""), IP("IpAddress", "\"10.0.0.0/8\""), false),
    WC(IP("IpAddressIfExists", "\"10.1.0.0/16\""), IP("IpAddressIfExists", "\"10.0.0.0/8\""), true),
    WC(IP("NotIpAddress", "\"10.0.0.0/8\""), IP("NotIpAddressIfExists", "\"10.0.0.0/8\""), true),
    /* dates */
    WC(DT("DateLessThan", "2026-01-01T00:00:00Z"), DT("DateLessThan", "2027-01-01T00:00:00Z"),
       true),
    WC(DT("DateLessThan", "2027-01-01T00:00:00Z"), DT("DateLessThan", "2026-01-01T00:00:00Z"),
       false),
    WC(DT("DateLessThan", "2026-01-01T00:00:00Z"), DT("DateLessThan", "2026-01-01T01:00:00+01:00"),
       true),
    WC(DT("DateLessThanEquals", "2026-01-01"), DT("DateLessThan", "2026-01-01"), false),
    WC(DT("DateLessThan", "2026-01-01"), DT("DateLessThanEquals", "2026-01-01"), true),
    WC(DT("DateLessThanEquals", "2025-12-31"), DT("DateLessThan", "2026-01-01"), true),
    WC(DT("DateGreaterThan", "2026-06-01"), DT("DateGreaterThan", "2026-01-01"), true),
    WC(DT("DateGreaterThan", "2026-01-01"), DT("DateGreaterThan", "2026-06-01"), false),
    WC(DT("DateGreaterThanEquals", "2026-01-01"), DT("DateGreaterThan", "2026-01-01"), false),
    WC(DT("DateGreaterThan", "2026-01-01"), DT("DateGreaterThanEquals", "2026-01-01"), true),
    WC(DT("DateGreaterThan", "2026-01-01"), DT("DateLessThan", "2027-01-01"), false),
    WC(DT("DateEquals", "2026-03-01"), DT("DateLessThan", "2027-01-01"), true),
    WC(DT("DateEquals", "2028-03-01"), DT("DateLessThan", "2027-01-01"), false),
    WC(DT("DateLessThan", "2026-01-01"), DT("DateNotEquals", "2026-06-01"), true),
    WC(DT("DateLessThan", "2026-01-01"), DT("DateNotEquals", "2025-06-01"), false),
    /* a window in the child covers one bound in the parent */
    WC("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01\"},\"DateLessThan\":"
       "{\"aws:CurrentTime\":\"2026-02-01\"}}",
       DT("DateLessThan", "2026-03-01"), true),
    WC(DT("DateLessThan", "2026-02-01"),
       "{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01\"},\"DateLessThan\":"
       "{\"aws:CurrentTime\":\"2026-03-01\"}}",
       false),
    /* numbers */
    WC(MK("NumericLessThanEquals", "100"), MK("NumericLessThanEquals", "1000"), true),
    WC(MK("NumericLessThanEquals", "1000"), MK("NumericLessThanEquals", "100"), false),
    WC(MK("NumericEquals", "[\"5\",\"50\"]"), MK("NumericLessThan", "100"), true),
    WC(MK("NumericEquals", "[\"5\",\"500\"]"), MK("NumericLessThan", "100"), false),
    WC(MK("NumericNotEquals", "[\"5\",\"6\"]"), MK("NumericNotEquals", "5"), true),
    WC(MK("NumericNotEquals", "5"), MK("NumericNotEquals", "[\"5\",\"6\"]"), false),
    WC(MK("NumericLessThan", "5"), MK("NumericNotEquals", "[\"5\",\"6\"]"), true),
    WC(MK("NumericNotEquals", "5"), MK("NumericLessThan", "6"), false),
    /* conditional-write keys: demanding the header (Null false) is narrower than not */
    WC(CWK("Null", "s3:if-none-match", "\"false\""), NOC_COND, true),
    WC(CWK("Null", "s3:if-none-match", "\"false\""), CWK("Null", "s3:if-none-match", "\"false\""),
       true),
    WC(CWK("Null", "s3:if-none-match", "\"true\""), CWK("Null", "s3:if-none-match", "\"false\""),
       false),
    WC(CWK("Bool", "s3:ObjectCreationOperation", "\"false\""),
       CWK("Null", "s3:if-none-match", "\"false\""), false),
    WC(CWK("StringEquals", "s3:if-match", "\"x\""), CWK("StringLike", "s3:if-match", "\"*\""),
       true),
    /* strings on s3:prefix */
    WC(PX("StringLike", "[\"u1/a/*\"]"), PX("StringLike", "[\"u1/*\",\"u1/\"]"), true),
    WC(PX("StringLike", "[\"u1/*\"]"), PX("StringLike", "[\"u1/a/*\"]"), false),
    WC(PX("StringEquals", "\"u1/x\""), PX("StringLike", "\"u1/*\""), true),
    WC(PX("StringEquals", "\"u2/x\""), PX("StringLike", "\"u1/*\""), false),
    WC(PX("StringLike", "\"u1/*\""), PX("StringEquals", "\"u1/x\""), false),
    WC(PX("StringLike", "\"u1/x\""), PX("StringEquals", "\"u1/x\""), true),
    WC(PX("StringEquals", "[\"a\",\"b\"]"), PX("StringEquals", "[\"c\",\"b\",\"a\"]"), true),
    WC(PX("StringEquals", "[\"a\",\"d\"]"), PX("StringEquals", "[\"c\",\"b\",\"a\"]"), false),
    WC(PX("StringEquals", "\"a/\""), PX("StringNotEquals", "\"b/\""), true),
    WC(PX("StringEquals", "\"b/\""), PX("StringNotEquals", "\"b/\""), false),
    WC(PX("StringLike", "\"a/*\""), PX("StringNotLike", "\"b/*\""), true),
    WC(PX("StringLike", "\"*\""), PX("StringNotLike", "\"b/*\""), false),
    WC(PX("StringLike", "\"a/*\""), PX("StringNotEquals", "\"b/\""), true),
    WC(PX("StringLike", "\"b*\""), PX("StringNotEquals", "\"b/\""), false),
    WC(PX("StringNotLike", "\"secret*\""), PX("StringNotLike", "\"secret/*\""), true),
    WC(PX("StringNotLike", "\"secret/*\""), PX("StringNotLike", "\"secret*\""), false),
    WC(PX("StringNotEquals", "[\"a\",\"b\"]"), PX("StringNotEquals", "\"a\""), true),
    WC(PX("StringNotEquals", "\"a\""), PX("StringNotEquals", "[\"a\",\"b\"]"), false),
    WC(PX("StringNotLike", "\"a*\""), PX("StringNotEquals", "\"abc\""), true),
    WC(PX("StringNotLike", "\"a*\""), PX("StringNotLike", "\"abc\""), true),
    WC(PX("StringEqualsIgnoreCase", "\"A/\""), PX("StringEqualsIgnoreCase", "\"a/\""), true),
    WC(PX("StringEqualsIgnoreCase", "\"A/\""), PX("StringEquals", "\"a/\""), false),
    WC(PX("StringEquals", "\"A/\""), PX("StringEqualsIgnoreCase", "\"a/\""), true),
    WC(PX("StringNotEqualsIgnoreCase", "\"A/\""), PX("StringNotEquals", "\"a/\""), true),
    WC(PX("StringNotEquals", "\"a/\""), PX("StringNotEqualsIgnoreCase", "\"a/\""), false),
    WC(PX("StringLike", "\"a/*\""), "{\"StringLike\":{\"s3:delimiter\":\"a/*\"}}", false),
    /* Bool and Null */
    WC("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", "{\"Bool\":{\"aws:SecureTransport\":true}}",
       true),
    WC("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}",
       "{\"Bool\":{\"aws:SecureTransport\":\"false\"}}", false),
    WC("{\"Null\":{\"s3:prefix\":\"true\"}}", "{\"Null\":{\"s3:prefix\":true}}", true),
    WC("{\"Null\":{\"s3:prefix\":\"false\"}}", "{\"Null\":{\"s3:prefix\":true}}", false),
    /* every parent condition needs an implying child condition */
    WC("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"},\"Bool\":{\"aws:SecureTransport\":true}}",
       "{\"Bool\":{\"aws:SecureTransport\":true},\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
       true),
    WC("{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
       "{\"Bool\":{\"aws:SecureTransport\":true},\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}",
       false),
};

static void run_within(const within_case *cases, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const within_case *c = &cases[i];
        cf_policy *ch = strncmp(c->child, "{\"permission\"", 13) == 0 ? sh_policy(c->child)
                                                                      : parse_ok(c->child);
        cf_policy *pa = strncmp(c->parent, "{\"permission\"", 13) == 0 ? sh_policy(c->parent)
                                                                       : parse_ok(c->parent);
        cf_policy_error e;
        bool got = cf_policy_within(ch, pa, &e);
        if (got != c->want)
            fail_msg("%s case %zu: within is %d (%s: %s)\nchild:  %s\nparent: %s", name, i, got,
                     e.field, e.message, c->child, c->parent);
        if (!got && (strncmp(e.field, "Statement", 9) != 0 || e.message[0] == '\0'))
            fail_msg("%s case %zu: no error detail (\"%s\": %s)", name, i, e.field, e.message);
        /* every policy is within itself */
        assert_true(cf_policy_within(ch, ch, &e));
    }
}

static void test_within(void **state)
{
    (void)state;
    run_within(within_shorthands, sizeof(within_shorthands) / sizeof(within_shorthands[0]),
               "shorthand");
    run_within(within_customs, sizeof(within_customs) / sizeof(within_customs[0]), "custom");
    run_within(within_conditions, sizeof(within_conditions) / sizeof(within_conditions[0]),
               "condition");
}

static void test_within_message(void **state)
{
    cf_policy_error e;
    cf_policy *ch = sh_policy(SH("object-read-write", B1P("\"u1/\"")));
    cf_policy *pa = sh_policy(SH("object-read-only", B1));
    (void)state;
    assert_false(cf_policy_within(ch, pa, &e));
    assert_string_equal(e.field, "Statement[0]");
    assert_non_null(strstr(e.message, "ObjectReadWrite"));
    assert_non_null(strstr(e.message, "\"s3:PutObject\" on \"arn:aws:s3:::bkt1/u1/*\""));
    /* a prefix the parent does not have: the listing statement is named */
    ch = sh_policy(SH("object-read-only", B1P("\"u2/\"")));
    pa = sh_policy(SH("object-read-only", B1P("\"u1/\"")));
    assert_false(cf_policy_within(ch, pa, &e));
    assert_string_equal(e.field, "Statement[0]");
    /* a single-object Statement is named without an index */
    ch = parse_ok("{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":\"s3:Get*\",\"Resource\":"
                  "\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":true}}}}");
    assert_false(cf_policy_within(ch, pa, &e));
    assert_string_equal(e.field, "Statement");
    assert_non_null(strstr(e.message, "outside its NotAction"));
    assert_non_null(strstr(e.message, "under its conditions"));
    /* NULLs */
    assert_false(cf_policy_within(NULL, pa, &e));
    assert_false(cf_policy_within(pa, NULL, NULL));
}

/* Long patterns, many statements: the policy pair with n statements whose Resource is
 * "arn:aws:s3:::" + "*a" x reps + tail + index. */
static cf_policy *stars(size_t n, size_t reps, const char *tail)
{
    cf_buf b;
    cf_policy *p;
    cf_buf_init(&b, 1 << 22);
    assert_int_equal(cf_buf_append_c(&b, "{\"Statement\":["), CF_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cf_buf_printf(&b,
                                       "%s{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                                       "\"Resource\":\"arn:aws:s3:::",
                                       i ? "," : ""),
                         CF_OK);
        for (size_t k = 0; k < reps; k++)
            assert_int_equal(cf_buf_append_c(&b, "*a"), CF_OK);
        assert_int_equal(cf_buf_printf(&b, "%s%zu\"}", tail, i), CF_OK);
    }
    assert_int_equal(cf_buf_append_c(&b, "]}"), CF_OK);
    p = parse_ok(b.p);
    cf_buf_free(&b);
    return p;
}

/* A pathological pair exhausts the work budget: judged not within, with a message. */
static void test_within_budget(void **state)
{
    cf_policy_error e;
    char *cj, *pj;
    (void)state;
    assert_false(cf_policy_within(stars(30, 500, "b"), stars(30, 500, "b"), &e));
    assert_true(strncmp(e.field, "Statement[", 10) == 0);
    assert_non_null(strstr(e.message, "too complex"));
    /* short ones are judged */
    assert_true(cf_policy_within(stars(10, 10, "b"), stars(10, 10, "b"), &e));
    /* a large but ordinary pair fits */
    cj = build("{\"Statement\":[",
               "{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\","
               "\"s3:PutObject\"],\"Resource\":\"arn:aws:s3:::b%zu/*\"}",
               100, "]}");
    pj = build("{\"Statement\":[",
               "{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":"
               "\"arn:aws:s3:::b%zu/*\"}",
               100, "]}");
    assert_true(cf_policy_within(parse_ok(cj), parse_ok(pj), &e));
    free(cj);
    free(pj);
}

/* ---- globs ---- */

typedef struct glob_case {
    const char *a, *b;
    bool want;
} glob_case;

static const glob_case matches[] = {
    /* pattern, string */
    {"*", "", true},
    {"*", "abc", true},
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {"a*", "a", true},
    {"a*c", "abc", true},
    {"a*c", "ac", true},
    {"a*c", "abcd", false},
    {"a?c", "abc", true},
    {"a?c", "ac", false},
    {"a?c", "abbc", false},
    {"*a*a*", "banana", true},
    {"*x*", "banana", false},
    {"b*n*a", "banana", true},
    {"**", "", true},
    {"?*", "", false},
    {"*?", "x", true},
    {"???", "ab", false},
    {"A*", "a", false}, /* case-sensitive */
    {"a*b", "a*b", true},
    {"a?b", "a*b", true},
    {"arn:aws:s3:::b1/*", "arn:aws:s3:::b1/x/y", true},
    {"arn:aws:s3:::b1/*", "arn:aws:s3:::b1", false},
    {"arn:aws:s3:::b1/*", "arn:aws:s3:::b1/", true},
    {"*a*b*c*d*e*f*", "aabbccddeeff", true},
    {"*a*b*c*d*e*f*g", "aabbccddeeff", false},
};

static const glob_case withins[] = {
    /* a within b */
    {"abc", "abc", true},
    {"abc", "abd", false},
    {"abc", "a*", true},
    {"a*", "abc", false},
    {"a*", "*", true},
    {"*", "a*", false},
    {"a?c", "a*", true},
    {"a?c", "a?c", true},
    {"a?c", "abc", false},
    {"a?c", "a?*", true},
    {"a*c", "a*", true},
    {"a*", "a*c", false},
    {"*?", "?*", true},
    {"?*", "*?", true},
    {"*?*", "?*", true},
    {"**", "*", true},
    {"*", "**", true},
    {"ab*", "a*b*", true},
    {"a*b*", "ab*", false},
    {"u1/a/*", "u1/*", true},
    {"u1*", "u1/*", false},
    {"u1/", "u1/*", true},
    {"u1/*", "u1/", false},
    {"", "*", true},
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {"*", "", false},
    {"?", "*", true},
    {"*", "?", false},
    {"??*", "?*", true},
    {"?*", "??*", false},
    {"a*a", "*a", true},
    {"a*a", "a*", true},
    {"*a*", "*", true},
    {"*a*", "*a", false},
    {"abc*", "*c*", true},
    {"arn:aws:s3:::b1/*", "arn:aws:s3:::*", true},
    {"arn:aws:s3:::*", "arn:aws:s3:::b1/*", false},
    {"arn:aws:s3:::b1", "arn:aws:s3:::b1*", true},
    {"arn:aws:s3:::b1/*", "arn:aws:s3:::*/*", true},
    {"arn:aws:s3:::*/*", "arn:aws:s3:::b1/*", false},
    {"Abc", "abc", false}, /* case-sensitive */
};

static void test_glob_match_within(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++)
        if (cf_glob_match(cf_str_c(matches[i].a), cf_str_c(matches[i].b)) != matches[i].want)
            fail_msg("glob_match(\"%s\", \"%s\") != %d", matches[i].a, matches[i].b,
                     matches[i].want);
    for (size_t i = 0; i < sizeof(withins) / sizeof(withins[0]); i++)
        if (cf_glob_within(cf_str_c(withins[i].a), cf_str_c(withins[i].b)) != withins[i].want)
            fail_msg("glob_within(\"%s\", \"%s\") != %d", withins[i].a, withins[i].b,
                     withins[i].want);
    /* case folding is for actions only, inside */
    assert_true(glob_within_ex(CF_STR("s3:getobject"), CF_STR("S3:Get*"), true));
    assert_false(glob_within_ex(CF_STR("s3:getobject"), CF_STR("S3:Get*"), false));
    assert_true(glob_intersects(CF_STR("s3:get*"), CF_STR("S3:*Object"), true));
    assert_false(glob_intersects(CF_STR("s3:get*"), CF_STR("S3:*Object"), false));
    /* long inputs stay linear enough and correct */
    {
        char big[4000];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_true(cf_glob_match(CF_STR("*a*a*a*a*a*a*"), cf_str_c(big)));
        assert_false(cf_glob_match(CF_STR("*a*a*a*a*a*a*b"), cf_str_c(big)));
        assert_true(cf_glob_within(cf_str_c(big), CF_STR("a*a")));
        assert_true(glob_intersects(cf_str_c(big), CF_STR("*a"), false));
    }
}

static const glob_case intersections[] = {
    {"a*", "*b", true},
    {"a*", "b*", false},
    {"a?", "?b", true},
    {"a", "a", true},
    {"a", "b", false},
    {"", "*", true},
    {"", "?", false},
    {"*", "*", true},
    {"a*c", "ab*", true},
    {"a*c", "*b", false},
    {"??", "a*a", true},
    {"??", "a*a*a", false},
    {"x*", "*", true},
    {"credential/*", "cred*", true},
    {"buckets/*", "bucket/*", false},
};

static void test_glob_intersects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(intersections) / sizeof(intersections[0]); i++) {
        const glob_case *c = &intersections[i];
        if (glob_intersects(cf_str_c(c->a), cf_str_c(c->b), false) != c->want ||
            glob_intersects(cf_str_c(c->b), cf_str_c(c->a), false) != c->want)
            fail_msg("glob_intersects(\"%s\", \"%s\") != %d", c->a, c->b, c->want);
    }
}

/* Exhaustive check on a small alphabet: within(a, b) must imply that every string a matches,
 * b matches (soundness), and here finds every such pair (completeness); intersects
 * must be exact. Patterns: up to 4 of {a, b, *, ?}; strings: up to 6 of {a, b, c}, where c
 * stands for any character the patterns do not name. */
static void test_glob_soundness(void **state)
{
    static const char alpha[] = "ab*?";
    static char pats[400][5], strs[1100][7];
    size_t np = 0, ns = 0, found = 0, contained = 0;
    (void)state;
    for (int len = 0; len <= 4; len++) {
        int total = 1;
        for (int k = 0; k < len; k++)
            total *= 4;
        for (int v = 0; v < total; v++, np++) {
            int x = v;
            for (int k = 0; k < len; k++, x /= 4)
                pats[np][k] = alpha[x % 4];
            pats[np][len] = '\0';
        }
    }
    for (int len = 0; len <= 6; len++) {
        int total = 1;
        for (int k = 0; k < len; k++)
            total *= 3;
        for (int v = 0; v < total; v++, ns++) {
            int x = v;
            for (int k = 0; k < len; k++, x /= 3)
                strs[ns][k] = "abc"[x % 3];
            strs[ns][len] = '\0';
        }
    }
    for (size_t i = 0; i < np; i += 3) {
        for (size_t j = 0; j < np; j += 4) {
            cf_str a = cf_str_c(pats[i]), b = cf_str_c(pats[j]);
            bool w = cf_glob_within(a, b), inter = glob_intersects(a, b, false);
            bool all = true, some = false;
            for (size_t s = 0; s < ns; s++) {
                bool ma = cf_glob_match(a, cf_str_c(strs[s]));
                bool mb = cf_glob_match(b, cf_str_c(strs[s]));
                all = all && (!ma || mb);
                some = some || (ma && mb);
            }
            if (w && !all)
                fail_msg("unsound: within(\"%s\", \"%s\")", pats[i], pats[j]);
            if (inter != some)
                fail_msg("intersects(\"%s\", \"%s\") is %d", pats[i], pats[j], inter);
            found += w;
            contained += all;
        }
    }
    if (found != contained)
        fail_msg("glob_within found %zu of %zu containments", found, contained);
}

/* ---- dates ---- */

typedef struct date_case {
    const char *s;
    bool ok;
    int64_t ms;
} date_case;

static const date_case dates[] = {
    {"0", true, 0},
    {"1767225600", true, T2026},
    {"253402300799", true, 253402300799000LL},
    {"253402300800", false, 0},
    {"2026-01-01T00:00:00Z", true, T2026},
    {"2026-01-01T00:00:00.5Z", true, T2026 + 500},
    {"2026-01-01T00:00:00.123456789Z", true, T2026 + 123},
    {"2026-01-01T00:00:00.1234567890Z", false, 0},
    {"2026-01-01T00:00:00.Z", false, 0},
    {"2026-01-01T01:00:00+01:00", true, T2026},
    {"2025-12-31T19:00:00-0500", true, T2026},
    {"2026-01-01T00:00:00+00:00", true, T2026},
    {"2026-01-01", true, T2026},
    {"2026-01-01T00:00Z", true, T2026},
    {"2026-01-01T00:00:00", true, T2026},
    {"2026-01-01T00:30", true, T2026 + 1800000},
    {"2024-02-29T00:00:00Z", true, 1709164800000LL},
    {"2000-02-29", true, 951782400000LL},
    {"1900-02-29", false, 0},
    {"2023-02-29T00:00:00Z", false, 0},
    {"2026-04-31", false, 0},
    {"2026-00-10", false, 0},
    {"1970-01-01T00:00:00Z", true, 0},
    {"1969-12-31T23:59:59Z", true, -1000},
    {"2026-1-01", false, 0},
    {"2026-01-01T", false, 0},
    {"2026-01-01 00:00:00Z", false, 0},
    {"2026-01-01t00:00:00z", false, 0},
    {"2026-01-01T00:00:60Z", false, 0},
    {"2026-01-01T24:00:00Z", false, 0},
    {"2026-01-01T00:60:00Z", false, 0},
    {"2026-01-01T00:00:00+24:00", false, 0},
    {"2026-01-01T00:00:00+01", false, 0},
    {"2026-01-01T00:00:00ZZ", false, 0},
    {"", false, 0},
    {"-5", false, 0},
    {"+5", false, 0},
    {"5.5", false, 0},
};

static void test_dates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        int64_t ms = -42;
        bool ok = parse_date(cf_str_c(dates[i].s), &ms);
        if (ok != dates[i].ok || (ok && ms != dates[i].ms))
            fail_msg("parse_date(\"%s\"): %d %lld, want %d %lld", dates[i].s, ok, (long long)ms,
                     dates[i].ok, (long long)dates[i].ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorthand_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorthand_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorthand_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_may_touch_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_within, setup, teardown),
        cmocka_unit_test_setup_teardown(test_within_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_within_budget, setup, teardown),
        cmocka_unit_test(test_glob_match_within),
        cmocka_unit_test(test_glob_intersects),
        cmocka_unit_test(test_glob_soundness),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
