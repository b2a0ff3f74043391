/*
 * Pending-request table (see pending.h): 4096 buckets, FNV-1a over the id.
 */
#include "pending.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PENDING_BUCKETS 4096

struct pending_table {
    struct pending_entry *buckets[PENDING_BUCKETS];
    size_t count;
};

static size_t pending_hash(const char *rid)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)rid; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % PENDING_BUCKETS;
}

struct pending_table *pending_table_new(void)
{
    return util_xcalloc(1, sizeof(struct pending_table));
}

void pending_table_free(struct pending_table *t)
{
    free(t);
}

void pending_table_insert(struct pending_table *t, struct pending_entry *e)
{
    size_t b = pending_hash(e->rid);
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->count++;
}

struct pending_entry *pending_table_find(struct pending_table *t, const char *rid)
{
    for (struct pending_entry *e = t->buckets[pending_hash(rid)]; e; e = e->next)
        if (strcmp(e->rid, rid) == 0) return e;
    return NULL;
}

void pending_table_remove(struct pending_table *t, struct pending_entry *e)
{
    struct pending_entry **pp = &t->buckets[pending_hash(e->rid)];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            e->next = NULL;
            t->count--;
            return;
        }
    }
}

size_t pending_table_count(const struct pending_table *t)
{
    return t->count;
}
