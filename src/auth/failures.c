#include "auth/failures.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/log.h"

#define ADDR_MAX 64
#define PROBES 8

typedef struct slot {
    char addr[ADDR_MAX];
    uint8_t len;
    uint8_t strikes; /* lockouts in this window: the next one lasts base << strikes */
    uint32_t count;
    int64_t window_start;
    int64_t last;
    int64_t locked_until;
} slot;

static slot table[CF_AUTHFAIL_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t fail_limit = CF_AUTHFAIL_DEFAULT_LIMIT;
static int64_t lockout_ms = CF_AUTHFAIL_DEFAULT_LOCKOUT_S * 1000LL;
/* The latest end of any lockout: every request asks, and almost always needs no lock. */
static _Atomic int64_t horizon;

void cf_authfail_configure(uint32_t limit, int64_t lockout)
{
    pthread_mutex_lock(&lock);
    fail_limit = limit;
    lockout_ms = lockout > 0 ? lockout : 1;
    pthread_mutex_unlock(&lock);
}

static uint32_t hash(cf_str s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (uint8_t)s.p[i]) * 16777619u;
    return h;
}

/* Eviction order: a locked-out address counts as fresh until its lockout ends, so rotating
 * through other addresses does not free it early. */
static int64_t staleness(const slot *s)
{
    return s->locked_until > s->last ? s->locked_until : s->last;
}

/* The slot of addr, or (create) the stalest of its probe window reset for it. */
static slot *find(cf_str addr, bool create)
{
    uint32_t h = hash(addr);
    slot *victim = NULL;
    for (uint32_t i = 0; i < PROBES; i++) {
        slot *s = &table[(h + i) % CF_AUTHFAIL_SLOTS];
        if (s->len == addr.len && memcmp(s->addr, addr.p, addr.len) == 0)
            return s;
        if (victim == NULL || staleness(s) < staleness(victim))
            victim = s;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->addr, addr.p, addr.len);
    victim->len = (uint8_t)addr.len;
    return victim;
}

/* A window that has run out starts over, unless a lockout from it is still running. */
static void roll(slot *s, int64_t now_ms)
{
    if (now_ms - s->window_start >= CF_AUTHFAIL_WINDOW_MS && now_ms >= s->locked_until) {
        s->window_start = now_ms;
        s->count = 0;
        s->strikes = 0;
    }
}

uint32_t cf_authfail_note(cf_str addr, int64_t now_ms)
{
    uint32_t n = 0;
    int64_t locked_for = 0;
    if (addr.len == 0 || addr.len >= ADDR_MAX)
        return 0;
    pthread_mutex_lock(&lock);
    slot *s = find(addr, true);
    roll(s, now_ms);
    s->count++;
    s->last = now_ms;
    n = s->count;
    /* Requests already past the check when the lockout began do not extend it. */
    if (fail_limit > 0 && n >= fail_limit && now_ms >= s->locked_until) {
        uint32_t mult = 1u << s->strikes;
        locked_for = lockout_ms * (mult < CF_AUTHFAIL_MAX_BACKOFF ? mult : CF_AUTHFAIL_MAX_BACKOFF);
        s->locked_until = now_ms + locked_for;
        if (s->locked_until > atomic_load(&horizon))
            atomic_store(&horizon, s->locked_until);
        if (mult < CF_AUTHFAIL_MAX_BACKOFF)
            s->strikes++;
    }
    pthread_mutex_unlock(&lock);
    if (locked_for > 0)
        cf_warn("auth: %.*s locked out for %lld s after %u failed authentications in 10 minutes",
                CF_STR_FMT(addr), (long long)((locked_for + 999) / 1000), n);
    return n;
}

uint32_t cf_authfail_count(cf_str addr, int64_t now_ms)
{
    uint32_t n = 0;
    if (addr.len == 0 || addr.len >= ADDR_MAX)
        return 0;
    pthread_mutex_lock(&lock);
    slot *s = find(addr, false);
    if (s != NULL) {
        roll(s, now_ms);
        n = s->count;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

int64_t cf_authfail_locked(cf_str addr, int64_t now_ms)
{
    int64_t left = 0;
    if (addr.len == 0 || addr.len >= ADDR_MAX ||
        now_ms >= atomic_load_explicit(&horizon, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&lock);
    slot *s = find(addr, false);
    if (s != NULL && s->locked_until > now_ms)
        left = s->locked_until - now_ms;
    pthread_mutex_unlock(&lock);
    return left;
}
