/* Object and bucket tagging. An object's tags are one stored header, "x-amz-tagging", in
 * S3's header form (key=value pairs, percent-encoded, joined by '&', here sorted by key and
 * encoded one canonical way), written with the object's other headers by PutObject and
 * CopyObject or rewritten in place by PutObjectTagging; GET and HEAD answer only their
 * count. A bucket's tags are a bucket document. The limits and messages are S3's. */
#include <stdio.h>
#include <string.h>

#include "s3/s3_int.h"

#define OBJECT_MAX_TAGS 10
#define BUCKET_MAX_TAGS 50
#define KEY_MAX_UNITS   128
#define VALUE_MAX_UNITS 256
#define ENCODED_MAX     (64u << 10)
#define HEADER_NAME     "x-amz-tagging"
#define BAD_HEADER                                                                                 \
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "   \
    "without tag name duplicates."

/* ---- validation ---- */

/* Whether s is UTF-8 made only of what S3 allows in a tag (letters, digits, spaces and
 * _ . : / = + - @; any non-ASCII character counts as a letter), and its length in UTF-16
 * code units, which is what S3 limits. */
static bool tag_text(cf_str s, size_t *units)
{
    size_t u = 0;
    bool ok = cf_utf8_valid(s);
    for (size_t i = 0; ok && i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x80) {
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c != 0 && strchr(" _.:/=+-@", c) != NULL);
            u++;
        } else if (c >= 0xC0) {
            u += c >= 0xF0 ? 2 : 1; /* beyond the BMP: a surrogate pair */
        }
    }
    *units = u;
    return ok;
}

static cf_s3err check_tag(cf_s3_req *q, cf_str k, cf_str v, bool bucket)
{
    size_t ku = 0, vu = 0;
    bool kok = tag_text(k, &ku), vok = tag_text(v, &vu);
    if (ku > KEY_MAX_UNITS) {
        cf_s3_error(q, CF_S3_InvalidTag, "The TagKey you have provided is too long, max 128");
        return CF_S3_InvalidTag;
    }
    if (vu > VALUE_MAX_UNITS) {
        cf_s3_error(q, CF_S3_InvalidTag, "The TagValue you have provided is too long, max 256");
        return CF_S3_InvalidTag;
    }
    if (!kok || k.len == 0) {
        cf_s3_error(q, CF_S3_InvalidTag, "The TagKey you have provided is invalid");
        return CF_S3_InvalidTag;
    }
    if (!vok) {
        cf_s3_error(q, CF_S3_InvalidTag, "The TagValue you have provided is invalid");
        return CF_S3_InvalidTag;
    }
    if (k.len >= 4 && memcmp(k.p, "aws:", 4) == 0) {
        cf_s3_error(q, CF_S3_InvalidTag,
                    bucket ? "System tags cannot be added/updated by requester"
                           : "Your TagKey cannot be prefixed with aws:");
        return CF_S3_InvalidTag;
    }
    return CF_S3_OK;
}

static void sort_tags(cf_kv *t, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        cf_kv x = t[i];
        size_t j = i;
        for (; j > 0 && cf_str_cmp(t[j - 1].name, x.name) > 0; j--)
            t[j] = t[j - 1];
        t[j] = x;
    }
}

/* The whole set: its size, each tag, unique keys; sorts it. Answers the error itself. */
static cf_s3err check_set(cf_s3_req *q, cf_kv *t, size_t n, bool bucket)
{
    cf_s3err e;
    if (!bucket && n > OBJECT_MAX_TAGS) {
        cf_s3_error(q, CF_S3_BadRequest, "Object tags cannot be greater than 10");
        return CF_S3_BadRequest;
    }
    if (bucket && n > BUCKET_MAX_TAGS) {
        cf_s3_error(q, CF_S3_InvalidTag, "Bucket tag count cannot be greater than 50");
        return CF_S3_InvalidTag;
    }
    for (size_t i = 0; i < n; i++)
        if ((e = check_tag(q, t[i].name, t[i].value, bucket)) != CF_S3_OK)
            return e;
    sort_tags(t, n);
    for (size_t i = 1; i < n; i++)
        if (cf_str_eq(t[i - 1].name, t[i].name)) {
            cf_s3_error(q, CF_S3_InvalidTag, "Cannot provide multiple Tags with the same key");
            return CF_S3_InvalidTag;
        }
    return CF_S3_OK;
}

/* <Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>, keys and values as
 * written (spaces included). MalformedXML for anything else; answers the error itself. */
