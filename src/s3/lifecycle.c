/* Bucket lifecycle: Put/Get/DeleteBucketLifecycleConfiguration with S3's document, checks
 * and messages (stored normalized, rule IDs filled in), and the sweeper thread that applies
 * the Enabled rules: Expiration (Days from the object's mtime rounded up to the next
 * midnight UTC, or a Date) deletes matching objects through DeleteObject's path, and
 * AbortIncompleteMultipartUpload aborts uploads initiated that many days ago (same
 * rounding). Transitions are refused (one storage class); noncurrent-version and
 * delete-marker actions are kept and have nothing to act on (no versioning). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "s3/lifecycle.h"
#include "s3/s3_int.h"

#define MAX_RULES         1000
#define MAX_ID            255
#define MAX_SIZE_FILTER   1099511627776000ull
#define MAX_INT32         2147483647u
#define DAY_MS            86400000LL
#define DOC_OUT_MAX       (16u << 20)
#define PAGE              1000
#define MAX_UPLOAD_ID     1024
#define FIRST_SWEEP_MAX_S 60

enum filter_kind { F_NONE, F_EMPTY, F_PREFIX, F_TAG, F_AND, F_GT, F_LT };

typedef struct lc_rule {
    cf_str id;
    bool enabled;
    enum filter_kind filter; /* F_NONE: the legacy rule-level Prefix */
    bool has_prefix;
    cf_str prefix;
    cf_kv *tags;
    size_t ntags;
    bool has_gt, has_lt;
    uint64_t gt, lt;
    bool has_exp;
    uint32_t exp_days; /* 0: by date, or delete markers only */
    bool has_exp_date;
    int64_t exp_date_ms;
    bool has_eodm, eodm;
    bool has_nve;
    uint32_t nve_days, nve_newer; /* nve_newer 0: absent */
    bool has_abort;
    uint32_t abort_days;
} lc_rule;

typedef struct perr {
    cf_s3err e;
    char msg[512];
} perr;

static cf_s3err refuse(perr *pe, cf_s3err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static cf_s3err refuse(perr *pe, cf_s3err e, const char *fmt, ...)
{
    va_list ap;
    pe->e = e;
    pe->msg[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(pe->msg, sizeof pe->msg, fmt, ap);
        va_end(ap);
    }
    return e;
}

static cf_s3err malformed(perr *pe)
{
    return refuse(pe, CF_S3_MalformedXML, NULL);
}

/* ---- parsing ---- */

static cf_str xml_trim(cf_str s)
{
    while (s.len > 0 && strchr(" \t\r\n", s.p[0]) != NULL) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && strchr(" \t\r\n", s.p[s.len - 1]) != NULL)
        s.len--;
    return s;
}

/* Every child is one of names (NULL-terminated), each at most once except many. */
static bool children_ok(const cf_xml_node *n, const char *const *names, const char *many)
{
    for (const cf_xml_node *c = n->child; c != NULL; c = c->next) {
        bool known = false;
        size_t same = 0;
        for (size_t i = 0; names[i] != NULL; i++)
            if (cf_str_eq_c(c->name, names[i]))
                known = true;
        if (!known)
            return false;
        if (many != NULL && cf_str_eq_c(c->name, many))
            continue;
        for (const cf_xml_node *d = n->child; d != NULL; d = d->next)
            same += cf_str_eq(c->name, d->name);
        if (same > 1)
            return false;
    }
    return true;
}

/* A leaf element's text; MalformedXML if it has element children. */
static bool leaf(const cf_xml_node *n, cf_str *out)
{
    if (n->child != NULL)
        return false;
    *out = xml_trim(n->text);
    return true;
}

/* A positive xsd:int: 0 or a negative value is what (InvalidArgument), anything else not a
 * number is malformed. */
static cf_s3err positive(const cf_xml_node *n, uint32_t *out, perr *pe, const char *what)
{
    cf_str t;
    uint64_t v = 0;
    if (!leaf(n, &t))
        return malformed(pe);
    if (t.len > 1 && t.p[0] == '-' && cf_str_to_u64(cf_str_sub(t, 1, t.len), &v))
        return refuse(pe, CF_S3_InvalidArgument, "%s must be a positive integer", what);
    if (!cf_str_to_u64(t, &v) || v > MAX_INT32)
        return malformed(pe);
    if (v == 0)
        return refuse(pe, CF_S3_InvalidArgument, "%s must be a positive integer", what);
    *out = (uint32_t)v;
    return CF_S3_OK;
}

