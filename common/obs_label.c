/*
 * Label values from check responses (see obs_label.h).
 */
#include "obs_label.h"

#include <string.h>
#include <strings.h>

#include "util.h"

const char *obs_label_outcome(const json_t *cr)
{
    if (cr == NULL) return "missing";
    if (!json_is_true(json_object_get(cr, "check_completed"))) return "error";
    return json_is_true(json_object_get(cr, "check_passed")) ? "passed" : "failed";
}

/* Copies s to out when it is a safe label value, else "other". */
static void obs_label_safe(const char *s, char *out, size_t len)
{
    size_t n = strlen(s);
    bool ok = n > 0 && n < OBS_LABEL_MAX && n < len;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == ':' || c == '.' || c == '-';
    }
    util_strlcpy(out, ok ? s : "other", len);
}

void obs_label_error_type(const json_t *cr, char *out, size_t len)
{
    const json_t *errors = json_object_get(cr, "errors");
    const char *t;
    if (!json_is_array(errors) || json_array_size(errors) == 0) {
        util_strlcpy(out, "none", len);
        return;
    }
    t = json_string_value(json_object_get(json_array_get(errors, 0), "error_type"));
    obs_label_safe(t ? t : "", out, len);
}

bool obs_label_dnssec_failure(const json_t *cr)
{
    const json_t *errors = json_object_get(cr, "errors");
    size_t i;
    const json_t *e;
    if (!json_is_array(errors)) return false;
    json_array_foreach(errors, i, e) {
        const char *t = json_string_value(json_object_get(e, "error_type"));
        if (t != NULL && strcasestr(t, "dnssec") != NULL) return true;
    }
    return false;
}

void obs_label_method(bool dcv, const json_t *params, char *out, size_t len)
{
    const char *m;
    if (!dcv) {
        util_strlcpy(out, "caa", len);
        return;
    }
    m = json_string_value(json_object_get(params, "validation_method"));
    obs_label_safe(m ? m : "", out, len);
}
