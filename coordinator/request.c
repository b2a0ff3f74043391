/*
 * Open MPIC API v3 request parsing: the body is decoded with jansson (duplicates rejected,
 * size-capped), every field is type- and value-checked with all problems collected as
 * {"issue_type","field","message"} issues, and the server defaults are filled into the
 * orchestration values and the CAA / DCV parameters sent to the workers.
 */
#include "request.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quorum.h"
#include "util.h"
#include "mpjson.h"

#define REQUEST_MAX_CAA_DOMAINS 64
#define REQUEST_MAX_ACCOUNT_URI 1024
#define REQUEST_MAX_CAA_METHOD 64
#define REQUEST_MAX_TOKEN 256
#define REQUEST_MAX_KEY_AUTH 1024
#define REQUEST_MAX_KEY_AUTH_HASH 256
#define REQUEST_MAX_HEADERS 32
#define REQUEST_MAX_HEADER_NAME 256
#define REQUEST_MAX_HEADER_VALUE 1024

/* Parsing context shared by the field parsers. */
struct req_ctx {
    json_t *root;                     /* the decoded body (an object) */
    json_t *issues;                   /* array of issues collected so far */
    const struct request_limits *lim;
    struct api_request *out;
    bool target_ok;                   /* out->target / target_kind / wildcard are valid */
};

/* Result of reading an optional field. */
enum field_state {
    FIELD_ABSENT = 0, /* missing or JSON null */
    FIELD_OK = 1,     /* present with the right type */
    FIELD_BAD = 2,    /* present with the wrong type (an issue was recorded) */
};

/* Open MPIC validation methods this service does not implement (400 naming the field). */
static const char *const unsupported_methods[] = {
    "website-change", "acme-tls-alpn-01", "dns-change", "dns-persistent",
    "contact-email-txt", "contact-phone-txt", "contact-email-caa", "contact-phone-caa",
    "ip-address", "reverse-address-lookup", "dns-account-01",
};


static void add_issue(struct req_ctx *c, const char *type, const char *field, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void add_issue(struct req_ctx *c, const char *type, const char *field, const char *fmt,
                      ...)
{
    char msg[512];
    va_list ap;
    json_t *issue;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    issue = json_object();
    json_object_set_new(issue, "issue_type", json_string(type));
    json_object_set_new(issue, "field", json_string(field));
    json_object_set_new(issue, "message", mpjson_text(msg));
    json_array_append_new(c->issues, issue);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static void type_issue(struct req_ctx *c, const char *field, const json_t *v, const char *want)
{
    add_issue(c, "invalid-type", field, "%s must be %s, not %s", field, want, type_name(v));
}

/* Reads an optional integer that must fit in an int. */
static enum field_state get_int(struct req_ctx *c, const json_t *obj, const char *key,
                                const char *field, int *val)
{
    json_t *v = json_object_get(obj, key);
    json_int_t i;

    if (v == NULL || json_is_null(v)) return FIELD_ABSENT;
    if (!json_is_integer(v)) {
        type_issue(c, field, v, "an integer or null");
        return FIELD_BAD;
    }
    i = json_integer_value(v);
    if (i < INT_MIN || i > INT_MAX) {
        add_issue(c, "invalid-value", field, "%s is out of range", field);
        return FIELD_BAD;
    }
    *val = (int)i;
    return FIELD_OK;
}

/* Reads an optional string (jansson rejects NUL bytes, so strlen is the length). */
static enum field_state get_str(struct req_ctx *c, const json_t *obj, const char *key,
                                const char *field, const char **val)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) return FIELD_ABSENT;
    if (!json_is_string(v)) {
        type_issue(c, field, v, "a string");
        return FIELD_BAD;
    }
    *val = json_string_value(v);
    return FIELD_OK;
}

