/*
 * Parsers of dcv_check_parameters for the DNS validation methods; each one fills
 * c->out->check_params (fixed values and defaults filled in) and records issues naming the field.
 * The dcv_dns_params_* field helpers are shared with dcv_account_params.
 */
#ifndef MPIC_DCV_DNS_PARAMS_H
#define MPIC_DCV_DNS_PARAMS_H

#include "reqfield.h"

/** acme-dns-01 (BR 3.2.2.4.7 as ACME). */
void dcv_dns_params_acme_dns01(struct reqfield_ctx *c, const json_t *p);
/** dns-change (BR 3.2.2.4.7): TXT, CNAME or CAA at [prefix.]name. */
void dcv_dns_params_dns_change(struct reqfield_ctx *c, const json_t *p);
/** contact-email-txt / contact-phone-txt (BR 3.2.2.4.14 / .16). */
void dcv_dns_params_contact_email_txt(struct reqfield_ctx *c, const json_t *p);
void dcv_dns_params_contact_phone_txt(struct reqfield_ctx *c, const json_t *p);
/** contact-email-caa / contact-phone-caa (BR 3.2.2.4.13 / .17). */
void dcv_dns_params_contact_email_caa(struct reqfield_ctx *c, const json_t *p);
void dcv_dns_params_contact_phone_caa(struct reqfield_ctx *c, const json_t *p);
/** ip-address (BR 3.2.2.4.8): A / AAAA. */
void dcv_dns_params_ip_address(struct reqfield_ctx *c, const json_t *p);
/** reverse-address-lookup (BR 3.2.2.5.3): PTR of the IP (or of an arpa name). */
void dcv_dns_params_reverse(struct reqfield_ctx *c, const json_t *p);

/** The target must be a domain name; a wildcard only when wildcard_ok (else names the rule). */
void dcv_dns_params_domain_target(struct reqfield_ctx *c, const char *method, bool wildcard_ok);
/** An optional string field fixed to `fixed`: absent, null or equal are accepted. */
void dcv_dns_params_fixed(struct reqfield_ctx *c, const json_t *p, const char *key,
                          const char *fixed, const char *method);
/** require_exact_case forced false: absent, null or false are accepted. */
void dcv_dns_params_case_forced_false(struct reqfield_ctx *c, const json_t *p,
                                      const char *method);
/** A required URI ("scheme://...", visible ASCII without ';'); NULL after an issue. */
const char *dcv_dns_params_uri(struct reqfield_ctx *c, const json_t *p, const char *key);

#endif
