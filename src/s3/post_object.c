/* PostObject: browser form uploads (multipart/form-data signed with a POST policy). The form
 * is read as it streams; when the file part starts every field is known, so the signature,
 * the policy and the signer's rights are checked before the first byte of the file is
 * staged. The file streams into a blob like a PutObject body and is committed only after
 * the last check; any failure or abort leaves nothing. */
#include <stdio.h>
#include <string.h>

#include "auth/failures.h"
#include "auth/post_policy.h"
#include "core/clock.h"
#include "core/log.h"
#include "s3/formdata.h"
#include "s3/s3_int.h"

typedef struct post_state {
    cf_form *form;
    cf_s3_stage stage;
    cf_post_policy policy;
    cf_hash *md5; /* of the file alone (the pipeline's is of the whole form) */
    cf_ck ck;     /* an x-amz-checksum-* field, alg NONE if none */
    cf_str ck_expected;
    bool has_md5;
    uint8_t want_md5[16];
    cf_header *headers; /* stored headers from the fields; room for the checksum */
    size_t nheaders;
    cf_str redirect; /* success_action_redirect (or the older redirect) */
    cf_str status;   /* success_action_status */
} post_state;

/* Answers e and returns it, for the form callbacks. */
static cf_s3err fail(cf_s3_req *q, cf_s3err e, const char *message)
{
    cf_s3_error(q, e, message);
    return e;
}

/* x-ignore-* fields: for the page's own use, never checked or stored. */
static bool ignored(cf_str name)
{
    return name.len >= 9 && cf_str_ieq_c(cf_str_sub(name, 0, 9), "x-ignore-");
}

/* The signing credential (a stored one, or the temporary one its session token carries) and
 * the signature over the policy, with the previous secret during a rotation grace, as
 * cf_auth_verify does for signed requests. Fills q->authn. */
static cf_s3err verify_signer(cf_s3_req *q, const cf_post_auth *au, int64_t now)
{
    const cf_auth *auth = &q->s3->auth;
    cf_authn_result *out = &q->authn;
    memset(out, 0, sizeof *out);
    out->sig.access_key = au->access_key;
    out->sig.date = au->date;
    out->sig.region = au->region;
    out->sig.service = au->service;
    out->sig.amz_date = au->amz_date;
    out->sig.signature = au->signature;
    out->sig.security_token = au->security_token;
    if (au->security_token.len > 0) {
        if (cf_temp_open(auth->keyring, au->security_token, q->arena, &out->temp) != CF_OK ||
            !cf_str_eq(out->temp.access_key, au->access_key))
            return CF_S3_InvalidToken;
        if (now >= out->temp.expires_ms)
            return CF_S3_ExpiredToken;
        out->temporary = true;
        out->cred.row.id = out->temp.access_key;
        out->cred.row.parent_id = out->temp.parent_id;
        out->cred.secret = out->temp.secret;
    } else {
        if (cf_str_starts_c(au->access_key, CF_TEMP_KEY_PREFIX))
            return CF_S3_InvalidAccessKeyId; /* a temporary key without its token */
        cf_rc rc = cf_cred_lookup(auth->meta, auth->keyring, au->access_key, q->arena, &out->cred);
        if (rc == CF_ENOTFOUND)
            return CF_S3_InvalidAccessKeyId;
        if (rc != CF_OK)
            return cf_s3_from_rc(rc, "credential lookup");
        if (!cf_cred_row_active(&out->cred.row, now))
            return CF_S3_InvalidAccessKeyId;
    }
    cf_s3err e = cf_post_auth_verify(au, out->cred.secret);
    if (e == CF_S3_SignatureDoesNotMatch && out->cred.old_secret.len > 0 &&
        now < out->cred.row.old_secret_until_ms)
        e = cf_post_auth_verify(au, out->cred.old_secret);
    return e;
}

