/*
 * HTTP/1.1 fetches (see http_plain.h). A fetch is a small state machine on one embedded I/O
 * event and one embedded timer: connect [-> TLS handshake] (connect timeout) -> send the
 * request -> read and parse the response (whole-transfer timeout) -> done. TLS runs on one
 * SSL_CTX per client, driven non-blocking like tls_alpn_check.c. Failures found while starting
 * are reported through the timer at 0 ms, so the callback never runs inside http_plain_fetch.
 */
#include "http_plain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "http_resp.h"
#include "ipfilter.h"
#include "tlsclient.h"
#include "util.h"

#define HTTP_PLAIN_READ_CHUNK 4096
#define HTTP_PLAIN_ERROR_MAX 256
#define HTTP_PLAIN_MAX_CERT_LIST (64 * 1024) /* the server's certificate chain */

enum http_plain_state {
    HTTP_PLAIN_DEFERRED = 0,   /* failed while starting; the 0 ms timer reports it */
    HTTP_PLAIN_CONNECTING = 1,  /* connect() in progress */
    HTTP_PLAIN_HANDSHAKING = 2, /* https: SSL_do_handshake() wants to read or write */
    HTTP_PLAIN_SENDING = 3,     /* writing the request */
    HTTP_PLAIN_RECEIVING = 4,   /* reading the response */
    HTTP_PLAIN_DONE = 5,        /* callback called; being freed */
};

