/* Bucket CORS: Put/Get/DeleteBucketCors with S3's document and checks, OPTIONS preflights
 * answered from the rules without a signature (a browser sends none), and the
 * Access-Control-* headers an actual request from an allowed origin gets, errors included.
 * Matching follows what S3 answers: the first rule whose origin pattern (one '*' at most,
 * matching any run, the empty one too) and method match wins; a preflight's requested
 * headers must each match an AllowedHeader, without regard to case. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "s3/s3_int.h"

#define MAX_RULES   100
#define MAX_ID      255
#define MAX_AGE_MAX 2147483647u
#define DOC_OUT_MAX (8u << 20) /* a 1 MiB body, every byte escaped */
#define JOIN_MAX    (256u << 10)
#define VARY        "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
#define DENIED                                                                                     \
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "    \
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "    \
    "are not whitelisted by the resource's CORS spec."

typedef struct str_list {
    cf_str *v;
    size_t n;
} str_list;

typedef struct cors_rule {
    cf_str id;
    str_list origins, methods, headers, expose;
    bool has_max_age;
    uint64_t max_age;
} cors_rule;

static const char *const allowed_methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
static const char *const rule_elements[] = {
    "ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"};

/* Text content without XML white space at either end. */
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

static size_t count_char(cf_str s, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += s.p[i] == c;
    return n;
}

/* Every child named name, trimmed, into l. */
static cf_s3err collect(cf_arena *a, const cf_xml_node *rule, const char *name, str_list *l)
{
    size_t cnt = cf_xml_count(rule, name), i = 0;
    l->n = 0;
    l->v = NULL;
    if (cnt == 0)
        return CF_S3_OK;
    l->v = cf_arena_alloc(a, cnt * sizeof *l->v);
    if (l->v == NULL)
        return CF_S3_InternalError;
    for (const cf_xml_node *c = rule->child; c != NULL; c = c->next)
        if (cf_str_eq_c(c->name, name))
            l->v[i++] = xml_trim(c->text);
    l->n = i;
    return CF_S3_OK;
}

static cf_s3err parse_rule(cf_arena *a, const cf_xml_node *rn, cors_rule *r, char *msg, size_t cap)
{
    cf_s3err e;
    for (const cf_xml_node *c = rn->child; c != NULL; c = c->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof rule_elements / sizeof rule_elements[0]; i++)
            if (cf_str_eq_c(c->name, rule_elements[i]))
                known = true;
        if (!known || c->child != NULL)
            return CF_S3_MalformedXML;
    }
    if (cf_xml_count(rn, "ID") > 1 || cf_xml_count(rn, "MaxAgeSeconds") > 1)
        return CF_S3_MalformedXML;
    if ((e = collect(a, rn, "AllowedOrigin", &r->origins)) != CF_S3_OK ||
        (e = collect(a, rn, "AllowedMethod", &r->methods)) != CF_S3_OK ||
        (e = collect(a, rn, "AllowedHeader", &r->headers)) != CF_S3_OK ||
        (e = collect(a, rn, "ExposeHeader", &r->expose)) != CF_S3_OK)
        return e;
    if (r->origins.n == 0 || r->methods.n == 0)
        return CF_S3_MalformedXML;
    r->id = cf_xml_child_text(rn, "ID");
    if (r->id.p == NULL)
        r->id = CF_STR("");
    if (r->id.len > MAX_ID) {
        snprintf(msg, cap, "ID length should not exceed allowed limit of %d", MAX_ID);
        return CF_S3_InvalidArgument;
    }
    for (size_t i = 0; i < r->methods.n; i++) {
        bool ok = false;
        for (size_t j = 0; j < sizeof allowed_methods / sizeof allowed_methods[0]; j++)
            if (cf_str_eq_c(r->methods.v[i], allowed_methods[j]))
                ok = true;
        if (!ok) {
            snprintf(msg, cap,
                     "Found unsupported HTTP method in CORS config. Unsupported method is %.*s",
                     CF_STR_FMT(cf_str_sub(r->methods.v[i], 0, 128)));
            return CF_S3_InvalidRequest;
        }
    }
    for (size_t i = 0; i < r->origins.n; i++)
        if (count_char(r->origins.v[i], '*') > 1) {
            snprintf(msg, cap, "AllowedOrigin \"%.*s\" can not have more than one wildcard.",
                     CF_STR_FMT(cf_str_sub(r->origins.v[i], 0, 256)));
            return CF_S3_InvalidRequest;
        }
    for (size_t i = 0; i < r->headers.n; i++)
        if (count_char(r->headers.v[i], '*') > 1) {
            snprintf(msg, cap, "AllowedHeader \"%.*s\" can not have more than one wildcard.",
                     CF_STR_FMT(cf_str_sub(r->headers.v[i], 0, 256)));
            return CF_S3_InvalidRequest;
        }
    for (size_t i = 0; i < r->expose.n; i++)
        if (count_char(r->expose.v[i], '*') > 0) {
            snprintf(msg, cap,
                     "ExposeHeader \"%.*s\" contains wildcard. We currently do not support "
                     "wildcard for ExposeHeader.",
                     CF_STR_FMT(cf_str_sub(r->expose.v[i], 0, 256)));
            return CF_S3_InvalidRequest;
        }
    cf_str age = cf_xml_child_text(rn, "MaxAgeSeconds");
    r->has_max_age = age.p != NULL;
    if (r->has_max_age && (!cf_str_to_u64(age, &r->max_age) || r->max_age > MAX_AGE_MAX))
        return CF_S3_MalformedXML;
    return CF_S3_OK;
}