/* Signature, policy, principal and permission: everything before the file is stored. */
static cf_s3err authorize_form(cf_s3_req *q, post_state *st, const cf_kv *fs, size_t n)
{
    cf_http_req *r = q->http;
    int64_t now = cf_now_ms();
    cf_post_auth au;
    const char *why = NULL;

    cf_s3err e = cf_post_auth_parse(fs, n, &au, &why);
    if (e != CF_S3_OK)
        return fail(q, e, why);
    if (au.version == 0)
        return fail(q, CF_S3_AccessDenied, "Anonymous access is not allowed.");
    r->log_access_key = cf_arena_str(q->arena, au.access_key);
    e = cf_post_auth_check_scope(&au, cf_str_c(q->s3->region), q->arena, &why);
    if (e != CF_S3_OK)
        return fail(q, e, why);
    e = verify_signer(q, &au, now);
    if (e != CF_S3_OK) {
        /* Logged and counted like a failed signed request: never the signature. */
        uint32_t count = cf_authfail_note(cf_str_c(r->remote_addr), now);
        cf_warn("s3: authentication failed from %s: %s (access key %.*s; %u failures from this "
                "address in 10 minutes; POST form)",
                r->remote_addr, cf_s3err_code(e), CF_STR_FMT(r->log_access_key), count);
        return fail(q, e, NULL);
    }
    e = cf_post_policy_parse(au.policy, q->arena, &st->policy, &why);
    if (e != CF_S3_OK)
        return fail(q, e, why);
    cf_post_form pf = {
        .fields = fs,
        .nfields = n,
        .bucket = q->bucket,
        .key = q->key,
        .version = au.version,
    };
    e = cf_post_policy_check(&st->policy, &pf, now, q->arena, &why);
    if (e != CF_S3_OK)
        return fail(q, e, why);
    q->signed_request = true;
    if (cf_s3_load_principal(q) != CF_S3_OK)
        return CF_S3_AccessDenied; /* answered */
    if (!cf_s3_authorize(q, q->op->action, q->bucket, q->key))
        return CF_S3_AccessDenied; /* answered */
    return CF_S3_OK;
}

/* The object's key from the key field, with ${filename} expanded. */
static cf_s3err form_key(cf_s3_req *q, cf_form *f)
{
    cf_str k = cf_form_field(f, "key");
    if (k.p == NULL)
        return fail(q, CF_S3_InvalidArgument,
                    "Bucket POST must contain a field named 'key'.  If it is specified, please "
                    "check the order of the fields.");
    k = cf_post_expand_key(q->arena, k, cf_form_filename(f));
    if (k.p == NULL)
        return fail(q, CF_S3_InternalError, NULL);
    if (k.len == 0)
        return fail(q, CF_S3_InvalidArgument, "User key must have a length greater than zero.");
    q->key = k;
    q->http->log_key = k;
    if (k.len > CF_S3_MAX_KEY)
        return fail(q, CF_S3_KeyTooLongError, NULL);
    if (!cf_utf8_valid(k) || memchr(k.p, 0, k.len) != NULL)
        return fail(q, CF_S3_InvalidArgument, "Object keys must be valid UTF-8 without NUL.");
    return CF_S3_OK;
}

/* Content-MD5 and x-amz-checksum-* fields: checked against the file at the end. */
static cf_s3err form_digests(cf_s3_req *q, post_state *st, const cf_kv *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cf_str name = fs[i].name, value = cf_str_trim(fs[i].value);
        if (cf_str_ieq_c(name, "content-md5")) {
            size_t dl = 0;
            if (!cf_b64_decode(value, st->want_md5, sizeof st->want_md5, &dl) || dl != 16)
                return fail(q, CF_S3_InvalidDigest, NULL);
            st->has_md5 = true;
            continue;
        }
        cf_ck_alg alg = cf_ck_from_header(name);
        if (alg == CF_CK_NONE)
            continue;
        if (st->ck.alg != CF_CK_NONE)
            return fail(q, CF_S3_InvalidRequest,
                        "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                        "not allowed.");
        if (cf_ck_init(&st->ck, alg) != CF_OK)
            return fail(q, CF_S3_InternalError, NULL);
        st->ck_expected = value;
    }
    return CF_S3_OK;
}

static cf_s3err on_file_begin(void *ctx, cf_form *f)
{
    cf_s3_req *q = ctx;
    post_state *st = q->opstate;
    size_t n;
    const cf_kv *fs = cf_form_fields(f, &n);
    cf_s3err e;

    /* One value per field, or the policy would check one and the store use another. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (cf_str_ieq(fs[i].name, fs[j].name) && !ignored(fs[i].name)) {
                char *msg =
                    cf_arena_printf(q->arena, "The form field '%.*s' appears more than once.",
                                    CF_STR_FMT(fs[i].name));
                return fail(q, CF_S3_InvalidArgument, msg);
            }
    if ((e = form_key(q, f)) != CF_S3_OK || (e = authorize_form(q, st, fs, n)) != CF_S3_OK ||
        (e = form_digests(q, st, fs, n)) != CF_S3_OK)
        return e;
    /* S3's tagging field is an XML document; storing the object without its tags would lose
     * them silently. (x-amz-tagging, in the header's URL-encoded form, is honoured.) */
    if (cf_form_field(f, "tagging").p != NULL)
        return fail(q, CF_S3_NotImplemented,
                    "The tagging form field is not implemented by coffer; send the tags URL-"
                    "encoded in an x-amz-tagging field instead.");
    e = cf_s3_collect_headers_from(q, fs, n, CF_CK_NONE, CF_STR_NULL, &st->headers, &st->nheaders);
    if (e != CF_S3_OK)
        return fail(q, e, NULL);
    st->redirect = cf_form_field(f, "success_action_redirect");
    if (st->redirect.p == NULL)
        st->redirect = cf_form_field(f, "redirect");
    st->status = cf_form_field(f, "success_action_status");
    /* Fail fast before reading a file into a bucket that does not exist. */
    e = cf_s3_bucket_exists(q, q->bucket);
    if (e != CF_S3_OK)
        return fail(q, e, NULL);
    st->md5 = cf_hash_new(CF_HASH_MD5);
    if (st->md5 == NULL)
        return fail(q, CF_S3_InternalError, NULL);
    /* The request's length counts the fields too: on_file_data holds the file itself to the
     * maximum instead. */
    if (!cf_s3_stage_begin(q, &st->stage, UINT64_MAX))
        return CF_S3_InternalError; /* answered */
    return CF_S3_OK;
}

