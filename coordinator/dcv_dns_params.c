/*
 * dcv_check_parameters for the DNS methods (acme-dns-01, ...): the fields are checked and
 * the echo/job parameters object is built with the fixed values and defaults filled in.
 */
#include "dcv_dns_params.h"

#include <string.h>

#define DCV_DNS_MAX_KEY_AUTH_HASH 256

void dcv_dns_params_acme_dns01(struct reqfield_ctx *c, const json_t *p)
{
    const char *hash;
    const char *s = NULL;
    json_t *params;

    if (c->target_ok && c->out->target_kind != DNSNAME_DOMAIN) {
        reqfield_issue(c, "invalid-target", "domain_or_ip_target",
                       "acme-dns-01 cannot validate an IP address");
    }
    hash = reqfield_get_req_token(
        c, p, "key_authorization_hash", "dcv_check_parameters.key_authorization_hash",
        DCV_DNS_MAX_KEY_AUTH_HASH, reqfield_is_visible, "visible ASCII characters");
    if (reqfield_get_str(c, p, "dns_record_type", "dcv_check_parameters.dns_record_type", &s) ==
            REQFIELD_OK &&
        strcmp(s, "TXT") != 0) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.dns_record_type",
                       "dcv_check_parameters.dns_record_type must be \"TXT\" for acme-dns-01");
    }
    if (reqfield_get_str(c, p, "dns_name_prefix", "dcv_check_parameters.dns_name_prefix", &s) ==
            REQFIELD_OK &&
        strcmp(s, "_acme-challenge") != 0) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.dns_name_prefix",
                       "dcv_check_parameters.dns_name_prefix must be \"_acme-challenge\" for "
                       "acme-dns-01");
    }
    reqfield_exact_case_forced(c, p, "acme-dns-01");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("acme-dns-01"));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "key_authorization_hash",
                        hash != NULL ? json_string(hash) : json_null());
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    json_object_set_new(params, "dns_name_prefix", json_string("_acme-challenge"));
    c->out->check_params = params;
}
