/* DeleteObjects (POST /bucket?delete): up to 1000 keys in one request. Each key is checked,
 * authorized and deleted on its own, so one refused key does not fail the others; the
 * answer lists the deleted keys (unless Quiet) and a per-key Error for the rest. */
#include <string.h>

#include "s3/s3_int.h"

#define MAX_OBJECTS 1000
/* 1000 keys of 1024 bytes, each escaped up to 6x, plus the elements around them. */
#define RESULT_MAX (16u << 20)

typedef struct del_item {
    cf_str key;
    cf_str version; /* .p NULL when absent */
    bool has_etag;  /* conditional delete on etag: "*" or the ETag */
    cf_str etag;
} del_item;

void cf_s3_delete_objects_begin(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str sdk = cf_http_header(r, "x-amz-sdk-checksum-algorithm");
    /* Before the body: the router has set q->ck from any x-amz-checksum-* header or the
     * x-amz-trailer announcement. */
    /* MD5 names the Content-MD5 check, which is tested below. */
    if (sdk.p != NULL && !cf_str_ieq_c(cf_str_trim(sdk), "MD5")) {
        cf_ck_alg alg = cf_ck_from_name(cf_str_trim(sdk));
        if (alg == CF_CK_NONE) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Value for x-amz-sdk-checksum-algorithm header is invalid.");
            return;
        }
        if (alg != q->ck.alg) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                        "x-amz-checksum-* or x-amz-trailer headers were found.");
            return;
        }
    }
    /* S3 requires an integrity check of this body; the router verifies whichever is sent. */
    if (!cf_http_has_header(r, "content-md5") && q->ck.alg == CF_CK_NONE)
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "Missing required header for this request: Content-MD5");
}

/* The <Delete> document into items; MalformedXML when it does not follow S3's schema. */
static cf_s3err parse_request(cf_s3_req *q, bool *quiet, del_item **items, size_t *n)
{
    cf_xml_node *root = NULL;
    cf_s3err e = cf_xml_parse(q->arena, cf_buf_str(&q->body), &root);
    if (e != CF_S3_OK)
        return e;
    if (!cf_str_eq_c(root->name, "Delete"))
        return CF_S3_MalformedXML;
    cf_str qv = cf_xml_child_text(root, "Quiet");
    *quiet = false;
    if (qv.p != NULL) {
        if (cf_str_ieq_c(qv, "true"))
            *quiet = true;
        else if (!cf_str_ieq_c(qv, "false"))
            return CF_S3_MalformedXML;
    }
    size_t count = cf_xml_count(root, "Object");
    if (count == 0 || count > MAX_OBJECTS)
        return CF_S3_MalformedXML;
    del_item *it = cf_arena_alloc(q->arena, count * sizeof *it);
    if (it == NULL)
        return CF_S3_InternalError;
    size_t i = 0;
    for (const cf_xml_node *c = root->child; c != NULL; c = c->next) {
        if (!cf_str_eq_c(c->name, "Object"))
            continue;
        /* The key's text as is: spaces at either end belong to the key. */
        const cf_xml_node *k = cf_xml_child(c, "Key");
        if (k == NULL || k->text.len == 0)
            return CF_S3_MalformedXML;
        it[i].key = k->text;
        it[i].version = cf_xml_child_text(c, "VersionId");
        it[i].has_etag = cf_xml_child(c, "ETag") != NULL;
        it[i].etag = cf_xml_child_text(c, "ETag");
        i++;
    }
    *items = it;
    *n = count;
    return CF_S3_OK;
}

/* Whether the principal may delete at least one of the keys: a caller refused everything
 * learns nothing about the bucket, as with single-key operations. */
static bool any_allowed(cf_s3_req *q, const del_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (items[i].key.len <= CF_S3_MAX_KEY &&
            cf_s3_allowed_delete(q, q->bucket, items[i].key,
                                 items[i].has_etag ? &items[i].etag : NULL))
            return true;
    return false;
}

static void add_error(cf_buf *b, const del_item *it, const char *code, const char *message)
{
    cf_buf_append_c(b, "<Error>");
    cf_xml_elem(b, "Key", it->key);
    if (it->version.p != NULL)
        cf_xml_elem(b, "VersionId", it->version);
    cf_xml_elem_c(b, "Code", code);
    cf_xml_elem_c(b, "Message", message);
    cf_buf_append_c(b, "</Error>");
}

/* Deletes one key; answers its Deleted or Error entry into b. */
static void delete_one(cf_s3_req *q, const del_item *it, bool quiet, cf_buf *b)
{
    cf_s3err e;
    if (it->key.len > CF_S3_MAX_KEY) {
        add_error(b, it, cf_s3err_code(CF_S3_KeyTooLongError),
                  cf_s3err_message(CF_S3_KeyTooLongError));
        return;
    }
    if (!cf_utf8_valid(it->key) || memchr(it->key.p, 0, it->key.len) != NULL) {
        add_error(b, it, cf_s3err_code(CF_S3_InvalidArgument),
                  "Object keys must be valid UTF-8 without NUL.");
        return;
    }
    /* Without versioning the only version is "null". */
    if (it->version.p != NULL && !cf_str_eq_c(it->version, "null")) {
        add_error(b, it, cf_s3err_code(CF_S3_InvalidArgument), "Invalid version id specified");
        return;
    }
    cf_del_cond cond;
    if (it->has_etag && !cf_s3_delete_cond(it->etag, &cond)) {
        add_error(b, it, cf_s3err_code(CF_S3_InvalidArgument), "ETag must be * or an ETag.");
        return;
    }
    if (!cf_s3_allowed_delete(q, q->bucket, it->key, it->has_etag ? &it->etag : NULL) ||
        (it->has_etag && !cf_s3_delete_cond_allowed(q, q->bucket, it->key, &cond))) {
        add_error(b, it, cf_s3err_code(CF_S3_AccessDenied), cf_s3err_message(CF_S3_AccessDenied));
        return;
    }
    e = cf_s3_delete_key(q, q->bucket, it->key, it->has_etag ? &cond : NULL);
    if (e != CF_S3_OK) {
        add_error(b, it, cf_s3err_code(e), cf_s3err_message(e));
        return;
    }
    if (quiet)
        return;
    cf_buf_append_c(b, "<Deleted>");
    cf_xml_elem(b, "Key", it->key);
    if (it->version.p != NULL)
        cf_xml_elem(b, "VersionId", it->version);
    cf_buf_append_c(b, "</Deleted>");
}

void cf_s3_delete_objects_complete(cf_s3_req *q)
{
    del_item *items = NULL;
    size_t n = 0;
    bool quiet = false;
    cf_buf b;

    cf_s3err e = parse_request(q, &quiet, &items, &n);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e == CF_S3_NoSuchBucket && !any_allowed(q, items, n))
        e = CF_S3_AccessDenied;
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_buf_init(&b, RESULT_MAX);
    cf_buf_append_c(&b, CF_XML_DECL "<DeleteResult xmlns=\"" CF_S3_XMLNS "\">");
    for (size_t i = 0; i < n; i++)
        delete_one(q, &items[i], quiet, &b);
    cf_buf_append_c(&b, "</DeleteResult>");
    cf_s3_respond_xml(q, 200, &b);
}
