/* Failed authentications counted per source address over a window, logged with their rate,
 * and throttled: an address with too many failures is refused outright for a while, before
 * any signature work. Fixed memory: a table of CF_AUTHFAIL_SLOTS addresses; an address that
 * does not fit replaces the stalest entry (one still locked out only if all are). Thread-safe. */
#ifndef COFFER_AUTH_FAILURES_H
#define COFFER_AUTH_FAILURES_H

#include <stdint.h>

#include "core/str.h"

#define CF_AUTHFAIL_SLOTS 4096
#define CF_AUTHFAIL_WINDOW_MS (10 * 60 * 1000)
/* Defaults of --auth-fail-limit and --auth-fail-lockout. */
#define CF_AUTHFAIL_DEFAULT_LIMIT 500
#define CF_AUTHFAIL_DEFAULT_LOCKOUT_S 60
/* A repeated lockout inside one window doubles, up to this many times the base. */
#define CF_AUTHFAIL_MAX_BACKOFF 16

/* Sets the lockout policy: after limit failures in the window an address is locked out for
 * lockout_ms (doubling on each relock in the window); limit 0 turns lockouts off. Call
 * before serving. */
void cf_authfail_configure(uint32_t limit, int64_t lockout_ms);
/* Records one failure from addr at now_ms; returns the failures from addr in the window.
 * The failure that reaches the limit (or any failure past it once a lockout has ended)
 * locks the address out, logged once per lockout (address and count, nothing secret). */
uint32_t cf_authfail_note(cf_str addr, int64_t now_ms);
/* Failures from addr in the window, without recording one. */
uint32_t cf_authfail_count(cf_str addr, int64_t now_ms);
/* Milliseconds addr stays locked out after now_ms; 0 if it is not locked out. */
int64_t cf_authfail_locked(cf_str addr, int64_t now_ms);

#endif
