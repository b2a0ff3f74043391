/*
 * common/redis_client.c against a real redis-server started by the test: every command
 * completes exactly once and never synchronously, commands time out when Redis hangs
 * (SIGSTOP), the client reconnects with backoff after a restart, and a lost connection fails
 * pending commands with NULL; ACL users authenticate with `AUTH user pass`. The event-loop
 * adapter (common/redis_evloop.c): commands of one loop turn or of reply callbacks all complete,
 * a burst larger than the socket buffers goes out on EV_WRITE, freeing from a callback cancels
 * the pending flush, and refused or stuck connects never count as connected.
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
#include "redis_server.h"

struct reply_log {
    int calls;
    int type;          /* reply type, or -1 for NULL */
    char text[128];    /* status/string/error text, or errstr */
    bool in_call;      /* set while the command call itself runs */
    bool synchronous;  /* a callback ran inside the call */
};

static struct event_base *current_base; /* the loop a reply callback wakes up */

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
    o.port = test_srv.port;
    o.connect_timeout_ms = 300;
    o.command_timeout_ms = command_timeout_ms;
    return redis_client_new(base, &o);
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
    kill(test_srv.pid, SIGSTOP);
    t0 = clock_mono_ms();
    redis_client_command(rc, log_reply, &a, 0, "PING");
    redis_client_command(rc, log_reply, &b, 0, "PING"); /* pipelined behind a */
    run_until(base, &b.calls, 1, 3000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.type, -1);
    assert_string_equal(a.text, "timeout");
    assert_int_equal(b.type, -1); /* dropped with the connection */
    /* the 200 ms command timeout dropped them, well before anything else would (a loose
     * bound: under valgrind on a loaded 2-core machine the loop itself can lag a second) */
    assert_true(clock_mono_ms() - t0 < 2800);
    assert_false(redis_client_is_ready(rc));

    kill(test_srv.pid, SIGCONT);
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

/* called by redis_client on every state change of the client under test */
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
    test_redis_stop(&test_srv);
    run_until(base, &blocked.calls, 1, 3000);
    assert_int_equal(blocked.calls, 1);
    assert_int_equal(blocked.type, -1);
    assert_int_equal(transitions[0], 1);

    test_redis_spawn(&test_srv);
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
    o.port = test_srv.port;
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

struct burst {
    int calls;        /* replies seen */
    int in_order;     /* replies whose INCR value matched their position */
    int errors;       /* NULL or error replies */
    bool in_call;     /* set while commands are being issued */
    bool synchronous; /* a callback ran inside the issuing code */
};

/* called by redis_client with the reply to one INCR of a burst */
static void burst_reply(void *arg, redisReply *reply, const char *errstr)
{
    struct burst *b = arg;
    (void)errstr;
    b->calls++;
    if (b->in_call) b->synchronous = true;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        b->errors++;
    else if (reply->integer == b->calls)
        b->in_order++;
    if (current_base) event_base_loopbreak(current_base);
}

/* Many commands issued in one loop turn (flushed together at the end of the turn) all complete
 * exactly once, in order, never synchronously. */
static void test_many_commands_in_one_turn(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 5000);
    struct reply_log del = {0};
    struct burst b = {0};
    const int n = 2000;

    (void)state;
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    redis_client_command(rc, log_reply, &del, 0, "DEL burst-counter");
    b.in_call = true;
    for (int i = 0; i < n; i++)
        redis_client_command(rc, burst_reply, &b, 0, "INCR burst-counter");
    b.in_call = false;
    assert_int_equal(b.calls, 0);
    run_until(base, &b.calls, n, 10000);
    assert_int_equal(del.calls, 1);
    assert_int_equal(b.calls, n);
    assert_int_equal(b.in_order, n);
    assert_int_equal(b.errors, 0);
    assert_false(b.synchronous);
    redis_client_free(rc);
    event_base_free(base);
}

struct chain {
    struct redis_client *rc;
    int left;  /* commands still to issue from reply callbacks */
    int calls; /* replies seen */
    int bad;   /* NULL or unexpected replies */
};

/* called by redis_client with each PING reply of a chain: issues the next two-command step */
static void chain_reply(void *arg, redisReply *reply, const char *errstr)
{
    struct chain *c = arg;
    (void)errstr;
    c->calls++;
    if (reply == NULL || reply->type != REDIS_REPLY_STATUS) c->bad++;
    if (c->left > 0) {
        c->left--;
        redis_client_command(c->rc, chain_reply, c, 0, "PING");
    }
    if (current_base) event_base_loopbreak(current_base);
}

/* Commands issued from inside reply callbacks are flushed after the callback returns. */
static void test_commands_from_reply_callbacks(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 5000);
    struct chain c = {0};

    (void)state;
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    c.rc = rc;
    c.left = 500;
    for (int i = 0; i < 4; i++) /* four chains interleaved on one connection */
        redis_client_command(rc, chain_reply, &c, 0, "PING");
    run_until(base, &c.calls, 504, 10000);
    assert_int_equal(c.calls, 504);
    assert_int_equal(c.bad, 0);
    redis_client_free(rc);
    event_base_free(base);
}

