/*
 * c-ares 1.18 channels driven by libevent. A channel keeps its UDP socket open between queries
 * (ARES_FLAG_STAYOPEN) and is retired after `socket_queries` queries or `socket_max_ms`, so the
 * source port still changes; a retired channel drains its pending queries and is destroyed from
 * the event loop. Per channel: one embedded struct event per c-ares socket (socket-state
 * callback) and one retry timer; sockets are opened and read through worker/dns_socket.c
 * (answers read in batches). Queries are built by hand (ares_create_query + the DO bit).
 */
#include "resolver.h"

#include <ares.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dns_socket.h"
#include "log.h"
#include "util.h"

#define RESOLVER_EDNS_PAYLOAD 1232
#define RESOLVER_OPT_RR_LEN 11 /* root name, type, class, ttl, rdlen of an empty OPT RR */
/* UDP receive buffer asked for each c-ares socket (the kernel caps it at net.core.rmem_max):
 * thousands of checks start lookups together and the answers arrive in one burst, which the
 * default ~208 KiB (about 200 small datagrams) drops, turning them into timeouts and retries.
 * Kernel memory, used only while answers wait to be read. */
#define RESOLVER_RCVBUF (4 * 1024 * 1024)

struct resolver_chan;

/** One c-ares socket watched by libevent. Slots are reused, never freed before the channel. */
struct resolver_slot {
    struct resolver_chan *ch;
    struct event ev;
    ares_socket_t fd; /* ARES_SOCKET_BAD when the slot is free */
    short mask;       /* EV_READ / EV_WRITE currently registered (0: event not added) */
};

enum resolver_chan_state {
    RESOLVER_CHAN_CURRENT,  /* new queries go here */
    RESOLVER_CHAN_DRAINING, /* retired: waits for its pending queries, then reaped */
    RESOLVER_CHAN_CLOSING,  /* ares_destroy is running on it */
};

/** One c-ares channel (one set of sockets, so one source port per server). */
struct resolver_chan {
    struct resolver *r;
    ares_channel channel;
    enum resolver_chan_state state;
    struct event timer;
    bool timer_armed;
    int64_t timer_due_ms;   /* clock_mono_ms() when the armed timer fires */
    struct resolver_slot **slots;
    size_t nslots;
    unsigned pending;       /* queries sent on it whose callback has not run */
    unsigned sent;          /* queries sent on it */
    int64_t first_send_ms;  /* clock_mono_ms() of its first query (0: none yet) */
    struct resolver_chan *next; /* in r->draining */
};

struct resolver {
    struct event_base *base;
    char *servers;
    int timeout_ms; /* c-ares per-try timeout: no query times out sooner after a send */
    int tries;
    unsigned socket_queries;
    int64_t socket_max_ms;
    struct resolver_chan *cur;      /* NULL only while destroying */
    struct resolver_chan *draining; /* retired channels with queries still pending */
    struct event reap;              /* destroys drained channels from the event loop */
    struct dns_socket *io;          /* socket functions and UDP batch of every channel */
    bool destroying;                /* resolver_free is running: no new queries */
    bool dnssec_required;
    unsigned long channels_made;
};

void resolver_set_dnssec_required(struct resolver *r, bool required)
{
    r->dnssec_required = required;
}

bool resolver_dnssec_required(const struct resolver *r)
{
    return r != NULL && r->dnssec_required;
}

/** Per-query glue between ares_callback and resolver_cb. */
struct resolver_query_ctx {
    struct resolver_chan *ch;
    resolver_cb cb;
    void *arg;
};

static int resolver_lib_refs;

