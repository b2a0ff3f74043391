/*
 * libcurl multi + libevent glue (the hiperfifo pattern): curl tells us which sockets to watch
 * (socket callback, one embedded event per socket) and when to call it back (one evtimer);
 * every curl_multi_socket_action() is followed by draining curl_multi_info_read(). Each fetch
 * owns one easy handle configured for a single pinned, capped, non-redirecting request.
 */
#include "http_client.h"

#include <arpa/inet.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "http_plain.h"
#include "ipfilter.h"
#include "log.h"
#include "util.h"

enum http_fetch_state {
    HTTP_FETCH_DEFERRED = 0, /* setup failed; completion waits for the 0 ms defer timer */
    HTTP_FETCH_RUNNING = 1,  /* easy handle added to the multi handle */
    HTTP_FETCH_DONE = 2,     /* callback called; the struct is being freed */
};

struct http_sock {
    struct event ev;   /* embedded; assigned for the mask curl asked for */
    bool ev_assigned;  /* ev has been assigned (and possibly added) */
    curl_socket_t fd;
    struct http_client *client;
    struct http_sock *prev, *next;
};

struct http_fetch {
    enum http_fetch_state state;
    struct http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *connect_to;
    http_fetch_cb cb;
    void *arg;
    unsigned char *body; /* grows up to max_body */
    size_t body_len;
    size_t body_alloc;
    size_t max_body;
    bool too_large;
    bool allow_private;
    bool connected;
    bool vetoed;
    char vetoed_ip[HTTP_CLIENT_IP_MAX];
    const char *vetoed_why;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode defer_code;   /* the setup failure reported by the defer timer */
    struct event *defer_ev;
    int64_t start_ms;
    struct http_fetch *prev, *next;
};

struct http_client {
    struct event_base *base;
    struct http_plain *plain; /* pinned http(s):// fetches, unless curl_only */
    bool curl_only;
    CURLM *multi;
    struct event *timer;
    struct http_fetch *fetches; /* every fetch not yet completed */
    struct http_sock *socks;    /* every socket curl asked us to watch */
    int pending;
};

/* curl's receive buffer per transfer (its default is 16 KiB, allocated when the transfer
 * connects and kept for its whole life). 1 KiB is curl's minimum: the responses we judge are
 * small and capped, headers are collected in a separate buffer, so only the number of recv()
 * calls for a large body changes. */
#define HTTP_CLIENT_RECV_BUFFER 1024L

static bool http_client_curl_ready = false;

static void http_client_check_multi_info(struct http_client *c);

/* ------------------------------------------------------------------------------------------ */

static void http_fetch_unlink(struct http_fetch *f)
{
    struct http_client *c = f->client;

    if (f->prev != NULL) f->prev->next = f->next;
    else c->fetches = f->next;
    if (f->next != NULL) f->next->prev = f->prev;
    f->prev = f->next = NULL;
    c->pending--;
}

static void http_fetch_destroy(struct http_fetch *f)
{
    if (f->easy != NULL) curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->headers);
    curl_slist_free_all(f->connect_to);
    if (f->defer_ev != NULL) event_free(f->defer_ev);
    free(f->body);
    free(f);
}