/* A CORSConfiguration document into rules. msg gets a message when the table's would be
 * wrong (else it is left empty). */
static cf_s3err parse_rules(cf_arena *a, cf_str body, cors_rule **out, size_t *nout, char *msg,
                            size_t cap)
{
    cf_xml_node *root = NULL;
    cors_rule *rules;
    size_t cnt = 0, i = 0;
    cf_s3err e;
    msg[0] = '\0';
    e = cf_xml_parse(a, body, &root);
    if (e != CF_S3_OK)
        return e;
    if (!cf_str_eq_c(root->name, "CORSConfiguration"))
        return CF_S3_MalformedXML;
    for (const cf_xml_node *c = root->child; c != NULL; c = c->next) {
        if (!cf_str_eq_c(c->name, "CORSRule"))
            return CF_S3_MalformedXML;
        cnt++;
    }
    if (cnt == 0)
        return CF_S3_MalformedXML;
    if (cnt > MAX_RULES) {
        snprintf(msg, cap, "The number of CORS rules should not exceed allowed limit of %d rules.",
                 MAX_RULES);
        return CF_S3_InvalidRequest;
    }
    rules = cf_arena_alloc(a, cnt * sizeof *rules);
    if (rules == NULL)
        return CF_S3_InternalError;
    for (const cf_xml_node *c = root->child; c != NULL; c = c->next, i++) {
        e = parse_rule(a, c, &rules[i], msg, cap);
        if (e != CF_S3_OK)
            return e;
    }
    *out = rules;
    *nout = cnt;
    return CF_S3_OK;
}

static void put(cf_rc *rc, cf_rc r)
{
    if (*rc == CF_OK)
        *rc = r;
}

static void put_list(cf_rc *rc, cf_buf *b, const char *name, const str_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        put(rc, cf_xml_elem(b, name, l->v[i]));
}

/* The normalized document S3 gives back: members in its model's order. */
static cf_rc write_doc(cf_buf *b, const cors_rule *rules, size_t n)
{
    cf_rc rc = cf_buf_append_c(b, CF_XML_DECL "<CORSConfiguration xmlns=\"" CF_S3_XMLNS "\">");
    for (size_t i = 0; i < n; i++) {
        const cors_rule *r = &rules[i];
        put(&rc, cf_xml_open(b, "CORSRule"));
        if (r->id.len > 0)
            put(&rc, cf_xml_elem(b, "ID", r->id));
        put_list(&rc, b, "AllowedHeader", &r->headers);
        put_list(&rc, b, "AllowedMethod", &r->methods);
        put_list(&rc, b, "AllowedOrigin", &r->origins);
        put_list(&rc, b, "ExposeHeader", &r->expose);
        if (r->has_max_age)
            put(&rc, cf_xml_elem_u64(b, "MaxAgeSeconds", r->max_age));
        put(&rc, cf_xml_close(b, "CORSRule"));
    }
    put(&rc, cf_xml_close(b, "CORSConfiguration"));
    return rc;
}

