/*
 * DNS name handling shared by coordinator and worker: normalizing API targets (wildcard
 * prefix, trailing dot, case, IDNA2008 U-labels to A-labels via libidn2, IPv4/IPv6 literals
 * with or without brackets), label syntax, and the parent walk used by CAA tree climbing.
 */
#ifndef MPIC_DNSNAME_H
#define MPIC_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>

#define DNSNAME_MAX 254 /* presentation form without trailing dot (253) plus NUL */

enum dnsname_kind {
    DNSNAME_DOMAIN = 0,
    DNSNAME_IPV4 = 1,
    DNSNAME_IPV6 = 2,
};

/**
 * Normalizes an Open MPIC domain_or_ip_target. Domains: strips one leading "*." (sets
 * *wildcard), strips one trailing dot, converts U-labels with IDNA2008/UTS#46 and lower-cases,
 * then requires LDH labels of 1..63 bytes, total <= 253, at least two labels, no empty label,
 * no "*" elsewhere. IPs: canonical inet_ntop text, brackets removed; wildcard IPs rejected.
 * Returns 0, or -1 with a human message in err.
 */
int dnsname_normalize_target(const char *in, char *out, size_t outlen, enum dnsname_kind *kind,
                             bool *wildcard, char *err, size_t errlen);
/** Writes the parent of `name` ("a.b.c" -> "b.c"). Returns false when name has one label. */
bool dnsname_parent(const char *name, char *out, size_t outlen);
/** Number of labels ("" -> 0, "a.b" -> 2); a trailing dot does not add a label. */
int dnsname_label_count(const char *name);
/** Case-insensitive comparison that ignores one trailing dot on either side. */
bool dnsname_equal(const char *a, const char *b);

#endif