/* Reads a required string; a missing or null value is a "missing-field" issue. */
static bool get_req_str(struct req_ctx *c, const json_t *obj, const char *key, const char *field,
                        const char **val)
{
    enum field_state st = get_str(c, obj, key, field, val);

    if (st == FIELD_ABSENT) add_issue(c, "missing-field", field, "%s is required", field);
    return st == FIELD_OK;
}

static enum field_state get_bool(struct req_ctx *c, const json_t *obj, const char *key,
                                 const char *field, bool *val)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) return FIELD_ABSENT;
    if (!json_is_boolean(v)) {
        type_issue(c, field, v, "a boolean");
        return FIELD_BAD;
    }
    *val = json_is_true(v);
    return FIELD_OK;
}

/* Reads an optional object; returns it (borrowed) or NULL when absent, null or ill-typed. */
static const json_t *get_obj(struct req_ctx *c, const json_t *obj, const char *key,
                             const char *field, enum field_state *st)
{
    json_t *v = json_object_get(obj, key);

    *st = FIELD_ABSENT;
    if (v == NULL || json_is_null(v)) return NULL;
    if (!json_is_object(v)) {
        type_issue(c, field, v, "an object or null");
        *st = FIELD_BAD;
        return NULL;
    }
    *st = FIELD_OK;
    return v;
}

/* A per-byte predicate: called by chars_in for every byte of a string. */
typedef bool char_ok_cb(unsigned char ch);

static bool chars_in(const char *s, char_ok_cb *ok)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!ok(*p)) return false;
    }
    return true;
}

static bool is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool is_b64url(unsigned char ch)
{
    return is_alnum(ch) || ch == '-' || ch == '_';
}

static bool is_label_char(unsigned char ch)
{
    return is_alnum(ch) || ch == '-';
}

static bool is_visible(unsigned char ch)
{
    return ch >= 0x21 && ch <= 0x7e;
}

