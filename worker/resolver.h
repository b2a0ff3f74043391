/*
 * One perspective's DNS resolver: a c-ares channel bound to the configured resolver
 * address(es), integrated into libevent (socket state callback + one timer). Each worker
 * process owns its channel; nothing is cached or shared with another perspective.
 */
#ifndef MPIC_RESOLVER_H
#define MPIC_RESOLVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct resolver;

/**
 * Creates a resolver sending to `servers` ("IP:PORT[,IP:PORT...]", IPv6 as "[::1]:53"),
 * with the per-try timeout and number of tries. EDNS0 (1232-byte payload) is enabled and
 * truncated UDP answers are retried over TCP. Returns NULL with a message in err.
 */
struct resolver *resolver_new(struct event_base *base, const char *servers, int timeout_ms,
                              int tries, char *err, size_t errlen);
/** Destroys the channel; pending queries complete with ARES_EDESTRUCTION first. */
void resolver_free(struct resolver *r);

/**
 * Called by c-ares (through the resolver) exactly once per resolver_query(), possibly
 * synchronously. status is an ARES_* code; abuf/alen is the raw answer (valid during the
 * call only) when the server answered, even with an error RCODE.
 */
typedef void (*resolver_cb)(void *arg, int status, const unsigned char *abuf, int alen);

/**
 * DNSSEC policy of this perspective (worker/dnssec.h): when required, dns_lookup() accepts an
 * answer only with AD set or with the zone proven Insecure. Off by default.
 */
void resolver_set_dnssec_required(struct resolver *r, bool required);
bool resolver_dnssec_required(const struct resolver *r);

/** Sends one query (class IN, RD set, EDNS0 with the DO bit so AD is meaningful). */
void resolver_query(struct resolver *r, const char *name, uint16_t qtype, resolver_cb cb,
                    void *arg);

#endif
