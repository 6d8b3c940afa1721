/* Failed authentications counted per source address over a sliding window, so they can be
 * logged with their rate now and throttled later. Fixed memory: a table of CF_AUTHFAIL_SLOTS
 * addresses; an address that does not fit replaces the stalest entry. Thread-safe. */
#ifndef COFFER_AUTH_FAILURES_H
#define COFFER_AUTH_FAILURES_H

#include <stdint.h>

#include "core/str.h"

#define CF_AUTHFAIL_SLOTS 4096
#define CF_AUTHFAIL_WINDOW_MS (10 * 60 * 1000)

/* Records one failure from addr at now_ms; returns the failures from addr in the window. */
uint32_t cf_authfail_note(cf_str addr, int64_t now_ms);
/* Failures from addr in the window, without recording one. */
uint32_t cf_authfail_count(cf_str addr, int64_t now_ms);

#endif
