#include "auth/post_policy.h"

#include <jansson.h>
#include <string.h>

#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/crypto.h"

#define SIG_HEX_LEN 64
#define DATE_LEN    8

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* ---- signature fields ---- */

enum { F_POLICY, F_ALGO, F_CRED, F_DATE, F_SIG4, F_TOKEN, F_AKID, F_SIG2, NF };

static const char *const auth_names[NF] = {
    "policy",          "x-amz-algorithm",      "x-amz-credential", "x-amz-date",
    "x-amz-signature", "x-amz-security-token", "awsaccesskeyid",   "signature",
};

/* S3's words for a missing field, one static string per field. */
static const char *const missing_why[NF] = {
    "Bucket POST must contain a field named 'policy'.  If it is specified, please check the "
    "order of the fields.",
    "Bucket POST must contain a field named 'x-amz-algorithm'.  If it is specified, please "
    "check the order of the fields.",
    "Bucket POST must contain a field named 'x-amz-credential'.  If it is specified, please "
    "check the order of the fields.",
    "Bucket POST must contain a field named 'x-amz-date'.  If it is specified, please check "
    "the order of the fields.",
    "Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please "
    "check the order of the fields.",
    NULL,
    "Bucket POST must contain a field named 'AWSAccessKeyId'.  If it is specified, please "
    "check the order of the fields.",
    "Bucket POST must contain a field named 'signature'.  If it is specified, please check "
    "the order of the fields.",
};

static bool all_digits(cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return s.len > 0;
}

