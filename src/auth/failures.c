#include "auth/failures.h"

#include <pthread.h>
#include <string.h>

#define ADDR_MAX 64
#define PROBES 8

typedef struct slot {
    char addr[ADDR_MAX];
    uint8_t len;
    uint32_t count;
    int64_t window_start;
    int64_t last;
} slot;

static slot table[CF_AUTHFAIL_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(cf_str s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < s.len; i++)
        h = (h ^ (uint8_t)s.p[i]) * 16777619u;
    return h;
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
        if (victim == NULL || s->last < victim->last)
            victim = s;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof *victim);
    memcpy(victim->addr, addr.p, addr.len);
    victim->len = (uint8_t)addr.len;
    return victim;
}

static uint32_t update(cf_str addr, int64_t now_ms, bool record)
{
    uint32_t n = 0;
    if (addr.len == 0 || addr.len >= ADDR_MAX)
        return 0;
    pthread_mutex_lock(&lock);
    slot *s = find(addr, record);
    if (s != NULL) {
        if (now_ms - s->window_start >= CF_AUTHFAIL_WINDOW_MS) {
            s->window_start = now_ms;
            s->count = 0;
        }
        if (record) {
            s->count++;
            s->last = now_ms;
        }
        n = s->count;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

uint32_t cf_authfail_note(cf_str addr, int64_t now_ms)
{
    return update(addr, now_ms, true);
}

uint32_t cf_authfail_count(cf_str addr, int64_t now_ms)
{
    return update(addr, now_ms, false);
}
