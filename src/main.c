/* cofferd: reads the settings, opens the data directory, recovers from any crash, and serves
 * S3 until SIGINT or SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "auth/cred.h"
#include "auth/failures.h"
#include "blob/blob_fs.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/s3err.h"
#include "http/http.h"
#include "meta/meta_sqlite.h"
#include "s3/lifecycle.h"
#include "s3/s3.h"

typedef struct recover_ctx {
    cf_meta *meta;
    cf_blob_store *blob;
    uint64_t gc;
} recover_ctx;

static void finish_gc(void *ctx, const char *id)
{
    recover_ctx *rc = ctx;
    if (rc->blob->ops->remove(rc->blob, id) == CF_OK &&
        cf_meta_call(rc->meta, gc_done, id) == CF_OK)
        rc->gc++;
}

static bool referenced(void *ctx, const char *id)
{
    recover_ctx *rc = ctx;
    bool yes = true; /* when unsure, keep the bytes */
    if (cf_meta_call(rc->meta, blob_referenced, id, &yes) != CF_OK)
        return true;
    return yes;
}

static int recover(cf_meta *m, cf_blob_store *b)
{
    recover_ctx rc = {.meta = m, .blob = b};
    uint64_t published = 0, removed = 0;
    if (cf_meta_call(m, gc_pending, finish_gc, &rc) != CF_OK)
        return -1;
    if (b->ops->recover(b, referenced, &rc, &published, &removed) != CF_OK)
        return -1;
    if (rc.gc || published || removed)
        cf_info("recovery: %llu queued blobs removed, %llu staged blobs published, %llu "
                "orphans removed",
                (unsigned long long)rc.gc, (unsigned long long)published,
                (unsigned long long)removed);
    return 0;
}

/* The S3 port's answer past --max-connections: SlowDown, which SDKs retry with backoff. */
static void s3_busy(void *ctx, cf_http_req *r)
{
    cf_buf b;
    (void)ctx;
    cf_buf_init(&b, 8192);
    cf_buf_printf(&b,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                  "<Message>%s</Message><Resource>",
                  cf_s3err_code(CF_S3_SlowDown), cf_s3err_message(CF_S3_SlowDown));
    cf_buf_append_xml(&b, cf_str_sub(r->path, 0, r->path.len < 2048 ? r->path.len : 2048));
    cf_buf_printf(&b, "</Resource><RequestId>%s</RequestId><HostId>%s</HostId></Error>",
                  r->request_id, r->request_id);
    if (r->method == CF_HTTP_HEAD) {
        cf_buf_free(&b);
        cf_http_respond_empty(r, cf_s3err_status(CF_S3_SlowDown));
        return;
    }
    cf_http_respond(r, cf_s3err_status(CF_S3_SlowDown), &b, "application/xml");
}

static void admin_busy(void *ctx, cf_http_req *r)
{
    cf_buf b;
    (void)ctx;
    cf_buf_init(&b, 256);
    cf_buf_append_c(&b, "{\"error\": {\"code\": \"too_many_requests\", \"message\": \"Too many "
                        "connections; retry later.\"}}");
    cf_http_respond(r, 503, &b, "application/json");
}

