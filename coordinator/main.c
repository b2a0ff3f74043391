/*
 * mpic-coordinator: the stateless HTTP front. Loads the shared config, connects three Redis
 * connections (commands, reducer reads, reply-notification reads), creates the consumer
 * groups, serves POST /mpic and GET /healthz, runs the reducer and the due sweeper, and on
 * SIGTERM/SIGINT drains held requests (bounded by their deadlines) before exiting 0.
 */
#include <ctype.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acceptguard.h"
#include "alerts.h"
#include "api.h"
#include "audit_export.h"
#include "buildinfo.h"
#include "cmetrics.h"
#include "clock.h"
#include "config.h"
#include "connguard.h"
#include "sealmsg.h"
#include "coord.h"
#include "due.h"
#include "fdlimit.h"
#include "httpd.h"
#include "log.h"
#include "pending.h"
#include "reducer.h"
#include "replies.h"
#include "scripts.h"
#include "tallycache.h"
#include "util.h"

#define COORD_MAX_BODY (1024 * 1024) /* evhttp's own cap; /mpic answers 413 above 64 KiB */
#define COORD_TALLIES 1024 /* tallies the reducer keeps to judge ahead (~2.4 KB each) */
#define COORD_GROUPS_RETRY_MS 500     /* group creation answered with an error: try again */

struct coordinator {
    struct coord co;
    struct config cfg;
    struct reducer *reducer;
    struct replies *replies;
    int groups_outstanding;
    bool groups_failed;
    struct event *sigterm, *sigint, *drain_timer;
    struct event *groups_retry; /* group creation failed on a live connection */
    SSL_CTX *tls;               /* coordinator.tls, NULL: plain HTTP */
    int64_t drain_deadline;
};

static void usage(FILE *f)
{
    fputs("usage: mpic-coordinator --config PATH [options]\n"
          "  --config PATH              configuration file (JSON, see docs/configuration.md)\n"
          "  --listen IP:PORT           HTTP listen address (coordinator.listen)\n"
          "  --redis IP:PORT            Redis address (redis.address)\n"
          "  --redis-user NAME          Redis ACL user (redis.username)\n"
          "  --redis-password-file PATH file holding the Redis password, mode 0600\n"
          "  --log-level LEVEL          error, warn, info or debug\n"
          "  --clock-override YYYY-MM-DD  lab/tests: the date used for the BR phase-in minimum\n"
          "  --export-audit             write the audit stream as JSON Lines to stdout and exit\n"
          "  --since AUDIT_ID           with --export-audit: only records after this audit_id\n"
          "  --help                     this text\n",
          f);
}

static void coordinator_setup_groups(struct coordinator *c);

/* called by redis_client with each XGROUP CREATE reply */
static void coordinator_group_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct coordinator *c = arg;
    if (reply == NULL ||
        (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)) {
        log_warn("creating consumer groups failed: %s", reply ? reply->str : errstr);
        c->groups_failed = true;
    }
    if (--c->groups_outstanding > 0) return;
    if (c->groups_failed) {
        /* an error reply (LOADING, OOM, BUSY, WRONGTYPE...) on a connection that stays up;
         * a lost connection is retried by the next reconnect instead */
        struct timeval tv = {0, COORD_GROUPS_RETRY_MS * 1000};
        if (c->groups_retry && redis_client_is_ready(c->co.cmd)) event_add(c->groups_retry, &tv);
        return;
    }
    if (!c->co.groups_ready) log_info("consumer groups ready; serving");
    c->co.groups_ready = true;
    reducer_kick(c->reducer);
    replies_kick(c->replies);
}

/* called by libevent COORD_GROUPS_RETRY_MS after a failed group creation */
static void coordinator_groups_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct coordinator *c = arg;
    if (!c->co.groups_ready && c->groups_outstanding == 0 && redis_client_is_ready(c->co.cmd))
        coordinator_setup_groups(c);
}

