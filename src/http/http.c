/* libmicrohttpd glue. MHD gives us the raw URI through the URI log callback (before any
 * decoding), which is where each request's arena and cf_http_req are born. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/crypto.h"
#include "core/log.h"

#define REQ_ARENA_MAX (64u << 20)
#define CONN_MEMORY_LIMIT (32u << 10) /* headers and read buffer; 1000 idle connections stay small */
/* Connections accepted past max_connections only to be told 503: bounded, so memory is too. */
#define BUSY_MARGIN_MIN 16u
#define BUSY_MARGIN_MAX 256u
/* A connection past the limit that sends nothing is dropped after this. */
#define BUSY_TIMEOUT_US (5 * 1000000LL)
#define REAP_TICK_MS 250
/* Body bytes read and dropped after an error answer before the connection is cut instead. */
#define DISCARD_MAX (8u << 20)

/* One per TCP connection (MHD's socket context), listed while open. */
typedef struct conn_state {
    struct conn_state *prev, *next;
    int fd;
    bool busy; /* accepted past max_connections: its requests get 503 */
    bool reaped;
    /* Monotonic deadline for the current request's headers; 0 while none is awaited. */
    _Atomic int64_t head_deadline_us;
} conn_state;

struct cf_http_server {
    struct MHD_Daemon *d;
    cf_http_handler h;
    bool access_log;
    int listen_fd;
    unsigned max_connections;
    int64_t head_timeout_us; /* 0: no deadline */
    void (*on_busy)(void *ctx, cf_http_req *r);
    void *busy_ctx;
    pthread_mutex_t mu; /* guards conns (and their fd, reaped), nconns, stopping */
    pthread_cond_t cv;
    conn_state *conns;
    unsigned nconns;
    bool stopping;
    bool reaper_running;
    pthread_t reaper;
};

typedef struct req_internal {
    struct MHD_Connection *conn;
    cf_http_server *srv;
    conn_state *cs;     /* NULL if it could not be allocated */
    bool started;       /* the first access-handler call happened */
    bool dispatched;    /* on_request ran */
    bool queued;        /* response handed to MHD */
    bool completed;     /* final access-handler call happened */
    uint64_t discarded; /* body bytes read after the answer was set */
    struct MHD_Response *resp;
} req_internal;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static cf_http_method parse_method(cf_str m)
{
    static const struct {
        const char *name;
        cf_http_method m;
    } tab[] = {{"GET", CF_HTTP_GET},       {"HEAD", CF_HTTP_HEAD}, {"PUT", CF_HTTP_PUT},
               {"POST", CF_HTTP_POST},     {"DELETE", CF_HTTP_DELETE},
               {"OPTIONS", CF_HTTP_OPTIONS}, {"PATCH", CF_HTTP_PATCH}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (cf_str_eq_c(m, tab[i].name))
            return tab[i].m;
    return CF_HTTP_OTHER;
}

static void make_request_id(char out[17])
{
    /* Ids need to be unique, not secret: a per-thread splitmix64 sequence seeded from the
     * system RNG once (the RNG itself costs more than the rest of a small GET's bookkeeping)
     * never collides across restarts or threads in practice. */
    static _Thread_local uint64_t state;
    static _Thread_local bool seeded;
    static const char hex[] = "0123456789ABCDEF";
    if (!seeded) {
        if (cf_random(&state, sizeof state) != CF_OK)
            state = (uint64_t)mono_us() ^ (uint64_t)(uintptr_t)&state;
        seeded = true;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (int i = 0; i < 16; i++)
        out[i] = hex[(z >> (60 - 4 * i)) & 15];
    out[16] = 0;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    cf_http_server *srv = cls;
    cf_arena *a = cf_arena_new(REQ_ARENA_MAX);
    cf_http_req *r = NULL;
    req_internal *in = NULL;

    if (a == NULL)
        return NULL;
    r = cf_arena_alloc(a, sizeof *r);
    in = cf_arena_alloc(a, sizeof *in);
    if (r == NULL || in == NULL) {
        cf_arena_destroy(a);
        return NULL;
    }
    r->arena = a;
    r->internal = in;
    r->start_us = mono_us();
    in->conn = conn;
    in->srv = srv;
    const union MHD_ConnectionInfo *sc =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    in->cs = sc != NULL ? sc->socket_context : NULL;
    r->raw_uri = cf_arena_str(a, cf_str_c(uri));
    cf_str path, query;
    r->has_query = cf_str_cut(r->raw_uri, '?', &path, &query);
    r->path = path;
    r->query = query;
    make_request_id(r->request_id);

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      r->remote_addr, sizeof r->remote_addr);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      r->remote_addr, sizeof r->remote_addr);
    }
    if (r->remote_addr[0] == 0)
        snprintf(r->remote_addr, sizeof r->remote_addr, "-");
    return r;
}