/* RFC 8659 CAA parameter value characters (visible ASCII except ';'). */
static bool is_caa_value_char(unsigned char ch)
{
    return is_visible(ch) && ch != ';';
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char ch)
{
    return is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* RFC 9110 field-value bytes: no CR, LF or other control characters except HTAB. */
static bool is_header_value_char(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* check_type: required, "caa" or "dcv". Returns true when out->check_type is set. */
static bool parse_check_type(struct req_ctx *c)
{
    const char *s = NULL;

    if (!get_req_str(c, c->root, "check_type", "check_type", &s)) return false;
    if (strcmp(s, "caa") == 0) {
        c->out->check_type = CHECK_TYPE_CAA;
    } else if (strcmp(s, "dcv") == 0) {
        c->out->check_type = CHECK_TYPE_DCV;
    } else {
        add_issue(c, "invalid-check-type", "check_type",
                  "check_type must be \"caa\" or \"dcv\"");
        return false;
    }
    return true;
}

static void parse_target(struct req_ctx *c)
{
    const char *s = NULL;
    char err[256];

    if (!get_req_str(c, c->root, "domain_or_ip_target", "domain_or_ip_target", &s)) return;
    if (dnsname_normalize_target(s, c->out->target, sizeof(c->out->target), &c->out->target_kind,
                                 &c->out->wildcard, err, sizeof(err)) != 0) {
        add_issue(c, "invalid-target", "domain_or_ip_target", "invalid domain_or_ip_target: %s",
                  err);
        return;
    }
    c->out->target_raw = util_xstrdup(s);
    c->target_ok = true;
}

static json_t *echo_int(enum field_state st, int v)
{
    return st == FIELD_OK ? json_integer(v) : json_null();
}

/* Resolves the perspective count; returns false when it is unusable for the quorum check. */
static bool resolve_perspective_count(struct req_ctx *c, enum field_state st, int pc)
{
    const struct request_limits *lim = c->lim;
    const char *field = "orchestration_parameters.perspective_count";
    int n;

    if (st == FIELD_BAD) return false;
    if (st == FIELD_OK) {
        c->out->perspective_count = pc;
        if (pc < 2) {
            add_issue(c, "invalid-perspective-count", field,
                      "Invalid perspective count: %d (must be at least 2)", pc);
            return false;
        }
        if (pc > lim->nperspectives) {
            add_issue(c, "invalid-perspective-count", field,
                      "Invalid perspective count: %d (only %d perspectives are configured)", pc,
                      lim->nperspectives);
            return false;
        }
        if (pc < lim->min_perspective_count) {
            add_issue(c, "invalid-perspective-count", field,
                      "Invalid perspective count: %d is below the BR minimum of %d remote "
                      "perspectives", pc, lim->min_perspective_count);
            return false;
        }
        return true;
    }
    /* Default: the configured count, raised to the BR minimum, within the configured set. */
    n = lim->default_perspective_count;
    if (n < lim->min_perspective_count) n = lim->min_perspective_count;
    if (n < 2) n = 2;
    if (n > lim->nperspectives) n = lim->nperspectives;
    c->out->perspective_count = n;
    if (n < 2 || n < lim->min_perspective_count) {
        add_issue(c, "invalid-perspective-count", field,
                  "only %d perspectives are configured, fewer than the required minimum of %d",
                  lim->nperspectives, lim->min_perspective_count < 2 ? 2 :
                  lim->min_perspective_count);
        return false;
    }
    return true;
}

static void parse_orchestration(struct req_ctx *c)
{
    const struct request_limits *lim = c->lim;
    struct api_request *out = c->out;
    enum field_state st;
    const json_t *op = get_obj(c, c->root, "orchestration_parameters",
                               "orchestration_parameters", &st);
    enum field_state st_pc = FIELD_ABSENT, st_qc = FIELD_ABSENT, st_ma = FIELD_ABSENT;
    enum field_state st_cs = FIELD_ABSENT, st_dl = FIELD_ABSENT;
    int pc = 0, qc = 0, ma = 0, cs = 0, dl = 0;
    int cap = lim->absolute_max_attempts < 1 ? 1 : lim->absolute_max_attempts;
    bool n_ok;

    if (op != NULL) {
        st_pc = get_int(c, op, "perspective_count", "orchestration_parameters.perspective_count",
                        &pc);
        st_qc = get_int(c, op, "quorum_count", "orchestration_parameters.quorum_count", &qc);
        st_ma = get_int(c, op, "max_attempts", "orchestration_parameters.max_attempts", &ma);
        st_cs = get_int(c, op, "cohort_for_single_attempt",
                        "orchestration_parameters.cohort_for_single_attempt", &cs);
        st_dl = get_int(c, op, "deadline_ms", "orchestration_parameters.deadline_ms", &dl);
        out->orchestration_echo = json_object();
        json_object_set_new(out->orchestration_echo, "perspective_count", echo_int(st_pc, pc));
        json_object_set_new(out->orchestration_echo, "quorum_count", echo_int(st_qc, qc));
        json_object_set_new(out->orchestration_echo, "max_attempts", echo_int(st_ma, ma));
        json_object_set_new(out->orchestration_echo, "cohort_for_single_attempt",
                            echo_int(st_cs, cs));
    } else {
        out->orchestration_echo = json_null();
    }

    n_ok = resolve_perspective_count(c, st_pc, pc);
    if (st_qc == FIELD_OK) {
        out->quorum_count = qc;
        if (n_ok && !quorum_count_valid(out->perspective_count, qc)) {
            int n = out->perspective_count;
            add_issue(c, "invalid-quorum-count", "orchestration_parameters.quorum_count",
                      "Invalid quorum count: %d (allowed for %d perspectives: %d to %d)", qc, n,
                      quorum_default(n), n);
        }
    } else {
        out->quorum_count = quorum_default(out->perspective_count);
    }

    out->max_attempts = 1;
    if (st_ma == FIELD_OK) {
        if (ma < 1) {
            add_issue(c, "invalid-value", "orchestration_parameters.max_attempts",
                      "orchestration_parameters.max_attempts must be at least 1");
        } else {
            out->max_attempts = ma < cap ? ma : cap;
        }
    }
    if (st_cs == FIELD_OK) {
        if (cs < 1) {
            add_issue(c, "invalid-value", "orchestration_parameters.cohort_for_single_attempt",
                      "orchestration_parameters.cohort_for_single_attempt must be at least 1");
        } else {
            out->cohort_for_single_attempt = cs;
            out->max_attempts = 1; /* a fixed cohort means exactly one attempt */
        }
    }
    out->deadline_ms = lim->default_deadline_ms;
    if (st_dl == FIELD_OK) {
        if (dl < lim->min_deadline_ms || dl > lim->max_deadline_ms) {
            add_issue(c, "invalid-deadline", "orchestration_parameters.deadline_ms",
                      "orchestration_parameters.deadline_ms must be between %d and %d",
                      lim->min_deadline_ms, lim->max_deadline_ms);
        } else {
            out->deadline_ms = dl;
        }
    }
}

static void parse_trace(struct req_ctx *c)
{
    const char *s = NULL;

    if (get_str(c, c->root, "trace_identifier", "trace_identifier", &s) != FIELD_OK) return;
    if (strlen(s) > REQUEST_MAX_TRACE_ID) {
        add_issue(c, "invalid-value", "trace_identifier",
                  "trace_identifier is longer than %d bytes", REQUEST_MAX_TRACE_ID);
        return;
    }
    c->out->trace_id = util_xstrdup(s);
}

/* The parameters object of the other check type must be absent or null. */
static void reject_other_params(struct req_ctx *c, const char *key, const char *type)
{
    json_t *v = json_object_get(c->root, key);

    if (v != NULL && !json_is_null(v)) {
        add_issue(c, "unexpected-field", key, "%s is not allowed with check_type \"%s\"", key,
                  type);
    }
}

/* caa_check_parameters.caa_domains → a new array of normalized names (defaults when empty). */
static json_t *parse_caa_domains(struct req_ctx *c, const json_t *p)
{
    const json_t *v = p != NULL ? json_object_get(p, "caa_domains") : NULL;
    json_t *arr = json_array();
    size_t i;
    json_t *item;

    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v)) {
            type_issue(c, "caa_check_parameters.caa_domains", v, "an array of strings or null");
        } else if (json_array_size(v) > REQUEST_MAX_CAA_DOMAINS) {
            add_issue(c, "invalid-value", "caa_check_parameters.caa_domains",
                      "caa_check_parameters.caa_domains has more than %d entries",
                      REQUEST_MAX_CAA_DOMAINS);
        } else {
            json_array_foreach(v, i, item) {
                char field[64];
                char name[DNSNAME_MAX];
                char err[256];
                enum dnsname_kind kind;
                bool wild;

                snprintf(field, sizeof(field), "caa_check_parameters.caa_domains[%zu]", i);
                if (!json_is_string(item)) {
                    type_issue(c, field, item, "a string");
                    continue;
                }
                if (json_string_length(item) == 0) {
                    add_issue(c, "invalid-value", field, "%s must not be empty", field);
                    continue;
                }
                if (dnsname_normalize_target(json_string_value(item), name, sizeof(name), &kind,
                                             &wild, err, sizeof(err)) != 0) {
                    add_issue(c, "invalid-value", field, "%s is not a valid domain name: %s",
                              field, err);
                    continue;
                }
                if (kind != DNSNAME_DOMAIN || wild) {
                    add_issue(c, "invalid-value", field,
                              "%s must be a domain name (no IP address or wildcard)", field);
                    continue;
                }
                json_array_append_new(arr, json_string(name));
            }
        }
    }
    if (json_array_size(arr) == 0 && (v == NULL || json_is_null(v) || json_is_array(v))) {
        for (int k = 0; k < c->lim->ncaa_domains && c->lim->caa_domains != NULL; k++) {
            json_array_append_new(arr, json_string(c->lim->caa_domains[k]));
        }
    }
    return arr;
}

