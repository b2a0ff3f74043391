/*
 * mpic-loadgen: sends Open MPIC POST /mpic requests to one or more coordinators over HTTP/1.1
 * keep-alive (libevent's evhttp client), either open loop at a fixed arrival rate (latency is
 * measured from the scheduled send time, so queueing behind a slow server is not hidden: no
 * coordinated omission) or closed loop with C connections as fast as they answer. Prints a
 * text table and one machine-readable JSON line per run (see bench/README.md).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "hist.h"

#define LG_MAX_TARGETS 16
#define LG_MAX_BODIES 4096
#define LG_MAX_BODY_BYTES 65536

enum lg_mode {
    LG_OPEN = 0,   /* fixed arrival rate, latency from the schedule */
    LG_CLOSED = 1, /* C connections, next request as soon as the previous answers */
};

enum lg_state {
    LG_RUNNING = 0,  /* scheduling / sending */
    LG_DRAINING = 1, /* no new sends; waiting for outstanding answers */
};

struct lg_target {
    char host[64];
    char hostport[80];
    int port;
};

struct lg_conn {
    struct loadgen *lg;
    struct evhttp_connection *evcon;
    int target;
    bool busy;
    struct lg_conn *next_idle;
};

struct lg_req {
    struct lg_conn *conn;
    int64_t sched_us; /* open loop: scheduled time; closed loop: actual send time */
};

struct loadgen {
    struct event_base *base;
    enum lg_mode mode;
    enum lg_state state;
    struct lg_target targets[LG_MAX_TARGETS];
    int ntargets;
    char *bodies[LG_MAX_BODIES];
    size_t body_len[LG_MAX_BODIES];
    int nbodies;
    unsigned next_body;
    const char *path;
    const char *name;
    double rate;
    int nconns; /* closed: exact; open: pool limit */
    double duration_s, warmup_s, drain_s;
    int timeout_s;

    int64_t start_us, warm_us, end_us;
    uint64_t scheduled; /* open loop: sends scheduled so far */
    int64_t *queue;     /* open loop: scheduled times waiting for a free connection */
    size_t qhead, qlen, qcap;
    struct lg_conn *conns;
    int conns_open;
    struct lg_conn *idle;
    int outstanding;
    struct event *tick;
    struct event *drain_timer;

    /* counters over the measured window (scheduled/sent at or after warm_us, before end_us) */
    uint64_t m_sent, m_done, m_http200, m_valid_true, m_valid_false, m_non200, m_errors;
    uint64_t all_sent, all_done, max_queue;
    int64_t m_last_done_us;
    struct hist hist; /* microseconds */
};

static int64_t lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void lg_dispatch(struct loadgen *lg);
static void lg_send(struct loadgen *lg, struct lg_conn *c, int64_t sched_us);

static bool lg_measured(const struct loadgen *lg, int64_t t)
{
    return t >= lg->warm_us && t < lg->end_us;
}

static void lg_maybe_finish(struct loadgen *lg)
{
    if (lg->state == LG_DRAINING && lg->outstanding == 0 && lg->qlen == 0)
        event_base_loopexit(lg->base, NULL);
}

/* Classifies one answer body: is_valid true / false / absent. */
static int lg_is_valid(struct evbuffer *buf)
{
    size_t len = evbuffer_get_length(buf);
    const char *p;
    if (len == 0) return -1;
    p = (const char *)evbuffer_pullup(buf, -1);
    if (memmem(p, len, "\"is_valid\":true", 15) || memmem(p, len, "\"is_valid\": true", 16))
        return 1;
    if (memmem(p, len, "\"is_valid\":false", 16) || memmem(p, len, "\"is_valid\": false", 17))
        return 0;
    return -1;
}

/* called by evhttp when a request completes or fails (req NULL or code 0 on failure) */
static void lg_done_cb(struct evhttp_request *req, void *arg)
{
    struct lg_req *rq = arg;
    struct lg_conn *c = rq->conn;
    struct loadgen *lg = c->lg;
    int64_t now = lg_now_us();
    int code = req ? evhttp_request_get_response_code(req) : 0;
    bool measured = lg_measured(lg, rq->sched_us);

    lg->outstanding--;
    lg->all_done++;
    if (measured) {
        lg->m_done++;
        lg->m_last_done_us = now;
        if (code == 0) {
            lg->m_errors++;
        } else {
            hist_record(&lg->hist, (uint64_t)(now - rq->sched_us));
            if (code == 200) {
                int v = lg_is_valid(evhttp_request_get_input_buffer(req));
                lg->m_http200++;
                if (v == 1) lg->m_valid_true++;
                else if (v == 0) lg->m_valid_false++;
            } else {
                lg->m_non200++;
            }
        }
    }
    free(rq);
    c->busy = false;
    if (lg->mode == LG_CLOSED) {
        if (lg->state == LG_RUNNING && now < lg->end_us) lg_send(lg, c, now);
    } else {
        c->next_idle = lg->idle;
        lg->idle = c;
        lg_dispatch(lg);
    }
    lg_maybe_finish(lg);
}

