/* Per-request arena: many small allocations, one free. Cleanups (close an fd, unlink a
 * temp file) run in reverse order of registration when the arena is destroyed, so an
 * aborted request leaves nothing behind (nginx's pool cleanups). */
#ifndef COFFER_CORE_ARENA_H
#define COFFER_CORE_ARENA_H

#include <stddef.h>

#include "core/str.h"

typedef struct cf_arena cf_arena;
typedef void (*cf_cleanup_fn)(void *data);

/* Returns NULL on allocation failure. `max` bounds the total bytes handed out (0: 64 MiB). */
cf_arena *cf_arena_new(size_t max);
/* Runs the cleanups, then frees every allocation and the arena itself. NULL is a no-op. */
void cf_arena_destroy(cf_arena *a);

/* Memory owned by the arena, 16-byte aligned, zeroed. NULL when out of memory or over max. */
void *cf_arena_alloc(cf_arena *a, size_t n);
/* Arena copies; the result is NUL-terminated. NULL on failure. */
char *cf_arena_strndup(cf_arena *a, const char *p, size_t n);
char *cf_arena_strdup(cf_arena *a, const char *s);
cf_str cf_arena_str(cf_arena *a, cf_str s); /* .p NULL on failure */
char *cf_arena_printf(cf_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Registers fn(data) to run at destroy. Returns a handle for cf_arena_cleanup_cancel,
 * or NULL on failure (in which case fn is run at once, so nothing leaks). */
void *cf_arena_cleanup_add(cf_arena *a, cf_cleanup_fn fn, void *data);
/* Forgets a registered cleanup (e.g. the temp file was published). */
void cf_arena_cleanup_cancel(void *handle);

/* Bytes handed out so far. */
size_t cf_arena_used(const cf_arena *a);

#endif