static cf_s3err parse_tagging(cf_s3_req *q, cf_str body, cf_kv **out, size_t *nout)
{
    cf_xml_node *root = NULL;
    cf_s3err e = cf_xml_parse(q->arena, body, &root);
    const cf_xml_node *set;
    size_t n = 0, i = 0;
    cf_kv *t = NULL;
    if (e != CF_S3_OK)
        goto fail;
    e = CF_S3_MalformedXML;
    if (!cf_str_eq_c(root->name, "Tagging") || cf_xml_count(root, "TagSet") != 1 ||
        root->child->next != NULL)
        goto fail;
    set = root->child;
    for (const cf_xml_node *c = set->child; c != NULL; c = c->next) {
        if (!cf_str_eq_c(c->name, "Tag") || cf_xml_count(c, "Key") != 1 ||
            cf_xml_count(c, "Value") != 1 || c->child->next == NULL || c->child->next->next != NULL)
            goto fail;
        n++;
    }
    if (n > 0 && (t = cf_arena_alloc(q->arena, n * sizeof *t)) == NULL) {
        e = CF_S3_InternalError;
        goto fail;
    }
    for (const cf_xml_node *c = set->child; c != NULL; c = c->next, i++) {
        const cf_xml_node *k = cf_xml_child(c, "Key"), *v = cf_xml_child(c, "Value");
        if (k->child != NULL || v->child != NULL)
            goto fail;
        t[i].name = k->text;
        t[i].value = v->text;
    }
    *out = t;
    *nout = n;
    return CF_S3_OK;
fail:
    cf_s3_error(q, e, NULL);
    return e;
}

/* ---- the header form ---- */

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

/* Form decoding: '+' is a space, %XX a byte. */
static bool form_decode(cf_arena *a, cf_str s, cf_str *out)
{
    char *d = cf_arena_alloc(a, s.len + 1);
    size_t n = 0;
    if (d == NULL)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '%') {
            int hi = i + 2 < s.len ? hexval(s.p[i + 1]) : -1;
            int lo = i + 2 < s.len ? hexval(s.p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            d[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[n++] = s.p[i] == '+' ? ' ' : s.p[i];
        }
    }
    *out = cf_str_make(d, n);
    return true;
}

static bool parse_form(cf_arena *a, cf_str s, cf_kv **out, size_t *nout)
{
    size_t cap = 1, n = 0;
    cf_str rest = s, piece, k, v;
    cf_kv *t;
    for (size_t i = 0; i < s.len; i++)
        cap += s.p[i] == '&';
    t = cf_arena_alloc(a, cap * sizeof *t);
    if (t == NULL)
        return false;
    while (rest.len > 0) {
        cf_str_cut(rest, '&', &piece, &rest);
        if (piece.len == 0)
            continue;
        cf_str_cut(piece, '=', &k, &v);
        /* A raw '=' in a value is not URL-encoded: S3 refuses it. */
        if (cf_str_find(v, '=') >= 0 || !form_decode(a, k, &t[n].name) ||
            !form_decode(a, v, &t[n].value))
            return false;
        n++;
    }
    *out = t;
    *nout = n;
    return true;
}

bool cf_s3_tags_decode(cf_arena *a, cf_str stored, cf_kv **tags, size_t *n)
{
    return parse_form(a, stored, tags, n);
}

size_t cf_s3_tag_count(cf_str stored)
{
    size_t n = 0;
    cf_str rest = stored, piece;
    while (rest.len > 0) {
        cf_str_cut(rest, '&', &piece, &rest);
        n += piece.len > 0;
    }
    return n;
}

static void encode_part(cf_buf *b, cf_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            cf_buf_append_ch(b, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            cf_buf_append(b, e, 3);
        }
    }
}

/* The canonical stored form of a checked set (arena); empty for no tags. */
static bool encode_set(cf_arena *a, const cf_kv *t, size_t n, cf_str *out)
{
    cf_buf b;
    cf_buf_init(&b, ENCODED_MAX);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cf_buf_append_ch(&b, '&');
        encode_part(&b, t[i].name);
        cf_buf_append_ch(&b, '=');
        encode_part(&b, t[i].value);
    }
    /* The limits keep it far below the buffer's: a shortfall is memory. */
    *out = b.len > 0 ? cf_arena_str(a, cf_buf_str(&b)) : CF_STR("");
    cf_buf_free(&b);
    return out->p != NULL;
}

