/*
 * A raw TCP "HTTP server" on 127.0.0.1 inside a unit test's event loop, for the worker's
 * HTTP clients: it keeps the exact bytes of each request's header section and answers with
 * the bytes the test set (or holds the connection without answering when hold is set), then
 * closes. With raw_server_start_tls it speaks TLS with a fresh self-signed certificate and
 * keeps the SNI name each client sent. Header-only (static functions); include after
 * <cmocka.h>.
 */
#ifndef MPIC_TEST_RAW_HTTP_SERVER_H
#define MPIC_TEST_RAW_HTTP_SERVER_H

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
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
    int at_once;         /* answer as soon as the connection is accepted, unasked */
    struct bufferevent *conns[64]; /* open connections, freed by raw_server_stop */
    SSL_CTX *tls;        /* NULL: plain TCP */
    char sni[256];       /* the last TLS client's server name ("" when none) */
};

static void raw_server_close(struct raw_server *s, struct bufferevent *bev)
{
    for (size_t i = 0; i < sizeof(s->conns) / sizeof(s->conns[0]); i++)
        if (s->conns[i] == bev) s->conns[i] = NULL;
    bufferevent_free(bev);
}

/* called by libevent once the answer was written */
static void raw_server_drained_cb(struct bufferevent *bev, void *arg)
{
    raw_server_close(arg, bev);
}

/* called by libevent on errors and EOF of a server connection */
static void raw_server_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & BEV_EVENT_CONNECTED) return; /* a TLS handshake completed */
    raw_server_close(arg, bev);
}

/* called by libevent with request bytes */
static void raw_server_read_cb(struct bufferevent *bev, void *arg)
{
    struct raw_server *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    size_t n;

    if (end.pos < 0) return;
    if (s->tls != NULL) {
        const char *name =
            SSL_get_servername(bufferevent_openssl_get_ssl(bev), TLSEXT_NAMETYPE_host_name);
        snprintf(s->sni, sizeof(s->sni), "%s", name != NULL ? name : "");
    }
    n = (size_t)end.pos + 4;
    if (n >= sizeof(s->request)) n = sizeof(s->request) - 1;
    evbuffer_remove(in, s->request, n);
    s->request[n] = '\0';
    s->requests++;
    if (s->hold) return;
    if (s->answer == NULL) {
        raw_server_close(s, bev);
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
    struct bufferevent *bev;
    (void)sa;
    if (s->tls != NULL)
        bev = bufferevent_openssl_socket_new(evconnlistener_get_base(l), fd, SSL_new(s->tls),
                                             BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    else
        bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    for (size_t i = 0; i < sizeof(s->conns) / sizeof(s->conns[0]); i++) {
        if (s->conns[i] == NULL) {
            s->conns[i] = bev;
            break;
        }
    }
    (void)len;
    if (s->at_once && s->answer != NULL) {
        bufferevent_setcb(bev, NULL, raw_server_drained_cb, raw_server_event_cb, s);
        bufferevent_write(bev, s->answer, s->answer_len);
        return;
    }
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

/* The same server speaking TLS (>= 1.2) with a new self-signed P-256 certificate. */
static void raw_server_start_tls(struct raw_server *s, struct event_base *base)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();

    raw_server_start(s, base);
    assert_non_null(key);
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"raw.test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    s->tls = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->tls);
    assert_int_equal(SSL_CTX_use_certificate(s->tls, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->tls, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* Sets the answer to the next requests. */
static void raw_server_answer(struct raw_server *s, const char *answer)
{
    s->answer = answer;
    s->answer_len = answer != NULL ? strlen(answer) : 0;
}

static void raw_server_stop(struct raw_server *s)
{
    for (size_t i = 0; i < sizeof(s->conns) / sizeof(s->conns[0]); i++)
        if (s->conns[i] != NULL) bufferevent_free(s->conns[i]);
    evconnlistener_free(s->listener);
    SSL_CTX_free(s->tls);
}

#endif
