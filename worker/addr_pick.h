/*
 * Choosing the address a check connects to from one family's A or AAAA lookup: the first
 * address that is not IANA special-purpose (unless the lab switch allows it), remembering the
 * first refused one for the error message. Shared by the HTTP walk and the TLS-ALPN check.
 */
#ifndef MPIC_ADDR_PICK_H
#define MPIC_ADDR_PICK_H

#include <stdbool.h>

#include "dns_lookup.h"

#define ADDR_PICK_IP_MAX 64

/** What one family's lookup produced. */
struct addr_pick_family {
    enum dns_lookup_status status;
    char error[256];                /* resolver error text for DNS_LOOKUP_ERROR */
    char ip[ADDR_PICK_IP_MAX];      /* first usable address, "" when none */
    char special[ADDR_PICK_IP_MAX]; /* first dropped special-purpose address, "" when none */
    const char *special_why;        /* why it was dropped (static text) */
};

/**
 * Records res (a lookup of type A for af == AF_INET, AAAA for AF_INET6) in fam. Only the first
 * usable address per family is kept (as Boulder does).
 */
void addr_pick_take(struct addr_pick_family *fam, int af, const struct dns_lookup_result *res,
                    bool allow_private);

/** "NOERROR", "NODATA", "NXDOMAIN" or "ERROR", for messages. */
const char *addr_pick_status_name(enum dns_lookup_status s);

#endif
