/*
 * Connection guard (see connguard.h). libevent 2.1 has no hook for "a connection was
 * accepted", so the guard creates each bufferevent in evhttp's bevcb, takes a reference on it
 * and activates a zero-delay adopt event. That event runs after the accept callback, before
 * any byte is read; the reference keeps the bufferevent alive even if evhttp already freed
 * the connection (bufferevent_free then cleared its callbacks, which is how adoption notices
 * it and never touches the dead connection). On adoption the guard learns the
 * evhttp_connection (the callback argument evhttp installs on its bufferevent, checked with
 * evhttp_connection_get_bufferevent), drops its reference and sets the connection's close
 * callback. From then on the guard's per-connection state is freed exactly once, in that
 * close callback, which evhttp runs whenever and however the connection goes away (also from
 * evhttp_free); the deadline timer is deleted there too. The timer is armed only while a
 * request is being read: the route wrapper disarms it when the handler is reached, and the
 * request's on-complete callback (run by evhttp after the reply is written, on a live
 * connection) re-arms it for the next keep-alive request. When it fires, the guard frees the
 * connection with evhttp_connection_free, which runs the close callback.
 */
#include "connguard.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "util.h"

#define CONNGUARD_BUCKETS 1024
#define CONNGUARD_MAX_ROUTES 16

enum connguard_state {
    CONNGUARD_ADOPTING, /* handed to evhttp; our bufferevent reference is held */
    CONNGUARD_READING,  /* adopted; the deadline timer runs */
    CONNGUARD_HANDLING, /* a handler has the request; no timer */
};

struct connguard_conn {
    struct connguard *g;
    enum connguard_state state;
    struct bufferevent *bev;         /* ADOPTING only: we hold a reference */
    struct evhttp_connection *evcon; /* after adoption, until the close callback */
    struct event *adopt;             /* zero-delay, fires once */
    struct event *deadline;          /* armed in READING */
    int64_t read_start_ms;           /* accept, or the end of the previous reply */
    bool reject;                     /* TLS could not be set up: close at adoption */
    struct connguard_conn *prev, *next; /* g->all */
    struct connguard_conn *hnext;       /* g->buckets chain (adopted connections) */
};

struct connguard_route {
    struct connguard *g;
    void (*cb)(struct evhttp_request *, void *);
    void *arg;
};

struct connguard {
    int read_timeout_ms;
    int max_connections;
    SSL_CTX *ssl_ctx;
    struct connguard_conn *all;
    struct connguard_conn *buckets[CONNGUARD_BUCKETS];
    size_t nconns;
    unsigned long timeouts, refused;
    struct connguard_route routes[CONNGUARD_MAX_ROUTES];
    int nroutes;
};

static size_t connguard_bucket(const struct evhttp_connection *evcon)
{
    return (size_t)(((uintptr_t)evcon >> 4) % CONNGUARD_BUCKETS);
}

static struct connguard_conn *connguard_find(struct connguard *g,
                                             const struct evhttp_connection *evcon)
{
    struct connguard_conn *c;

    if (evcon == NULL) return NULL;
    for (c = g->buckets[connguard_bucket(evcon)]; c != NULL; c = c->hnext)
        if (c->evcon == evcon) return c;
    return NULL;
}

static void connguard_unhash(struct connguard *g, struct connguard_conn *c)
{
    struct connguard_conn **pp = &g->buckets[connguard_bucket(c->evcon)];

    for (; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            g->nconns--;
            return;
        }
    }
}

/* event_free(NULL) dereferences NULL in libevent 2.1 */
static void connguard_event_free(struct event *ev)
{
    if (ev != NULL) event_free(ev);
}

/* Unlinks and frees the guard's state of one connection (never the connection itself). */
static void connguard_conn_free(struct connguard_conn *c)
{
    struct connguard *g = c->g;

    if (c->prev != NULL) c->prev->next = c->next;
    else g->all = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    connguard_event_free(c->adopt);
    connguard_event_free(c->deadline);
    free(c);
}

static void connguard_arm(struct connguard_conn *c)
{
    int64_t left = c->g->read_timeout_ms - (clock_mono_ms() - c->read_start_ms);
    struct timeval tv;

    tv = util_ms_timeval(left); /* a passed deadline fires now */
    evtimer_add(c->deadline, &tv);
}

/* called by evhttp when a watched connection goes away (any reason, also evhttp_free) */
static void connguard_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct connguard_conn *c = arg;

    connguard_unhash(c->g, c);
    connguard_conn_free(c);
}

/* called by libevent when a request has not reached its handler within read_timeout_ms */
static void connguard_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct connguard_conn *c = arg;

    if (c->state != CONNGUARD_READING) return;
    c->g->timeouts++;
    log_debug("closing a connection: no complete request within %d ms", c->g->read_timeout_ms);
    evhttp_connection_free(c->evcon); /* runs connguard_closed_cb, which frees c */
}

