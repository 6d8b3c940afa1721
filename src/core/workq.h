/* A fixed pool of threads for CPU work a request thread hands off and later waits for: an
 * upload's hashes run on a block while the request thread reads the next one. Jobs of one
 * owner never overlap when the owner waits for each before submitting the next. */
#ifndef COFFER_CORE_WORKQ_H
#define COFFER_CORE_WORKQ_H

typedef struct cf_workq cf_workq;

typedef struct cf_work {
    void (*fn)(struct cf_work *w); /* set by the caller before submit */
    /* The queue's own; zero-initialize. */
    struct cf_work *prev, *next;
    int state;
} cf_work;

/* threads >= 1. NULL on failure (out of memory, no thread could start). */
cf_workq *cf_workq_new(unsigned threads);
/* Runs what is still queued, joins the threads and frees q. No waiter may remain. NULL is a
 * no-op. */
void cf_workq_free(cf_workq *q);
/* Queues w, which must stay valid (and not be submitted again) until cf_workq_wait returns
 * for it. With q NULL, w runs here and now. */
void cf_workq_submit(cf_workq *q, cf_work *w);
/* Returns once w has run; runs it on the calling thread if no pool thread has taken it yet,
 * so a busy pool never makes a waiter wait for others' jobs. A no-op for a w that is not
 * submitted (never, or already waited for). */
void cf_workq_wait(cf_workq *q, cf_work *w);

#endif
