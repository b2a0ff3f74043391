/*
 * libevent adapter for hiredis 0.14 (see redis_evloop.h). hiredis calls addWrite after every
 * command it buffers; once connected we answer with a deferred flush (event_active on a no-fd
 * event, run after the current callback in this loop turn) instead of an EV_WRITE round trip
 * through epoll. A flush that cannot drain the buffer (EAGAIN) arms EV_WRITE until it can.
 */
#include "redis_evloop.h"

#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum redis_evloop_write {
    REDIS_EVLOOP_WRITE_IDLE = 0,  /* nothing to send */
    REDIS_EVLOOP_WRITE_FLUSH = 1, /* flush event active: runs later in this loop turn */
    REDIS_EVLOOP_WRITE_ARMED = 2, /* EV_WRITE added: connect in progress or socket buffer full */
};

struct redis_evloop {
    redisAsyncContext *ac;
    struct event rev;   /* EV_READ|EV_PERSIST on the socket */
    struct event wev;   /* EV_WRITE|EV_PERSIST on the socket */
    struct event flush; /* no fd, never added: made active to flush the output buffer */
    bool read_added;
    enum redis_evloop_write write;
    bool in_write; /* redisAsyncHandleWrite runs under us: a new addWrite means EAGAIN */
    bool freed;    /* cleanup ran inside redisAsyncHandleWrite: the caller frees */
};

/* called by libevent when the socket is readable (persistent: stays added) */
static void redis_evloop_read_cb(evutil_socket_t fd, short what, void *p)
{
    struct redis_evloop *e = p;
    (void)fd;
    (void)what;
    /* hiredis may free ac (and call our cleanup, which frees e) inside: touch nothing after */
    redisAsyncHandleRead(e->ac);
}

/* Runs redisAsyncHandleWrite; cleanup may run inside it, then we free e here. */
static void redis_evloop_handle_write(struct redis_evloop *e)
{
    e->in_write = true;
    redisAsyncHandleWrite(e->ac);
    if (e->freed) {
        free(e);
        return;
    }
    e->in_write = false;
}

/* called by libevent when the socket is writable: connect finished, or buffer space freed */
static void redis_evloop_write_cb(evutil_socket_t fd, short what, void *p)
{
    (void)fd;
    (void)what;
    redis_evloop_handle_write(p);
}

/* called by libevent after the callback that queued commands returned (made active by
 * redis_evloop_add_write) */
static void redis_evloop_flush_cb(evutil_socket_t fd, short what, void *p)
{
    struct redis_evloop *e = p;
    (void)fd;
    (void)what;
    e->write = REDIS_EVLOOP_WRITE_IDLE;
    redis_evloop_handle_write(e);
}

/* called by hiredis after every read and write (idempotent: the event stays added) */
static void redis_evloop_add_read(void *p)
{
    struct redis_evloop *e = p;
    if (e->read_added) return;
    if (event_add(&e->rev, NULL) == 0) e->read_added = true;
}

/* called by hiredis when it stops reading */
static void redis_evloop_del_read(void *p)
{
    struct redis_evloop *e = p;
    if (!e->read_added) return;
    event_del(&e->rev);
    e->read_added = false;
}

/* called by hiredis after buffering a command, and from redisAsyncHandleWrite when the buffer
 * did not drain */
static void redis_evloop_add_write(void *p)
{
    struct redis_evloop *e = p;
    if (e->write != REDIS_EVLOOP_WRITE_IDLE) return;
    /* Before REDIS_CONNECTED hiredis takes the first write event as "connect finished" (it
     * only checks SO_ERROR, which is 0 while the connect is still in progress): wait for a
     * real one. Inside a write, a new addWrite means the socket buffer is full. */
    if (!(e->ac->c.flags & REDIS_CONNECTED) || e->in_write) {
        if (event_add(&e->wev, NULL) == 0) e->write = REDIS_EVLOOP_WRITE_ARMED;
        return;
    }
    event_active(&e->flush, EV_TIMEOUT, 0);
    e->write = REDIS_EVLOOP_WRITE_FLUSH;
}

/* called by hiredis when the output buffer is empty */
static void redis_evloop_del_write(void *p)
{
    struct redis_evloop *e = p;
    if (e->write == REDIS_EVLOOP_WRITE_ARMED) event_del(&e->wev);
    if (e->write == REDIS_EVLOOP_WRITE_FLUSH) event_del(&e->flush); /* also leaves the queue */
    e->write = REDIS_EVLOOP_WRITE_IDLE;
}

/* called by hiredis when it frees the context (before closing the socket) */
static void redis_evloop_cleanup(void *p)
{
    struct redis_evloop *e = p;
    /* event_del of an event that is not added nor active is a no-op without a syscall */
    event_del(&e->rev);
    event_del(&e->wev);
    event_del(&e->flush);
    memset(&e->ac->ev, 0, sizeof(e->ac->ev)); /* any later hook call is skipped by hiredis */
    if (e->in_write) {
        e->freed = true; /* redis_evloop_handle_write frees e once hiredis returns */
        return;
    }
    free(e);
}

bool redis_evloop_attach(redisAsyncContext *ac, struct event_base *base)
{
    struct redis_evloop *e;
    int fd = ac->c.fd;

    if (ac->ev.data != NULL) return false;
    e = util_xcalloc(1, sizeof(*e));
    e->ac = ac;
    event_assign(&e->rev, base, fd, EV_READ | EV_PERSIST, redis_evloop_read_cb, e);
    event_assign(&e->wev, base, fd, EV_WRITE | EV_PERSIST, redis_evloop_write_cb, e);
    event_assign(&e->flush, base, -1, 0, redis_evloop_flush_cb, e);
    ac->ev.data = e;
    ac->ev.addRead = redis_evloop_add_read;
    ac->ev.delRead = redis_evloop_del_read;
    ac->ev.addWrite = redis_evloop_add_write;
    ac->ev.delWrite = redis_evloop_del_write;
    ac->ev.cleanup = redis_evloop_cleanup;
    /* watch for the connect to finish (or fail) and for the server closing on us */
    redis_evloop_add_read(e);
    redis_evloop_add_write(e);
    return true;
}
