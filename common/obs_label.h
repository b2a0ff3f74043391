/*
 * Bounded metric label values derived from an Open MPIC check response: the outcome, the
 * first error type (restricted charset and length, so a misbehaving worker cannot explode the
 * series count), whether it was a DNSSEC validation failure, and the validation method.
 */
#ifndef MPIC_OBS_LABEL_H
#define MPIC_OBS_LABEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OBS_LABEL_MAX 64

/** "passed", "failed" (completed, not passed) or "error" (not completed); "missing" for NULL. */
const char *obs_label_outcome(const json_t *check_response);
/**
 * The first error's error_type if it consists of [A-Za-z0-9_:.-] and is shorter than
 * OBS_LABEL_MAX, "other" if it does not, "none" when there is no error. Written to out.
 */
void obs_label_error_type(const json_t *check_response, char *out, size_t len);
/**
 * True when any error reports a DNSSEC validation failure: its error_type contains "dnssec"
 * (the checkers' contract, e.g. mpic_error:caa_checker:dnssec), case-insensitive.
 */
bool obs_label_dnssec_failure(const json_t *check_response);
/** validation_method of DCV parameters if it is a plain label, "other" if not; "caa" for CAA. */
void obs_label_method(bool dcv, const json_t *params, char *out, size_t len);

#endif