/* Keep MHD from decoding anything: the S3 layer needs the bytes as sent. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

typedef struct hdr_collect {
    cf_http_req *r;
    size_t cap;
    bool fail;
} hdr_collect;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    hdr_collect *hc = cls;
    cf_http_req *r = hc->r;
    (void)kind;
    if (r->nheaders == hc->cap) {
        hc->fail = true;
        return MHD_NO;
    }
    cf_kv *kv = &r->headers[r->nheaders++];
    kv->name = cf_str_make(key, key_size);
    kv->value = cf_str_make(value != NULL ? value : "", value != NULL ? value_size : 0);
    return MHD_YES;
}

cf_str cf_http_header(const cf_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (cf_str_ieq_c(r->headers[i].name, name))
            return r->headers[i].value;
    return CF_STR_NULL;
}

bool cf_http_has_header(const cf_http_req *r, const char *name)
{
    return cf_http_header(r, name).p != NULL;
}

bool cf_http_add_header(cf_http_req *r, const char *name, const char *value)
{
    return cf_http_add_header_str(r, name, cf_str_c(value));
}

bool cf_http_add_header_str(cf_http_req *r, const char *name, cf_str value)
{
    if (r->nresp_headers == r->capresp_headers) {
        size_t ncap = r->capresp_headers ? r->capresp_headers * 2 : 16;
        cf_http_resp_header *n = cf_arena_alloc(r->arena, ncap * sizeof *n);
        if (n == NULL)
            return false;
        if (r->nresp_headers)
            memcpy(n, r->resp_headers, r->nresp_headers * sizeof *n);
        r->resp_headers = n;
        r->capresp_headers = ncap;
    }
    char *nm = cf_arena_strdup(r->arena, name);
    char *v = cf_arena_strndup(r->arena, value.p ? value.p : "", value.len);
    if (nm == NULL || v == NULL)
        return false;
    /* Header values must not carry CR/LF: a stored value could otherwise split a response. */
    for (char *q = v; *q; q++)
        if (*q == '\r' || *q == '\n')
            *q = ' ';
    /* MHD refuses empty values; a lone space reads as empty to every client. */
    if (v[0] == 0)
        v = cf_arena_strdup(r->arena, " ");
    if (v == NULL)
        return false;
    r->resp_headers[r->nresp_headers].name = nm;
    r->resp_headers[r->nresp_headers].value = v;
    r->nresp_headers++;
    return true;
}

static void set_response(cf_http_req *r, int status, struct MHD_Response *resp, uint64_t out)
{
    req_internal *in = r->internal;
    if (resp == NULL) {
        cf_error("http: cannot create a response (out of memory)");
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = 500;
        out = 0;
        if (resp == NULL)
            return;
    }
    for (size_t i = 0; i < r->nresp_headers; i++)
        MHD_add_response_header(resp, r->resp_headers[i].name, r->resp_headers[i].value);
    MHD_add_response_header(resp, "x-amz-request-id", r->request_id);
    MHD_add_response_header(resp, "Server", "coffer");
    r->status = status;
    r->bytes_out = r->method == CF_HTTP_HEAD ? 0 : out;
    r->responded = true;
    in->resp = resp;
}

void cf_http_respond(cf_http_req *r, int status, cf_buf *body, const char *content_type)
{
    if (r->responded) {
        cf_buf_free(body);
        return;
    }
    size_t len = 0;
    char *p = body != NULL ? cf_buf_take(body, &len) : NULL;
    struct MHD_Response *resp;
    if (p != NULL)
        resp = MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        free(p);
    if (content_type != NULL && resp != NULL)
        MHD_add_response_header(resp, "Content-Type", content_type);
    set_response(r, status, resp, len);
}

void cf_http_respond_empty(cf_http_req *r, int status)
{
    cf_http_respond(r, status, NULL, NULL);
}