static bool lower_hex(cf_str s, size_t len)
{
    if (s.len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

cf_s3err cf_post_auth_parse(const cf_kv *fields, size_t n, cf_post_auth *out, const char **why)
{
    cf_str v[NF];
    bool seen[NF] = {false};
    int64_t t;

    memset(out, 0, sizeof *out);
    *why = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < NF; k++) {
            if (!cf_str_ieq_c(fields[i].name, auth_names[k]))
                continue;
            if (seen[k]) {
                *why = "A signature field appears more than once in the form.";
                return CF_S3_InvalidArgument;
            }
            seen[k] = true;
            v[k] = fields[i].value;
        }
    bool v4 = seen[F_ALGO] || seen[F_CRED] || seen[F_DATE] || seen[F_SIG4];
    bool v2 = seen[F_AKID] || seen[F_SIG2];
    if (v4 && v2) {
        *why = "Only one auth mechanism allowed; only the X-Amz-Algorithm or the AWSAccessKeyId "
               "and signature fields should be specified.";
        return CF_S3_InvalidArgument;
    }
    if (!v4 && !v2 && !seen[F_POLICY])
        return CF_S3_OK; /* anonymous */
    static const int need4[] = {F_POLICY, F_ALGO, F_CRED, F_DATE, F_SIG4};
    static const int need2[] = {F_AKID, F_POLICY, F_SIG2};
    const int *need = v2 ? need2 : need4;
    size_t nneed = v2 ? 3 : 5;
    for (size_t k = 0; k < nneed; k++)
        if (!seen[need[k]]) {
            *why = missing_why[need[k]];
            return CF_S3_InvalidArgument;
        }
    out->policy = v[F_POLICY];
    if (seen[F_TOKEN])
        out->security_token = cf_str_trim(v[F_TOKEN]);
    if (v2) {
        out->version = 2;
        out->access_key = v[F_AKID];
        out->signature = v[F_SIG2];
        if (out->access_key.len == 0) {
            *why = "The AWSAccessKeyId field is empty.";
            return CF_S3_InvalidArgument;
        }
        return CF_S3_OK;
    }
    out->version = 4;
    if (!cf_str_eq_c(v[F_ALGO], CF_SIGV4_ALGO)) {
        *why = "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"";
        return CF_S3_InvalidArgument;
    }
    /* "AKID/YYYYMMDD/region/service/aws4_request": five non-empty parts. */
    cf_str parts[5], rest = v[F_CRED];
    for (size_t i = 0; i < 5; i++) {
        bool more = cf_str_cut(rest, '/', &parts[i], &rest);
        if (parts[i].len == 0 || more != (i < 4)) {
            *why = "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                   "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";
            return CF_S3_InvalidArgument;
        }
    }
    if (parts[1].len != DATE_LEN || !all_digits(parts[1]) ||
        !cf_str_eq_c(parts[4], "aws4_request")) {
        *why = "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
               "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";
        return CF_S3_InvalidArgument;
    }
    if (!cf_time_parse_amz(v[F_DATE], &t)) {
        *why = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"";
        return CF_S3_InvalidArgument;
    }
    out->access_key = parts[0];
    out->date = parts[1];
    out->region = parts[2];
    out->service = parts[3];
    out->amz_date = v[F_DATE];
    out->signature = v[F_SIG4];
    return CF_S3_OK;
}

cf_s3err cf_post_auth_check_scope(const cf_post_auth *au, cf_str region, cf_arena *a,
                                  const char **why)
{
    const char *msg = NULL;
    *why = NULL;
    if (au->version != 4)
        return CF_S3_OK;
    if (!cf_str_eq_c(au->service, "s3"))
        msg = cf_arena_printf(a,
                              "Error parsing the X-Amz-Credential parameter; incorrect service "
                              "\"%.*s\". This endpoint belongs to \"s3\".",
                              CF_STR_FMT(au->service));
    else if (!cf_str_eq_c(region, "auto") && !cf_str_eq(au->region, region))
        msg = cf_arena_printf(a,
                              "Error parsing the X-Amz-Credential parameter; the region '%.*s' "
                              "is wrong; expecting '%.*s'",
                              CF_STR_FMT(au->region), CF_STR_FMT(region));
    else if (au->amz_date.len < DATE_LEN || memcmp(au->amz_date.p, au->date.p, DATE_LEN) != 0)
        msg = cf_arena_printf(a,
                              "Error parsing the X-Amz-Credential parameter; the date '%.*s' "
                              "does not match X-Amz-Date '%.*s'",
                              CF_STR_FMT(au->date), CF_STR_FMT(au->amz_date));
    else
        return CF_S3_OK;
    *why = msg != NULL ? msg : "Error parsing the X-Amz-Credential parameter.";
    return CF_S3_InvalidArgument;
}

cf_s3err cf_post_auth_verify(const cf_post_auth *au, cf_str secret)
{
    cf_s3err e = CF_S3_SignatureDoesNotMatch;
    if (au->version == 4) {
        uint8_t key[32];
        char sig[SIG_HEX_LEN + 1];
        cf_sigv4_signing_key(secret, au->date, au->region, au->service, key);
        cf_sigv4_sign(key, au->policy, sig);
        if (lower_hex(au->signature, SIG_HEX_LEN) &&
            cf_ct_eq(sig, SIG_HEX_LEN, au->signature.p, au->signature.len))
            e = CF_S3_OK;
        wipe(key, sizeof key);
        wipe(sig, sizeof sig);
    } else if (au->version == 2) {
        char sig[CF_SIGV2_SIG_B64_LEN + 1];
        if (cf_sigv2_sign(secret, au->policy, sig) == CF_OK &&
            cf_ct_eq(sig, CF_SIGV2_SIG_B64_LEN, au->signature.p, au->signature.len))
            e = CF_S3_OK;
        wipe(sig, sizeof sig);
    }
    return e;
}

/* ---- the policy document ---- */

static cf_str jstr(json_t *v)
{
    return cf_str_make(json_string_value(v), json_string_length(v));
}

/* A string, or an integer as its decimal text (some generators write 201, not "201"). */
static bool jtext(cf_arena *a, json_t *v, cf_str *out)
{
    if (json_is_string(v)) {
        *out = cf_arena_str(a, jstr(v));
        return out->p != NULL;
    }
    if (json_is_integer(v)) {
        char *s = cf_arena_printf(a, "%lld", (long long)json_integer_value(v));
        *out = cf_str_c(s);
        return s != NULL;
    }
    return false;
}

static bool jsize(json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return false;
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) && cf_str_to_u64(jstr(v), out);
}

