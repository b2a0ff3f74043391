/*
 * Rendering of the Open MPIC API v3 response: the per-request echo stored at admission plus
 * the perspective results and verdict, with all keys present (nulls emitted) in the order of
 * the reference. Also the error bodies (400 validation, 500/503 problems).
 */
#ifndef MPIC_RESPONSE_H
#define MPIC_RESPONSE_H

#include <jansson.h>
#include <stdbool.h>

#include "request.h"

/**
 * The echo stored with the request at admission: {request_orchestration_parameters,
 * actual_orchestration_parameters{perspective_count, quorum_count, attempt_count}, check_type,
 * domain_or_ip_target, trace_identifier, caa_check_parameters | dcv_check_parameters}. The
 * orchestration and check parameters are req's own values (shared, not copied): serialize
 * the echo, do not modify them.
 */
json_t *response_echo_new(const struct api_request *req, int attempt_count);

/**
 * The same echo from its parts (what response_echo_new takes from a request, and
 * record_echo_load from a request record): a NULL orchestration, target, trace_id or params
 * becomes JSON null. orchestration and params are shared, not copied.
 */
json_t *response_echo_build(const json_t *orchestration, json_int_t perspective_count,
                            json_int_t quorum_count, int attempt_count, enum check_type type,
                            const char *target, const char *trace_id, const json_t *params);

/** "caa_check_parameters" / "dcv_check_parameters": the key of a check type's parameters. */
const char *response_params_key(enum check_type t);

/**
 * A synthesized CheckResponse for a perspective that never reported: check_completed false,
 * one error of type `error_type` with `message`, and the method's details with null values.
 */
json_t *response_missing_check(enum check_type type, const json_t *check_params,
                               const char *error_type, const char *message);

/**
 * Builds the full response object. perspectives is an array of {"perspective_code",
 * "check_response"} in cohort order (borrowed). mpic_completed is computed here from the
 * check_completed flags and the echo's quorum. Returns a new object that shares the
 * perspectives array and the echo's values (only actual_orchestration_parameters is its own
 * copy, which the caller may amend): neither side may modify the shared values afterwards.
 */
json_t *response_build(const json_t *echo, bool is_valid, const json_t *perspectives);

/**
 * Adds "primary_perspective" to a response_build() object: the primary's
 * {"perspective_code", "check_response"} (stolen), or JSON null when item is NULL.
 */
void response_set_primary(json_t *resp, json_t *item);
/** {"error": error, "message": message} (500/503 style). */
json_t *response_error(const char *error, const char *message);
/** {"error":"request-validation-failed","validation_issues": issues} (steals issues). */
json_t *response_validation_failed(json_t *issues);

#endif