struct http_plain_fetch {
    enum http_plain_state state;
    struct http_plain *owner;
    int fd;
    short waiting;      /* EV_READ or EV_WRITE: what io waits for (0: not added) */
    SSL *ssl;           /* https, once connected */
    char *sni;          /* https: the server name to send (NULL for an IP literal) */
    bool tls;
    struct event io;    /* the socket, for the direction the state needs */
    struct event timer; /* connect deadline, then the transfer's; 0 ms when deferred */
    http_fetch_cb cb;
    void *arg;
    char *req; /* the request bytes, freed once sent */
    size_t req_len, req_off;
    struct http_resp resp;
    unsigned char *body; /* grows up to max_body */
    size_t body_len, body_alloc, max_body;
    bool too_large;
    bool allow_private;
    bool connected;
    bool vetoed;
    CURLcode defer_code;
    char defer_error[HTTP_PLAIN_ERROR_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int port;
    char ip[HTTP_CLIENT_IP_MAX];
    long connect_timeout_ms, timeout_ms;
    int64_t start_ms;
    uint64_t received;
    struct http_plain_fetch *prev, *next;
};

struct http_plain {
    struct event_base *base;
    SSL_CTX *ctx; /* for https, created by the first https fetch */
    struct http_plain_fetch *fetches; /* every fetch not yet completed */
    int pending;
};

static void http_plain_io_cb(evutil_socket_t fd, short what, void *arg);

struct http_plain *http_plain_new(struct event_base *base)
{
    struct http_plain *p = util_xcalloc(1, sizeof(*p));
    p->base = base;
    return p;
}

int http_plain_pending(const struct http_plain *p)
{
    return p != NULL ? p->pending : 0;
}

/* The one completion path: builds the result, calls back once, frees the fetch. */
static void http_plain_complete(struct http_plain_fetch *f, CURLcode code, const char *error)
{
    struct http_plain *p = f->owner;
    struct http_fetch_result res;
    static const unsigned char empty[1] = {0};

    if (f->state == HTTP_PLAIN_DONE) return;
    f->state = HTTP_PLAIN_DONE;
    if (f->prev != NULL) f->prev->next = f->next;
    else p->fetches = f->next;
    if (f->next != NULL) f->next->prev = f->prev;
    p->pending--;
    event_del(&f->io);
    event_del(&f->timer);
    if (f->ssl != NULL) {
        SSL_free(f->ssl); /* no close_notify: the connection is dropped either way */
        f->ssl = NULL;
    }
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;

    memset(&res, 0, sizeof(res));
    res.code = code;
    res.error = code == CURLE_OK ? "" : error;
    res.status = f->resp.status;
    res.location = res.status > 0 ? f->resp.location : NULL;
    res.body = f->body != NULL ? f->body : empty;
    res.body_len = f->body_len;
    res.body_too_large = f->too_large;
    res.connected = f->connected;
    res.vetoed = f->vetoed;
    util_strlcpy(res.primary_ip, f->ip, sizeof(res.primary_ip));
    res.elapsed_ms = clock_mono_ms() - f->start_ms;
    f->cb(f->arg, &res);

    http_resp_free(&f->resp);
    free(f->sni);
    free(f->req);
    free(f->body);
    free(f);
}

/* called by http_resp with each run of body bytes */
static bool http_plain_body_cb(void *arg, const unsigned char *p, size_t n)
{
    struct http_plain_fetch *f = arg;

    if (http_client_body_append(&f->body, &f->body_len, &f->body_alloc, f->max_body, p, n) < n) {
        f->too_large = f->body_len == f->max_body;
        return false;
    }
    return true;
}

/* Arms the timer for the deadline of the current stage (ms since start). */
static void http_plain_arm_timer(struct http_plain_fetch *f, long after_start_ms)
{
    int64_t left = f->start_ms + after_start_ms - clock_mono_ms();
    struct timeval tv;

    tv = util_ms_timeval(left); /* a passed deadline fires now */
    evtimer_add(&f->timer, &tv);
}

/* Waits on the socket for what (EV_READ or EV_WRITE). */
static void http_plain_wait(struct http_plain_fetch *f, short what)
{
    if (f->waiting == what) return;
    f->waiting = what;
    event_del(&f->io);
    event_assign(&f->io, f->owner->base, f->fd, what | EV_PERSIST, http_plain_io_cb, f);
    event_add(&f->io, NULL);
}

static void http_plain_fail_errno(struct http_plain_fetch *f, CURLcode code, const char *what,
                                  int err)
{
    char msg[HTTP_PLAIN_ERROR_MAX];

    snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
    http_plain_complete(f, code, msg);
}

/* Waits for what OpenSSL wants after rc; false when it wants nothing we can wait for. */
static bool http_plain_ssl_wait(struct http_plain_fetch *f, int rc)
{
    int err = SSL_get_error(f->ssl, rc);

    if (err == SSL_ERROR_WANT_READ) http_plain_wait(f, EV_READ);
    else if (err == SSL_ERROR_WANT_WRITE) http_plain_wait(f, EV_WRITE);
    else return false;
    return true;
}

static void http_plain_send(struct http_plain_fetch *f);

/* The connection (and for https the handshake) is up: the transfer's timer, then send. */
static void http_plain_connected(struct http_plain_fetch *f)
{
    f->connected = true;
    free(f->sni);
    f->sni = NULL;
    event_del(&f->timer);
    if (f->timeout_ms > 0) http_plain_arm_timer(f, f->timeout_ms);
    f->state = HTTP_PLAIN_SENDING;
    http_plain_send(f);
}

/* One step of the TLS handshake. */
static void http_plain_handshake(struct http_plain_fetch *f)
{
    char msg[HTTP_PLAIN_ERROR_MAX];
    int rc;

    ERR_clear_error();
    errno = 0;
    rc = SSL_do_handshake(f->ssl);
    if (rc == 1) {
        http_plain_connected(f);
        return;
    }
    if (http_plain_ssl_wait(f, rc)) return;
    tlsclient_error(f->ssl, rc, "TLS handshake failed", msg, sizeof(msg));
    http_plain_complete(f, CURLE_SSL_CONNECT_ERROR, msg);
}

/* https: the TCP connection is up; start the handshake (TLS >= 1.2, ALPN http/1.1, SNI). */
static void http_plain_start_tls(struct http_plain_fetch *f)
{
    static const unsigned char alpn[] = "\x08http/1.1";

    f->ssl = SSL_new(f->owner->ctx);
    if (f->ssl == NULL || SSL_set_fd(f->ssl, f->fd) != 1 ||
        (f->sni != NULL && SSL_set_tlsext_host_name(f->ssl, f->sni) != 1) ||
        SSL_set_alpn_protos(f->ssl, alpn, sizeof(alpn) - 1) != 0) {
        ERR_clear_error();
        http_plain_complete(f, CURLE_SSL_CONNECT_ERROR, "TLS setup failed");
        return;
    }
    SSL_set_connect_state(f->ssl);
    f->state = HTTP_PLAIN_HANDSHAKING;
    http_plain_handshake(f);
}

/* The connection is up: send the request (usually in one write), then read. */
static void http_plain_send(struct http_plain_fetch *f)
{
    char msg[HTTP_PLAIN_ERROR_MAX];

    while (f->req_off < f->req_len) {
        if (f->ssl != NULL) {
            int len = (int)(f->req_len - f->req_off), rc;
            ERR_clear_error();
            errno = 0;
            rc = SSL_write(f->ssl, f->req + f->req_off, len);
            if (rc <= 0) {
                if (http_plain_ssl_wait(f, rc)) return;
                tlsclient_error(f->ssl, rc, "Send failure", msg, sizeof(msg));
                http_plain_complete(f, CURLE_SEND_ERROR, msg);
                return;
            }
            f->req_off += (size_t)rc;
            continue;
        }
        ssize_t n = send(f->fd, f->req + f->req_off, f->req_len - f->req_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            http_plain_wait(f, EV_WRITE);
            return;
        }
        if (n < 0) {
            http_plain_fail_errno(f, CURLE_SEND_ERROR, "Send failure", errno);
            return;
        }
        f->req_off += (size_t)n;
    }
    free(f->req);
    f->req = NULL;
    f->state = HTTP_PLAIN_RECEIVING;
    http_plain_wait(f, EV_READ);
}

/* The code and message for a parse that failed or a connection cut short. */
static void http_plain_parse_failed(struct http_plain_fetch *f, bool eof)
{
    char msg[HTTP_PLAIN_ERROR_MAX];
    CURLcode code = CURLE_RECV_ERROR;
    const char *why = f->resp.error != NULL ? f->resp.error : "malformed response";

    if (eof && f->received == 0) code = CURLE_GOT_NOTHING;
    else if (!f->resp.head_done) code = CURLE_WEIRD_SERVER_REPLY;
    else if (eof) code = CURLE_PARTIAL_FILE;
    snprintf(msg, sizeof(msg), "%s (%llu bytes received)", why,
             (unsigned long long)f->received);
    http_plain_complete(f, code, msg);
}

/* The bytes read go to the parser; true while the fetch goes on. */
static bool http_plain_got(struct http_plain_fetch *f, const unsigned char *buf, size_t n)
{
    enum http_resp_result r;

    f->received += (uint64_t)n;
    r = http_resp_feed(&f->resp, buf, n);
    if (r == HTTP_RESP_COMPLETE) {
        http_plain_complete(f, CURLE_OK, "");
    } else if (r == HTTP_RESP_STOPPED) {
        char msg[HTTP_PLAIN_ERROR_MAX];
        if (f->too_large)
            snprintf(msg, sizeof(msg), "response body larger than %zu bytes", f->max_body);
        else
            snprintf(msg, sizeof(msg), "out of memory for the response body");
        http_plain_complete(f, CURLE_WRITE_ERROR, msg);
    } else if (r == HTTP_RESP_ERROR) {
        http_plain_parse_failed(f, false);
    }
    return r == HTTP_RESP_MORE;
}

/* The peer closed the connection. */
static void http_plain_eof(struct http_plain_fetch *f)
{
    if (http_resp_eof(&f->resp) == HTTP_RESP_COMPLETE) http_plain_complete(f, CURLE_OK, "");
    else http_plain_parse_failed(f, true);
}

/* https: reads what OpenSSL has, records held in its buffer included (no socket event for
 * those). */
static void http_plain_receive_tls(struct http_plain_fetch *f)
{
    unsigned char buf[HTTP_PLAIN_READ_CHUNK];
    char msg[HTTP_PLAIN_ERROR_MAX];
    int rc, err;

    do {
        ERR_clear_error();
        errno = 0;
        rc = SSL_read(f->ssl, buf, (int)sizeof(buf));
        if (rc > 0) {
            if (!http_plain_got(f, buf, (size_t)rc)) return;
            continue;
        }
        err = SSL_get_error(f->ssl, rc);
        if (err == SSL_ERROR_ZERO_RETURN) {
            http_plain_eof(f);
            return;
        }
        if (http_plain_ssl_wait(f, rc)) return;
        tlsclient_error(f->ssl, rc, "Recv failure", msg, sizeof(msg));
        http_plain_complete(f, CURLE_RECV_ERROR, msg);
        return;
    } while (SSL_pending(f->ssl) > 0);
    http_plain_wait(f, EV_READ);
}

static void http_plain_receive(struct http_plain_fetch *f)
{
    unsigned char buf[HTTP_PLAIN_READ_CHUNK];
    ssize_t n;

    if (f->ssl != NULL) {
        http_plain_receive_tls(f);
        return;
    }
    n = recv(f->fd, buf, sizeof(buf), 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        http_plain_fail_errno(f, CURLE_RECV_ERROR, "Recv failure", errno);
        return;
    }
    if (n == 0) {
        http_plain_eof(f);
        return;
    }
    (void)http_plain_got(f, buf, (size_t)n);
}

/* The message of a failed connect (libcurl's wording). */
static void http_plain_connect_error(const struct http_plain_fetch *f, int err, char *buf,
                                     size_t len)
{
    snprintf(buf, len, "Failed to connect to %s port %d: %s", f->ip, f->port, strerror(err));
}

/* called by libevent when the socket is ready for the direction the state waits for */
static void http_plain_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_plain_fetch *f = arg;
    int err = 0;
    socklen_t len = sizeof(err);
    char msg[HTTP_PLAIN_ERROR_MAX];

