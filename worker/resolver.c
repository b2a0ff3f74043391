/*
 * c-ares 1.18 channel driven by libevent: the socket-state callback keeps one embedded
 * struct event per c-ares socket in a growable slot table, I/O events call ares_process_fd, and
 * one timer drives retries. ares_timeout() walks every outstanding query, so it runs only when
 * the timer fires; between fires the timer is just kept no later than now + the per-try
 * timeout (see resolver_cover). Queries are built by hand (ares_create_query + the DO bit in
 * the OPT RR) and sent with ares_send.
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
#include "log.h"
#include "util.h"

#define RESOLVER_EDNS_PAYLOAD 1232
#define RESOLVER_OPT_RR_LEN 11 /* root name, type, class, ttl, rdlen of an empty OPT RR */
/* UDP receive buffer asked for each c-ares socket (the kernel caps it at net.core.rmem_max):
 * thousands of checks start lookups together and the answers arrive in one burst, which the
 * default ~208 KiB (about 200 small datagrams) drops, turning them into timeouts and retries.
 * Kernel memory, used only while answers wait to be read. */
#define RESOLVER_RCVBUF (4 * 1024 * 1024)

/** One c-ares socket watched by libevent. Slots are reused, never freed before the resolver. */
struct resolver_slot {
    struct resolver *r;
    struct event ev;
    ares_socket_t fd; /* ARES_SOCKET_BAD when the slot is free */
    short mask;       /* EV_READ / EV_WRITE currently registered (0: event not added) */
};

struct resolver {
    struct event_base *base;
    ares_channel channel;
    struct event timer;
    bool timer_armed;
    int64_t timer_due_ms; /* clock_mono_ms() when the armed timer fires */
    int timeout_ms;       /* c-ares per-try timeout: no query times out sooner after a send */
    struct resolver_slot **slots;
    size_t nslots;
    bool destroying; /* ares_destroy is running: no new queries */
    bool dnssec_required;
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
    resolver_cb cb;
    void *arg;
};

static int resolver_lib_refs;

static void resolver_arm(struct resolver *r, const struct timeval *tv)
{
    evtimer_add(&r->timer, tv);
    r->timer_armed = true;
    r->timer_due_ms = clock_mono_ms() + (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

/* Arms the timer exactly from ares_timeout() (O(outstanding queries)); after a timer fire. */
static void resolver_rearm(struct resolver *r)
{
    struct timeval tv, *tvp;

    if (r->destroying || r->channel == NULL) return;
    tvp = ares_timeout(r->channel, NULL, &tv);
    if (tvp != NULL) {
        resolver_arm(r, tvp);
    } else {
        evtimer_del(&r->timer);
        r->timer_armed = false;
    }
}

/*
 * After a send or an I/O event: c-ares (1.18, ares__send_query) gives every query it sends or
 * resends a deadline of at least now + timeout_ms, so a timer due no later than that covers
 * every query that can have appeared since the last exact rearm; an earlier timer already
 * does. A timer that fires early only costs one ares_process_fd + ares_timeout.
 */
static void resolver_cover(struct resolver *r)
{
    struct timeval tv;

    if (r->destroying || r->channel == NULL) return;
    if (r->timer_armed && r->timer_due_ms <= clock_mono_ms() + r->timeout_ms) return;
    tv.tv_sec = r->timeout_ms / 1000;
    tv.tv_usec = (r->timeout_ms % 1000) * 1000;
    resolver_arm(r, &tv);
}

/* Called by libevent when a c-ares socket is readable or writable. */
static void resolver_fd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver_slot *s = arg;
    struct resolver *r = s->r;

    ares_process_fd(r->channel, (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
    /* s may have been released (not freed) by the state callback; only r is used below. */
    resolver_cover(r);
}

/* Called by libevent when the c-ares timeout expires. */
static void resolver_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;

    r->timer_armed = false;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    resolver_rearm(r);
}

static struct resolver_slot *resolver_find_slot(struct resolver *r, ares_socket_t fd)
{
    for (size_t i = 0; i < r->nslots; i++) {
        if (r->slots[i]->fd == fd) return r->slots[i];
    }
    return NULL;
}

static struct resolver_slot *resolver_new_slot(struct resolver *r, ares_socket_t fd)
{
    struct resolver_slot *s = resolver_find_slot(r, ARES_SOCKET_BAD);

    if (s == NULL) {
        struct resolver_slot **grown = realloc(r->slots, (r->nslots + 1) * sizeof(*grown));
        if (grown == NULL) return NULL;
        r->slots = grown;
        s = calloc(1, sizeof(*s));
        if (s == NULL) return NULL;
        r->slots[r->nslots++] = s;
        s->r = r;
    }
    s->fd = fd;
    s->mask = 0;
    return s;
}

/* Called by c-ares when a socket is opened, changes interest, or closes (read = write = 0). */
static void resolver_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    struct resolver_slot *s = resolver_find_slot(r, fd);
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
        s = resolver_new_slot(r, fd);
        if (s == NULL) {
            log_error("resolver: out of memory for c-ares socket %d", (int)fd);
            return; /* the query will time out */
        }
    }
    if (s->mask == mask) return;
    if (s->mask != 0) event_del(&s->ev);
    event_assign(&s->ev, r->base, fd, (short)(mask | EV_PERSIST), resolver_fd_cb, s);
    if (event_add(&s->ev, NULL) != 0) {
        log_error("resolver: event_add failed for c-ares socket %d", (int)fd);
        s->mask = 0;
        return;
    }
    s->mask = mask;
}

