/*
 * Parsing and validation of an Open MPIC API v3 POST /mpic body into a struct api_request.
 * Every problem is reported as a validation issue naming the field, so the API answers 400
 * {"error":"request-validation-failed","validation_issues":[...]} and never crashes.
 * Defaults are filled in here (perspective/quorum count, CAA and DCV parameters), so the
 * echo in the response and the job parameters sent to workers are the same object.
 */
#ifndef MPIC_REQUEST_H
#define MPIC_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dnsname.h"
#include "msg.h"

#define REQUEST_MAX_BODY (64 * 1024)
#define REQUEST_MAX_TRACE_ID 256

/** Server-side limits and defaults the validation needs (from config and the clock). */
struct request_limits {
    int nperspectives;             /* configured perspectives */
    int default_perspective_count; /* config default_perspective_count */
    int min_perspective_count;     /* BR phase-in minimum (quorum_min_remote) or 2 if relaxed */
    int absolute_max_attempts;     /* config cap on max_attempts */
    int default_deadline_ms;
    int min_deadline_ms;
    int max_deadline_ms;
    const char *const *caa_domains; /* default issuer domain names (lower-case) */
    int ncaa_domains;
};

struct api_request {
    enum check_type check_type;
    char *target_raw;             /* domain_or_ip_target verbatim */
    char target[DNSNAME_MAX];     /* normalized (see dnsname_normalize_target) */
    enum dnsname_kind target_kind;
    bool wildcard;
    int perspective_count;        /* resolved: request value or default */
    int quorum_count;             /* resolved: request value or BR default */
    int max_attempts;             /* resolved, capped by absolute_max_attempts */
    int cohort_for_single_attempt;/* 0 when absent */
    int deadline_ms;              /* resolved per-request deadline (ms from admission) */
    bool ignore_cooldown;         /* orchestration_parameters.ignore_cooldown (extension) */
    char *trace_id;               /* NULL when absent or null */
    json_t *orchestration_echo;   /* request_orchestration_parameters echo object, or JSON null */
    json_t *check_params;         /* caa_check_parameters / dcv_check_parameters, defaults filled */
};

/**
 * Parses and validates body. Returns 0 and fills *out; or -1 and sets *issues to a new JSON
 * array of {"issue_type": ..., "field": "dotted.path", "message": ...} (out is left freed).
 */
int request_parse(const char *body, size_t len, const struct request_limits *lim,
                  struct api_request *out, json_t **issues);
void request_free(struct api_request *req);

#endif
