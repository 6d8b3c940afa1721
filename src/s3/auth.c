/* Who sent an S3 request and may they: SigV4 and SigV2 (header and presigned), session
 * tokens of temporary credentials, the principal's chain, and per-action authorization with
 * refusals audited. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "auth/failures.h"
#include "auth/sigv2.h"
#include "core/clock.h"
#include "core/log.h"
#include "s3/s3_int.h"

bool cf_s3_is_hex64(cf_str s)
{
    if (s.len != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* Answers SignatureDoesNotMatch with the hints S3 gives: what we signed, as text and bytes. */
static void signature_mismatch(cf_s3_req *q, cf_str access_key, cf_str provided, const cf_buf *sts,
                               const cf_buf *canon)
{
    cf_buf bytes;
    cf_buf_init(&bytes, 3 * sts->len + 16);
    for (size_t i = 0; i < sts->len; i++)
        if (cf_buf_printf(&bytes, "%02x ", (unsigned char)sts->p[i]) != CF_OK)
            break;
    cf_kv extra[5] = {
        {CF_STR("AWSAccessKeyId"), access_key},
        {CF_STR("StringToSign"), cf_buf_str(sts)},
        {CF_STR("SignatureProvided"), provided},
        {CF_STR("StringToSignBytes"), cf_str_trim(cf_buf_str(&bytes))},
        {CF_STR("CanonicalRequest"), canon != NULL ? cf_buf_str(canon) : CF_STR_NULL},
    };
    cf_s3_error_extra(q, CF_S3_SignatureDoesNotMatch, NULL, extra, canon != NULL ? 5 : 4);
    cf_buf_free(&bytes);
}

static bool payload_hash_ok(cf_s3_req *q, bool allow_streaming)
{
    cf_str ph = q->payload_hash;
    bool streaming = cf_str_eq_c(ph, CF_PAYLOAD_STREAMING) ||
                     cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_TRAILER) ||
                     cf_str_eq_c(ph, CF_PAYLOAD_STREAMING_UNSIGNED_TRAILER);
    if (cf_s3_is_hex64(ph) || cf_str_eq_c(ph, CF_PAYLOAD_UNSIGNED) || (streaming && allow_streaming))
        return true;
    if (streaming)
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "Streaming payloads need a Signature Version 4 Authorization header.");
    else
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-"
                    "TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-"
                    "PAYLOAD-TRAILER or a valid sha256 value.");
    return false;
}

/* X-Amz-Security-Token, from the query for presigned URLs, else from the header. */
static cf_str session_token(cf_s3_req *q)
{
    cf_str token = cf_s3_query(q, "X-Amz-Security-Token");
    if (token.p == NULL)
        token = cf_http_header(q->http, "x-amz-security-token");
    return cf_str_trim(token);
}

/* Signature Version 2: still what older SDKs use for presigned URLs (Debian 12's boto3). */
static cf_s3err authenticate_v2(cf_s3_req *q, cf_str authz)
{
    cf_http_req *r = q->http;
    cf_sigv2_auth sig;
    const char *why = NULL;
    cf_s3err e = authz.p != NULL ? cf_sigv2_parse_header(authz, &sig, &why)
                                 : cf_sigv2_parse_query(q->query, q->nquery, &sig, &why);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, why);
        return e;
    }
    r->log_access_key = cf_arena_str(q->arena, sig.access_key);
    q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
    if (q->payload_hash.p == NULL)
        q->payload_hash = CF_STR(CF_PAYLOAD_UNSIGNED);
    if (!payload_hash_ok(q, false))
        return CF_S3_InvalidRequest;
    cf_str vbucket = CF_STR_NULL;
    cf_s3_host_bucket(q, &vbucket);
    cf_sigv2_request sreq = {
        .method = r->method_str,
        .path = r->path,
        .vhost_bucket = vbucket,
        .query = r->query,
        .headers = r->headers,
        .nheaders = r->nheaders,
    };
    cf_buf sts;
    cf_buf_init(&sts, CF_SIGV2_MAX_STS);
    e = cf_auth_verify_v2(&q->s3->auth, &sreq, &sig, session_token(q), cf_now_ms(), q->arena,
                          &q->authn, &sts);
    if (e == CF_S3_SignatureDoesNotMatch)
        signature_mismatch(q, sig.access_key, sig.signature, &sts, NULL);
    else if (e != CF_S3_OK)
        cf_s3_error(q, e, q->authn.message);
    cf_buf_free(&sts);
    return e;
}