static void parse_caa(struct req_ctx *c)
{
    enum field_state st;
    const json_t *p;
    const char *cert_type = "tls-server";
    const char *s = NULL;
    bool allow_failure = false;
    json_t *account_uri = NULL;
    json_t *method = NULL;
    json_t *domains;
    json_t *params;

    reject_other_params(c, "dcv_check_parameters", "caa");
    p = get_obj(c, c->root, "caa_check_parameters", "caa_check_parameters", &st);
    if (p != NULL) {
        if (get_str(c, p, "certificate_type", "caa_check_parameters.certificate_type", &s) ==
            FIELD_OK) {
            if (strcmp(s, "tls-server") == 0 || strcmp(s, "s-mime") == 0) {
                cert_type = s;
            } else {
                add_issue(c, "invalid-certificate-type", "caa_check_parameters.certificate_type",
                          "caa_check_parameters.certificate_type must be \"tls-server\" or "
                          "\"s-mime\"");
            }
        }
        get_bool(c, p, "allow_lookup_failure", "caa_check_parameters.allow_lookup_failure",
                 &allow_failure);
        if (get_str(c, p, "account_uri", "caa_check_parameters.account_uri", &s) == FIELD_OK) {
            if (strlen(s) > REQUEST_MAX_ACCOUNT_URI || strstr(s, "://") == NULL ||
                !chars_in(s, is_caa_value_char)) {
                add_issue(c, "invalid-value", "caa_check_parameters.account_uri",
                          "caa_check_parameters.account_uri must be a URI (\"scheme://...\", "
                          "visible ASCII without ';', at most %d bytes)",
                          REQUEST_MAX_ACCOUNT_URI);
            } else {
                account_uri = json_string(s);
            }
        }
        if (get_str(c, p, "validation_method", "caa_check_parameters.validation_method", &s) ==
            FIELD_OK) {
            if (*s == '\0' || strlen(s) > REQUEST_MAX_CAA_METHOD || !chars_in(s, is_label_char)) {
                add_issue(c, "invalid-value", "caa_check_parameters.validation_method",
                          "caa_check_parameters.validation_method must be an RFC 8657 method "
                          "label such as \"http-01\" or \"dns-01\"");
            } else {
                method = json_string(s);
            }
        }
    }
    domains = parse_caa_domains(c, p);

    params = json_object();
    json_object_set_new(params, "certificate_type", json_string(cert_type));
    json_object_set_new(params, "caa_domains", domains);
    json_object_set_new(params, "allow_lookup_failure", json_boolean(allow_failure));
    json_object_set_new(params, "account_uri", account_uri != NULL ? account_uri : json_null());
    json_object_set_new(params, "validation_method", method != NULL ? method : json_null());
    c->out->check_params = params;
}

