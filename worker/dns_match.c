/*
 * Matchers for the DNS validation methods. Case folding is ASCII-only (record values are
 * bytes; non-ASCII bytes must match exactly), addresses go through inet_pton so every textual
 * spelling of one address compares equal.
 */
#include "dns_match.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "dns_msg.h"

static unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool equal_at(const unsigned char *a, const unsigned char *b, size_t n, bool exact_case)
{
    if (exact_case) return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++) {
        if (fold(a[i]) != fold(b[i])) return false;
    }
    return true;
}

bool dns_match_text(const unsigned char *val, size_t n, const char *expected, size_t elen,
                    bool exact, bool exact_case)
{
    const unsigned char *e = (const unsigned char *)expected;

    if (val == NULL || expected == NULL || elen == 0 || elen > n) return false;
    if (exact) return n == elen && equal_at(val, e, n, exact_case);
    for (size_t i = 0; i + elen <= n; i++) {
        if (equal_at(val + i, e, elen, exact_case)) return true;
    }
    return false;
}

bool dns_match_parse_ip(const char *s, int family, unsigned char addr[16])
{
    memset(addr, 0, 16);
    if (s == NULL || (family != AF_INET && family != AF_INET6)) return false;
    return inet_pton(family, s, addr) == 1;
}

bool dns_match_ip(uint16_t type, const unsigned char *rdata, size_t rdlen,
                  const unsigned char addr[16])
{
    if (type == DNS_MSG_TYPE_A) return rdlen == 4 && memcmp(rdata, addr, 4) == 0;
    if (type == DNS_MSG_TYPE_AAAA) return rdlen == 16 && memcmp(rdata, addr, 16) == 0;
    return false;
}

bool dns_match_tag(const unsigned char *tag, size_t taglen, const char *want)
{
    return tag != NULL && want != NULL && taglen == strlen(want) &&
           strncasecmp((const char *)tag, want, taglen) == 0;
}
