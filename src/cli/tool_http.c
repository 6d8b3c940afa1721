/* The one place that speaks libcurl: a single request, its answer read into a bounded
 * buffer. */
#include <curl/curl.h>
#include <string.h>

#include "cli/cli.h"

typedef struct sink {
    cf_buf *buf;
    bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    if (cf_buf_append(s->buf, p, len) != CF_OK) {
        /* Returning less than len makes curl stop with CURLE_WRITE_ERROR. */
        s->too_big = true;
        return 0;
    }
    return len;
}

bool cf_cli_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void cf_cli_http_cleanup(void)
{
    curl_global_cleanup();
}

cf_rc cf_cli_http_do(const cf_cli_http_req *r, long *status, cf_buf *resp, char *errbuf,
                     size_t errlen)
{
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL, *tmp;
    char curl_err[CURL_ERROR_SIZE] = "";
    cf_buf auth;
    sink s = {resp, false};
    CURLcode cc;
    cf_rc rc = CF_EIO;
    cf_buf_init(&auth, 8 << 10);
    errbuf[0] = '\0';
    *status = 0;
    h = curl_easy_init();
    if (!h) {
        snprintf(errbuf, errlen, "cannot start libcurl");
        goto out;
    }
    /* Headers: the token only in Authorization, never in the URL. */
    tmp = curl_slist_append(hdrs, "Accept: application/json");
    if (tmp)
        hdrs = tmp;
    if (tmp && r->body) {
        tmp = curl_slist_append(hdrs, "Content-Type: application/json");
        if (tmp)
            hdrs = tmp;
    }
    if (tmp) {
        /* No "Expect: 100-continue" round trip for our small bodies. */
        tmp = curl_slist_append(hdrs, "Expect:");
        if (tmp)
            hdrs = tmp;
    }
    if (tmp && r->token) {
        if (cf_buf_append_c(&auth, "Authorization: Bearer ") != CF_OK ||
            cf_buf_append_c(&auth, r->token) != CF_OK) {
            snprintf(errbuf, errlen, "token too long");
            goto out;
        }
        tmp = curl_slist_append(hdrs, auth.p);
        if (tmp)
            hdrs = tmp;
    }
    if (!tmp) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "coffer-cli");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    /* Stop early when the server announces a body past the cap; on_data enforces it too. */
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->max);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* Give up on a dead peer rather than hang: connect within 10 s, and no stretch of 60 s
     * without a byte. */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (strcmp(r->method, "GET") == 0 && !r->body)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(r->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    cc = curl_easy_perform(h);
    if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = CF_ETOOBIG;
        goto out;
    }
    if (cc != CURLE_OK) {
        snprintf(errbuf, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    rc = CF_OK;
out:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    cf_buf_free(&auth);
    return rc;
}