    switch (f->state) {
    case HTTP_PLAIN_CONNECTING:
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
            http_plain_connect_error(f, err, msg, sizeof(msg));
            http_plain_complete(f, CURLE_COULDNT_CONNECT, msg);
            return;
        }
        if (f->tls) http_plain_start_tls(f);
        else http_plain_connected(f);
        return;
    case HTTP_PLAIN_HANDSHAKING:
        http_plain_handshake(f);
        return;
    case HTTP_PLAIN_SENDING:
        http_plain_send(f);
        return;
    case HTTP_PLAIN_RECEIVING:
        http_plain_receive(f);
        return;
    default:
        return;
    }
}

/* called by libevent at a deadline, or at 0 ms for a fetch that failed while starting */
static void http_plain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_plain_fetch *f = arg;
    char msg[HTTP_PLAIN_ERROR_MAX];
    long elapsed = (long)(clock_mono_ms() - f->start_ms);

    if (f->state == HTTP_PLAIN_DEFERRED) {
        http_plain_complete(f, f->defer_code, f->defer_error);
        return;
    }
    if (f->state == HTTP_PLAIN_CONNECTING || f->state == HTTP_PLAIN_HANDSHAKING)
        snprintf(msg, sizeof(msg), "Connection timed out after %ld milliseconds", elapsed);
    else
        snprintf(msg, sizeof(msg),
                 "Operation timed out after %ld milliseconds with %llu bytes received",
                 elapsed, (unsigned long long)f->received);
    http_plain_complete(f, CURLE_OPERATION_TIMEDOUT, msg);
}

