/* Requests to the credentials API and the reading of its answers and errors. The transport
 * itself is cf_cli_http_do (tool_http.c), so everything here can be tested without a
 * server. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static bool unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

cf_rc cf_cli_url_escape(cf_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    cf_rc rc = CF_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == CF_OK; p++) {
        if (unreserved(*p)) {
            rc = cf_buf_append_ch(b, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = cf_buf_append(b, enc, 3);
        }
    }
    return rc;
}

cf_rc cf_cli_query(cf_buf *b, const char *name, const char *value)
{
    cf_rc rc;
    if (!value)
        return CF_OK;
    rc = cf_buf_append_ch(b, b->p && memchr(b->p, '?', b->len) ? '&' : '?');
    if (rc == CF_OK)
        rc = cf_cli_url_escape(b, name);
    if (rc == CF_OK)
        rc = cf_buf_append_ch(b, '=');
    if (rc == CF_OK)
        rc = cf_cli_url_escape(b, value);
    return rc;
}

/* The base URL must be http(s) and the token a header-safe word: checked before anything is
 * sent, as usage errors. */
static int check_target(cf_cli *c, bool auth)
{
    const char *u = c->url;
    if (!u || !u[0])
        return cf_cli_usage(c, "--url", "empty URL");
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return cf_cli_usage(c, "--url", "not an http:// or https:// URL: %s", u);
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return cf_cli_usage(c, "--url", "the URL has spaces or control characters");
    if (!auth)
        return CF_CLI_EXIT_OK;
    if (!c->token || !c->token[0])
        return cf_cli_usage(c, "COFFER_TOKEN", "no token: set COFFER_TOKEN or pass --token");
    for (const char *p = c->token; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return cf_cli_usage(c, "COFFER_TOKEN", "the token has spaces or control characters");
    return CF_CLI_EXIT_OK;
}

/* Prints the error of a non-2xx answer: the API's {"error": {...}} when there is one. */
static void print_api_error(cf_cli *c, long status, const cf_buf *resp)
{
    json_error_t jerr;
    json_t *j = resp->len ? json_loadb(resp->p, resp->len, 0, &jerr) : NULL;
    json_t *e = j ? json_object_get(j, "error") : NULL;
    const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
    const char *field = e ? json_string_value(json_object_get(e, "field")) : NULL;
    const char *code = e ? json_string_value(json_object_get(e, "code")) : NULL;
    char fallback[96];
    if (!msg || !msg[0]) {
        snprintf(fallback, sizeof fallback, "the server answered HTTP %ld%s%s", status,
                 code ? " " : "", code ? code : "");
        msg = fallback;
    }
    cf_cli_error(c, msg, field);
    json_decref(j);
}

int cf_cli_call(cf_cli *c, const char *method, const char *path, const json_t *body, bool auth,
                json_t **answer)
{
    cf_buf url, resp;
    cf_cli_http_req req;
    char *payload = NULL;
    char errbuf[512] = "";
    long status = 0;
    json_error_t jerr;
    cf_rc rc;
    int ret;
    size_t base_len;
    cf_buf_init(&url, 64 << 10);
    cf_buf_init(&resp, CF_CLI_MAX_RESPONSE);
    *answer = NULL;
    ret = check_target(c, auth);
    if (ret != CF_CLI_EXIT_OK)
        goto out;
    ret = CF_CLI_EXIT_API;
    /* "http://host:9001/" + "/v1/..." must not give "//v1". */
    base_len = strlen(c->url);
    while (base_len > 0 && c->url[base_len - 1] == '/')
        base_len--;
    if (cf_buf_append(&url, c->url, base_len) != CF_OK || cf_buf_append_c(&url, path) != CF_OK) {
        cf_cli_error(c, "URL too long", "--url");
        goto out;
    }
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            cf_cli_error(c, "cannot encode the request", NULL);
            goto out;
        }
    }
    req.method = method;
    req.url = url.p;
    req.token = auth ? c->token : NULL;
    req.body = payload;
    req.body_len = payload ? strlen(payload) : 0;
    rc = cf_cli_http_do(&req, &status, &resp, errbuf, sizeof errbuf);
    if (rc == CF_ETOOBIG) {
        cf_cli_error(c, "the answer is larger than 16 MiB", url.p);
        goto out;
    }
    if (rc != CF_OK) {
        cf_cli_error(c, errbuf[0] ? errbuf : cf_rc_str(rc), url.p);
        goto out;
    }
    if (status < 200 || status > 299) {
        print_api_error(c, status, &resp);
        goto out;
    }
    if (resp.len > 0) {
        *answer = json_loadb(resp.p, resp.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!*answer) {
            char msg[300];
            snprintf(msg, sizeof msg, "the answer is not JSON: line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            cf_cli_error(c, msg, url.p);
            goto out;
        }
    }
    ret = CF_CLI_EXIT_OK;
out:
    free(payload);
    cf_buf_free(&url);
    cf_buf_free(&resp);
    return ret;
}

int cf_cli_paginate(cf_cli *c, const char *path, const char *cursor, const char *key, bool all,
                    json_t **answer)
{
    json_t *first = NULL, *page = NULL;
    cf_buf url;
    int ret;
    char *prev = NULL;
    cf_buf_init(&url, 64 << 10);
    *answer = NULL;
    for (size_t n = 0;; n++) {
        cf_buf_reset(&url);
        if (cf_buf_append_c(&url, path) != CF_OK || cf_cli_query(&url, "cursor", cursor) != CF_OK) {
            cf_cli_error(c, "URL too long", NULL);
            ret = CF_CLI_EXIT_API;
            goto out;
        }
        ret = cf_cli_call(c, "GET", url.p, NULL, true, &page);
        if (ret != CF_CLI_EXIT_OK)
            goto out;
        ret = CF_CLI_EXIT_API;
        json_t *items = page ? json_object_get(page, key) : NULL;
        json_t *next = page ? json_object_get(page, "next_cursor") : NULL;
        if (!json_is_array(items) || (next && !json_is_null(next) && !json_is_string(next))) {
            cf_cli_error(c, "unexpected answer from the server", key);
            goto out;
        }
        if (!first) {
            first = page;
            page = NULL;
        } else if (json_array_extend(json_object_get(first, key), items) != 0) {
            cf_cli_error(c, "out of memory", NULL);
            goto out;
        }
        const char *nc = json_string_value(json_object_get(page ? page : first, "next_cursor"));
        if (!all || !nc || !nc[0])
            break;
        /* A server handing back the same cursor would loop forever. */
        if ((prev && strcmp(prev, nc) == 0) || n + 1 >= CF_CLI_MAX_PAGES) {
            cf_cli_error(c, "the server's pagination does not advance", nc);
            goto out;
        }
        free(prev);
        prev = strdup(nc);
        if (!prev) {
            cf_cli_error(c, "out of memory", NULL);
            goto out;
        }
        cursor = prev;
        json_decref(page);
        page = NULL;
    }
    if (all && json_object_set_new(first, "next_cursor", json_null()) != 0) {
        cf_cli_error(c, "out of memory", NULL);
        goto out;
    }
    *answer = first;
    first = NULL;
    ret = CF_CLI_EXIT_OK;
out:
    json_decref(first);
    json_decref(page);
    free(prev);
    cf_buf_free(&url);
    return ret;
}