void cf_s3_put_bucket_cors_complete(cf_s3_req *q)
{
    cors_rule *rules = NULL;
    size_t n = 0;
    char msg[512];
    cf_buf b;
    cf_s3err e = parse_rules(q->arena, cf_buf_str(&q->body), &rules, &n, msg, sizeof msg);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, msg[0] ? msg : NULL);
        return;
    }
    cf_buf_init(&b, DOC_OUT_MAX);
    if (write_doc(&b, rules, n) != CF_OK) {
        cf_buf_free(&b);
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    cf_s3_doc_store(q, "cors", cf_buf_str(&b), 200);
    cf_buf_free(&b);
}

void cf_s3_get_bucket_cors(cf_s3_req *q)
{
    cf_s3_doc_respond(q, "cors", CF_S3_NoSuchCORSConfiguration);
}

void cf_s3_delete_bucket_cors(cf_s3_req *q)
{
    cf_s3_doc_delete(q, "cors");
}

/* ---- matching ---- */

static bool same(cf_str a, cf_str b, bool icase)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        char x = a.p[i], y = b.p[i];
        if (icase) {
            if (x >= 'A' && x <= 'Z')
                x = (char)(x - 'A' + 'a');
            if (y >= 'A' && y <= 'Z')
                y = (char)(y - 'A' + 'a');
        }
        if (x != y)
            return false;
    }
    return true;
}

/* pat holds at most one '*', which matches any run of characters, the empty one too. */
static bool wild_match(cf_str pat, cf_str s, bool icase)
{
    ptrdiff_t star = cf_str_find(pat, '*');
    if (star < 0)
        return same(pat, s, icase);
    cf_str head = cf_str_sub(pat, 0, (size_t)star);
    cf_str tail = cf_str_sub(pat, (size_t)star + 1, pat.len);
    if (s.len < head.len + tail.len)
        return false;
    return same(head, cf_str_sub(s, 0, head.len), icase) &&
           same(tail, cf_str_sub(s, s.len - tail.len, tail.len), icase);
}

static bool any_match(const str_list *l, cf_str s, bool icase, cf_str *which)
{
    for (size_t i = 0; i < l->n; i++)
        if (wild_match(l->v[i], s, icase)) {
            if (which != NULL)
                *which = l->v[i];
            return true;
        }
    return false;
}

/* The first rule allowing origin and method and, when asked, every requested header; *pat
 * gets the origin pattern that matched. */
static const cors_rule *find_rule(const cors_rule *rules, size_t n, cf_str origin, cf_str method,
                                  const str_list *want, cf_str *pat)
{
    for (size_t i = 0; i < n; i++) {
        const cors_rule *r = &rules[i];
        bool ok = false;
        if (any_match(&r->origins, origin, false, pat))
            for (size_t j = 0; j < r->methods.n && !ok; j++)
                ok = cf_str_eq(r->methods.v[j], method);
        for (size_t j = 0; ok && want != NULL && j < want->n; j++)
            ok = any_match(&r->headers, want->v[j], true, NULL);
        if (ok)
            return r;
    }
    return NULL;
}

/* Access-Control-Request-Headers as lowercase names, empty entries dropped. */
static bool requested_headers(cf_s3_req *q, str_list *l)
{
    cf_str rest = cf_http_header(q->http, "access-control-request-headers"), tok;
    size_t cnt = 1 + count_char(rest, ',');
    l->n = 0;
    l->v = NULL;
    if (rest.p == NULL)
        return true;
    l->v = cf_arena_alloc(q->arena, cnt * sizeof *l->v);
    if (l->v == NULL)
        return false;
    while (rest.len > 0) {
        cf_str_cut(rest, ',', &tok, &rest);
        tok = cf_str_trim(tok);
        if (tok.len == 0)
            continue;
        char *low = cf_arena_strndup(q->arena, tok.p, tok.len);
        if (low == NULL)
            return false;
        for (char *c = low; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        l->v[l->n++] = cf_str_make(low, tok.len);
    }
    return true;
}

static void add_joined(cf_s3_req *q, const char *name, const str_list *l)
{
    cf_buf b;
    if (l->n == 0)
        return;
    cf_buf_init(&b, JOIN_MAX);
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            cf_buf_append_c(&b, ", ");
        cf_buf_append_str(&b, l->v[i]);
    }
    cf_http_add_header_str(q->http, name, cf_buf_str(&b));
    cf_buf_free(&b);
}

