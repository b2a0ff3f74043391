/*
 * Our libevent adapter for hiredis 0.14 async contexts, built to spend few syscalls per
 * command: one persistent read event added once per connection, and commands queued during an
 * event-loop turn flushed by one write() at the end of that turn (a no-fd event made active);
 * EV_WRITE is armed only while connecting and while the socket buffer is full.
 */
#ifndef MPIC_REDIS_EVLOOP_H
#define MPIC_REDIS_EVLOOP_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <stdbool.h>

/**
 * Attaches ac (fresh from redisAsyncConnect) to base: installs the ac->ev hooks and starts
 * watching the socket. hiredis calls the cleanup hook when it frees ac; nothing else to free.
 * Returns false if ac already has an adapter attached.
 */
bool redis_evloop_attach(redisAsyncContext *ac, struct event_base *base);

#endif
