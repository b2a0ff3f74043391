/*
 * c-ares socket functions (see dns_socket.h). One batch of up to DNS_SOCKET_BATCH datagrams,
 * read by recvmmsg() from one socket, is served to c-ares' recvfrom calls in order; a recvfrom
 * for another socket while a batch is unread falls back to a plain recvfrom. UDP sends are
 * copied to a queue that a libevent event flushes with sendmmsg() per socket; a failed send
 * becomes that socket's next read error. TCP goes straight to the kernel both ways.
 */
#include "dns_socket.h"

#include <errno.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

/** What is known per descriptor (indexed by fd). */
struct dns_socket_fd {
    bool udp;
    int err; /* errno of a failed held send, returned by the next read (0: none) */
};

/** One held UDP query. */
struct dns_socket_out {
    ares_socket_t fd;
    size_t len;
    unsigned char buf[DNS_SOCKET_QUERY_MAX];
};

struct dns_socket {
    int rcvbuf;
    struct event flush;     /* made active by the first held send of a loop turn */
    dns_socket_error_cb on_error;
    void *arg;
    struct dns_socket_fd *fds;
    size_t nfds;
    struct dns_socket_out *out; /* DNS_SOCKET_SEND_MAX, allocated on the first send */
    unsigned nout;
    ares_socket_t fd; /* the socket the batch came from (ARES_SOCKET_BAD: none) */
    unsigned count;   /* datagrams in the batch */
    unsigned next;    /* the next one to hand out */
    struct dns_socket_stats stats;
    struct mmsghdr *msgs;          /* DNS_SOCKET_BATCH, allocated on the first UDP read */
    struct iovec *iov;             /* one per message */
    struct sockaddr_storage *from; /* one per message */
    unsigned char *bufs;           /* DNS_SOCKET_BATCH x DNS_SOCKET_DGRAM_MAX */
};

/* Called by libevent at the end of the loop turn in which queries were held. */
static void dns_socket_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dns_socket_flush(arg);
}

struct dns_socket *dns_socket_new(struct event_base *base, int rcvbuf,
                                  dns_socket_error_cb on_error, void *arg)
{
    struct dns_socket *ds = util_xcalloc(1, sizeof(*ds));

    ds->rcvbuf = rcvbuf;
    ds->fd = ARES_SOCKET_BAD;
    ds->on_error = on_error;
    ds->arg = arg;
    event_assign(&ds->flush, base, -1, 0, dns_socket_flush_cb, ds);
    return ds;
}

void dns_socket_free(struct dns_socket *ds)
{
    if (ds == NULL) return;
    event_del(&ds->flush);
    free(ds->fds);
    free(ds->out);
    free(ds->msgs);
    free(ds->iov);
    free(ds->from);
    free(ds->bufs);
    free(ds);
}

/* The record of fd, grown as needed; NULL for a negative fd or when out of memory. */
static struct dns_socket_fd *dns_socket_fd(struct dns_socket *ds, ares_socket_t fd)
{
    if (fd < 0) return NULL;
    if ((size_t)fd >= ds->nfds) {
        size_t n = (size_t)fd + 64;
        struct dns_socket_fd *grown = realloc(ds->fds, n * sizeof(*grown));
        if (grown == NULL) return NULL;
        memset(grown + ds->nfds, 0, (n - ds->nfds) * sizeof(*grown));
        ds->fds = grown;
        ds->nfds = n;
    }
    return &ds->fds[fd];
}

/* Called by c-ares to open a socket (it configures none of ours: done here). */
static ares_socket_t dns_socket_open(int domain, int type, int protocol, void *arg)
{
    struct dns_socket *ds = arg;
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    int one = 1;
    struct dns_socket_fd *f;

    if (fd < 0) return ARES_SOCKET_BAD;
    f = dns_socket_fd(ds, fd);
    if (f == NULL) {
        close(fd);
        errno = ENOMEM;
        return ARES_SOCKET_BAD;
    }
    f->udp = type == SOCK_DGRAM;
    f->err = 0;
    if (type == SOCK_STREAM) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else if (ds->rcvbuf > 0) {
        /* the kernel caps it at net.core.rmem_max rather than failing */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ds->rcvbuf, sizeof(ds->rcvbuf));
    }
    return fd;
}

/* Called by c-ares to close a socket: what was read from it or held for it goes with it
 * (a later socket may get the same number). */
