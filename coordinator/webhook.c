/*
 * Alert webhook delivery (see webhook.h). The curl multi handle is driven by libevent as in
 * worker/http_client.c (socket callback with one embedded event per socket, one timer);
 * deliveries live on one list, oldest first, and move QUEUED -> SENDING -> (done | BACKOFF ->
 * QUEUED). Completion of a delivery only updates counters: nobody waits for it.
 */
#include "webhook.h"

#include <curl/curl.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmetrics.h"
#include "log.h"
#include "util.h"

enum webhook_state {
    WEBHOOK_QUEUED = 0,  /* waiting for a sending slot */
    WEBHOOK_SENDING = 1, /* easy handle added to the multi handle */
    WEBHOOK_BACKOFF = 2, /* retry timer armed */
};

struct webhook_delivery {
    struct webhook *wh;
    enum webhook_state state;
    char *url;
    char *body;
    int tries;
    CURL *easy;
    struct curl_slist *headers;
    struct event retry;
    char errbuf[CURL_ERROR_SIZE];
    struct webhook_delivery *prev, *next;
};

struct webhook_sock {
    struct event ev;
    bool assigned;
    struct webhook *wh;
    struct webhook_sock *prev, *next;
};

struct webhook {
    struct event_base *base;
    struct webhook_opts o;
    CURLM *multi;
    struct event *timer;
    struct event *pump_ev; /* 0 ms: start queued deliveries outside of curl callbacks */
    struct webhook_delivery *first, *last;
    size_t count;
    int sending;
    struct webhook_sock *socks;
};

static void webhook_check_multi(struct webhook *wh);

static void webhook_unlink_free(struct webhook_delivery *d)
{
    struct webhook *wh = d->wh;
    if (d->state == WEBHOOK_SENDING) {
        curl_multi_remove_handle(wh->multi, d->easy);
        wh->sending--;
    }
    if (d->state == WEBHOOK_BACKOFF) evtimer_del(&d->retry);
    if (d->easy) curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    if (d->prev) d->prev->next = d->next;
    else wh->first = d->next;
    if (d->next) d->next->prev = d->prev;
    else wh->last = d->prev;
    wh->count--;
    free(d->url);
    free(d->body);
    free(d);
}

static void webhook_schedule_pump(struct webhook *wh)
{
    struct timeval zero = {0, 0};
    evtimer_add(wh->pump_ev, &zero);
}

/* called by libcurl with the response body: discarded */
static size_t webhook_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

/* One attempt failed: back off, or give up after max_tries. */
static void webhook_attempt_failed(struct webhook_delivery *d, const char *why)
{
    struct webhook *wh = d->wh;
    int64_t delay = wh->o.backoff_ms;
    unsigned char rnd[2];
    struct timeval tv;

    cmetrics_webhook("attempt_failed");
    if (d->tries >= wh->o.max_tries) {
        log_warn("alert webhook %s: giving up after %d attempts: %s", d->url, d->tries, why);
        cmetrics_webhook("given_up");
        webhook_unlink_free(d);
        return;
    }
    for (int i = 1; i < d->tries && delay < WEBHOOK_MAX_BACKOFF_MS; i++) delay *= 2;
    if (delay > WEBHOOK_MAX_BACKOFF_MS) delay = WEBHOOK_MAX_BACKOFF_MS;
    util_random_bytes(rnd, sizeof(rnd));
    delay = delay * 3 / 4 + (int64_t)((rnd[0] << 8 | rnd[1]) % (delay / 2 + 1)); /* ±25 % */
    log_info("alert webhook %s: attempt %d failed (%s); retrying in %lld ms", d->url, d->tries,
             why, (long long)delay);
    if (d->state == WEBHOOK_SENDING) {
        curl_multi_remove_handle(wh->multi, d->easy);
        wh->sending--;
    }
    if (d->easy) curl_easy_cleanup(d->easy);
    d->easy = NULL;
    d->state = WEBHOOK_BACKOFF;
    tv = util_ms_timeval(delay);
    evtimer_add(&d->retry, &tv);
    webhook_schedule_pump(wh);
}

/* called by libevent when a delivery's backoff ends */
static void webhook_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct webhook_delivery *d = arg;
    d->state = WEBHOOK_QUEUED;
    webhook_schedule_pump(d->wh);
}

static int webhook_start(struct webhook_delivery *d)
{
    struct webhook *wh = d->wh;
    CURL *e = curl_easy_init();
    d->tries++;
    d->errbuf[0] = '\0';
    if (e == NULL) return -1;
    d->easy = e;
    if (d->headers == NULL)
        d->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (d->headers == NULL || curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)d) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_URL, d->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wh->o.timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "mpic-alerts/1") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, webhook_write_cb) != CURLE_OK ||
        curl_multi_add_handle(wh->multi, e) != CURLM_OK)
        return -1;
    d->state = WEBHOOK_SENDING;
    wh->sending++;
    return 0;
}

/* called by libevent (0 ms timer) to start queued deliveries while slots are free */
static void webhook_pump_cb(evutil_socket_t fd, short what, void *arg)
{
    struct webhook *wh = arg;
    struct webhook_delivery *d = wh->first;
    while (d != NULL && wh->sending < WEBHOOK_MAX_SENDING) {
        struct webhook_delivery *next = d->next;
        if (d->state == WEBHOOK_QUEUED && webhook_start(d) != 0)
            webhook_attempt_failed(d, "cannot set up the request");
        d = next;
    }
    cmetrics_webhook_queue(wh->count);
}

