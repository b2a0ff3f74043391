/*
 * Parsers of dcv_check_parameters for the account-bound DNS methods: dns-persistent
 * (BR 3.2.2.4.22) and dns-account-01 (BR 3.2.2.4.21, fields defined by this service).
 */
#ifndef MPIC_DCV_ACCOUNT_PARAMS_H
#define MPIC_DCV_ACCOUNT_PARAMS_H

#include "reqfield.h"

/** dns-persistent: issuer_domain_names, expected_account_uri. */
void dcv_account_params_dns_persistent(struct reqfield_ctx *c, const json_t *p);
/** dns-account-01: account_uri, key_authorization_hash. */
void dcv_account_params_dns_account01(struct reqfield_ctx *c, const json_t *p);

#endif
