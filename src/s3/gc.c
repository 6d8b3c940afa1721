/* The blob garbage collector. Commits queue replaced, deleted, aborted and superseded blobs in
 * the metadata store's gc_queue in the same transaction; this thread removes them afterwards
 * (a crash in between leaves them queued, and start-up recovery or the next pass finishes).
 *
 * Readers that stream a segmented object open its blobs one at a time, so a segment could be
 * removed under a GET that has not reached it yet: such a reader leases the ids first, and a
 * leased id is skipped until released. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "s3/s3_int.h"

#define DEFAULT_INTERVAL_MS 5000
/* Removals per pass before the stop flag and new wake-ups are looked at again. */
#define PASS_BUDGET 2000

struct cf_s3_gc {
    cf_meta *meta;
    cf_blob_store *blob;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wake; /* a pass was asked for */
    bool stop;
    bool skipped;        /* the last pass left leased ids queued */
    cf_s3_lease *leases; /* doubly linked, newest first */
};

typedef struct pass {
    cf_s3_gc *g;
    unsigned budget;
    bool more;    /* the budget ran out: another pass follows at once */
    bool skipped; /* some id was leased */
    unsigned removed;
    unsigned failed;
} pass;

static int cmp_id(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

/* Caller holds g->mu. */
static bool is_leased(const cf_s3_gc *g, const char *id)
{
    for (const cf_s3_lease *l = g->leases; l != NULL; l = l->next)
        if (l->n > 0 && bsearch(id, l->ids, l->n, sizeof *l->ids, cmp_id) != NULL)
            return true;
    return false;
}

static void collect(void *ctx, const char *id)
{
    pass *p = ctx;
    cf_s3_gc *g = p->g;
    bool leased, stop, ref = true;

    if (p->budget == 0) {
        p->more = true;
        return;
    }
    pthread_mutex_lock(&g->mu);
    leased = is_leased(g, id);
    stop = g->stop;
    pthread_mutex_unlock(&g->mu);
    if (stop) {
        p->budget = 0;
        return;
    }
    if (leased) {
        p->skipped = true;
        return;
    }
    p->budget--;
    /* A queued id is never referenced; if one ever is, keeping the bytes is the safe side. */
    cf_rc rc = cf_meta_call(g->meta, blob_referenced, id, &ref);
    if (rc == CF_OK && ref) {
        cf_warn("gc: queued blob %s is still referenced: kept", id);
        rc = cf_meta_call(g->meta, gc_done, id);
    } else if (rc == CF_OK) {
        /* Twice: a writer may publish (move out of staging) a blob that was replaced
         * between its commit and its publish while the first remove runs; once the first
         * remove has cleared staging, the second one catches a blob so moved. */
        rc = g->blob->ops->remove(g->blob, id);
        if (rc == CF_OK)
            rc = g->blob->ops->remove(g->blob, id);
        if (rc == CF_OK)
            rc = cf_meta_call(g->meta, gc_done, id);
        if (rc == CF_OK)
            p->removed++;
    }
    if (rc != CF_OK && p->failed++ == 0)
        cf_warn("gc: blob %s stays queued: %s", id, cf_rc_str(rc));
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *gc_main(void *arg)
{
    cf_s3_gc *g = arg;
    bool again = true; /* a first pass at start: recovery may have left work */

    for (;;) {
        pthread_mutex_lock(&g->mu);
        if (!again && !g->wake && !g->stop) {
            struct timespec ts;
            deadline_in(&ts, g->interval_ms);
            while (!g->wake && !g->stop)
                if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
                    break;
        }
        bool stop = g->stop;
        g->wake = false;
        pthread_mutex_unlock(&g->mu);
        if (stop)
            break;

        pass p = {.g = g, .budget = PASS_BUDGET};
        cf_rc rc = cf_meta_call(g->meta, gc_pending, collect, &p);
        if (rc != CF_OK)
            cf_warn("gc: cannot read the queue: %s", cf_rc_str(rc));
        if (p.removed > 0)
            cf_debug("gc: %u blobs removed", p.removed);
        if (p.failed > 1)
            cf_warn("gc: %u blobs could not be removed; retrying later", p.failed);
        pthread_mutex_lock(&g->mu);
        g->skipped = p.skipped;
        pthread_mutex_unlock(&g->mu);
        /* Failures wait for the timer rather than spinning. */
        again = p.more && rc == CF_OK;
    }
    return NULL;
}

cf_s3_gc *cf_s3_gc_start(cf_meta *meta, cf_blob_store *blob, unsigned interval_ms)
{
    cf_s3_gc *g = calloc(1, sizeof *g);
    pthread_condattr_t ca;
    bool mu = false, cv = false;

    if (g == NULL)
        goto fail;
    g->meta = meta;
    g->blob = blob;
    g->interval_ms = interval_ms ? interval_ms : DEFAULT_INTERVAL_MS;
    if (pthread_mutex_init(&g->mu, NULL) != 0)
        goto fail;
    mu = true;
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    /* The wall clock may jump (and tests shift it); the timer must not. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    cv = pthread_cond_init(&g->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cv)
        goto fail;
    if (pthread_create(&g->thread, NULL, gc_main, g) != 0)
        goto fail;
    return g;
fail:
    cf_error("gc: cannot start the garbage collector");
    if (cv)
        pthread_cond_destroy(&g->cv);
    if (mu)
        pthread_mutex_destroy(&g->mu);
    free(g);
    return NULL;
}

void cf_s3_gc_stop(cf_s3_gc *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    if (g->leases != NULL)
        cf_warn("gc: stopped with read leases still held");
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void cf_s3_gc_wake(cf_s3_gc *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    if (!g->wake) {
        g->wake = true;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}

void cf_s3_gc_lease(cf_s3_gc *g, cf_s3_lease *l)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    if (l->linked) {
        pthread_mutex_unlock(&g->mu);
        return;
    }
    l->linked = true;
    l->prev = NULL;
    l->next = g->leases;
    if (g->leases != NULL)
        g->leases->prev = l;
    g->leases = l;
    pthread_mutex_unlock(&g->mu);
}

void cf_s3_gc_release(cf_s3_gc *g, cf_s3_lease *l)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    /* Unlinking a lease that is not on the list would cut off every lease after it. */
    if (!l->linked) {
        pthread_mutex_unlock(&g->mu);
        return;
    }
    l->linked = false;
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        g->leases = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
    /* What the lease held back can go now. */
    if (g->skipped && !g->wake) {
        g->wake = true;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}
