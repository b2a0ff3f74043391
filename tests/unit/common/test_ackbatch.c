/*
 * common/ackbatch.c against a real redis-server: entries finished in one event-loop turn are
 * acknowledged with one XACK per 128 ids (counted in INFO commandstats), every item completes
 * exactly once, and items still queued when the batcher is freed complete with ok=false and
 * stay pending in the stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdlib.h>

#include "ackbatch.h"
#include "clock.h"
#include "redis_client.h"
#include "redis_server.h"

#define N_ENTRIES 300


struct acked {
    int calls;
    int ok;
    int seen[N_ENTRIES]; /* completions per item */
    struct event_base *base;
};

struct item {
    struct acked *log;
    int index;
    char id[48];
};

/* called by ackbatch once per item */
static void acked_cb(void *arg, void *p, bool ok)
{
    struct acked *a = arg;
    struct item *it = p;
    a->calls++;
    a->ok += ok ? 1 : 0;
    a->seen[it->index]++;
    if (a->base) event_base_loopbreak(a->base);
}

static long long sync_int(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v = -1;
    assert_non_null(r);
    if (r->type == REDIS_REPLY_INTEGER) v = r->integer;
    freeReplyObject(r);
    return v;
}

/* XACK calls so far, from INFO commandstats. */
static long long xack_calls(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO commandstats");
    const char *p;
    long long calls = 0;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    p = strstr(r->str, "cmdstat_xack:calls=");
    if (p != NULL) calls = strtoll(p + strlen("cmdstat_xack:calls="), NULL, 10);
    freeReplyObject(r);
    return calls;
}

/* Adds n entries to stream s, reads them in group g and fills items[] with their ids. */
static void fill_pending(redisContext *c, const char *s, struct item *items, int n,
                         struct acked *log)
{
    redisReply *r;
    r = redisCommand(c, "XGROUP CREATE %s g $ MKSTREAM", s);
    freeReplyObject(r);
    for (int i = 0; i < n; i++) freeReplyObject(redisCommand(c, "XADD %s * f %d", s, i));
    r = redisCommand(c, "XREADGROUP GROUP g c COUNT %d STREAMS %s >", n, s);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->element[1]->elements, (size_t)n);
    for (int i = 0; i < n; i++) {
        items[i].log = log;
        items[i].index = i;
        snprintf(items[i].id, sizeof(items[i].id), "%s",
                 r->element[0]->element[1]->element[i]->element[0]->str);
    }
    freeReplyObject(r);
}

static struct redis_client *ready_client(struct event_base *base)
{
    struct redis_client_opts o;
    struct redis_client *rc;
    int64_t end = clock_mono_ms() + 3000;

    memset(&o, 0, sizeof(o));
    o.name = "unit-ackbatch";
    o.host = "127.0.0.1";
    o.port = test_srv.port;
    o.connect_timeout_ms = 500;
    o.command_timeout_ms = 2000;
    rc = redis_client_new(base, &o);
    redis_client_start(rc);
    while (!redis_client_is_ready(rc) && clock_mono_ms() < end) {
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    assert_true(redis_client_is_ready(rc));
    return rc;
}

static void test_one_xack_per_turn_and_128_ids(void **state)
{
    static struct item items[N_ENTRIES];
    struct event_base *base = event_base_new();
    redisContext *c = test_redis_connect(&test_srv);
    struct redis_client *rc = ready_client(base);
    struct acked log = {0};
    struct ackbatch *b;
    long long before;
    int64_t end;

    (void)state;
    assert_non_null(c);
    fill_pending(c, "s1", items, N_ENTRIES, &log);
    before = xack_calls(c);
    b = ackbatch_new(base, rc, "s1", "g", acked_cb, &log);
    for (int i = 0; i < N_ENTRIES; i++) ackbatch_add(b, items[i].id, &items[i]);
    assert_int_equal(log.calls, 0); /* never synchronously */
    log.base = base;
    end = clock_mono_ms() + 5000;
    while (log.calls < N_ENTRIES && clock_mono_ms() < end) {
        struct timeval tv = {0, 50000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    assert_int_equal(log.calls, N_ENTRIES);
    assert_int_equal(log.ok, N_ENTRIES);
    for (int i = 0; i < N_ENTRIES; i++) assert_int_equal(log.seen[i], 1);
    assert_int_equal(xack_calls(c) - before, 3); /* 128 + 128 + 44 ids */
    assert_int_equal(sync_int(c, "XLEN s1"), N_ENTRIES);
    {
        redisReply *r = redisCommand(c, "XPENDING s1 g");
        assert_non_null(r);
        assert_int_equal(r->element[0]->integer, 0);
        freeReplyObject(r);
    }
    ackbatch_free(b);
    redis_client_free(rc);
    event_base_free(base);
    redisFree(c);
}

static void test_free_completes_unsent_items_unacknowledged(void **state)
{
    static struct item items[5];
    struct event_base *base = event_base_new();
    redisContext *c = test_redis_connect(&test_srv);
    struct redis_client *rc = ready_client(base);
    struct acked log = {0};
    struct ackbatch *b;
    redisReply *r;

    (void)state;
    assert_non_null(c);
    fill_pending(c, "s2", items, 5, &log);
    b = ackbatch_new(base, rc, "s2", "g", acked_cb, &log);
    for (int i = 0; i < 5; i++) ackbatch_add(b, items[i].id, &items[i]);
    ackbatch_free(b);
    assert_int_equal(log.calls, 5);
    assert_int_equal(log.ok, 0);
    for (int i = 0; i < 5; i++) assert_int_equal(log.seen[i], 1);
    /* the loop turn that would have flushed them finds nothing to do */
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(log.calls, 5);
    r = redisCommand(c, "XPENDING s2 g");
    assert_non_null(r);
    assert_int_equal(r->element[0]->integer, 5); /* left for a reclaim */
    freeReplyObject(r);
    redis_client_free(rc);
    event_base_free(base);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_xack_per_turn_and_128_ids),
        cmocka_unit_test(test_free_completes_unsent_items_unacknowledged),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
