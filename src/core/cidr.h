/* IPv4 and IPv6 networks in CIDR notation ("10.0.0.0/8", "2001:db8::/32", or a bare address
 * meaning /32 or /128). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 networks. */
#ifndef COFFER_CORE_CIDR_H
#define COFFER_CORE_CIDR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

typedef struct cf_cidr {
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
    uint8_t bits;
    bool v6;
} cf_cidr;

/* Strict parse; host bits beyond the prefix must be zero unless loose is true. */
bool cf_cidr_parse(cf_str s, bool loose, cf_cidr *out);
/* Whether the textual address ip lies in n. false for an unparsable ip. */
bool cf_cidr_contains(const cf_cidr *n, cf_str ip);

#endif