static void coordinator_setup_groups(struct coordinator *c)
{
    char key[KEYS_MAX];
    if (c->groups_retry) event_del(c->groups_retry);
    c->groups_failed = false;
    c->groups_outstanding = c->cfg.nperspectives + 1;
    for (int i = 0; i < c->cfg.nperspectives; i++) {
        keys_jobs(key, sizeof(key), c->cfg.key_prefix, c->cfg.perspectives[i].region);
        redis_client_command(c->co.cmd, coordinator_group_cb, c, 0,
                             "XGROUP CREATE %s %s 0 MKSTREAM", key, KEYS_GROUP_WORKERS);
    }
    redis_client_command(c->co.cmd, coordinator_group_cb, c, 0, "XGROUP CREATE %s %s 0 MKSTREAM",
                         c->co.results_key, KEYS_GROUP_REDUCERS);
}

/* called by redis_client when the command connection becomes ready or is lost */
static void coordinator_cmd_state_cb(void *arg, bool ready)
{
    struct coordinator *c = arg;
    if (ready)
        coordinator_setup_groups(c);
    else
        c->co.groups_ready = false;
}

/* called by redis_client when the reducer's blocking connection becomes ready or is lost */
static void coordinator_rblock_state_cb(void *arg, bool ready)
{
    struct coordinator *c = arg;
    if (ready) reducer_kick(c->reducer);
}

/* called by redis_client when the replies connection becomes ready or is lost */
static void coordinator_pblock_state_cb(void *arg, bool ready)
{
    struct coordinator *c = arg;
    if (ready) replies_kick(c->replies);
}

/* called by libevent every 50 ms while draining */
static void coordinator_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct coordinator *c = arg;
    if (pending_table_count(c->co.pending) == 0 || clock_mono_ms() >= c->drain_deadline)
        event_base_loopexit(c->co.base, NULL);
}

/* called by libevent on SIGTERM / SIGINT */
static void coordinator_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct coordinator *c = arg;
    struct timeval tv = {0, 50000};
    if (c->co.draining) return;
    log_info("signal %d: draining %zu held request(s)", (int)sig,
             pending_table_count(c->co.pending));
    c->co.draining = true;
    c->drain_deadline = clock_mono_ms() + c->cfg.max_deadline_ms +
                        2 * c->cfg.redis_command_timeout_ms + 1000;
    event_add(c->drain_timer, &tv);
}