/* require_exact_case is forced true: absent, null or true are accepted. */
static void check_exact_case(struct req_ctx *c, const json_t *p, const char *method)
{
    bool v = true;

    if (get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case", &v) ==
            FIELD_OK && !v) {
        add_issue(c, "invalid-value", "dcv_check_parameters.require_exact_case",
                  "dcv_check_parameters.require_exact_case must be true for %s", method);
    }
}

/* Reads a required string of minlen..maxlen bytes whose characters all pass ok. */
static const char *get_req_token(struct req_ctx *c, const json_t *p, const char *key,
                                 const char *field, size_t maxlen, char_ok_cb *ok,
                                 const char *charset)
{
    const char *s = NULL;
    size_t len;

    if (!get_req_str(c, p, key, field, &s)) return NULL;
    len = strlen(s);
    if (len == 0 || len > maxlen) {
        add_issue(c, "invalid-value", field, "%s must be 1 to %zu bytes long", field, maxlen);
        return NULL;
    }
    if (!chars_in(s, ok)) {
        add_issue(c, "invalid-value", field, "%s must contain only %s", field, charset);
        return NULL;
    }
    return s;
}

/* dcv_check_parameters.http_headers: null or {token: value}; returns a new object or null. */
static json_t *parse_http_headers(struct req_ctx *c, const json_t *p)
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
        type_issue(c, field, v, "an object of strings or null");
        return json_null();
    }
    if (json_object_size(v) > REQUEST_MAX_HEADERS) {
        add_issue(c, "invalid-value", field, "%s has more than %d entries", field,
                  REQUEST_MAX_HEADERS);
        return json_null();
    }
    out = json_object();
    json_object_foreach((json_t *)v, name, value) {
        bool bad_name = *name == '\0' || strlen(name) > REQUEST_MAX_HEADER_NAME ||
                        !chars_in(name, is_tchar);
        for (size_t i = 0; i < MPIC_ARRAY_LEN(forbidden) && !bad_name; i++) {
            if (strcasecmp(name, forbidden[i]) == 0) bad_name = true;
        }
        if (bad_name) {
            add_issue(c, "invalid-value", field, "%s: header name is not an allowed HTTP token "
                      "(Host, Content-Length, Transfer-Encoding and Connection are reserved)",
                      field);
            continue;
        }
        if (!json_is_string(value)) {
            add_issue(c, "invalid-type", field, "%s: the value of header \"%s\" must be a string",
                      field, name);
            continue;
        }
        if (json_string_length(value) > REQUEST_MAX_HEADER_VALUE ||
            !chars_in(json_string_value(value), is_header_value_char)) {
            add_issue(c, "invalid-value", field, "%s: the value of header \"%s\" must be at "
                      "most %d bytes without CR, LF or control characters", field, name,
                      REQUEST_MAX_HEADER_VALUE);
            continue;
        }
        json_object_set_new(out, name, json_string(json_string_value(value)));
    }
    return out;
}

