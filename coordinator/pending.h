/*
 * The table of HTTP requests this coordinator process holds while their verdict is being
 * corroborated, keyed by request id (chained hash table with an intrusive entry). It only
 * maps ids to waiting HTTP requests; all request state lives in Redis.
 */
#ifndef MPIC_PENDING_H
#define MPIC_PENDING_H

#include <stddef.h>

#define PENDING_RID_MAX 40

struct pending_entry {
    char rid[PENDING_RID_MAX];
    struct pending_entry *next; /* chain; owned by the table while inserted */
};

struct pending_table;

struct pending_table *pending_table_new(void);
/** Frees the table (not the entries). */
void pending_table_free(struct pending_table *t);
void pending_table_insert(struct pending_table *t, struct pending_entry *e);
struct pending_entry *pending_table_find(struct pending_table *t, const char *rid);
/** Removes e if present. */
void pending_table_remove(struct pending_table *t, struct pending_entry *e);
size_t pending_table_count(const struct pending_table *t);

#endif