/* ISO 8601 (date alone, or with a time in UTC); S3 requires midnight. */
static cf_s3err parse_date(const cf_xml_node *n, int64_t *ms, perr *pe)
{
    cf_str t;
    char buf[64];
    if (!leaf(n, &t) || t.len < 10 || t.len > 40)
        return malformed(pe);
    if (t.len == 10)
        snprintf(buf, sizeof buf, "%.*sT00:00:00Z", CF_STR_FMT(t));
    else if (t.len > 6 && (memcmp(t.p + t.len - 6, "+00:00", 6) == 0 ||
                           memcmp(t.p + t.len - 6, "-00:00", 6) == 0))
        snprintf(buf, sizeof buf, "%.*sZ", (int)t.len - 6, t.p);
    else
        snprintf(buf, sizeof buf, "%.*s", CF_STR_FMT(t));
    if (!cf_time_parse_iso8601(cf_str_c(buf), ms))
        return malformed(pe);
    if (*ms % DAY_MS != 0)
        return refuse(pe, CF_S3_InvalidArgument, "'Date' must be at midnight GMT");
    return CF_S3_OK;
}

static cf_s3err parse_size(const cf_xml_node *n, uint64_t *out, perr *pe)
{
    cf_str t;
    if (!leaf(n, &t))
        return malformed(pe);
    if (t.len > 1 && t.p[0] == '-' && cf_str_to_u64(cf_str_sub(t, 1, t.len), out)) {
        *out = MAX_SIZE_FILTER + 1; /* out of range below */
        return CF_S3_OK;
    }
    if (!cf_str_to_u64(t, out))
        return malformed(pe);
    return CF_S3_OK;
}

/* UTF-16 code units of a UTF-8 string. */
static size_t units(cf_str s)
{
    size_t u = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x80 || c >= 0xC0)
            u += c >= 0xF0 ? 2 : 1;
    }
    return u;
}

static cf_s3err parse_tag(const cf_xml_node *n, cf_kv *out, perr *pe)
{
    static const char *const names[] = {"Key", "Value", NULL};
    const cf_xml_node *k = cf_xml_child(n, "Key"), *v = cf_xml_child(n, "Value");
    if (!children_ok(n, names, NULL) || k == NULL || k->child != NULL ||
        (v != NULL && v->child != NULL))
        return malformed(pe);
    out->name = k->text;
    out->value = v != NULL ? v->text : CF_STR("");
    if (out->name.len == 0 || !cf_utf8_valid(out->name) || units(out->name) > 128)
        return refuse(pe, CF_S3_InvalidTag, "The TagKey you have provided is invalid");
    if (!cf_utf8_valid(out->value) || units(out->value) > 256)
        return refuse(pe, CF_S3_InvalidTag, "The TagValue you have provided is invalid");
    return CF_S3_OK;
}

/* The predicates of a Filter's And (at least two), or the single one of a Filter. */
static cf_s3err parse_predicates(cf_arena *a, const cf_xml_node *n, lc_rule *r, perr *pe)
{
    size_t nt = cf_xml_count(n, "Tag"), i = 0;
    cf_s3err e;
    if (nt > 0 && (r->tags = cf_arena_alloc(a, nt * sizeof *r->tags)) == NULL)
        return refuse(pe, CF_S3_InternalError, NULL);
    for (const cf_xml_node *c = n->child; c != NULL; c = c->next) {
        if (cf_str_eq_c(c->name, "Prefix")) {
            r->has_prefix = true;
            if (c->child != NULL)
                return malformed(pe);
            r->prefix = c->text; /* a key prefix: spaces count */
        } else if (cf_str_eq_c(c->name, "Tag")) {
            if ((e = parse_tag(c, &r->tags[i++], pe)) != CF_S3_OK)
                return e;
        } else if (cf_str_eq_c(c->name, "ObjectSizeGreaterThan")) {
            r->has_gt = true;
            if ((e = parse_size(c, &r->gt, pe)) != CF_S3_OK)
                return e;
        } else if (cf_str_eq_c(c->name, "ObjectSizeLessThan")) {
            r->has_lt = true;
            if ((e = parse_size(c, &r->lt, pe)) != CF_S3_OK)
                return e;
        }
    }
    r->ntags = i;
    for (size_t x = 0; x < i; x++)
        for (size_t y = x + 1; y < i; y++)
            if (cf_str_eq(r->tags[x].name, r->tags[y].name))
                return refuse(pe, CF_S3_InvalidRequest, "Duplicate Tag Keys are not allowed.");
    if (r->has_gt && r->gt > MAX_SIZE_FILTER)
        return refuse(pe, CF_S3_InvalidRequest,
                      "'ObjectSizeGreaterThan' should be between 0 and %llu.", MAX_SIZE_FILTER);
    if (r->has_lt && (r->lt == 0 || r->lt > MAX_SIZE_FILTER))
        return refuse(pe, CF_S3_InvalidRequest,
                      "'ObjectSizeLessThan' should be between 1 and %llu.", MAX_SIZE_FILTER);
    if (r->has_gt && r->has_lt && r->gt >= r->lt)
        return refuse(pe, CF_S3_InvalidRequest,
                      "'ObjectSizeLessThan' has to be a value greater than "
                      "'ObjectSizeGreaterThan'.");
    return CF_S3_OK;
}

