#include "auth/credcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* An entry lives in its own arena together with its bookkeeping; requests pin it with a
 * reference released by their arena's cleanup. */
typedef struct slot_entry {
    cf_cred_entry e;
    cf_arena *arena;
    cf_str id;
    uint64_t epoch;
    atomic_uint refs;
} slot_entry;

#define LOCKS 64

struct cf_credcache {
    cf_meta *meta;
    const cf_keyring *kr;
    size_t nslots;
    slot_entry **slots; /* direct-mapped by the hash of the id */
    pthread_mutex_t locks[LOCKS];
};

/* Chains are short and policies small; this bounds a corrupt or hostile row. */
#define ENTRY_ARENA_MAX (8u << 20)

cf_rc cf_cred_entry_load(cf_meta *m, const cf_keyring *kr, cf_str id, cf_arena *a,
                         cf_cred_entry *out)
{
    cf_policy_error perr;
    cf_rc rc = cf_meta_call(m, cred_chain, id, CF_CREDCACHE_MAX_CHAIN, a, &out->chain,
                            &out->nchain);
    if (rc != CF_OK)
        return rc;
    if (out->nchain == 0 || !cf_str_eq(out->chain[0].id, id))
        return CF_ENOTFOUND;
    if (kr != NULL) {
        rc = cf_cred_open_row(kr, &out->chain[0], a, &out->cred);
        if (rc != CF_OK)
            return rc;
    } else {
        out->cred.row = out->chain[0];
    }
    for (size_t i = 0; i < out->nchain; i++) {
        cf_policy *p;
        if (cf_policy_parse(a, out->chain[i].policy, &p, &perr) != CF_OK) {
            cf_error("authz: the stored policy of %.*s does not parse: %s: %s",
                     CF_STR_FMT(out->chain[i].id), perr.field, perr.message);
            out->policy_error = "a stored policy does not parse";
            break;
        }
        out->policies[out->npolicies++] = p;
    }
    atomic_init(&out->touched_ms, out->chain[0].last_used_ms);
    return CF_OK;
}

cf_credcache *cf_credcache_new(cf_meta *m, const cf_keyring *kr, size_t slots)
{
    cf_credcache *cc = calloc(1, sizeof *cc);
    if (cc == NULL)
        return NULL;
    cc->meta = m;
    cc->kr = kr;
    cc->nslots = m->ops->cred_epoch != NULL ? slots : 0;
    if (cc->nslots > 0 && (cc->slots = calloc(cc->nslots, sizeof *cc->slots)) == NULL) {
        free(cc);
        return NULL;
    }
    for (size_t i = 0; i < LOCKS; i++)
        pthread_mutex_init(&cc->locks[i], NULL);
    return cc;
}

static void entry_destroy(slot_entry *se)
{
    /* The opened secrets and derived keys must not linger in freed memory. */
    if (se->e.cred.secret.len)
        explicit_bzero((char *)se->e.cred.secret.p, se->e.cred.secret.len);
    if (se->e.cred.old_secret.len)
        explicit_bzero((char *)se->e.cred.old_secret.p, se->e.cred.old_secret.len);
    if (se->e.memoized) {
        cf_sigv4_keymemo_destroy(&se->e.memo[0]);
        cf_sigv4_keymemo_destroy(&se->e.memo[1]);
    }
    cf_arena_destroy(se->arena);
}

static void entry_release(void *p)
{
    slot_entry *se = p;
    if (atomic_fetch_sub(&se->refs, 1) == 1)
        entry_destroy(se);
}

void cf_credcache_free(cf_credcache *cc)
{
    if (cc == NULL)
        return;
    for (size_t i = 0; i < cc->nslots; i++)
        if (cc->slots[i] != NULL)
            entry_release(cc->slots[i]);
    for (size_t i = 0; i < LOCKS; i++)
        pthread_mutex_destroy(&cc->locks[i]);
    free(cc->slots);
    free(cc);
}

static size_t hash_id(cf_str id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (uint8_t)id.p[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

/* A new entry in its own arena, holding one reference (the caller's). */
static cf_rc entry_new(cf_credcache *cc, cf_str id, uint64_t epoch, slot_entry **out)
{
    cf_arena *a = cf_arena_new(ENTRY_ARENA_MAX);
    slot_entry *se = a ? cf_arena_alloc(a, sizeof *se) : NULL;
    cf_rc rc = CF_ENOMEM;
    if (se == NULL)
        goto fail;
    se->arena = a;
    se->epoch = epoch;
    se->id = cf_arena_str(a, id);
    if (se->id.p == NULL)
        goto fail;
    rc = cf_cred_entry_load(cc->meta, cc->kr, id, a, &se->e);
    if (rc != CF_OK)
        goto fail;
    cf_sigv4_keymemo_init(&se->e.memo[0]);
    cf_sigv4_keymemo_init(&se->e.memo[1]);
    se->e.memoized = true;
    atomic_init(&se->refs, 1);
    *out = se;
    return CF_OK;
fail:
    if (se != NULL && se->e.chain != NULL) {
        /* loaded far enough to hold secrets: wipe them */
        atomic_init(&se->refs, 1);
        entry_release(se);
        return rc;
    }
    cf_arena_destroy(a);
    return rc;
}

/* Hands se (one reference already held for the caller) to arena a. */
static cf_rc pin(slot_entry *se, cf_arena *a, cf_cred_entry **out)
{
    if (cf_arena_cleanup_add(a, entry_release, se) == NULL)
        return CF_ENOMEM; /* the cleanup already ran: the reference is gone */
    *out = &se->e;
    return CF_OK;
}

cf_rc cf_credcache_get(cf_credcache *cc, cf_str id, cf_arena *a, cf_cred_entry **out)
{
    slot_entry *se = NULL, *old = NULL;
    *out = NULL;
    if (cc->nslots == 0) {
        cf_cred_entry *e = cf_arena_alloc(a, sizeof *e);
        if (e == NULL)
            return CF_ENOMEM;
        cf_rc rc = cf_cred_entry_load(cc->meta, cc->kr, id, a, e);
        if (rc == CF_OK)
            *out = e;
        return rc;
    }
    /* Read before loading: a write that lands while we load moves the epoch past the one the
     * entry records, so the next request reloads. */
    uint64_t epoch = cc->meta->ops->cred_epoch(cc->meta);
    size_t h = hash_id(id), i = h % cc->nslots;
    pthread_mutex_t *lk = &cc->locks[h % LOCKS];

    pthread_mutex_lock(lk);
    se = cc->slots[i];
    if (se != NULL && se->epoch == epoch && cf_str_eq(se->id, id))
        atomic_fetch_add(&se->refs, 1);
    else
        se = NULL;
    pthread_mutex_unlock(lk);
    if (se != NULL)
        return pin(se, a, out);

    cf_rc rc = entry_new(cc, id, epoch, &se);
    if (rc != CF_OK)
        return rc;
    atomic_fetch_add(&se->refs, 1); /* the slot's */
    pthread_mutex_lock(lk);
    old = cc->slots[i];
    cc->slots[i] = se;
    pthread_mutex_unlock(lk);
    if (old != NULL)
        entry_release(old);
    return pin(se, a, out);
}
