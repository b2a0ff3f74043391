/*
 * Parser of dcv_check_parameters for acme-tls-alpn-01 (BR 3.2.2.4.20 / 3.2.2.5.7, RFC 8737,
 * RFC 8738): fills c->out->check_params with every key present and records 400 issues that
 * name the field or the rule.
 */
#ifndef MPIC_DCV_TLS_PARAMS_H
#define MPIC_DCV_TLS_PARAMS_H

#include "reqfield.h"

#define DCV_TLS_HASH_HEX_LEN 64 /* key_authorization_hash: hex of a SHA-256 digest */

/** acme-tls-alpn-01: key_authorization_hash (hex SHA-256), require_exact_case forced false. */
void dcv_tls_params_acme_tls_alpn01(struct reqfield_ctx *c, const json_t *p);

#endif