static void resolver_arm(struct resolver_chan *ch, const struct timeval *tv)
{
    evtimer_add(&ch->timer, tv);
    ch->timer_armed = true;
    ch->timer_due_ms = clock_mono_ms() + (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

/* Arms the timer exactly from ares_timeout() (O(outstanding queries)); after a timer fire. */
static void resolver_rearm(struct resolver_chan *ch)
{
    struct timeval tv, *tvp;

    if (ch->state == RESOLVER_CHAN_CLOSING) return;
    tvp = ares_timeout(ch->channel, NULL, &tv);
    if (tvp != NULL) {
        resolver_arm(ch, tvp);
    } else {
        evtimer_del(&ch->timer);
        ch->timer_armed = false;
    }
}

/*
 * After a send or an I/O event: c-ares (1.18, ares__send_query) gives every query it sends or
 * resends a deadline of at least now + timeout_ms, so a timer due no later than that covers
 * every query that can have appeared since the last exact rearm; an earlier timer already
 * does. A timer that fires early only costs one ares_process_fd + ares_timeout.
 */
static void resolver_cover(struct resolver_chan *ch)
{
    struct timeval tv;
    int timeout_ms = ch->r->timeout_ms;

    if (ch->state == RESOLVER_CHAN_CLOSING) return;
    if (ch->timer_armed && ch->timer_due_ms <= clock_mono_ms() + timeout_ms) return;
    tv = util_ms_timeval(timeout_ms);
    resolver_arm(ch, &tv);
}

/* A retired channel with nothing pending: have the event loop destroy it (never from inside
 * one of its own c-ares callbacks). */
static void resolver_note_drained(struct resolver_chan *ch)
{
    if (ch->state == RESOLVER_CHAN_DRAINING && ch->pending == 0)
        event_active(&ch->r->reap, 0, 0);
}

/* Called by libevent when a c-ares socket is readable or writable. */
static void resolver_fd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver_slot *s = arg;
    struct resolver_chan *ch = s->ch;
    struct dns_socket_stats before, after;

    ares_process_fd(ch->channel, (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
    /* Answers read in a batch but not taken (c-ares stopped early): the kernel will not
     * report them again, so process the socket until they are gone or nothing moves. */
    while (dns_socket_buffered(ch->r->io, fd)) {
        dns_socket_stats(ch->r->io, &before);
        ares_process_fd(ch->channel, (ares_socket_t)fd, ARES_SOCKET_BAD);
        dns_socket_stats(ch->r->io, &after);
        if (dns_socket_buffered(ch->r->io, fd) && after.handed == before.handed) {
            dns_socket_discard(ch->r->io, fd);
            break;
        }
    }
    /* s may have been released (not freed) by the state callback; only ch is used below. */
    resolver_cover(ch);
}

/* Called by libevent when a channel's c-ares timeout expires. */
static void resolver_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver_chan *ch = arg;

    ch->timer_armed = false;
    ares_process_fd(ch->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    resolver_rearm(ch);
}

static struct resolver_slot *resolver_find_slot(struct resolver_chan *ch, ares_socket_t fd)
{
    for (size_t i = 0; i < ch->nslots; i++) {
        if (ch->slots[i]->fd == fd) return ch->slots[i];
    }
    return NULL;
}

static struct resolver_slot *resolver_new_slot(struct resolver_chan *ch, ares_socket_t fd)
{
    struct resolver_slot *s = resolver_find_slot(ch, ARES_SOCKET_BAD);

    if (s == NULL) {
        struct resolver_slot **grown = realloc(ch->slots, (ch->nslots + 1) * sizeof(*grown));
        if (grown == NULL) return NULL;
        ch->slots = grown;
        s = calloc(1, sizeof(*s));
        if (s == NULL) return NULL;
        ch->slots[ch->nslots++] = s;
        s->ch = ch;
    }
    s->fd = fd;
    s->mask = 0;
    return s;
}

/* Called by c-ares when a socket is opened, changes interest, or closes (read = write = 0). */
static void resolver_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver_chan *ch = data;
    struct resolver_slot *s = resolver_find_slot(ch, fd);
    short mask = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

    if (mask == 0) {
        if (s != NULL) {
            if (s->mask != 0) event_del(&s->ev);
            s->mask = 0;
            s->fd = ARES_SOCKET_BAD;
        }
        return;
    }
    if (s == NULL) {
        s = resolver_new_slot(ch, fd);
        if (s == NULL) {
            log_error("resolver: out of memory for c-ares socket %d", (int)fd);
            return; /* the query will time out */
        }
    }
    if (s->mask == mask) return;
    if (s->mask != 0) event_del(&s->ev);
    event_assign(&s->ev, ch->r->base, fd, (short)(mask | EV_PERSIST), resolver_fd_cb, s);
    if (event_add(&s->ev, NULL) != 0) {
        log_error("resolver: event_add failed for c-ares socket %d", (int)fd);
        s->mask = 0;
        return;
    }
    s->mask = mask;
}

/* Destroys a channel: pending callbacks (if any) get ARES_EDESTRUCTION, sockets close. */
static void resolver_chan_free(struct resolver_chan *ch)
{
    if (ch == NULL) return;
    if (ch->channel != NULL) {
        ch->state = RESOLVER_CHAN_CLOSING;
        ares_destroy(ch->channel);
    }
    evtimer_del(&ch->timer);
    for (size_t i = 0; i < ch->nslots; i++) {
        if (ch->slots[i]->mask != 0) event_del(&ch->slots[i]->ev);
        free(ch->slots[i]);
    }
    free(ch->slots);
    free(ch);
}

static struct resolver_chan *resolver_chan_new(struct resolver *r, char *err, size_t errlen)
{
    struct resolver_chan *ch = util_xcalloc(1, sizeof(*ch));
    struct ares_options opts;
    char *lookups = util_xstrdup("b"); /* DNS only, never /etc/hosts */
    int optmask, rc;

    ch->r = r;
    ch->state = RESOLVER_CHAN_CURRENT;
    evtimer_assign(&ch->timer, r->base, resolver_timer_cb, ch);
    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: SERVFAIL/REFUSED answers reach the caller with their RCODE (c-ares would
     * otherwise retry them and report "could not contact DNS servers"). STAYOPEN: the UDP
     * socket outlives an idle moment (c-ares 1.18 would close it whenever nothing is pending,
     * a socket, connect, fcntl x3, setsockopt, epoll_ctl x2 and close per burst). */
    opts.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP |
                 ARES_FLAG_STAYOPEN;
    opts.timeout = r->timeout_ms;
    opts.tries = r->tries;
    opts.ndots = 1;
    opts.domains = NULL;
    opts.ndomains = 0;
    opts.lookups = lookups;
    opts.sock_state_cb = resolver_sock_state_cb;
    opts.sock_state_cb_data = ch;
    opts.ednspsz = RESOLVER_EDNS_PAYLOAD;
    optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
              ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_EDNSPSZ;
    rc = ares_init_options(&ch->channel, &opts, optmask);
    free(lookups);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "ares_init_options: %s", ares_strerror(rc));
        ch->channel = NULL;
        goto fail;
    }
    dns_socket_attach(r->io, ch->channel); /* opens sockets with RESOLVER_RCVBUF */
    rc = ares_set_servers_ports_csv(ch->channel, r->servers);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "bad resolver list \"%s\": %s", r->servers, ares_strerror(rc));
        goto fail;
    }
    r->channels_made++;
    return ch;

