/*
 * mpic-bench-direct: runs one perspective's check directly in a loop with the worker's own
 * check engine (check_start with a resolver and HTTP client, as mpic-worker builds them) and no
 * coordinator, Redis or reducer. The job is a msgpack blob captured from a real request's job
 * stream, so the check is exactly the one the pipeline runs; --fanout 6 runs six at once and
 * times the slowest, as a validation waits for its perspectives. Open loop (--rate) or a fixed
 * number of concurrent units (--concurrency); prints the same table/JSON as mpic-loadgen plus
 * the process's peak RSS (the worker-memory figure at many concurrent checks).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "check.h"
#include "clock.h"
#include "hist.h"
#include "http_client.h"
#include "log.h"
#include "msg.h"
#include "resolver.h"

enum direct_mode {
    DIRECT_OPEN = 0,   /* fixed arrival rate, latency from the scheduled start */
    DIRECT_CLOSED = 1, /* C checks always in flight */
};

struct direct {
    struct event_base *base;
    struct check_env env;
    struct msg_job job;
    enum direct_mode mode;
    double rate, duration_s, warmup_s, drain_s;
    int concurrency;
    double ramp_s;   /* closed loop: the first `concurrency` units start spread over ramp_s */
    int ramped;      /* closed loop: initial units started so far */
    int fanout; /* checks per unit (latency = the slowest of them) */
    int deadline_ms;
    const char *name;
    int64_t start_us, warm_us, end_us;
    uint64_t scheduled;
    bool draining;
    int inflight, max_inflight;
    struct event *tick, *drain_timer;
    uint64_t m_started, m_done, m_passed, m_failed, m_incomplete;
    uint64_t checks_total; /* every check started, warm-up included (CPU per check) */
    struct hist hist;
    char first_error[256]; /* the first failed or incomplete check's first error message */
};

/** One unit of work: --fanout checks started together, done when the last one is (as the
 * pipeline answers a validation after its perspectives' checks). */
struct direct_unit {
    struct direct *d;
    int64_t sched_us;
    int pending; /* checks of this unit still running */
};

static int64_t direct_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void direct_start(struct direct *d, int64_t sched_us);

static void direct_maybe_finish(struct direct *d)
{
    if (d->draining && d->inflight == 0) event_base_loopexit(d->base, NULL);
}

/* called by check_start's check exactly once with the outcome */
static void direct_done_cb(void *arg, struct check_result *res)
{
    struct direct_unit *u = arg;
    struct direct *d = u->d;
    int64_t now = direct_now_us();
    bool measured = u->sched_us >= d->warm_us && u->sched_us < d->end_us;

    d->inflight--;
    if (measured) {
        if (!res->completed) d->m_incomplete++;
        else if (res->passed) d->m_passed++;
        else d->m_failed++;
    }
    if (!(res->completed && res->passed) && d->first_error[0] == '\0' && res->nerrors > 0)
        snprintf(d->first_error, sizeof(d->first_error), "%s", res->errors[0].message);
    check_result_clear(res);
    if (--u->pending > 0) return;
    if (measured) {
        d->m_done++;
        hist_record(&d->hist, (uint64_t)(now - u->sched_us));
    }
    free(u);
    if (d->mode == DIRECT_CLOSED && !d->draining && now < d->end_us) direct_start(d, now);
    direct_maybe_finish(d);
}

static void direct_start(struct direct *d, int64_t sched_us)
{
    struct direct_unit *u = calloc(1, sizeof(*u));
    struct check_request req;

    if (u == NULL) abort();
    u->d = d;
    u->sched_us = sched_us;
    u->pending = d->fanout;
    memset(&req, 0, sizeof(req));
    req.check_type = d->job.check_type;
    req.target = d->job.target;
    req.wildcard = d->job.wildcard;
    req.params = d->job.params;
    req.deadline_ms = clock_now_ms() + d->deadline_ms;
    req.trace_id = d->job.trace_id;
    if (sched_us >= d->warm_us && sched_us < d->end_us) d->m_started++;
    for (int i = 0; i < d->fanout; i++) {
        d->inflight++;
        d->checks_total++;
        if (d->inflight > d->max_inflight) d->max_inflight = d->inflight;
        check_start(&d->env, &req, direct_done_cb, u); /* never completes synchronously */
    }
}

