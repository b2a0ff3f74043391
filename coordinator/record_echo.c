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
#include "response.h"
#include "util.h"

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
    json_object_set(o, response_params_key(req->check_type),
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
    json_t *echo = NULL, *params, *tid;
    enum check_type ct;

    if (!json_is_object(compact)) goto done;
    if (json_object_get(compact, "actual_orchestration_parameters") != NULL) {
        echo = json_incref(compact); /* a full echo (records written before compaction) */
        goto done;
    }
    if (check_type_parse(field(record, "check_type"), &ct) != 0 || target == NULL || n < 0 ||
        q < 0 || (params = json_object_get(compact, response_params_key(ct))) == NULL)
        goto done;
    /* the compact echo's own trace_identifier is the empty one the record cannot say */
    if ((tid = json_object_get(compact, "trace_identifier")) != NULL)
        trace = json_string_value(tid);
    else if (trace != NULL && trace[0] == '\0')
        trace = NULL;
    echo = response_echo_build(json_object_get(compact, "request_orchestration_parameters"), n,
                               q, 1, ct, target, trace, params);
done:
    json_decref(compact);
    return echo;
}