fail:
    resolver_chan_free(ch);
    return NULL;
}

/* Called by dns_socket when a held query could not be sent on fd: c-ares learns it by reading
 * fd, so the socket's read event is made active (its error is what the read returns). */
static void resolver_io_error_cb(void *arg, ares_socket_t fd)
{
    struct resolver *r = arg;

    for (struct resolver_chan *ch = r->cur; ch != NULL;
         ch = ch == r->cur ? r->draining : ch->next) {
        struct resolver_slot *s = resolver_find_slot(ch, fd);
        if (s != NULL && (s->mask & EV_READ)) {
            event_active(&s->ev, EV_READ, 0);
            return;
        }
    }
}

/* Called by libevent (made active by resolver_note_drained or a retirement): destroys every
 * retired channel whose queries have all completed. */
static void resolver_reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;
    struct resolver_chan **pp = &r->draining;

    while (*pp != NULL) {
        struct resolver_chan *ch = *pp;
        if (ch->pending == 0) {
            *pp = ch->next;
            resolver_chan_free(ch);
        } else {
            pp = &ch->next;
        }
    }
}

static unsigned resolver_draining_count(const struct resolver *r)
{
    unsigned n = 0;

    for (const struct resolver_chan *ch = r->draining; ch != NULL; ch = ch->next) n++;
    return n;
}

/* Before a query: retires the current channel once it has sent its share of queries or its
 * first query is older than socket_max_ms. If a new channel cannot be made, or
 * RESOLVER_MAX_DRAINING retired ones still wait for answers (a resolver that stopped
 * answering: each channel holds ~74 KB of c-ares tables), the old one stays current (queries
 * never fail for the sake of rotation). */
static void resolver_rotate_if_spent(struct resolver *r)
{
    struct resolver_chan *old = r->cur, *fresh;
    char err[160];

    if (old->sent == 0) return;
    if (old->sent < r->socket_queries && clock_mono_ms() - old->first_send_ms < r->socket_max_ms)
        return;
    if (resolver_draining_count(r) >= RESOLVER_MAX_DRAINING) return;
    fresh = resolver_chan_new(r, err, sizeof(err));
    if (fresh == NULL) {
        log_warn("resolver: keeping the current c-ares channel: %s", err);
        return;
    }
    old->state = RESOLVER_CHAN_DRAINING;
    old->next = r->draining;
    r->draining = old;
    r->cur = fresh;
    resolver_note_drained(old);
}