/* called by libevent once the drain grace period is over */
static void direct_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct direct *d = arg;
    event_base_loopexit(d->base, NULL);
}

/* called by libevent every millisecond: schedules open-loop checks and the closed loop's
 * ramp, ends the run */
static void direct_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct direct *d = arg;
    int64_t now = direct_now_us();

    if (d->mode == DIRECT_CLOSED) {
        /* initial unit k is due at start + k * ramp / concurrency (all at once without --ramp) */
        while (d->ramped < d->concurrency && now < d->end_us &&
               d->start_us + (int64_t)((double)d->ramped * d->ramp_s * 1e6 /
                                       d->concurrency) <= now) {
            d->ramped++;
            direct_start(d, now);
        }
    }
    if (d->mode == DIRECT_OPEN) {
        /* check k is due at start + k / rate: start every check due by now (and before the end) */
        for (;;) {
            int64_t t = d->start_us + (int64_t)((double)d->scheduled * 1e6 / d->rate);
            if (t > now || t >= d->end_us) break;
            direct_start(d, t);
            d->scheduled++;
        }
    }
    if (now >= d->end_us && !d->draining) {
        struct timeval tv = {(time_t)d->drain_s, 0};
        d->draining = true;
        event_del(d->tick);
        evtimer_add(d->drain_timer, &tv);
        direct_maybe_finish(d);
    }
}

static long direct_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    if (f == NULL) return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static void direct_report(const struct direct *d)
{
    static const double pcts[] = {50, 90, 99, 99.9, 100};
    static const char *const names[] = {"p50", "p90", "p99", "p99_9", "max"};
    double ms[5];
    double tput = (double)d->m_done / d->duration_s;
    struct rusage ru;
    double cpu_us = 0;

    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);

    for (int i = 0; i < 5; i++)
        ms[i] = (double)hist_percentile(&d->hist, pcts[i]) / 1000.0;
    printf("%-28s %-6s %9s %9s %8s %8s %8s %8s %8s %7s %7s %6s\n", "scenario", "mode", "target/s",
           "done/s", "p50ms", "p90ms", "p99ms", "p99.9ms", "maxms", "passed", "failed", "incomp");
    printf("%-28s %-6s %9.0f %9.1f %8.2f %8.2f %8.2f %8.2f %8.2f %7llu %7llu %6llu\n", d->name,
           d->mode == DIRECT_OPEN ? "open" : "closed", d->rate, tput, ms[0], ms[1], ms[2], ms[3],
           ms[4], (unsigned long long)d->m_passed, (unsigned long long)d->m_failed,
           (unsigned long long)d->m_incomplete);
    printf("JSON {\"scenario\":\"%s\",\"mode\":\"%s\",\"rate\":%.1f,\"concurrency\":%d,"
           "\"fanout\":%d,\"duration_s\":%.2f,\"started\":%llu,\"done\":%llu,\"throughput\":%.1f,"
           "\"passed\":%llu,\"failed\":%llu,\"incomplete\":%llu,\"unanswered\":%llu,"
           "\"max_inflight\":%d,\"vm_hwm_kb\":%ld,\"vm_rss_kb\":%ld,\"mean_ms\":%.3f,"
           "\"cpu_us_per_check\":%.1f",
           d->name, d->mode == DIRECT_OPEN ? "open" : "closed", d->rate, d->concurrency,
           d->fanout, d->duration_s, (unsigned long long)d->m_started,
           (unsigned long long)d->m_done, tput,
           (unsigned long long)d->m_passed, (unsigned long long)d->m_failed,
           (unsigned long long)d->m_incomplete,
           (unsigned long long)(d->m_started - d->m_done), d->max_inflight,
           direct_status_kb("VmHWM"), direct_status_kb("VmRSS"), hist_mean(&d->hist) / 1000.0,
           d->checks_total ? cpu_us / (double)d->checks_total : 0.0);
    for (int i = 0; i < 5; i++)
        printf(",\"%s_ms\":%.3f", names[i], ms[i]);
    printf("}\n");
    fflush(stdout);
    if (d->first_error[0] != '\0') fprintf(stderr, "first error: %s\n", d->first_error);
}

