/*
 * dcv_check_parameters for the HTTP methods (acme-http-01, ...): the fields are checked and
 * the echo/job parameters object is built with the defaults filled in.
 */
#include "dcv_http_params.h"

#include <string.h>
#include <strings.h>

#include "util.h"

#define DCV_HTTP_MAX_TOKEN 256
#define DCV_HTTP_MAX_KEY_AUTH 1024
#define DCV_HTTP_MAX_HEADERS 32
#define DCV_HTTP_MAX_HEADER_NAME 256
#define DCV_HTTP_MAX_HEADER_VALUE 1024

/* dcv_check_parameters.http_headers: null or {token: value}; returns a new object or null. */
json_t *dcv_http_params_headers(struct reqfield_ctx *c, const json_t *p)
{
    static const char *const forbidden[] = {"host", "content-length", "transfer-encoding",
                                            "connection"};
    const char *field = "dcv_check_parameters.http_headers";
    const json_t *v = json_object_get(p, "http_headers");
    const char *name;
    json_t *value;
    json_t *out;

    if (v == NULL || json_is_null(v)) return json_null();
    if (!json_is_object(v)) {
        reqfield_type_issue(c, field, v, "an object of strings or null");
        return json_null();
    }
    if (json_object_size(v) > DCV_HTTP_MAX_HEADERS) {
        reqfield_issue(c, "invalid-value", field, "%s has more than %d entries", field,
                       DCV_HTTP_MAX_HEADERS);
        return json_null();
    }
    out = json_object();
    json_object_foreach((json_t *)v, name, value)
    {
        bool bad_name = *name == '\0' || strlen(name) > DCV_HTTP_MAX_HEADER_NAME ||
                        !reqfield_chars_in(name, reqfield_is_tchar);
        for (size_t i = 0; i < MPIC_ARRAY_LEN(forbidden) && !bad_name; i++) {
            if (strcasecmp(name, forbidden[i]) == 0) bad_name = true;
        }
        if (bad_name) {
            reqfield_issue(c, "invalid-value", field,
                           "%s: header name is not an allowed HTTP token "
                           "(Host, Content-Length, Transfer-Encoding and Connection are reserved)",
                           field);
            continue;
        }
        if (!json_is_string(value)) {
            reqfield_issue(c, "invalid-type", field,
                           "%s: the value of header \"%s\" must be a string", field, name);
            continue;
        }
        if (json_string_length(value) > DCV_HTTP_MAX_HEADER_VALUE ||
            !reqfield_chars_in(json_string_value(value), reqfield_is_header_value_char)) {
            reqfield_issue(c, "invalid-value", field,
                           "%s: the value of header \"%s\" must be at "
                           "most %d bytes without CR, LF or control characters",
                           field, name, DCV_HTTP_MAX_HEADER_VALUE);
            continue;
        }
        json_object_set_new(out, name, json_string(json_string_value(value)));
    }
    return out;
}

void dcv_http_params_acme_http01(struct reqfield_ctx *c, const json_t *p)
{
    const char *token;
    const char *key_auth;
    json_t *headers;
    json_t *params;

    if (c->target_ok && c->out->wildcard) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       "acme-http-01 cannot validate a wildcard domain name");
    }
    token = reqfield_get_req_token(c, p, "token", "dcv_check_parameters.token", DCV_HTTP_MAX_TOKEN,
                                   reqfield_is_b64url, "base64url characters (A-Z a-z 0-9 - _)");
    key_auth = reqfield_get_req_token(
        c, p, "key_authorization", "dcv_check_parameters.key_authorization", DCV_HTTP_MAX_KEY_AUTH,
        reqfield_is_visible, "visible ASCII characters");
    headers = dcv_http_params_headers(c, p);
    reqfield_exact_case_forced(c, p, "acme-http-01");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("acme-http-01"));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "token", token != NULL ? json_string(token) : json_null());
    json_object_set_new(params, "key_authorization",
                        key_auth != NULL ? json_string(key_auth) : json_null());
    json_object_set_new(params, "http_headers", headers);
    c->out->check_params = params;
}
