/*
 * The socket functions the worker's c-ares channels use (ares_set_socket_functions): sockets
 * are made non-blocking and close-on-exec by socket() itself, and UDP answers are read up to
 * DNS_SOCKET_BATCH at a time with recvmmsg() and handed to c-ares one per recvfrom call, so a
 * burst of answers costs one or two system calls instead of one per answer plus one.
 */
#ifndef MPIC_DNS_SOCKET_H
#define MPIC_DNS_SOCKET_H

#include <ares.h>
#include <stdbool.h>

#define DNS_SOCKET_BATCH 16
/* Largest datagram kept whole (c-ares 1.18 reads UDP into a buffer of 4,096 + 1 bytes). */
#define DNS_SOCKET_DGRAM_MAX 4097

/** One batch buffer, shared by every channel of one resolver (one event loop). */
struct dns_socket;

/** Counters, for tests and benchmarks. */
struct dns_socket_stats {
    unsigned long batch_reads; /* recvmmsg() calls, EAGAIN included */
    unsigned long datagrams;   /* datagrams they returned */
    unsigned long handed;      /* datagrams handed to c-ares */
};

/**
 * Makes the batch buffer (allocated on the first UDP read). rcvbuf > 0 is the SO_RCVBUF asked
 * for every UDP socket (c-ares does not configure sockets made by these functions).
 */
struct dns_socket *dns_socket_new(int rcvbuf);
void dns_socket_free(struct dns_socket *ds);
/** Installs the functions on a channel; ds must outlive the channel. */
void dns_socket_attach(struct dns_socket *ds, ares_channel channel);
/** The functions themselves (their user_data is the struct dns_socket); for tests. */
const struct ares_socket_functions *dns_socket_functions(void);
/**
 * True while answers read from fd have not all been handed to c-ares (c-ares stops reading
 * after an answer from an unexpected address): the caller processes fd again, since the
 * kernel will not report it readable for them.
 */
bool dns_socket_buffered(const struct dns_socket *ds, ares_socket_t fd);
/** Drops what is buffered for fd (when processing it again made no progress). */
void dns_socket_discard(struct dns_socket *ds, ares_socket_t fd);
void dns_socket_stats(const struct dns_socket *ds, struct dns_socket_stats *out);

#endif