void cf_http_respond_fd(cf_http_req *r, int status, int fd, uint64_t off, uint64_t len)
{
    if (r->responded) {
        close(fd);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (resp == NULL)
        close(fd);
    set_response(r, status, resp, len);
}

static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    (void)buf;
    (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

void cf_http_respond_len_only(cf_http_req *r, int status, uint64_t len)
{
    if (r->responded)
        return;
    struct MHD_Response *resp =
        len == 0 ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
                 : MHD_create_response_from_callback(len, 4096, never_read, NULL, NULL);
    set_response(r, status, resp, 0);
}

typedef struct reader_resp {
    cf_http_read_fn read_fn;
    void *ctx;
    void (*free_fn)(void *ctx);
} reader_resp;

static ssize_t reader_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    reader_resp *rr = cls;
    ptrdiff_t n = rr->read_fn(rr->ctx, pos, buf, max);
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return (ssize_t)n;
}

static void reader_free(void *cls)
{
    reader_resp *rr = cls;
    if (rr->free_fn != NULL)
        rr->free_fn(rr->ctx);
    free(rr);
}

void cf_http_respond_reader(cf_http_req *r, int status, uint64_t len, cf_http_read_fn read_fn,
                            void *ctx, void (*free_fn)(void *ctx))
{
    reader_resp *rr = NULL;
    struct MHD_Response *resp = NULL;
    if (r->responded)
        goto fail;
    if (len == 0 || r->method == CF_HTTP_HEAD) {
        /* Nothing to read: answer the length alone and let go of the source now. */
        if (free_fn != NULL)
            free_fn(ctx);
        cf_http_respond_len_only(r, status, len);
        return;
    }
    rr = malloc(sizeof *rr);
    if (rr == NULL)
        goto fail;
    rr->read_fn = read_fn;
    rr->ctx = ctx;
    rr->free_fn = free_fn;
    /* MHD holds one block per response: 64 KiB keeps many streams cheap. */
    resp = MHD_create_response_from_callback(len, 64u << 10, reader_cb, rr, reader_free);
    if (resp == NULL) {
        free(rr);
        cf_error("http: cannot create a streaming response (out of memory)");
        if (free_fn != NULL)
            free_fn(ctx);
        set_response(r, status, NULL, 0);
        return;
    }
    set_response(r, status, resp, len);
    return;
fail:
    if (free_fn != NULL)
        free_fn(ctx);
}

static enum MHD_Result queue(cf_http_req *r)
{
    req_internal *in = r->internal;
    if (in->queued)
        return MHD_YES;
    in->queued = true;
    if (in->resp == NULL)
        return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(in->conn, (unsigned)r->status, in->resp);
    MHD_destroy_response(in->resp);
    in->resp = NULL;
    return ok;
}

static bool request_has_body(const cf_http_req *r)
{
    if (r->has_content_length)
        return r->content_length > 0;
    return cf_http_has_header(r, "transfer-encoding");
}

/* The answer to a request on a connection past max_connections; it closes the connection. */
static void answer_busy(cf_http_server *srv, cf_http_req *r)
{
    cf_http_add_header(r, "Connection", "close");
    cf_http_add_header(r, "Retry-After", "1");
    if (srv->on_busy != NULL)
        srv->on_busy(srv->busy_ctx, r);
    if (!r->responded)
        cf_http_respond_empty(r, 503);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    cf_http_server *srv = cls;
    cf_http_req *r = *con_cls;
    (void)url;
    (void)version;

    if (r == NULL)
        return MHD_NO; /* out of memory at on_uri */
    req_internal *in = r->internal;

    if (!in->started) {
        in->started = true;
        if (in->cs != NULL)
            atomic_store(&in->cs->head_deadline_us, 0);
        r->method_str = cf_arena_str(r->arena, cf_str_c(method));
        r->method = parse_method(r->method_str);
        /* MHD's memory limit bounds the count (431 past it): take every header, drop none. */
        int nh = MHD_get_connection_values_n(conn, MHD_HEADER_KIND, NULL, NULL);
        hdr_collect hc = {.r = r, .cap = nh > 0 ? (size_t)nh : 1};
        r->headers = cf_arena_alloc(r->arena, hc.cap * sizeof *r->headers);
        if (r->headers == NULL || r->method_str.p == NULL)
            return MHD_NO;
        MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, &hc);
        cf_str cl = cf_http_header(r, "content-length");
        if (cl.p != NULL && cf_str_to_u64(cl, &r->content_length))
            r->has_content_length = true;
        if (in->cs != NULL && in->cs->busy) {
            answer_busy(srv, r);
            return queue(r);
        }
        in->dispatched = true;
        srv->h.on_request(srv->h.ctx, r);
        /* MHD closes the connection after a response queued at this first call; that is
         * right when a body would otherwise have to be read, but a bodiless request's answer
         * waits for the next call so the connection stays alive. */
        if (r->responded && request_has_body(r))
            return queue(r);
        return MHD_YES;
    }
    if (!in->dispatched)
        return queue(r);
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        r->bytes_in += n;
        *upload_data_size = 0;
        if (!r->responded) {
            srv->h.on_body(srv->h.ctx, r, upload_data, n);
            return MHD_YES;
        }
        /* MHD sends no answer before the body's end, and clients read none before they
         * have sent it all: read on, but not without end (a chunked stream has none). */
        in->discarded += n;
        if (in->discarded > DISCARD_MAX) {
            cf_info("http: %s: closed the connection: the body goes on after the error answer",
                    r->request_id);
            return MHD_NO;
        }
        return MHD_YES;
    }
    in->completed = true;
    if (!r->responded)
        srv->h.on_complete(srv->h.ctx, r);
    if (!r->responded) {
        cf_error("http: handler did not respond to %.*s", CF_STR_FMT(r->method_str));
        cf_http_respond_empty(r, 500);
    }
    return queue(r);
}

