/*
 * Tests for coordinator/streamlag.c: ids, XINFO STREAM parsing, and the undelivered and
 * trimmed counts against a real redis-server whose stream is trimmed past a consumer group's
 * cursor (Redis 7.0 then counts the trimmed entries in the group's lag for good).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "redis_server.h"
#include "streamlag.h"

static void test_ids(void **state)
{
    struct streamlag_id a, b;
    (void)state;
    assert_int_equal(streamlag_parse_id("1796608463016-7", &a), 0);
    assert_true(a.ms == 1796608463016ULL && a.seq == 7);
    assert_int_equal(streamlag_parse_id("1796608463016", &b), 0);
    assert_true(b.seq == 0 && streamlag_cmp(&b, &a) < 0 && streamlag_cmp(&a, &b) > 0);
    assert_int_equal(streamlag_cmp(&a, &a), 0);
    assert_int_equal(streamlag_parse_id("0-0", &b), 0);
    assert_int_equal(streamlag_parse_id("", &b), -1);
    assert_int_equal(streamlag_parse_id("-5", &b), -1);
    assert_int_equal(streamlag_parse_id("12-x", &b), -1);
    assert_int_equal(streamlag_parse_id("5--0", &b), -1); /* found by fuzz_streamlag */
    assert_int_equal(streamlag_parse_id("+5", &b), -1);
    assert_int_equal(streamlag_parse_id(" 5-1", &b), -1);
    assert_int_equal(streamlag_parse_id("5-", &b), -1);
    assert_int_equal(streamlag_parse_id("9223372036854775807-9223372036854775807", &b), 0);
    assert_int_equal(streamlag_parse_id("9223372036854775808-0", &b), -1);
    assert_int_equal(streamlag_parse_id("99999999999999999999999-1", &b), -1);
    assert_int_equal(streamlag_parse_id(NULL, &b), -1);
}

/* XINFO STREAM of key, parsed. */
static struct streamlag_stream stream_info(redisContext *c, const char *key)
{
    struct streamlag_stream s;
    redisReply *r = redisCommand(c, "XINFO STREAM %s", key);
    assert_non_null(r);
    assert_int_equal(streamlag_parse_stream(r, &s), 0);
    freeReplyObject(r);
    return s;
}

/* XINFO GROUPS of key, the "workers" group parsed (and no group "other"). */
static struct streamlag_group group_info(redisContext *c, const char *key)
{
    struct streamlag_group g;
    redisReply *r = redisCommand(c, "XINFO GROUPS %s", key);
    assert_non_null(r);
    assert_int_equal(streamlag_parse_group(r, "other", &g), -1);
    assert_int_equal(streamlag_parse_group(r, "workers", &g), 0);
    assert_true(g.lag_known); /* Redis 7.0 gives a lag for a group it can count */
    freeReplyObject(r);
    return g;
}

static long long undelivered(redisContext *c, const char *key, struct streamlag_state *st)
{
    struct streamlag_stream s = stream_info(c, key);
    struct streamlag_group g = group_info(c, key);
    return streamlag_undelivered(&s, &g.delivered, g.lag_known, g.lag, st);
}

static void cmd(redisContext *c, const char *fmt, const char *key, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = redisCommand(c, fmt, key);
        assert_true(r != NULL && r->type != REDIS_REPLY_ERROR);
        freeReplyObject(r);
    }
}

static void test_trimmed_past_the_cursor(void **state)
{
    redisContext *c = test_redis_connect(&test_srv);
    struct streamlag_state st = {0};
    const char *key = "t:jobs:{trim}";
    (void)state;
    assert_non_null(c);
    cmd(c, "XGROUP CREATE %s workers 0 MKSTREAM", key, 1);
    assert_int_equal(undelivered(c, key, &st), 0); /* empty */
    cmd(c, "XADD %s * j x", key, 50);
    cmd(c, "XREADGROUP GROUP workers w COUNT 10 STREAMS %s >", key, 1);
    assert_int_equal(undelivered(c, key, &st), 40);
    /* 1,000 more, capped at ~100: the 40 waiting and most of the new ones are trimmed */
    cmd(c, "XADD %s MAXLEN ~ 100 * j x", key, 1000);
    struct streamlag_stream s = stream_info(c, key);
    assert_true(s.length >= 100 && s.length < 300);
    assert_int_equal(undelivered(c, key, &st), s.length); /* the cursor is behind the first */
    assert_true(st.trimmed_known && st.trimmed == 0); /* learned while the stream was empty */
    /* the group catches up: nothing waits, although Redis' lag stays at the trimmed count */
    cmd(c, "XREADGROUP GROUP workers w COUNT 5000 STREAMS %s >", key, 1);
    assert_int_equal(undelivered(c, key, &st), 0);
    assert_true(st.trimmed_known);
    assert_int_equal(st.trimmed, 1040 - s.length);
    /* new entries are counted exactly from then on */
    cmd(c, "XADD %s MAXLEN ~ 100 * j x", key, 5);
    assert_int_equal(undelivered(c, key, &st), 5);
    cmd(c, "XREADGROUP GROUP workers w COUNT 2 STREAMS %s >", key, 1);
    assert_int_equal(undelivered(c, key, &st), 3);
    /* a watcher that starts late knows nothing of the trimmed entries: capped by the length */
    struct streamlag_state fresh = {0};
    long long n = undelivered(c, key, &fresh);
    assert_true(n >= 3 && n <= stream_info(c, key).length);
    redisFree(c);
}

static void test_parse_rejects_what_is_no_stream_info(void **state)
{
    redisReply len = {.type = REDIS_REPLY_STRING, .str = "length"};
    redisReply neg = {.type = REDIS_REPLY_INTEGER, .integer = -1};
    redisReply last = {.type = REDIS_REPLY_STRING, .str = "last-generated-id"};
    redisReply id = {.type = REDIS_REPLY_STRING, .str = "5-1"};
    redisReply *el[] = {&len, &neg, &last, &id};
    redisReply arr = {.type = REDIS_REPLY_ARRAY, .elements = 4, .element = el};
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = "ERR no such key"};
    struct streamlag_stream s;
    (void)state;
    assert_int_equal(streamlag_parse_stream(NULL, &s), -1);
    assert_int_equal(streamlag_parse_stream(&err, &s), -1);
    assert_int_equal(streamlag_parse_stream(&arr, &s), -1); /* negative length */
    neg.integer = 3;
    assert_int_equal(streamlag_parse_stream(&arr, &s), -1); /* entries but no first entry */
    neg.integer = 0;
    assert_int_equal(streamlag_parse_stream(&arr, &s), 0);
    assert_true(s.length == 0 && s.last_generated.ms == 5 && s.last_generated.seq == 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_trimmed_past_the_cursor),
        cmocka_unit_test(test_parse_rejects_what_is_no_stream_info),
    };
    return cmocka_run_group_tests(tests, test_redis_group_setup, test_redis_group_teardown);
}
