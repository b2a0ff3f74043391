/*
 * Special-purpose address filter: two compact prefix tables (IANA IPv4 and IPv6
 * Special-Purpose Address Registries as embedded by Boulder's iana package, plus multicast)
 * and a check of the IPv4 address embedded in IPv4-mapped, IPv4-compatible, 6to4 and NAT64
 * IPv6 addresses.
 */
#include "ipfilter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "util.h"

struct ipfilter_prefix {
    unsigned char addr[16]; /* network bytes; only the first 4 are used for IPv4 */
    unsigned bits;          /* prefix length */
    const char *name;       /* registry name, for error messages */
};

/* IANA IPv4 Special-Purpose Address Registry (every entry, whatever its "globally reachable"
 * column says, as Boulder does) plus multicast. */
static const struct ipfilter_prefix ipfilter_v4[] = {
    {{0, 0, 0, 0}, 8, "This network"},
    {{10, 0, 0, 0}, 8, "Private-Use"},
    {{100, 64, 0, 0}, 10, "Shared Address Space"},
    {{127, 0, 0, 0}, 8, "Loopback"},
    {{169, 254, 0, 0}, 16, "Link Local"},
    {{172, 16, 0, 0}, 12, "Private-Use"},
    {{192, 0, 0, 0}, 24, "IETF Protocol Assignments"},
    {{192, 0, 2, 0}, 24, "Documentation (TEST-NET-1)"},
    {{192, 31, 196, 0}, 24, "AS112-v4"},
    {{192, 52, 193, 0}, 24, "AMT"},
    {{192, 88, 99, 0}, 24, "Deprecated (6to4 Relay Anycast)"},
    {{192, 168, 0, 0}, 16, "Private-Use"},
    {{192, 175, 48, 0}, 24, "Direct Delegation AS112 Service"},
    {{198, 18, 0, 0}, 15, "Benchmarking"},
    {{198, 51, 100, 0}, 24, "Documentation (TEST-NET-2)"},
    {{203, 0, 113, 0}, 24, "Documentation (TEST-NET-3)"},
    {{224, 0, 0, 0}, 4, "Multicast"},
    {{240, 0, 0, 0}, 4, "Reserved"},
    {{255, 255, 255, 255}, 32, "Limited Broadcast"},
};

/* IANA IPv6 Special-Purpose Address Registry plus multicast. */
static const struct ipfilter_prefix ipfilter_v6[] = {
    {{0}, 128, "Unspecified Address"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "Loopback Address"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, "IPv4-mapped Address"},
    {{0, 0x64, 0xff, 0x9b}, 96, "IPv4-IPv6 Translat."},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, "IPv4-IPv6 Translat. (local use)"},
    {{0x01, 0}, 64, "Discard-Only Address Block"},
    {{0x01, 0, 0, 0, 0, 0, 0, 1}, 64, "Dummy IPv6 Prefix"},
    {{0x20, 0x01}, 23, "IETF Protocol Assignments"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "Documentation"},
    {{0x20, 0x02}, 16, "6to4"},
    {{0x26, 0x20, 0, 0x4f, 0x80, 0}, 48, "Direct Delegation AS112 Service"},
    {{0x3f, 0xff}, 20, "Documentation"},
    {{0x5f, 0}, 16, "Segment Routing (SRv6) SIDs"},
    {{0xfc, 0}, 7, "Unique-Local"},
    {{0xfe, 0x80}, 10, "Link-Local Unicast"},
    {{0xff, 0}, 8, "Multicast"},
};

/* True when the first `bits` bits of a and b are equal. */
static bool ipfilter_prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8;
    unsigned rest = bits % 8;

    if (memcmp(a, b, full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static const char *ipfilter_lookup(const struct ipfilter_prefix *table, size_t n,
                                   const unsigned char *addr)
{
    for (size_t i = 0; i < n; i++) {
        if (ipfilter_prefix_match(addr, table[i].addr, table[i].bits)) return table[i].name;
    }
    return NULL;
}

const char *ipfilter_classify4(const unsigned char addr[4])
{
    return ipfilter_lookup(ipfilter_v4, MPIC_ARRAY_LEN(ipfilter_v4), addr);
}

const char *ipfilter_classify6(const unsigned char addr[16])
{
    static const unsigned char zero12[12] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    const char *name = ipfilter_lookup(ipfilter_v6, MPIC_ARRAY_LEN(ipfilter_v6), addr);

    if (name != NULL) return name;
    /* The registry already covers mapped, 6to4 and NAT64 as whole prefixes; the embedded
     * checks below keep the filter right even if a whole-prefix entry were dropped. */
    if (memcmp(addr, mapped, 12) == 0 || memcmp(addr, nat64, 12) == 0 ||
        memcmp(addr, zero12, 12) == 0) {
        if (ipfilter_classify4(addr + 12) != NULL) return "Embedded special-purpose IPv4";
    }
    if (addr[0] == 0x20 && addr[1] == 0x02 && ipfilter_classify4(addr + 2) != NULL) {
        return "Embedded special-purpose IPv4 (6to4)";
    }
    return NULL;
}

bool ipfilter_is_special(const struct sockaddr *sa)
{
    if (sa == NULL) return true;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        return ipfilter_classify4((const unsigned char *)&sin->sin_addr) != NULL;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        return ipfilter_classify6(sin6->sin6_addr.s6_addr) != NULL;
    }
    return true;
}

bool ipfilter_is_special_text(const char *ip)
{
    char buf[INET6_ADDRSTRLEN];
    unsigned char raw[16];
    size_t len;

    if (ip == NULL) return true;
    len = strlen(ip);
    if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
        ip++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(buf)) return true;
    memcpy(buf, ip, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, raw) == 1) return ipfilter_classify4(raw) != NULL;
    if (inet_pton(AF_INET6, buf, raw) == 1) return ipfilter_classify6(raw) != NULL;
    return true;
}
