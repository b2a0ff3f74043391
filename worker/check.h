/*
 * The contract every check (CAA, acme-http-01, acme-dns-01, ...) implements: start from a
 * decoded job and the worker's environment, finish exactly once with a check_result that
 * becomes the Open MPIC CheckResponse. check_start() dispatches on check type and
 * validation_method.
 */
#ifndef MPIC_CHECK_H
#define MPIC_CHECK_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

struct resolver;
struct http_client;

#define CHECK_MAX_ERRORS 8

struct check_error {
    char *type;    /* e.g. "mpic_error:caa_checker:lookup" */
    char *message; /* names the perspective, the name or URL and the IP contacted */
};

struct check_result {
    bool completed; /* the check could be carried out (false: resolver/transport failure) */
    bool passed;    /* the expected value / permission was observed */
    struct check_error errors[CHECK_MAX_ERRORS];
    int nerrors;
    json_t *details; /* owned; the per-method details object with every key present */
    int64_t timestamp_ns;
};

/** What a check may use; owned by the worker, outlives every check. */
struct check_env {
    struct event_base *base;
    struct resolver *resolver;  /* this perspective's own resolver (no shared cache) */
    struct http_client *http;   /* this worker's libcurl multi handle */
    const char *perspective;    /* code, for error messages */
    int http_port;              /* 80 unless the lab override is set */
    int https_port;             /* 443 unless the lab override is set */
    int tls_alpn_port;          /* 443 unless the lab override is set */
    bool allow_private_targets; /* lab switch: permit IANA special-purpose addresses */
    int http_connect_timeout_ms;
    int http_timeout_ms;
    const char *user_agent;
};

/** A job as a check sees it (borrowed from struct msg_job for the check's lifetime). */
struct check_request {
    enum check_type check_type;
    const char *target;   /* normalized name (no "*.", no trailing dot) or IP literal */
    bool wildcard;
    const json_t *params; /* caa_check_parameters / dcv_check_parameters, defaults filled in */
    int64_t deadline_ms;  /* epoch ms (clock_now_ms); the check must finish before */
    const char *trace_id; /* may be NULL */
};

/**
 * Called exactly once per check_start(), never from inside check_start() itself (immediate
 * failures are deferred to the event loop). The callee takes ownership of *res contents.
 */
typedef void (*check_done_cb)(void *arg, struct check_result *res);

void check_start(const struct check_env *env, const struct check_request *req, check_done_cb cb,
                 void *arg);

/** The deadline timer every check embeds in its context. */
struct check_deadline {
    struct event ev;
    bool armed; /* added and not yet fired or cancelled */
};

/**
 * Arms d to call cb(arg) at deadline_ms (epoch ms, clock_now_ms; at once when already past);
 * does nothing when deadline_ms <= 0. cb must set d->armed = false first thing.
 */
void check_deadline_arm(struct check_deadline *d, struct event_base *base, int64_t deadline_ms,
                        event_callback_fn cb, void *arg);
/** Cancels d if it is armed. */
void check_deadline_cancel(struct check_deadline *d);

/** Appends an error (ignored beyond CHECK_MAX_ERRORS). */
void check_result_add_error(struct check_result *res, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Appends an error whose message ends with " (perspective <env->perspective>)". */
void check_result_add_error_at(struct check_result *res, const struct check_env *env,
                               const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** Frees errors and details; leaves the struct zeroed. */
void check_result_clear(struct check_result *res);
/** Builds the CheckResponse object {check_completed, check_passed, errors, timestamp_ns,
 * check_type, details}; takes ownership of res->details. */
json_t *check_result_to_json(struct check_result *res, enum check_type type);
/** Defers cb(arg, res) to the next event-loop turn (for immediate failures). */
void check_finish_later(struct event_base *base, check_done_cb cb, void *arg,
                        struct check_result *res);

#endif
