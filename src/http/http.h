/* HTTP glue over libmicrohttpd: one request object per request, headers collected once,
 * bodies streamed to the handler, responses from memory or from a file descriptor
 * (sendfile). Layers above see cf_http_req and these functions, never MHD. */
#ifndef COFFER_HTTP_HTTP_H
#define COFFER_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

typedef enum cf_http_method {
    CF_HTTP_OTHER = 0,
    CF_HTTP_GET,
    CF_HTTP_HEAD,
    CF_HTTP_PUT,
    CF_HTTP_POST,
    CF_HTTP_DELETE,
    CF_HTTP_OPTIONS,
    CF_HTTP_PATCH,
} cf_http_method;

typedef struct cf_http_resp_header {
    const char *name;
    const char *value;
} cf_http_resp_header;

typedef struct cf_http_req {
    cf_arena *arena;         /* dies when the request is done */
    cf_http_method method;
    cf_str method_str;
    cf_str raw_uri;          /* as on the request line */
    cf_str path;             /* raw (still percent-encoded) path */
    cf_str query;            /* raw query string after '?', or empty */
    bool has_query;          /* a '?' was present */
    cf_kv *headers;          /* as received, in order */
    size_t nheaders;
    bool has_content_length;
    uint64_t content_length;
    char request_id[17];     /* 16 uppercase hex */
    char remote_addr[64];    /* numeric address, no port */
    int64_t start_us;        /* monotonic */
    uint64_t bytes_in;       /* body bytes received */
    uint64_t bytes_out;      /* body bytes of the response */
    void *app;               /* the handler's per-request state */

    /* Filled by the handler for the access log (arena or static strings). */
    cf_str log_access_key;
    cf_str log_bucket;
    cf_str log_key;

    /* Response being built; see cf_http_respond_*. */
    int status;
    bool responded;
    cf_http_resp_header *resp_headers;
    size_t nresp_headers, capresp_headers;
    void *internal; /* owned by http.c */
} cf_http_req;

/* Callbacks of the layer above. on_request runs once when the headers are in; it may
 * respond at once (the body, if any, is then not read). Otherwise on_body receives the body
 * in pieces and on_complete runs after the last piece and must respond. A response set
 * during on_body is sent after the rest of the body is discarded. on_done runs last for
 * every request that reached on_request, aborted or not. */
typedef struct cf_http_handler {
    void (*on_request)(void *ctx, cf_http_req *r);
    void (*on_body)(void *ctx, cf_http_req *r, const char *p, size_t n);
    void (*on_complete)(void *ctx, cf_http_req *r);
    void (*on_done)(void *ctx, cf_http_req *r, bool completed);
    void *ctx;
} cf_http_handler;

typedef struct cf_http_options {
    const char *host; /* numeric IPv4 or IPv6 address */
    uint16_t port;
    unsigned threads;
    /* Connections served at once. Past it, a bounded number more are accepted and each
     * request on them gets 503 from on_busy, then the connection closes. */
    unsigned max_connections;
    /* A connection idle this long is closed; so is one whose next request's headers are
     * not complete this long after the connection or the previous request (slow senders). */
    unsigned idle_timeout_s;
    bool access_log;
    /* Answers a request on a connection past max_connections in place of the handler
     * (status 503 expected; Connection: close and Retry-After are added). NULL: an empty 503. */
    void (*on_busy)(void *ctx, cf_http_req *r);
    void *busy_ctx;
} cf_http_options;

typedef struct cf_http_server cf_http_server;

/* Starts listening and serving on internal threads. NULL and a log line on failure. */
cf_http_server *cf_http_start(const cf_http_options *o, const cf_http_handler *h);
/* Stops accepting, finishes or drops connections, and frees the server. */
void cf_http_stop(cf_http_server *s);

/* First value of a header (case-insensitive name), or an empty slice with .p NULL. */
cf_str cf_http_header(const cf_http_req *r, const char *name);
bool cf_http_has_header(const cf_http_req *r, const char *name);

/* Adds a response header; name and value are copied into the request arena. false on
 * no memory. */
bool cf_http_add_header(cf_http_req *r, const char *name, const char *value);
bool cf_http_add_header_str(cf_http_req *r, const char *name, cf_str value);

/* Responses. Exactly one per request; later calls are ignored. The body is taken over: a
 * cf_buf is emptied, an fd is closed by the server when sent or on error. */
void cf_http_respond(cf_http_req *r, int status, cf_buf *body, const char *content_type);
void cf_http_respond_empty(cf_http_req *r, int status);
/* len bytes of fd from off; for HEAD nothing is sent but Content-Length is len. */
void cf_http_respond_fd(cf_http_req *r, int status, int fd, uint64_t off, uint64_t len);
/* A HEAD-style answer: Content-Length len, no body (also for GET of an empty object). */
void cf_http_respond_len_only(cf_http_req *r, int status, uint64_t len);

/* Streams len bytes produced by read_fn(ctx, pos, buf, max), called from the server's
 * threads with pos counting from 0: it returns the bytes written to buf (1..max), or -1 to
 * abort the connection. free_fn(ctx), if not NULL, runs exactly once when the response is
 * done with (sent, aborted, or never queued), possibly after the request's arena is gone,
 * so ctx must not live in it. For HEAD nothing is read. */
typedef ptrdiff_t (*cf_http_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);
void cf_http_respond_reader(cf_http_req *r, int status, uint64_t len, cf_http_read_fn read_fn,
                            void *ctx, void (*free_fn)(void *ctx));

#endif