static void lg_send(struct loadgen *lg, struct lg_conn *c, int64_t sched_us)
{
    struct lg_req *rq = calloc(1, sizeof(*rq));
    struct evhttp_request *req;
    struct evkeyvalq *h;
    unsigned b = lg->next_body++ % (unsigned)lg->nbodies;

    if (rq == NULL) abort();
    rq->conn = c;
    rq->sched_us = sched_us;
    req = evhttp_request_new(lg_done_cb, rq);
    if (req == NULL) abort();
    h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", lg->targets[c->target].hostport);
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), lg->bodies[b], lg->body_len[b]);
    c->busy = true;
    lg->outstanding++;
    lg->all_sent++;
    if (lg_measured(lg, sched_us)) lg->m_sent++;
    if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST, lg->path) != 0) {
        /* evhttp frees req on failure without calling back: account for it here */
        lg->outstanding--;
        lg->all_done++;
        if (lg_measured(lg, sched_us)) {
            lg->m_done++;
            lg->m_errors++;
        }
        free(rq);
        c->busy = false;
    }
}

static struct lg_conn *lg_conn_get(struct loadgen *lg)
{
    struct lg_conn *c = lg->idle;
    if (c != NULL) {
        lg->idle = c->next_idle;
        return c;
    }
    if (lg->conns_open < lg->nconns) {
        c = &lg->conns[lg->conns_open];
        c->target = lg->conns_open % lg->ntargets;
        lg->conns_open++;
        return c;
    }
    return NULL;
}

/* Open loop: sends queued scheduled requests while connections are free. */
static void lg_dispatch(struct loadgen *lg)
{
    while (lg->qlen > 0) {
        struct lg_conn *c = lg_conn_get(lg);
        if (c == NULL) return;
        int64_t t = lg->queue[lg->qhead];
        lg->qhead = (lg->qhead + 1) % lg->qcap;
        lg->qlen--;
        lg_send(lg, c, t);
    }
}

/* called by libevent once the drain grace period after the run is over */
static void lg_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    event_base_loopexit(lg->base, NULL);
}

static void lg_begin_drain(struct loadgen *lg)
{
    struct timeval tv;
    if (lg->state == LG_DRAINING) return;
    lg->state = LG_DRAINING;
    event_del(lg->tick);
    tv.tv_sec = (time_t)lg->drain_s;
    tv.tv_usec = (suseconds_t)((lg->drain_s - (double)tv.tv_sec) * 1e6);
    evtimer_add(lg->drain_timer, &tv);
    lg_maybe_finish(lg);
}

/* called by libevent every millisecond: schedules open-loop sends, ends the run */
static void lg_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct loadgen *lg = arg;
    int64_t now = lg_now_us();

    if (lg->mode == LG_OPEN) {
        /* send k is due at start + k / rate: queue every send due by now (and before the end) */
        for (;;) {
            int64_t t = lg->start_us + (int64_t)((double)lg->scheduled * 1e6 / lg->rate);
            if (t > now || t >= lg->end_us) break;
            if (lg->qlen == lg->qcap) break; /* cannot happen: qcap covers the whole run */
            lg->queue[(lg->qhead + lg->qlen) % lg->qcap] = t;
            lg->qlen++;
            lg->scheduled++;
        }
        if (lg->qlen > lg->max_queue) lg->max_queue = lg->qlen;
        lg_dispatch(lg);
    }
    if (now >= lg->end_us) lg_begin_drain(lg);
}

