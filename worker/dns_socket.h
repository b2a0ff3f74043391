/*
 * The socket functions the worker's c-ares channels use (ares_set_socket_functions): sockets
 * are made non-blocking and close-on-exec by socket() itself; UDP answers are read up to
 * DNS_SOCKET_BATCH at a time with recvmmsg() and handed to c-ares one per recvfrom call, and
 * UDP queries sent in one event-loop turn leave together with sendmmsg() at its end, so a
 * burst costs one or two system calls instead of one per datagram.
 */
#ifndef MPIC_DNS_SOCKET_H
#define MPIC_DNS_SOCKET_H

#include <ares.h>
#include <event2/event.h>
#include <stdbool.h>

#define DNS_SOCKET_BATCH 16
/* Largest datagram kept whole (c-ares 1.18 reads UDP into a buffer of 4,096 + 1 bytes). */
#define DNS_SOCKET_DGRAM_MAX 4097
/* UDP queries held for the end of the loop turn (more: sent at once), and the largest one
 * held (a query is ~300 bytes at most; a larger datagram is sent at once). */
#define DNS_SOCKET_SEND_MAX 64
#define DNS_SOCKET_QUERY_MAX 512

/** One batch buffer, shared by every channel of one resolver (one event loop). */
struct dns_socket;

/** Counters, for tests and benchmarks. */
struct dns_socket_stats {
    unsigned long batch_reads; /* recvmmsg() calls, EAGAIN included */
    unsigned long datagrams;   /* datagrams they returned */
    unsigned long handed;      /* datagrams handed to c-ares */
    unsigned long send_batches; /* sendmmsg() calls */
    unsigned long sent;         /* UDP datagrams they sent */
};

/**
 * Called by the flush (end of a loop turn) when a held query could not be sent on fd: c-ares
 * already counts it as sent, so the next read of fd (or send on it) returns the error, once,
 * and c-ares handles it as a broken socket. The callee makes fd's read event active; it must
 * not send (it runs inside the flush).
 */
typedef void (*dns_socket_error_cb)(void *arg, ares_socket_t fd);

/**
 * Makes the batch buffers (allocated on first use) and the flush event on base. rcvbuf > 0 is
 * the SO_RCVBUF asked for every UDP socket (c-ares does not configure sockets made by these
 * functions).
 */
struct dns_socket *dns_socket_new(struct event_base *base, int rcvbuf,
                                  dns_socket_error_cb on_error, void *arg);
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
/** Sends the held queries now (the flush event does it at the end of the loop turn). */
void dns_socket_flush(struct dns_socket *ds);
void dns_socket_stats(const struct dns_socket *ds, struct dns_socket_stats *out);

#endif