cf_s3err cf_s3_tagging_header(cf_s3_req *q, cf_str value, cf_str *stored)
{
    cf_kv *t = NULL;
    size_t n = 0;
    cf_s3err e;
    if (!parse_form(q->arena, cf_str_trim(value), &t, &n)) {
        cf_s3_error(q, CF_S3_InvalidArgument, BAD_HEADER);
        return CF_S3_InvalidArgument;
    }
    /* Duplicates are the header's own fault here, before the set's checks. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (cf_str_eq(t[i].name, t[j].name)) {
                cf_s3_error(q, CF_S3_InvalidArgument, BAD_HEADER);
                return CF_S3_InvalidArgument;
            }
    if ((e = check_set(q, t, n, false)) != CF_S3_OK)
        return e;
    /* Tagging on a write needs its own permission, as in S3. */
    if (n > 0 && !cf_s3_authorize(q, "s3:PutObjectTagging", q->bucket, q->key))
        return CF_S3_AccessDenied;
    if (!encode_set(q->arena, t, n, stored)) {
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return CF_S3_InternalError;
    }
    return CF_S3_OK;
}

cf_s3err cf_s3_tagging_xml(cf_s3_req *q, cf_str xml, cf_str *stored)
{
    cf_kv *t = NULL;
    size_t n = 0;
    cf_s3err e;
    if ((e = parse_tagging(q, xml, &t, &n)) != CF_S3_OK ||
        (e = check_set(q, t, n, false)) != CF_S3_OK)
        return e;
    if (n > 0 && !cf_s3_authorize(q, "s3:PutObjectTagging", q->bucket, q->key))
        return CF_S3_AccessDenied;
    if (!encode_set(q->arena, t, n, stored)) {
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return CF_S3_InternalError;
    }
    return CF_S3_OK;
}

static cf_str stored_tags(const cf_object_info *o)
{
    for (size_t i = 0; i < o->nheaders; i++)
        if (cf_str_eq_c(o->headers[i].name, HEADER_NAME))
            return o->headers[i].value;
    return CF_STR("");
}

/* A copy of hs without any tags, with room for one more entry (arena). */
static cf_header *without_tags(cf_arena *a, const cf_header *hs, size_t n, size_t *nout)
{
    cf_header *out = cf_arena_alloc(a, (n + 1) * sizeof *out);
    size_t k = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!cf_str_eq_c(hs[i].name, HEADER_NAME))
            out[k++] = hs[i];
    *nout = k;
    return out;
}

cf_s3err cf_s3_tagging_for_copy(cf_s3_req *q, const cf_object_info *src, cf_header **hs, size_t *n)
{
    cf_str dir = cf_http_header(q->http, "x-amz-tagging-directive");
    cf_str tags = stored_tags(src);
    cf_header *out;
    size_t k = 0;
    cf_s3err e;
    if (dir.p != NULL && cf_str_eq_c(cf_str_trim(dir), "REPLACE")) {
        cf_str v = cf_http_header(q->http, HEADER_NAME);
        tags = CF_STR("");
        if (v.p != NULL && (e = cf_s3_tagging_header(q, v, &tags)) != CF_S3_OK)
            return e;
    } else if (dir.p != NULL && !cf_str_eq_c(cf_str_trim(dir), "COPY")) {
        cf_s3_error(q, CF_S3_InvalidArgument, "Unknown tagging directive.");
        return CF_S3_InvalidArgument;
    }
    out = without_tags(q->arena, *hs, *n, &k);
    if (out == NULL) {
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return CF_S3_InternalError;
    }
    if (tags.len > 0) {
        out[k].name = CF_STR(HEADER_NAME);
        out[k].value = tags;
        k++;
    }
    *hs = out;
    *n = k;
    return CF_S3_OK;
}

/* ---- object tagging ---- */

/* The object, answering NoSuchKey / NoSuchBucket itself. */
static bool load_object(cf_s3_req *q, cf_object_info *o)
{
    cf_rc rc = cf_meta_call(q->s3->meta, object_get, q->bucket, q->key, q->arena, o);
    if (rc == CF_ENOTFOUND) {
        cf_s3err e = cf_s3_bucket_exists(q, q->bucket);
        cf_s3_error(q, e == CF_S3_OK ? CF_S3_NoSuchKey : e, NULL);
        return false;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object read"), NULL);
        return false;
    }
    return true;
}

/* Rewrites the object's tags (empty: none), keeping its body and other headers; once more
 * if it was overwritten between the read and the write. Answers errors itself. */
