/*
 * c-ares socket functions (see dns_socket.h). One batch of up to DNS_SOCKET_BATCH datagrams,
 * read by recvmmsg() from one socket, is served to c-ares' recvfrom calls in order; a recvfrom
 * for another socket while a batch is unread falls back to a plain recvfrom. TCP reads
 * (c-ares passes no address) and all sends go straight to the kernel.
 */
#include "dns_socket.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

struct dns_socket {
    int rcvbuf;
    ares_socket_t fd; /* the socket the batch came from (ARES_SOCKET_BAD: none) */
    unsigned count;   /* datagrams in the batch */
    unsigned next;    /* the next one to hand out */
    struct dns_socket_stats stats;
    struct mmsghdr *msgs;          /* DNS_SOCKET_BATCH, allocated on the first UDP read */
    struct iovec *iov;             /* one per message */
    struct sockaddr_storage *from; /* one per message */
    unsigned char *bufs;           /* DNS_SOCKET_BATCH x DNS_SOCKET_DGRAM_MAX */
};

struct dns_socket *dns_socket_new(int rcvbuf)
{
    struct dns_socket *ds = util_xcalloc(1, sizeof(*ds));

    ds->rcvbuf = rcvbuf;
    ds->fd = ARES_SOCKET_BAD;
    return ds;
}

void dns_socket_free(struct dns_socket *ds)
{
    if (ds == NULL) return;
    free(ds->msgs);
    free(ds->iov);
    free(ds->from);
    free(ds->bufs);
    free(ds);
}

/* Called by c-ares to open a socket (it configures none of ours: done here). */
static ares_socket_t dns_socket_open(int domain, int type, int protocol, void *arg)
{
    struct dns_socket *ds = arg;
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    int one = 1;

    if (fd < 0) return ARES_SOCKET_BAD;
    if (type == SOCK_STREAM) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else if (ds->rcvbuf > 0) {
        /* the kernel caps it at net.core.rmem_max rather than failing */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ds->rcvbuf, sizeof(ds->rcvbuf));
    }
    return fd;
}

/* Called by c-ares to close a socket: what was buffered from it goes with it. */
static int dns_socket_close(ares_socket_t fd, void *arg)
{
    struct dns_socket *ds = arg;

    if (ds->fd == fd) dns_socket_discard(ds, fd);
    return close(fd);
}

/* Called by c-ares to connect a socket to its server. */
static int dns_socket_connect(ares_socket_t fd, const struct sockaddr *addr, ares_socklen_t len,
                              void *arg)
{
    (void)arg;
    return connect(fd, addr, len);
}

/* Called by c-ares to send a query (UDP) or part of the TCP stream. */
static ares_ssize_t dns_socket_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt,
                                     void *arg)
{
    struct msghdr msg;

    (void)arg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static void dns_socket_alloc(struct dns_socket *ds)
{
    ds->msgs = util_xcalloc(DNS_SOCKET_BATCH, sizeof(*ds->msgs));
    ds->iov = util_xcalloc(DNS_SOCKET_BATCH, sizeof(*ds->iov));
    ds->from = util_xcalloc(DNS_SOCKET_BATCH, sizeof(*ds->from));
    ds->bufs = util_xmalloc((size_t)DNS_SOCKET_BATCH * DNS_SOCKET_DGRAM_MAX);
}

/* Reads the next batch from fd; -1 with errno (EAGAIN when nothing is waiting). */
static int dns_socket_fill(struct dns_socket *ds, ares_socket_t fd)
{
    int n;

    if (ds->msgs == NULL) dns_socket_alloc(ds);
    for (unsigned i = 0; i < DNS_SOCKET_BATCH; i++) {
        ds->iov[i].iov_base = ds->bufs + (size_t)i * DNS_SOCKET_DGRAM_MAX;
        ds->iov[i].iov_len = DNS_SOCKET_DGRAM_MAX;
        memset(&ds->msgs[i].msg_hdr, 0, sizeof(ds->msgs[i].msg_hdr));
        ds->msgs[i].msg_hdr.msg_iov = &ds->iov[i];
        ds->msgs[i].msg_hdr.msg_iovlen = 1;
        ds->msgs[i].msg_hdr.msg_name = &ds->from[i];
        ds->msgs[i].msg_hdr.msg_namelen = sizeof(ds->from[i]);
        ds->msgs[i].msg_len = 0;
    }
    ds->stats.batch_reads++;
    n = recvmmsg(fd, ds->msgs, DNS_SOCKET_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return -1;
    ds->stats.datagrams += (unsigned long)n;
    ds->fd = fd;
    ds->count = (unsigned)n;
    ds->next = 0;
    return 0;
}

/*
 * Called by c-ares to read: a UDP answer (from != NULL) or TCP bytes (from == NULL). Hands out
 * the batch one datagram per call, truncated to len as recvfrom would.
 */
static ares_ssize_t dns_socket_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                        struct sockaddr *from, ares_socklen_t *fromlen,
                                        void *arg)
{
    struct dns_socket *ds = arg;
    const struct mmsghdr *m;
    size_t n;

    if (from == NULL || fromlen == NULL) return recv(fd, buf, len, flags);
    if (ds->fd != fd && ds->next < ds->count) /* another socket's batch is unread */
        return recvfrom(fd, buf, len, flags, from, fromlen);
    if (ds->next >= ds->count) {
        dns_socket_discard(ds, ds->fd);
        if (dns_socket_fill(ds, fd) != 0) return -1;
    }
    m = &ds->msgs[ds->next++];
    ds->stats.handed++;
    n = m->msg_len < len ? m->msg_len : len;
    memcpy(buf, m->msg_hdr.msg_iov->iov_base, n);
    if (m->msg_hdr.msg_namelen < *fromlen) *fromlen = m->msg_hdr.msg_namelen;
    memcpy(from, m->msg_hdr.msg_name, *fromlen);
    if (ds->next >= ds->count) dns_socket_discard(ds, fd);
    return (ares_ssize_t)n;
}

static const struct ares_socket_functions dns_socket_funcs = {
    .asocket = dns_socket_open,
    .aclose = dns_socket_close,
    .aconnect = dns_socket_connect,
    .arecvfrom = dns_socket_recvfrom,
    .asendv = dns_socket_sendv,
};

void dns_socket_attach(struct dns_socket *ds, ares_channel channel)
{
    ares_set_socket_functions(channel, &dns_socket_funcs, ds);
}

const struct ares_socket_functions *dns_socket_functions(void)
{
    return &dns_socket_funcs;
}

bool dns_socket_buffered(const struct dns_socket *ds, ares_socket_t fd)
{
    return ds != NULL && ds->fd == fd && fd != ARES_SOCKET_BAD && ds->next < ds->count;
}

void dns_socket_discard(struct dns_socket *ds, ares_socket_t fd)
{
    if (ds == NULL || ds->fd != fd) return;
    ds->fd = ARES_SOCKET_BAD;
    ds->count = 0;
    ds->next = 0;
}

void dns_socket_stats(const struct dns_socket *ds, struct dns_socket_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (ds != NULL) *out = ds->stats;
}