static cf_s3err on_file_data(void *ctx, const char *p, size_t n)
{
    cf_s3_req *q = ctx;
    post_state *st = q->opstate;
    /* Past the policy's maximum the upload cannot succeed: stop reading it now. */
    if (st->policy.has_range && cf_form_file_size(st->form) > st->policy.max_size)
        return fail(q, CF_S3_EntityTooLarge, NULL);
    if (cf_form_file_size(st->form) > q->s3->max_object_size)
        return fail(q, CF_S3_EntityTooLarge, NULL);
    cf_hash_update(st->md5, p, n);
    if (st->ck.alg != CF_CK_NONE)
        cf_ck_update(&st->ck, p, n);
    cf_s3_stage_body(q, &st->stage, p, n);
    return q->failed ? CF_S3_InternalError : CF_S3_OK;
}

static cf_s3err on_file_end(void *ctx)
{
    (void)ctx;
    return CF_S3_OK;
}

static const cf_form_cb form_cb = {on_file_begin, on_file_data, on_file_end};

void cf_s3_post_object_begin(cf_s3_req *q)
{
    cf_str boundary;
    post_state *st = cf_arena_alloc(q->arena, sizeof *st);
    if (st == NULL) {
        cf_s3_error(q, CF_S3_InternalError, NULL);
        return;
    }
    q->opstate = st;
    cf_s3err e = cf_form_boundary(q->arena, cf_http_header(q->http, "content-type"), &boundary);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e,
                    e == CF_S3_PreconditionFailed
                        ? "Bucket POST must be of the enclosure-type multipart/form-data"
                        : NULL);
        return;
    }
    st->form = cf_form_new(q->arena, boundary, &form_cb, q);
    if (st->form == NULL)
        cf_s3_error(q, CF_S3_InternalError, NULL);
}

void cf_s3_post_object_body(cf_s3_req *q, const char *p, size_t n)
{
    post_state *st = q->opstate;
    if (st == NULL || st->form == NULL || q->failed)
        return;
    cf_s3err e = cf_form_feed(st->form, p, n);
    if (e != CF_S3_OK && !q->failed)
        cf_s3_error(q, e, NULL);
}

/* Content-MD5 and x-amz-checksum-* fields against the file; etag gets its MD5 in hex. */
static cf_s3err check_digests(cf_s3_req *q, post_state *st, char etag[33])
{
    uint8_t d[16];
    cf_hash_final(st->md5, d);
    cf_hex_encode(d, sizeof d, etag);
    if (st->has_md5 && memcmp(d, st->want_md5, 16) != 0)
        return CF_S3_BadDigest;
    if (st->ck.alg == CF_CK_NONE)
        return CF_S3_OK;
    char got[48];
    cf_ck_alg alg = st->ck.alg;
    cf_ck_final_b64(&st->ck, got);
    if (!cf_str_eq_c(st->ck_expected, got)) {
        uint8_t raw[CF_CK_MAX_LEN];
        size_t rl = 0;
        if (!cf_b64_decode(st->ck_expected, raw, sizeof raw, &rl) || rl != cf_ck_len(alg))
            return CF_S3_InvalidDigest;
        return CF_S3_BadDigest;
    }
    /* Stored beside the other headers (there is room for it), as PutObject does. */
    st->headers[st->nheaders].name = cf_str_c(cf_ck_header(alg));
    st->headers[st->nheaders].value = cf_arena_str(q->arena, st->ck_expected);
    st->nheaders++;
    return CF_S3_OK;
}