static void webhook_done(struct webhook_delivery *d, CURLcode code)
{
    long status = 0;
    char why[CURL_ERROR_SIZE + 64];
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK && status >= 200 && status < 300) {
        cmetrics_webhook("delivered");
        webhook_unlink_free(d);
        return;
    }
    if (code != CURLE_OK)
        snprintf(why, sizeof(why), "%s", d->errbuf[0] ? d->errbuf : curl_easy_strerror(code));
    else
        snprintf(why, sizeof(why), "HTTP status %ld", status);
    webhook_attempt_failed(d, why);
}

static void webhook_check_multi(struct webhook *wh)
{
    CURLMsg *msg;
    int left = 0;
    bool finished = false;
    while ((msg = curl_multi_info_read(wh->multi, &left)) != NULL) {
        struct webhook_delivery *d = NULL;
        if (msg->msg != CURLMSG_DONE) continue;
        if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d) != CURLE_OK ||
            d == NULL)
            continue;
        webhook_done(d, msg->data.result);
        finished = true;
    }
    if (finished) webhook_schedule_pump(wh);
}

/* called by libevent when a socket curl watches is ready */
static void webhook_event_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct webhook *wh = arg;
    int running = 0;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(wh->multi, fd, action, &running);
    webhook_check_multi(wh);
}

/* called by libevent when curl's timeout expires */
static void webhook_timer_cb(evutil_socket_t fd, short kind, void *arg)
{
    struct webhook *wh = arg;
    int running = 0;
    curl_multi_socket_action(wh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    webhook_check_multi(wh);
}

/* called by libcurl to (re)arm or cancel its timer */
static int webhook_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct webhook *wh = userp;
    struct timeval tv;
    if (timeout_ms < 0) {
        evtimer_del(wh->timer);
        return 0;
    }
    tv = util_ms_timeval(timeout_ms);
    evtimer_add(wh->timer, &tv);
    return 0;
}

static void webhook_sock_free(struct webhook *wh, struct webhook_sock *s)
{
    if (s->assigned) event_del(&s->ev);
    if (s->prev) s->prev->next = s->next;
    else wh->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    free(s);
}

/* called by libcurl when the events it wants on a socket change */
static int webhook_curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                                  void *socketp)
{
    struct webhook *wh = userp;
    struct webhook_sock *s = socketp;
    short kind;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) webhook_sock_free(wh, s);
        return 0;
    }
    if (s == NULL) {
        s = util_xcalloc(1, sizeof(*s));
        s->wh = wh;
        s->next = wh->socks;
        if (wh->socks) wh->socks->prev = s;
        wh->socks = s;
        curl_multi_assign(wh->multi, fd, s);
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (s->assigned) event_del(&s->ev);
    event_assign(&s->ev, wh->base, fd, kind, webhook_event_cb, wh);
    s->assigned = true;
    event_add(&s->ev, NULL);
    return 0;
}

struct webhook *webhook_new(struct event_base *base, const struct webhook_opts *o)
{
    static bool curl_ready = false;
    struct webhook *wh;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) return NULL;
        curl_ready = true;
    }
    wh = util_xcalloc(1, sizeof(*wh));
    wh->base = base;
    wh->o = *o;
    wh->multi = curl_multi_init();
    wh->timer = evtimer_new(base, webhook_timer_cb, wh);
    wh->pump_ev = evtimer_new(base, webhook_pump_cb, wh);
    if (wh->multi == NULL || wh->timer == NULL || wh->pump_ev == NULL ||
        curl_multi_setopt(wh->multi, CURLMOPT_SOCKETFUNCTION, webhook_curl_socket_cb) !=
            CURLM_OK ||
        curl_multi_setopt(wh->multi, CURLMOPT_SOCKETDATA, wh) != CURLM_OK ||
        curl_multi_setopt(wh->multi, CURLMOPT_TIMERFUNCTION, webhook_curl_timer_cb) !=
            CURLM_OK ||
        curl_multi_setopt(wh->multi, CURLMOPT_TIMERDATA, wh) != CURLM_OK)
        goto fail;
    return wh;
fail:
    if (wh->multi) curl_multi_cleanup(wh->multi);
    if (wh->timer) event_free(wh->timer);
    if (wh->pump_ev) event_free(wh->pump_ev);
    free(wh);
    return NULL;
}

void webhook_free(struct webhook *wh)
{
    if (wh == NULL) return;
    if (wh->count > 0)
        log_warn("alert webhooks: %zu delivery(ies) abandoned at shutdown", wh->count);
    while (wh->first != NULL) webhook_unlink_free(wh->first);
    curl_multi_cleanup(wh->multi);
    while (wh->socks != NULL) webhook_sock_free(wh, wh->socks);
    event_free(wh->timer);
    event_free(wh->pump_ev);
    free(wh);
}

void webhook_post(struct webhook *wh, const char *url, const char *body)
{
    struct webhook_delivery *d;
    if ((int)wh->count >= wh->o.queue_max) {
        struct webhook_delivery *old = wh->first;
        while (old != NULL && old->state == WEBHOOK_SENDING) old = old->next;
        cmetrics_webhook("dropped");
        if (old == NULL) { /* every slot is being sent right now: drop the new one */
            log_warn("alert webhook queue full; dropping a new alert for %s", url);
            return;
        }
        log_warn("alert webhook queue full; dropping the oldest waiting alert for %s", old->url);
        webhook_unlink_free(old);
    }
    d = util_xcalloc(1, sizeof(*d));
    d->wh = wh;
    d->state = WEBHOOK_QUEUED;
    d->url = util_xstrdup(url);
    d->body = util_xstrdup(body);
    evtimer_assign(&d->retry, wh->base, webhook_retry_cb, d);
    d->prev = wh->last;
    if (wh->last) wh->last->next = d;
    else wh->first = d;
    wh->last = d;
    wh->count++;
    webhook_schedule_pump(wh);
}

size_t webhook_queued(const struct webhook *wh)
{
    return wh->count;
}
