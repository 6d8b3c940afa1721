/* Admin API request bodies, as the handlers read a credential create body: jansson with
 * JSON_REJECT_DUPLICATES, then the pure steps of cf_admin_child_policy and
 * cf_admin_build_cred (the handlers themselves need a database): "policy" dumped compactly
 * and parsed, or "permission"/"buckets"/"prefixes" repacked and expanded with
 * cf_policy_from_shorthand, then containment in a parent; name, times and allowed_ips.
 * Input: the body. Properties: a shorthand that expands gives a policy that parses and lies
 * within the root's allow-everything policy; a parsed policy dumped and parsed again keeps
 * its decisions; JSON text never reaches jansson with duplicate keys accepted. */
#include "fuzz.h"

#include <jansson.h>

#include "auth/policy.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/cidr.h"

#define ROOT_POLICY                                                                                \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:*\","       \
    "\"admin:*\"],\"Resource\":\"*\"}]}"

static cf_arena *g_arena;
static cf_policy *g_root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cf_policy_error e;
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    g_arena = cf_arena_new(0);
    if (!g_arena || cf_policy_parse(g_arena, CF_STR(ROOT_POLICY), &g_root, &e) != CF_OK)
        abort();
    return 0;
}

/* The "policy" or shorthand keys of a body into policy JSON (malloc'd), or NULL. */
static char *child_policy(json_t *obj, bool *from_shorthand)
{
    json_t *pol = json_object_get(obj, "policy"), *perm = json_object_get(obj, "permission");
    json_t *buckets = json_object_get(obj, "buckets"), *prefixes = json_object_get(obj, "prefixes");
    json_t *sh = NULL;
    char *dump = NULL, *out = NULL;
    cf_buf b;
    cf_policy_error e;

    cf_buf_init(&b, CF_POLICY_MAX_BYTES * 2);
    *from_shorthand = false;
    if ((pol != NULL) == (perm != NULL))
        goto out;
    if (pol != NULL) {
        if (json_is_object(pol))
            out = json_dumps(pol, JSON_COMPACT);
        goto out;
    }
    sh = json_pack("{s:O}", "permission", perm);
    if (!sh)
        goto out;
    if (buckets != NULL)
        json_object_set(sh, "buckets", buckets);
    else
        json_object_set_new(sh, "buckets", json_pack("[s]", "default-bucket"));
    if (prefixes != NULL)
        json_object_set(sh, "prefixes", prefixes);
    dump = json_dumps(sh, JSON_COMPACT);
    if (dump == NULL || cf_policy_from_shorthand(cf_str_c(dump), &b, &e) != CF_OK)
        goto out;
    out = strdup(b.p);
    *from_shorthand = true;
out:
    free(dump);
    json_decref(sh);
    cf_buf_free(&b);
    return out;
}

static void fields(json_t *obj)
{
    json_t *v;
    size_t i;
    int64_t ms;
    if ((v = json_object_get(obj, "name")) != NULL && json_is_string(v))
        (void)cf_utf8_valid(cf_str_make(json_string_value(v), json_string_length(v)));
    for (const char *const *k = (const char *const[]){"not_before", "expires_at", NULL}; *k; k++)
        if ((v = json_object_get(obj, *k)) != NULL && json_is_string(v))
            (void)cf_time_parse_iso8601(cf_str_make(json_string_value(v), json_string_length(v)),
                                        &ms);
    if ((v = json_object_get(obj, "allowed_ips")) != NULL && json_is_array(v)) {
        json_t *e;
        json_array_foreach(v, i, e)
        {
            cf_cidr n;
            if (json_is_string(e))
                (void)cf_cidr_parse(cf_str_make(json_string_value(e), json_string_length(e)), false,
                                    &n);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    cf_arena *a = NULL;
    cf_policy *p = NULL, *again = NULL;
    cf_policy_error e;
    char *pol = NULL, *redump = NULL;
    bool shorthand;

    if (!body || !json_is_object(body))
        goto out;
    fields(body);
    /* Temporary credentials carry the same keys under "credential_id" and friends; the
     * bucket create body nests a credential: look there too. */
    json_t *cred = json_object_get(body, "credential");
    if (json_is_object(cred))
        fields(cred);
    pol = child_policy(body, &shorthand);
    if (!pol)
        goto out;
    a = cf_arena_new(0);
    FUZZ_CHECK(a != NULL);
    if (cf_policy_parse(a, cf_str_c(pol), &p, &e) != CF_OK) {
        if (shorthand)
            fprintf(stderr, "shorthand expansion does not parse: %s: %s\n%s\n", e.field, e.message,
                    pol);
        FUZZ_CHECK(!shorthand);
        goto out;
    }
    if (shorthand && !cf_policy_within(p, g_root, &e)) {
        fprintf(stderr, "shorthand expansion exceeds allow-everything: %s\n%s\n", e.message, pol);
        abort();
    }
    (void)cf_policy_within(p, g_root, &e);
    (void)cf_policy_within(g_root, p, &e);
    /* The stored form is the compact dump; parsing it again must mean the same. */
    json_t *j = json_loads(pol, 0, &jerr);
    FUZZ_CHECK(j != NULL);
    redump = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    FUZZ_CHECK(redump != NULL && cf_policy_parse(a, cf_str_c(redump), &again, &e) == CF_OK);
    cf_authz_req r = {.action = CF_STR("s3:GetObject"),
                      .resource = CF_STR("arn:aws:s3:::default-bucket/k"),
                      .source_ip = CF_STR("10.0.0.1"),
                      .now_ms = FUZZ_NOW_MS,
                      .secure_transport = true};
    FUZZ_CHECK(cf_policy_eval(p, &r) == cf_policy_eval(again, &r));
out:
    free(pol);
    free(redump);
    json_decref(body);
    cf_arena_destroy(a);
    return 0;
}
