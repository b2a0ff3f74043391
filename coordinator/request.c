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

#include "dcv_params.h"
#include "pubsuffix.h"
#include "quorum.h"
#include "reqfield.h"
#include "util.h"
#include "mpjson.h"

#define REQUEST_MAX_CAA_DOMAINS 64
#define REQUEST_MAX_ACCOUNT_URI 1024
#define REQUEST_MAX_CAA_METHOD 64

/* check_type: required, "caa" or "dcv". Returns true when out->check_type is set. */
static bool parse_check_type(struct reqfield_ctx *c)
{
    const char *s = NULL;

    if (!reqfield_get_req_str(c, c->root, "check_type", "check_type", &s)) return false;
    if (strcmp(s, "caa") == 0) {
        c->out->check_type = CHECK_TYPE_CAA;
    } else if (strcmp(s, "dcv") == 0) {
        c->out->check_type = CHECK_TYPE_DCV;
    } else {
        reqfield_issue(c, "invalid-check-type", "check_type",
                       "check_type must be \"caa\" or \"dcv\"");
        return false;
    }
    return true;
}

static void parse_target(struct reqfield_ctx *c)
{
    const char *s = NULL;
    char err[256];

    if (!reqfield_get_req_str(c, c->root, "domain_or_ip_target", "domain_or_ip_target", &s)) return;
    if (dnsname_normalize_target(s, c->out->target, sizeof(c->out->target), &c->out->target_kind,
                                 &c->out->wildcard, err, sizeof(err)) != 0) {
        reqfield_issue(c, "invalid-target", "domain_or_ip_target",
                       "invalid domain_or_ip_target: %s", err);
        return;
    }
    if (c->out->wildcard && pubsuffix_is_icann_suffix(c->out->target)) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       "invalid domain_or_ip_target: a wildcard's base name \"%s\" must not be "
                       "a public suffix (BR 3.2.2.6)", c->out->target);
        return;
    }
    c->out->target_raw = util_xstrdup(s);
    c->target_ok = true;
}

static json_t *echo_int(enum reqfield_state st, int v)
{
    return st == REQFIELD_OK ? json_integer(v) : json_null();
}