static void log_access(cf_http_req *r, bool completed)
{
    int64_t dur = mono_us() - r->start_us;
    cf_buf key;
    cf_buf_init(&key, 4096);
    if (r->log_key.len > 0) {
        /* URL-encode so a key can never forge or split a log line. */
        static const char hex[] = "0123456789ABCDEF";
        for (size_t i = 0; i < r->log_key.len && key.len < 3000; i++) {
            unsigned char ch = (unsigned char)r->log_key.p[i];
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/')
                cf_buf_append_ch(&key, (char)ch);
            else {
                char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
                cf_buf_append(&key, e, 3);
            }
        }
    }
    cf_info("access %s %.*s %.*s %.*s %s %d %llu %llu %lld%s", r->request_id,
            CF_STR_FMT(r->log_access_key.len ? r->log_access_key : CF_STR("-")),
            CF_STR_FMT(r->method_str.len ? r->method_str : CF_STR("-")),
            CF_STR_FMT(r->log_bucket.len ? r->log_bucket : CF_STR("-")),
            key.len ? key.p : "-", r->status ? r->status : 0,
            (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, (long long)dur,
            completed ? "" : " aborted");
    cf_buf_free(&key);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    cf_http_server *srv = cls;
    cf_http_req *r = *con_cls;
    (void)conn;
    if (r == NULL)
        return;
    req_internal *in = r->internal;
    bool completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    /* The next request's headers are due within the timeout, as after the connect. */
    if (in->cs != NULL && srv->head_timeout_us > 0)
        atomic_store(&in->cs->head_deadline_us, mono_us() + srv->head_timeout_us);
    if (in->dispatched && srv->h.on_done != NULL)
        srv->h.on_done(srv->h.ctx, r, completed);
    if (in->started && srv->access_log)
        log_access(r, completed);
    if (in->resp != NULL)
        MHD_destroy_response(in->resp);
    *con_cls = NULL;
    cf_arena_destroy(r->arena);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    /* MHD reports client misbehaviour here too; that is not a server error. */
    cf_debug("mhd: %s", line);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    cf_http_server *srv = cls;
    conn_state *cs = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        cs = calloc(1, sizeof *cs);
        if (cs == NULL)
            return; /* served untracked: no 503 and no header deadline for it */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        cs->fd = ci != NULL ? ci->connect_fd : -1;
        int64_t now = mono_us();
        pthread_mutex_lock(&srv->mu);
        cs->busy = srv->nconns >= srv->max_connections;
        if (!cs->busy)
            srv->nconns++;
        int64_t t = srv->head_timeout_us;
        if (cs->busy && (t == 0 || t > BUSY_TIMEOUT_US))
            t = BUSY_TIMEOUT_US;
        atomic_store(&cs->head_deadline_us, t > 0 ? now + t : 0);
        cs->next = srv->conns;
        if (srv->conns != NULL)
            srv->conns->prev = cs;
        srv->conns = cs;
        pthread_mutex_unlock(&srv->mu);
        *socket_context = cs;
        return;
    }
    if (cs == NULL)
        return;
    /* MHD closes the socket only after this, so the reaper never sees a reused fd. */
    pthread_mutex_lock(&srv->mu);
    if (!cs->busy)
        srv->nconns--;
    if (cs->prev != NULL)
        cs->prev->next = cs->next;
    else
        srv->conns = cs->next;
    if (cs->next != NULL)
        cs->next->prev = cs->prev;
    pthread_mutex_unlock(&srv->mu);
    free(cs);
    *socket_context = NULL;
}

