/*
 * Open MPIC API v3 response rendering: the admission echo, synthesized check responses for
 * perspectives that never reported, the full response with every key present in the
 * reference order (jansson keeps insertion order), and the 400/500/503 error bodies.
 */
#include "response.h"

#include <string.h>
#include "mpjson.h"

static const char *type_str(enum check_type t)
{
    return t == CHECK_TYPE_DCV ? "dcv" : "caa";
}

const char *response_params_key(enum check_type t)
{
    return t == CHECK_TYPE_DCV ? "dcv_check_parameters" : "caa_check_parameters";
}


/* json_deep_copy of v, or JSON null when v is NULL. */
static json_t *copy_or_null(const json_t *v)
{
    json_t *c = v != NULL ? json_deep_copy(v) : NULL;
    return c != NULL ? c : json_null();
}

/*
 * v itself with one more reference, or JSON null when v is NULL: for values that are only
 * serialized and released, where a deep copy would be pure allocation churn.
 */
static json_t *share_or_null(const json_t *v)
{
    return v != NULL ? json_incref((json_t *)v) : json_null();
}

json_t *response_echo_build(const json_t *orchestration, json_int_t perspective_count,
                            json_int_t quorum_count, int attempt_count, enum check_type type,
                            const char *target, const char *trace_id, const json_t *params)
{
    json_t *echo = json_object();
    json_t *actual = json_object();

    json_object_set_new(echo, "request_orchestration_parameters", share_or_null(orchestration));
    json_object_set_new(actual, "perspective_count", json_integer(perspective_count));
    json_object_set_new(actual, "quorum_count", json_integer(quorum_count));
    json_object_set_new(actual, "attempt_count", json_integer(attempt_count));
    json_object_set_new(echo, "actual_orchestration_parameters", actual);
    json_object_set_new(echo, "check_type", json_string(type_str(type)));
    json_object_set_new(echo, "domain_or_ip_target",
                        target != NULL ? json_string(target) : json_null());
    json_object_set_new(echo, "trace_identifier",
                        trace_id != NULL ? json_string(trace_id) : json_null());
    json_object_set_new(echo, response_params_key(type), share_or_null(params));
    return echo;
}

json_t *response_echo_new(const struct api_request *req, int attempt_count)
{
    return response_echo_build(req->orchestration_echo, req->perspective_count,
                               req->quorum_count, attempt_count, req->check_type,
                               req->target_raw, req->trace_id, req->check_params);
}

/* Details object for a check that produced nothing: every value null except the method. */
static json_t *empty_details(enum check_type type, const json_t *check_params)
{
    json_t *d = json_object();
    const json_t *vm = check_params != NULL ? json_object_get(check_params, "validation_method")
                                            : NULL;
    const char *method = json_is_string(vm) ? json_string_value(vm) : NULL;

    if (type == CHECK_TYPE_CAA) {
        json_object_set_new(d, "caa_record_present", json_null());
        json_object_set_new(d, "found_at", json_null());
        json_object_set_new(d, "records_seen", json_null());
        json_object_set_new(d, "ad_flag", json_null());
        return d;
    }
    json_object_set_new(d, "validation_method", method != NULL ? json_string(method) : json_null());
    if (method != NULL &&
        (strcmp(method, "acme-http-01") == 0 || strcmp(method, "website-change") == 0)) {
        json_object_set_new(d, "response_history", json_null());
        json_object_set_new(d, "response_url", json_null());
        json_object_set_new(d, "response_status_code", json_null());
        json_object_set_new(d, "response_page", json_null());
    } else if (method != NULL && strcmp(method, "acme-tls-alpn-01") == 0) {
        json_object_set_new(d, "common_name", json_null());
    } else {
        json_object_set_new(d, "records_seen", json_null());
        json_object_set_new(d, "response_code", json_null());
        json_object_set_new(d, "ad_flag", json_null());
        json_object_set_new(d, "found_at", json_null());
        json_object_set_new(d, "cname_chain", json_null());
    }
    return d;
}

