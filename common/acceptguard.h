/*
 * Accept-error guard of a listening socket. When accept() fails for want of resources (out of
 * file descriptors: EMFILE/ENFILE, or kernel memory), the waiting connection stays queued and
 * libevent would retry at once, spinning a core and logging every try. The guard stops
 * accepting for ACCEPTGUARD_PAUSE_MS instead, logs once per episode, and counts the pauses.
 */
#ifndef MPIC_ACCEPTGUARD_H
#define MPIC_ACCEPTGUARD_H

#include <event2/event.h>
#include <event2/listener.h>

#define ACCEPTGUARD_PAUSE_MS 100

struct acceptguard;

/** Installs the guard as lev's error callback; what names the listener in the log. */
struct acceptguard *acceptguard_new(struct event_base *base, struct evconnlistener *lev,
                                    const char *what);
/** Pauses so far (each one ACCEPTGUARD_PAUSE_MS without accepting). */
unsigned long acceptguard_pauses(const struct acceptguard *g);
/** Removes the guard; call before the listener is freed (before evhttp_free). */
void acceptguard_free(struct acceptguard *g);

#endif