/* The one completion path: builds the result, detaches the handle, calls back, frees. */
static void http_fetch_complete(struct http_fetch *f, CURLcode code)
{
    struct http_fetch_result res;
    struct curl_header *hdr = NULL;
    char *location = NULL;
    char *ip = NULL;
    char errtext[CURL_ERROR_SIZE + 128];
    static const unsigned char empty[1] = {0};

    if (f->state == HTTP_FETCH_DONE) return;
    memset(&res, 0, sizeof(res));
    res.code = code;
    if (f->easy != NULL && f->state == HTTP_FETCH_RUNNING) {
        long status = 0;
        if (curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
            res.status = status;
        }
        if (curl_easy_getinfo(f->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != NULL) {
            util_strlcpy(res.primary_ip, ip, sizeof(res.primary_ip));
        }
        if (res.status > 0 &&
            curl_easy_header(f->easy, "Location", 0, CURLH_HEADER, -1, &hdr) == CURLHE_OK &&
            hdr != NULL && hdr->value != NULL && strlen(hdr->value) <= HTTP_CLIENT_MAX_LOCATION) {
            location = util_xstrdup(hdr->value);
        }
        curl_multi_remove_handle(f->client->multi, f->easy);
    }
    f->state = HTTP_FETCH_DONE;
    http_fetch_unlink(f);

    if (f->vetoed) {
        util_strlcpy(res.primary_ip, f->vetoed_ip, sizeof(res.primary_ip));
        snprintf(errtext, sizeof(errtext),
                 "refused to connect to special-purpose address %s (%s)", f->vetoed_ip,
                 f->vetoed_why != NULL ? f->vetoed_why : "special-purpose");
    } else if (f->too_large) {
        snprintf(errtext, sizeof(errtext), "response body larger than %zu bytes", f->max_body);
    } else if (code == CURLE_OK) {
        errtext[0] = '\0';
    } else if (f->errbuf[0] != '\0') {
        snprintf(errtext, sizeof(errtext), "%s", f->errbuf);
    } else {
        snprintf(errtext, sizeof(errtext), "%s", curl_easy_strerror(code));
    }
    res.error = errtext;
    res.location = location;
    res.body = f->body != NULL ? f->body : empty;
    res.body_len = f->body_len;
    res.body_too_large = f->too_large;
    res.connected = f->connected;
    res.vetoed = f->vetoed;
    res.elapsed_ms = clock_mono_ms() - f->start_ms;

    f->cb(f->arg, &res);
    free(location);
    http_fetch_destroy(f);
}

/* called by libevent when a fetch whose setup failed is due to report (0 ms timer) */
static void http_fetch_defer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_fetch *f = arg;

    http_fetch_complete(f, f->defer_code);
}

size_t http_client_body_append(unsigned char **body, size_t *len, size_t *alloc, size_t max,
                               const unsigned char *p, size_t n)
{
    size_t room = max - *len;
    size_t take = n > room ? room : n;

    if (take == 0) return 0;
    if (*len + take > *alloc) {
        size_t want = *alloc == 0 ? 1024 : *alloc * 2;
        if (want < *len + take) want = *len + take;
        if (want > max) want = max;
        unsigned char *nb = realloc(*body, want);
        if (nb == NULL) return 0;
        *body = nb;
        *alloc = want;
    }
    memcpy(*body + *len, p, take);
    *len += take;
    return take;
}

/* called by libcurl with each chunk of the response body */
static size_t http_fetch_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http_fetch *f = userdata;
    size_t n = size * nmemb;

    if (http_client_body_append(&f->body, &f->body_len, &f->body_alloc, f->max_body,
                                (const unsigned char *)ptr, n) < n) {
        f->too_large = f->body_len == f->max_body;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* called by libcurl before it creates a socket: the special-purpose address backstop */
static curl_socket_t http_fetch_opensocket_cb(void *clientp, curlsocktype purpose,
                                              struct curl_sockaddr *address)
{
    struct http_fetch *f = clientp;
    const char *why = NULL;

    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (address->family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)&address->addr;
        why = ipfilter_classify4((const unsigned char *)&sin->sin_addr);
        inet_ntop(AF_INET, &sin->sin_addr, f->vetoed_ip, sizeof(f->vetoed_ip));
    } else if (address->family == AF_INET6) {
        const struct sockaddr_in6 *sin6 =
            (const struct sockaddr_in6 *)(const void *)&address->addr;
        why = ipfilter_classify6(sin6->sin6_addr.s6_addr);
        inet_ntop(AF_INET6, &sin6->sin6_addr, f->vetoed_ip, sizeof(f->vetoed_ip));
    } else {
        why = "unsupported address family";
        util_strlcpy(f->vetoed_ip, "?", sizeof(f->vetoed_ip));
    }
    if (why != NULL && (!f->allow_private || (address->family != AF_INET &&
                                              address->family != AF_INET6))) {
        f->vetoed = true;
        f->vetoed_why = why;
        return CURL_SOCKET_BAD;
    }
    f->vetoed_ip[0] = '\0';
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* called by libcurl once the connection is up, before the request is sent */
static int http_fetch_prereq_cb(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                                int conn_primary_port, int conn_local_port)
{
    struct http_fetch *f = clientp;

    f->connected = true;
    return CURL_PREREQFUNC_OK;
}

/* ------------------------------------------------------------------------------------------ */

/* called by libevent when a socket curl watches is readable/writable */
static void http_client_event_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct http_client *c = arg;
    int running = 0;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    CURLMcode rc = curl_multi_socket_action(c->multi, fd, action, &running);

    if (rc != CURLM_OK) log_warn("http_client: socket_action: %s", curl_multi_strerror(rc));
    http_client_check_multi_info(c);
    if (running <= 0 && c->pending == 0) evtimer_del(c->timer);
}

