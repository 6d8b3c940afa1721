#include "auth/authn.h"

#include <string.h>

#include "auth/authz.h"
#include "core/clock.h"
#include "core/log.h"

/* Loads the signing credential into out->cred and checks it may sign now. With a session
 * token, the credential is the temporary one sealed in it (its chain is authz's to check). */
static cf_s3err lookup_usable(const cf_auth *au, cf_str access_key, cf_str session_token,
                              int64_t now_ms, cf_arena *a, cf_authn_result *out)
{
    if (session_token.len > 0) {
        if (cf_temp_open(au->keyring, session_token, a, &out->temp) != CF_OK ||
            !cf_str_eq(out->temp.access_key, access_key))
            return CF_S3_InvalidToken;
        if (now_ms >= out->temp.expires_ms)
            return CF_S3_ExpiredToken;
        out->temporary = true;
        out->cred.row.id = out->temp.access_key;
        out->cred.row.parent_id = out->temp.parent_id;
        out->cred.secret = out->temp.secret;
        return CF_S3_OK;
    }
    if (cf_str_starts_c(access_key, CF_TEMP_KEY_PREFIX))
        return CF_S3_InvalidAccessKeyId; /* a temporary key without its token */
    cf_rc rc;
    if (au->cache != NULL) {
        rc = cf_credcache_get(au->cache, access_key, a, &out->entry);
        if (rc == CF_OK)
            out->cred = out->entry->cred;
    } else {
        rc = cf_cred_lookup(au->meta, au->keyring, access_key, a, &out->cred);
    }
    if (rc == CF_ENOTFOUND)
        return CF_S3_InvalidAccessKeyId;
    if (rc != CF_OK) {
        cf_error("auth: credential lookup failed: %s", cf_rc_str(rc));
        return CF_S3_InternalError;
    }
    /* A disabled or expired key is indistinguishable from an unknown one to the caller. */
    if (!cf_cred_row_active(&out->cred.row, now_ms))
        return CF_S3_InvalidAccessKeyId;
    return CF_S3_OK;
}

cf_s3err cf_auth_verify(const cf_auth *au, const cf_sigv4_request *req, const cf_sigv4_auth *sig,
                        cf_str session_token, int64_t now_ms, cf_arena *a, cf_authn_result *out,
                        cf_buf *canon, cf_buf *sts)
{
    memset(out, 0, sizeof *out);
    out->sig = *sig;

    cf_s3err e = lookup_usable(au, sig->access_key, session_token, now_ms, a, out);
    if (e != CF_S3_OK)
        return e;

    cf_sigv4_verify_in in = {
        .req = req,
        .auth = sig,
        .secret = out->cred.secret,
        .region = cf_str_c(au->region),
        .now_ms = now_ms,
        .memo = out->entry != NULL && out->entry->memoized ? &out->entry->memo[0] : NULL,
    };
    e = cf_sigv4_verify(&in, out->signing_key, canon, sts);
    if (e == CF_S3_SignatureDoesNotMatch && out->cred.old_secret.len > 0 &&
        now_ms < out->cred.row.old_secret_until_ms) {
        in.secret = out->cred.old_secret;
        in.memo = out->entry != NULL && out->entry->memoized ? &out->entry->memo[1] : NULL;
        e = cf_sigv4_verify(&in, out->signing_key, canon, sts);
    }
    int64_t t;
    if (e == CF_S3_AccessDenied && sig->presigned && cf_time_parse_amz(sig->amz_date, &t)) {
        if (now_ms > t + sig->expires_s * 1000)
            out->message = "Request has expired";
        else if (now_ms < t)
            out->message = "Request is not yet valid";
    }
    return e;
}

cf_s3err cf_auth_verify_v2(const cf_auth *au, const cf_sigv2_request *req, const cf_sigv2_auth *sig,
                           cf_str session_token, int64_t now_ms, cf_arena *a, cf_authn_result *out,
                           cf_buf *sts)
{
    memset(out, 0, sizeof *out);
    out->sig.presigned = sig->presigned;
    out->sig.access_key = sig->access_key;
    out->sig.signature = sig->signature;
    out->sig.expires_s = sig->expires_s;

    cf_s3err e = lookup_usable(au, sig->access_key, session_token, now_ms, a, out);
    if (e != CF_S3_OK)
        return e;

    cf_sigv2_verify_in in = {
        .req = req,
        .auth = sig,
        .secret = out->cred.secret,
        .now_ms = now_ms,
    };
    e = cf_sigv2_verify(&in, sts, &out->message);
    if (e == CF_S3_SignatureDoesNotMatch && out->cred.old_secret.len > 0 &&
        now_ms < out->cred.row.old_secret_until_ms) {
        in.secret = out->cred.old_secret;
        e = cf_sigv2_verify(&in, sts, &out->message);
    }
    return e;
}
