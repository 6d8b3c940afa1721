/* POST Object policies and signature fields. Input: a flags byte (bit 0: the policy line is
 * JSON, which the harness base64-encodes, so the fuzzer works on the document rather than
 * on its base64), the policy line, then form fields "name: value", one a line (a "policy"
 * field is added from the policy line unless one is given).
 * The signature fields are parsed, their scope checked and the signature verified against a
 * fixed secret; the policy is parsed and checked against the form, at the fixed clock and
 * after its expiry, with sizes around its content-length-range.
 * Properties: a policy is expired one second after its expiration; sizes inside the range
 * pass and just outside fail with the right error; ${filename} expansion has the length
 * the substitution implies; parsed signature slices point into the fields. */
#include "fuzz.h"

#include "auth/post_policy.h"
#include "core/arena.h"
#include "core/crypto.h"

#define MAX_FIELDS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static bool in_fields(cf_str s, const cf_kv *f, size_t n)
{
    if (s.len == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (fuzz_inside(s, f[i].value.p, f[i].value.len))
            return true;
    return false;
}

static void auth(const cf_kv *f, size_t n, cf_arena *a)
{
    cf_post_auth au;
    const char *why = NULL;
    if (cf_post_auth_parse(f, n, &au, &why) != CF_S3_OK) {
        FUZZ_CHECK(why != NULL);
        return;
    }
    FUZZ_CHECK(au.version == 0 || au.version == 2 || au.version == 4);
    FUZZ_CHECK(in_fields(au.policy, f, n) && in_fields(au.signature, f, n) &&
               in_fields(au.access_key, f, n) && in_fields(au.security_token, f, n));
    if (au.version == 0)
        return;
    (void)cf_post_auth_check_scope(&au, CF_STR("auto"), a, &why);
    (void)cf_post_auth_check_scope(&au, CF_STR("us-east-1"), a, &why);
    (void)cf_post_auth_verify(&au, CF_STR("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
}

static void sizes(const cf_post_policy *p)
{
    if (!p->has_range) {
        FUZZ_CHECK(cf_post_policy_check_size(p, 0) == CF_S3_OK);
        FUZZ_CHECK(cf_post_policy_check_size(p, UINT64_MAX) == CF_S3_OK);
        return;
    }
    if (p->min_size <= p->max_size) {
        FUZZ_CHECK(cf_post_policy_check_size(p, p->min_size) == CF_S3_OK);
        FUZZ_CHECK(cf_post_policy_check_size(p, p->max_size) == CF_S3_OK);
    }
    if (p->min_size > 0)
        FUZZ_CHECK(cf_post_policy_check_size(p, p->min_size - 1) == CF_S3_EntityTooSmall);
    if (p->max_size < UINT64_MAX && p->max_size >= p->min_size)
        FUZZ_CHECK(cf_post_policy_check_size(p, p->max_size + 1) == CF_S3_EntityTooLarge);
}

static size_t count_var(cf_str key)
{
    size_t k = 0;
    for (size_t i = 0; i + 11 <= key.len; i++)
        if (memcmp(key.p + i, "${filename}", 11) == 0) {
            k++;
            i += 10;
        }
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    uint8_t flags = fuzz_byte(&in);
    cf_str pol = fuzz_line(&in), b64 = pol, key = CF_STR(""), filename = CF_STR("photo 1.jpg");
    cf_kv f[MAX_FIELDS + 1];
    size_t n = 0;
    bool have_policy = false;
    cf_arena *a = cf_arena_new(0);
    cf_post_policy p;
    const char *why = NULL;
    char *enc = NULL;

    FUZZ_CHECK(a != NULL);
    if (flags & 1) {
        enc = cf_arena_alloc(a, cf_b64_enclen(pol.len) + 1);
        FUZZ_CHECK(enc != NULL);
        b64 = cf_str_make(enc, cf_b64_encode((const uint8_t *)pol.p, pol.len, enc));
    }
    while (fuzz_left(&in) && n < MAX_FIELDS) {
        if (!fuzz_header(fuzz_line(&in), &f[n]))
            continue;
        have_policy |= cf_str_ieq_c(f[n].name, "policy");
        if (cf_str_ieq_c(f[n].name, "key"))
            key = f[n].value;
        n++;
    }
    if (!have_policy)
        f[n++] = (cf_kv){CF_STR("policy"), b64};
    auth(f, n, a);

    cf_str k = cf_post_expand_key(a, key, filename);
    FUZZ_CHECK(k.p != NULL);
    FUZZ_CHECK(k.len == key.len - 11 * count_var(key) + filename.len * count_var(key));

    if (cf_post_policy_parse(b64, a, &p, &why) != CF_S3_OK) {
        FUZZ_CHECK(why != NULL);
        goto out;
    }
    sizes(&p);
    for (int version = 0; version <= 4; version += 2) {
        cf_post_form form = {f, n, CF_STR("bk1"), k, version};
        const char *msg = NULL;
        (void)cf_post_policy_check(&p, &form, FUZZ_NOW_MS, a, &msg);
        if (p.expires_ms < INT64_MAX - 1000) {
            msg = NULL;
            FUZZ_CHECK(cf_post_policy_check(&p, &form, p.expires_ms + 1000, a, &msg) ==
                       CF_S3_AccessDenied);
            FUZZ_CHECK(msg != NULL);
        }
    }
out:
    cf_arena_destroy(a);
    return 0;
}
