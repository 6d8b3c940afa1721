/* Growable byte buffer with a hard maximum (like curl's dynbuf): appends past `max`
 * fail with CF_ETOOBIG and leave the buffer unchanged. The buffer owns `p`; free with
 * cf_buf_free. Contents are always NUL-terminated (the NUL is not counted in len). */
#ifndef COFFER_CORE_BUF_H
#define COFFER_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/rc.h"
#include "core/str.h"

typedef struct cf_buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
} cf_buf;

void cf_buf_init(cf_buf *b, size_t max);
void cf_buf_free(cf_buf *b);
void cf_buf_reset(cf_buf *b); /* len = 0, keeps memory */
cf_rc cf_buf_append(cf_buf *b, const void *p, size_t n);
cf_rc cf_buf_append_str(cf_buf *b, cf_str s);
cf_rc cf_buf_append_c(cf_buf *b, const char *s);
cf_rc cf_buf_append_ch(cf_buf *b, char c);
cf_rc cf_buf_printf(cf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cf_rc cf_buf_vprintf(cf_buf *b, const char *fmt, va_list ap);
/* Appends s with &<>"' escaped for XML text and attributes. */
cf_rc cf_buf_append_xml(cf_buf *b, cf_str s);
cf_str cf_buf_str(const cf_buf *b);
/* Hands the memory to the caller (free()); the buffer is left empty. */
char *cf_buf_take(cf_buf *b, size_t *len);

#endif
