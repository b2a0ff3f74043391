/*
 * Tally cache (see tallycache.h): entries indexed by request id in a pending_table, and a ring
 * of slots in insertion order; inserting into an occupied slot evicts its (oldest) entry.
 */
#include "tallycache.h"

#include <stdlib.h>
#include <string.h>

#include "pending.h"
#include "util.h"

struct tallycache_entry {
    struct pending_entry key; /* first member: the table hands it back */
    uint32_t attempt;
    uint32_t closed_through; /* attempts <= this are closed (0: none; attempts start at 1) */
    int slot;
    struct tally t;
};

struct tallycache {
    struct pending_table *index;
    struct tallycache_entry **ring;
    int cap;
    int next; /* the slot the next new entry takes */
};

struct tallycache *tallycache_new(int cap)
{
    struct tallycache *c = util_xcalloc(1, sizeof(*c));
    c->index = pending_table_new();
    c->ring = util_xcalloc((size_t)cap, sizeof(*c->ring));
    c->cap = cap;
    return c;
}

void tallycache_free(struct tallycache *c)
{
    if (c == NULL) return;
    for (int i = 0; i < c->cap; i++) free(c->ring[i]);
    pending_table_free(c->index);
    free(c->ring);
    free(c);
}

static struct tallycache_entry *tallycache_find(struct tallycache *c, const char *rid)
{
    if (c == NULL) return NULL;
    return (struct tallycache_entry *)pending_table_find(c->index, rid);
}

static void tallycache_remove(struct tallycache *c, struct tallycache_entry *e)
{
    pending_table_remove(c->index, &e->key);
    c->ring[e->slot] = NULL;
    free(e);
}

/* rid's entry, a new (empty, open) one taking the next slot when it has none; NULL when rid
 * does not fit */
static struct tallycache_entry *tallycache_slot(struct tallycache *c, const char *rid)
{
    struct tallycache_entry *e;

    if (c == NULL || strlen(rid) >= sizeof(e->key.rid)) return NULL;
    e = tallycache_find(c, rid);
    if (e == NULL) {
        if (c->ring[c->next] != NULL) tallycache_remove(c, c->ring[c->next]);
        e = util_xcalloc(1, sizeof(*e));
        util_strlcpy(e->key.rid, rid, sizeof(e->key.rid));
        e->slot = c->next;
        c->ring[c->next] = e;
        c->next = (c->next + 1) % c->cap;
        pending_table_insert(c->index, &e->key);
    }
    return e;
}

/* e holds a live tally for attempt */
static bool tallycache_live(const struct tallycache_entry *e, uint32_t attempt)
{
    return e != NULL && e->attempt == attempt && attempt > e->closed_through;
}

void tallycache_put(struct tallycache *c, const char *rid, uint32_t attempt, const struct tally *t)
{
    struct tallycache_entry *e = tallycache_find(c, rid);

    if (e != NULL && attempt <= e->closed_through) return;
    if ((e = tallycache_slot(c, rid)) == NULL) return;
    e->attempt = attempt;
    e->t = *t;
}

bool tallycache_get(struct tallycache *c, const char *rid, uint32_t attempt, struct tally *out)
{
    struct tallycache_entry *e = tallycache_find(c, rid);

    if (!tallycache_live(e, attempt)) return false;
    *out = e->t;
    return true;
}

void tallycache_merge(struct tallycache *c, const char *rid, uint32_t attempt,
                      const struct tally *t)
{
    struct tallycache_entry *e = tallycache_find(c, rid);
    struct tally m = *t;

    if (tallycache_live(e, attempt) && e->t.n == t->n) {
        for (int i = 0; i < m.n; i++) {
            if (m.members[i].outcome != QUORUM_OUTCOME_PENDING ||
                strcmp(m.codes[i], e->t.codes[i]) != 0 ||
                e->t.members[i].outcome == QUORUM_OUTCOME_PENDING)
                continue;
            m.members[i].outcome = e->t.members[i].outcome;
            m.count++;
        }
        if (m.has_primary && m.primary_outcome == QUORUM_OUTCOME_PENDING && e->t.has_primary &&
            strcmp(m.primary, e->t.primary) == 0 &&
            e->t.primary_outcome != QUORUM_OUTCOME_PENDING) {
            m.primary_outcome = e->t.primary_outcome;
            m.count++;
        }
    }
    tallycache_put(c, rid, attempt, &m);
}

void tallycache_note(struct tallycache *c, const char *rid, uint32_t attempt, const char *code,
                     const char *outcome)
{
    struct tallycache_entry *e = tallycache_find(c, rid);
    if (tallycache_live(e, attempt)) (void)tally_add(&e->t, code, outcome);
}

void tallycache_close(struct tallycache *c, const char *rid, uint32_t attempt)
{
    struct tallycache_entry *e = tallycache_slot(c, rid);

    if (e == NULL || attempt <= e->closed_through) return;
    e->closed_through = attempt;
    memset(&e->t, 0, sizeof(e->t));
}