static void lg_report(const struct loadgen *lg)
{
    static const double pcts[] = {50, 90, 99, 99.9, 100};
    static const char *const names[] = {"p50", "p90", "p99", "p99_9", "max"};
    double window_s = lg->duration_s;
    double ms[5];
    double tput;

    if (lg->mode == LG_CLOSED && lg->m_last_done_us > lg->warm_us)
        window_s = (double)(lg->m_last_done_us - lg->warm_us) / 1e6;
    if (window_s < lg->duration_s) window_s = lg->duration_s;
    tput = (double)(lg->m_done - lg->m_errors) / window_s;
    for (int i = 0; i < 5; i++)
        ms[i] = (double)hist_percentile(&lg->hist, pcts[i]) / 1000.0;

    printf("%-28s %-6s %9s %9s %8s %8s %8s %8s %8s %7s %7s %6s\n", "scenario", "mode", "target/s",
           "done/s", "p50ms", "p90ms", "p99ms", "p99.9ms", "maxms", "valid", "invalid", "err");
    printf("%-28s %-6s %9.0f %9.1f %8.2f %8.2f %8.2f %8.2f %8.2f %7llu %7llu %6llu\n", lg->name,
           lg->mode == LG_OPEN ? "open" : "closed", lg->mode == LG_OPEN ? lg->rate : 0.0, tput,
           ms[0], ms[1], ms[2], ms[3], ms[4], (unsigned long long)lg->m_valid_true,
           (unsigned long long)lg->m_valid_false,
           (unsigned long long)(lg->m_errors + lg->m_non200 + (lg->m_sent - lg->m_done)));
    printf("JSON {\"scenario\":\"%s\",\"mode\":\"%s\",\"rate\":%.1f,\"connections\":%d,"
           "\"duration_s\":%.2f,\"warmup_s\":%.2f,\"sent\":%llu,\"done\":%llu,"
           "\"throughput\":%.1f,\"http200\":%llu,\"valid_true\":%llu,\"valid_false\":%llu,"
           "\"non200\":%llu,\"errors\":%llu,\"unanswered\":%llu,\"max_queue\":%llu,"
           "\"all_done\":%llu,\"mean_ms\":%.3f",
           lg->name, lg->mode == LG_OPEN ? "open" : "closed", lg->rate, lg->nconns,
           lg->duration_s, lg->warmup_s, (unsigned long long)lg->m_sent,
           (unsigned long long)lg->m_done, tput, (unsigned long long)lg->m_http200,
           (unsigned long long)lg->m_valid_true, (unsigned long long)lg->m_valid_false,
           (unsigned long long)lg->m_non200, (unsigned long long)lg->m_errors,
           (unsigned long long)(lg->m_sent - lg->m_done), (unsigned long long)lg->max_queue,
           (unsigned long long)lg->all_done, hist_mean(&lg->hist) / 1000.0);
    for (int i = 0; i < 5; i++)
        printf(",\"%s_ms\":%.3f", names[i], ms[i]);
    printf("}\n");
    fflush(stdout);
}

static int lg_load_bodies(struct loadgen *lg, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    if (f == NULL) {
        fprintf(stderr, "mpic-loadgen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) > 0 && lg->nbodies < LG_MAX_BODIES) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || n > LG_MAX_BODY_BYTES) continue;
        lg->bodies[lg->nbodies] = strndup(line, (size_t)n);
        lg->body_len[lg->nbodies] = (size_t)n;
        lg->nbodies++;
    }
    free(line);
    fclose(f);
    if (lg->nbodies == 0) {
        fprintf(stderr, "mpic-loadgen: %s: no request bodies (one JSON object per line)\n", path);
        return -1;
    }
    return 0;
}

static int lg_parse_target(struct lg_target *t, const char *s)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long port;
    if (colon == NULL || (size_t)(colon - s) >= sizeof(t->host) || colon == s) return -1;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end != '\0' || port < 1 || port > 65535) return -1;
    memcpy(t->host, s, (size_t)(colon - s));
    t->host[colon - s] = '\0';
    t->port = (int)port;
    snprintf(t->hostport, sizeof(t->hostport), "%.*s:%d", (int)(colon - s), s, t->port);
    return 0;
}

static int lg_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static void lg_usage(void)
{
    fputs("usage: mpic-loadgen --target IP:PORT [--target ...] --bodies FILE\n"
          "                    (--rate R [--connections MAX] | --connections C)\n"
          "                    [--duration S] [--warmup S] [--drain S] [--timeout S]\n"
          "                    [--path /mpic] [--name SCENARIO]\n"
          "  --rate R         open loop: R requests/s on a fixed schedule; latency from the\n"
          "                   scheduled time (MAX connections, default 2000)\n"
          "  --connections C  closed loop (without --rate): C connections, back to back\n"
          "  --bodies FILE    one request JSON per line, used round-robin\n",
          stderr);
}