#define BIG_VALUES 96
#define BIG_VALUE_LEN (256 * 1024)

struct big_log {
    int calls;
    int ok;   /* +OK for SET, the right length for STRLEN */
    int want; /* STRLEN answer expected; 0 for SET */
};

/* called by redis_client with the reply to one SET or STRLEN of the big burst */
static void big_reply(void *arg, redisReply *reply, const char *errstr)
{
    struct big_log *l = arg;
    (void)errstr;
    l->calls++;
    if (reply != NULL && l->want == 0 && reply->type == REDIS_REPLY_STATUS) l->ok++;
    if (reply != NULL && l->want > 0 && reply->type == REDIS_REPLY_INTEGER &&
        reply->integer == l->want)
        l->ok++;
    if (current_base) event_base_loopbreak(current_base);
}

/* A pipelined burst (24 MiB) larger than the socket buffers, sent while Redis is stopped: the
 * end-of-turn flush hits EAGAIN and the rest goes out on EV_WRITE once Redis reads again;
 * every command completes, and the connection is usable afterwards. */
static void test_burst_larger_than_socket_buffer(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 20000);
    struct big_log sets = {0}, lens = {0};
    struct reply_log after = {0};
    char *value = malloc(BIG_VALUE_LEN);

    (void)state;
    assert_non_null(value);
    memset(value, 'x', BIG_VALUE_LEN);
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    lens.want = BIG_VALUE_LEN;
    kill(test_srv.pid, SIGSTOP);
    for (int i = 0; i < BIG_VALUES; i++) {
        char key[32];
        snprintf(key, sizeof(key), "big-%d", i);
        redis_client_command(rc, big_reply, &sets, 0, "SET %s %b", key, value,
                             (size_t)BIG_VALUE_LEN);
    }
    for (int i = 0; i < BIG_VALUES; i++)
        redis_client_command(rc, big_reply, &lens, 0, "STRLEN big-%d", i);
    run_until(base, &sets.calls, 1, 300); /* flush, EAGAIN, wait for EV_WRITE */
    assert_int_equal(sets.calls, 0);
    kill(test_srv.pid, SIGCONT);
    run_until(base, &lens.calls, BIG_VALUES, 30000);
    assert_int_equal(sets.calls, BIG_VALUES);
    assert_int_equal(sets.ok, BIG_VALUES);
    assert_int_equal(lens.calls, BIG_VALUES);
    assert_int_equal(lens.ok, BIG_VALUES);
    assert_true(redis_client_is_ready(rc));

    redis_client_command(rc, log_reply, &after, 0, "PING");
    run_until(base, &after.calls, 1, 2000);
    assert_int_equal(after.type, REDIS_REPLY_STATUS);
    assert_string_equal(after.text, "PONG");
    redis_client_free(rc);
    event_base_free(base);
    free(value);
}

struct free_in_cb {
    struct redis_client *rc;
    struct reply_log *late; /* the command issued from the callback just before the free */
    int calls;
};

/* called by redis_client with the first reply: queues one more command (a flush is now
 * pending) and frees the client in the same callback */
static void free_from_reply(void *arg, redisReply *reply, const char *errstr)
{
    struct free_in_cb *f = arg;
    (void)reply;
    (void)errstr;
    f->calls++;
    if (f->rc == NULL) return;
    redis_client_command(f->rc, log_reply, f->late, 0, "PING");
    redis_client_free(f->rc);
    f->rc = NULL;
}

/* Freeing the client from a reply callback right after queueing a command: the pending
 * flush is cancelled with the context, and every command completes exactly once. */
static void test_free_inside_reply_callback(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client *rc = new_client(base, 5000);
    struct reply_log late = {0}, behind = {0};
    struct free_in_cb f = {0};

    (void)state;
    redis_client_start(rc);
    assert_true(wait_ready(base, rc, 3000));
    f.rc = rc;
    f.late = &late;
    redis_client_command(rc, free_from_reply, &f, 0, "PING");
    redis_client_command(rc, log_reply, &behind, 0, "PING");
    run_until(base, &late.calls, 1, 3000);
    assert_int_equal(f.calls, 1);
    assert_int_equal(late.calls, 1);
    /* behind: answered before the free took effect, or failed with it, but exactly once */
    assert_int_equal(behind.calls, 1);
    /* more loop turns: nothing fires for the freed client */
    for (int i = 0; i < 5; i++) event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_int_equal(f.calls, 1);
    assert_int_equal(late.calls, 1);
    assert_int_equal(behind.calls, 1);
    event_base_free(base);
}

