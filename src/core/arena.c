#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN       16
#define CHUNK_SIZE  ((size_t)16 << 10) /* usable bytes in a normal chunk */
#define DEFAULT_MAX ((size_t)64 << 20)

typedef struct chunk {
    struct chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* Keeps the data that follows the header 16-byte aligned. */
    _Alignas(ALIGN) unsigned char data[];
} chunk;

typedef struct cleanup {
    struct cleanup *prev, *next;
    struct cf_arena *owner; /* lets cancel unlink by handle alone */
    cf_cleanup_fn fn;
    void *data;
} cleanup;

struct cf_arena {
    chunk *head;   /* current bump chunk */
    chunk *big;    /* dedicated chunks for large allocations */
    cleanup *last; /* most recently registered; run from here backwards */
    size_t used;
    size_t max;
};

static chunk *chunk_new(size_t size)
{
    chunk *c;
    if (size > SIZE_MAX - sizeof(chunk))
        return NULL;
    c = calloc(1, sizeof(chunk) + size);
    if (!c)
        return NULL;
    c->size = size;
    return c;
}

cf_arena *cf_arena_new(size_t max)
{
    cf_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->max = max ? max : DEFAULT_MAX;
    return a;
}

static void free_chunks(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

void cf_arena_destroy(cf_arena *a)
{
    cleanup *c;
    if (!a)
        return;
    /* Cleanups first, newest to oldest, while their data (maybe arena memory) is alive. */
    c = a->last;
    while (c) {
        cleanup *prev = c->prev;
        c->fn(c->data);
        free(c);
        c = prev;
    }
    free_chunks(a->head);
    free_chunks(a->big);
    free(a);
}

void *cf_arena_alloc(cf_arena *a, size_t n)
{
    size_t rounded;
    chunk *c;
    void *p;
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - (ALIGN - 1))
        return NULL;
    rounded = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (rounded > a->max || a->used > a->max - rounded)
        return NULL;
    if (rounded > CHUNK_SIZE / 4) {
        /* Large: its own chunk, so it doesn't waste the tail of the bump chunk. */
        c = chunk_new(rounded);
        if (!c)
            return NULL;
        c->used = rounded;
        c->next = a->big;
        a->big = c;
        a->used += rounded;
        return c->data;
    }
    c = a->head;
    if (!c || c->size - c->used < rounded) {
        c = chunk_new(CHUNK_SIZE);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += rounded;
    a->used += rounded;
    return p; /* zeroed: chunks come from calloc and are never reused */
}

char *cf_arena_strndup(cf_arena *a, const char *p, size_t n)
{
    char *d;
    if (n == SIZE_MAX)
        return NULL;
    d = cf_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

char *cf_arena_strdup(cf_arena *a, const char *s)
{
    return cf_arena_strndup(a, s, strlen(s));
}

cf_str cf_arena_str(cf_arena *a, cf_str s)
{
    char *d = cf_arena_strndup(a, s.p, s.len);
    return cf_str_make(d, d ? s.len : 0);
}

char *cf_arena_printf(cf_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *d = NULL;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto out;
    d = cf_arena_alloc(a, (size_t)n + 1);
    if (!d)
        goto out;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
out:
    return d;
}

void *cf_arena_cleanup_add(cf_arena *a, cf_cleanup_fn fn, void *data)
{
    /* Plain malloc (not arena memory): it must be unlinkable and must not count to max. */
    cleanup *c = calloc(1, sizeof(*c));
    if (!c) {
        fn(data);
        return NULL;
    }
    c->owner = a;
    c->fn = fn;
    c->data = data;
    c->prev = a->last;
    if (a->last)
        a->last->next = c;
    a->last = c;
    return c;
}

void cf_arena_cleanup_cancel(void *handle)
{
    cleanup *c = handle;
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        c->owner->last = c->prev;
    free(c);
}

size_t cf_arena_used(const cf_arena *a)
{
    return a->used;
}
