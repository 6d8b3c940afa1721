/* Logging to stderr. Never pass a secret, a signature or a token to these functions. */
#ifndef COFFER_CORE_LOG_H
#define COFFER_CORE_LOG_H

typedef enum cf_log_level {
    CF_LOG_DEBUG = 0,
    CF_LOG_INFO,
    CF_LOG_WARN,
    CF_LOG_ERROR,
} cf_log_level;

void cf_log_set_level(cf_log_level lvl);
cf_log_level cf_log_get_level(void);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int cf_log_level_parse(const char *s);
void cf_log(cf_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cf_debug(...) cf_log(CF_LOG_DEBUG, __VA_ARGS__)
#define cf_info(...)  cf_log(CF_LOG_INFO, __VA_ARGS__)
#define cf_warn(...)  cf_log(CF_LOG_WARN, __VA_ARGS__)
#define cf_error(...) cf_log(CF_LOG_ERROR, __VA_ARGS__)

#endif