static cf_s3err authenticate_v4(cf_s3_req *q, cf_str authz)
{
    cf_http_req *r = q->http;
    cf_sigv4_auth sig;
    cf_s3err e;

    if (authz.p != NULL) {
        cf_str date = cf_http_header(r, "x-amz-date");
        if (date.p == NULL)
            date = cf_http_header(r, "date");
        e = cf_sigv4_parse_header(authz, date, &sig);
        if (e != CF_S3_OK) {
            cf_s3_error(q, e, NULL);
            return e;
        }
        q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
        if (q->payload_hash.p == NULL) {
            cf_s3_error(q, CF_S3_InvalidRequest,
                        "Missing required header for this request: x-amz-content-sha256");
            return CF_S3_InvalidRequest;
        }
    } else {
        e = cf_sigv4_parse_query(q->query, q->nquery, &sig);
        if (e != CF_S3_OK) {
            cf_s3_error(q, e, NULL);
            return e;
        }
        q->payload_hash = cf_http_header(r, "x-amz-content-sha256");
        if (q->payload_hash.p == NULL)
            q->payload_hash = CF_STR(CF_PAYLOAD_UNSIGNED);
    }
    r->log_access_key = cf_arena_str(q->arena, sig.access_key);
    if (!payload_hash_ok(q, authz.p != NULL))
        return CF_S3_InvalidRequest;

    cf_sigv4_request sreq = {
        .method = r->method_str,
        .path = r->path,
        .query = q->query,
        .nquery = q->nquery,
        .headers = r->headers,
        .nheaders = r->nheaders,
        .payload_hash = q->payload_hash,
    };
    cf_buf canon, sts;
    cf_buf_init(&canon, 64u << 10);
    cf_buf_init(&sts, 4096);
    e = cf_auth_verify(&q->s3->auth, &sreq, &sig, session_token(q), cf_now_ms(), q->arena,
                       &q->authn, &canon, &sts);
    if (e == CF_S3_SignatureDoesNotMatch)
        signature_mismatch(q, sig.access_key, sig.signature, &sts, &canon);
    else if (e != CF_S3_OK)
        cf_s3_error(q, e, q->authn.message);
    cf_buf_free(&canon);
    cf_buf_free(&sts);
    return e;
}

static void audit_denied(cf_s3_req *q, const char *action, cf_str target, const char *why)
{
    cf_audit_row row = {
        .time_ms = cf_now_ms(),
        .actor = q->authn.cred.row.id,
        .action = cf_str_c(action),
        .target = target,
        .source_ip = cf_str_c(q->http->remote_addr),
        .outcome = CF_STR("denied"),
        .detail = CF_STR_NULL,
    };
    char detail[256];
    if (why != NULL) {
        snprintf(detail, sizeof detail, "{\"reason\":\"%s\"}", why);
        row.detail = cf_str_c(detail);
    }
    if (cf_meta_call(q->s3->meta, audit_append, &row) != CF_OK)
        cf_warn("s3: cannot append to the audit log");
}

/* Touching last_used on every request would be a write per read: once a minute is enough. */
#define LAST_USED_EVERY_MS 60000

