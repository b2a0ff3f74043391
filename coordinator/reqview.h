/*
 * Loads what Redis holds about one request (its record hash, its stored perspective
 * results and those of earlier attempts) in three pipelined reads, for the synchronous answer, GET /mpic/<id> and the audit
 * trail alike. The callback runs exactly once, never from inside reqview_load().
 */
#ifndef MPIC_REQVIEW_H
#define MPIC_REQVIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "coord.h"

struct reqview {
    char rid[48];
    json_t *req; /* the request record as {field: string}; empty object when it does not exist */
    json_t *res; /* {perspective code: CheckResponse object} of the results stored so far */
    json_t *prev; /* earlier failed attempts: {"<A>": {"cohort": "a,b", "anomalous": bool,
                     "results": {code: CheckResponse}}} (empty object when none) */
    json_t *echo; /* the record's full echo (record_echo_load), built once for every consumer
                     of the view (render, audit, metrics); NULL when the record has none or
                     it is not valid. Read only. */
};

/**
 * Called by reqview_load once: v on success (borrowed: valid during the call), or v == NULL
 * and err set when Redis failed.
 */
typedef void (*reqview_cb)(void *arg, const struct reqview *v, const char *err);

void reqview_load(struct coord *co, const char *rid, reqview_cb cb, void *arg);

/** The record's field as a string, or NULL. */
const char *reqview_field(const struct reqview *v, const char *name);

#endif