json_t *response_missing_check(enum check_type type, const json_t *check_params,
                               const char *error_type, const char *message)
{
    json_t *cr = json_object();
    json_t *errors = json_array();
    json_t *err = json_object();

    json_object_set_new(err, "error_type", mpjson_text(error_type));
    json_object_set_new(err, "error_message", mpjson_text(message));
    json_array_append_new(errors, err);

    json_object_set_new(cr, "check_completed", json_false());
    json_object_set_new(cr, "check_passed", json_false());
    json_object_set_new(cr, "errors", errors);
    json_object_set_new(cr, "timestamp_ns", json_null());
    json_object_set_new(cr, "check_type", json_string(type_str(type)));
    json_object_set_new(cr, "details", empty_details(type, check_params));
    return cr;
}

/* Copies echo[key] into resp[key] (JSON null when the echo lacks it). */
static void copy_key(json_t *resp, const json_t *echo, const char *key)
{
    json_object_set_new(resp, key, copy_or_null(json_object_get(echo, key)));
}

/* Shares echo[key] as resp[key] (JSON null when the echo lacks it). */
static void share_key(json_t *resp, const json_t *echo, const char *key)
{
    json_object_set_new(resp, key, share_or_null(json_object_get(echo, key)));
}

/* True when the entry's check_response.check_completed is JSON true. */
static bool entry_completed(const json_t *entry)
{
    const json_t *cr = json_object_get(entry, "check_response");
    return json_is_true(json_object_get(cr, "check_completed"));
}

json_t *response_build(const json_t *echo, bool is_valid, const json_t *perspectives)
{
    json_t *resp = json_object();
    const json_t *actual = json_object_get(echo, "actual_orchestration_parameters");
    const json_t *ct = json_object_get(echo, "check_type");
    json_int_t n = json_integer_value(json_object_get(actual, "perspective_count"));
    json_int_t q = json_integer_value(json_object_get(actual, "quorum_count"));
    json_int_t incomplete = 0;
    json_int_t reported = 0;
    const char *pkey = "caa_check_parameters";
    size_t i;
    json_t *entry;

    if (json_is_string(ct) && strcmp(json_string_value(ct), "dcv") == 0) {
        pkey = "dcv_check_parameters";
    }
    if (json_is_array(perspectives)) {
        json_array_foreach(perspectives, i, entry) {
            reported++;
            if (!entry_completed(entry)) incomplete++;
        }
    }
    if (n > reported) incomplete += n - reported; /* members absent from the list */

    json_object_set_new(resp, "mpic_completed", json_boolean(incomplete <= n - q));
    share_key(resp, echo, "request_orchestration_parameters");
    copy_key(resp, echo, "actual_orchestration_parameters"); /* the caller sets attempt_count */
    share_key(resp, echo, "check_type");
    share_key(resp, echo, "domain_or_ip_target");
    json_object_set_new(resp, "is_valid", json_boolean(is_valid));
    share_key(resp, echo, "trace_identifier");
    json_object_set_new(resp, "perspectives", json_is_array(perspectives)
                                                  ? json_incref((json_t *)perspectives)
                                                  : json_array());
    share_key(resp, echo, pkey);
    json_object_set_new(resp, "previous_attempt_results", json_null());
    return resp;
}

void response_set_primary(json_t *resp, json_t *item)
{
    json_object_set_new(resp, "primary_perspective", item != NULL ? item : json_null());
}

json_t *response_error(const char *error, const char *message)
{
    json_t *o = json_object();

    json_object_set_new(o, "error", mpjson_text(error != NULL ? error : "internal-error"));
    json_object_set_new(o, "message", mpjson_text(message));
    return o;
}

json_t *response_validation_failed(json_t *issues)
{
    json_t *o = json_object();

    json_object_set_new(o, "error", json_string("request-validation-failed"));
    json_object_set_new(o, "validation_issues", issues != NULL ? issues : json_array());
    return o;
}
