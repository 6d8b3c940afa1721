#include "auth/sigv2.h"

#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"

#define MAX_AMZ_ENTRIES 256 /* x-amz-* headers (and presigned query params) we sort */

/* Query parameters that belong to the CanonicalizedResource: AWS's list (RESTAuthentication)
 * plus what botocore's HmacV1Auth.QSAOfInterest adds, since that is the client that signs
 * V2 today. Sorted by byte value, as botocore sorts them. */
static const char *const subresources[] = {
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
};

/* Literal queries in the S3 model's URI templates. botocore 1.29 keeps them in the auth
 * path it signs, so "/{Bucket}/{Key+}?uploads" is signed as "/b/k?uploads?uploads"; only a
 * query that starts with one of these gets that reading. */
static const char *const botocore_literals[] = {
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "list-type=2",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select&select-type=2",
    "tagging",
    "torrent",
    "uploads",
    "versioning",
    "versions",
    "website",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- bytes and names ---- */

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ASCII whitespace, as Python's str.strip() removes it from botocore's header values. */
static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static cf_str trim_ws(cf_str s)
{
    while (s.len > 0 && is_ws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && is_ws(s.p[s.len - 1]))
        s.len--;
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Next byte of s at *i, percent-decoded when enc; -1 at the end. A bad escape is taken
 * literally, as Python's unquote does (the router refuses such queries anyway). */
static int next_byte(cf_str s, bool enc, size_t *i)
{
    unsigned char c;
    if (*i >= s.len)
        return -1;
    c = (unsigned char)s.p[*i];
    if (enc && c == '%' && s.len - *i >= 3) {
        int hi = hexval(s.p[*i + 1]), lo = hexval(s.p[*i + 2]);
        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return hi << 4 | lo;
        }
    }
    (*i)++;
    return c;
}

/* Compares decoded names byte by byte, ASCII case folded when ci; shorter first on a tie. */
static int name_cmp(cf_str a, bool aenc, cf_str b, bool benc, bool ci)
{
    size_t i = 0, j = 0;
    for (;;) {
        int x = next_byte(a, aenc, &i), y = next_byte(b, benc, &j);
        if (ci) {
            x = lower(x);
            y = lower(y);
        }
        if (x != y)
            return x < y ? -1 : 1;
        if (x < 0)
            return 0;
    }
}

static bool name_is(cf_str raw, bool enc, const char *lit, bool ci)
{
    return name_cmp(raw, enc, cf_str_c(lit), false, ci) == 0;
}

static bool name_starts_ci(cf_str raw, bool enc, const char *prefix)
{
    size_t i = 0;
    for (const char *p = prefix; *p; p++)
        if (lower(next_byte(raw, enc, &i)) != lower((unsigned char)*p))
            return false;
    return true;
}

static cf_rc append_decoded(cf_buf *b, cf_str s, bool enc, bool lowercase)
{
    size_t i = 0;
    int c;
    while ((c = next_byte(s, enc, &i)) >= 0) {
        cf_rc rc = cf_buf_append_ch(b, (char)(lowercase ? lower(c) : c));
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

/* Appends the decoded value with surrounding whitespace removed (decoding comes first: a
 * presigned URL carries botocore's stripped header values percent-encoded). */
static cf_rc append_value(cf_buf *b, cf_str s, bool enc)
{
    size_t start = b->len, lead = 0;
    cf_rc rc;
    if (!enc)
        return cf_buf_append_str(b, trim_ws(s));
    rc = append_decoded(b, s, true, false);
    if (rc != CF_OK || b->len == start)
        return rc;
    while (b->len > start && is_ws(b->p[b->len - 1]))
        b->len--;
    while (start + lead < b->len && is_ws(b->p[start + lead]))
        lead++;
    memmove(b->p + start, b->p + start + lead, b->len - start - lead);
    b->len -= lead;
    b->p[b->len] = '\0';
    return CF_OK;
}

/* Splits the next non-empty segment off a raw query: name, value, whether '=' was there. */
static bool next_seg(cf_str *rest, cf_str *name, cf_str *value, bool *has_eq)
{
    cf_str seg;
    while (rest->len > 0) {
        cf_str_cut(*rest, '&', &seg, rest);
        if (seg.len == 0)
            continue;
        *has_eq = cf_str_cut(seg, '=', name, value);
        return true;
    }
    return false;
}

/* The first header named name (any case), or .p NULL. */
static cf_str header(const cf_sigv2_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (cf_str_ieq_c(r->headers[i].name, name))
            return r->headers[i].value;
    return CF_STR_NULL;
}

static bool has_header_named(const cf_sigv2_request *r, cf_str name, bool enc)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (name_cmp(r->headers[i].name, false, name, enc, true) == 0)
            return true;
    return false;
}

/* ---- string to sign ---- */

/* One x-amz-* entry: a header, or (presigned) a query parameter, still encoded. */
typedef struct amz_ent {
    cf_str name;
    cf_str value;
    bool enc;
} amz_ent;

typedef struct amz_it {
    const cf_sigv2_request *r;
    bool presigned;
    size_t h;
    cf_str qrest;
} amz_it;

static void amz_begin(amz_it *it, const cf_sigv2_request *r, bool presigned)
{
    it->r = r;
    it->presigned = presigned;
    it->h = 0;
    it->qrest = r->query;
}

/* Headers first, in order; then query parameters no header shadows. A real header wins
 * because it is what the S3 layer acts on, so it is what must be signed. */
static bool amz_next(amz_it *it, amz_ent *e)
{
    bool has_eq;
    while (it->h < it->r->nheaders) {
        const cf_kv *kv = &it->r->headers[it->h++];
        if (name_starts_ci(kv->name, false, "x-amz-")) {
            *e = (amz_ent){kv->name, kv->value, false};
            return true;
        }
    }
    while (it->presigned && next_seg(&it->qrest, &e->name, &e->value, &has_eq)) {
        if (name_starts_ci(e->name, true, "x-amz-") && !has_header_named(it->r, e->name, true)) {
            e->enc = true;
            return true;
        }
    }
    return false;
}

static int ent_cmp(const amz_ent *a, const amz_ent *b)
{
    return name_cmp(a->name, a->enc, b->name, b->enc, true);
}

/* Lowercase names in ascending order, each once with its values joined by ','. Selection
 * instead of a sort: no memory, and the entries are few (bounded above). */
static cf_rc amz_headers(const cf_sigv2_request *r, bool presigned, cf_buf *out)
{
    amz_it it;
    amz_ent e, best, last;
    bool have_last = false;
    size_t n = 0;
    cf_rc rc = CF_OK;

    amz_begin(&it, r, presigned);
    while (amz_next(&it, &e))
        n++;
    if (n > MAX_AMZ_ENTRIES)
        return CF_ETOOBIG;
    for (;;) {
        bool found = false, first = true;
        amz_begin(&it, r, presigned);
        while (amz_next(&it, &e)) {
            if (have_last && ent_cmp(&e, &last) <= 0)
                continue;
            if (!found || ent_cmp(&e, &best) < 0) {
                best = e;
                found = true;
            }
        }
        if (!found)
            break;
        rc = append_decoded(out, best.name, best.enc, true);
        if (rc == CF_OK)
            rc = cf_buf_append_ch(out, ':');
        amz_begin(&it, r, presigned);
        while (rc == CF_OK && amz_next(&it, &e)) {
            if (ent_cmp(&e, &best) != 0)
                continue;
            if (!first)
                rc = cf_buf_append_ch(out, ',');
            if (rc == CF_OK)
                rc = append_value(out, e.value, e.enc);
            first = false;
        }
        if (rc == CF_OK)
            rc = cf_buf_append_ch(out, '\n');
        if (rc != CF_OK)
            return rc;
        last = best;
        have_last = true;
    }
    return rc;
}

/* Content-MD5 / Content-Type: the header, else (presigned) the query parameter. */
static cf_rc positional(const cf_sigv2_request *r, bool presigned, const char *name, cf_buf *out)
{
    cf_str v = header(r, name), rest = r->query, qn, qv;
    bool has_eq;
    if (v.p != NULL)
        return cf_buf_append_str(out, trim_ws(v));
    while (presigned && next_seg(&rest, &qn, &qv, &has_eq))
        if (name_is(qn, true, name, true))
            return append_value(out, qv, true);
    return CF_OK;
}

/* "/bucket" alone, in either style (trailing slash or not). */
static bool bucket_only(const cf_sigv2_request *r)
{
    cf_str rest;
    ptrdiff_t k;
    if (r->vhost_bucket.len > 0)
        return r->path.len == 0 || (r->path.len == 1 && r->path.p[0] == '/');
    if (r->path.len < 2 || r->path.p[0] != '/')
        return false;
    rest = cf_str_sub(r->path, 1, r->path.len - 1);
    k = cf_str_find(rest, '/');
    return k != 0 && (k < 0 || (size_t)k == rest.len - 1);
}

/* Sub-resources present in the query, "name[=decoded value]" joined by '&', each preceded
 * by sep for the first one. Names are matched decoded, as the router reads them. */
static cf_rc subresource_list(const cf_sigv2_request *r, char sep, cf_buf *out)
{
    cf_rc rc = CF_OK;
    bool first = true;
    for (size_t k = 0; k < NELEM(subresources) && rc == CF_OK; k++) {
        cf_str rest = r->query, name, value;
        bool has_eq;
        while (rc == CF_OK && next_seg(&rest, &name, &value, &has_eq)) {
            if (!name_is(name, true, subresources[k], false))
                continue;
            rc = cf_buf_append_ch(out, first ? sep : '&');
            first = false;
            if (rc == CF_OK)
                rc = cf_buf_append_c(out, subresources[k]);
            if (rc == CF_OK && has_eq)
                rc = cf_buf_append_ch(out, '=');
            if (rc == CF_OK && has_eq)
                rc = append_decoded(out, value, true, false);
        }
    }
    return rc;
}

typedef enum res_form {
    RES_DOC,     /* the documented CanonicalizedResource */
    RES_SLASH,   /* path-style "/bucket" signed as "/bucket/" */
    RES_LITERAL, /* botocore 1.29: "/bucket[/key]?<literal>[?<sub-resources>]" */
} res_form;

static cf_rc resource(const cf_sigv2_request *r, res_form form, const char *literal, cf_buf *out)
{
    cf_rc rc = CF_OK;
    if (r->vhost_bucket.len > 0) {
        rc = cf_buf_append_ch(out, '/');
        if (rc == CF_OK)
            rc = cf_buf_append_str(out, r->vhost_bucket);
    }
    if (rc == CF_OK)
        rc = cf_buf_append_str(out, r->path);
    if (rc != CF_OK)
        return rc;
    switch (form) {
    case RES_DOC:
        break;
    case RES_SLASH:
        rc = cf_buf_append_ch(out, '/');
        break;
    case RES_LITERAL:
        if (bucket_only(r) && out->len > 0 && out->p[out->len - 1] == '/') {
            out->len--;
            out->p[out->len] = '\0';
        }
        rc = cf_buf_append_ch(out, '?');
        if (rc == CF_OK)
            rc = cf_buf_append_c(out, literal);
        break;
    }
    if (rc == CF_OK)
        rc = subresource_list(r, '?', out);
    return rc;
}

static cf_rc build(const cf_sigv2_request *r, const cf_sigv2_auth *a, res_form form,
                   const char *literal, cf_buf *out)
{
    cf_rc rc;
    cf_buf_reset(out);
    rc = cf_buf_append_str(out, r->method);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(out, '\n');
    if (rc == CF_OK)
        rc = positional(r, a->presigned, "content-md5", out);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(out, '\n');
    if (rc == CF_OK)
        rc = positional(r, a->presigned, "content-type", out);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(out, '\n');
    /* x-amz-date replaces Date, and is itself signed among the amz headers. */
    if (rc == CF_OK && a->presigned)
        rc = cf_buf_append_str(out, a->expires);
    else if (rc == CF_OK && header(r, "x-amz-date").p == NULL)
        rc = cf_buf_append_str(out, trim_ws(header(r, "date")));
    if (rc == CF_OK)
        rc = cf_buf_append_ch(out, '\n');
    if (rc == CF_OK)
        rc = amz_headers(r, a->presigned, out);
    if (rc == CF_OK)
        rc = resource(r, form, literal, out);
    if (rc == CF_OK && out->len > CF_SIGV2_MAX_STS)
        rc = CF_ETOOBIG;
    return rc;
}

cf_rc cf_sigv2_string_to_sign(const cf_sigv2_request *r, const cf_sigv2_auth *a, cf_buf *out)
{
    return build(r, a, RES_DOC, NULL, out);
}

/* ---- signing ---- */

/* RFC 2104 over the project's SHA-1, so the OpenSSL calls stay in core/crypto. */
static cf_rc hmac_sha1(cf_str key, cf_str msg, uint8_t mac[CF_SHA1_LEN])
{
    uint8_t k[64], pad[64], inner[CF_SHA1_LEN];
    cf_hash *h = NULL;
    cf_rc rc = CF_ENOMEM;

    memset(k, 0, sizeof(k));
    if (key.len > sizeof(k)) {
        if (!(h = cf_hash_new(CF_HASH_SHA1)))
            goto out;
        cf_hash_update(h, key.p, key.len);
        cf_hash_final(h, k);
        cf_hash_free(h);
        h = NULL;
    } else if (key.len > 0) {
        memcpy(k, key.p, key.len);
    }
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    if (!(h = cf_hash_new(CF_HASH_SHA1)))
        goto out;
    cf_hash_update(h, pad, sizeof(pad));
    cf_hash_update(h, msg.p, msg.len);
    cf_hash_final(h, inner);
    cf_hash_free(h);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    if (!(h = cf_hash_new(CF_HASH_SHA1)))
        goto out;
    cf_hash_update(h, pad, sizeof(pad));
    cf_hash_update(h, inner, sizeof(inner));
    cf_hash_final(h, mac);
    rc = CF_OK;
out:
    cf_hash_free(h);
    explicit_bzero(k, sizeof(k));
    explicit_bzero(pad, sizeof(pad));
    explicit_bzero(inner, sizeof(inner));
    return rc;
}

cf_rc cf_sigv2_sign(cf_str secret, cf_str sts, char out[CF_SIGV2_SIG_B64_LEN + 1])
{
    uint8_t mac[CF_SHA1_LEN];
    cf_rc rc = hmac_sha1(secret, sts, mac);
    out[0] = '\0';
    if (rc == CF_OK)
        cf_b64_encode(mac, sizeof(mac), out);
    return rc;
}

/* ---- parsing ---- */

bool cf_sigv2_is_header(cf_str authorization)
{
    return cf_str_starts_c(authorization, "AWS ");
}

bool cf_sigv2_is_query(const cf_kv *query, size_t nquery)
{
    for (size_t i = 0; i < nquery; i++)
        if (cf_str_eq_c(query[i].name, "AWSAccessKeyId") || cf_str_eq_c(query[i].name, "Signature"))
            return true;
    return false;
}

static bool has_ws(cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (is_ws(s.p[i]))
            return true;
    return false;
}

static void set_why(const char **why, const char *msg)
{
    if (why)
        *why = msg;
}

cf_s3err cf_sigv2_parse_header(cf_str authorization, cf_sigv2_auth *out, const char **why)
{
    cf_str rest, ak, sig;
    memset(out, 0, sizeof(*out));
    set_why(why, NULL);
    if (!cf_sigv2_is_header(authorization))
        goto bad;
    rest = cf_str_trim(cf_str_sub(authorization, 4, authorization.len - 4));
    if (!cf_str_cut(rest, ':', &ak, &sig) || ak.len == 0 || sig.len == 0 || has_ws(ak) ||
        has_ws(sig))
        goto bad;
    out->access_key = ak;
    out->signature = sig;
    return CF_S3_OK;
bad:
    set_why(why, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
    return CF_S3_InvalidArgument;
}

cf_s3err cf_sigv2_parse_query(const cf_kv *query, size_t nquery, cf_sigv2_auth *out,
                              const char **why)
{
    cf_str ak = CF_STR_NULL, sig = CF_STR_NULL, exp = CF_STR_NULL;
    unsigned nak = 0, nsig = 0, nexp = 0;
    uint64_t e;

    memset(out, 0, sizeof(*out));
    set_why(why, NULL);
    for (size_t i = 0; i < nquery; i++) {
        const cf_kv *kv = &query[i];
        if (cf_str_eq_c(kv->name, "AWSAccessKeyId")) {
            ak = kv->value;
            nak++;
        } else if (cf_str_eq_c(kv->name, "Signature")) {
            sig = kv->value;
            nsig++;
        } else if (cf_str_eq_c(kv->name, "Expires")) {
            exp = kv->value;
            nexp++;
        }
    }
    if (nak > 1 || nsig > 1 || nexp > 1) {
        set_why(why, "Query-string authentication parameters must not be repeated");
        return CF_S3_AccessDenied;
    }
    if (ak.len == 0 || sig.len == 0 || exp.len == 0) {
        set_why(why, "Query-string authentication requires the Signature, Expires and "
                     "AWSAccessKeyId parameters");
        return CF_S3_AccessDenied;
    }
    if (!cf_str_to_u64(exp, &e) || e > (uint64_t)INT64_MAX) {
        set_why(why, "Invalid Expires parameter (should be seconds since epoch)");
        return CF_S3_AccessDenied;
    }
    out->presigned = true;
    out->access_key = ak;
    out->signature = sig;
    out->expires = exp;
    out->expires_s = (int64_t)e;
    return CF_S3_OK;
}

/* ---- time ---- */

/* HTTP dates, plus the numeric and UTC zones V2 clients use ("... +0000", `date -R`), plus
 * the ISO basic form some tools put in x-amz-date. Only the skew check reads this. */
static bool parse_date(cf_str s, int64_t *ms)
{
    char tmp[64];
    size_t keep = 0;
    int64_t off_ms = 0;

    if (cf_time_parse_http(s, ms) || cf_time_parse_amz(s, ms))
        return true;
    if (s.len >= 6 && s.p[s.len - 6] == ' ' && (s.p[s.len - 5] == '+' || s.p[s.len - 5] == '-')) {
        int d[4];
        for (int i = 0; i < 4; i++) {
            char c = s.p[s.len - 4 + (size_t)i];
            if (c < '0' || c > '9')
                return false;
            d[i] = c - '0';
        }
        if (d[0] * 10 + d[1] > 23 || d[2] * 10 + d[3] > 59)
            return false;
        off_ms = ((int64_t)(d[0] * 10 + d[1]) * 60 + d[2] * 10 + d[3]) * 60000;
        if (s.p[s.len - 5] == '-')
            off_ms = -off_ms;
        keep = s.len - 5;
    } else if (s.len >= 4 && memcmp(s.p + s.len - 4, " UTC", 4) == 0) {
        keep = s.len - 3;
    } else if (s.len >= 3 && memcmp(s.p + s.len - 3, " UT", 3) == 0) {
        keep = s.len - 2;
    } else {
        return false;
    }
    if (keep + 4 > sizeof(tmp))
        return false;
    memcpy(tmp, s.p, keep);
    memcpy(tmp + keep, "GMT", 4);
    if (!cf_time_parse_http(cf_str_make(tmp, keep + 3), ms))
        return false;
    *ms -= off_ms; /* local = UTC + offset */
    return true;
}

static cf_s3err check_expires(const cf_sigv2_auth *a, int64_t now_ms, const char **why)
{
    int64_t exp_ms;
    if (a->expires_s > INT64_MAX / 1000)
        goto too_far;
    exp_ms = a->expires_s * 1000;
    if (now_ms > exp_ms) {
        set_why(why, "Request has expired");
        return CF_S3_AccessDenied;
    }
    if (exp_ms - now_ms <= (int64_t)CF_SIGV2_MAX_EXPIRES_S * 1000)
        return CF_S3_OK;
too_far:
    set_why(why, "Expires must be less than a week (604800 seconds) in the future");
    return CF_S3_AccessDenied;
}

cf_s3err cf_sigv2_check_time(const cf_sigv2_request *r, const cf_sigv2_auth *a, int64_t now_ms,
                             const char **why)
{
    cf_str d;
    int64_t t, skew;

    set_why(why, NULL);
    if (a->presigned)
        return check_expires(a, now_ms, why);
    d = header(r, "x-amz-date");
    if (d.p == NULL)
        d = header(r, "date");
    if (d.p == NULL || !parse_date(trim_ws(d), &t)) {
        set_why(why, "AWS authentication requires a valid Date or x-amz-date header");
        return CF_S3_AccessDenied;
    }
    skew = now_ms > t ? now_ms - t : t - now_ms;
    if (skew > CF_SIGV2_MAX_SKEW_MS)
        return CF_S3_RequestTimeTooSkewed;
    return CF_S3_OK;
}

/* ---- verification ---- */

static bool query_starts_with(cf_str q, const char *lit)
{
    size_t n = strlen(lit);
    return cf_str_starts_c(q, lit) && (q.len == n || q.p[n] == '&');
}

/* *ok when HMAC(secret, sts) equals want, compared in constant time. */
static cf_rc matches(cf_str secret, const cf_buf *sts, const uint8_t want[CF_SHA1_LEN], bool *ok)
{
    uint8_t mac[CF_SHA1_LEN];
    cf_rc rc = hmac_sha1(secret, cf_buf_str(sts), mac);
    *ok = rc == CF_OK && cf_ct_eq(mac, sizeof(mac), want, CF_SHA1_LEN);
    return rc;
}

cf_s3err cf_sigv2_verify(const cf_sigv2_verify_in *in, cf_buf *sts, const char **why)
{
    const cf_sigv2_request *r = in->req;
    const cf_sigv2_auth *a = in->auth;
    uint8_t want[CF_SHA1_LEN];
    size_t wantlen = 0;
    bool ok = false;
    cf_buf cand;
    cf_rc rc;
    cf_s3err e;

    cf_buf_init(&cand, CF_SIGV2_MAX_STS);
    if (sts)
        cf_buf_reset(sts);
    e = cf_sigv2_check_time(r, a, in->now_ms, why);
    if (e != CF_S3_OK)
        goto out;

    rc = build(r, a, RES_DOC, NULL, &cand);
    if (rc != CF_OK)
        goto fail;
    if (sts && cf_buf_append(sts, cand.p, cand.len) != CF_OK)
        cf_buf_reset(sts); /* a hint only */

    e = CF_S3_SignatureDoesNotMatch;
    if (!cf_b64_decode(a->signature, want, sizeof(want), &wantlen) || wantlen != sizeof(want))
        goto out;
    rc = matches(in->secret, &cand, want, &ok);
    if (rc == CF_OK && !ok && bucket_only(r) && r->vhost_bucket.len == 0 &&
        r->path.p[r->path.len - 1] != '/') {
        rc = build(r, a, RES_SLASH, NULL, &cand);
        if (rc == CF_OK)
            rc = matches(in->secret, &cand, want, &ok);
    }
    for (size_t k = 0; rc == CF_OK && !ok && k < NELEM(botocore_literals); k++) {
        if (!query_starts_with(r->query, botocore_literals[k]))
            continue;
        rc = build(r, a, RES_LITERAL, botocore_literals[k], &cand);
        if (rc == CF_OK)
            rc = matches(in->secret, &cand, want, &ok);
    }
    if (rc != CF_OK)
        goto fail;
    e = ok ? CF_S3_OK : CF_S3_SignatureDoesNotMatch;
    goto out;
fail:
    e = rc == CF_ETOOBIG ? CF_S3_MaxMessageLengthExceeded : CF_S3_InternalError;
out:
    explicit_bzero(want, sizeof(want));
    cf_buf_free(&cand);
    return e;
}
