/*
 * The request echo as a request record stores it: only what the record's other fields do not
 * already say (the check parameters with defaults filled in, and the request's orchestration
 * parameters when it gave any), about 200 bytes less per in-flight validation than the full
 * echo. record_echo_load rebuilds the full Open MPIC echo from the record.
 */
#ifndef MPIC_RECORD_ECHO_H
#define MPIC_RECORD_ECHO_H

#include <jansson.h>

#include "request.h"

/**
 * The record's "echo" field for req: {"caa_check_parameters" | "dcv_check_parameters": ...}
 * plus "request_orchestration_parameters" when the request gave them and "trace_identifier"
 * when it was the empty string (the record's "trace" cannot tell it from none). Malloc'ed
 * JSON text, or NULL when it cannot be serialized.
 */
char *record_echo_compact(const struct api_request *req);

/**
 * The full echo of a request record ({field: string}) as response_echo_build builds it, with
 * attempt_count 1: check_type, n, q, target and trace come from the record's fields. A record
 * written before the echo was compacted holds the full echo, which is returned as stored.
 * Returns a new reference, or NULL when the record lacks a field or its echo is not valid.
 */
json_t *record_echo_load(const json_t *record);

#endif