static cf_s3err parse_filter(cf_arena *a, const cf_xml_node *f, lc_rule *r, perr *pe)
{
    static const char *const fnames[] = {
        "Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan", NULL};
    static const char *const anames[] = {"Prefix", "Tag", "ObjectSizeGreaterThan",
                                         "ObjectSizeLessThan", NULL};
    const cf_xml_node *c = f->child;
    if (c == NULL) {
        r->filter = F_EMPTY;
        return CF_S3_OK;
    }
    /* Exactly one predicate; several go in an And. */
    if (!children_ok(f, fnames, NULL) || c->next != NULL)
        return malformed(pe);
    if (cf_str_eq_c(c->name, "And")) {
        size_t k = 0;
        for (const cf_xml_node *x = c->child; x != NULL; x = x->next)
            k++;
        if (!children_ok(c, anames, "Tag") || k < 2)
            return malformed(pe);
        r->filter = F_AND;
        return parse_predicates(a, c, r, pe);
    }
    r->filter = cf_str_eq_c(c->name, "Prefix")                  ? F_PREFIX
                : cf_str_eq_c(c->name, "Tag")                   ? F_TAG
                : cf_str_eq_c(c->name, "ObjectSizeGreaterThan") ? F_GT
                                                                : F_LT;
    return parse_predicates(a, f, r, pe);
}

static cf_s3err parse_expiration(const cf_xml_node *x, lc_rule *r, perr *pe)
{
    static const char *const names[] = {"Days", "Date", "ExpiredObjectDeleteMarker", NULL};
    const cf_xml_node *days = cf_xml_child(x, "Days"), *date = cf_xml_child(x, "Date");
    const cf_xml_node *dm = cf_xml_child(x, "ExpiredObjectDeleteMarker");
    cf_s3err e;
    if (!children_ok(x, names, NULL) || x->child == NULL || (days != NULL && date != NULL) ||
        (dm != NULL && (days != NULL || date != NULL)))
        return malformed(pe);
    r->has_exp = true;
    if (days != NULL &&
        (e = positive(days, &r->exp_days, pe, "'Days' for Expiration action")) != CF_S3_OK)
        return e;
    if (date != NULL) {
        r->has_exp_date = true;
        if ((e = parse_date(date, &r->exp_date_ms, pe)) != CF_S3_OK)
            return e;
    }
    if (dm != NULL) {
        cf_str t;
        r->has_eodm = true;
        if (!leaf(dm, &t))
            return malformed(pe);
        if (cf_str_eq_c(t, "true") || cf_str_eq_c(t, "1"))
            r->eodm = true;
        else if (!cf_str_eq_c(t, "false") && !cf_str_eq_c(t, "0"))
            return malformed(pe);
    }
    return CF_S3_OK;
}

static cf_s3err parse_nve(const cf_xml_node *x, lc_rule *r, perr *pe)
{
    static const char *const names[] = {"NoncurrentDays", "NewerNoncurrentVersions", NULL};
    const cf_xml_node *d = cf_xml_child(x, "NoncurrentDays");
    const cf_xml_node *nv = cf_xml_child(x, "NewerNoncurrentVersions");
    cf_s3err e;
    if (!children_ok(x, names, NULL) || d == NULL)
        return malformed(pe);
    r->has_nve = true;
    if ((e = positive(d, &r->nve_days, pe,
                      "'NoncurrentDays' for NoncurrentVersionExpiration "
                      "action")) != CF_S3_OK)
        return e;
    if (nv != NULL &&
        (e = positive(nv, &r->nve_newer, pe,
                      "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action")) !=
            CF_S3_OK)
        return e;
    return CF_S3_OK;
}

