/*
 * Turns a stored request record and its perspective results (see reqview) into the Open MPIC
 * response body: the same bytes whether the holder answers synchronously, another coordinator
 * answers GET /mpic/<id>, or the audit trail records the attempt.
 */
#ifndef MPIC_RECORD_RENDER_H
#define MPIC_RECORD_RENDER_H

#include <jansson.h>
#include <stddef.h>

/** Where a stored request stands. */
enum record_state {
    RECORD_MISSING = 0, /* no record: unknown id, or expired */
    RECORD_OPEN = 1,    /* perspectives still reporting */
    RECORD_DECIDED = 2, /* verdict stored, stragglers' grace period running */
    RECORD_REPLIED = 3, /* verdict published: final */
    RECORD_CORRUPT = 4, /* fields missing or unreadable */
    RECORD_RETRYING = 5, /* an attempt failed; the next starts after its cooldown */
};

enum record_state record_render_state(const json_t *req);

/**
 * The perspectives array for a cohort string ("a,b,c") and a results map, in cohort order
 * ({"perspective_code","check_response"}), with a synthesized deadline failure for every
 * member without a stored result; echo is the record's parsed "echo" (or NULL), which gives
 * the check type and parameters of those placeholders. New array.
 */
json_t *record_render_cohort(const json_t *req, const json_t *echo, const char *cohort,
                             const json_t *res);

/**
 * The full 200 body for a decided or replied record, with previous_attempt_results from prev
 * (may be NULL) and attempt_count from the record. New object, or NULL and err when the
 * record carries no verdict or is unusable.
 */
json_t *record_render_response(const json_t *req, const json_t *res, const json_t *prev,
                               char *err, size_t errlen);
/**
 * record_render_response with the record's echo already parsed (reqview's v->echo; NULL when
 * it is absent or invalid). The body shares values with echo and res (see response_build):
 * serialize it, do not modify it.
 */
json_t *record_render_response_echo(const json_t *req, const json_t *echo, const json_t *res,
                                    const json_t *prev, char *err, size_t errlen);

#endif