/* The headers a matching rule grants (want: a preflight's requested headers, or NULL). */
static void grant(cf_s3_req *q, const cors_rule *r, cf_str pat, cf_str origin, const str_list *want)
{
    /* "*" answers "*" and so cannot carry credentials; a named origin is echoed. */
    bool any = cf_str_eq_c(pat, "*");
    if (any) {
        cf_http_add_header(q->http, "Access-Control-Allow-Origin", "*");
    } else {
        cf_http_add_header_str(q->http, "Access-Control-Allow-Origin", origin);
        cf_http_add_header(q->http, "Access-Control-Allow-Credentials", "true");
    }
    add_joined(q, "Access-Control-Allow-Methods", &r->methods);
    if (want != NULL)
        add_joined(q, "Access-Control-Allow-Headers", want);
    add_joined(q, "Access-Control-Expose-Headers", &r->expose);
    if (r->has_max_age) {
        char age[24];
        snprintf(age, sizeof age, "%llu", (unsigned long long)r->max_age);
        cf_http_add_header(q->http, "Access-Control-Max-Age", age);
    }
    cf_http_add_header(q->http, "Vary", VARY);
}

/* The bucket's rules: CF_S3_OK, NoSuchCORSConfiguration, NoSuchBucket, InternalError. */
static cf_s3err load_rules(cf_s3_req *q, cors_rule **rules, size_t *n)
{
    cf_str doc;
    char msg[8];
    cf_s3err e = cf_s3_doc_load(q, "cors", CF_S3_NoSuchCORSConfiguration, &doc);
    if (e != CF_S3_OK)
        return e;
    e = parse_rules(q->arena, doc, rules, n, msg, sizeof msg);
    if (e == CF_S3_InternalError)
        return e;
    if (e != CF_S3_OK) {
        cf_error("s3: the stored CORS configuration of %.*s does not parse", CF_STR_FMT(q->bucket));
        return CF_S3_InternalError;
    }
    return CF_S3_OK;
}

void cf_s3_cors_preflight(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str origin = cf_str_trim(cf_http_header(r, "origin"));
    cf_str method = cf_http_header(r, "access-control-request-method");
    cors_rule *rules = NULL;
    size_t n = 0;
    str_list want;
    cf_str pat = CF_STR_NULL;

    if (origin.p == NULL) {
        cf_s3_error(q, CF_S3_BadRequest, "Insufficient information. Origin request header needed.");
        return;
    }
    cf_s3err e = load_rules(q, &rules, &n);
    if (e == CF_S3_NoSuchBucket) {
        cf_s3_error(q, CF_S3_AccessForbidden, "CORSResponse: Bucket not found");
        return;
    }
    if (e == CF_S3_NoSuchCORSConfiguration) {
        cf_s3_error(q, CF_S3_AccessForbidden, "CORSResponse: CORS is not enabled for this bucket.");
        return;
    }
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    if (method.p == NULL) {
        cf_s3_error(q, CF_S3_BadRequest, "Invalid Access-Control-Request-Method: null");
        return;
    }
    if (!requested_headers(q, &want)) {
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    const cors_rule *rule = find_rule(rules, n, origin, cf_str_trim(method), &want, &pat);
    if (rule == NULL) {
        cf_s3_error(q, CF_S3_AccessForbidden, DENIED);
        return;
    }
    grant(q, rule, pat, origin, &want);
    cf_http_respond_empty(r, 200);
}

void cf_s3_cors_actual(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str origin = cf_str_trim(cf_http_header(r, "origin"));
    cf_str method = cf_http_header(r, "access-control-request-method");
    cf_str doc, pat = CF_STR_NULL;
    cors_rule *rules = NULL;
    size_t n = 0;
    char msg[8];

    if (origin.p == NULL || q->bucket.len == 0 || r->method == CF_HTTP_OPTIONS)
        return;
    cf_rc rc = cf_meta_call(q->s3->meta, bucket_doc_get, q->bucket, "cors", q->arena, &doc);
    if (rc != CF_OK) {
        if (rc != CF_ENOTFOUND)
            cf_warn("s3: CORS configuration of %.*s unreadable: %s", CF_STR_FMT(q->bucket),
                    cf_rc_str(rc));
        return;
    }
    if (parse_rules(q->arena, doc, &rules, &n, msg, sizeof msg) != CF_S3_OK)
        return;
    /* S3 lets the request-method header, when sent, decide the match. */
    method = method.p != NULL ? cf_str_trim(method) : r->method_str;
    const cors_rule *rule = find_rule(rules, n, origin, method, NULL, &pat);
    if (rule != NULL)
        grant(q, rule, pat, origin, NULL);
}