static cf_s3err parse_rule(cf_arena *a, const cf_xml_node *rn, lc_rule *r, perr *pe)
{
    static const char *const names[] = {"ID",
                                        "Prefix",
                                        "Filter",
                                        "Status",
                                        "Expiration",
                                        "NoncurrentVersionExpiration",
                                        "AbortIncompleteMultipartUpload",
                                        "Transition",
                                        "NoncurrentVersionTransition",
                                        NULL};
    const cf_xml_node *id = cf_xml_child(rn, "ID"), *st = cf_xml_child(rn, "Status");
    const cf_xml_node *px = cf_xml_child(rn, "Prefix"), *fl = cf_xml_child(rn, "Filter");
    const cf_xml_node *ex = cf_xml_child(rn, "Expiration");
    const cf_xml_node *nve = cf_xml_child(rn, "NoncurrentVersionExpiration");
    const cf_xml_node *ab = cf_xml_child(rn, "AbortIncompleteMultipartUpload");
    cf_str t;
    cf_s3err e;

    memset(r, 0, sizeof *r);
    r->prefix = CF_STR("");
    for (const cf_xml_node *c = rn->child; c != NULL; c = c->next)
        if (cf_str_eq_c(c->name, "Transition") ||
            cf_str_eq_c(c->name, "NoncurrentVersionTransition"))
            return refuse(pe, CF_S3_NotImplemented,
                          "Lifecycle transitions are not implemented: coffer has one storage "
                          "class.");
    if (!children_ok(rn, names, NULL) || st == NULL || !leaf(st, &t))
        return malformed(pe);
    if (cf_str_eq_c(t, "Enabled"))
        r->enabled = true;
    else if (!cf_str_eq_c(t, "Disabled"))
        return malformed(pe);
    r->id = CF_STR("");
    if (id != NULL && !leaf(id, &r->id))
        return malformed(pe);
    if (r->id.len > MAX_ID)
        return refuse(pe, CF_S3_InvalidArgument, "ID length should not exceed allowed limit of %d",
                      MAX_ID);
    if ((px == NULL) == (fl == NULL))
        return malformed(pe);
    if (px != NULL) {
        r->filter = F_NONE;
        r->has_prefix = true;
        if (px->child != NULL)
            return malformed(pe);
        r->prefix = px->text;
    } else if ((e = parse_filter(a, fl, r, pe)) != CF_S3_OK) {
        return e;
    }
    if (ex != NULL && (e = parse_expiration(ex, r, pe)) != CF_S3_OK)
        return e;
    if (nve != NULL && (e = parse_nve(nve, r, pe)) != CF_S3_OK)
        return e;
    if (ab != NULL) {
        static const char *const an[] = {"DaysAfterInitiation", NULL};
        const cf_xml_node *d = cf_xml_child(ab, "DaysAfterInitiation");
        if (!children_ok(ab, an, NULL) || d == NULL)
            return malformed(pe);
        r->has_abort = true;
        if ((e = positive(d, &r->abort_days, pe,
                          "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action")) !=
            CF_S3_OK)
            return e;
    }
    if (!r->has_exp && !r->has_nve && !r->has_abort)
        return refuse(pe, CF_S3_InvalidRequest,
                      "At least one action needs to be specified in a rule");
    if (r->has_abort && r->ntags > 0)
        return refuse(pe, CF_S3_InvalidRequest,
                      "AbortIncompleteMultipartUpload cannot be specified with Tags.");
    if (r->has_abort && (r->has_gt || r->has_lt))
        return refuse(pe, CF_S3_InvalidRequest,
                      "AbortIncompleteMultipartUpload cannot be specified with Object Size.");
    if (r->has_eodm && r->ntags > 0)
        return refuse(pe, CF_S3_InvalidRequest,
                      "ExpiredObjectDeleteMarker cannot be specified with Tags.");
    if (r->has_eodm && (r->has_gt || r->has_lt))
        return refuse(pe, CF_S3_InvalidRequest,
                      "ExpiredObjectDeleteMarker cannot be specified with Object Size.");
    if (r->filter == F_NONE && r->nve_newer > 0)
        return refuse(pe, CF_S3_InvalidRequest,
                      "NewerNoncurrentVersions element can only be used in Lifecycle V2.");
    return CF_S3_OK;
}

/* S3's IDs for rules sent without one: base64 of a random version 4 UUID (48 characters). */
static bool make_id(cf_arena *a, cf_str *out)
{
    uint8_t u[16];
    char text[37], *b64 = cf_arena_alloc(a, 64);
    if (b64 == NULL || cf_random(u, sizeof u) != CF_OK)
        return false;
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
    snprintf(text, sizeof text,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
    size_t n = cf_b64_encode((const uint8_t *)text, 36, b64);
    *out = cf_str_make(b64, n);
    return true;
}

/* Legacy (rule-level Prefix) rules may not overlap for the same action, as in S3. */
static cf_s3err check_overlaps(const lc_rule *rs, size_t n, perr *pe)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const lc_rule *x = &rs[i], *y = &rs[j];
            if (!cf_str_starts(x->prefix, y->prefix) && !cf_str_starts(y->prefix, x->prefix))
                continue;
            const char *act = x->has_exp && y->has_exp       ? "Expiration"
                              : x->has_nve && y->has_nve     ? "NoncurrentVersionExpiration"
                              : x->has_abort && y->has_abort ? "AbortIncompleteMultipartUpload"
                                                             : NULL;
            if (act != NULL)
                return refuse(pe, CF_S3_InvalidRequest,
                              "Found overlapping prefixes '%.*s' and '%.*s' for same action type "
                              "'%s'",
                              CF_STR_FMT(cf_str_sub(x->prefix, 0, 100)),
                              CF_STR_FMT(cf_str_sub(y->prefix, 0, 100)), act);
        }
    return CF_S3_OK;
}

