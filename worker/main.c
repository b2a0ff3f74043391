/*
 * mpic-worker: one network perspective. Loads the shared config, builds this perspective's
 * own resolver (c-ares) and HTTP client (libcurl), and runs the job loop (consumer.c) until
 * SIGTERM/SIGINT, then drains in-flight checks (bounded) and exits 0.
 */
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acceptguard.h"
#include "buildinfo.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "consumer.h"
#include "fdlimit.h"
#include "http_client.h"
#include "httpd.h"
#include "log.h"
#include "resolver.h"
#include "sealmsg.h"
#include "tls_alpn_check.h"
#include "util.h"
#include "wmetrics.h"

#define WORKER_DRAIN_MS 5000

struct worker {
    struct event_base *base;
    struct config cfg;
    struct consumer *consumer;
    struct event *sigterm, *sigint, *drain_timer;
    int64_t drain_deadline;
    struct acceptguard *accept_guard; /* of the health listener (NULL without --listen) */
};

static void usage(FILE *f)
{
    fputs("usage: mpic-worker --config PATH [options]\n"
          "  --config PATH           configuration file (JSON, see docs/configuration.md)\n"
          "  --perspective CODE[:N]  which configured perspective this worker is; N (1-16\n"
          "                          of [a-z0-9], e.g. a systemd pool instance) names the\n"
          "                          process in its log\n"
          "  --redis IP:PORT         Redis address (overrides redis.address)\n"
          "  --redis-user NAME       Redis ACL user (redis.username)\n"
          "  --redis-password-file PATH  file holding the Redis password, mode 0600\n"
          "  --listen IP:PORT        serve GET /healthz and /metrics here (worker.listen)\n"
          "  --resolver IP[:PORT]    DNS resolver; repeat for several (worker.resolvers)\n"
          "  --lab-http-port N       lab only: connect to port N for http:// URLs\n"
          "  --lab-https-port N      lab only: connect to port N for https:// URLs\n"
          "  --lab-tls-alpn-port N   lab only: connect to port N for TLS-ALPN checks\n"
          "  --lab-allow-private     lab only: allow private/loopback/special-purpose targets\n"
          "  --log-level LEVEL       error, warn, info or debug\n"
          "  --help                  this text\n",
          f);
}

static int parse_port(const char *s, int *out)
{
    int64_t v;
    if (util_parse_int64(s, 1, 65535, &v) != 0) return -1;
    *out = (int)v;
    return 0;
}

/* called by libevent when the worker's /healthz is requested */
static void worker_healthz(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    bool ok = consumer_is_healthy(w->consumer);
    json_t *body = json_pack("{s:s, s:s, s:i}", "status", ok ? "healthy" : "unhealthy",
                             "perspective", w->cfg.worker_perspective, "inflight",
                             consumer_inflight(w->consumer));
    httpd_send_json(req, ok ? 200 : 503, body);
}

/* called by libevent when the worker's /metrics is requested */
static void worker_metrics(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    wmetrics_reply(req, consumer_inflight(w->consumer), acceptguard_pauses(w->accept_guard));
}

/* called by libevent every 50 ms while draining: exit when idle or out of time */
static void worker_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (consumer_inflight(w->consumer) == 0 || clock_mono_ms() >= w->drain_deadline)
        event_base_loopexit(w->base, NULL);
}

/* called by libevent on SIGTERM / SIGINT */
static void worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct worker *w = arg;
    struct timeval tv = {0, 50000};
    log_info("signal %d: draining %d in-flight job(s)", (int)sig, consumer_inflight(w->consumer));
    consumer_stop_reading(w->consumer);
    w->drain_deadline = clock_mono_ms() + WORKER_DRAIN_MS;
    event_add(w->drain_timer, &tv);
}

/*
 * Splits --perspective CODE[:N] (a systemd template instance such as us-east-1:2; codes never
 * contain ':'). Returns 0, or -1 when N is empty, longer than inst can hold or not [a-z0-9].
 */
