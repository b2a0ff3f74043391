/*
 * The corroboration reducer, run by every coordinator: consumes the results stream in the
 * "reducers" consumer group on a dedicated blocking connection, records each result with
 * lua/record (idempotent), judges the returned tally (due_evaluate) and acknowledges the
 * entry. Entries left pending by a coordinator that died are taken over with XAUTOCLAIM.
 */
#ifndef MPIC_REDUCER_H
#define MPIC_REDUCER_H

#include "coord.h"

struct reducer;

struct reducer *reducer_new(struct coord *co);
/** Called when the blocking connection is ready: (re)starts the read loop. */
void reducer_kick(struct reducer *r);
void reducer_free(struct reducer *r);

#endif