static struct redis_client *coordinator_redis(struct coordinator *c, const char *role)
{
    struct redis_client_opts o;
    char name[64];
    memset(&o, 0, sizeof(o));
    snprintf(name, sizeof(name), "%s-%s", c->co.id, role);
    o.name = name;
    o.host = c->cfg.redis.host;
    o.port = c->cfg.redis.port;
    o.connect_timeout_ms = c->cfg.redis_connect_timeout_ms;
    o.command_timeout_ms = c->cfg.redis_command_timeout_ms;
    o.username = c->cfg.redis_username;
    o.password = c->cfg.redis_password;
    return redis_client_new(c->co.base, &o);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"redis", required_argument, NULL, 'r'},
        {"log-level", required_argument, NULL, 'v'},
        {"clock-override", required_argument, NULL, 1},
        {"export-audit", no_argument, NULL, 2},
        {"since", required_argument, NULL, 3},
        {"redis-user", required_argument, NULL, 4},
        {"redis-password-file", required_argument, NULL, 5},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct coordinator c; /* large (config); static storage */
    const char *config_path = NULL, *listen = NULL, *redis = NULL, *level = NULL, *clock = NULL;
    const char *since = NULL;
    bool export_audit = false;
    const char *redis_user = NULL, *redis_pwfile = NULL;
    struct evhttp *http = NULL;
    unsigned char rnd[8];
    char hex[17], err[512];
    int opt, rc = 1;

    config_defaults(&c.cfg);
    while ((opt = getopt_long(argc, argv, "c:l:r:v:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'l': listen = optarg; break;
        case 'r': redis = optarg; break;
        case 'v': level = optarg; break;
        case 1: clock = optarg; break;
        case 2: export_audit = true; break;
        case 3: since = optarg; break;
        case 4: redis_user = optarg; break;
        case 5: redis_pwfile = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (config_path == NULL) {
        usage(stderr);
        return 2;
    }
    if (config_load_file(&c.cfg, config_path, err, sizeof(err)) != 0) {
        fprintf(stderr, "mpic-coordinator: %s\n", err);
        return 2;
    }
    if (listen && util_parse_hostport(listen, 0, c.cfg.listen.host, sizeof(c.cfg.listen.host),
                                      &c.cfg.listen.port) != 0) {
        fprintf(stderr, "mpic-coordinator: --listen: expected IP:PORT\n");
        return 2;
    }
    if (redis && util_parse_hostport(redis, 0, c.cfg.redis.host, sizeof(c.cfg.redis.host),
                                     &c.cfg.redis.port) != 0) {
        fprintf(stderr, "mpic-coordinator: --redis: expected IP:PORT\n");
        return 2;
    }
    if (level && log_level_parse(level, &c.cfg.log_level) != 0) {
        fprintf(stderr, "mpic-coordinator: --log-level: one of error, warn, info, debug\n");
        return 2;
    }
    if (clock && config_parse_date(clock, &c.cfg.clock_override_ms) != 0) {
        fprintf(stderr, "mpic-coordinator: --clock-override: expected YYYY-MM-DD\n");
        return 2;
    }
    for (int i = 0; i < c.cfg.ncaa_domains; i++) {
        char *d = c.cfg.caa_domains[i];
        size_t n = strlen(d);
        for (size_t k = 0; k < n; k++) d[k] = (char)tolower((unsigned char)d[k]);
        if (n > 1 && d[n - 1] == '.') d[n - 1] = '\0';
    }
    if (redis_user) util_strlcpy(c.cfg.redis_username, redis_user, sizeof(c.cfg.redis_username));
    if (redis_pwfile)
        util_strlcpy(c.cfg.sec.redis_password_file, redis_pwfile,
                     sizeof(c.cfg.sec.redis_password_file));
    if (config_validate(&c.cfg, false, err, sizeof(err)) != 0 ||
        secconf_load(&c.cfg.sec, c.cfg.perspectives, c.cfg.nperspectives, NULL,
                     c.cfg.redis_password, sizeof(c.cfg.redis_password), err, sizeof(err)) != 0) {
        fprintf(stderr, "mpic-coordinator: %s\n", err);
        return 2;
    }
    if (c.cfg.tls.enabled &&
        (c.tls = tlsconf_server_ctx(&c.cfg.tls, err, sizeof(err))) == NULL) {
        fprintf(stderr, "mpic-coordinator: %s\n", err);
        return 2;
    }
    if (export_audit) return audit_export_run(&c.cfg, since, stdout) < 0 ? 1 : 0;
    log_init("coordinator");
    log_set_level(c.cfg.log_level);
    if (!sealmsg_enabled(&c.cfg.sec.keyring))
        log_warn("UNSEALED: no seal.keys configured; jobs and results cross Redis in the clear "
                 "(local development only)");
    if (c.cfg.clock_override_ms >= 0) {
        clock_set_override(c.cfg.clock_override_ms);
        log_warn("clock_override active: the BR phase-in uses a simulated date (lab only)");
    }
    if (scripts_init() != 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    /* past the limit, accept() fails (EMFILE) before the guard can close the surplus */
    fdlimit_fit("coordinator.max_connections", &c.cfg.max_connections);

    util_random_bytes(rnd, sizeof(rnd));
    util_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(c.co.id, sizeof(c.co.id), "c-%s", hex);
    c.co.cfg = &c.cfg;
    c.co.base = event_base_new();
    if (c.co.base == NULL) return 1;
    c.co.pending = pending_table_new();
    c.co.tallies = tallycache_new(COORD_TALLIES);
    keys_results(c.co.results_key, sizeof(c.co.results_key), c.cfg.key_prefix);
    keys_due(c.co.due_key, sizeof(c.co.due_key), c.cfg.key_prefix);
    keys_replies(c.co.replies_key, sizeof(c.co.replies_key), c.cfg.key_prefix, c.co.id);
    c.co.cmd = coordinator_redis(&c, "cmd");
    c.co.rblock = coordinator_redis(&c, "reducer");
    c.co.pblock = coordinator_redis(&c, "replies");
    c.reducer = reducer_new(&c.co);
    c.replies = replies_new(&c.co);
    redis_client_set_state_cb(c.co.cmd, coordinator_cmd_state_cb, &c);
    redis_client_set_state_cb(c.co.rblock, coordinator_rblock_state_cb, &c);
    redis_client_set_state_cb(c.co.pblock, coordinator_pblock_state_cb, &c);

    http = httpd_new(c.co.base, c.cfg.listen.host, c.cfg.listen.port, COORD_MAX_BODY,
                     c.cfg.http_timeout_ms, &c.co.accept_guard);
    if (http == NULL) goto done;
    c.co.http_guard = connguard_new(c.co.base, http, &(struct connguard_opts){
        .read_timeout_ms = c.cfg.request_read_timeout_ms,
        .max_connections = c.cfg.max_connections,
        .ssl_ctx = c.tls,
    });
    cmetrics_init(&c.co);
    alerts_init(&c.co);
    api_register(&c.co, http);
    due_start_sweeper(&c.co);
    c.sigterm = evsignal_new(c.co.base, SIGTERM, coordinator_signal_cb, &c);
    c.sigint = evsignal_new(c.co.base, SIGINT, coordinator_signal_cb, &c);
    c.drain_timer = event_new(c.co.base, -1, EV_PERSIST, coordinator_drain_cb, &c);
    c.groups_retry = evtimer_new(c.co.base, coordinator_groups_retry_cb, &c);
    event_add(c.sigterm, NULL);
    event_add(c.sigint, NULL);
    redis_client_start(c.co.cmd);
    redis_client_start(c.co.rblock);
    redis_client_start(c.co.pblock);
    log_info("mpic %s (malloc: %s) %s listening on %s://%s:%d, redis %s:%d, %d perspectives, "
             "key prefix %s", buildinfo_version(), buildinfo_allocator(), c.co.id,
             c.tls ? "https" : "http", c.cfg.listen.host, c.cfg.listen.port, c.cfg.redis.host,
             c.cfg.redis.port, c.cfg.nperspectives, c.cfg.key_prefix);
    event_base_dispatch(c.co.base);
    log_info("stopped");
    rc = 0;
    if (pending_table_count(c.co.pending) > 0) return rc; /* held requests still referenced */
done:
    due_shutdown(&c.co);
    acceptguard_free(c.co.accept_guard); /* before evhttp_free frees its listener */
    if (http) evhttp_free(http);
    connguard_free(c.co.http_guard); /* after evhttp_free: it closed every connection */
    if (c.tls) SSL_CTX_free(c.tls);
    if (c.sigterm) event_free(c.sigterm);
    if (c.sigint) event_free(c.sigint);
    if (c.drain_timer) event_free(c.drain_timer);
    if (c.groups_retry) event_free(c.groups_retry);
    c.groups_retry = NULL;
    /*
     * Clients first: their pending callbacks still reach a live reducer and listener. Those
     * callbacks must not start new reads: the reducer's read checks groups_ready before it
     * looks at its (maybe already freed) blocking connection.
     */
    c.co.groups_ready = false;
    redis_client_free(c.co.rblock);
    redis_client_free(c.co.pblock);
    redis_client_free(c.co.cmd);
    reducer_free(c.reducer);
    replies_free(c.replies);
    pending_table_free(c.co.pending);
    tallycache_free(c.co.tallies);
    alerts_shutdown();
    cmetrics_shutdown();
    event_base_free(c.co.base);
    return rc;
}
