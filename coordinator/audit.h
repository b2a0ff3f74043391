/*
 * The audit trail (BR §5.4.1): one JSON record per decided attempt — request and trace id,
 * target, method with its BR section and version, cohort, every perspective's outcome and
 * what it saw, the quorum as "p/n" and the verdict — appended to the <prefix>:audit stream
 * by the coordinator that published the verdict, and exported as JSON Lines.
 */
#ifndef MPIC_AUDIT_H
#define MPIC_AUDIT_H

#include <jansson.h>

#include "coord.h"

struct reqview;

/**
 * Appends the audit record of a published request (failures logged). Once it is written the
 * request's follow-up work is marked done (post_done) and its due entry removed; when the
 * write fails the due entry is put back, so that lua/publish hands the work to a sweeper.
 */
void audit_write_published(struct coord *co, const struct reqview *v);
/** Counts an audit record that could not be written. */
void audit_note_failure(void);

/** Appends the record of attempt `attempt` that failed and was retried (from the prev hash). */
void audit_record_attempt(struct coord *co, const char *rid, int attempt);

/** Builds the audit record from a stored request record and its results (new object). */
json_t *audit_build(const char *rid, const json_t *req, const json_t *res);
/** audit_build with the record's echo already parsed (reqview's v->echo, may be NULL). The
 * record shares values with echo and res: serialize it, do not modify it. */
json_t *audit_build_echo(const char *rid, const json_t *req, const json_t *echo,
                         const json_t *res);
/** Builds the record of a retried attempt from reqview's prev map (new object). */
json_t *audit_build_retried(const char *rid, const json_t *req, int attempt,
                            const json_t *prev);

/** "3.2.2.4.19" etc. for a validation method, "3.2.2.8" for CAA; NULL when unknown. */
const char *audit_br_section(const char *check_type, const char *method);

/** Number of audit records written / failed since start (for logs and metrics). */
unsigned long audit_written(void);
unsigned long audit_failed(void);

#endif
