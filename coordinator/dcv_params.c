/*
 * dcv_check_parameters dispatch: one table maps each Open MPIC validation_method to the
 * parser of its family (dcv_http_params, dcv_dns_params, dcv_account_params, dcv_tls_params);
 * every Open MPIC method (and dns-account-01) is implemented, anything else is a 400.
 */
#include "dcv_params.h"

#include <stdio.h>
#include <string.h>

#include "dcv_account_params.h"
#include "dcv_dns_params.h"
#include "dcv_http_params.h"
#include "dcv_tls_params.h"
#include "util.h"

/* A method parser: called by dcv_params_parse() with the dcv_check_parameters object. */
typedef void dcv_params_parser(struct reqfield_ctx *c, const json_t *p);

struct dcv_method {
    const char *name;
    dcv_params_parser *parse;
};

static const struct dcv_method dcv_methods[] = {
    {"acme-http-01", dcv_http_params_acme_http01},
    {"acme-dns-01", dcv_dns_params_acme_dns01},
    {"website-change", dcv_http_params_website_change},
    {"acme-tls-alpn-01", dcv_tls_params_acme_tls_alpn01},
    {"dns-change", dcv_dns_params_dns_change},
    {"dns-persistent", dcv_account_params_dns_persistent},
    {"dns-account-01", dcv_account_params_dns_account01},
    {"contact-email-txt", dcv_dns_params_contact_email_txt},
    {"contact-phone-txt", dcv_dns_params_contact_phone_txt},
    {"contact-email-caa", dcv_dns_params_contact_email_caa},
    {"contact-phone-caa", dcv_dns_params_contact_phone_caa},
    {"ip-address", dcv_dns_params_ip_address},
    {"reverse-address-lookup", dcv_dns_params_reverse},
};

bool dcv_params_supported(const char *method)
{
    for (size_t i = 0; i < MPIC_ARRAY_LEN(dcv_methods); i++) {
        if (strcmp(method, dcv_methods[i].name) == 0) return true;
    }
    return false;
}

void dcv_params_parse(struct reqfield_ctx *c)
{
    const char *field = "dcv_check_parameters.validation_method";
    enum reqfield_state st;
    const json_t *p;
    const char *method = NULL;

    reqfield_reject_other(c, "caa_check_parameters", "dcv");
    p = reqfield_get_obj(c, c->root, "dcv_check_parameters", "dcv_check_parameters", &st);
    if (p == NULL) {
        if (st == REQFIELD_ABSENT) {
            reqfield_issue(c, "missing-field", "dcv_check_parameters",
                           "dcv_check_parameters is required for check_type \"dcv\"");
        }
        return;
    }
    if (!reqfield_get_req_str(c, p, "validation_method", field, &method)) return;
    for (size_t i = 0; i < MPIC_ARRAY_LEN(dcv_methods); i++) {
        if (strcmp(method, dcv_methods[i].name) != 0) continue;
        dcv_methods[i].parse(c, p);
        return;
    }
    reqfield_issue(c, "invalid-validation-method", field, "%s is not a known validation method",
                   field);
}
