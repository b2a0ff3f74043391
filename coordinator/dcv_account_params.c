/*
 * dcv_check_parameters for dns-persistent and dns-account-01: the issuer list is normalized
 * (lower case, no trailing dot) so the worker compares it case-insensitively, account URIs are
 * checked for URI shape, and the fixed record type / prefix are echoed.
 */
#include "dcv_account_params.h"

#include <stdio.h>
#include <string.h>

#include "dcv_dns_params.h"

#define DCV_ACCOUNT_MAX_ISSUERS 64
#define DCV_ACCOUNT_MAX_KEY_AUTH_HASH 256

/* issuer_domain_names: a non-empty array of domain names; returns a new normalized array. */
static json_t *get_issuers(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.issuer_domain_names";
    const json_t *v = json_object_get(p, "issuer_domain_names");
    json_t *arr = json_array();
    json_t *item;
    size_t i;

    if (v == NULL || json_is_null(v)) {
        reqfield_issue(c, "missing-field", field, "%s is required", field);
        return arr;
    }
    if (!json_is_array(v)) {
        reqfield_type_issue(c, field, v, "an array of domain names");
        return arr;
    }
    if (json_array_size(v) == 0 || json_array_size(v) > DCV_ACCOUNT_MAX_ISSUERS) {
        reqfield_issue(c, "invalid-value", field, "%s must have 1 to %d entries", field,
                       DCV_ACCOUNT_MAX_ISSUERS);
        return arr;
    }
    json_array_foreach(v, i, item) {
        char sub[96];
        char name[DNSNAME_MAX];
        char err[256];
        enum dnsname_kind kind;
        bool wild;

        snprintf(sub, sizeof(sub), "%s[%zu]", field, i);
        if (!json_is_string(item)) {
            reqfield_type_issue(c, sub, item, "a string");
            continue;
        }
        if (json_string_length(item) == 0 ||
            dnsname_normalize_target(json_string_value(item), name, sizeof(name), &kind, &wild,
                                     err, sizeof(err)) != 0 ||
            kind != DNSNAME_DOMAIN || wild) {
            reqfield_issue(c, "invalid-value", sub,
                           "%s must be an issuer domain name (no IP address or wildcard)", sub);
            continue;
        }
        json_array_append_new(arr, json_string(name));
    }
    return arr;
}

void dcv_account_params_dns_persistent(struct reqfield_ctx *c, const json_t *p)
{
    const char *method = "dns-persistent";
    const char *uri;
    json_t *issuers;
    json_t *params;

    dcv_dns_params_domain_target(c, method, true);
    issuers = get_issuers(c, p);
    uri = dcv_dns_params_uri(c, p, "expected_account_uri");
    dcv_dns_params_fixed(c, p, "dns_record_type", "TXT", method);
    dcv_dns_params_fixed(c, p, "dns_name_prefix", "_validation-persist", method);
    dcv_dns_params_case_forced_false(c, p, method);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(method));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "issuer_domain_names", issuers);
    json_object_set_new(params, "expected_account_uri", uri ? json_string(uri) : json_null());
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    json_object_set_new(params, "dns_name_prefix", json_string("_validation-persist"));
    c->out->check_params = params;
}

void dcv_account_params_dns_account01(struct reqfield_ctx *c, const json_t *p)
{
    const char *method = "dns-account-01";
    const char *uri;
    const char *hash;
    json_t *params;

    dcv_dns_params_domain_target(c, method, true);
    uri = dcv_dns_params_uri(c, p, "account_uri");
    hash = reqfield_get_req_token(
        c, p, "key_authorization_hash", "dcv_check_parameters.key_authorization_hash",
        DCV_ACCOUNT_MAX_KEY_AUTH_HASH, reqfield_is_visible, "visible ASCII characters");
    dcv_dns_params_fixed(c, p, "dns_record_type", "TXT", method);
    reqfield_exact_case_forced(c, p, method);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(method));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "account_uri", uri ? json_string(uri) : json_null());
    json_object_set_new(params, "key_authorization_hash", hash ? json_string(hash) : json_null());
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    c->out->check_params = params;
}