/* Nothing listens: the connect fails and the client backs off, never reporting ready. */
static void test_connection_refused(void **state)
{
    struct event_base *base = event_base_new();
    struct redis_client_opts o;
    struct redis_client *rc;
    struct reply_log l = {0};
    int transitions[2] = {0, 0};
    int64_t end;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.name = "unit-refused";
    o.host = "127.0.0.1";
    o.port = test_redis_free_port();
    o.connect_timeout_ms = 1000;
    o.command_timeout_ms = 1000;
    rc = redis_client_new(base, &o);
    redis_client_set_state_cb(rc, on_state, transitions);
    redis_client_start(rc);
    end = clock_mono_ms() + 3000;
    while (redis_client_get_state(rc) != REDIS_CLIENT_BACKOFF && clock_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(redis_client_get_state(rc), REDIS_CLIENT_BACKOFF);
    assert_int_equal(transitions[1], 0);
    redis_client_command(rc, log_reply, &l, 0, "PING");
    run_until(base, &l.calls, 1, 2000);
    assert_int_equal(l.type, -1);
    assert_string_equal(l.text, "not connected");
    assert_int_equal(transitions[1], 0);
    redis_client_free(rc);
    event_base_free(base);
}

/* A listener whose accept queue is full drops our SYN: the connect stays in progress. The
 * client must not take the first loop turn for "connected" (hiredis 0.14 only checks SO_ERROR,
 * 0 while connecting): it waits, times out and backs off, never reporting ready. */
static void test_connect_in_progress_times_out(void **state)
{
    struct event_base *base = event_base_new();
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct redis_client_opts o;
    struct redis_client *rc;
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fillers[4];
    int transitions[2] = {0, 0};
    bool saw_connecting = false;
    int64_t end;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    for (int i = 0; i < 4; i++) { /* fill the accept queue; never accepted */
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fillers[i] >= 0);
        connect(fillers[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    memset(&o, 0, sizeof(o));
    o.name = "unit-inprogress";
    o.host = "127.0.0.1";
    o.port = ntohs(sa.sin_port);
    o.connect_timeout_ms = 400;
    o.command_timeout_ms = 1000;
    rc = redis_client_new(base, &o);
    redis_client_set_state_cb(rc, on_state, transitions);
    redis_client_start(rc);
    end = clock_mono_ms() + 5000;
    while (redis_client_get_state(rc) != REDIS_CLIENT_BACKOFF && clock_mono_ms() < end) {
        if (redis_client_get_state(rc) == REDIS_CLIENT_CONNECTING) saw_connecting = true;
        event_base_loop(base, EVLOOP_ONCE);
    }
    assert_true(saw_connecting);
    assert_int_equal(redis_client_get_state(rc), REDIS_CLIENT_BACKOFF);
    assert_int_equal(transitions[1], 0);
    redis_client_free(rc);
    event_base_free(base);
    for (int i = 0; i < 4; i++) close(fillers[i]);
    close(lfd);
}

static void test_info_int(void **state)
{
    static const char info[] = "# Memory\r\nused_memory_human:1.20M\r\nused_memory:1258832\r\n"
                               "maxmemory:0\r\nmaxmemory_policy:noeviction\r\nempty:\r\n"
                               "big:99999999999999999999999\r\nlast:-7";
    int64_t v = 42;

    (void)state;
    /* the field itself, not one that starts with its name */
    assert_int_equal(redis_client_info_int(info, strlen(info), "used_memory", &v), 0);
    assert_int_equal(v, 1258832);
    assert_int_equal(redis_client_info_int(info, strlen(info), "maxmemory", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(redis_client_info_int(info, strlen(info), "last", &v), 0); /* no CRLF */
    assert_int_equal(v, -7);
    v = 42;
    assert_int_equal(redis_client_info_int(info, strlen(info), "maxmemory_policy", &v), -1);
    assert_int_equal(redis_client_info_int(info, strlen(info), "empty", &v), -1);
    assert_int_equal(redis_client_info_int(info, strlen(info), "big", &v), -1);
    assert_int_equal(redis_client_info_int(info, strlen(info), "used", &v), -1);
    assert_int_equal(redis_client_info_int(info, strlen(info), "Memory", &v), -1);
    assert_int_equal(v, 42);
    /* only len bytes are read: "maxmemory:0" cut before its value */
    assert_int_equal(redis_client_info_int(info, (size_t)(strstr(info, "maxmemory:") - info) + 10,
                                           "maxmemory", &v), -1);
    assert_int_equal(redis_client_info_int("", 0, "used_memory", &v), -1);
    /* a NUL inside the value is not the end of the number */
    assert_int_equal(redis_client_info_int("a:12\0\0\r\n", 8, "a", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_exactly_once_and_async),
        cmocka_unit_test(test_hung_server_times_out_then_recovers),
        cmocka_unit_test(test_restart_fails_pending_and_reconnects),
        cmocka_unit_test(test_auth_with_acl_user),
        cmocka_unit_test(test_many_commands_in_one_turn),
        cmocka_unit_test(test_commands_from_reply_callbacks),
        cmocka_unit_test(test_burst_larger_than_socket_buffer),
        cmocka_unit_test(test_free_inside_reply_callback),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_connect_in_progress_times_out),
        cmocka_unit_test(test_info_int),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