cf_s3err cf_s3_load_principal(cf_s3_req *q)
{
    const char *why = NULL;
    int64_t now = cf_now_ms();
    const cf_temp_cred *temp = q->authn.temporary ? &q->authn.temp : NULL;
    cf_cred_entry *entry = q->authn.entry;
    cf_principal_rc pr;
    if (entry == NULL && temp != NULL && q->s3->auth.cache != NULL) {
        /* A temporary credential's chain is its parent's. */
        cf_rc rc = cf_credcache_get(q->s3->auth.cache, temp->parent_id, q->arena, &entry);
        if (rc != CF_OK)
            entry = NULL;
        if (rc == CF_ENOTFOUND) {
            why = "the parent of the temporary credential is gone";
            pr = CF_PRINCIPAL_UNKNOWN;
            goto decided;
        }
    }
    if (entry != NULL)
        pr = cf_principal_from_entry(entry, q->authn.cred.row.id, temp,
                                     cf_str_c(q->http->remote_addr), now, q->arena,
                                     &q->principal, &why);
    else
        pr = cf_principal_load(q->s3->meta, q->authn.cred.row.id, temp,
                               cf_str_c(q->http->remote_addr), now, q->arena, &q->principal,
                               &why);
decided:;
    cf_s3err e = CF_S3_OK;
    switch (pr) {
    case CF_PRINCIPAL_OK:
        break;
    case CF_PRINCIPAL_UNKNOWN:
    case CF_PRINCIPAL_INACTIVE:
        /* A revoked key reads as unknown, as in S3; a temporary credential whose own time is
         * up has expired, one whose parent was cut off is simply refused. */
        if (!q->authn.temporary)
            e = CF_S3_InvalidAccessKeyId;
        else if (now >= q->authn.temp.expires_ms)
            e = CF_S3_ExpiredToken;
        else
            e = CF_S3_AccessDenied;
        break;
    case CF_PRINCIPAL_IP:
        e = CF_S3_AccessDenied;
        break;
    case CF_PRINCIPAL_ERROR:
        e = CF_S3_InternalError;
        break;
    }
    if (e != CF_S3_OK) {
        cf_info("s3: %s refused for %.*s: %s", q->http->request_id,
                CF_STR_FMT(q->authn.cred.row.id), why ? why : "");
        audit_denied(q, "s3:Authenticate", q->authn.cred.row.id, why);
        cf_s3_error(q, e, why);
        return e;
    }
    const cf_cred_row *me = &q->principal.chain[0];
    if (q->principal.temporary)
        return CF_S3_OK;
    if (entry != NULL) {
        /* The cached row's last_used is as old as the entry: the entry remembers the last
         * touch, and one thread wins each minute's. */
        int64_t last = atomic_load(&entry->touched_ms);
        if (now - last < LAST_USED_EVERY_MS ||
            !atomic_compare_exchange_strong(&entry->touched_ms, &last, now))
            return CF_S3_OK;
    } else if (now - me->last_used_ms < LAST_USED_EVERY_MS) {
        return CF_S3_OK;
    }
    if (cf_meta_call(q->s3->meta, cred_touch, me->id, now) != CF_OK)
        cf_warn("s3: cannot record the last use of %.*s", CF_STR_FMT(me->id));
    return CF_S3_OK;
}

/* The conditional-write keys, which S3 sets for writes and deletes only: an If-Match on a
 * GetObject must not satisfy a policy written for writes. etag: a DeleteObjects key's ETag
 * (NULL: none, or not DeleteObjects). */
static void write_keys(cf_s3_req *q, const char *action, const cf_str *etag, cf_authz_req *r)
{
    const char *op = q->op != NULL ? q->op->name : "";
    bool put = strcmp(action, "s3:PutObject") == 0;
    if (!put && strcmp(action, "s3:DeleteObject") != 0)
        return;
    if (etag != NULL) {
        r->s3_if_match = *etag;
        return;
    }
    if (put) {
        bool step = strcmp(op, "CreateMultipartUpload") == 0 || strcmp(op, "UploadPart") == 0 ||
                    strcmp(op, "UploadPartCopy") == 0;
        r->s3_object_creation = step ? CF_AUTHZ_FALSE : CF_AUTHZ_TRUE;
        if (step || strcmp(op, "PostObject") == 0)
            return;
        r->s3_if_none_match = cf_http_header(q->http, "if-none-match");
    } else if (strcmp(op, "DeleteObject") != 0) {
        return; /* DeleteObjects: only a key's own ETag counts */
    }
    r->s3_if_match = cf_http_header(q->http, "if-match");
}