/* "::IP:PORT" or "::[IPv6]:PORT" (any host, any port, as http_walk pins them) into f */
static int http_plain_parse_pin(struct http_plain_fetch *f, const char *pin)
{
    char ip[HTTP_CLIENT_IP_MAX];
    const char *s, *colon;
    char *end;
    long port;
    size_t n;

    if (pin == NULL || strncmp(pin, "::", 2) != 0) return -1;
    s = pin + 2;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') return -1;
        n = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) return -1;
        n = (size_t)(colon - s);
    }
    if (n == 0 || n >= sizeof(ip)) return -1;
    memcpy(ip, s, n);
    ip[n] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535) return -1;
    memset(&f->addr, 0, sizeof(f->addr));
    if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&f->addr)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&f->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        f->addr_len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&f->addr)->sin6_addr) == 1) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->addr;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        f->addr_len = sizeof(*sin6);
    } else {
        return -1;
    }
    util_strlcpy(f->ip, ip, sizeof(f->ip));
    f->port = (int)port;
    return 0;
}

/* Whether a custom header line replaces the default header `name`. */
static bool http_plain_custom_has(const struct http_fetch_opts *o, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++) {
        const char *h = o->headers[i];
        if (strncasecmp(h, name, n) == 0 && (h[n] == ':' || h[n] == ';')) return true;
    }
    return false;
}

