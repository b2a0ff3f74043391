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

/** Loads request rid from Redis and appends its audit record (fire and forget; logged). */
void audit_record(struct coord *co, const char *rid);

/** Builds the audit record from a stored request record and its results (new object). */
json_t *audit_build(const char *rid, const json_t *req, const json_t *res);

/** "3.2.2.4.19" etc. for a validation method, "3.2.2.8" for CAA; NULL when unknown. */
const char *audit_br_section(const char *check_type, const char *method);

/** Number of audit records written / failed since start (for logs and metrics). */
unsigned long audit_written(void);
unsigned long audit_failed(void);

#endif
