/*
 * Name builders for the DNS validation methods: base32 account labels (dns-account-01, the
 * same label as Boulder) over an OpenSSL SHA-256, and reverse-lookup names from inet_pton
 * bytes (octets reversed for IPv4, nibbles reversed for IPv6).
 */
#include "dns_names.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DNS_NAMES_ACCOUNT_BYTES 10

void dns_names_base32(const unsigned char *in, size_t len, char *out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned int buf = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out[o++] = alphabet[(buf << (5 - bits)) & 31];
    out[o] = '\0';
}

int dns_names_account_label(const char *account_uri, char *out, size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (account_uri == NULL || outlen < DNS_NAMES_ACCOUNT_LABEL_LEN + 1) return -1;
    if (EVP_Digest(account_uri, strlen(account_uri), md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen < DNS_NAMES_ACCOUNT_BYTES)
        return -1;
    out[0] = '_';
    dns_names_base32(md, DNS_NAMES_ACCOUNT_BYTES, out + 1);
    return 0;
}

int dns_names_reverse(const char *ip, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char a[16];
    size_t o = 0;

    if (ip == NULL || outlen < DNS_NAMES_REVERSE_MAX) return -1;
    if (inet_pton(AF_INET, ip, a) == 1) {
        snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, a) != 1) return -1;
    for (int i = 15; i >= 0; i--) {
        out[o++] = hex[a[i] & 15];
        out[o++] = '.';
        out[o++] = hex[a[i] >> 4];
        out[o++] = '.';
    }
    memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
    return 0;
}

/* True when name ends with the label sequence suffix (preceded by a dot or equal to it). */
static bool has_suffix(const char *name, size_t n, const char *suffix)
{
    size_t sl = strlen(suffix);

    if (n < sl || strncasecmp(name + n - sl, suffix, sl) != 0) return false;
    return n == sl || name[n - sl - 1] == '.';
}

bool dns_names_is_arpa(const char *name)
{
    size_t n;

    if (name == NULL) return false;
    n = strlen(name);
    if (n > 0 && name[n - 1] == '.') n--;
    return has_suffix(name, n, "in-addr.arpa") || has_suffix(name, n, "ip6.arpa");
}
