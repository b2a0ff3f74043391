/*
 * dcv_check_parameters for the HTTP methods (acme-http-01, website-change): the fields are
 * checked and the echo/job parameters object is built with the defaults filled in.
 */
#include "dcv_http_params.h"

#include <string.h>
#include <strings.h>

#include "pkipath.h"
#include "util.h"

#define DCV_HTTP_MAX_TOKEN 256
#define DCV_HTTP_MAX_KEY_AUTH 1024
#define DCV_HTTP_MAX_HEADERS 32
#define DCV_HTTP_MAX_HEADER_NAME 256
#define DCV_HTTP_MAX_HEADER_VALUE 1024
#define DCV_HTTP_MAX_CHALLENGE 1024

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

/* RFC 8259 string bytes allowed in challenge_value: no C0 controls and no DEL (UTF-8 is fine). */
static bool dcv_http_is_challenge_char(unsigned char ch)
{
    return ch >= 0x20 && ch != 0x7f;
}

/* True when needle (non-empty) occurs in hay, ASCII case folded. */
static bool dcv_http_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(hay), m = strlen(needle);

    for (size_t i = 0; m > 0 && i + m <= n; i++) {
        if (strncasecmp(hay + i, needle, m) == 0) return true;
    }
    return false;
}

/* BR 3.2.2.4.18: the Random Value must not appear in the request used to retrieve the file
 * (path, Host, or a header the CA asked for). */
static void dcv_http_value_not_in_request(struct reqfield_ctx *c, const char *value,
                                          const char *path, const json_t *headers)
{
    const char *field = "dcv_check_parameters.challenge_value";
    const char *name;
    json_t *v;
    bool found = false;

    if (value == NULL || value[0] == '\0') return;
    if (path != NULL && dcv_http_contains_ci(path, value)) found = true;
    if (c->target_ok && dcv_http_contains_ci(c->out->target, value)) found = true;
    json_object_foreach((json_t *)headers, name, v)
    {
        if (dcv_http_contains_ci(name, value) ||
            dcv_http_contains_ci(json_string_value(v), value)) {
            found = true;
        }
    }
    if (found) {
        reqfield_issue(c, "challenge-value-in-request", field,
                       "%s must not appear in the request that retrieves the file "
                       "(http_token_path, domain_or_ip_target or http_headers; BR 3.2.2.4.18)",
                       field);
    }
}

void dcv_http_params_website_change(struct reqfield_ctx *c, const json_t *p)
{
    const char *f_cv = "dcv_check_parameters.challenge_value";
    const char *f_path = "dcv_check_parameters.http_token_path";
    const char *f_scheme = "dcv_check_parameters.url_scheme";
    const char *f_regex = "dcv_check_parameters.match_regex";
    const char *value = NULL, *path = NULL, *scheme = "http", *regex = NULL;
    bool exact_case = true;
    json_t *headers;
    json_t *params;
    char why[200];

    if (c->target_ok && c->out->wildcard) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       "website-change cannot validate a wildcard domain name "
                       "(BR 3.2.2.4.18)");
    }
    if (reqfield_get_req_str(c, p, "challenge_value", f_cv, &value) &&
        (strlen(value) > DCV_HTTP_MAX_CHALLENGE ||
         !reqfield_chars_in(value, dcv_http_is_challenge_char))) {
        reqfield_issue(c, "invalid-value", f_cv,
                       "%s must be at most %d bytes without control characters", f_cv,
                       DCV_HTTP_MAX_CHALLENGE);
        value = NULL;
    }
    if (reqfield_get_req_str(c, p, "http_token_path", f_path, &path) &&
        pkipath_check_path(path, why, sizeof(why)) != 0) {
        reqfield_issue(c, "invalid-value", f_path, "%s %s", f_path, why);
        path = NULL;
    }
    if (reqfield_get_str(c, p, "url_scheme", f_scheme, &scheme) == REQFIELD_OK &&
        strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        reqfield_issue(c, "invalid-value", f_scheme, "%s must be \"http\" or \"https\"",
                       f_scheme);
    }
    if (scheme == NULL) scheme = "http";
    headers = dcv_http_params_headers(c, p);
    if (reqfield_get_str(c, p, "match_regex", f_regex, &regex) == REQFIELD_OK &&
        pkipath_check_regex(regex, why, sizeof(why)) != 0) {
        reqfield_issue(c, "invalid-value", f_regex, "%s %s", f_regex, why);
    }
    reqfield_get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case",
                      &exact_case);
    if (value != NULL && value[0] == '\0' && regex == NULL) {
        reqfield_issue(c, "empty-challenge-value", f_cv,
                       "%s may be empty only when match_regex is set", f_cv);
    }
    dcv_http_value_not_in_request(c, value, path, headers);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("website-change"));
    json_object_set_new(params, "require_exact_case", json_boolean(exact_case));
    json_object_set_new(params, "challenge_value", value != NULL ? json_string(value)
                                                                 : json_null());
    json_object_set_new(params, "http_token_path", path != NULL ? json_string(path)
                                                                : json_null());
    json_object_set_new(params, "url_scheme", json_string(scheme));
    json_object_set_new(params, "http_headers", headers);
    json_object_set_new(params, "match_regex", regex != NULL ? json_string(regex) : json_null());
    c->out->check_params = params;
}