struct resolver *resolver_new(struct event_base *base, const char *servers, int timeout_ms,
                              int tries, char *err, size_t errlen)
{
    struct resolver *r = NULL;
    int rc;

    if (base == NULL || servers == NULL || servers[0] == '\0') {
        snprintf(err, errlen, "no resolver address given");
        return NULL;
    }
    if (timeout_ms <= 0 || tries <= 0) {
        snprintf(err, errlen, "resolver timeout and tries must be positive");
        return NULL;
    }
    if (resolver_lib_refs++ == 0) {
        rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS) {
            resolver_lib_refs--;
            snprintf(err, errlen, "ares_library_init: %s", ares_strerror(rc));
            return NULL;
        }
    }
    r = util_xcalloc(1, sizeof(*r));
    r->base = base;
    r->servers = util_xstrdup(servers);
    r->timeout_ms = timeout_ms;
    r->tries = tries;
    r->socket_queries = RESOLVER_SOCKET_QUERIES;
    r->socket_max_ms = RESOLVER_SOCKET_MAX_MS;
    event_assign(&r->reap, base, -1, 0, resolver_reap_cb, r);
    r->io = dns_socket_new(base, RESOLVER_RCVBUF, resolver_io_error_cb, r);
    r->cur = resolver_chan_new(r, err, errlen);
    if (r->cur == NULL) goto fail;
    return r;

fail:
    resolver_free(r);
    return NULL;
}

void resolver_set_socket_reuse(struct resolver *r, int max_queries, int max_ms)
{
    if (r == NULL) return;
    if (max_queries > 0) r->socket_queries = (unsigned)max_queries;
    if (max_ms > 0) r->socket_max_ms = max_ms;
}

unsigned long resolver_channels_made(const struct resolver *r)
{
    return r != NULL ? r->channels_made : 0;
}

void resolver_io_stats(const struct resolver *r, struct dns_socket_stats *out)
{
    dns_socket_stats(r != NULL ? r->io : NULL, out);
}

void resolver_free(struct resolver *r)
{
    if (r == NULL) return;
    r->destroying = true;
    resolver_chan_free(r->cur); /* pending callbacks get ARES_EDESTRUCTION */
    r->cur = NULL;
    while (r->draining != NULL) {
        struct resolver_chan *ch = r->draining;
        r->draining = ch->next;
        resolver_chan_free(ch);
    }
    event_del(&r->reap);
    dns_socket_free(r->io);
    free(r->servers);
    free(r);
    if (resolver_lib_refs > 0 && --resolver_lib_refs == 0) ares_library_cleanup();
}

/* Called by c-ares exactly once per ares_send (possibly synchronously from ares_send). */
static void resolver_answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct resolver_query_ctx *q = arg;
    struct resolver_chan *ch = q->ch;
    resolver_cb cb = q->cb;
    void *cbarg = q->arg;

    free(q);
    ch->pending--;
    resolver_note_drained(ch);
    if (abuf == NULL || alen <= 0) {
        abuf = NULL;
        alen = 0;
    }
    cb(cbarg, status, abuf, alen);
}

void resolver_query(struct resolver *r, const char *name, uint16_t qtype, resolver_cb cb,
                    void *arg)
{
    unsigned char *qbuf = NULL;
    int qlen = 0;
    int rc;
    struct resolver_query_ctx *q;
    struct resolver_chan *ch;

    if (r == NULL || r->destroying || r->cur == NULL) {
        cb(arg, ARES_EDESTRUCTION, NULL, 0);
        return;
    }
    rc = ares_create_query(name, 1 /* IN */, qtype, 0, 1 /* RD */, &qbuf, &qlen,
                           RESOLVER_EDNS_PAYLOAD);
    if (rc != ARES_SUCCESS || qbuf == NULL || qlen < 12 + RESOLVER_OPT_RR_LEN) {
        if (qbuf != NULL) ares_free_string(qbuf);
        cb(arg, rc != ARES_SUCCESS ? rc : ARES_EBADQUERY, NULL, 0);
        return;
    }
    /* The OPT RR is the last 11 bytes: TTL = ext-rcode, version, flags (DO = top bit). */
    qbuf[qlen - RESOLVER_OPT_RR_LEN + 7] |= 0x80;
    qbuf[3] |= 0x20; /* AD in the query: ask for the AD bit (RFC 6840 §5.7) */
    resolver_rotate_if_spent(r);
    ch = r->cur;
    q = util_xmalloc(sizeof(*q));
    q->ch = ch;
    q->cb = cb;
    q->arg = arg;
    if (ch->sent++ == 0) ch->first_send_ms = clock_mono_ms();
    ch->pending++;
    ares_send(ch->channel, qbuf, qlen, resolver_answer_cb, q);
    ares_free_string(qbuf);
    resolver_cover(ch);
}
