/*
 * The acme-dns-01 check of one perspective (RFC 8555 §8.4): look up TXT at
 * "_acme-challenge.<target>" (CNAMEs followed) and pass when one record's concatenated
 * character-strings equal the expected key authorization hash byte for byte.
 */
#ifndef MPIC_DNS01_CHECK_H
#define MPIC_DNS01_CHECK_H

#include "check.h"

/** Runs the dns-01 check; cb is called exactly once, never from inside dns01_check_start(). */
void dns01_check_start(const struct check_env *env, const struct check_request *req,
                       check_done_cb cb, void *arg);

#endif
