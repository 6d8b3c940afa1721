/* cofferd's settings: flags, COFFER_* environment variables and an optional config file
 * (later sources lose to earlier: flag > environment > file > default). */
#ifndef COFFER_CORE_CONFIG_H
#define COFFER_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cf_config {
    char listen[128];       /* host:port, [v6]:port; default 127.0.0.1:9000 */
    char admin_listen[128]; /* default 127.0.0.1:9001 (used by the credentials API) */
    char data_dir[4096];    /* default ./data */
    char domain[256];       /* virtual-host base domain, e.g. s3.localhost; empty: off */
    char region[64];        /* default us-east-1; "auto" accepts any region in signatures */
    bool fsync;             /* --fsync always|never; default always */
    unsigned threads;       /* 0: one per core */
    int log_level;          /* cf_log_level */
    bool access_log;        /* one line per request on stderr; default on */
    unsigned max_connections;     /* default 4096 */
    unsigned idle_timeout_s;      /* default 60 */
    uint64_t max_object_size;     /* default 5 TiB */
    int64_t debug_clock_offset_ms; /* tests only: shifts the server clock */
    unsigned lifecycle_interval_s; /* seconds between lifecycle sweeps; default 3600 */
    unsigned auth_fail_limit;      /* failed authentications per address before a lockout; 0: off */
    unsigned auth_fail_lockout_s;  /* first lockout's length; default 60 */
} cf_config;

/* Fills defaults, then the config file (--config / COFFER_CONFIG), the environment and argv.
 * Returns 0 to go on, 1 if --help or --version was printed (exit 0), -1 after printing
 * an error naming the bad flag or variable to stderr (exit 2). */
int cf_config_load(cf_config *c, int argc, char **argv);

/* Splits "host:port" / "[v6]:port" into host (no brackets) and port. false if malformed. */
bool cf_config_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port);

#endif