static bool set_tags(cf_s3_req *q, cf_str tags)
{
    cf_rc rc = CF_ECONFLICT;
    for (int attempt = 0; attempt < 2 && rc == CF_ECONFLICT; attempt++) {
        cf_object_info o;
        cf_header *hs;
        size_t n = 0;
        if (!load_object(q, &o))
            return false;
        hs = without_tags(q->arena, o.headers, o.nheaders, &n);
        if (hs == NULL) {
            cf_s3_error(q, CF_S3_InternalError, "out of memory");
            return false;
        }
        if (tags.len > 0) {
            hs[n].name = CF_STR(HEADER_NAME);
            hs[n].value = tags;
            n++;
        }
        rc = cf_meta_call(q->s3->meta, object_set_headers, q->bucket, q->key, o.etag, hs, n);
    }
    if (rc == CF_ENOTFOUND) {
        cf_s3_error(q, CF_S3_NoSuchKey, NULL);
        return false;
    }
    if (rc == CF_ECONFLICT) {
        cf_s3_error(q, CF_S3_OperationAborted, NULL);
        return false;
    }
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object tagging"), NULL);
        return false;
    }
    return true;
}

void cf_s3_put_object_tagging_complete(cf_s3_req *q)
{
    cf_kv *t = NULL;
    size_t n = 0;
    cf_str stored;
    if (parse_tagging(q, cf_buf_str(&q->body), &t, &n) != CF_S3_OK ||
        check_set(q, t, n, false) != CF_S3_OK)
        return;
    if (!encode_set(q->arena, t, n, &stored)) {
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    if (set_tags(q, stored))
        cf_http_respond_empty(q->http, 200);
}

void cf_s3_delete_object_tagging(cf_s3_req *q)
{
    if (set_tags(q, CF_STR("")))
        cf_http_respond_empty(q->http, 204);
}

static cf_rc write_tagging(cf_buf *b, const cf_kv *t, size_t n)
{
    cf_rc rc = cf_buf_append_c(b, CF_XML_DECL "<Tagging xmlns=\"" CF_S3_XMLNS "\"><TagSet>");
    for (size_t i = 0; i < n && rc == CF_OK; i++) {
        rc = cf_xml_open(b, "Tag");
        if (rc == CF_OK)
            rc = cf_xml_elem(b, "Key", t[i].name);
        if (rc == CF_OK)
            rc = cf_xml_elem(b, "Value", t[i].value);
        if (rc == CF_OK)
            rc = cf_xml_close(b, "Tag");
    }
    if (rc == CF_OK)
        rc = cf_buf_append_c(b, "</TagSet></Tagging>");
    return rc;
}

void cf_s3_get_object_tagging(cf_s3_req *q)
{
    cf_object_info o;
    cf_kv *t = NULL;
    size_t n = 0;
    cf_buf b;
    if (!load_object(q, &o))
        return;
    if (!cf_s3_tags_decode(q->arena, stored_tags(&o), &t, &n)) {
        cf_s3_error(q, CF_S3_InternalError, "stored tags do not decode");
        return;
    }
    cf_buf_init(&b, 1u << 20);
    if (write_tagging(&b, t, n) != CF_OK) {
        cf_buf_free(&b);
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    cf_s3_respond_xml(q, 200, &b);
}

/* ---- bucket tagging ---- */

void cf_s3_put_bucket_tagging_complete(cf_s3_req *q)
{
    cf_kv *t = NULL;
    size_t n = 0;
    cf_buf b;
    if (parse_tagging(q, cf_buf_str(&q->body), &t, &n) != CF_S3_OK ||
        check_set(q, t, n, true) != CF_S3_OK)
        return;
    /* An empty set removes the tags, as for objects. */
    if (n == 0) {
        cf_s3_doc_delete(q, "tagging");
        return;
    }
    cf_buf_init(&b, 1u << 20);
    if (write_tagging(&b, t, n) != CF_OK) {
        cf_buf_free(&b);
        cf_s3_error(q, CF_S3_InternalError, "out of memory");
        return;
    }
    cf_s3_doc_store(q, "tagging", cf_buf_str(&b), 204);
    cf_buf_free(&b);
}

void cf_s3_get_bucket_tagging(cf_s3_req *q)
{
    cf_s3_doc_respond(q, "tagging", CF_S3_NoSuchTagSet);
}

void cf_s3_delete_bucket_tagging(cf_s3_req *q)
{
    cf_s3_doc_delete(q, "tagging");
}