/* A LifecycleConfiguration document into rules (IDs filled in). */
static cf_s3err parse_config(cf_arena *a, cf_str body, lc_rule **out, size_t *nout, perr *pe)
{
    cf_xml_node *root = NULL;
    lc_rule *rs;
    size_t n = 0, i = 0;
    cf_s3err e = cf_xml_parse(a, body, &root);
    if (e != CF_S3_OK)
        return refuse(pe, e, NULL);
    if (!cf_str_eq_c(root->name, "LifecycleConfiguration"))
        return malformed(pe);
    for (const cf_xml_node *c = root->child; c != NULL; c = c->next) {
        if (!cf_str_eq_c(c->name, "Rule"))
            return malformed(pe);
        n++;
    }
    if (n == 0)
        return malformed(pe);
    if (n > MAX_RULES)
        return refuse(pe, CF_S3_InvalidRequest,
                      "The number of lifecycle rules must not exceed the allowed limit of %d "
                      "rules.",
                      MAX_RULES);
    rs = cf_arena_alloc(a, n * sizeof *rs);
    if (rs == NULL)
        return refuse(pe, CF_S3_InternalError, NULL);
    for (const cf_xml_node *c = root->child; c != NULL; c = c->next, i++) {
        if ((e = parse_rule(a, c, &rs[i], pe)) != CF_S3_OK)
            return e;
        /* The two forms cannot be mixed: the message names the one that came second. */
        if (i > 0 && (rs[i].filter == F_NONE) != (rs[0].filter == F_NONE))
            return refuse(pe, CF_S3_InvalidRequest, "%s",
                          rs[i].filter == F_NONE
                              ? "Base level prefix cannot be used in Lifecycle V2, prefixes are "
                                "only supported in the Filter."
                              : "Filter element can only be used in Lifecycle V2.");
        if (rs[i].id.len == 0 && !make_id(a, &rs[i].id))
            return refuse(pe, CF_S3_InternalError, NULL);
    }
    for (i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cf_str_eq(rs[i].id, rs[j].id))
                return refuse(pe, CF_S3_InvalidArgument,
                              "Rule ID must be unique. Found same ID for more than one rule");
    if (rs[0].filter == F_NONE && (e = check_overlaps(rs, n, pe)) != CF_S3_OK)
        return e;
    *out = rs;
    *nout = n;
    return CF_S3_OK;
}

/* ---- the normalized document ---- */

static void put(cf_rc *rc, cf_rc r)
{
    if (*rc == CF_OK)
        *rc = r;
}

static void write_tag(cf_rc *rc, cf_buf *b, const cf_kv *t)
{
    put(rc, cf_xml_open(b, "Tag"));
    put(rc, cf_xml_elem(b, "Key", t->name));
    put(rc, cf_xml_elem(b, "Value", t->value));
    put(rc, cf_xml_close(b, "Tag"));
}

static void write_predicates(cf_rc *rc, cf_buf *b, const lc_rule *r)
{
    if (r->has_prefix)
        put(rc, cf_xml_elem(b, "Prefix", r->prefix));
    for (size_t i = 0; i < r->ntags; i++)
        write_tag(rc, b, &r->tags[i]);
    if (r->has_gt)
        put(rc, cf_xml_elem_u64(b, "ObjectSizeGreaterThan", r->gt));
    if (r->has_lt)
        put(rc, cf_xml_elem_u64(b, "ObjectSizeLessThan", r->lt));
}

/* Rules as S3 writes them back: ID, Filter (or the legacy Prefix), Status, the actions. */
static cf_rc write_config(cf_buf *b, const lc_rule *rs, size_t n)
{
    cf_rc rc = cf_buf_append_c(b, CF_XML_DECL "<LifecycleConfiguration xmlns=\"" CF_S3_XMLNS "\">");
    for (size_t i = 0; i < n; i++) {
        const lc_rule *r = &rs[i];
        put(&rc, cf_xml_open(b, "Rule"));
        put(&rc, cf_xml_elem(b, "ID", r->id));
        if (r->filter == F_NONE) {
            put(&rc, cf_xml_elem(b, "Prefix", r->prefix));
        } else {
            put(&rc, cf_xml_open(b, "Filter"));
            if (r->filter == F_AND)
                put(&rc, cf_xml_open(b, "And"));
            write_predicates(&rc, b, r);
            if (r->filter == F_AND)
                put(&rc, cf_xml_close(b, "And"));
            put(&rc, cf_xml_close(b, "Filter"));
        }
        put(&rc, cf_xml_elem_c(b, "Status", r->enabled ? "Enabled" : "Disabled"));
        if (r->has_exp) {
            put(&rc, cf_xml_open(b, "Expiration"));
            if (r->has_exp_date) {
                char d[25];
                cf_time_iso8601(r->exp_date_ms, d);
                put(&rc, cf_xml_elem_c(b, "Date", d));
            } else if (r->exp_days > 0) {
                put(&rc, cf_xml_elem_u64(b, "Days", r->exp_days));
            }
            if (r->has_eodm)
                put(&rc, cf_xml_elem_c(b, "ExpiredObjectDeleteMarker", r->eodm ? "true" : "false"));
            put(&rc, cf_xml_close(b, "Expiration"));
        }
        if (r->has_nve) {
            put(&rc, cf_xml_open(b, "NoncurrentVersionExpiration"));
            put(&rc, cf_xml_elem_u64(b, "NoncurrentDays", r->nve_days));
            if (r->nve_newer > 0)
                put(&rc, cf_xml_elem_u64(b, "NewerNoncurrentVersions", r->nve_newer));
            put(&rc, cf_xml_close(b, "NoncurrentVersionExpiration"));
        }
        if (r->has_abort) {
            put(&rc, cf_xml_open(b, "AbortIncompleteMultipartUpload"));
            put(&rc, cf_xml_elem_u64(b, "DaysAfterInitiation", r->abort_days));
            put(&rc, cf_xml_close(b, "AbortIncompleteMultipartUpload"));
        }
        put(&rc, cf_xml_close(b, "Rule"));
    }
    put(&rc, cf_xml_close(b, "LifecycleConfiguration"));
    return rc;
}

