/*
 * Compact storage of the admission echo in the request record (see record_echo.h): the
 * fields the record already holds are left out when writing and put back when reading, in the
 * key order of the Open MPIC reference (jansson keeps insertion order).
 */
#include "record_echo.h"

#include <stdint.h>
#include <string.h>

#include "cohort.h"
#include "jsonout.h"
#include "util.h"

static const char *params_key(enum check_type t)
{
    return t == CHECK_TYPE_DCV ? "dcv_check_parameters" : "caa_check_parameters";
}

char *record_echo_compact(const struct api_request *req)
{
    json_t *o = json_object();
    char *s;

    /* shared, not copied: the object is only serialized and released */
    if (json_is_object(req->orchestration_echo))
        json_object_set(o, "request_orchestration_parameters", req->orchestration_echo);
    /* an empty trace_identifier is echoed as given; the record's empty "trace" means none */
    if (req->trace_id != NULL && req->trace_id[0] == '\0')
        json_object_set_new(o, "trace_identifier", json_string(""));
    json_object_set(o, params_key(req->check_type),
                    req->check_params != NULL ? req->check_params : json_null());
    s = jsonout_dumps(o, NULL);
    json_decref(o);
    return s;
}

static const char *field(const json_t *record, const char *name)
{
    return json_string_value(json_object_get(record, name));
}

/* The record's n or q, or -1 when absent or out of range. */
static json_int_t count_field(const json_t *record, const char *name)
{
    int64_t v;
    const char *s = field(record, name);
    return s != NULL && util_parse_int64(s, 1, COHORT_MAX, &v) == 0 ? (json_int_t)v : -1;
}

json_t *record_echo_load(const json_t *record)
{
    const char *stored = field(record, "echo"), *target = field(record, "target");
    const char *trace = field(record, "trace");
    json_int_t n = count_field(record, "n"), q = count_field(record, "q");
    json_t *compact = stored != NULL ? json_loads(stored, 0, NULL) : NULL;
    json_t *echo = NULL, *actual, *params, *orch, *tid;
    enum check_type ct;

    if (!json_is_object(compact)) goto done;
    if (json_object_get(compact, "actual_orchestration_parameters") != NULL) {
        echo = json_incref(compact); /* a full echo (records written before compaction) */
        goto done;
    }
    if (check_type_parse(field(record, "check_type"), &ct) != 0 || target == NULL || n < 0 ||
        q < 0 || (params = json_object_get(compact, params_key(ct))) == NULL)
        goto done;
    orch = json_object_get(compact, "request_orchestration_parameters");
    echo = json_object();
    actual = json_object();
    json_object_set(echo, "request_orchestration_parameters", orch ? orch : json_null());
    json_object_set_new(actual, "perspective_count", json_integer(n));
    json_object_set_new(actual, "quorum_count", json_integer(q));
    json_object_set_new(actual, "attempt_count", json_integer(1));
    json_object_set_new(echo, "actual_orchestration_parameters", actual);
    json_object_set_new(echo, "check_type", json_string(check_type_name(ct)));
    json_object_set_new(echo, "domain_or_ip_target", json_string(target));
    if ((tid = json_object_get(compact, "trace_identifier")) != NULL)
        json_object_set(echo, "trace_identifier", tid);
    else
        json_object_set_new(echo, "trace_identifier", trace != NULL && trace[0] != '\0'
                                                          ? json_string(trace)
                                                          : json_null());
    json_object_set(echo, params_key(ct), params);
done:
    json_decref(compact);
    return echo;
}
