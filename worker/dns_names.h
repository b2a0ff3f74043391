/*
 * Query names the DNS validation methods build: the dns-account-01 account label
 * ("_" + lower-case unpadded RFC 4648 base32 of the first 10 bytes of SHA-256(account URI))
 * and the reverse-lookup names of IP addresses (in-addr.arpa / ip6.arpa, RFC 1035 / RFC 3596).
 */
#ifndef MPIC_DNS_NAMES_H
#define MPIC_DNS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define DNS_NAMES_ACCOUNT_LABEL_LEN 17 /* "_" + 16 base32 characters */
#define DNS_NAMES_REVERSE_MAX 73       /* 32 nibbles * 2 + "ip6.arpa" + NUL */

/** Lower-case RFC 4648 base32 without padding; out needs (len * 8 + 4) / 5 + 1 bytes. */
void dns_names_base32(const unsigned char *in, size_t len, char *out);
/** Writes the account label into out (>= DNS_NAMES_ACCOUNT_LABEL_LEN + 1 bytes). 0 or -1. */
int dns_names_account_label(const char *account_uri, char *out, size_t outlen);
/** Reverse-lookup name of an IPv4 / IPv6 literal (no trailing dot). 0, or -1 when not an IP. */
int dns_names_reverse(const char *ip, char *out, size_t outlen);
/** True when name (trailing dot optional) is in-addr.arpa / ip6.arpa or below, any case. */
bool dns_names_is_arpa(const char *name);

#endif
