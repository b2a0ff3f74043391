/*
 * dcv_check_parameters for acme-tls-alpn-01: key_authorization_hash must be the hex form of a
 * SHA-256 digest (64 hex digits, either case), require_exact_case is forced false, wildcard
 * names are refused (BR 3.2.2.4.20) and IP targets are allowed (RFC 8738).
 */
#include "dcv_tls_params.h"

#include <string.h>

#define DCV_TLS_METHOD "acme-tls-alpn-01"

static bool dcv_tls_is_hex(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* require_exact_case is forced false: absent, null or false are accepted. */
static void dcv_tls_exact_case_false(struct reqfield_ctx *c, const json_t *p)
{
    bool v = false;

    if (reqfield_get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case",
                          &v) == REQFIELD_OK &&
        v) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.require_exact_case",
                       "dcv_check_parameters.require_exact_case must be false for "
                       DCV_TLS_METHOD " (the certificate names are compared without case)");
    }
}

/* Required key_authorization_hash: exactly 64 hex digits. Returns it or NULL. */
static const char *dcv_tls_hash(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.key_authorization_hash";
    const char *s = NULL;

    if (!reqfield_get_req_str(c, p, "key_authorization_hash", field, &s)) return NULL;
    if (strlen(s) != DCV_TLS_HASH_HEX_LEN || !reqfield_chars_in(s, dcv_tls_is_hex)) {
        reqfield_issue(c, "invalid-value", field,
                       "%s must be the hex SHA-256 digest of the key authorization "
                       "(%d hex digits)",
                       field, DCV_TLS_HASH_HEX_LEN);
        return NULL;
    }
    return s;
}

void dcv_tls_params_acme_tls_alpn01(struct reqfield_ctx *c, const json_t *p)
{
    const char *hash;
    json_t *params;

    if (c->target_ok && c->out->wildcard) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       DCV_TLS_METHOD " cannot validate a wildcard domain name "
                       "(BR 3.2.2.4.20 does not allow wildcards)");
    }
    hash = dcv_tls_hash(c, p);
    dcv_tls_exact_case_false(c, p);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(DCV_TLS_METHOD));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "key_authorization_hash",
                        hash != NULL ? json_string(hash) : json_null());
    c->out->check_params = params;
}