static void parse_http01(struct req_ctx *c, const json_t *p)
{
    const char *token;
    const char *key_auth;
    json_t *headers;
    json_t *params;

    if (c->target_ok && c->out->wildcard) {
        add_issue(c, "invalid-wildcard", "domain_or_ip_target",
                  "acme-http-01 cannot validate a wildcard domain name");
    }
    token = get_req_token(c, p, "token", "dcv_check_parameters.token", REQUEST_MAX_TOKEN,
                          is_b64url, "base64url characters (A-Z a-z 0-9 - _)");
    key_auth = get_req_token(c, p, "key_authorization", "dcv_check_parameters.key_authorization",
                             REQUEST_MAX_KEY_AUTH, is_visible, "visible ASCII characters");
    headers = parse_http_headers(c, p);
    check_exact_case(c, p, "acme-http-01");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("acme-http-01"));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "token", token != NULL ? json_string(token) : json_null());
    json_object_set_new(params, "key_authorization",
                        key_auth != NULL ? json_string(key_auth) : json_null());
    json_object_set_new(params, "http_headers", headers);
    c->out->check_params = params;
}

static void parse_dns01(struct req_ctx *c, const json_t *p)
{
    const char *hash;
    const char *s = NULL;
    json_t *params;

    if (c->target_ok && c->out->target_kind != DNSNAME_DOMAIN) {
        add_issue(c, "invalid-target", "domain_or_ip_target",
                  "acme-dns-01 cannot validate an IP address");
    }
    hash = get_req_token(c, p, "key_authorization_hash",
                         "dcv_check_parameters.key_authorization_hash", REQUEST_MAX_KEY_AUTH_HASH,
                         is_visible, "visible ASCII characters");
    if (get_str(c, p, "dns_record_type", "dcv_check_parameters.dns_record_type", &s) == FIELD_OK &&
        strcmp(s, "TXT") != 0) {
        add_issue(c, "invalid-value", "dcv_check_parameters.dns_record_type",
                  "dcv_check_parameters.dns_record_type must be \"TXT\" for acme-dns-01");
    }
    if (get_str(c, p, "dns_name_prefix", "dcv_check_parameters.dns_name_prefix", &s) ==
            FIELD_OK && strcmp(s, "_acme-challenge") != 0) {
        add_issue(c, "invalid-value", "dcv_check_parameters.dns_name_prefix",
                  "dcv_check_parameters.dns_name_prefix must be \"_acme-challenge\" for "
                  "acme-dns-01");
    }
    check_exact_case(c, p, "acme-dns-01");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("acme-dns-01"));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "key_authorization_hash",
                        hash != NULL ? json_string(hash) : json_null());
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    json_object_set_new(params, "dns_name_prefix", json_string("_acme-challenge"));
    c->out->check_params = params;
}

