/*
 * Field readers shared by every request parser (top level, CAA and each DCV method family):
 * typed getters that record an {"issue_type","field","message"} issue instead of failing,
 * character-class predicates, and the small rules several methods share.
 */
#include "reqfield.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mpjson.h"

void reqfield_issue(struct reqfield_ctx *c, const char *type, const char *field, const char *fmt,
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

const char *reqfield_type_name(const json_t *v)
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

void reqfield_type_issue(struct reqfield_ctx *c, const char *field, const json_t *v,
                         const char *want)
{
    reqfield_issue(c, "invalid-type", field, "%s must be %s, not %s", field, want,
                   reqfield_type_name(v));
}

/* Reads an optional integer that must fit in an int. */
enum reqfield_state reqfield_get_int(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                     const char *field, int *val)
{
    json_t *v = json_object_get(obj, key);
    json_int_t i;

    if (v == NULL || json_is_null(v)) return REQFIELD_ABSENT;
    if (!json_is_integer(v)) {
        reqfield_type_issue(c, field, v, "an integer or null");
        return REQFIELD_BAD;
    }
    i = json_integer_value(v);
    if (i < INT_MIN || i > INT_MAX) {
        reqfield_issue(c, "invalid-value", field, "%s is out of range", field);
        return REQFIELD_BAD;
    }
    *val = (int)i;
    return REQFIELD_OK;
}

/* Reads an optional string (jansson rejects NUL bytes, so strlen is the length). */
enum reqfield_state reqfield_get_str(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                     const char *field, const char **val)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) return REQFIELD_ABSENT;
    if (!json_is_string(v)) {
        reqfield_type_issue(c, field, v, "a string");
        return REQFIELD_BAD;
    }
    *val = json_string_value(v);
    return REQFIELD_OK;
}

/* Reads a required string; a missing or null value is a "missing-field" issue. */
bool reqfield_get_req_str(struct reqfield_ctx *c, const json_t *obj, const char *key,
                          const char *field, const char **val)
{
    enum reqfield_state st = reqfield_get_str(c, obj, key, field, val);

    if (st == REQFIELD_ABSENT) reqfield_issue(c, "missing-field", field, "%s is required", field);
    return st == REQFIELD_OK;
}

enum reqfield_state reqfield_get_bool(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                      const char *field, bool *val)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) return REQFIELD_ABSENT;
    if (!json_is_boolean(v)) {
        reqfield_type_issue(c, field, v, "a boolean");
        return REQFIELD_BAD;
    }
    *val = json_is_true(v);
    return REQFIELD_OK;
}

/* Reads an optional object; returns it (borrowed) or NULL when absent, null or ill-typed. */
const json_t *reqfield_get_obj(struct reqfield_ctx *c, const json_t *obj, const char *key,
                               const char *field, enum reqfield_state *st)
{
    json_t *v = json_object_get(obj, key);

    *st = REQFIELD_ABSENT;
    if (v == NULL || json_is_null(v)) return NULL;
    if (!json_is_object(v)) {
        reqfield_type_issue(c, field, v, "an object or null");
        *st = REQFIELD_BAD;
        return NULL;
    }
    *st = REQFIELD_OK;
    return v;
}

/* A per-byte predicate: called by reqfield_chars_in for every byte of a string. */
typedef bool reqfield_char_ok_cb(unsigned char ch);

bool reqfield_chars_in(const char *s, reqfield_char_ok_cb *ok)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!ok(*p)) return false;
    }
    return true;
}

bool reqfield_is_alnum(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

bool reqfield_is_b64url(unsigned char ch)
{
    return reqfield_is_alnum(ch) || ch == '-' || ch == '_';
}

bool reqfield_is_label_char(unsigned char ch)
{
    return reqfield_is_alnum(ch) || ch == '-';
}

bool reqfield_is_visible(unsigned char ch)
{
    return ch >= 0x21 && ch <= 0x7e;
}

/* RFC 8659 CAA parameter value characters (visible ASCII except ';'). */
bool reqfield_is_caa_value_char(unsigned char ch)
{
    return reqfield_is_visible(ch) && ch != ';';
}

/* RFC 9110 tchar. */
bool reqfield_is_tchar(unsigned char ch)
{
    return reqfield_is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* RFC 9110 field-value bytes: no CR, LF or other control characters except HTAB. */
bool reqfield_is_header_value_char(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* The parameters object of the other check type must be absent or null. */
void reqfield_reject_other(struct reqfield_ctx *c, const char *key, const char *type)
{
    json_t *v = json_object_get(c->root, key);

    if (v != NULL && !json_is_null(v)) {
        reqfield_issue(c, "unexpected-field", key, "%s is not allowed with check_type \"%s\"", key,
                       type);
    }
}

/* require_exact_case is forced true: absent, null or true are accepted. */
void reqfield_exact_case_forced(struct reqfield_ctx *c, const json_t *p, const char *method)
{
    bool v = true;

    if (reqfield_get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case",
                          &v) == REQFIELD_OK &&
        !v) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.require_exact_case",
                       "dcv_check_parameters.require_exact_case must be true for %s", method);
    }
}

/* Reads a required string of minlen..maxlen bytes whose characters all pass ok. */
const char *reqfield_get_req_token(struct reqfield_ctx *c, const json_t *p, const char *key,
                                   const char *field, size_t maxlen, reqfield_char_ok_cb *ok,
                                   const char *charset)
{
    const char *s = NULL;
    size_t len;

    if (!reqfield_get_req_str(c, p, key, field, &s)) return NULL;
    len = strlen(s);
    if (len == 0 || len > maxlen) {
        reqfield_issue(c, "invalid-value", field, "%s must be 1 to %zu bytes long", field, maxlen);
        return NULL;
    }
    if (!reqfield_chars_in(s, ok)) {
        reqfield_issue(c, "invalid-value", field, "%s must contain only %s", field, charset);
        return NULL;
    }
    return s;
}
