#include "core/workq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/log.h"

enum { W_IDLE = 0, W_QUEUED, W_RUNNING, W_DONE };

struct cf_workq {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* pool threads: a job was queued, or stop */
    pthread_cond_t done_cv; /* waiters: a job finished */
    cf_work *head, *tail;
    bool stop;
    unsigned nthreads;
    pthread_t *threads;
};

static void unlink_work(cf_workq *q, cf_work *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->prev = w->next = NULL;
}

/* With q->mu held: takes w off the queue and runs it unlocked. */
static void run_job(cf_workq *q, cf_work *w)
{
    unlink_work(q, w);
    w->state = W_RUNNING;
    pthread_mutex_unlock(&q->mu);
    w->fn(w);
    pthread_mutex_lock(&q->mu);
    w->state = W_DONE;
    pthread_cond_broadcast(&q->done_cv);
}

static void *pool_main(void *arg)
{
    cf_workq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stop)
            pthread_cond_wait(&q->work_cv, &q->mu);
        if (q->head == NULL)
            break; /* stopping, and nothing left */
        run_job(q, q->head);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

cf_workq *cf_workq_new(unsigned threads)
{
    cf_workq *q = calloc(1, sizeof *q);
    if (q == NULL || threads == 0)
        goto fail;
    q->threads = calloc(threads, sizeof *q->threads);
    if (q->threads == NULL)
        goto fail;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work_cv, NULL);
    pthread_cond_init(&q->done_cv, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&q->threads[i], NULL, pool_main, q) != 0) {
            cf_warn("workq: started %u of %u threads", i, threads);
            break;
        }
        q->nthreads++;
    }
    if (q->nthreads == 0) {
        cf_workq_free(q);
        return NULL;
    }
    return q;
fail:
    if (q != NULL)
        free(q->threads);
    free(q);
    return NULL;
}

void cf_workq_free(cf_workq *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->work_cv);
    pthread_mutex_unlock(&q->mu);
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->done_cv);
    pthread_cond_destroy(&q->work_cv);
    pthread_mutex_destroy(&q->mu);
    free(q->threads);
    free(q);
}

void cf_workq_submit(cf_workq *q, cf_work *w)
{
    if (q == NULL) {
        w->fn(w);
        w->state = W_IDLE;
        return;
    }
    pthread_mutex_lock(&q->mu);
    w->state = W_QUEUED;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    pthread_cond_signal(&q->work_cv);
    pthread_mutex_unlock(&q->mu);
}

void cf_workq_wait(cf_workq *q, cf_work *w)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    if (w->state == W_QUEUED)
        run_job(q, w);
    while (w->state == W_RUNNING)
        pthread_cond_wait(&q->done_cv, &q->mu);
    w->state = W_IDLE;
    pthread_mutex_unlock(&q->mu);
}