/* 1 allowed, 0 refused (audited), -1 undecidable (out of memory). */
static int decide(cf_s3_req *q, const char *action, cf_str bucket, cf_str key, const cf_str *etag)
{
    char *res;
    if (bucket.len == 0)
        res = cf_arena_strdup(q->arena, "arn:aws:s3:::*"); /* matches "*" and "arn:aws:s3:::*" */
    else if (key.len == 0)
        res = cf_arena_printf(q->arena, "arn:aws:s3:::%.*s", CF_STR_FMT(bucket));
    else
        res = cf_arena_printf(q->arena, "arn:aws:s3:::%.*s/%.*s", CF_STR_FMT(bucket),
                              CF_STR_FMT(key));
    if (res == NULL)
        return -1;
    cf_authz_req r = {
        .action = cf_str_c(action),
        .resource = cf_str_c(res),
        .source_ip = cf_str_c(q->http->remote_addr),
        .now_ms = cf_now_ms(),
        .secure_transport = false,
    };
    /* The listing condition keys exist only for listings: a GetObject with ?prefix= must not
     * satisfy a ListBucket condition. */
    if (strcmp(action, "s3:ListBucket") == 0 || strcmp(action, "s3:ListBucketMultipartUploads") == 0) {
        r.s3_prefix = cf_s3_query(q, "prefix");
        r.s3_delimiter = cf_s3_query(q, "delimiter");
        r.s3_max_keys = cf_s3_query(q, "max-keys");
    }
    write_keys(q, action, etag, &r);
    if (cf_principal_allows(&q->principal, &r))
        return 1;
    audit_denied(q, action, cf_str_c(res + 13), NULL);
    return 0;
}

bool cf_s3_allowed(cf_s3_req *q, const char *action, cf_str bucket, cf_str key)
{
    return decide(q, action, bucket, key, NULL) == 1;
}

bool cf_s3_authorize(cf_s3_req *q, const char *action, cf_str bucket, cf_str key)
{
    int d = decide(q, action, bucket, key, NULL);
    if (d != 1)
        cf_s3_error(q, d < 0 ? CF_S3_InternalError : CF_S3_AccessDenied, NULL);
    return d == 1;
}

bool cf_s3_allowed_delete(cf_s3_req *q, cf_str bucket, cf_str key, const cf_str *etag)
{
    return decide(q, "s3:DeleteObject", bucket, key, etag) == 1;
}

cf_s3err cf_s3_authenticate(cf_s3_req *q)
{
    cf_str authz = cf_http_header(q->http, "authorization");
    bool v4q = cf_s3_has_query(q, "X-Amz-Algorithm") || cf_s3_has_query(q, "X-Amz-Signature") ||
               cf_s3_has_query(q, "X-Amz-Credential");
    bool v2q = cf_sigv2_is_query(q->query, q->nquery);
    cf_s3err e;

    if ((authz.p != NULL) + v4q + v2q > 1) {
        cf_s3_error(q, CF_S3_InvalidArgument,
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be "
                    "specified");
        return CF_S3_InvalidArgument;
    }
    if (authz.p == NULL && !v4q && !v2q) {
        cf_s3_error(q, CF_S3_AccessDenied, "Anonymous access is not allowed.");
        return CF_S3_AccessDenied;
    }
    if (v2q || (authz.p != NULL && cf_sigv2_is_header(authz)))
        e = authenticate_v2(q, authz);
    else if (v4q || cf_str_starts_c(authz, CF_SIGV4_ALGO " ") ||
             cf_str_starts_c(authz, CF_SIGV4_ALGO ","))
        e = authenticate_v4(q, authz);
    else {
        cf_s3_error(q, CF_S3_InvalidRequest,
                    "The authorization mechanism you have provided is not supported. Please use "
                    "AWS4-HMAC-SHA256.");
        return CF_S3_InvalidRequest;
    }
    if (e != CF_S3_OK) {
        /* Counted per address by log readers (and, later, by the throttle): never the
         * signature or anything secret. */
        uint32_t n = cf_authfail_note(cf_str_c(q->http->remote_addr), cf_now_ms());
        cf_warn("s3: authentication failed from %s: %s (access key %.*s; %u failures from this "
                "address in 10 minutes)",
                q->http->remote_addr, cf_s3err_code(e),
                CF_STR_FMT(q->http->log_access_key.len ? q->http->log_access_key : CF_STR("-")), n);
        return e;
    }
    q->signed_request = true;
    return cf_s3_load_principal(q);
}
