/*
 * Special-purpose address filter for outbound validation traffic: the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (the list Boulder embeds), plus multicast, plus IPv6
 * forms that embed an IPv4 address (mapped, compatible, 6to4, NAT64) whose IPv4 part is
 * special. Used to refuse connections to internal networks (SSRF guard).
 */
#ifndef MPIC_IPFILTER_H
#define MPIC_IPFILTER_H

#include <stdbool.h>
#include <sys/socket.h>

/** Registry name of the special-purpose block holding a raw IPv4 address, NULL if global. */
const char *ipfilter_classify4(const unsigned char addr[4]);
/** Same for a raw IPv6 address (embedded IPv4 forms are classified by their IPv4 part). */
const char *ipfilter_classify6(const unsigned char addr[16]);
/** True for a special-purpose AF_INET/AF_INET6 address; other families count as special. */
bool ipfilter_is_special(const struct sockaddr *sa);
/**
 * Text variant: "192.0.2.1", "2001:db8::1" or "[2001:db8::1]". Anything that does not parse
 * as a plain numeric address (zone ids included) counts as special (fail closed).
 */
bool ipfilter_is_special_text(const char *ip);

#endif
