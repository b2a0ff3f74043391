/*
 * Rendering of a stored request: the cohort list, the stored CheckResponses (a synthesized
 * deadline failure for each perspective that never reported), the verdict, and the echo
 * written at admission, assembled by response_build.
 */
#include "record_render.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cohort.h"
#include "perspective.h"
#include "record_echo.h"
#include "response.h"
#include "util.h"

static const char *field(const json_t *req, const char *name)
{
    return json_string_value(json_object_get(req, name));
}

enum record_state record_render_state(const json_t *req)
{
    const char *state = field(req, "state");

    if (json_object_size(req) == 0) return RECORD_MISSING;
    if (state == NULL || field(req, "echo") == NULL || field(req, "cohort") == NULL)
        return RECORD_CORRUPT;
    if (strcmp(state, "open") == 0) return RECORD_OPEN;
    if (strcmp(state, "retrying") == 0) return RECORD_RETRYING;
    if (field(req, "verdict") == NULL) return RECORD_CORRUPT;
    if (strcmp(state, "decided") == 0) return RECORD_DECIDED;
    if (strcmp(state, "replied") == 0) return RECORD_REPLIED;
    return RECORD_CORRUPT;
}

/* The deadline budget in ms (deadline - created), for the "did not report" message. */
static long long deadline_budget_ms(const json_t *req)
{
    int64_t deadline = 0, created = 0;
    const char *d = field(req, "deadline"), *c = field(req, "created");

    if (d == NULL || c == NULL || util_parse_int64(d, 0, INT64_MAX, &deadline) != 0 ||
        util_parse_int64(c, 0, INT64_MAX, &created) != 0 || deadline < created)
        return 0;
    return (long long)(deadline - created);
}

json_t *record_render_cohort(const json_t *req, const json_t *echo, const char *cohort,
                             const json_t *res)
{
    json_t *perspectives = json_array();
    const json_t *params = NULL;
    enum check_type ct = CHECK_TYPE_CAA;

    if (echo != NULL &&
        check_type_parse(json_string_value(json_object_get(echo, "check_type")), &ct) != 0)
        ct = CHECK_TYPE_CAA;
    if (echo != NULL)
        params = json_object_get(echo, response_params_key(ct));
    for (const char *p = cohort; p != NULL && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char code[PERSPECTIVE_CODE_MAX];
        json_t *cr, *item;

        if (len >= sizeof(code)) len = sizeof(code) - 1;
        memcpy(code, p, len);
        code[len] = '\0';
        cr = json_object_get(res, code);
        if (cr != NULL) {
            json_incref(cr);
        } else {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "perspective %.63s did not report before the deadline (%lld ms)", code,
                     deadline_budget_ms(req));
            cr = response_missing_check(ct, params, "mpic_error:coordinator:deadline", msg);
        }
        item = json_object();
        json_object_set_new(item, "perspective_code", json_string(code));
        json_object_set_new(item, "check_response", cr);
        json_array_append_new(perspectives, item);
        if (!comma || json_array_size(perspectives) >= COHORT_MAX) break;
        p = comma + 1;
    }
    return perspectives;
}

/* previous_attempt_results: one perspectives array per earlier attempt, or JSON null. */
static json_t *render_previous(const json_t *req, const json_t *echo, const json_t *prev)
{
    int64_t attempt = 1;
    json_t *out;

    if (field(req, "attempt") == NULL ||
        util_parse_int64(field(req, "attempt"), 1, 100, &attempt) != 0 || attempt < 2 ||
        json_object_size(prev) == 0)
        return json_null();
    out = json_array();
    for (int64_t a = 1; a < attempt; a++) {
        char key[16];
        const json_t *e;
        snprintf(key, sizeof(key), "%d", (int)a);
        e = json_object_get(prev, key);
        json_array_append_new(
            out, record_render_cohort(req, echo,
                                      e ? json_string_value(json_object_get(e, "cohort")) : NULL,
                                      e ? json_object_get(e, "results") : NULL));
    }
    return out;
}

/* The primary's item (a placeholder when it has not reported), or NULL without a primary. */
static json_t *render_primary(const json_t *req, const json_t *echo, const json_t *res)
{
    const char *primary = field(req, "primary");
    json_t *list, *item;

    if (primary == NULL || primary[0] == '\0') return NULL;
    list = record_render_cohort(req, echo, primary, res);
    item = json_array_get(list, 0);
    if (item != NULL) json_incref(item);
    json_decref(list);
    return item;
}

json_t *record_render_response(const json_t *req, const json_t *res, const json_t *prev,
                               char *err, size_t errlen)
{
    json_t *echo = record_echo_load(req);
    json_t *body = record_render_response_echo(req, echo, res, prev, err, errlen);

    json_decref(echo);
    return body;
}

json_t *record_render_response_echo(const json_t *req, const json_t *echo, const json_t *res,
                                    const json_t *prev, char *err, size_t errlen)
{
    enum record_state st = record_render_state(req);
    const char *verdict = field(req, "verdict");
    json_t *perspectives, *body;

    if (st != RECORD_DECIDED && st != RECORD_REPLIED) {
        util_set_err(err, errlen, st == RECORD_MISSING ? "the request record expired or was "
                                                         "removed from Redis"
                                                       : "no verdict was reached");
        return NULL;
    }
    if (echo == NULL) { /* present (checked by the state) but unparsable */
        util_set_err(err, errlen, "the stored request echo is invalid");
        return NULL;
    }
    perspectives = record_render_cohort(req, echo, field(req, "cohort"), res);
    body = response_build(echo, strcmp(verdict, "valid") == 0, perspectives);
    json_decref(perspectives);
    if (field(req, "attempt") != NULL) {
        json_t *actual = json_object_get(body, "actual_orchestration_parameters");
        int64_t attempt;
        if (json_is_object(actual) &&
            util_parse_int64(field(req, "attempt"), 1, 100, &attempt) == 0)
            json_object_set_new(actual, "attempt_count", json_integer((json_int_t)attempt));
    }
    json_object_set_new(body, "previous_attempt_results", render_previous(req, echo, prev));
    response_set_primary(body, render_primary(req, echo, res));
    return body;
}
