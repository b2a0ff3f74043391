/*
 * A raw TCP "HTTP server" on 127.0.0.1 inside a unit test's event loop, for the worker's
 * HTTP clients: it keeps the exact bytes of each request's header section and answers with
 * the bytes the test set (or holds the connection without answering when hold is set), then
 * closes. Header-only (static functions); include after <cmocka.h>.
 */
#ifndef MPIC_TEST_RAW_HTTP_SERVER_H
#define MPIC_TEST_RAW_HTTP_SERVER_H

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct raw_server {
    struct evconnlistener *listener;
    int port;
    int requests;        /* requests whose header section was read */
    char request[4096];  /* the last one, NUL-terminated */
    const char *answer;  /* sent after a request (NULL: close at once) */
    size_t answer_len;
    int hold;            /* keep the connection open without answering */
    struct bufferevent *held[8];
    int nheld;
};

/* called by libevent once the answer was written (or the peer went away) */
static void raw_server_drained_cb(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_free(bev);
}

/* called by libevent on errors and EOF of a server connection */
static void raw_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct raw_server *s = arg;
    (void)what;
    for (int i = 0; i < s->nheld; i++)
        if (s->held[i] == bev) s->held[i] = NULL;
    bufferevent_free(bev);
}

/* called by libevent with request bytes */
static void raw_server_read_cb(struct bufferevent *bev, void *arg)
{
    struct raw_server *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    size_t n;

    if (end.pos < 0) return;
    n = (size_t)end.pos + 4;
    if (n >= sizeof(s->request)) n = sizeof(s->request) - 1;
    evbuffer_remove(in, s->request, n);
    s->request[n] = '\0';
    s->requests++;
    if (s->hold) {
        if (s->nheld < (int)(sizeof(s->held) / sizeof(s->held[0]))) s->held[s->nheld++] = bev;
        return;
    }
    if (s->answer == NULL) {
        bufferevent_free(bev);
        return;
    }
    bufferevent_setcb(bev, NULL, raw_server_drained_cb, raw_server_event_cb, s);
    bufferevent_write(bev, s->answer, s->answer_len);
}

/* called by libevent for each accepted connection */
static void raw_server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                                 struct sockaddr *sa, int len, void *arg)
{
    struct raw_server *s = arg;
    struct bufferevent *bev =
        bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    (void)sa;
    (void)len;
    bufferevent_setcb(bev, raw_server_read_cb, NULL, raw_server_event_cb, s);
    bufferevent_enable(bev, EV_READ);
}

static void raw_server_start(struct raw_server *s, struct event_base *base)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    memset(s, 0, sizeof(*s));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listener = evconnlistener_new_bind(base, raw_server_accept_cb, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                          (struct sockaddr *)&sin, sizeof(sin));
    assert_non_null(s->listener);
    getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&sin, &slen);
    s->port = ntohs(sin.sin_port);
}

/* Sets the answer to the next requests. */
static void raw_server_answer(struct raw_server *s, const char *answer)
{
    s->answer = answer;
    s->answer_len = answer != NULL ? strlen(answer) : 0;
}

static void raw_server_stop(struct raw_server *s)
{
    for (int i = 0; i < s->nheld; i++)
        if (s->held[i] != NULL) bufferevent_free(s->held[i]);
    evconnlistener_free(s->listener);
}

#endif
