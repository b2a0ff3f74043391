/*
 * A DNS lookup as the checks need it: query name/type through the perspective's resolver,
 * walk the answer section ourselves (never trusting c-ares' record parsers), follow CNAME
 * chains inside one answer and across further queries (at most DNS_LOOKUP_MAX_CHAIN links,
 * loops detected), and report the records of the asked type at the end of the chain.
 * Through a resolver that requires DNSSEC, an answer without AD is turned into an ERROR
 * unless a name of the chain is proven Insecure (worker/dnssec.h).
 */
#ifndef MPIC_DNS_LOOKUP_H
#define MPIC_DNS_LOOKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "dnssec.h"
#include "resolver.h"

#define DNS_LOOKUP_MAX_CHAIN 8
#define DNS_NAME_MAX 256 /* presentation form without trailing dot, plus NUL */

enum dns_lookup_status {
    DNS_LOOKUP_OK = 0,       /* NOERROR with >= 1 record of the asked type */
    DNS_LOOKUP_NODATA = 1,   /* NOERROR, name exists, no record of that type */
    DNS_LOOKUP_NXDOMAIN = 2, /* RCODE 3 */
    DNS_LOOKUP_ERROR = 3,    /* SERVFAIL, REFUSED, timeout, malformed answer, CNAME loop... */
};

struct dns_record {
    uint16_t type;
    uint32_t ttl;
    uint16_t rdlen;
    unsigned char *rdata; /* raw RDATA; names inside are NOT decompressed (CNAME/PTR targets
                             are exposed decompressed via `target`) */
    char *target;         /* CNAME/NS/PTR: decompressed target without trailing dot, else NULL */
};

struct dns_lookup_result {
    enum dns_lookup_status status;
    int rcode;                  /* RCODE of the last answer, -1 when none was received */
    bool ad;                    /* AD bit of every answer in the chain */
    enum dnssec_status dnssec;  /* SECURE/INSECURE/UNPROVEN when the resolver requires it */
    char qname[DNS_NAME_MAX];   /* the name asked (no trailing dot) */
    char *cname_chain[DNS_LOOKUP_MAX_CHAIN]; /* CNAME targets in order, each ending in "." */
    int nchain;
    struct dns_record *records; /* of the asked type, at the end of the chain */
    int nrecords;
    char error[256];            /* set for ERROR: "SERVFAIL", "REFUSED", "timeout", "CNAME loop" ... */
};

/** Called exactly once per dns_lookup(), never synchronously; *res is valid during the call. */
typedef void (*dns_lookup_cb)(void *arg, const struct dns_lookup_result *res);

void dns_lookup(struct event_base *base, struct resolver *r, const char *name, uint16_t qtype,
                dns_lookup_cb cb, void *arg);

#endif