/* Resolves the perspective count; returns false when it is unusable for the quorum check. */
static bool resolve_perspective_count(struct reqfield_ctx *c, enum reqfield_state st, int pc)
{
    const struct request_limits *lim = c->lim;
    const char *field = "orchestration_parameters.perspective_count";
    int n;

    if (st == REQFIELD_BAD) return false;
    if (st == REQFIELD_OK) {
        c->out->perspective_count = pc;
        if (pc < 2) {
            reqfield_issue(c, "invalid-perspective-count", field,
                           "Invalid perspective count: %d (must be at least 2)", pc);
            return false;
        }
        if (pc > lim->nperspectives) {
            reqfield_issue(c, "invalid-perspective-count", field,
                           "Invalid perspective count: %d (only %d perspectives are configured)",
                           pc, lim->nperspectives);
            return false;
        }
        if (pc < lim->min_perspective_count) {
            reqfield_issue(c, "invalid-perspective-count", field,
                           "Invalid perspective count: %d is below the BR minimum of %d remote "
                           "perspectives",
                           pc, lim->min_perspective_count);
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
        reqfield_issue(c, "invalid-perspective-count", field,
                       "only %d perspectives are configured, fewer than the required minimum of %d",
                       lim->nperspectives,
                       lim->min_perspective_count < 2 ? 2 : lim->min_perspective_count);
        return false;
    }
    return true;
}

static void parse_orchestration(struct reqfield_ctx *c)
{
    const struct request_limits *lim = c->lim;
    struct api_request *out = c->out;
    enum reqfield_state st;
    const json_t *op =
        reqfield_get_obj(c, c->root, "orchestration_parameters", "orchestration_parameters", &st);
    enum reqfield_state st_pc = REQFIELD_ABSENT, st_qc = REQFIELD_ABSENT, st_ma = REQFIELD_ABSENT;
    enum reqfield_state st_cs = REQFIELD_ABSENT, st_dl = REQFIELD_ABSENT;
    int pc = 0, qc = 0, ma = 0, cs = 0, dl = 0;
    int cap = lim->absolute_max_attempts < 1 ? 1 : lim->absolute_max_attempts;
    bool n_ok;

    if (op != NULL) {
        st_pc = reqfield_get_int(c, op, "perspective_count",
                                 "orchestration_parameters.perspective_count", &pc);
        st_qc =
            reqfield_get_int(c, op, "quorum_count", "orchestration_parameters.quorum_count", &qc);
        st_ma =
            reqfield_get_int(c, op, "max_attempts", "orchestration_parameters.max_attempts", &ma);
        st_cs = reqfield_get_int(c, op, "cohort_for_single_attempt",
                                 "orchestration_parameters.cohort_for_single_attempt", &cs);
        st_dl = reqfield_get_int(c, op, "deadline_ms", "orchestration_parameters.deadline_ms", &dl);
        reqfield_get_bool(c, op, "ignore_cooldown", "orchestration_parameters.ignore_cooldown",
                          &out->ignore_cooldown);
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
    if (st_qc == REQFIELD_OK) {
        out->quorum_count = qc;
        if (n_ok && !quorum_count_valid(out->perspective_count, qc)) {
            int n = out->perspective_count;
            reqfield_issue(c, "invalid-quorum-count", "orchestration_parameters.quorum_count",
                           "Invalid quorum count: %d (allowed for %d perspectives: %d to %d)", qc,
                           n, quorum_default(n), n);
        }
    } else {
        out->quorum_count = quorum_default(out->perspective_count);
    }

    out->max_attempts = 1;
    if (st_ma == REQFIELD_OK) {
        if (ma < 1) {
            reqfield_issue(c, "invalid-value", "orchestration_parameters.max_attempts",
                           "orchestration_parameters.max_attempts must be at least 1");
        } else {
            out->max_attempts = ma < cap ? ma : cap;
        }
    }
    if (st_cs == REQFIELD_OK) {
        if (cs < 1) {
            reqfield_issue(c, "invalid-value", "orchestration_parameters.cohort_for_single_attempt",
                           "orchestration_parameters.cohort_for_single_attempt must be at least 1");
        } else {
            out->cohort_for_single_attempt = cs;
            out->max_attempts = 1; /* a fixed cohort means exactly one attempt */
        }
    }
    out->deadline_ms = lim->default_deadline_ms;
    if (st_dl == REQFIELD_OK) {
        if (dl < lim->min_deadline_ms || dl > lim->max_deadline_ms) {
            reqfield_issue(c, "invalid-deadline", "orchestration_parameters.deadline_ms",
                           "orchestration_parameters.deadline_ms must be between %d and %d",
                           lim->min_deadline_ms, lim->max_deadline_ms);
        } else {
            out->deadline_ms = dl;
        }
    }
}

static void parse_trace(struct reqfield_ctx *c)
{
    const char *s = NULL;

    if (reqfield_get_str(c, c->root, "trace_identifier", "trace_identifier", &s) != REQFIELD_OK)
        return;
    if (strlen(s) > REQUEST_MAX_TRACE_ID) {
        reqfield_issue(c, "invalid-value", "trace_identifier",
                       "trace_identifier is longer than %d bytes", REQUEST_MAX_TRACE_ID);
        return;
    }
    c->out->trace_id = util_xstrdup(s);
}

/* caa_check_parameters.caa_domains → a new array of normalized names (defaults when empty). */
static json_t *parse_caa_domains(struct reqfield_ctx *c, const json_t *p)
{
    const json_t *v = p != NULL ? json_object_get(p, "caa_domains") : NULL;
    json_t *arr = json_array();
    size_t i;
    json_t *item;

    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v)) {
            reqfield_type_issue(c, "caa_check_parameters.caa_domains", v,
                                "an array of strings or null");
        } else if (json_array_size(v) > REQUEST_MAX_CAA_DOMAINS) {
            reqfield_issue(c, "invalid-value", "caa_check_parameters.caa_domains",
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
                    reqfield_type_issue(c, field, item, "a string");
                    continue;
                }
                if (json_string_length(item) == 0) {
                    reqfield_issue(c, "invalid-value", field, "%s must not be empty", field);
                    continue;
                }
                if (dnsname_normalize_target(json_string_value(item), name, sizeof(name), &kind,
                                             &wild, err, sizeof(err)) != 0) {
                    reqfield_issue(c, "invalid-value", field, "%s is not a valid domain name: %s",
                                   field, err);
                    continue;
                }
                if (kind != DNSNAME_DOMAIN || wild) {
                    reqfield_issue(c, "invalid-value", field,
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

static void parse_caa(struct reqfield_ctx *c)
{
    enum reqfield_state st;
    const json_t *p;
    const char *cert_type = "tls-server";
    const char *s = NULL;
    bool allow_failure = false;
    json_t *account_uri = NULL;
    json_t *method = NULL;
    json_t *domains;
    json_t *params;

    reqfield_reject_other(c, "dcv_check_parameters", "caa");
    p = reqfield_get_obj(c, c->root, "caa_check_parameters", "caa_check_parameters", &st);
    if (p != NULL) {
        if (reqfield_get_str(c, p, "certificate_type", "caa_check_parameters.certificate_type",
                             &s) == REQFIELD_OK) {
            if (strcmp(s, "tls-server") == 0 || strcmp(s, "s-mime") == 0) {
                cert_type = s;
            } else {
                reqfield_issue(c, "invalid-certificate-type",
                               "caa_check_parameters.certificate_type",
                               "caa_check_parameters.certificate_type must be \"tls-server\" or "
                               "\"s-mime\"");
            }
        }
        reqfield_get_bool(c, p, "allow_lookup_failure", "caa_check_parameters.allow_lookup_failure",
                          &allow_failure);
        if (reqfield_get_str(c, p, "account_uri", "caa_check_parameters.account_uri", &s) ==
            REQFIELD_OK) {
            if (strlen(s) > REQUEST_MAX_ACCOUNT_URI || strstr(s, "://") == NULL ||
                !reqfield_chars_in(s, reqfield_is_caa_value_char)) {
                reqfield_issue(c, "invalid-value", "caa_check_parameters.account_uri",
                               "caa_check_parameters.account_uri must be a URI (\"scheme://...\", "
                               "visible ASCII without ';', at most %d bytes)",
                               REQUEST_MAX_ACCOUNT_URI);
            } else {
                account_uri = json_string(s);
            }
        }
        if (reqfield_get_str(c, p, "validation_method", "caa_check_parameters.validation_method",
                             &s) == REQFIELD_OK) {
            if (*s == '\0' || strlen(s) > REQUEST_MAX_CAA_METHOD ||
                !reqfield_chars_in(s, reqfield_is_label_char)) {
                reqfield_issue(c, "invalid-value", "caa_check_parameters.validation_method",
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

int request_parse(const char *body, size_t len, const struct request_limits *lim,
                  struct api_request *out, json_t **issues)
{
    struct reqfield_ctx c;
    json_error_t jerr;
    bool type_ok;

    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    c.issues = json_array();
    c.lim = lim;
    c.out = out;
    *issues = NULL;

    if (lim == NULL) {
        reqfield_issue(&c, "internal-error", "body", "request limits are not configured");
        goto fail;
    }
    if (body == NULL || len == 0) {
        reqfield_issue(&c, "invalid-json", "body", "the request body is empty");
        goto fail;
    }
    if (len > REQUEST_MAX_BODY) {
        reqfield_issue(&c, "request-too-large", "body", "the request body exceeds %d bytes",
                       REQUEST_MAX_BODY);
        goto fail;
    }
    c.root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (c.root == NULL) {
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            reqfield_issue(&c, "duplicate-key", "body",
                           "duplicate object key at line %d, column %d", jerr.line, jerr.column);
        } else {
            reqfield_issue(&c, "invalid-json", "body", "invalid JSON at line %d, column %d: %s",
                           jerr.line, jerr.column, jerr.text);
        }
        goto fail;
    }
    if (!json_is_object(c.root)) {
        reqfield_issue(&c, "invalid-type", "body", "the request body must be a JSON object, not %s",
                       reqfield_type_name(c.root));
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
            dcv_params_parse(&c);
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