static const char *parse_condition(cf_arena *a, json_t *c, cf_post_cond *out, size_t *n)
{
    if (json_is_object(c)) {
        const char *k;
        json_t *v;
        if (json_object_size(c) == 0)
            return "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly "
                   "one property specified.";
        json_object_foreach(c, k, v)
        {
            cf_post_cond *pc = &out[(*n)++];
            pc->op = CF_POST_EQ;
            pc->field = cf_arena_str(a, cf_str_c(k));
            if (pc->field.p == NULL || !jtext(a, v, &pc->value))
                return "Invalid Policy: Invalid Simple-Condition: value must be a string.";
        }
        return NULL;
    }
    if (!json_is_array(c) || json_array_size(c) != 3 || !json_is_string(json_array_get(c, 0)))
        return "Invalid Policy: Invalid Condition: conditions are objects or arrays of three "
               "elements.";
    cf_str op = jstr(json_array_get(c, 0));
    json_t *x = json_array_get(c, 1), *y = json_array_get(c, 2);
    cf_post_cond *pc = &out[(*n)++];
    if (cf_str_ieq_c(op, "content-length-range")) {
        pc->op = CF_POST_LENGTH_RANGE;
        if (!jsize(x, &pc->min) || !jsize(y, &pc->max))
            return "Invalid Policy: Invalid content-length-range: the bounds must be "
                   "non-negative integers.";
        return NULL;
    }
    if (cf_str_ieq_c(op, "eq"))
        pc->op = CF_POST_EQ;
    else if (cf_str_ieq_c(op, "starts-with"))
        pc->op = CF_POST_STARTS_WITH;
    else
        return "Invalid Policy: Invalid Condition: unknown operation (eq, starts-with or "
               "content-length-range).";
    if (!json_is_string(x) || json_string_length(x) < 2 || json_string_value(x)[0] != '$')
        return "Invalid Policy: Invalid Condition: the field must be named as \"$name\".";
    pc->field = cf_arena_str(a, cf_str_sub(jstr(x), 1, json_string_length(x) - 1));
    if (pc->field.p == NULL || !jtext(a, y, &pc->value))
        return "Invalid Policy: Invalid Condition: value must be a string.";
    return NULL;
}

cf_s3err cf_post_policy_parse(cf_str policy_b64, cf_arena *a, cf_post_policy *out, const char **why)
{
    json_t *root = NULL;
    cf_s3err e = CF_S3_InvalidPolicyDocument;
    char *b64 = NULL;
    uint8_t *raw = NULL;
    size_t blen = 0, rawlen = 0;

    memset(out, 0, sizeof *out);
    *why = "Invalid Policy: Invalid Base64 Encoding.";
    /* Some encoders wrap base64 lines; what is signed stays the text as sent. */
    b64 = cf_arena_alloc(a, policy_b64.len + 1);
    raw = cf_arena_alloc(a, policy_b64.len / 4 * 3 + 3);
    if (b64 == NULL || raw == NULL) {
        e = CF_S3_InternalError;
        *why = NULL;
        goto out;
    }
    for (size_t i = 0; i < policy_b64.len; i++) {
        char c = policy_b64.p[i];
        if (c != '\r' && c != '\n' && c != ' ' && c != '\t')
            b64[blen++] = c;
    }
    if (blen == 0 ||
        !cf_b64_decode(cf_str_make(b64, blen), raw, policy_b64.len / 4 * 3 + 3, &rawlen))
        goto out;
    json_error_t jerr;
    root = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
    *why = "Invalid Policy: Invalid JSON.";
    if (root == NULL || !json_is_object(root))
        goto out;
    json_t *exp = json_object_get(root, "expiration");
    json_t *conds = json_object_get(root, "conditions");
    *why = "Invalid Policy: Policy missing expiration.";
    if (exp == NULL)
        goto out;
    *why = "Invalid Policy: Invalid 'expiration' value: expecting an ISO 8601 date such as "
           "\"2007-12-01T12:00:00.000Z\".";
    if (!json_is_string(exp) || !cf_time_parse_iso8601(jstr(exp), &out->expires_ms))
        goto out;
    *why = "Invalid Policy: Policy missing conditions.";
    if (conds == NULL)
        goto out;
    *why = "Invalid Policy: Invalid 'conditions' value: must be a List.";
    if (!json_is_array(conds))
        goto out;
    /* Objects may hold several conditions: count them first. */
    size_t cap = 0, i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        cap += json_is_object(c) ? json_object_size(c) : 1;
    }
    out->conds = cf_arena_alloc(a, (cap ? cap : 1) * sizeof *out->conds);
    if (out->conds == NULL) {
        e = CF_S3_InternalError;
        *why = NULL;
        goto out;
    }
    json_array_foreach(conds, i, c)
    {
        *why = parse_condition(a, c, out->conds, &out->nconds);
        if (*why != NULL)
            goto out;
    }
    /* Several ranges all apply: keep their intersection. */
    out->max_size = UINT64_MAX;
    for (size_t k = 0; k < out->nconds; k++) {
        const cf_post_cond *pc = &out->conds[k];
        if (pc->op != CF_POST_LENGTH_RANGE)
            continue;
        out->has_range = true;
        if (pc->min > out->min_size)
            out->min_size = pc->min;
        if (pc->max < out->max_size)
            out->max_size = pc->max;
    }
    *why = NULL;
    e = CF_S3_OK;
out:
    json_decref(root);
    if (e != CF_S3_OK) {
        out->conds = NULL;
        out->nconds = 0;
    }
    return e;
}

