/* Unit tests for the hashing pool (core/workq.c): every job runs exactly once, a waiter runs a
 * job no thread has taken yet, and one owner's chained jobs run in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/workq.h"

typedef struct job {
    cf_work work; /* first */
    atomic_int runs;
    pthread_t ran_on;
    unsigned seq;    /* for the ordering test */
    uint64_t *chain; /* folded in order by chained jobs */
} job;

static void count_run(cf_work *w)
{
    job *j = (job *)w;
    j->ran_on = pthread_self();
    atomic_fetch_add(&j->runs, 1);
}

static void test_each_job_runs_once(void **state)
{
    (void)state;
    enum { N = 2000 };
    static job jobs[N];
    memset(jobs, 0, sizeof jobs);
    cf_workq *q = cf_workq_new(3);
    assert_non_null(q);
    for (int i = 0; i < N; i++) {
        jobs[i].work.fn = count_run;
        cf_workq_submit(q, &jobs[i].work);
    }
    for (int i = N - 1; i >= 0; i--)
        cf_workq_wait(q, &jobs[i].work);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&jobs[i].runs), 1);
    /* A second wait, and a wait for a job never submitted, return at once. */
    cf_workq_wait(q, &jobs[0].work);
    job never = {.work.fn = count_run};
    cf_workq_wait(q, &never.work);
    assert_int_equal(atomic_load(&never.runs), 0);
    cf_workq_free(q);
}

/* Holds the pool's only thread until released. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_state; /* 0 closed, 1 a job is inside, 2 open */

static void gate_run(cf_work *w)
{
    pthread_mutex_lock(&gate_mu);
    gate_state = gate_state == 2 ? 2 : 1;
    pthread_cond_broadcast(&gate_cv);
    while (gate_state != 2)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    count_run(w);
}

static void test_waiter_runs_a_queued_job(void **state)
{
    (void)state;
    cf_workq *q = cf_workq_new(1);
    assert_non_null(q);
    job blocker = {.work.fn = gate_run}, mine = {.work.fn = count_run};
    gate_state = 0;
    cf_workq_submit(q, &blocker.work);
    pthread_mutex_lock(&gate_mu);
    while (gate_state != 1) /* the pool's thread is stuck in blocker */
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);

    cf_workq_submit(q, &mine.work);
    cf_workq_wait(q, &mine.work); /* would hang if it waited for the pool */
    assert_int_equal(atomic_load(&mine.runs), 1);
    assert_true(pthread_equal(mine.ran_on, pthread_self()));

    pthread_mutex_lock(&gate_mu);
    gate_state = 2;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    cf_workq_wait(q, &blocker.work);
    assert_int_equal(atomic_load(&blocker.runs), 1);
    assert_false(pthread_equal(blocker.ran_on, pthread_self()));
    cf_workq_free(q);
}

static void chain_run(cf_work *w)
{
    job *j = (job *)w;
    *j->chain = *j->chain * 1000003u + j->seq; /* order-sensitive */
}

typedef struct owner {
    cf_workq *q;
    unsigned id;
    uint64_t got;
} owner;

/* One owner reusing one job, waiting before each resubmit, as an upload's blocks do. */
static void *owner_main(void *arg)
{
    owner *o = arg;
    job j = {.work.fn = chain_run, .chain = &o->got};
    for (unsigned i = 0; i < 5000; i++) {
        cf_workq_wait(o->q, &j.work);
        j.seq = o->id * 100000 + i;
        cf_workq_submit(o->q, &j.work);
    }
    cf_workq_wait(o->q, &j.work);
    return NULL;
}

static void test_chained_jobs_keep_their_order(void **state)
{
    (void)state;
    enum { OWNERS = 4 };
    cf_workq *q = cf_workq_new(2);
    assert_non_null(q);
    owner o[OWNERS];
    pthread_t t[OWNERS];
    for (unsigned i = 0; i < OWNERS; i++) {
        o[i] = (owner){.q = q, .id = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, owner_main, &o[i]), 0);
    }
    for (unsigned i = 0; i < OWNERS; i++)
        pthread_join(t[i], NULL);
    for (unsigned i = 0; i < OWNERS; i++) {
        uint64_t want = 0;
        for (unsigned k = 0; k < 5000; k++)
            want = want * 1000003u + (o[i].id * 100000 + k);
        assert_true(o[i].got == want);
    }
    cf_workq_free(q);
}

static void test_without_a_pool_jobs_run_inline(void **state)
{
    (void)state;
    job j = {.work.fn = count_run};
    cf_workq_submit(NULL, &j.work);
    assert_int_equal(atomic_load(&j.runs), 1);
    assert_true(pthread_equal(j.ran_on, pthread_self()));
    cf_workq_wait(NULL, &j.work);
    assert_int_equal(atomic_load(&j.runs), 1);
    cf_workq_free(NULL);
    assert_null(cf_workq_new(0));
}

static void test_free_runs_what_is_queued(void **state)
{
    (void)state;
    enum { N = 500 };
    static job jobs[N];
    memset(jobs, 0, sizeof jobs);
    cf_workq *q = cf_workq_new(2);
    assert_non_null(q);
    for (int i = 0; i < N; i++) {
        jobs[i].work.fn = count_run;
        cf_workq_submit(q, &jobs[i].work);
    }
    cf_workq_free(q);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&jobs[i].runs), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_job_runs_once),
        cmocka_unit_test(test_waiter_runs_a_queued_job),
        cmocka_unit_test(test_chained_jobs_keep_their_order),
        cmocka_unit_test(test_without_a_pool_jobs_run_inline),
        cmocka_unit_test(test_free_runs_what_is_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