/* called by libevent when curl's timeout expires */
static void http_client_timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct http_client *c = arg;
    int running = 0;
    CURLMcode rc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);

    if (rc != CURLM_OK) log_warn("http_client: socket_action: %s", curl_multi_strerror(rc));
    http_client_check_multi_info(c);
}

/* called by libcurl to (re)arm or cancel its single timer; never calls back into curl */
static int http_client_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *c = userp;
    struct timeval tv;

    if (timeout_ms < 0) {
        evtimer_del(c->timer);
        return 0;
    }
    tv = util_ms_timeval(timeout_ms);
    evtimer_add(c->timer, &tv); /* 0 ms included: runs on the next loop turn */
    return 0;
}

static void http_sock_free(struct http_client *c, struct http_sock *s)
{
    if (s->ev_assigned) event_del(&s->ev);
    if (s->prev != NULL) s->prev->next = s->next;
    else c->socks = s->next;
    if (s->next != NULL) s->next->prev = s->prev;
    free(s);
}

/* called by libcurl when the set of events it wants on a socket changes */
static int http_client_curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                                      void *socketp)
{
    struct http_client *c = userp;
    struct http_sock *s = socketp;
    short kind;

    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) http_sock_free(c, s);
        return 0;
    }
    if (s == NULL) {
        s = util_xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->client = c;
        s->next = c->socks;
        if (c->socks != NULL) c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (s->ev_assigned) event_del(&s->ev);
    event_assign(&s->ev, c->base, fd, kind, http_client_event_cb, c);
    s->ev_assigned = true;
    event_add(&s->ev, NULL);
    return 0;
}

static void http_client_check_multi_info(struct http_client *c)
{
    CURLMsg *msg;
    int left = 0;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        struct http_fetch *f = NULL;
        CURLcode code;

        if (msg->msg != CURLMSG_DONE) continue;
        code = msg->data.result;
        if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f) != CURLE_OK ||
            f == NULL) {
            continue;
        }
        http_fetch_complete(f, code); /* msg is invalid from here on */
    }
}

/* ------------------------------------------------------------------------------------------ */

struct http_client *http_client_new(struct event_base *base)
{
    struct http_client *c = NULL;

    if (!http_client_curl_ready) {
        if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
            log_error("http_client: curl_global_init failed");
            return NULL;
        }
        http_client_curl_ready = true;
    }
    c = util_xcalloc(1, sizeof(*c));
    c->base = base;
    c->plain = http_plain_new(base);
    c->multi = curl_multi_init();
    if (c->multi == NULL) goto fail;
    c->timer = evtimer_new(base, http_client_timer_cb, c);
    if (c->timer == NULL) goto fail;
    if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_client_curl_socket_cb) !=
            CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_client_curl_timer_cb) !=
            CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
        goto fail;
    }
    return c;
fail:
    log_error("http_client: cannot create the curl multi handle");
    if (c->multi != NULL) curl_multi_cleanup(c->multi);
    if (c->timer != NULL) event_free(c->timer);
    http_plain_free(c->plain);
    free(c);
    return NULL;
}

void http_client_free(struct http_client *c)
{
    if (c == NULL) return;
    http_plain_free(c->plain);
    c->plain = NULL; /* a callback of a fetch aborted below must not reach it */
    while (c->fetches != NULL) {
        struct http_fetch *f = c->fetches;
        if (f->state == HTTP_FETCH_DEFERRED) {
            http_fetch_complete(f, f->defer_code);
        } else {
            util_strlcpy(f->errbuf, "HTTP client shut down", sizeof(f->errbuf));
            http_fetch_complete(f, CURLE_ABORTED_BY_CALLBACK);
        }
    }
    curl_multi_cleanup(c->multi);
    while (c->socks != NULL) http_sock_free(c, c->socks);
    event_free(c->timer);
    free(c);
}

int http_client_pending(const struct http_client *c)
{
    return c->pending + http_plain_pending(c->plain);
}

void http_client_set_curl_only(struct http_client *c, bool on)
{
    c->curl_only = on;
}

