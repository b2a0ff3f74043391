/*
 * Value matchers of the DNS validation methods, pure functions over record values: the
 * dns-change substring / exact and case rules, IP addresses compared as parsed addresses, and
 * CAA property tag comparison (case-insensitive).
 */
#ifndef MPIC_DNS_MATCH_H
#define MPIC_DNS_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * True when `expected` (elen bytes, elen >= 1) is found in the value: the whole value when
 * exact, else anywhere in it; bytes compared as-is when exact_case, else with ASCII case folding.
 */
bool dns_match_text(const unsigned char *val, size_t n, const char *expected, size_t elen,
                    bool exact, bool exact_case);
/** Parses an IP literal of family AF_INET or AF_INET6 (inet_pton rules) into addr. */
bool dns_match_parse_ip(const char *s, int family, unsigned char addr[16]);
/** A (4-byte) or AAAA (16-byte) RDATA equal to the parsed address of the same family. */
bool dns_match_ip(uint16_t type, const unsigned char *rdata, size_t rdlen,
                  const unsigned char addr[16]);
/** CAA property tag equal to want, ignoring ASCII case. */
bool dns_match_tag(const unsigned char *tag, size_t taglen, const char *want);

#endif
