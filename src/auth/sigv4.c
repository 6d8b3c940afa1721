/* AWS Signature Version 4 (header and presigned-query forms) as S3 checks it.
 * References: AWS S3 API "Authenticating Requests (AWS Signature Version 4)" and the
 * aws-c-auth signer (canonical URI rules of the generic, non-S3 mode). */
#include "auth/sigv4.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crypto.h"

#define CANON_MAX        ((size_t)64 << 10) /* canonical requests, header blocks, queries */
#define MAX_QUERY_PARAMS 1024
#define DATE_LEN         8  /* YYYYMMDD */
#define AMZ_DATE_LEN     16 /* YYYYMMDDTHHMMSSZ */
#define SIG_HEX_LEN      64

/* ---- small helpers ---- */

static bool is_lower_hex(cf_str s, size_t len)
{
    if (s.len != len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static bool all_digits(cf_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return s.len > 0;
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static bool ieq(cf_str a, cf_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (to_lower(a.p[i]) != to_lower(b.p[i]))
            return false;
    return true;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Wipes key material in a way the compiler may not drop. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* X-Amz-Date (YYYYMMDDTHHMMSSZ) as is, or an HTTP Date converted to that form: the string to
 * sign always carries the ISO 8601 basic form. */
static bool norm_amz_date(cf_str d, char out[AMZ_DATE_LEN + 1], int64_t *ms)
{
    int64_t t;
    if (cf_time_parse_amz(d, &t)) {
        memcpy(out, d.p, AMZ_DATE_LEN);
        out[AMZ_DATE_LEN] = '\0';
    } else if (cf_time_parse_http(d, &t)) {
        cf_time_amz(t, out);
    } else {
        return false;
    }
    if (ms)
        *ms = t;
    return true;
}

/* ---- percent-encoding ---- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Appends one byte, encoded unless unreserved (or '/' when keep_slash). */
static cf_rc enc_byte(cf_buf *out, unsigned char c, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[3];
    if (unreserved(c) || (keep_slash && c == '/'))
        return cf_buf_append_ch(out, (char)c);
    e[0] = '%';
    e[1] = hex[c >> 4];
    e[2] = hex[c & 15];
    return cf_buf_append(out, e, 3);
}

cf_rc cf_sigv4_uri_encode(cf_str s, bool keep_slash, cf_buf *out)
{
    size_t old = out->len;
    size_t run = 0; /* start of the pending run of bytes that need no encoding */
    cf_rc rc = CF_OK;
    for (size_t i = 0; i < s.len && rc == CF_OK; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (unreserved(c) || (keep_slash && c == '/'))
            continue;
        rc = cf_buf_append(out, s.p + run, i - run);
        if (rc == CF_OK)
            rc = enc_byte(out, c, keep_slash);
        run = i + 1;
    }
    if (rc == CF_OK && run < s.len)
        rc = cf_buf_append(out, s.p + run, s.len - run);
    /* All or nothing, like cf_buf_append itself. */
    if (rc != CF_OK) {
        out->len = old;
        if (out->p)
            out->p[old] = '\0';
    }
    return rc;
}

bool cf_uri_decode(cf_arena *a, cf_str s, cf_str *out)
{
    char *d;
    size_t n = 0;
    *out = CF_STR_NULL;
    d = cf_arena_alloc(a, s.len + 1);
    if (!d)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '%') {
            int hi, lo;
            if (s.len - i < 3)
                return false;
            hi = hexval((unsigned char)s.p[i + 1]);
            lo = hexval((unsigned char)s.p[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            d[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[n++] = s.p[i];
        }
    }
    d[n] = '\0';
    *out = cf_str_make(d, n);
    return true;
}

bool cf_query_parse(cf_arena *a, cf_str raw, size_t max, cf_kv **out, size_t *n)
{
    size_t count = 0, k = 0;
    cf_kv *kv;
    cf_str rest, seg;
    bool more = true;
    *out = NULL;
    *n = 0;
    /* Empty segments ("a&&b", a trailing '&') carry nothing and are skipped. */
    for (rest = raw; more;) {
        more = cf_str_cut(rest, '&', &seg, &rest);
        count += seg.len > 0;
    }
    if (count == 0)
        return true;
    if (count > max)
        return false;
    kv = cf_arena_alloc(a, count * sizeof(*kv));
    if (!kv)
        return false;
    for (rest = raw, more = true; more;) {
        cf_str name, value;
        more = cf_str_cut(rest, '&', &seg, &rest);
        if (seg.len == 0)
            continue;
        cf_str_cut(seg, '=', &name, &value);
        if (!cf_uri_decode(a, name, &kv[k].name) || !cf_uri_decode(a, value, &kv[k].value))
            return false;
        k++;
    }
    *out = kv;
    *n = k;
    return true;
}

/* ---- parsing ---- */

/* "AKID/YYYYMMDD/region/service/aws4_request": five non-empty parts. */
static bool parse_credential(cf_str cred, cf_sigv4_auth *out)
{
    cf_str parts[5], rest = cred;
    for (size_t i = 0; i < 5; i++) {
        bool more = cf_str_cut(rest, '/', &parts[i], &rest);
        if (parts[i].len == 0)
            return false;
        if (more != (i < 4))
            return false; /* fewer or more than five parts */
    }
    if (parts[1].len != DATE_LEN || !all_digits(parts[1]))
        return false;
    if (!cf_str_eq_c(parts[4], "aws4_request"))
        return false;
    out->access_key = parts[0];
    out->date = parts[1];
    out->region = parts[2];
    out->service = parts[3];
    out->scope = cf_str_make(parts[1].p, (size_t)(cred.p + cred.len - parts[1].p));
    return true;
}

static bool tchar_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* Lowercase header names, ';'-separated, strictly ascending, "host" among them. */
static bool valid_signed_headers(cf_str sh)
{
    cf_str rest = sh, name, prev = CF_STR_NULL;
    bool host = false, more = true;
    if (sh.len == 0)
        return false;
    while (more) {
        more = cf_str_cut(rest, ';', &name, &rest);
        if (name.len == 0)
            return false;
        for (size_t i = 0; i < name.len; i++)
            if (name.p[i] == '\0' || !tchar_lower(name.p[i]))
                return false;
        if (prev.p && cf_str_cmp(prev, name) >= 0)
            return false;
        host |= cf_str_eq_c(name, "host");
        prev = name;
    }
    return host;
}

cf_s3err cf_sigv4_parse_header(cf_str authorization, cf_str amz_date, cf_sigv4_auth *out)
{
    static const char algo[] = CF_SIGV4_ALGO;
    cf_str rest, comp, cred = CF_STR_NULL, sh = CF_STR_NULL, sig = CF_STR_NULL;
    bool have_cred = false, have_sh = false, have_sig = false, more = true;
    char norm[AMZ_DATE_LEN + 1];

    memset(out, 0, sizeof(*out));
    authorization = cf_str_trim(authorization);
    if (cf_str_eq_c(authorization, algo))
        return CF_S3_AuthorizationHeaderMalformed;
    rest = cf_str_sub(authorization, sizeof(algo) - 1, authorization.len);
    /* The algorithm, then a space or (some clients) a comma. Anything else is another
     * algorithm (SigV2, SigV4A), which we do not support. */
    if (!cf_str_starts_c(authorization, algo) || (rest.p[0] != ' ' && rest.p[0] != ','))
        return CF_S3_InvalidArgument;
    rest = cf_str_sub(rest, 1, rest.len);
    while (rest.len && rest.p[0] == ' ')
        rest = cf_str_sub(rest, 1, rest.len);

    while (more) {
        cf_str key, val;
        more = cf_str_cut(rest, ',', &comp, &rest);
        /* Clients differ on "a, b" and "a,b": spaces after a comma are fine. */
        while (comp.len && comp.p[0] == ' ')
            comp = cf_str_sub(comp, 1, comp.len);
        if (!cf_str_cut(comp, '=', &key, &val))
            return CF_S3_AuthorizationHeaderMalformed;
        if (cf_str_eq_c(key, "Credential") && !have_cred) {
            cred = val;
            have_cred = true;
        } else if (cf_str_eq_c(key, "SignedHeaders") && !have_sh) {
            sh = val;
            have_sh = true;
        } else if (cf_str_eq_c(key, "Signature") && !have_sig) {
            sig = val;
            have_sig = true;
        } else {
            return CF_S3_AuthorizationHeaderMalformed; /* unknown or repeated component */
        }
    }
    if (!have_cred || !have_sh || !have_sig)
        return CF_S3_AuthorizationHeaderMalformed;
    if (!parse_credential(cred, out) || !valid_signed_headers(sh) ||
        !is_lower_hex(sig, SIG_HEX_LEN))
        return CF_S3_AuthorizationHeaderMalformed;
    /* S3: "AWS authentication requires a valid Date or x-amz-date header" (AccessDenied). */
    if (!norm_amz_date(amz_date, norm, NULL))
        return CF_S3_AccessDenied;
    out->signed_headers = sh;
    out->signature = sig;
    out->amz_date = amz_date;
    return CF_S3_OK;
}

cf_s3err cf_sigv4_parse_query(const cf_kv *query, size_t nquery, cf_sigv4_auth *out)
{
    enum { ALG, CRED, DATE, EXP, SH, SIG, TOK, NPARAM };
    static const char *const names[NPARAM] = {
        "X-Amz-Algorithm",     "X-Amz-Credential", "X-Amz-Date",           "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature",  "X-Amz-Security-Token",
    };
    cf_str v[NPARAM];
    bool seen[NPARAM] = {false};
    uint64_t exp;
    int64_t t;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nquery; i++) {
        for (size_t k = 0; k < NPARAM; k++) {
            if (!cf_str_eq_c(query[i].name, names[k]))
                continue;
            if (seen[k])
                return CF_S3_AuthorizationQueryParametersError;
            seen[k] = true;
            v[k] = query[i].value;
        }
    }
    for (size_t k = 0; k < TOK; k++)
        if (!seen[k])
            return CF_S3_AuthorizationQueryParametersError;
    if (!cf_str_eq_c(v[ALG], CF_SIGV4_ALGO))
        return CF_S3_AuthorizationQueryParametersError;
    if (!parse_credential(v[CRED], out) || !valid_signed_headers(v[SH]) ||
        !is_lower_hex(v[SIG], SIG_HEX_LEN))
        return CF_S3_AuthorizationQueryParametersError;
    /* Presigned URLs carry only the ISO 8601 basic form. */
    if (!cf_time_parse_amz(v[DATE], &t))
        return CF_S3_AuthorizationQueryParametersError;
    /* Plain decimal, 1 s to one week (S3: "X-Amz-Expires must be less than a week"). */
    if (!cf_str_to_u64(v[EXP], &exp) || exp < 1 || exp > CF_SIGV4_MAX_EXPIRES_S)
        return CF_S3_AuthorizationQueryParametersError;
    out->presigned = true;
    out->signed_headers = v[SH];
    out->signature = v[SIG];
    out->amz_date = v[DATE];
    out->expires_s = (int64_t)exp;
    if (seen[TOK])
        out->security_token = v[TOK];
    return CF_S3_OK;
}

/* ---- canonical request ---- */

/* Path as sent, decoded once and encoded once ('/' kept): S3 neither normalises nor encodes
 * twice. An empty path is "/". */
static cf_s3err canon_uri_s3(cf_str path, cf_buf *out)
{
    if (path.len == 0)
        return cf_buf_append_ch(out, '/') == CF_OK ? CF_S3_OK : CF_S3_InvalidRequest;
    for (size_t i = 0; i < path.len; i++) {
        unsigned char c = (unsigned char)path.p[i];
        if (c == '%') {
            int hi = path.len - i >= 3 ? hexval((unsigned char)path.p[i + 1]) : -1;
            int lo = path.len - i >= 3 ? hexval((unsigned char)path.p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return CF_S3_SignatureDoesNotMatch;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (enc_byte(out, c, true) != CF_OK)
            return CF_S3_InvalidRequest;
    }
    return CF_S3_OK;
}

/* Generic services (the AWS test suite): dot segments resolved, empty segments dropped, a
 * trailing '/' kept, then the already-encoded path encoded again (aws-c-auth's
 * should_normalize_uri_path + use_double_uri_encode). */
static cf_s3err canon_uri_generic(cf_str path, cf_buf *out)
{
    cf_buf norm;
    size_t *starts = NULL; /* offsets in norm of each kept segment's '/' */
    size_t nseg = 0, cap = 1;
    cf_s3err e = CF_S3_InvalidRequest;
    cf_str rest = path, seg;
    bool more = true, trailing = path.len > 0 && path.p[path.len - 1] == '/';

    cf_buf_init(&norm, CANON_MAX);
    for (size_t i = 0; i < path.len; i++)
        cap += path.p[i] == '/';
    starts = calloc(cap, sizeof(*starts));
    if (!starts)
        goto out;
    while (more) {
        more = cf_str_cut(rest, '/', &seg, &rest);
        if (seg.len == 0 || cf_str_eq_c(seg, "."))
            continue;
        if (cf_str_eq_c(seg, "..")) {
            if (nseg > 0)
                norm.len = starts[--nseg];
            continue;
        }
        starts[nseg++] = norm.len;
        if (cf_buf_append_ch(&norm, '/') != CF_OK || cf_buf_append_str(&norm, seg) != CF_OK)
            goto out;
    }
    if ((nseg == 0 || trailing) && cf_buf_append_ch(&norm, '/') != CF_OK)
        goto out;
    if (cf_sigv4_uri_encode(cf_str_make(norm.p, norm.len), true, out) != CF_OK)
        goto out;
    e = CF_S3_OK;
out:
    free(starts);
    cf_buf_free(&norm);
    return e;
}

typedef struct qparam {
    const char *n, *v;
    size_t nl, vl;
} qparam;

static int qparam_cmp(const void *x, const void *y)
{
    const qparam *a = x, *b = y;
    int c = cf_str_cmp(cf_str_make(a->n, a->nl), cf_str_make(b->n, b->nl));
    if (c != 0)
        return c;
    return cf_str_cmp(cf_str_make(a->v, a->vl), cf_str_make(b->v, b->vl));
}

/* Parameters encoded, sorted by encoded name then encoded value, joined "n=v&...".
 * A presigned request's own X-Amz-Signature is not part of what it signs. */
static cf_s3err canon_query(const cf_sigv4_request *r, bool presigned, cf_buf *out)
{
    cf_buf enc;
    size_t *offs = NULL; /* per kept param: name start, value start, value end */
    qparam *qp = NULL;
    size_t n = 0;
    cf_s3err e = CF_S3_InvalidRequest;

    cf_buf_init(&enc, CANON_MAX);
    if (r->nquery == 0) {
        e = CF_S3_OK;
        goto out;
    }
    if (r->nquery > MAX_QUERY_PARAMS)
        goto out;
    offs = calloc(r->nquery * 3, sizeof(*offs));
    qp = calloc(r->nquery, sizeof(*qp));
    if (!offs || !qp)
        goto out;
    for (size_t i = 0; i < r->nquery; i++) {
        if (presigned && cf_str_eq_c(r->query[i].name, "X-Amz-Signature"))
            continue;
        offs[3 * n] = enc.len;
        if (cf_sigv4_uri_encode(r->query[i].name, false, &enc) != CF_OK)
            goto out;
        offs[3 * n + 1] = enc.len;
        if (cf_sigv4_uri_encode(r->query[i].value, false, &enc) != CF_OK)
            goto out;
        offs[3 * n + 2] = enc.len;
        n++;
    }
    /* enc no longer moves: turn offsets into pointers. */
    for (size_t i = 0; i < n; i++) {
        qp[i].n = enc.p + offs[3 * i];
        qp[i].nl = offs[3 * i + 1] - offs[3 * i];
        qp[i].v = enc.p + offs[3 * i + 1];
        qp[i].vl = offs[3 * i + 2] - offs[3 * i + 1];
    }
    if (n > 1)
        qsort(qp, n, sizeof(*qp), qparam_cmp);
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && cf_buf_append_ch(out, '&') != CF_OK) ||
            cf_buf_append(out, qp[i].n, qp[i].nl) != CF_OK || cf_buf_append_ch(out, '=') != CF_OK ||
            cf_buf_append(out, qp[i].v, qp[i].vl) != CF_OK)
            goto out;
    }
    e = CF_S3_OK;
out:
    free(offs);
    free(qp);
    cf_buf_free(&enc);
    return e;
}

/* A header value trimmed, inner runs of blanks collapsed to one space. */
static cf_rc append_header_value(cf_buf *out, cf_str v)
{
    bool blank = false;
    cf_rc rc = CF_OK;
    v = cf_str_trim(v);
    for (size_t i = 0; i < v.len && rc == CF_OK; i++) {
        char c = v.p[i];
        if (c == ' ' || c == '\t') {
            blank = true;
            continue;
        }
        if (blank)
            rc = cf_buf_append_ch(out, ' ');
        blank = false;
        if (rc == CF_OK)
            rc = cf_buf_append_ch(out, c);
    }
    return rc;
}

/* "name:v1,v2\n" for every signed header, in SignedHeaders order (already sorted). */
static cf_s3err canon_headers(const cf_sigv4_request *r, cf_str signed_headers, cf_buf *out)
{
    cf_str rest = signed_headers, name;
    bool more = true;
    while (more) {
        bool found = false;
        more = cf_str_cut(rest, ';', &name, &rest);
        if (cf_buf_append_str(out, name) != CF_OK || cf_buf_append_ch(out, ':') != CF_OK)
            return CF_S3_InvalidRequest;
        for (size_t i = 0; i < r->nheaders; i++) {
            if (!ieq(r->headers[i].name, name))
                continue;
            if ((found && cf_buf_append_ch(out, ',') != CF_OK) ||
                append_header_value(out, r->headers[i].value) != CF_OK)
                return CF_S3_InvalidRequest;
            found = true;
        }
        if (!found)
            return CF_S3_AccessDenied; /* signed but not sent */
        if (cf_buf_append_ch(out, '\n') != CF_OK)
            return CF_S3_InvalidRequest;
    }
    return CF_S3_OK;
}

cf_s3err cf_sigv4_canonical_request(const cf_sigv4_request *r, const cf_sigv4_auth *a,
                                    cf_sigv4_mode mode, cf_buf *out)
{
    cf_s3err e;
    cf_buf_reset(out);
    if (cf_buf_append_str(out, r->method) != CF_OK || cf_buf_append_ch(out, '\n') != CF_OK)
        return CF_S3_InvalidRequest;
    e = mode == CF_SIGV4_GENERIC ? canon_uri_generic(r->path, out) : canon_uri_s3(r->path, out);
    if (e != CF_S3_OK)
        return e;
    if (cf_buf_append_ch(out, '\n') != CF_OK)
        return CF_S3_InvalidRequest;
    e = canon_query(r, a->presigned, out);
    if (e != CF_S3_OK)
        return e;
    if (cf_buf_append_ch(out, '\n') != CF_OK)
        return CF_S3_InvalidRequest;
    e = canon_headers(r, a->signed_headers, out);
    if (e != CF_S3_OK)
        return e;
    if (cf_buf_append_ch(out, '\n') != CF_OK ||
        cf_buf_append_str(out, a->signed_headers) != CF_OK ||
        cf_buf_append_ch(out, '\n') != CF_OK || cf_buf_append_str(out, r->payload_hash) != CF_OK)
        return CF_S3_InvalidRequest;
    return CF_S3_OK;
}

/* ---- signing ---- */

cf_rc cf_sigv4_string_to_sign(cf_str amz_date, cf_str scope, cf_str canonical, cf_buf *out)
{
    char date[AMZ_DATE_LEN + 1], hash[2 * CF_SHA256_LEN + 1];
    cf_buf_reset(out);
    if (!norm_amz_date(amz_date, date, NULL))
        return CF_EINVAL;
    cf_sha256_hex(canonical.p, canonical.len, hash);
    return cf_buf_printf(out, "%s\n%s\n%.*s\n%s", CF_SIGV4_ALGO, date, CF_STR_FMT(scope), hash);
}

void cf_sigv4_signing_key(cf_str secret, cf_str date, cf_str region, cf_str service,
                          uint8_t key[32])
{
    uint8_t k[4 + 128];
    uint8_t t[CF_SHA256_LEN];
    size_t klen;
    if (secret.len <= sizeof(k) - 4) {
        memcpy(k, "AWS4", 4);
        if (secret.len)
            memcpy(k + 4, secret.p, secret.len);
        klen = 4 + secret.len;
    } else {
        /* HMAC hashes a key longer than its block first: same result, no big buffer. */
        cf_hash *h = cf_hash_new(CF_HASH_SHA256);
        if (h) {
            cf_hash_update(h, "AWS4", 4);
            cf_hash_update(h, secret.p, secret.len);
            cf_hash_final(h, k);
            cf_hash_free(h);
        } else {
            memset(k, 0, CF_SHA256_LEN); /* cannot match: the request fails to verify */
        }
        klen = CF_SHA256_LEN;
    }
    cf_hmac_sha256(k, klen, date.p, date.len, t);
    cf_hmac_sha256(t, sizeof(t), region.p, region.len, t);
    cf_hmac_sha256(t, sizeof(t), service.p, service.len, t);
    cf_hmac_sha256(t, sizeof(t), "aws4_request", 12, key);
    wipe(k, sizeof(k));
    wipe(t, sizeof(t));
}

void cf_sigv4_sign(const uint8_t key[32], cf_str msg, char hex[65])
{
    uint8_t mac[CF_SHA256_LEN];
    cf_hmac_sha256(key, 32, msg.p, msg.len, mac);
    cf_hex_encode(mac, sizeof(mac), hex);
}

/* ---- verification ---- */

void cf_sigv4_keymemo_init(cf_sigv4_keymemo *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
}

void cf_sigv4_keymemo_destroy(cf_sigv4_keymemo *m)
{
    pthread_mutex_destroy(&m->lock);
    wipe(m->key, sizeof m->key);
}

/* The signing key for a's scope, from the memo when it holds that scope's. */
static void signing_key_for(const cf_sigv4_verify_in *in, const cf_sigv4_auth *a, uint8_t k[32])
{
    cf_sigv4_keymemo *m = in->memo;
    char scope[sizeof m->scope];
    size_t n = 0;
    bool fits = m != NULL && a->date.len + a->region.len + a->service.len + 2 <= sizeof scope;
    if (fits) {
        memcpy(scope, a->date.p, a->date.len);
        n = a->date.len;
        scope[n++] = '/';
        memcpy(scope + n, a->region.p, a->region.len);
        n += a->region.len;
        scope[n++] = '/';
        memcpy(scope + n, a->service.p, a->service.len);
        n += a->service.len;
        pthread_mutex_lock(&m->lock);
        bool hit = m->valid && m->scope_len == n && memcmp(m->scope, scope, n) == 0;
        if (hit)
            memcpy(k, m->key, 32);
        pthread_mutex_unlock(&m->lock);
        if (hit)
            return;
    }
    cf_sigv4_signing_key(in->secret, a->date, a->region, a->service, k);
    if (fits) {
        pthread_mutex_lock(&m->lock);
        memcpy(m->scope, scope, n);
        m->scope_len = n;
        memcpy(m->key, k, 32);
        m->valid = true;
        pthread_mutex_unlock(&m->lock);
    }
}

/* scope is "date/region/service/aws4_request" of the parsed parts (a caller may fill the
 * struct by hand). */
static bool scope_consistent(const cf_sigv4_auth *a)
{
    cf_str s = a->scope;
    cf_str parts[4] = {a->date, a->region, a->service, CF_STR("aws4_request")};
    for (size_t i = 0; i < 4; i++) {
        cf_str head;
        bool more = cf_str_cut(s, '/', &head, &s);
        if (!cf_str_eq(head, parts[i]) || more != (i < 3))
            return false;
    }
    return true;
}

cf_s3err cf_sigv4_verify(const cf_sigv4_verify_in *in, uint8_t key[32], cf_buf *canon, cf_buf *sts)
{
    const cf_sigv4_auth *a = in->auth;
    cf_s3err scope_err =
        a->presigned ? CF_S3_AuthorizationQueryParametersError : CF_S3_AuthorizationHeaderMalformed;
    cf_buf lcanon, lsts;
    cf_buf *cb = canon ? canon : &lcanon, *sb = sts ? sts : &lsts;
    uint8_t k[32];
    char date[AMZ_DATE_LEN + 1], sig[SIG_HEX_LEN + 1];
    int64_t t;
    cf_s3err e;

    cf_buf_init(&lcanon, CANON_MAX);
    cf_buf_init(&lsts, CANON_MAX);
    memset(k, 0, sizeof(k));

    /* Scope: s3, our region (unless "auto"), the day of the request, aws4_request. */
    e = scope_err;
    if (!cf_str_eq_c(a->service, "s3"))
        goto out;
    if (!cf_str_eq_c(in->region, "auto") && !cf_str_eq(a->region, in->region))
        goto out;
    if (!norm_amz_date(a->amz_date, date, &t) || a->date.len != DATE_LEN ||
        memcmp(a->date.p, date, DATE_LEN) != 0)
        goto out;
    if (!scope_consistent(a))
        goto out;

    /* Time. Header auth: within 15 minutes of our clock either way. Presigned: S3 answers
     * AccessDenied "Request has expired" once now > X-Amz-Date + X-Amz-Expires, and
     * AccessDenied "Request is not yet valid" for a URL dated in the future (observed, see
     * minio issue #2638); we allow the same 15 minutes of clock skew before saying so. */
    if (a->presigned) {
        e = CF_S3_AuthorizationQueryParametersError;
        if (a->expires_s < 1 || a->expires_s > CF_SIGV4_MAX_EXPIRES_S)
            goto out;
        e = CF_S3_AccessDenied;
        if (t - in->now_ms > CF_SIGV4_MAX_SKEW_MS)
            goto out;
        if (in->now_ms > t + a->expires_s * 1000)
            goto out;
    } else {
        e = CF_S3_RequestTimeTooSkewed;
        if (t - in->now_ms > CF_SIGV4_MAX_SKEW_MS || in->now_ms - t > CF_SIGV4_MAX_SKEW_MS)
            goto out;
    }

    e = cf_sigv4_canonical_request(in->req, a, CF_SIGV4_S3, cb);
    if (e != CF_S3_OK)
        goto out;
    if (cf_sigv4_string_to_sign(a->amz_date, a->scope, cf_buf_str(cb), sb) != CF_OK) {
        e = CF_S3_InternalError;
        goto out;
    }
    signing_key_for(in, a, k);
    cf_sigv4_sign(k, cf_buf_str(sb), sig);
    e = CF_S3_SignatureDoesNotMatch;
    if (!cf_ct_eq(sig, SIG_HEX_LEN, a->signature.p, a->signature.len))
        goto out;
    memcpy(key, k, sizeof(k));
    e = CF_S3_OK;
out:
    if (e != CF_S3_OK)
        wipe(key, 32);
    wipe(k, sizeof(k));
    cf_buf_free(&lcanon);
    cf_buf_free(&lsts);
    return e;
}