/* ---- the operations ---- */

/* S3 answers its default for objects too small to transition; coffer transitions nothing. */
static void transition_default(cf_s3_req *q)
{
    cf_http_add_header(q->http, "x-amz-transition-default-minimum-object-size",
                       "all_storage_classes_128K");
}

void cf_s3_put_lifecycle_complete(cf_s3_req *q)
{
    lc_rule *rs = NULL;
    size_t n = 0;
    perr pe;
    cf_buf b;
    if (parse_config(q->arena, cf_buf_str(&q->body), &rs, &n, &pe) != CF_S3_OK) {
        cf_s3_error(q, pe.e, pe.msg[0] ? pe.msg : NULL);
        return;
    }
    cf_buf_init(&b, DOC_OUT_MAX);
    if (write_config(&b, rs, n) != CF_OK) {
        cf_buf_free(&b);
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    transition_default(q);
    cf_s3_doc_store(q, "lifecycle", cf_buf_str(&b), 200);
    cf_buf_free(&b);
}

void cf_s3_get_lifecycle(cf_s3_req *q)
{
    transition_default(q);
    cf_s3_doc_respond(q, "lifecycle", CF_S3_NoSuchLifecycleConfiguration);
}

void cf_s3_delete_lifecycle(cf_s3_req *q)
{
    cf_s3_doc_delete(q, "lifecycle");
}

/* ---- the sweeper ---- */

struct cf_s3_lifecycle {
    cf_s3 *s3;
    unsigned interval_s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

typedef struct sweep {
    cf_s3_lifecycle *lc;
    int64_t now;
    uint64_t buckets, configured, expired, aborted, failed;
} sweep;

static bool stopping(cf_s3_lifecycle *lc)
{
    pthread_mutex_lock(&lc->mu);
    bool s = lc->stop;
    pthread_mutex_unlock(&lc->mu);
    return s;
}

/* base + days, rounded up to the next midnight UTC, as S3 counts. */
static int64_t due_at(int64_t base_ms, uint32_t days)
{
    int64_t t = base_ms + (int64_t)days * DAY_MS;
    int64_t r = t % DAY_MS;
    if (r < 0)
        r += DAY_MS;
    return r == 0 ? t : t - r + DAY_MS;
}

static bool expires(const lc_rule *r)
{
    return r->enabled && r->has_exp && (r->exp_days > 0 || r->has_exp_date);
}

/* Everything but the tags: prefix, size and age. */
static bool due_untagged(const lc_rule *r, const cf_object_info *o, int64_t now)
{
    if (!expires(r) || !cf_str_starts(o->key, r->prefix))
        return false;
    if ((r->has_gt && o->size <= r->gt) || (r->has_lt && o->size >= r->lt))
        return false;
    return r->exp_days > 0 ? now >= due_at(o->mtime_ms, r->exp_days) : now >= r->exp_date_ms;
}

/* Every tag of the rule is on the object (key and value exactly). */
static bool has_tags(const lc_rule *r, cf_arena *a, const cf_object_info *o)
{
    cf_kv *t = NULL;
    size_t n = 0;
    cf_str stored = CF_STR("");
    for (size_t i = 0; i < o->nheaders; i++)
        if (cf_str_eq_c(o->headers[i].name, "x-amz-tagging"))
            stored = o->headers[i].value;
    if (!cf_s3_tags_decode(a, stored, &t, &n))
        return false;
    for (size_t i = 0; i < r->ntags; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found =
                cf_str_eq(t[j].name, r->tags[i].name) && cf_str_eq(t[j].value, r->tags[i].value);
        if (!found)
            return false;
    }
    return true;
}

/* Deletes the listed object if a rule says so and it is still the one listed. */
static void consider(sweep *sw, cf_str bucket, const lc_rule *rs, size_t n, cf_arena *a,
                     const cf_object_info *listed)
{
    cf_meta *m = sw->lc->s3->meta;
    cf_object_info o;
    bool loaded = false, due = false;
    for (size_t i = 0; i < n && !due; i++) {
        if (!due_untagged(&rs[i], listed, sw->now))
            continue;
        if (rs[i].ntags == 0) {
            due = true;
            continue;
        }
        if (!loaded) {
            if (cf_meta_call(m, object_get, bucket, listed->key, a, &o) != CF_OK)
                return;
            loaded = true;
        }
        due = has_tags(&rs[i], a, &o);
    }
    if (!due)
        return;
    /* Only the version listed: a write since then makes a new object, judged at the next
     * sweep, even if it lands between this check and the delete (the condition is checked
     * in the delete's transaction). */
    cf_del_cond cond = {.if_match_etag = listed->etag, .if_mtime_ms = listed->mtime_ms};
    cf_s3_req fq = {.s3 = sw->lc->s3, .arena = a};
    cf_s3err e = cf_s3_delete_key(&fq, bucket, listed->key, &cond);
    if (e == CF_S3_OK) {
        sw->expired++;
        cf_debug("lifecycle: expired %.*s/%.*s", CF_STR_FMT(bucket), CF_STR_FMT(listed->key));
    } else if (e != CF_S3_NoSuchBucket && e != CF_S3_NoSuchKey && e != CF_S3_PreconditionFailed) {
        sw->failed++;
    }
}

/* The longest prefix shared by every expiring rule's prefix: the listing needs no more. */
static cf_str common_prefix(const lc_rule *rs, size_t n)
{
    cf_str c = CF_STR_NULL;
    for (size_t i = 0; i < n; i++) {
        if (!expires(&rs[i]))
            continue;
        if (c.p == NULL) {
            c = rs[i].prefix;
            continue;
        }
        size_t k = 0;
        while (k < c.len && k < rs[i].prefix.len && c.p[k] == rs[i].prefix.p[k])
            k++;
        c.len = k;
    }
    return c.p != NULL ? c : CF_STR("");
}

static void expire_objects(sweep *sw, cf_str bucket, const lc_rule *rs, size_t n)
{
    cf_meta *m = sw->lc->s3->meta;
    char after[CF_S3_MAX_KEY + 1];
    size_t after_len = 0;
    cf_str prefix = common_prefix(rs, n);
    bool more = true;
    while (more && !stopping(sw->lc)) {
        cf_arena *a = cf_arena_new(0);
        cf_list_result res;
        cf_list_params p = {
            .prefix = prefix,
            .start_after = cf_str_make(after, after_len),
            .max_keys = PAGE,
        };
        if (a == NULL) {
            sw->failed++;
            return;
        }
        cf_rc rc = cf_meta_call(m, object_list, bucket, &p, a, &res);
        if (rc != CF_OK) {
            if (rc != CF_ENOTFOUND) {
                cf_warn("lifecycle: cannot list %.*s: %s", CF_STR_FMT(bucket), cf_rc_str(rc));
                sw->failed++;
            }
            cf_arena_destroy(a);
            return;
        }
        for (size_t i = 0; i < res.nobjects && !stopping(sw->lc); i++)
            consider(sw, bucket, rs, n, a, &res.objects[i]);
        more = res.truncated && res.nobjects > 0 &&
               res.objects[res.nobjects - 1].key.len <= CF_S3_MAX_KEY;
        if (more) {
            cf_str last = res.objects[res.nobjects - 1].key;
            memcpy(after, last.p, last.len);
            after_len = last.len;
        }
        cf_arena_destroy(a);
    }
}

static void abort_uploads(sweep *sw, cf_str bucket, const lc_rule *r)
{
    cf_meta *m = sw->lc->s3->meta;
    char kmark[CF_S3_MAX_KEY + 1], umark[MAX_UPLOAD_ID + 1];
    size_t klen = 0, ulen = 0;
    bool more = true, any = false;
    while (more && !stopping(sw->lc)) {
        cf_arena *a = cf_arena_new(0);
        cf_upload_list_result res;
        cf_upload_list_params p = {
            .prefix = r->prefix,
            .key_marker = cf_str_make(kmark, klen),
            .upload_id_marker = cf_str_make(umark, ulen),
            .max_uploads = PAGE,
        };
        if (a == NULL) {
            sw->failed++;
            break;
        }
        memset(&res, 0, sizeof res);
        cf_rc rc = cf_meta_call(m, upload_list, bucket, &p, a, &res);
        if (rc != CF_OK) {
            if (rc != CF_ENOTFOUND) {
                cf_warn("lifecycle: cannot list the uploads of %.*s: %s", CF_STR_FMT(bucket),
                        cf_rc_str(rc));
                sw->failed++;
            }
            cf_arena_destroy(a);
            break;
        }
        for (size_t i = 0; i < res.nuploads && !stopping(sw->lc); i++) {
            const cf_upload_info *u = &res.uploads[i];
            if (sw->now < due_at(u->initiated_ms, r->abort_days))
                continue;
            rc = cf_meta_call(m, upload_abort, bucket, u->key, u->upload_id);
            if (rc == CF_OK) {
                sw->aborted++;
                any = true;
                cf_debug("lifecycle: aborted upload %.*s of %.*s/%.*s", CF_STR_FMT(u->upload_id),
                         CF_STR_FMT(bucket), CF_STR_FMT(u->key));
            } else if (rc != CF_ENOTFOUND) {
                sw->failed++;
            }
        }
        const cf_upload_info *last = res.nuploads ? &res.uploads[res.nuploads - 1] : NULL;
        more = res.truncated && last != NULL && last->key.len <= CF_S3_MAX_KEY &&
               last->upload_id.len <= MAX_UPLOAD_ID;
        if (more) {
            memcpy(kmark, last->key.p, last->key.len);
            klen = last->key.len;
            memcpy(umark, last->upload_id.p, last->upload_id.len);
            ulen = last->upload_id.len;
        }
        cf_arena_destroy(a);
    }
    if (any) {
        /* The parts' blobs were queued: let the collector have them. */
        cf_s3_req fq = {.s3 = sw->lc->s3};
        cf_s3_remove_blob(&fq, "");
    }
}

static void sweep_bucket(sweep *sw, cf_str bucket)
{
    cf_meta *m = sw->lc->s3->meta;
    cf_arena *a = cf_arena_new(0);
    lc_rule *rs = NULL;
    size_t n = 0;
    cf_str doc;
    perr pe;
    bool exp = false;
    if (a == NULL) {
        sw->failed++;
        return;
    }
    cf_rc rc = cf_meta_call(m, bucket_doc_get, bucket, "lifecycle", a, &doc);
    if (rc != CF_OK) {
        if (rc != CF_ENOTFOUND)
            sw->failed++;
        goto out;
    }
    if (parse_config(a, doc, &rs, &n, &pe) != CF_S3_OK) {
        cf_warn("lifecycle: the stored configuration of %.*s does not parse", CF_STR_FMT(bucket));
        sw->failed++;
        goto out;
    }
    sw->configured++;
    for (size_t i = 0; i < n; i++)
        exp = exp || expires(&rs[i]);
    if (exp)
        expire_objects(sw, bucket, rs, n);
    for (size_t i = 0; i < n && !stopping(sw->lc); i++)
        if (rs[i].enabled && rs[i].has_abort && m->ops->upload_list != NULL &&
            m->ops->upload_abort != NULL)
            abort_uploads(sw, bucket, &rs[i]);
out:
    cf_arena_destroy(a);
}

static void sweep_all(cf_s3_lifecycle *lc)
{
    cf_meta *m = lc->s3->meta;
    cf_arena *a = cf_arena_new(0);
    cf_bucket_info *bs = NULL;
    size_t n = 0;
    sweep sw = {.lc = lc, .now = cf_now_ms()};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (a == NULL)
        return;
    cf_rc rc = cf_meta_call(m, bucket_list, a, &bs, &n);
    if (rc != CF_OK) {
        cf_warn("lifecycle: cannot list the buckets: %s", cf_rc_str(rc));
        cf_arena_destroy(a);
        return;
    }
    for (size_t i = 0; i < n && !stopping(lc); i++) {
        sw.buckets++;
        sweep_bucket(&sw, bs[i].name);
    }
    cf_arena_destroy(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ms = (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cf_info("lifecycle: swept %llu buckets (%llu with rules): %llu objects expired, %llu uploads "
            "aborted, %llu failures, in %lld ms",
            (unsigned long long)sw.buckets, (unsigned long long)sw.configured,
            (unsigned long long)sw.expired, (unsigned long long)sw.aborted,
            (unsigned long long)sw.failed, ms);
}

/* Waits up to s seconds; false when asked to stop. */
static bool wait_s(cf_s3_lifecycle *lc, unsigned s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += s;
    pthread_mutex_lock(&lc->mu);
    while (!lc->stop)
        if (pthread_cond_timedwait(&lc->cv, &lc->mu, &ts) == ETIMEDOUT)
            break;
    bool go = !lc->stop;
    pthread_mutex_unlock(&lc->mu);
    return go;
}

static void *lc_main(void *arg)
{
    cf_s3_lifecycle *lc = arg;
    unsigned first = lc->interval_s < FIRST_SWEEP_MAX_S ? lc->interval_s : FIRST_SWEEP_MAX_S;
    if (!wait_s(lc, first))
        return NULL;
    do
        sweep_all(lc);
    while (wait_s(lc, lc->interval_s));
    return NULL;
}

cf_s3_lifecycle *cf_s3_lifecycle_start(cf_s3 *s3, unsigned interval_s)
{
    cf_s3_lifecycle *lc = calloc(1, sizeof *lc);
    pthread_condattr_t ca;
    bool mu = false, cv = false;
    if (lc == NULL)
        goto fail;
    lc->s3 = s3;
    lc->interval_s = interval_s ? interval_s : 1;
    if (pthread_mutex_init(&lc->mu, NULL) != 0)
        goto fail;
    mu = true;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    /* Intervals are real time, whatever the (shifted) wall clock does. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    cv = pthread_cond_init(&lc->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cv)
        goto fail;
    if (pthread_create(&lc->thread, NULL, lc_main, lc) != 0)
        goto fail;
    return lc;
fail:
    cf_error("lifecycle: cannot start the sweeper");
    if (cv)
        pthread_cond_destroy(&lc->cv);
    if (mu)
        pthread_mutex_destroy(&lc->mu);
    free(lc);
    return NULL;
}

void cf_s3_lifecycle_stop(cf_s3_lifecycle *lc)
{
    if (lc == NULL)
        return;
    pthread_mutex_lock(&lc->mu);
    lc->stop = true;
    pthread_cond_signal(&lc->cv);
    pthread_mutex_unlock(&lc->mu);
    pthread_join(lc->thread, NULL);
    pthread_cond_destroy(&lc->cv);
    pthread_mutex_destroy(&lc->mu);
    free(lc);
}