/* Applies every option; returns the first failure. */
static CURLcode http_fetch_setup(struct http_fetch *f, const struct http_fetch_opts *o)
{
    CURL *e = f->easy;
    CURLcode rc = CURLE_OK;

#define HTTP_SETOPT(opt, val)                                                                      \
    do {                                                                                           \
        rc = curl_easy_setopt(e, opt, val);                                                        \
        if (rc != CURLE_OK) goto done;                                                             \
    } while (0)

    if (o->url == NULL) {
        rc = CURLE_URL_MALFORMAT;
        goto done;
    }
    HTTP_SETOPT(CURLOPT_PRIVATE, (char *)f);
    HTTP_SETOPT(CURLOPT_ERRORBUFFER, f->errbuf);
    HTTP_SETOPT(CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    HTTP_SETOPT(CURLOPT_PROXY, "");
    HTTP_SETOPT(CURLOPT_FRESH_CONNECT, 1L);
    HTTP_SETOPT(CURLOPT_FORBID_REUSE, 1L);
    HTTP_SETOPT(CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    HTTP_SETOPT(CURLOPT_HTTPGET, 1L);
    HTTP_SETOPT(CURLOPT_BUFFERSIZE, HTTP_CLIENT_RECV_BUFFER);
    HTTP_SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    HTTP_SETOPT(CURLOPT_SSL_VERIFYPEER, 0L);
    HTTP_SETOPT(CURLOPT_SSL_VERIFYHOST, 0L);
    HTTP_SETOPT(CURLOPT_WRITEFUNCTION, http_fetch_write_cb);
    HTTP_SETOPT(CURLOPT_WRITEDATA, f);
    HTTP_SETOPT(CURLOPT_OPENSOCKETFUNCTION, http_fetch_opensocket_cb);
    HTTP_SETOPT(CURLOPT_OPENSOCKETDATA, f);
    HTTP_SETOPT(CURLOPT_PREREQFUNCTION, http_fetch_prereq_cb);
    HTTP_SETOPT(CURLOPT_PREREQDATA, f);
    if (o->connect_timeout_ms > 0) HTTP_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->timeout_ms > 0) HTTP_SETOPT(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (o->user_agent != NULL) HTTP_SETOPT(CURLOPT_USERAGENT, o->user_agent);
    if (o->connect_to != NULL) {
        f->connect_to = curl_slist_append(NULL, o->connect_to);
        if (f->connect_to == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            goto done;
        }
        HTTP_SETOPT(CURLOPT_CONNECT_TO, f->connect_to);
    }
    for (size_t i = 0; o->headers != NULL && o->headers[i] != NULL; i++) {
        struct curl_slist *n = curl_slist_append(f->headers, o->headers[i]);
        if (n == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            goto done;
        }
        f->headers = n;
    }
    if (f->headers != NULL) HTTP_SETOPT(CURLOPT_HTTPHEADER, f->headers);
    HTTP_SETOPT(CURLOPT_URL, o->url);
#undef HTTP_SETOPT
done:
    return rc;
}

void http_client_fetch(struct http_client *c, const struct http_fetch_opts *opts,
                       http_fetch_cb cb, void *arg)
{
    struct http_fetch *f;
    CURLcode rc;
    CURLMcode mrc;

    if (!c->curl_only && http_plain_fetch(c->plain, opts, cb, arg) == 0) return;
    f = util_xcalloc(1, sizeof(*f));
    f->client = c;
    f->cb = cb;
    f->arg = arg;
    f->max_body = opts->max_body;
    f->allow_private = opts->allow_private;
    f->start_ms = clock_mono_ms();
    f->state = HTTP_FETCH_DEFERRED;
    f->next = c->fetches;
    if (c->fetches != NULL) c->fetches->prev = f;
    c->fetches = f;
    c->pending++;

    f->easy = curl_easy_init();
    if (f->easy == NULL) {
        rc = CURLE_FAILED_INIT;
        goto fail;
    }
    rc = http_fetch_setup(f, opts);
    if (rc != CURLE_OK) goto fail;
    mrc = curl_multi_add_handle(c->multi, f->easy);
    if (mrc != CURLM_OK) {
        snprintf(f->errbuf, sizeof(f->errbuf), "curl_multi_add_handle: %s",
                 curl_multi_strerror(mrc));
        rc = CURLE_FAILED_INIT;
        goto fail;
    }
    f->state = HTTP_FETCH_RUNNING; /* curl arms its timer through the timer callback */
    return;
fail:
    if (f->errbuf[0] == '\0') {
        snprintf(f->errbuf, sizeof(f->errbuf), "%s", curl_easy_strerror(rc));
    }
    f->defer_code = rc;
    f->defer_ev = evtimer_new(c->base, http_fetch_defer_cb, f);
    if (f->defer_ev == NULL) abort(); /* out of memory for a control structure */
    struct timeval zero = {0, 0};
    evtimer_add(f->defer_ev, &zero);
}
