#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/str.h"

#define LINE_MAX_BYTES 4096

static atomic_int level = CF_LOG_INFO;

static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void cf_log_set_level(cf_log_level lvl)
{
    if ((int)lvl >= CF_LOG_DEBUG && (int)lvl <= CF_LOG_ERROR)
        atomic_store(&level, (int)lvl);
}

cf_log_level cf_log_get_level(void)
{
    return (cf_log_level)atomic_load(&level);
}

int cf_log_level_parse(const char *s)
{
    cf_str v = cf_str_c(s);
    if (cf_str_ieq_c(v, "debug"))
        return CF_LOG_DEBUG;
    if (cf_str_ieq_c(v, "info"))
        return CF_LOG_INFO;
    if (cf_str_ieq_c(v, "warn"))
        return CF_LOG_WARN;
    if (cf_str_ieq_c(v, "error"))
        return CF_LOG_ERROR;
    return -1;
}

void cf_log(cf_log_level lvl, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    size_t len, off = 0;
    int n;
    va_list ap;

    if ((int)lvl < atomic_load(&level) || (int)lvl < CF_LOG_DEBUG || (int)lvl > CF_LOG_ERROR)
        return;
    cf_time_iso8601(cf_now_ms(), line);
    len = strlen(line);
    line[len++] = ' ';
    n = snprintf(line + len, sizeof(line) - len, "%s ", names[lvl]);
    len += (size_t)n;
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    /* Truncated lines end in "..."; the last byte is kept for the newline. */
    if ((size_t)n >= sizeof(line) - len - 1) {
        len = sizeof(line) - 1;
        memcpy(line + len - 3, "...", 3);
    } else {
        len += (size_t)n;
    }
    /* One event, one line: a newline in a message must not forge another entry. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    /* A single write() keeps lines from concurrent threads whole. */
    while (off < len) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
}
