/*
 * Enqueueing one attempt's jobs: one msgpack job per cohort member, XADDed to its region's
 * stream (bounded by streams.jobs_maxlen) on the command connection, pipelined. Used at
 * admission and when a retry starts the next attempt with a fresh cohort.
 */
#ifndef MPIC_JOBS_H
#define MPIC_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cohort.h"
#include "coord.h"
#include "msg.h"

/** What every job of one attempt carries. */
struct jobs_attempt {
    const char *rid;
    int attempt;
    enum check_type check_type;
    const char *target; /* normalized */
    bool wildcard;
    int64_t deadline_ms;
    const char *trace_id; /* may be NULL */
    const json_t *params; /* CAA / DCV parameters with defaults filled in */
    const struct perspective *primary; /* also runs every check (not in the cohort); or NULL */
};

/** Index of the configured primary perspective, or -1 when there is none. */
int jobs_primary_index(const struct config *cfg);

/**
 * Issues one XADD per cohort member and one for the primary (if any); cb runs exactly once
 * per job (a job that cannot be
 * encoded is replaced by a PING so the count holds). Returns the number of jobs that could
 * not be encoded (0 normally).
 */
int jobs_enqueue(struct coord *co, const struct jobs_attempt *a, const struct cohort *cohort,
                 redis_client_reply_cb cb, void *arg);

/** "code1,code2,..." and "rir1,rir2,..." (RIR numbers) of a cohort, as the record stores. */
void jobs_cohort_strings(const struct coord *co, const struct cohort *cohort, char *codes,
                         size_t codeslen, char *rirs, size_t rirslen);

#endif
