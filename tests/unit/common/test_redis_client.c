/*
 * common/redis_client.c against a real redis-server started by the test: every command
 * completes exactly once and never synchronously, commands time out when Redis hangs
 * (SIGSTOP), the client reconnects with backoff after a restart, and a lost connection fails
 * pending commands with NULL; ACL users authenticate with `AUTH user pass`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "redis_client.h"

struct reply_log {
    int calls;
    int type;          /* reply type, or -1 for NULL */
    char text[128];    /* status/string/error text, or errstr */
    bool in_call;      /* set while the command call itself runs */
    bool synchronous;  /* a callback ran inside the call */
};

static pid_t redis_pid;
static struct event_base *current_base; /* the loop a reply callback wakes up */
static int redis_port;

static pid_t start_redis(int port)
{
    char portbuf[16];
    pid_t pid;
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_redis(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGCONT);
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
}

/* called by redis_client with each reply */
static void log_reply(void *arg, redisReply *reply, const char *errstr)
{
    struct reply_log *l = arg;
    l->calls++;
    if (current_base) event_base_loopbreak(current_base);
    if (l->in_call) l->synchronous = true;
    l->type = reply ? reply->type : -1;
    snprintf(l->text, sizeof(l->text), "%s",
             reply ? (reply->str ? reply->str : "") : (errstr ? errstr : ""));
}

/* Runs the loop until *calls reaches want (a reply callback breaks the loop) or timeout. */
static void run_until(struct event_base *base, const int *calls, int want, int timeout_ms)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    current_base = base;
    while (*calls < want && clock_mono_ms() < end) {
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    current_base = NULL;
}

/* Runs the loop until the client is ready or timeout (checked at least every 50 ms). */
static bool wait_ready(struct event_base *base, struct redis_client *rc, int timeout_ms)
{
    int64_t end = clock_mono_ms() + timeout_ms;
    while (!redis_client_is_ready(rc) && clock_mono_ms() < end) {
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return redis_client_is_ready(rc);
}

static struct redis_client *new_client(struct event_base *base, int command_timeout_ms)
{
    struct redis_client_opts o;
    memset(&o, 0, sizeof(o));
    o.name = "unit";
    o.host = "127.0.0.1";
    o.port = redis_port;
    o.connect_timeout_ms = 300;
    o.command_timeout_ms = command_timeout_ms;
    return redis_client_new(base, &o);
}

/* A port the kernel just reported free (bind to port 0), for redis-server to take. */
static int free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int setup(void **state)
{
    (void)state;
    for (int attempt = 0; attempt < 10; attempt++) {
        redis_port = free_port();
        if (redis_port <= 0) continue;
        redis_pid = start_redis(redis_port);
        /* wait until it accepts a PING */
        struct event_base *base = event_base_new();
        struct redis_client *rc = new_client(base, 1000);
        redis_client_start(rc);
        bool ok = wait_ready(base, rc, 3000);
        struct reply_log l = {0};
        if (ok) {
            redis_client_command(rc, log_reply, &l, 0, "PING");
            run_until(base, &l.calls, 1, 2000);
            ok = l.type == REDIS_REPLY_STATUS;
        }
        /* the server that answered must be ours, not another test's on a reused port */
        ok = ok && waitpid(redis_pid, NULL, WNOHANG) == 0;
        redis_client_free(rc);
        event_base_free(base);
        if (ok) return 0;
        stop_redis();
    }
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_redis();
    return 0;
}

static void test_command_exactly_once_and_async(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 1000);
    struct reply_log l = {0}, early = {0};

    (void)state;
    /* before start: fails with "not connected", but only from the event loop */
    early.in_call = true;
    redis_client_command(rc, log_reply, &early, 0, "PING");
    early.in_call = false;
    assert_int_equal(early.calls, 0);
    run_until(base, &early.calls, 1, 1000);
    assert_int_equal(early.calls, 1);
    assert_false(early.synchronous);
    assert_int_equal(early.type, -1);
    assert_string_equal(early.text, "not connected");

    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    l.in_call = true;
    redis_client_command(rc, log_reply, &l, 0, "SET %s %b", "k", "v\0w", (size_t)3);
    l.in_call = false;
    run_until(base, &l.calls, 1, 2000);
    assert_int_equal(l.calls, 1);
    assert_false(l.synchronous);
    assert_int_equal(l.type, REDIS_REPLY_STATUS);

    struct reply_log g = {0};
    redis_client_command(rc, log_reply, &g, 0, "STRLEN k");
    run_until(base, &g.calls, 1, 2000);
    assert_int_equal(g.type, REDIS_REPLY_INTEGER);

    struct reply_log e = {0};
    redis_client_command(rc, log_reply, &e, 0, "NOSUCHCOMMAND");
    run_until(base, &e.calls, 1, 2000);
    assert_int_equal(e.calls, 1);
    assert_int_equal(e.type, REDIS_REPLY_ERROR);

    redis_client_free(rc);
    event_base_free(base);
}

