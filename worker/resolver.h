/*
 * One perspective's DNS resolver: c-ares channels bound to the configured resolver
 * address(es), integrated into libevent. A channel keeps its UDP socket between queries and is
 * replaced after a number of queries or an age, so the source port keeps changing. Each worker
 * process owns its channels; nothing is cached or shared with another perspective.
 */
#ifndef MPIC_RESOLVER_H
#define MPIC_RESOLVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns_socket.h"

struct resolver;

/**
 * Creates a resolver sending to `servers` ("IP:PORT[,IP:PORT...]", IPv6 as "[::1]:53"),
 * with the per-try timeout and number of tries. EDNS0 (1232-byte payload) is enabled and
 * truncated UDP answers are retried over TCP. Returns NULL with a message in err.
 */
struct resolver *resolver_new(struct event_base *base, const char *servers, int timeout_ms,
                              int tries, char *err, size_t errlen);
/** Destroys the channels; pending queries complete with ARES_EDESTRUCTION first. */
void resolver_free(struct resolver *r);

/* A channel's socket (and so its source port) serves at most this many queries, and no
 * query later than this many ms after the channel's first one (worker.dns_socket_queries,
 * worker.dns_socket_max_ms). */
#define RESOLVER_SOCKET_QUERIES 256
#define RESOLVER_SOCKET_MAX_MS 10000
/* Retired channels still waiting for answers, at most; beyond, the current one stays. */
#define RESOLVER_MAX_DRAINING 8

/**
 * Sets when the current channel is retired: after max_queries queries (1: a fresh socket for
 * every query) or once its first query is max_ms old. A retired channel answers the queries
 * it has and is then destroyed from the event loop; while RESOLVER_MAX_DRAINING of them wait,
 * the current channel is kept. Values <= 0 keep the current setting.
 */
void resolver_set_socket_reuse(struct resolver *r, int max_queries, int max_ms);
/** Channels made so far, the first included (for tests and metrics). */
unsigned long resolver_channels_made(const struct resolver *r);
/** Batched UDP reads so far (worker/dns_socket.h), for tests and benchmarks. */
void resolver_io_stats(const struct resolver *r, struct dns_socket_stats *out);

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