int main(int argc, char **argv)
{
    static struct loadgen lg;
    const char *bodies = NULL;
    struct rlimit rl;
    double d;
    int rc = 1;

    lg.path = "/mpic";
    lg.name = "run";
    lg.duration_s = 10;
    lg.warmup_s = 1;
    lg.drain_s = 15;
    lg.timeout_s = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            lg_usage();
            return 0;
        }
        if (v == NULL) goto usage;
        i++;
        if (strcmp(a, "--target") == 0) {
            if (lg.ntargets == LG_MAX_TARGETS || lg_parse_target(&lg.targets[lg.ntargets], v))
                goto usage;
            lg.ntargets++;
        } else if (strcmp(a, "--bodies") == 0) {
            bodies = v;
        } else if (strcmp(a, "--rate") == 0) {
            if (lg_parse_double(v, 0.001, 1e7, &lg.rate)) goto usage;
            lg.mode = LG_OPEN;
        } else if (strcmp(a, "--connections") == 0) {
            if (lg_parse_double(v, 1, 200000, &d)) goto usage;
            lg.nconns = (int)d;
        } else if (strcmp(a, "--duration") == 0) {
            if (lg_parse_double(v, 0.1, 86400, &lg.duration_s)) goto usage;
        } else if (strcmp(a, "--warmup") == 0) {
            if (lg_parse_double(v, 0, 3600, &lg.warmup_s)) goto usage;
        } else if (strcmp(a, "--drain") == 0) {
            if (lg_parse_double(v, 0, 3600, &lg.drain_s)) goto usage;
        } else if (strcmp(a, "--timeout") == 0) {
            if (lg_parse_double(v, 1, 3600, &d)) goto usage;
            lg.timeout_s = (int)d;
        } else if (strcmp(a, "--path") == 0) {
            lg.path = v;
        } else if (strcmp(a, "--name") == 0) {
            lg.name = v;
        } else {
            goto usage;
        }
    }
    if (lg.ntargets == 0 || bodies == NULL) goto usage;
    if (lg.rate > 0) {
        lg.mode = LG_OPEN;
        if (lg.nconns == 0) lg.nconns = 2000;
    } else {
        lg.mode = LG_CLOSED;
        if (lg.nconns == 0) goto usage;
    }
    if (lg_load_bodies(&lg, bodies)) return 1;
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    hist_reset(&lg.hist);
    lg.base = event_base_new();
    lg.conns = calloc((size_t)lg.nconns, sizeof(*lg.conns));
    if (lg.base == NULL || lg.conns == NULL) goto done;
    for (int i = 0; i < lg.nconns; i++) {
        struct lg_conn *c = &lg.conns[i];
        const struct lg_target *t = &lg.targets[i % lg.ntargets];
        c->lg = &lg;
        c->target = i % lg.ntargets;
        c->evcon = evhttp_connection_base_new(lg.base, NULL, t->host, (ev_uint16_t)t->port);
        if (c->evcon == NULL) goto done;
        evhttp_connection_set_timeout(c->evcon, lg.timeout_s);
        evhttp_connection_set_retries(c->evcon, 0);
    }
    if (lg.mode == LG_OPEN) {
        lg.qcap = (size_t)(lg.rate * (lg.warmup_s + lg.duration_s)) + 16;
        lg.queue = calloc(lg.qcap, sizeof(*lg.queue));
        if (lg.queue == NULL) goto done;
    }
    lg.tick = event_new(lg.base, -1, EV_PERSIST, lg_tick_cb, &lg);
    lg.drain_timer = evtimer_new(lg.base, lg_drain_timeout_cb, &lg);
    if (lg.tick == NULL || lg.drain_timer == NULL) goto done;
    lg.start_us = lg_now_us();
    lg.warm_us = lg.start_us + (int64_t)(lg.warmup_s * 1e6);
    lg.end_us = lg.warm_us + (int64_t)(lg.duration_s * 1e6);
    {
        struct timeval ms = {0, 1000};
        event_add(lg.tick, &ms);
    }
    if (lg.mode == LG_CLOSED) {
        lg.conns_open = lg.nconns;
        for (int i = 0; i < lg.nconns; i++)
            lg_send(&lg, &lg.conns[i], lg_now_us());
    }
    event_base_dispatch(lg.base);
    lg_report(&lg);
    rc = lg.m_done > lg.m_errors ? 0 : 3;
done:
    for (int i = 0; lg.conns && i < lg.nconns; i++)
        if (lg.conns[i].evcon) evhttp_connection_free(lg.conns[i].evcon);
    if (lg.tick) event_free(lg.tick);
    if (lg.drain_timer) event_free(lg.drain_timer);
    if (lg.base) event_base_free(lg.base);
    free(lg.conns);
    free(lg.queue);
    for (int i = 0; i < lg.nbodies; i++)
        free(lg.bodies[i]);
    return rc;
usage:
    lg_usage();
    return 2;
}
