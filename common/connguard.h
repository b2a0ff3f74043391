/*
 * Per-connection guard of an evhttp listener: owns each connection's bufferevent (plain, or
 * TLS through bufferevent_openssl), closes a connection whose request has not reached its
 * handler within read_timeout_ms (slowloris: evhttp's own timeout restarts on every byte)
 * and caps the number of open connections. Handlers are registered through connguard_set_cb.
 */
#ifndef MPIC_CONNGUARD_H
#define MPIC_CONNGUARD_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stddef.h>

struct connguard;

struct connguard_opts {
    int read_timeout_ms; /* accept (or end of the previous reply) -> handler reached */
    int max_connections; /* further connections are closed at once */
    SSL_CTX *ssl_ctx;    /* NULL: plain HTTP; else TLS only (the guard takes a reference) */
};

/** Installs the guard on http (evhttp_set_bevcb). Free it after evhttp_free(http). */
struct connguard *connguard_new(struct event_base *base, struct evhttp *http,
                                const struct connguard_opts *opts);
/**
 * evhttp_set_cb (path) or evhttp_set_gencb (path NULL) through the guard: the handler marks
 * its connection's request as reached. g NULL registers cb directly.
 */
void connguard_set_cb(struct connguard *g, struct evhttp *http, const char *path,
                      void (*cb)(struct evhttp_request *, void *), void *arg);
/** Open connections the guard watches. */
size_t connguard_count(const struct connguard *g);
/** Connections closed for missing the read deadline, and refused over max_connections. */
unsigned long connguard_timeouts(const struct connguard *g);
unsigned long connguard_refused(const struct connguard *g);
/** Releases the guard; evhttp_free must have closed every connection before. */
void connguard_free(struct connguard *g);

#endif
