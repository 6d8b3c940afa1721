/* CIDR networks (policy conditions, credentials' allowed IPs). Input, one item a line:
 * a network, an address. Properties:
 *  - a strict parse implies a loose one with the same result, and zero host bits;
 *  - the prefix fits the family; the network's own address (formatted back) lies in it;
 *  - cf_cidr_contains agrees with a bit comparison of the address parsed as a /32 or /128;
 *  - text holding a NUL byte is neither a network nor an address. */
#include "fuzz.h"

#include <arpa/inet.h>

#include "core/cidr.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_clock();
    return 0;
}

static bool bit(const uint8_t *a, unsigned i)
{
    return a[i / 8] & (0x80u >> (i % 8));
}

static bool ref_contains(const cf_cidr *n, const cf_cidr *ip)
{
    if (n->v6 != ip->v6)
        return false;
    for (unsigned i = 0; i < n->bits; i++)
        if (bit(n->addr, i) != bit(ip->addr, i))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = fuzz_in_make(data, size);
    cf_str net = fuzz_line(&in), ip = fuzz_line(&in);
    cf_cidr strict, loose, addr;
    char text[INET6_ADDRSTRLEN];
    /* An address is a network without a prefix length. */
    bool have_addr =
        cf_str_find(ip, '/') < 0 && cf_str_find(ip, '\0') < 0 && cf_cidr_parse(ip, false, &addr);
    unsigned max;

    /* Text with a NUL byte is no address (the C library would stop reading at the NUL). */
    if (memchr(net.p, '\0', net.len))
        FUZZ_CHECK(!cf_cidr_parse(net, true, &loose));
    if (have_addr)
        FUZZ_CHECK(addr.bits == (addr.v6 ? 128 : 32));
    if (cf_cidr_parse(net, false, &strict)) {
        FUZZ_CHECK(cf_cidr_parse(net, true, &loose));
        FUZZ_CHECK(memcmp(&strict, &loose, sizeof(strict)) == 0);
        max = strict.v6 ? 128 : 32;
        for (unsigned i = strict.bits; i < max; i++)
            FUZZ_CHECK(!bit(strict.addr, i));
    }
    if (!cf_cidr_parse(net, true, &loose))
        return 0;
    max = loose.v6 ? 128 : 32;
    FUZZ_CHECK(loose.bits <= max);
    if (!loose.v6)
        for (size_t i = 4; i < 16; i++)
            FUZZ_CHECK(loose.addr[i] == 0);
    FUZZ_CHECK(inet_ntop(loose.v6 ? AF_INET6 : AF_INET, loose.addr, text, sizeof(text)) != NULL);
    FUZZ_CHECK(cf_cidr_contains(&loose, cf_str_c(text)));
    if (have_addr)
        FUZZ_CHECK(cf_cidr_contains(&loose, ip) == ref_contains(&loose, &addr));
    else
        FUZZ_CHECK(!cf_cidr_contains(&loose, ip));
    return 0;
}
