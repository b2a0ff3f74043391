/*
 * The DNS validation methods other than acme-dns-01 (dns-change, dns-persistent,
 * dns-account-01, contact-{email,phone}-{txt,caa}, ip-address, reverse-address-lookup): one
 * generic "fetch the RRset of type T at name N (CNAMEs followed, optionally climbing to
 * parents) and match" check, configured per method by a table row.
 */
#ifndef MPIC_DNS_METHOD_CHECK_H
#define MPIC_DNS_METHOD_CHECK_H

#include "check.h"

/** Runs the job's validation_method; cb is called exactly once, never from inside this call. */
void dns_method_check_start(const struct check_env *env, const struct check_request *req,
                            check_done_cb cb, void *arg);

#endif