/* MHD's idle timeout restarts at every byte, so a client trickling a request's headers would
 * hold its connection forever: past the deadline the socket is shut down, and MHD, seeing
 * the end of the stream, closes the connection in its own thread. */
static void *reaper_main(void *arg)
{
    cf_http_server *srv = arg;
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += REAP_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->cv, &srv->mu, &ts);
        int64_t now = mono_us();
        unsigned n = 0;
        for (conn_state *cs = srv->conns; cs != NULL && !srv->stopping; cs = cs->next) {
            int64_t d = atomic_load(&cs->head_deadline_us);
            if (d == 0 || now < d || cs->reaped || cs->fd < 0)
                continue;
            shutdown(cs->fd, SHUT_RDWR);
            cs->reaped = true;
            n++;
        }
        if (n > 0)
            cf_info("http: closed %u connection%s whose request did not arrive in time", n,
                    n == 1 ? "" : "s");
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

static int listen_socket(const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        sl = sizeof *s6;
    } else {
        cf_error("http: listen address %s is not a numeric IPv4 or IPv6 address", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        cf_error("http: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        cf_error("http: cannot listen on %s port %u: %s", host, (unsigned)port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void free_server(cf_http_server *s)
{
    while (s->conns != NULL) {
        conn_state *cs = s->conns;
        s->conns = cs->next;
        free(cs);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void stop_reaper(cf_http_server *s)
{
    if (!s->reaper_running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->reaper, NULL);
    s->reaper_running = false;
}

cf_http_server *cf_http_start(const cf_http_options *o, const cf_http_handler *h)
{
    cf_http_server *s = calloc(1, sizeof *s);
    pthread_condattr_t ca;
    if (s == NULL)
        return NULL;
    s->h = *h;
    s->access_log = o->access_log;
    s->max_connections = o->max_connections ? o->max_connections : 1;
    s->head_timeout_us = (int64_t)o->idle_timeout_s * 1000000;
    s->on_busy = o->on_busy;
    s->busy_ctx = o->busy_ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->listen_fd = listen_socket(o->host, o->port);
    if (s->listen_fd < 0) {
        free_server(s);
        return NULL;
    }
    unsigned threads = o->threads ? o->threads : 1;
    unsigned margin = s->max_connections / 8;
    if (margin < BUSY_MARGIN_MIN)
        margin = BUSY_MARGIN_MIN;
    if (margin > BUSY_MARGIN_MAX)
        margin = BUSY_MARGIN_MAX;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO;
    struct MHD_OptionItem opts[16];
    size_t no = 0;
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL};
    /* MHD wants no pool at all rather than a pool of one. */
    if (threads > 1)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    /* MHD accepts a margin past the limit so those clients hear 503 instead of waiting. */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                         (intptr_t)(s->max_connections + margin), NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)o->idle_timeout_s,
                                         NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                         (intptr_t)CONN_MEMORY_LIMIT, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (s->d == NULL) {
        cf_error("http: cannot start the HTTP server on %s port %u", o->host, (unsigned)o->port);
        close(s->listen_fd);
        free_server(s);
        return NULL;
    }
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0)
        cf_warn("http: no header-deadline thread; slow request headers wait for the idle timeout");
    else
        s->reaper_running = true;
    return s;
}

void cf_http_stop(cf_http_server *s)
{
    if (s == NULL)
        return;
    stop_reaper(s);
    MHD_stop_daemon(s->d); /* closes the listen socket too */
    free_server(s);
}
