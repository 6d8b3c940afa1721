/* ListObjectsV2 and ListObjects (v1). */
#include <stdio.h>
#include <string.h>

#include "s3/s3_int.h"

#define LIST_MAX_KEYS 1000

static void elem_enc(cf_buf *b, const char *name, cf_str v, bool url)
{
    if (!url) {
        cf_xml_elem(b, name, v);
        return;
    }
    cf_buf e;
    cf_buf_init(&e, 8 * v.len + 16);
    cf_sigv4_uri_encode(v, true, &e);
    cf_xml_elem(b, name, cf_buf_str(&e));
    cf_buf_free(&e);
}

void cf_s3_list_objects(cf_s3_req *q)
{
    bool v2 = cf_str_eq_c(cf_s3_query(q, "list-type"), "2");
    cf_str lt = cf_s3_query(q, "list-type");
    cf_str prefix = cf_s3_query(q, "prefix"), delim = cf_s3_query(q, "delimiter");
    cf_str mk = cf_s3_query(q, "max-keys"), enc = cf_s3_query(q, "encoding-type");
    cf_str token = cf_s3_query(q, "continuation-token"), sa = cf_s3_query(q, "start-after");
    cf_str marker = cf_s3_query(q, "marker");
    bool url = false, fetch_owner = cf_str_eq_c(cf_s3_query(q, "fetch-owner"), "true");
    uint64_t max_keys = LIST_MAX_KEYS;
    cf_list_params p = {.prefix = prefix, .delimiter = delim};
    cf_list_result res;
    cf_s3err e;

    if (lt.p != NULL && !v2) {
        cf_s3_error(q, CF_S3_InvalidArgument, "Invalid List Type specified.");
        return;
    }
    if (mk.p != NULL) {
        if (!cf_str_to_u64(mk, &max_keys)) {
            cf_s3_error(q, CF_S3_InvalidArgument, "Provided max-keys not an integer or within "
                                                  "integer range");
            return;
        }
        if (max_keys > LIST_MAX_KEYS)
            max_keys = LIST_MAX_KEYS;
    }
    if (enc.p != NULL) {
        if (!cf_str_eq_c(enc, "url")) {
            cf_s3_error(q, CF_S3_InvalidArgument, "Invalid Encoding Method specified in Request");
            return;
        }
        url = true;
    }
    if (v2) {
        if (token.p != NULL) {
            /* The token is the base64 of the last key or prefix returned. */
            uint8_t *raw = cf_arena_alloc(q->arena, token.len + 1);
            size_t rl = 0;
            if (raw == NULL || token.len == 0 || !cf_b64_decode(token, raw, token.len, &rl)) {
                cf_s3_error(q, CF_S3_InvalidArgument,
                            "The continuation token provided is incorrect");
                return;
            }
            p.start_after = cf_str_make((const char *)raw, rl);
        } else if (sa.p != NULL) {
            p.start_after = sa;
        }
    } else if (marker.p != NULL) {
        p.start_after = marker;
    }
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    p.max_keys = (uint32_t)max_keys;
    cf_rc rc = cf_meta_call(q->s3->meta, object_list, q->bucket, &p, q->arena, &res);
    if (rc != CF_OK) {
        cf_s3_error(q, cf_s3_from_rc(rc, "object list"), NULL);
        return;
    }

    cf_buf b;
    cf_str owner = cf_s3_owner_id(q);
    cf_buf_init(&b, 64u << 20);
    cf_buf_append_c(&b, CF_XML_DECL "<ListBucketResult xmlns=\"" CF_S3_XMLNS "\">");
    cf_xml_elem(&b, "Name", q->bucket);
    elem_enc(&b, "Prefix", prefix, url);
    if (v2) {
        if (token.p != NULL)
            cf_xml_elem(&b, "ContinuationToken", token);
        if (sa.p != NULL)
            elem_enc(&b, "StartAfter", sa, url);
        cf_xml_elem_u64(&b, "KeyCount", res.nobjects + res.nprefixes);
    } else {
        elem_enc(&b, "Marker", marker, url);
    }
    cf_xml_elem_u64(&b, "MaxKeys", max_keys);
    if (delim.p != NULL)
        elem_enc(&b, "Delimiter", delim, url);
    if (url)
        cf_xml_elem_c(&b, "EncodingType", "url");
    cf_xml_elem_c(&b, "IsTruncated", res.truncated ? "true" : "false");
    if (res.truncated) {
        if (v2) {
            char *tok = cf_arena_alloc(q->arena, cf_b64_enclen(res.next_marker.len) + 1);
            if (tok == NULL) {
                cf_buf_free(&b);
                cf_s3_error(q, CF_S3_InternalError, NULL);
                return;
            }
            cf_b64_encode((const uint8_t *)res.next_marker.p, res.next_marker.len, tok);
            cf_xml_elem_c(&b, "NextContinuationToken", tok);
        } else if (delim.p != NULL) {
            /* S3 gives NextMarker only with a delimiter; clients page by the last key. */
            elem_enc(&b, "NextMarker", res.next_marker, url);
        }
    }
    for (size_t i = 0; i < res.nobjects; i++) {
        const cf_object_info *o = &res.objects[i];
        char t[25];
        cf_s3_time_iso(o->mtime_ms, t);
        cf_xml_open(&b, "Contents");
        elem_enc(&b, "Key", o->key, url);
        cf_xml_elem_c(&b, "LastModified", t);
        cf_buf_append_c(&b, "<ETag>&quot;");
        cf_buf_append_xml(&b, o->etag);
        cf_buf_append_c(&b, "&quot;</ETag>");
        cf_xml_elem_u64(&b, "Size", o->size);
        if (!v2 || fetch_owner) {
            cf_xml_open(&b, "Owner");
            cf_xml_elem(&b, "ID", owner);
            cf_xml_elem(&b, "DisplayName", owner);
            cf_xml_close(&b, "Owner");
        }
        cf_xml_elem_c(&b, "StorageClass", "STANDARD");
        cf_xml_close(&b, "Contents");
    }
    for (size_t i = 0; i < res.nprefixes; i++) {
        cf_xml_open(&b, "CommonPrefixes");
        elem_enc(&b, "Prefix", res.prefixes[i], url);
        cf_xml_close(&b, "CommonPrefixes");
    }
    cf_buf_append_c(&b, "</ListBucketResult>");
    cf_s3_respond_xml(q, 200, &b);
}