/* Appends s (n bytes) to the growing request buffer. */
static void http_plain_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n > *cap) {
        size_t want = *cap == 0 ? 256 : *cap;
        while (want < *len + n) want *= 2;
        char *grown = realloc(*buf, want);
        if (grown == NULL) abort(); /* out of memory for a request line */
        *buf = grown;
        *cap = want;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

static void http_plain_adds(char **buf, size_t *len, size_t *cap, const char *s)
{
    http_plain_add(buf, len, cap, s, strlen(s));
}

/*
 * The request as libcurl writes it for a GET with these options: request line, Host (with
 * the URL's port unless the scheme's default), User-Agent, Accept unless a custom header replaces them, then
 * the custom headers ("Name:" alone removes a default, "Name;" sends an empty value).
 * Returns -1 when the URL is not an http:// or https:// URL this client takes.
 */
static int http_plain_build(struct http_plain_fetch *f, const struct http_fetch_opts *o)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    char *buf = NULL, portbuf[16];
    size_t len = 0, cap = 0;
    int rc = -1;

    if (u == NULL || o->url == NULL || curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0' ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) goto done;
    f->tls = strcasecmp(scheme, "https") == 0;
    if (f->tls) { /* SNI names a host, never an IP literal (RFC 6066 §3) */
        struct in_addr a4;
        if (host[0] != '[' && inet_pton(AF_INET, host, &a4) != 1) f->sni = util_xstrdup(host);
    }
    http_plain_adds(&buf, &len, &cap, "GET ");
    http_plain_adds(&buf, &len, &cap, path[0] != '\0' ? path : "/");
    if (query != NULL) {
        http_plain_adds(&buf, &len, &cap, "?");
        http_plain_adds(&buf, &len, &cap, query);
    }
    http_plain_adds(&buf, &len, &cap, " HTTP/1.1\r\nHost: ");
    http_plain_adds(&buf, &len, &cap, host);
    if (strcmp(port, f->tls ? "443" : "80") != 0) {
        snprintf(portbuf, sizeof(portbuf), ":%s", port);
        http_plain_adds(&buf, &len, &cap, portbuf);
    }
    http_plain_adds(&buf, &len, &cap, "\r\n");
    if (o->user_agent != NULL && !http_plain_custom_has(o, "User-Agent")) {
        http_plain_adds(&buf, &len, &cap, "User-Agent: ");
        http_plain_adds(&buf, &len, &cap, o->user_agent);
        http_plain_adds(&buf, &len, &cap, "\r\n");
    }
    if (!http_plain_custom_has(o, "Accept")) http_plain_adds(&buf, &len, &cap, "Accept: */*\r\n");
    for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++) {
        const char *h = o->headers[i];
        size_t hl = strlen(h);
        const char *colon = strchr(h, ':');
        if (colon != NULL) {
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t') v++;
            if (*v == '\0') continue; /* "Name:" removes the header */
            http_plain_add(&buf, &len, &cap, h, hl);
        } else if (hl > 0 && h[hl - 1] == ';') {
            http_plain_add(&buf, &len, &cap, h, hl - 1);
            http_plain_adds(&buf, &len, &cap, ":");
        } else {
            continue; /* neither form: libcurl ignores it too */
        }
        http_plain_adds(&buf, &len, &cap, "\r\n");
    }
    http_plain_adds(&buf, &len, &cap, "\r\n");
    f->req = buf;
    f->req_len = len;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    if (u != NULL) curl_url_cleanup(u);
    return rc;
}

/* Reports a failure found while starting through the 0 ms timer. */
static void http_plain_defer(struct http_plain_fetch *f, CURLcode code, const char *error)
{
    struct timeval zero = {0, 0};

    f->state = HTTP_PLAIN_DEFERRED;
    f->defer_code = code;
    util_strlcpy(f->defer_error, error, sizeof(f->defer_error));
    evtimer_add(&f->timer, &zero);
}