/* ---- checking the form ---- */

static cf_str field_value(const cf_post_form *f, cf_str name)
{
    if (cf_str_ieq_c(name, "bucket"))
        return f->bucket;
    if (cf_str_ieq_c(name, "key"))
        return f->key;
    for (size_t i = 0; i < f->nfields; i++)
        if (cf_str_ieq(f->fields[i].name, name))
            return f->fields[i].value;
    return CF_STR("");
}

static bool holds(const cf_post_cond *c, cf_str v)
{
    if (c->op == CF_POST_EQ)
        return cf_str_eq(v, c->value);
    /* S3: a Content-Type starts-with applies to each type of a comma-separated list. */
    if (cf_str_ieq_c(c->field, "content-type") && cf_str_find(v, ',') >= 0) {
        cf_str rest = v, item;
        bool more = true;
        while (more) {
            more = cf_str_cut(rest, ',', &item, &rest);
            if (!cf_str_starts(cf_str_trim(item), c->value))
                return false;
        }
        return true;
    }
    return cf_str_starts(v, c->value);
}

static bool exempt(cf_str name, int version)
{
    if (cf_str_ieq_c(name, "policy") || cf_str_ieq_c(name, "file"))
        return true;
    if (name.len >= 9 && cf_str_ieq_c(cf_str_sub(name, 0, 9), "x-ignore-"))
        return true;
    if (version == 2)
        return cf_str_ieq_c(name, "signature") || cf_str_ieq_c(name, "awsaccesskeyid");
    return cf_str_ieq_c(name, "x-amz-signature");
}

cf_s3err cf_post_policy_check(const cf_post_policy *p, const cf_post_form *f, int64_t now_ms,
                              cf_arena *a, const char **message)
{
    *message = NULL;
    if (now_ms > p->expires_ms) {
        *message = "Invalid according to Policy: Policy expired.";
        return CF_S3_AccessDenied;
    }
    for (size_t i = 0; i < p->nconds; i++) {
        const cf_post_cond *c = &p->conds[i];
        if (c->op == CF_POST_LENGTH_RANGE || holds(c, field_value(f, c->field)))
            continue;
        *message = cf_arena_printf(a,
                                   "Invalid according to Policy: Policy Condition failed: "
                                   "[\"%s\", \"$%.*s\", \"%.*s\"]",
                                   c->op == CF_POST_EQ ? "eq" : "starts-with", CF_STR_FMT(c->field),
                                   CF_STR_FMT(c->value));
        if (*message == NULL)
            *message = "Invalid according to Policy: Policy Condition failed";
        return CF_S3_AccessDenied;
    }
    for (size_t i = 0; i < f->nfields; i++) {
        cf_str name = f->fields[i].name;
        bool covered = exempt(name, f->version);
        for (size_t k = 0; k < p->nconds && !covered; k++)
            covered = p->conds[k].op != CF_POST_LENGTH_RANGE && cf_str_ieq(p->conds[k].field, name);
        if (covered)
            continue;
        *message = cf_arena_printf(a, "Invalid according to Policy: Extra input fields: %.*s",
                                   CF_STR_FMT(name));
        if (*message == NULL)
            *message = "Invalid according to Policy: Extra input fields";
        return CF_S3_AccessDenied;
    }
    return CF_S3_OK;
}

cf_s3err cf_post_policy_check_size(const cf_post_policy *p, uint64_t size)
{
    if (!p->has_range)
        return CF_S3_OK;
    if (size < p->min_size)
        return CF_S3_EntityTooSmall;
    if (size > p->max_size)
        return CF_S3_EntityTooLarge;
    return CF_S3_OK;
}

cf_str cf_post_expand_key(cf_arena *a, cf_str key, cf_str filename)
{
    static const char var[] = "${filename}";
    const size_t vl = sizeof var - 1;
    size_t count = 0;
    for (size_t i = 0; i + vl <= key.len; i++)
        if (memcmp(key.p + i, var, vl) == 0) {
            count++;
            i += vl - 1;
        }
    if (count == 0)
        return key;
    char *out = cf_arena_alloc(a, key.len - count * vl + count * filename.len + 1);
    if (out == NULL)
        return CF_STR_NULL;
    size_t o = 0;
    for (size_t i = 0; i < key.len;) {
        if (i + vl <= key.len && memcmp(key.p + i, var, vl) == 0) {
            if (filename.len)
                memcpy(out + o, filename.p, filename.len);
            o += filename.len;
            i += vl;
        } else {
            out[o++] = key.p[i++];
        }
    }
    return cf_str_make(out, o);
}