static int direct_load_job(struct direct *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(MSG_MAX_BYTES);
    char err[256];
    size_t n;
    int rc = -1;

    if (f == NULL || buf == NULL) {
        fprintf(stderr, "mpic-bench-direct: %s: %s\n", path, strerror(errno));
        goto done;
    }
    n = fread(buf, 1, MSG_MAX_BYTES, f);
    if (msg_job_decode(buf, n, &d->job, err, sizeof(err)) != 0) {
        fprintf(stderr, "mpic-bench-direct: %s: %s\n", path, err);
        goto done;
    }
    rc = 0;
done:
    if (f) fclose(f);
    free(buf);
    return rc;
}

static int direct_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static void direct_usage(void)
{
    fputs("usage: mpic-bench-direct --job FILE --resolver IP:PORT [--perspective CODE]\n"
          "         (--rate R | --concurrency C) [--duration S] [--warmup S] [--drain S]\n"
          "         [--lab-http-port N] [--lab-https-port N] [--lab-allow-private]\n"
          "         [--dns-timeout-ms N] [--dns-tries N] [--deadline-ms N]\n"
          "         [--http-timeout-ms N] [--http-engine builtin|curl]"
          " [--fanout N] [--ramp S] [--name SCENARIO]\n"
          "  --http-engine E  HTTP fetches on our own client (builtin, the worker's)\n"
          "                   or on libcurl (curl), to compare the two\n"
          "  --fanout N   start N checks per unit; a unit's latency is its slowest check\n"
          "  --ramp S     with --concurrency: start the first C units spread over S seconds\n"
          "               (a burst of thousands of lookups at one instant overruns the resolver)\n"
          "  --job FILE   a msgpack job (the `j` field of a <prefix>:jobs:{region} entry)\n",
          stderr);
}