static int worker_split_perspective(const char *arg, char *code, size_t codesz, char *inst,
                                    size_t instsz)
{
    const char *colon = strchr(arg, ':');
    size_t n;

    inst[0] = '\0';
    if (colon == NULL) {
        util_strlcpy(code, arg, codesz);
        return 0;
    }
    n = strlen(colon + 1);
    if (n == 0 || n >= instsz || (size_t)(colon - arg) >= codesz) return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = colon[1 + i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) return -1;
    }
    memcpy(code, arg, (size_t)(colon - arg));
    code[colon - arg] = '\0';
    memcpy(inst, colon + 1, n + 1);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"perspective", required_argument, NULL, 'p'},
        {"redis", required_argument, NULL, 'r'},
        {"listen", required_argument, NULL, 'l'},
        {"resolver", required_argument, NULL, 'd'},
        {"lab-http-port", required_argument, NULL, 1},
        {"lab-https-port", required_argument, NULL, 2},
        {"lab-tls-alpn-port", required_argument, NULL, 3},
        {"lab-allow-private", no_argument, NULL, 4},
        {"log-level", required_argument, NULL, 'v'},
        {"redis-user", required_argument, NULL, 5},
        {"redis-password-file", required_argument, NULL, 6},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct worker w;
    const char *config_path = NULL;
    const char *perspective = NULL, *redis = NULL, *listen = NULL, *level = NULL;
    const char *redis_user = NULL, *redis_pwfile = NULL;
    const char *resolvers[CONFIG_MAX_RESOLVERS];
    int nresolvers = 0, http_port = 0, https_port = 0, alpn_port = 0, allow_private = 0;
    char err[512], servers[CONFIG_MAX_RESOLVERS * (CONFIG_ADDR_MAX + 10)], instance[17];
    const struct perspective *self;
    struct resolver *resolver = NULL;
    struct http_client *http = NULL;
    struct evhttp *healthz = NULL;
    struct check_env env;
    int c, rc = 1;

    memset(&w, 0, sizeof(w));
    instance[0] = '\0';
    config_defaults(&w.cfg);
    while ((c = getopt_long(argc, argv, "c:p:r:l:d:v:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'p': perspective = optarg; break;
        case 'r': redis = optarg; break;
        case 'l': listen = optarg; break;
        case 'd':
            if (nresolvers == CONFIG_MAX_RESOLVERS) {
                fprintf(stderr, "mpic-worker: at most %d --resolver\n", CONFIG_MAX_RESOLVERS);
                return 2;
            }
            resolvers[nresolvers++] = optarg;
            break;
        case 1: if (parse_port(optarg, &http_port)) goto badport; break;
        case 2: if (parse_port(optarg, &https_port)) goto badport; break;
        case 3: if (parse_port(optarg, &alpn_port)) goto badport; break;
        case 4: allow_private = 1; break;
        case 5: redis_user = optarg; break;
        case 6: redis_pwfile = optarg; break;
        case 'v': level = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (config_path == NULL) {
        usage(stderr);
        return 2;
    }
    if (config_load_file(&w.cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "mpic-worker: %s\n", err);
        return 2;
    }
    if (perspective &&
        worker_split_perspective(perspective, w.cfg.worker_perspective,
                                 sizeof(w.cfg.worker_perspective), instance,
                                 sizeof(instance)) != 0) {
        fprintf(stderr, "mpic-worker: --perspective %s: expected CODE or CODE:N with N 1-16 of "
                        "[a-z0-9]\n", perspective);
        return 2;
    }
    if (redis && util_parse_hostport(redis, 0, w.cfg.redis.host, sizeof(w.cfg.redis.host),
                                     &w.cfg.redis.port) != 0) {
        fprintf(stderr, "mpic-worker: --redis: expected IP:PORT\n");
        return 2;
    }
    if (listen) {
        if (util_parse_hostport(listen, 0, w.cfg.worker_listen.host,
                                sizeof(w.cfg.worker_listen.host), &w.cfg.worker_listen.port) != 0) {
            fprintf(stderr, "mpic-worker: --listen: expected IP:PORT\n");
            return 2;
        }
        w.cfg.worker_listen_set = true;
    }
    for (int i = 0; i < nresolvers; i++) {
        char host[CONFIG_ADDR_MAX];
        int port;
        if (util_parse_hostport(resolvers[i], 53, host, sizeof(host), &port) != 0) {
            fprintf(stderr, "mpic-worker: --resolver %s: expected IP[:PORT]\n", resolvers[i]);
            return 2;
        }
        util_strlcpy(w.cfg.resolvers[i], resolvers[i], sizeof(w.cfg.resolvers[i]));
    }
    if (nresolvers > 0) w.cfg.nresolvers = nresolvers;
    if (http_port) w.cfg.lab_http_port = http_port;
    if (https_port) w.cfg.lab_https_port = https_port;
    if (alpn_port) w.cfg.lab_tls_alpn_port = alpn_port;
    if (allow_private) w.cfg.lab_allow_private_targets = true;
    if (level && log_level_parse(level, &w.cfg.log_level) != 0) {
        fprintf(stderr, "mpic-worker: --log-level: one of error, warn, info, debug\n");
        return 2;
    }
    if (redis_user) util_strlcpy(w.cfg.redis_username, redis_user, sizeof(w.cfg.redis_username));
    if (redis_pwfile)
        util_strlcpy(w.cfg.sec.redis_password_file, redis_pwfile,
                     sizeof(w.cfg.sec.redis_password_file));
    if (config_validate(&w.cfg, true, err, sizeof(err)) != 0 ||
        secconf_load(&w.cfg.sec, w.cfg.perspectives, w.cfg.nperspectives,
                     w.cfg.worker_perspective, w.cfg.redis_password,
                     sizeof(w.cfg.redis_password), err, sizeof(err)) != 0) {
        fprintf(stderr, "mpic-worker: %s\n", err);
        return 2;
    }
    self = config_find_perspective(&w.cfg, w.cfg.worker_perspective);
    {
        char comp[96];
        snprintf(comp, sizeof(comp), "worker/%s%s%s", self->code, instance[0] ? ":" : "",
                 instance);
        log_init(comp);
    }
    log_set_level(w.cfg.log_level);
    if (!sealmsg_enabled(&w.cfg.sec.keyring))
        log_warn("UNSEALED: no seal.keys configured; jobs and results cross Redis in the clear "
                 "(local development only)");
    signal(SIGPIPE, SIG_IGN);
    /* past the limit, a check could not open its socket and would fail */
    fdlimit_fit("worker.max_inflight_jobs", &w.cfg.max_inflight_jobs);

    servers[0] = '\0';
    for (int i = 0; i < w.cfg.nresolvers; i++) {
        size_t off = strlen(servers);
        snprintf(servers + off, sizeof(servers) - off, "%s%s", i ? "," : "", w.cfg.resolvers[i]);
    }
    w.base = event_base_new();
    if (w.base == NULL) goto done;
    resolver = resolver_new(w.base, servers, w.cfg.dns_timeout_ms, w.cfg.dns_tries, err,
                            sizeof(err));
    if (resolver == NULL) {
        log_error("resolver %s: %s", servers, err);
        goto done;
    }
    resolver_set_socket_reuse(resolver, w.cfg.dns_socket_queries, w.cfg.dns_socket_max_ms);
    resolver_set_dnssec_required(resolver,
                                 config_dnssec_required(&w.cfg, w.cfg.worker_perspective));
    log_info("perspective %s: DNSSEC validation %s", w.cfg.worker_perspective,
             resolver_dnssec_required(resolver) ? "required (AD or proven Insecure)"
                                                : "reported only");
    http = http_client_new(w.base);
    if (http == NULL) {
        log_error("cannot create the HTTP client");
        goto done;
    }
    memset(&env, 0, sizeof(env));
    env.base = w.base;
    env.resolver = resolver;
    env.http = http;
    env.perspective = self->code;
    env.http_port = w.cfg.lab_http_port;
    env.https_port = w.cfg.lab_https_port;
    env.tls_alpn_port = w.cfg.lab_tls_alpn_port;
    env.allow_private_targets = w.cfg.lab_allow_private_targets;
    env.http_connect_timeout_ms = w.cfg.http_connect_timeout_ms;
    env.http_timeout_ms = w.cfg.worker_http_timeout_ms;
    env.user_agent = w.cfg.user_agent;
    if (env.allow_private_targets || env.http_port != 80 || env.https_port != 443 ||
        env.tls_alpn_port != 443)
        log_warn("LAB SETTINGS ACTIVE: allow_private_targets=%d http_port=%d https_port=%d "
                 "tls_alpn_port=%d (never use in production)",
                 env.allow_private_targets, env.http_port, env.https_port, env.tls_alpn_port);

    wmetrics_init(self->code);
    w.consumer = consumer_new(w.base, &w.cfg, self, &env);
    if (w.cfg.worker_listen_set) {
        healthz = httpd_new(w.base, w.cfg.worker_listen.host, w.cfg.worker_listen.port, 1024,
                            10000, &w.accept_guard);
        if (healthz == NULL) goto done;
        evhttp_set_cb(healthz, "/healthz", worker_healthz, &w);
        evhttp_set_cb(healthz, "/metrics", worker_metrics, &w);
    }
    w.sigterm = evsignal_new(w.base, SIGTERM, worker_signal_cb, &w);
    w.sigint = evsignal_new(w.base, SIGINT, worker_signal_cb, &w);
    w.drain_timer = event_new(w.base, -1, EV_PERSIST, worker_drain_cb, &w);
    event_add(w.sigterm, NULL);
    event_add(w.sigint, NULL);
    log_info("mpic %s (malloc: %s) perspective %s (%s, %s) resolver %s, redis %s:%d",
             buildinfo_version(), buildinfo_allocator(), self->code, self->region,
             perspective_rir_name(self->rir), servers, w.cfg.redis.host, w.cfg.redis.port);
    event_base_dispatch(w.base);
    log_info("stopped");
    rc = 0;
    if (consumer_inflight(w.consumer) > 0) {
        /* checks still running past the drain deadline: their callbacks reference the
         * consumer, resolver and HTTP client, so exit without tearing those down */
        log_warn("exiting with %d check(s) still running; their jobs will be reclaimed",
                 consumer_inflight(w.consumer));
        return rc;
    }
done:
    acceptguard_free(w.accept_guard); /* before evhttp_free frees its listener */
    if (healthz) evhttp_free(healthz);
    if (w.sigterm) event_free(w.sigterm);
    if (w.sigint) event_free(w.sigint);
    if (w.drain_timer) event_free(w.drain_timer);
    if (w.consumer) consumer_free(w.consumer);
    if (http) http_client_free(http);
    if (resolver) resolver_free(resolver);
    if (w.base) event_base_free(w.base);
    wmetrics_shutdown();
    tls_alpn_check_shutdown();
    return rc;
badport:
    fprintf(stderr, "mpic-worker: port must be 1..65535\n");
    return 2;
}