static int dns_socket_close(ares_socket_t fd, void *arg)
{
    struct dns_socket *ds = arg;
    struct dns_socket_fd *f = dns_socket_fd(ds, fd);
    unsigned kept = 0;

    if (ds->fd == fd) dns_socket_discard(ds, fd);
    if (f != NULL) {
        f->udp = false;
        f->err = 0;
    }
    for (unsigned i = 0; i < ds->nout; i++) {
        if (ds->out[i].fd == fd) continue;
        if (kept != i) ds->out[kept] = ds->out[i];
        kept++;
    }
    ds->nout = kept;
    return close(fd);
}

/* Called by c-ares to connect a socket to its server. */
static int dns_socket_connect(ares_socket_t fd, const struct sockaddr *addr, ares_socklen_t len,
                              void *arg)
{
    (void)arg;
    return connect(fd, addr, len);
}

static ares_ssize_t dns_socket_send_now(ares_socket_t fd, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/*
 * Called by c-ares to send a query (UDP) or part of the TCP stream. A UDP query is held for
 * the end of the loop turn and reported sent; a socket's pending error fails the first send
 * or read that comes, once, as the kernel reports a socket error.
 */
static ares_ssize_t dns_socket_sendv(ares_socket_t fd, const struct iovec *iov, int iovcnt,
                                     void *arg)
{
    struct dns_socket *ds = arg;
    struct dns_socket_fd *f = dns_socket_fd(ds, fd);
    struct dns_socket_out *o;
    size_t len = 0;

    if (f == NULL || !f->udp) return dns_socket_send_now(fd, iov, iovcnt);
    if (f->err != 0) {
        errno = f->err;
        f->err = 0;
        return -1;
    }
    for (int i = 0; i < iovcnt; i++) len += iov[i].iov_len;
    if (len > DNS_SOCKET_QUERY_MAX) {
        dns_socket_flush(ds); /* keep the order */
        return dns_socket_send_now(fd, iov, iovcnt);
    }
    if (ds->out == NULL) ds->out = util_xmalloc(DNS_SOCKET_SEND_MAX * sizeof(*ds->out));
    if (ds->nout == DNS_SOCKET_SEND_MAX) dns_socket_flush(ds);
    o = &ds->out[ds->nout++];
    o->fd = fd;
    o->len = 0;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(o->buf + o->len, iov[i].iov_base, iov[i].iov_len);
        o->len += iov[i].iov_len;
    }
    if (ds->nout == 1) event_active(&ds->flush, 0, 0);
    return (ares_ssize_t)len;
}

/* Sends out[from, to) (all on one socket) with sendmmsg; returns 0 or the errno that stopped
 * it (the rest of the run is dropped: c-ares resends when it handles the error). */
static int dns_socket_send_run(struct dns_socket *ds, unsigned from, unsigned to)
{
    struct mmsghdr msgs[DNS_SOCKET_SEND_MAX];
    struct iovec iov[DNS_SOCKET_SEND_MAX];
    unsigned n = to - from, done = 0;

    memset(msgs, 0, n * sizeof(msgs[0]));
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = ds->out[from + i].buf;
        iov[i].iov_len = ds->out[from + i].len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (done < n) {
        int r = sendmmsg(ds->out[from].fd, msgs + done, n - done, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        ds->stats.send_batches++;
        if (r <= 0) return r == 0 ? EIO : errno;
        done += (unsigned)r;
        ds->stats.sent += (unsigned long)r;
    }
    return 0;
}

void dns_socket_flush(struct dns_socket *ds)
{
    unsigned i = 0, n = ds->nout;

    event_del(&ds->flush);
    while (i < n) {
        unsigned j = i + 1;
        ares_socket_t fd = ds->out[i].fd;
        int err;

        while (j < n && ds->out[j].fd == fd) j++;
        err = dns_socket_send_run(ds, i, j);
        if (err != 0) {
            struct dns_socket_fd *f = dns_socket_fd(ds, fd);
            if (f != NULL && f->err == 0) {
                f->err = err;
                if (ds->on_error != NULL) ds->on_error(ds->arg, fd);
            }
        }
        i = j;
    }
    ds->nout = 0;
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
        struct dns_socket_fd *f = dns_socket_fd(ds, fd);
        if (f != NULL && f->err != 0) { /* a held query could not be sent */
            errno = f->err;
            f->err = 0;
            return -1;
        }
        if (dns_socket_fill(ds, fd) != 0) return -1; /* an empty batch is already discarded */
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
