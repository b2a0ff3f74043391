/*
 * dcv_check_parameters dispatch: one table maps each Open MPIC validation_method to the
 * parser of its family (dcv_http_params, dcv_dns_params, ...). Methods named by the API but
 * not implemented here answer 400 "unsupported-validation-method".
 */
#include "dcv_params.h"

#include <stdio.h>
#include <string.h>

#include "dcv_dns_params.h"
#include "dcv_http_params.h"
#include "dcv_tls_params.h"
#include "util.h"

/* A method parser: called by dcv_params_parse() with the dcv_check_parameters object. */
typedef void dcv_params_parser(struct reqfield_ctx *c, const json_t *p);

struct dcv_method {
    const char *name;
    dcv_params_parser *parse; /* NULL: known to the API, not implemented here */
};

static const struct dcv_method dcv_methods[] = {
    {"acme-http-01", dcv_http_params_acme_http01},
    {"acme-dns-01", dcv_dns_params_acme_dns01},
    {"website-change", NULL},
    {"acme-tls-alpn-01", dcv_tls_params_acme_tls_alpn01},
    {"dns-change", NULL},
    {"dns-persistent", NULL},
    {"dns-account-01", NULL},
    {"contact-email-txt", NULL},
    {"contact-phone-txt", NULL},
    {"contact-email-caa", NULL},
    {"contact-phone-caa", NULL},
    {"ip-address", NULL},
    {"reverse-address-lookup", NULL},
};

bool dcv_params_supported(const char *method)
{
    for (size_t i = 0; i < MPIC_ARRAY_LEN(dcv_methods); i++) {
        if (strcmp(method, dcv_methods[i].name) == 0) return dcv_methods[i].parse != NULL;
    }
    return false;
}

/* "a, b, c" of the implemented methods, for the unsupported-method message. */
static void supported_list(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < MPIC_ARRAY_LEN(dcv_methods); i++) {
        int n;
        if (dcv_methods[i].parse == NULL) continue;
        n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", dcv_methods[i].name);
        if (n < 0 || (size_t)n >= len - used) return;
        used += (size_t)n;
    }
}

void dcv_params_parse(struct reqfield_ctx *c)
{
    const char *field = "dcv_check_parameters.validation_method";
    enum reqfield_state st;
    const json_t *p;
    const char *method = NULL;
    char supported[512];

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
        if (dcv_methods[i].parse != NULL) {
            dcv_methods[i].parse(c, p);
            return;
        }
        supported_list(supported, sizeof(supported));
        reqfield_issue(c, "unsupported-validation-method", field,
                       "%s \"%s\" is not supported by this service (supported: %s)", field,
                       dcv_methods[i].name, supported);
        return;
    }
    reqfield_issue(c, "invalid-validation-method", field, "%s is not a known validation method",
                   field);
}
