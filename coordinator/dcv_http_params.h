/*
 * Parsers of dcv_check_parameters for the HTTP validation methods; each one fills
 * c->out->check_params (defaults filled in) and records issues naming the field.
 */
#ifndef MPIC_DCV_HTTP_PARAMS_H
#define MPIC_DCV_HTTP_PARAMS_H

#include "reqfield.h"

/** dcv_check_parameters.http_headers: null or {token: value}; a new object or JSON null. */
json_t *dcv_http_params_headers(struct reqfield_ctx *c, const json_t *p);
/** acme-http-01 (BR 3.2.2.4.19). */
void dcv_http_params_acme_http01(struct reqfield_ctx *c, const json_t *p);
/** website-change (BR 3.2.2.4.18). */
void dcv_http_params_website_change(struct reqfield_ctx *c, const json_t *p);

#endif