/* called by libevent right after the accept callback that ran connguard_bev_cb */
static void connguard_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct connguard_conn *c = arg;
    struct connguard *g = c->g;
    struct bufferevent *bev = c->bev;
    bufferevent_data_cb readcb = NULL;
    void *cbarg = NULL;

    bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
    c->bev = NULL;
    if (readcb == NULL || cbarg == NULL || evhttp_connection_get_bufferevent(cbarg) != bev) {
        /* evhttp gave up on the connection already (its bufferevent_free cleared the
         * callbacks); our reference was the last one */
        connguard_conn_free(c);
        bufferevent_decref(bev);
        return;
    }
    c->evcon = cbarg;
    bufferevent_decref(bev); /* the connection keeps its own reference */
    c->hnext = g->buckets[connguard_bucket(c->evcon)];
    g->buckets[connguard_bucket(c->evcon)] = c;
    g->nconns++;
    evhttp_connection_set_closecb(c->evcon, connguard_closed_cb, c);
    if (c->reject || g->nconns > (size_t)g->max_connections) {
        if (!c->reject) {
            g->refused++;
            log_debug("closing a connection: %zu open (coordinator.max_connections)",
                      g->nconns - 1);
        }
        evhttp_connection_free(c->evcon); /* runs connguard_closed_cb, which frees c */
        return;
    }
    c->state = CONNGUARD_READING;
    connguard_arm(c);
}

/* called by evhttp for every accepted connection, before it builds its connection object */
static struct bufferevent *connguard_bev_cb(struct event_base *base, void *arg)
{
    struct connguard *g = arg;
    struct connguard_conn *c = util_xcalloc(1, sizeof(*c));
    struct bufferevent *bev = NULL;

    if (g->ssl_ctx != NULL) {
        SSL *ssl = SSL_new(g->ssl_ctx);
        if (ssl != NULL) {
            bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
            if (bev == NULL) SSL_free(ssl);
            else bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        }
        c->reject = bev == NULL; /* never serve plain HTTP on a TLS listener */
    }
    if (bev == NULL) bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->adopt = event_new(base, -1, 0, connguard_adopt_cb, c);
    c->deadline = evtimer_new(base, connguard_deadline_cb, c);
    if (bev == NULL || c->adopt == NULL || c->deadline == NULL) {
        /* out of memory: an unguarded connection (a TLS route refuses it, see below) */
        connguard_event_free(c->adopt);
        connguard_event_free(c->deadline);
        free(c);
        return bev;
    }
    c->g = g;
    c->bev = bev;
    c->state = CONNGUARD_ADOPTING;
    c->read_start_ms = clock_mono_ms();
    c->next = g->all;
    if (g->all != NULL) g->all->prev = c;
    g->all = c;
    bufferevent_incref(bev);
    event_active(c->adopt, EV_TIMEOUT, 1);
    return bev;
}

/* called by evhttp once the reply to a handled request has been written */
static void connguard_done_cb(struct evhttp_request *req, void *arg)
{
    struct connguard_conn *c = arg;

    if (c->state != CONNGUARD_HANDLING) return;
    c->state = CONNGUARD_READING;
    c->read_start_ms = clock_mono_ms();
    connguard_arm(c);
}

/* called by evhttp with a complete request (headers and body) for a registered route */
static void connguard_route_cb(struct evhttp_request *req, void *arg)
{
    struct connguard_route *r = arg;
    struct connguard_conn *c = connguard_find(r->g, evhttp_request_get_connection(req));

    if (c == NULL && r->g->ssl_ctx != NULL) {
        evhttp_send_error(req, 503, "Service Unavailable");
        return;
    }
    if (c != NULL && c->state == CONNGUARD_READING) {
        evtimer_del(c->deadline);
        c->state = CONNGUARD_HANDLING;
        evhttp_request_set_on_complete_cb(req, connguard_done_cb, c);
    }
    r->cb(req, r->arg);
}

struct connguard *connguard_new(struct event_base *base, struct evhttp *http,
                                const struct connguard_opts *opts)
{
    struct connguard *g = util_xcalloc(1, sizeof(*g));

    g->read_timeout_ms = opts->read_timeout_ms;
    g->max_connections = opts->max_connections;
    if (opts->ssl_ctx != NULL) {
        SSL_CTX_up_ref(opts->ssl_ctx);
        g->ssl_ctx = opts->ssl_ctx;
    }
    evhttp_set_bevcb(http, connguard_bev_cb, g);
    return g;
}

void connguard_set_cb(struct connguard *g, struct evhttp *http, const char *path,
                      void (*cb)(struct evhttp_request *, void *), void *arg)
{
    struct connguard_route *r;

    if (g == NULL) {
        if (path != NULL) evhttp_set_cb(http, path, cb, arg);
        else evhttp_set_gencb(http, cb, arg);
        return;
    }
    if (g->nroutes == CONNGUARD_MAX_ROUTES) {
        log_error("connguard: more than %d routes", CONNGUARD_MAX_ROUTES);
        abort();
    }
    r = &g->routes[g->nroutes++];
    r->g = g;
    r->cb = cb;
    r->arg = arg;
    if (path != NULL) evhttp_set_cb(http, path, connguard_route_cb, r);
    else evhttp_set_gencb(http, connguard_route_cb, r);
}

size_t connguard_count(const struct connguard *g)
{
    return g != NULL ? g->nconns : 0;
}

unsigned long connguard_timeouts(const struct connguard *g)
{
    return g != NULL ? g->timeouts : 0;
}

unsigned long connguard_refused(const struct connguard *g)
{
    return g != NULL ? g->refused : 0;
}

void connguard_free(struct connguard *g)
{
    if (g == NULL) return;
    while (g->all != NULL) {
        struct connguard_conn *c = g->all;
        struct bufferevent *bev = c->state == CONNGUARD_ADOPTING ? c->bev : NULL;
        if (c->evcon != NULL) connguard_unhash(g, c); /* evhttp_free normally did this */
        connguard_conn_free(c);
        if (bev != NULL) bufferevent_decref(bev);
    }
    if (g->ssl_ctx != NULL) SSL_CTX_free(g->ssl_ctx);
    free(g);
}
