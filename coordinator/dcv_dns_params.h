/*
 * Parsers of dcv_check_parameters for the DNS validation methods; each one fills
 * c->out->check_params (fixed values and defaults filled in) and records issues naming the field.
 */
#ifndef MPIC_DCV_DNS_PARAMS_H
#define MPIC_DCV_DNS_PARAMS_H

#include "reqfield.h"

/** acme-dns-01 (BR 3.2.2.4.7 as ACME). */
void dcv_dns_params_acme_dns01(struct reqfield_ctx *c, const json_t *p);

#endif
