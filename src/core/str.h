/* Length-carrying string slices. Parsed input is never assumed NUL-terminated. */
#ifndef COFFER_CORE_STR_H
#define COFFER_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cf_str {
    const char *p;
    size_t len;
} cf_str;

/* A name/value pair (headers, query parameters). */
typedef struct cf_kv {
    cf_str name;
    cf_str value;
} cf_kv;

#define CF_STR(lit) ((cf_str){(lit), sizeof(lit) - 1})
#define CF_STR_NULL ((cf_str){NULL, 0})
/* printf("%.*s", CF_STR_FMT(s)) */
#define CF_STR_FMT(s) (int)(s).len, (s).p

/* A slice of a NUL-terminated string (NULL gives the empty slice). */
cf_str cf_str_c(const char *s);
cf_str cf_str_make(const char *p, size_t len);

bool cf_str_eq(cf_str a, cf_str b);
bool cf_str_eq_c(cf_str a, const char *lit);
bool cf_str_ieq_c(cf_str a, const char *lit); /* ASCII case-insensitive */
bool cf_str_ieq(cf_str a, cf_str b);          /* ASCII case-insensitive */
bool cf_str_starts(cf_str s, cf_str prefix);
bool cf_str_starts_c(cf_str s, const char *prefix);
int cf_str_cmp(cf_str a, cf_str b); /* memcmp order, shorter first on tie */

/* Index of the first c in s, or -1. */
ptrdiff_t cf_str_find(cf_str s, char c);
cf_str cf_str_sub(cf_str s, size_t from, size_t len); /* clamped to s */
cf_str cf_str_trim(cf_str s);                          /* strips SP and HTAB */

/* Splits at the first sep: *head gets what is before, returns true and *tail what is after;
 * without sep, *head = s, *tail empty, returns false. */
bool cf_str_cut(cf_str s, char sep, cf_str *head, cf_str *tail);

/* Strict decimal parsing: digits only, no sign, no spaces, no overflow. */
bool cf_str_to_u64(cf_str s, uint64_t *out);
bool cf_str_to_i64(cf_str s, int64_t *out); /* optional leading '-' */
/* Strict hex of exactly 2*n digits into n bytes. */
bool cf_str_hex_decode(cf_str s, uint8_t *out, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void cf_hex_encode(const uint8_t *in, size_t n, char *out);

/* Constant-time equality of two equal-length byte strings (false if lengths differ). */
bool cf_ct_eq(const void *a, size_t alen, const void *b, size_t blen);

/* True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool cf_utf8_valid(cf_str s);

#endif