/* The object's URL, as S3's Location: path style unless the request was virtual-hosted. */
static cf_str object_url(cf_s3_req *q)
{
    cf_http_req *r = q->http;
    cf_str host = cf_http_header(r, "host");
    cf_buf b;
    cf_str out;
    bool vhost = r->path.len <= 1; /* "/" : the bucket was in the Host */
    cf_buf_init(&b, 16u << 10);
    cf_buf_printf(&b, "http://%.*s/", CF_STR_FMT(host.p ? host : CF_STR("localhost")));
    if (!vhost) {
        cf_sigv4_uri_encode(q->bucket, false, &b);
        cf_buf_append_c(&b, "/");
    }
    cf_sigv4_uri_encode(q->key, true, &b);
    out = cf_arena_str(q->arena, cf_buf_str(&b));
    cf_buf_free(&b);
    return out;
}

static bool valid_redirect(cf_str url)
{
    if (!cf_str_starts_c(url, "http://") && !cf_str_starts_c(url, "https://"))
        return false;
    for (size_t i = 0; i < url.len; i++)
        if ((unsigned char)url.p[i] <= ' ' || url.p[i] == 0x7f)
            return false;
    return true;
}

/* S3's answers: a 303 to success_action_redirect with bucket, key and etag added to its
 * query; else success_action_status 200 (empty), 201 (PostResponse XML) or 204 (default). */
static void respond(cf_s3_req *q, post_state *st, const char *etag_hex)
{
    cf_http_req *r = q->http;
    char etag[40];
    snprintf(etag, sizeof etag, "\"%s\"", etag_hex);
    cf_http_add_header(r, "ETag", etag);
    for (size_t i = 0; i < st->nheaders; i++)
        if (cf_str_starts_c(st->headers[i].name, "x-amz-checksum-"))
            cf_http_add_header_str(r, cf_ck_header(cf_ck_from_header(st->headers[i].name)),
                                   st->headers[i].value);
    if (st->redirect.p != NULL && valid_redirect(st->redirect)) {
        cf_buf b;
        cf_buf_init(&b, st->redirect.len + 4 * CF_S3_MAX_KEY + 1024);
        cf_buf_append_str(&b, st->redirect);
        cf_buf_append_c(&b, cf_str_find(st->redirect, '?') >= 0 ? "&bucket=" : "?bucket=");
        cf_sigv4_uri_encode(q->bucket, false, &b);
        cf_buf_append_c(&b, "&key=");
        cf_sigv4_uri_encode(q->key, false, &b);
        cf_buf_append_c(&b, "&etag=");
        cf_sigv4_uri_encode(cf_str_c(etag), false, &b);
        cf_http_add_header_str(r, "Location", cf_buf_str(&b));
        cf_buf_free(&b);
        cf_http_respond_empty(r, 303);
        return;
    }
    cf_str url = object_url(q);
    if (url.p != NULL)
        cf_http_add_header_str(r, "Location", url);
    if (cf_str_eq_c(st->status, "201")) {
        cf_buf b;
        cf_buf_init(&b, 64u << 10);
        cf_buf_append_c(&b, CF_XML_DECL "<PostResponse>");
        cf_xml_elem(&b, "Location", url);
        cf_xml_elem(&b, "Bucket", q->bucket);
        cf_xml_elem(&b, "Key", q->key);
        cf_xml_elem_c(&b, "ETag", etag);
        cf_buf_append_c(&b, "</PostResponse>");
        cf_s3_respond_xml(q, 201, &b);
        return;
    }
    cf_http_respond_empty(r, cf_str_eq_c(st->status, "200") ? 200 : 204);
}

void cf_s3_post_object_complete(cf_s3_req *q)
{
    post_state *st = q->opstate;
    char etag[33];
    cf_s3err e = cf_form_finish(st->form);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    uint64_t size = cf_form_file_size(st->form);
    e = cf_post_policy_check_size(&st->policy, size);
    if (e == CF_S3_OK)
        e = check_digests(q, st, etag);
    if (e == CF_S3_OK)
        e = cf_s3_stage_finish(q, &st->stage);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    cf_object_info o = {
        .bucket = q->bucket,
        .key = q->key,
        .size = size,
        .etag = cf_str_c(etag),
        .mtime_ms = cf_now_ms(),
        .headers = st->headers,
        .nheaders = st->nheaders,
    };
    cf_put_cond cond;
    memset(&cond, 0, sizeof cond);
    memcpy(o.blob_id, st->stage.blob_id, sizeof o.blob_id);
    st->stage.staged = false; /* commit_object discards on failure itself */
    e = cf_s3_commit_object(q, &o, &cond);
    if (e != CF_S3_OK) {
        cf_s3_error(q, e, NULL);
        return;
    }
    respond(q, st, etag);
}

void cf_s3_post_object_done(cf_s3_req *q, bool completed)
{
    post_state *st = q->opstate;
    (void)completed;
    if (st == NULL)
        return;
    cf_s3_stage_done(q, &st->stage);
    cf_hash_free(st->md5);
    cf_ck_free(&st->ck);
}