struct resolver *resolver_new(struct event_base *base, const char *servers, int timeout_ms,
                              int tries, char *err, size_t errlen)
{
    struct resolver *r = NULL;
    struct ares_options opts;
    char *lookups = NULL;
    int optmask, rc;

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
    r->timeout_ms = timeout_ms;
    evtimer_assign(&r->timer, base, resolver_timer_cb, r);

    memset(&opts, 0, sizeof(opts));
    lookups = util_xstrdup("b"); /* DNS only, never /etc/hosts */
    /* NOCHECKRESP: SERVFAIL/REFUSED answers reach the caller with their RCODE (c-ares would
     * otherwise retry them and report "could not contact DNS servers"). */
    opts.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP;
    opts.timeout = timeout_ms;
    opts.tries = tries;
    opts.ndots = 1;
    opts.domains = NULL;
    opts.ndomains = 0;
    opts.lookups = lookups;
    opts.sock_state_cb = resolver_sock_state_cb;
    opts.sock_state_cb_data = r;
    opts.ednspsz = RESOLVER_EDNS_PAYLOAD;
    opts.socket_receive_buffer_size = RESOLVER_RCVBUF;
    optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
              ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_EDNSPSZ |
              ARES_OPT_SOCK_RCVBUF;
    rc = ares_init_options(&r->channel, &opts, optmask);
    free(lookups);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "ares_init_options: %s", ares_strerror(rc));
        r->channel = NULL;
        goto fail;
    }
    rc = ares_set_servers_ports_csv(r->channel, servers);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "bad resolver list \"%s\": %s", servers, ares_strerror(rc));
        goto fail;
    }
    return r;

fail:
    resolver_free(r);
    return NULL;
}

void resolver_free(struct resolver *r)
{
    if (r == NULL) return;
    if (r->channel != NULL) {
        r->destroying = true;
        ares_destroy(r->channel); /* pending callbacks get ARES_EDESTRUCTION */
        r->channel = NULL;
    }
    evtimer_del(&r->timer);
    for (size_t i = 0; i < r->nslots; i++) {
        if (r->slots[i]->mask != 0) event_del(&r->slots[i]->ev);
        free(r->slots[i]);
    }
    free(r->slots);
    free(r);
    if (resolver_lib_refs > 0 && --resolver_lib_refs == 0) ares_library_cleanup();
}

/* Called by c-ares exactly once per ares_send (possibly synchronously from ares_send). */
static void resolver_answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct resolver_query_ctx *q = arg;
    resolver_cb cb = q->cb;
    void *cbarg = q->arg;

    free(q);
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

    if (r == NULL || r->destroying || r->channel == NULL) {
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
    q = util_xmalloc(sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    ares_send(r->channel, qbuf, qlen, resolver_answer_cb, q);
    ares_free_string(qbuf);
    resolver_cover(r);
}