/* Each connection and each body being sent holds a descriptor: use all the system allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void banner(const cf_config *c, const cf_root_info *root)
{
    char host[128];
    uint16_t port = 0;
    cf_config_split_hostport(c->listen, host, sizeof host, &port);
    const char *fmt = strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u";
    char url[200];
    snprintf(url, sizeof url, fmt, host, (unsigned)port);
    char ahost[128], aurl[200];
    uint16_t aport = 0;
    cf_config_split_hostport(c->admin_listen, ahost, sizeof ahost, &aport);
    snprintf(aurl, sizeof aurl, strchr(ahost, ':') ? "http://[%s]:%u" : "http://%s:%u", ahost,
             (unsigned)aport);
    printf("coffer is serving S3 at %s (region %s, data in %s)\n"
           "credentials API at %s (COFFER_ADMIN_URL)\n",
           url, c->region, c->data_dir, aurl);
    if (root->created) {
        printf("\nA root credential was created. Its secrets are shown this once:\n"
               "  AWS_ACCESS_KEY_ID=%s\n  AWS_SECRET_ACCESS_KEY=%s\n  COFFER_TOKEN=%s\n\n"
               "Try:\n  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s "
               "aws --endpoint-url %s --region %s s3 ls\n",
               root->access_key, root->secret, root->token, root->access_key, root->secret, url,
               strcmp(c->region, "auto") == 0 ? "us-east-1" : c->region);
    } else {
        printf("Use the root credential printed at the first start (or COFFER_ROOT_* values).\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    cf_config cfg;
    cf_meta *meta = NULL;
    cf_blob_store *blob = NULL;
    cf_s3_gc *gc = NULL;
    cf_credcache *cache = NULL;
    cf_workq *hashq = NULL;
    cf_http_server *http = NULL, *admin_http = NULL;
    cf_s3_lifecycle *lifecycle = NULL;
    cf_keyring kr;
    cf_root_info root;
    char path[4200];
    int status = 1;
    sigset_t sigs;

    /* For the test that compares the served routes with docs/openapi.yaml. */
    if (argc == 2 && strcmp(argv[1], "--print-admin-routes") == 0) {
        cf_admin_print_routes();
        return 0;
    }
    int lr = cf_config_load(&cfg, argc, argv);
    if (lr != 0)
        return lr > 0 ? 0 : 2;
    cf_log_set_level((cf_log_level)cfg.log_level);
    cf_authfail_configure(cfg.auth_fail_limit, (int64_t)cfg.auth_fail_lockout_s * 1000);
    if (cfg.debug_clock_offset_ms != 0) {
        cf_clock_set_offset(cfg.debug_clock_offset_ms);
        cf_warn("clock shifted by %lld ms (testing only)", (long long)cfg.debug_clock_offset_ms);
    }
    if (!cfg.fsync)
        cf_warn("--fsync=never: a power loss may lose recently acknowledged writes");

    raise_fd_limit();
    if (mkdir(cfg.data_dir, 0750) != 0 && errno != EEXIST) {
        cf_error("cannot create the data directory %s: %s", cfg.data_dir, strerror(errno));
        goto out;
    }
    if (cf_keyring_load(cfg.data_dir, &kr) != CF_OK)
        goto out;
    snprintf(path, sizeof path, "%s/meta.db", cfg.data_dir);
    meta = cf_meta_sqlite_open(path, cfg.fsync);
    if (meta == NULL)
        goto out;
    blob = cf_blob_fs_open(cfg.data_dir, cfg.fsync);
    if (blob == NULL)
        goto out;
    if (recover(meta, blob) != 0) {
        cf_error("start-up recovery failed");
        goto out;
    }
    if (cf_cred_bootstrap_root(meta, &kr, cf_now_ms(), &root) != CF_OK) {
        cf_error("cannot create the root credential");
        goto out;
    }

    /* After recovery: the collector takes over the queue recovery has just drained. */
    gc = cf_s3_gc_start(meta, blob, 0);
    if (gc == NULL)
        goto out;
    /* Direct-mapped slots: a busy server's working set of signing credentials fits. */
    cache = cf_credcache_new(meta, &kr, 4096);
    if (cache == NULL)
        goto out;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg.threads ? cfg.threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    /* As many hashing threads as request threads: each request thread can keep one busy. */
    hashq = cf_workq_new(threads);
    if (hashq == NULL)
        cf_warn("no hashing threads: long uploads are hashed on the request threads");
    cf_s3 s3 = {
        .meta = meta,
        .blob = blob,
        .gc = gc,
        .auth = {.meta = meta, .keyring = &kr, .region = cfg.region, .cache = cache},
        .region = cfg.region,
        .domain = cfg.domain,
        .max_object_size = cfg.max_object_size,
        .hashq = hashq,
    };
    cf_admin admin = {.meta = meta, .blob = blob, .keyring = &kr, .region = cfg.region};
    cf_http_handler h, ah;
    cf_s3_handler(&s3, &h);
    cf_admin_handler(&admin, &ah);
    char host[128], ahost[128];
    uint16_t port, aport;
    if (!cf_config_split_hostport(cfg.listen, host, sizeof host, &port) ||
        !cf_config_split_hostport(cfg.admin_listen, ahost, sizeof ahost, &aport)) {
        cf_error("bad listen address");
        goto out;
    }
    cf_http_options ho = {
        .host = host,
        .port = port,
        .threads = threads,
        .max_connections = cfg.max_connections,
        .idle_timeout_s = cfg.idle_timeout_s,
        .access_log = cfg.access_log,
        .on_busy = s3_busy,
    };
    /* Block the signals before MHD starts its threads so only sigwait sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    http = cf_http_start(&ho, &h);
    if (http == NULL)
        goto out;
    cf_http_options aho = ho;
    aho.host = ahost;
    aho.port = aport;
    aho.threads = 1; /* the admin API is not the hot path */
    aho.max_connections = 256;
    aho.on_busy = admin_busy;
    admin_http = cf_http_start(&aho, &ah);
    if (admin_http == NULL)
        goto out;
    lifecycle = cf_s3_lifecycle_start(&s3, cfg.lifecycle_interval_s);
    if (lifecycle == NULL)
        goto out;
    cf_info("cofferd listening on %s (S3) and %s (admin), %u threads, fsync %s", cfg.listen,
            cfg.admin_listen, ho.threads, cfg.fsync ? "always" : "never");
    banner(&cfg, &root);

    int sig = 0;
    sigwait(&sigs, &sig);
    cf_info("signal %d: shutting down", sig);
    status = 0;
out:
    cf_s3_lifecycle_stop(lifecycle);
    cf_http_stop(admin_http);
    cf_http_stop(http);
    /* No request (and no streaming response holding a lease) is left. */
    cf_s3_gc_stop(gc);
    cf_workq_free(hashq);
    cf_credcache_free(cache);
    if (blob != NULL)
        blob->ops->close(blob);
    if (meta != NULL)
        meta->ops->close(meta);
    return status;
}
