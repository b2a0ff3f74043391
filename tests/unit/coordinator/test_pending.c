/*
 * Tests for coordinator/pending.c: inserting, finding and removing many request ids, ids that
 * share a bucket (chained collisions), removal of absent entries and from chain middles.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define MANY 20000

static void test_empty(void **state)
{
    struct pending_table *t = pending_table_new();
    struct pending_entry e;
    (void)state;

    assert_int_equal(pending_table_count(t), 0);
    assert_null(pending_table_find(t, "abc"));
    assert_null(pending_table_find(t, ""));
    memset(&e, 0, sizeof(e));
    snprintf(e.rid, sizeof(e.rid), "abc");
    pending_table_remove(t, &e); /* absent: no effect */
    assert_int_equal(pending_table_count(t), 0);
    pending_table_free(t);
}

static void test_many(void **state)
{
    struct pending_table *t = pending_table_new();
    struct pending_entry *e = calloc(MANY, sizeof(*e));
    (void)state;

    for (int i = 0; i < MANY; i++) {
        snprintf(e[i].rid, sizeof(e[i].rid), "%032x", (unsigned)i * 2654435761u);
        pending_table_insert(t, &e[i]);
    }
    assert_int_equal(pending_table_count(t), MANY);
    for (int i = 0; i < MANY; i++) assert_ptr_equal(pending_table_find(t, e[i].rid), &e[i]);
    assert_null(pending_table_find(t, "not-an-id"));
    /* remove every other one */
    for (int i = 0; i < MANY; i += 2) pending_table_remove(t, &e[i]);
    assert_int_equal(pending_table_count(t), MANY / 2);
    for (int i = 0; i < MANY; i++) {
        if (i % 2) assert_ptr_equal(pending_table_find(t, e[i].rid), &e[i]);
        else assert_null(pending_table_find(t, e[i].rid));
    }
    /* removing twice is harmless */
    pending_table_remove(t, &e[0]);
    assert_int_equal(pending_table_count(t), MANY / 2);
    for (int i = 1; i < MANY; i += 2) pending_table_remove(t, &e[i]);
    assert_int_equal(pending_table_count(t), 0);
    for (int i = 0; i < MANY; i++) assert_null(pending_table_find(t, e[i].rid));
    /* entries can be reinserted after removal */
    pending_table_insert(t, &e[7]);
    assert_ptr_equal(pending_table_find(t, e[7].rid), &e[7]);
    pending_table_remove(t, &e[7]);
    pending_table_free(t);
    free(e);
}

/* FNV-1a mod 4096 as in pending.c, used only to find ids that collide. */
static unsigned bucket_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % 4096;
}

static void test_collisions(void **state)
{
    struct pending_table *t = pending_table_new();
    struct pending_entry e[8];
    char cand[PENDING_RID_MAX];
    unsigned target;
    int n = 0;
    (void)state;

    memset(e, 0, sizeof(e));
    snprintf(e[0].rid, sizeof(e[0].rid), "id-0");
    target = bucket_of(e[0].rid);
    n = 1;
    for (unsigned i = 1; n < 8 && i < 10000000; i++) {
        snprintf(cand, sizeof(cand), "id-%u", i);
        if (bucket_of(cand) == target) snprintf(e[n++].rid, sizeof(e[0].rid), "%s", cand);
    }
    assert_int_equal(n, 8);
    for (int i = 0; i < 8; i++) pending_table_insert(t, &e[i]);
    for (int i = 0; i < 8; i++) assert_ptr_equal(pending_table_find(t, e[i].rid), &e[i]);
    /* remove from the middle, the head (last inserted) and the tail (first inserted) */
    pending_table_remove(t, &e[3]);
    pending_table_remove(t, &e[7]);
    pending_table_remove(t, &e[0]);
    assert_int_equal(pending_table_count(t), 5);
    assert_null(pending_table_find(t, e[3].rid));
    assert_null(pending_table_find(t, e[7].rid));
    assert_null(pending_table_find(t, e[0].rid));
    for (int i = 1; i < 7; i++)
        if (i != 3) assert_ptr_equal(pending_table_find(t, e[i].rid), &e[i]);
    /* a colliding id that is not in the table is neither found nor removable */
    {
        struct pending_entry other;
        memset(&other, 0, sizeof(other));
        snprintf(other.rid, sizeof(other.rid), "%s", e[3].rid);
        pending_table_remove(t, &other);
        assert_int_equal(pending_table_count(t), 5);
    }
    /* the same id twice (two HTTP requests never share one, but the table must not lose
     * either): find returns the most recent, removing it exposes the older */
    {
        struct pending_entry dup;
        memset(&dup, 0, sizeof(dup));
        snprintf(dup.rid, sizeof(dup.rid), "%s", e[1].rid);
        pending_table_insert(t, &dup);
        assert_ptr_equal(pending_table_find(t, e[1].rid), &dup);
        pending_table_remove(t, &dup);
        assert_ptr_equal(pending_table_find(t, e[1].rid), &e[1]);
    }
    pending_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
