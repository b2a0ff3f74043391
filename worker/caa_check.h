/*
 * The CAA check of one perspective (RFC 8659 §3): query CAA at the target and each parent down
 * to the TLD, take the first non-empty RRset (through CNAME chains) as the relevant set, and
 * decide with caa_policy. Lookup errors below the relevant set make the check incomplete.
 */
#ifndef MPIC_CAA_CHECK_H
#define MPIC_CAA_CHECK_H

#include "check.h"

/** Runs the CAA check; cb is called exactly once, never from inside caa_check_start(). */
void caa_check_start(const struct check_env *env, const struct check_request *req,
                     check_done_cb cb, void *arg);

#endif