static void test_hung_server_times_out_then_recovers(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 200);
    struct reply_log a = {0}, b = {0}, c = {0};
    int64_t t0;

    (void)state;
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    kill(redis_pid, SIGSTOP);
    t0 = clock_mono_ms();
    redis_client_command(rc, log_reply, &a, 0, "PING");
    redis_client_command(rc, log_reply, &b, 0, "PING"); /* pipelined behind a */
    run_until(base, &b.calls, 1, 3000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.type, -1);
    assert_string_equal(a.text, "timeout");
    assert_int_equal(b.type, -1); /* dropped with the connection */
    assert_true(clock_mono_ms() - t0 < 1500);
    assert_false(redis_client_is_ready(rc));

    kill(redis_pid, SIGCONT);
    assert_true(wait_ready(base, rc, 5000));
    redis_client_command(rc, log_reply, &c, 0, "PING");
    run_until(base, &c.calls, 1, 2000);
    assert_int_equal(c.type, REDIS_REPLY_STATUS);
    assert_string_equal(c.text, "PONG");

    /* no late second callback for a or b after all this loop activity */
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    redis_client_free(rc);
    event_base_free(base);
}

static void on_state(void *arg, bool ready)
{
    int *transitions = arg;
    transitions[ready ? 1 : 0]++;
}

static void test_restart_fails_pending_and_reconnects(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 5000);
    struct reply_log blocked = {0}, after = {0};
    int transitions[2] = {0, 0};

    (void)state;
    redis_client_set_state_cb(rc, on_state, transitions);
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    assert_int_equal(transitions[1], 1);
    redis_client_command(rc, log_reply, &blocked, 6000, "BLPOP nothing-here 5");
    stop_redis();
    run_until(base, &blocked.calls, 1, 3000);
    assert_int_equal(blocked.calls, 1);
    assert_int_equal(blocked.type, -1);
    assert_int_equal(transitions[0], 1);

    redis_pid = start_redis(redis_port);
    assert_true(wait_ready(base, rc, 8000)); /* backoff is at most 2 s */
    assert_int_equal(transitions[1], 2);
    redis_client_command(rc, log_reply, &after, 0, "PING");
    run_until(base, &after.calls, 1, 2000);
    assert_int_equal(after.type, REDIS_REPLY_STATUS);

    /* freeing with a command in flight completes it exactly once, with NULL */
    struct reply_log inflight = {0};
    redis_client_command(rc, log_reply, &inflight, 6000, "BLPOP nothing-here 5");
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    redis_client_free(rc);
    assert_int_equal(inflight.calls, 1);
    assert_int_equal(inflight.type, -1);
    event_base_free(base);
}

struct whoami_probe {
    struct redis_client *rc;
    struct reply_log *log;
    bool sent;
};

/* called by redis_client when the probed client becomes ready or loses its connection */
static void whoami_on_ready(void *arg, bool ready)
{
    struct whoami_probe *p = arg;
    if (!ready || p->sent) return;
    p->sent = true;
    redis_client_command(p->rc, log_reply, p->log, 0, "ACL WHOAMI");
}

/* An ACL user authenticates with the Redis 6+ `AUTH user pass`; a wrong password drops the
 * connection instead of carrying on as the default user. */
static void test_auth_with_acl_user(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *admin = new_client(base, 1000);
    struct redis_client_opts o;
    struct redis_client *good, *bad;
    struct reply_log setup_l = {0}, who = {0}, bad_who = {0};
    struct whoami_probe bad_probe = {0};

    (void)state;
    redis_client_start(admin);
    assert_true(wait_ready(base, admin, 3000));
    redis_client_command(admin, log_reply, &setup_l, 0,
                         "ACL SETUSER unit-user reset on %s +@all ~*", ">unit pass");
    run_until(base, &setup_l.calls, 1, 2000);
    assert_int_equal(setup_l.type, REDIS_REPLY_STATUS);

    memset(&o, 0, sizeof(o));
    o.name = "unit-acl";
    o.host = "127.0.0.1";
    o.port = redis_port;
    o.connect_timeout_ms = 300;
    o.command_timeout_ms = 1000;
    o.username = "unit-user";
    o.password = "unit pass"; /* a space: one argument, not two */
    good = redis_client_new(base, &o);
    redis_client_start(good);
    assert_true(wait_ready(base, good, 3000));
    redis_client_command(good, log_reply, &who, 0, "ACL WHOAMI");
    run_until(base, &who.calls, 1, 2000);
    assert_int_equal(who.type, REDIS_REPLY_STRING);
    assert_string_equal(who.text, "unit-user");

    o.password = "wrong";
    bad = redis_client_new(base, &o);
    bad_probe.rc = bad;
    bad_probe.log = &bad_who;
    /* the connection is ready only until the AUTH error arrives: ask right then */
    redis_client_set_state_cb(bad, whoami_on_ready, &bad_probe);
    redis_client_start(bad);
    run_until(base, &bad_who.calls, 1, 3000);
    assert_int_equal(bad_who.calls, 1);
    assert_int_equal(bad_who.type, -1); /* dropped after WRONGPASS, never "default" */

    redis_client_free(bad);
    redis_client_free(good);
    redis_client_free(admin);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_exactly_once_and_async),
        cmocka_unit_test(test_hung_server_times_out_then_recovers),
        cmocka_unit_test(test_restart_fails_pending_and_reconnects),
        cmocka_unit_test(test_auth_with_acl_user),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