static void parse_dcv(struct req_ctx *c)
{
    const char *field = "dcv_check_parameters.validation_method";
    enum field_state st;
    const json_t *p;
    const char *method = NULL;

    reject_other_params(c, "caa_check_parameters", "dcv");
    p = get_obj(c, c->root, "dcv_check_parameters", "dcv_check_parameters", &st);
    if (p == NULL) {
        if (st == FIELD_ABSENT) {
            add_issue(c, "missing-field", "dcv_check_parameters",
                      "dcv_check_parameters is required for check_type \"dcv\"");
        }
        return;
    }
    if (!get_req_str(c, p, "validation_method", field, &method)) return;
    if (strcmp(method, "acme-http-01") == 0) {
        parse_http01(c, p);
        return;
    }
    if (strcmp(method, "acme-dns-01") == 0) {
        parse_dns01(c, p);
        return;
    }
    for (size_t i = 0; i < MPIC_ARRAY_LEN(unsupported_methods); i++) {
        if (strcmp(method, unsupported_methods[i]) == 0) {
            add_issue(c, "unsupported-validation-method", field,
                      "%s \"%s\" is not supported by this service (supported: acme-http-01, "
                      "acme-dns-01)", field, unsupported_methods[i]);
            return;
        }
    }
    add_issue(c, "invalid-validation-method", field, "%s is not a known validation method",
              field);
}

int request_parse(const char *body, size_t len, const struct request_limits *lim,
                  struct api_request *out, json_t **issues)
{
    struct req_ctx c;
    json_error_t jerr;
    bool type_ok;

    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    c.issues = json_array();
    c.lim = lim;
    c.out = out;
    *issues = NULL;

    if (lim == NULL) {
        add_issue(&c, "internal-error", "body", "request limits are not configured");
        goto fail;
    }
    if (body == NULL || len == 0) {
        add_issue(&c, "invalid-json", "body", "the request body is empty");
        goto fail;
    }
    if (len > REQUEST_MAX_BODY) {
        add_issue(&c, "request-too-large", "body", "the request body exceeds %d bytes",
                  REQUEST_MAX_BODY);
        goto fail;
    }
    c.root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (c.root == NULL) {
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            add_issue(&c, "duplicate-key", "body", "duplicate object key at line %d, column %d",
                      jerr.line, jerr.column);
        } else {
            add_issue(&c, "invalid-json", "body", "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        }
        goto fail;
    }
    if (!json_is_object(c.root)) {
        add_issue(&c, "invalid-type", "body", "the request body must be a JSON object, not %s",
                  type_name(c.root));
        goto fail;
    }

    type_ok = parse_check_type(&c);
    parse_target(&c);
    parse_orchestration(&c);
    parse_trace(&c);
    if (type_ok) {
        if (out->check_type == CHECK_TYPE_CAA) {
            parse_caa(&c);
        } else {
            parse_dcv(&c);
        }
    }
    if (json_array_size(c.issues) > 0) goto fail;
    json_decref(c.root);
    json_decref(c.issues);
    return 0;

fail:
    json_decref(c.root);
    request_free(out);
    *issues = c.issues;
    return -1;
}

void request_free(struct api_request *req)
{
    if (req == NULL) return;
    free(req->target_raw);
    free(req->trace_id);
    json_decref(req->orchestration_echo);
    json_decref(req->check_params);
    memset(req, 0, sizeof(*req));
}