int main(int argc, char **argv)
{
    static struct direct d;
    const char *job_path = NULL, *resolver_addr = NULL, *perspective = "bench";
    double v, dns_timeout = 1000, dns_tries = 2;
    struct resolver *resolver = NULL;
    struct http_client *http = NULL;
    bool curl_only = false;
    struct rlimit rl;
    char err[256];
    int rc = 1;

    d.duration_s = 10;
    d.warmup_s = 1;
    d.drain_s = 15;
    d.deadline_ms = 10000;
    d.name = "direct";
    d.fanout = 1;
    d.env.http_port = 80;
    d.env.https_port = 443;
    d.env.tls_alpn_port = 443;
    d.env.http_connect_timeout_ms = 2000;
    d.env.http_timeout_ms = 5000;
    d.env.user_agent = "mpic-bench-direct";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--lab-allow-private") == 0) {
            d.env.allow_private_targets = true;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            direct_usage();
            return 0;
        }
        if (val == NULL) goto usage;
        i++;
        if (strcmp(a, "--job") == 0) {
            job_path = val;
        } else if (strcmp(a, "--resolver") == 0) {
            resolver_addr = val;
        } else if (strcmp(a, "--perspective") == 0) {
            perspective = val;
        } else if (strcmp(a, "--name") == 0) {
            d.name = val;
        } else if (strcmp(a, "--rate") == 0) {
            if (direct_num(val, 0.001, 1e7, &d.rate)) goto usage;
        } else if (strcmp(a, "--concurrency") == 0) {
            if (direct_num(val, 1, 1e6, &v)) goto usage;
            d.concurrency = (int)v;
        } else if (strcmp(a, "--duration") == 0) {
            if (direct_num(val, 0.1, 86400, &d.duration_s)) goto usage;
        } else if (strcmp(a, "--warmup") == 0) {
            if (direct_num(val, 0, 3600, &d.warmup_s)) goto usage;
        } else if (strcmp(a, "--drain") == 0) {
            if (direct_num(val, 0, 3600, &d.drain_s)) goto usage;
        } else if (strcmp(a, "--lab-http-port") == 0) {
            if (direct_num(val, 1, 65535, &v)) goto usage;
            d.env.http_port = (int)v;
        } else if (strcmp(a, "--ramp") == 0) {
            if (direct_num(val, 0, 3600, &d.ramp_s)) goto usage;
        } else if (strcmp(a, "--lab-https-port") == 0) {
            if (direct_num(val, 1, 65535, &v)) goto usage;
            d.env.https_port = (int)v;
        } else if (strcmp(a, "--http-engine") == 0) {
            if (strcmp(val, "curl") == 0) curl_only = true;
            else if (strcmp(val, "builtin") != 0) goto usage;
        } else if (strcmp(a, "--fanout") == 0) {
            if (direct_num(val, 1, 64, &v)) goto usage;
            d.fanout = (int)v;
        } else if (strcmp(a, "--http-timeout-ms") == 0) {
            if (direct_num(val, 10, 600000, &v)) goto usage;
            d.env.http_timeout_ms = (int)v;
        } else if (strcmp(a, "--dns-timeout-ms") == 0) {
            if (direct_num(val, 10, 60000, &dns_timeout)) goto usage;
        } else if (strcmp(a, "--dns-tries") == 0) {
            if (direct_num(val, 1, 10, &dns_tries)) goto usage;
        } else if (strcmp(a, "--deadline-ms") == 0) {
            if (direct_num(val, 100, 600000, &v)) goto usage;
            d.deadline_ms = (int)v;
        } else {
            goto usage;
        }
    }
    if (job_path == NULL || resolver_addr == NULL || (d.rate <= 0 && d.concurrency <= 0))
        goto usage;
    d.mode = d.rate > 0 ? DIRECT_OPEN : DIRECT_CLOSED;
    log_init("bench-direct");
    log_set_level(LOG_LEVEL_WARN);
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (direct_load_job(&d, job_path)) return 1;
    hist_reset(&d.hist);
    d.base = event_base_new();
    if (d.base == NULL) goto done;
    resolver = resolver_new(d.base, resolver_addr, (int)dns_timeout, (int)dns_tries, err,
                            sizeof(err));
    if (resolver == NULL) {
        fprintf(stderr, "mpic-bench-direct: resolver %s: %s\n", resolver_addr, err);
        goto done;
    }
    http = http_client_new(d.base);
    if (http == NULL) goto done;
    http_client_set_curl_only(http, curl_only);
    d.env.base = d.base;
    d.env.resolver = resolver;
    d.env.http = http;
    d.env.perspective = perspective;
    d.tick = event_new(d.base, -1, EV_PERSIST, direct_tick_cb, &d);
    d.drain_timer = evtimer_new(d.base, direct_drain_timeout_cb, &d);
    if (d.tick == NULL || d.drain_timer == NULL) goto done;
    d.start_us = direct_now_us();
    d.warm_us = d.start_us + (int64_t)(d.warmup_s * 1e6);
    d.end_us = d.warm_us + (int64_t)(d.duration_s * 1e6);
    {
        struct timeval ms = {0, 1000};
        event_add(d.tick, &ms);
    }
    if (d.mode == DIRECT_CLOSED && d.ramp_s <= 0)
        for (; d.ramped < d.concurrency; d.ramped++)
            direct_start(&d, direct_now_us());
    event_base_dispatch(d.base);
    direct_report(&d);
    rc = d.m_done > 0 ? 0 : 3;
    if (d.inflight > 0) return rc; /* checks still reference the engine: exit without teardown */
done:
    if (d.tick) event_free(d.tick);
    if (d.drain_timer) event_free(d.drain_timer);
    if (http) http_client_free(http);
    if (resolver) resolver_free(resolver);
    msg_job_free(&d.job);
    if (d.base) event_base_free(d.base);
    return rc;
usage:
    direct_usage();
    return 2;
}
