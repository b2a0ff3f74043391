/*
 * Field readers shared by the request parsers: every getter records a validation issue naming
 * the dotted field path and never fails hard, so one 400 lists every problem of a request.
 * struct reqfield_ctx is the parsing state handed from request_parse() to the method parsers.
 */
#ifndef MPIC_REQFIELD_H
#define MPIC_REQFIELD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/** Parsing context shared by the field parsers. */
struct reqfield_ctx {
    json_t *root;                     /* the decoded body (an object) */
    json_t *issues;                   /* array of issues collected so far */
    const struct request_limits *lim;
    struct api_request *out;
    bool target_ok;                   /* out->target / target_kind / wildcard are valid */
};

/** Result of reading an optional field. */
enum reqfield_state {
    REQFIELD_ABSENT = 0, /* missing or JSON null */
    REQFIELD_OK = 1,     /* present with the right type */
    REQFIELD_BAD = 2,    /* present with the wrong type (an issue was recorded) */
};

/** Appends {"issue_type": type, "field": field, "message": printf(fmt)}. */
void reqfield_issue(struct reqfield_ctx *c, const char *type, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
/** "an object", "a string", ... for messages. */
const char *reqfield_type_name(const json_t *v);
/** Records an "invalid-type" issue: "<field> must be <want>, not <type of v>". */
void reqfield_type_issue(struct reqfield_ctx *c, const char *field, const json_t *v,
                         const char *want);

/** Optional integer that fits an int. */
enum reqfield_state reqfield_get_int(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                     const char *field, int *val);
/** Optional string (no NUL bytes: jansson rejects them). */
enum reqfield_state reqfield_get_str(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                     const char *field, const char **val);
/** Required string; absent or null is a "missing-field" issue. True when *val is set. */
bool reqfield_get_req_str(struct reqfield_ctx *c, const json_t *obj, const char *key,
                          const char *field, const char **val);
enum reqfield_state reqfield_get_bool(struct reqfield_ctx *c, const json_t *obj, const char *key,
                                      const char *field, bool *val);
/** Optional object (borrowed), NULL when absent, null or ill-typed (see *st). */
const json_t *reqfield_get_obj(struct reqfield_ctx *c, const json_t *obj, const char *key,
                               const char *field, enum reqfield_state *st);

/** A per-byte predicate: called by reqfield_chars_in for every byte of a string. */
typedef bool reqfield_char_ok_cb(unsigned char ch);
bool reqfield_chars_in(const char *s, reqfield_char_ok_cb *ok);
bool reqfield_is_alnum(unsigned char ch);
bool reqfield_is_b64url(unsigned char ch);
bool reqfield_is_label_char(unsigned char ch);
bool reqfield_is_visible(unsigned char ch);
bool reqfield_is_caa_value_char(unsigned char ch);   /* RFC 8659: visible ASCII except ';' */
bool reqfield_is_tchar(unsigned char ch);            /* RFC 9110 tchar */
bool reqfield_is_header_value_char(unsigned char ch);/* RFC 9110 field-value bytes */

/** The other check type's parameters object must be absent or null. */
void reqfield_reject_other(struct reqfield_ctx *c, const char *key, const char *type);
/** require_exact_case is forced true for method: absent, null or true are accepted. */
void reqfield_exact_case_forced(struct reqfield_ctx *c, const json_t *p, const char *method);
/** Required string of 1..maxlen bytes whose characters all pass ok (charset names them). */
const char *reqfield_get_req_token(struct reqfield_ctx *c, const json_t *p, const char *key,
                                   const char *field, size_t maxlen, reqfield_char_ok_cb *ok,
                                   const char *charset);

#endif