/* Vets the address and starts the connection; failures are deferred. */
static void http_plain_connect(struct http_plain_fetch *f)
{
    const struct sockaddr *sa = (const struct sockaddr *)&f->addr;
    const char *why;
    char msg[HTTP_PLAIN_ERROR_MAX];

    if (sa->sa_family == AF_INET)
        why = ipfilter_classify4(
            (const unsigned char *)&((const struct sockaddr_in *)&f->addr)->sin_addr);
    else
        why = ipfilter_classify6(((const struct sockaddr_in6 *)&f->addr)->sin6_addr.s6_addr);
    if (why != NULL && !f->allow_private) {
        f->vetoed = true;
        snprintf(msg, sizeof(msg), "refused to connect to special-purpose address %s (%s)",
                 f->ip, why);
        http_plain_defer(f, CURLE_COULDNT_CONNECT, msg);
        return;
    }
    f->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
        http_plain_defer(f, CURLE_COULDNT_CONNECT, msg);
        return;
    }
    if (connect(f->fd, sa, f->addr_len) != 0 && errno != EINPROGRESS) {
        http_plain_connect_error(f, errno, msg, sizeof(msg));
        http_plain_defer(f, CURLE_COULDNT_CONNECT, msg);
        return;
    }
    /* even a connect that finished at once is reported by the first writable event */
    f->state = HTTP_PLAIN_CONNECTING;
    http_plain_wait(f, EV_WRITE);
    http_plain_arm_timer(f, f->connect_timeout_ms);
}

/*
 * The client's TLS context, made once: the worker's TLS client settings (tlsclient.h), plus a
 * peer's EOF without close_notify read as the end of the connection (as libcurl does) and
 * buffers released while a connection waits.
 */
static int http_plain_ctx(struct http_plain *p)
{
    SSL_CTX *ctx;

    if (p->ctx != NULL) return 0;
    ctx = tlsclient_ctx_new(HTTP_PLAIN_MAX_CERT_LIST);
    if (ctx == NULL) return -1;
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    p->ctx = ctx;
    return 0;
}

int http_plain_fetch(struct http_plain *p, const struct http_fetch_opts *o, http_fetch_cb cb,
                     void *arg)
{
    struct http_plain_fetch *f;

    if (p == NULL) return -1;
    f = util_xcalloc(1, sizeof(*f));
    f->fd = -1;
    if (http_plain_parse_pin(f, o->connect_to) != 0 || http_plain_build(f, o) != 0 ||
        (f->tls && http_plain_ctx(p) != 0)) {
        free(f->req);
        free(f->sni);
        free(f);
        return -1;
    }
    f->owner = p;
    f->cb = cb;
    f->arg = arg;
    f->max_body = o->max_body;
    f->allow_private = o->allow_private;
    f->timeout_ms = o->timeout_ms;
    f->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 300000;
    if (f->timeout_ms > 0 && f->timeout_ms < f->connect_timeout_ms)
        f->connect_timeout_ms = f->timeout_ms;
    f->start_ms = clock_mono_ms();
    http_resp_init(&f->resp, http_plain_body_cb, f);
    evtimer_assign(&f->timer, p->base, http_plain_timer_cb, f);
    event_assign(&f->io, p->base, -1, 0, http_plain_io_cb, f);
    f->next = p->fetches;
    if (p->fetches != NULL) p->fetches->prev = f;
    p->fetches = f;
    p->pending++;
    http_plain_connect(f);
    return 0;
}

void http_plain_free(struct http_plain *p)
{
    if (p == NULL) return;
    while (p->fetches != NULL) {
        struct http_plain_fetch *f = p->fetches;
        if (f->state == HTTP_PLAIN_DEFERRED) http_plain_complete(f, f->defer_code, f->defer_error);
        else http_plain_complete(f, CURLE_ABORTED_BY_CALLBACK, "HTTP client shut down");
    }
    SSL_CTX_free(p->ctx);
    free(p);
}
