/* Shared by the libFuzzer targets: the entry point's prototype, a cursor that carves an input
 * into lines and small numbers, and a property check that aborts (libFuzzer then saves the
 * input as a crash). */
#ifndef COFFER_FUZZ_FUZZ_H
#define COFFER_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property that must hold for every input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* 2026-01-01T00:00:00Z: every target runs with this clock, so a crash replays exactly. */
#define FUZZ_NOW_MS INT64_C(1767225600000)

static inline int64_t fuzz_clock(void *ctx)
{
    (void)ctx;
    return FUZZ_NOW_MS;
}

static inline void fuzz_fixed_clock(void)
{
    cf_clock_set(fuzz_clock, NULL);
}

typedef struct fuzz_in {
    const char *p;
    size_t len, i;
} fuzz_in;

static inline fuzz_in fuzz_in_make(const uint8_t *data, size_t size)
{
    fuzz_in in = {(const char *)data, size, 0};
    return in;
}

static inline size_t fuzz_left(const fuzz_in *in)
{
    return in->len - in->i;
}

/* The next line without its '\n' (a final line needs none); empty slice, not NULL, at the
 * end, so targets see empty values rather than absent ones. */
static inline cf_str fuzz_line(fuzz_in *in)
{
    const char *start = in->p + in->i;
    const char *nl = memchr(start, '\n', fuzz_left(in));
    size_t n = nl ? (size_t)(nl - start) : fuzz_left(in);
    in->i += n + (nl != NULL);
    return cf_str_make(n ? start : "", n);
}

/* Whatever is left. */
static inline cf_str fuzz_rest(fuzz_in *in)
{
    cf_str s = cf_str_make(fuzz_left(in) ? in->p + in->i : "", fuzz_left(in));
    in->i = in->len;
    return s;
}

static inline uint8_t fuzz_byte(fuzz_in *in)
{
    return fuzz_left(in) ? (uint8_t)in->p[in->i++] : 0;
}

/* "name: value" (or "name:value") into kv; false when there is no ':'. */
static inline int fuzz_header(cf_str line, cf_kv *kv)
{
    cf_str name, value;
    if (!cf_str_cut(line, ':', &name, &value))
        return 0;
    kv->name = name;
    kv->value = cf_str_trim(value);
    return 1;
}

/* Whether slice s lies inside [base, base + len) (empty slices anywhere inside or at end). */
static inline int fuzz_inside(cf_str s, const char *base, size_t len)
{
    if (s.len == 0)
        return 1;
    return s.p >= base && s.p + s.len <= base + len;
}

/* A deterministic slice size sequence for feeding streams in pieces (1..max). */
static inline size_t fuzz_next_split(uint32_t *state, size_t max)
{
    *state = *state * 1103515245u + 12345u;
    return max ? 1 + (*state >> 8) % max : 1;
}

#endif
