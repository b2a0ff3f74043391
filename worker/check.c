/*
 * Check dispatch and the check_result helpers every check shares: the job's check type and
 * validation_method select the module, unknown methods fail cleanly (never crash), and the
 * result becomes the Open MPIC CheckResponse object.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caa_check.h"
#include "clock.h"
#include "dns01_check.h"
#include "dns_method_check.h"
#include "http01_check.h"
#include "tls_alpn_check.h"
#include "util.h"
#include "website_check.h"

struct check_deferred {
    check_done_cb cb;
    void *arg;
    struct check_result res;
};

void check_result_add_error(struct check_result *res, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (res->nerrors >= CHECK_MAX_ERRORS) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    res->errors[res->nerrors].type = util_xstrdup(type);
    res->errors[res->nerrors].message = util_xstrdup(msg);
    res->nerrors++;
}

void check_result_add_error_at(struct check_result *res, const struct check_env *env,
                               const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    check_result_add_error(res, type, "%s (perspective %s)", msg,
                           env->perspective != NULL ? env->perspective : "?");
}

void check_result_clear(struct check_result *res)
{
    for (int i = 0; i < res->nerrors; i++) {
        free(res->errors[i].type);
        free(res->errors[i].message);
    }
    json_decref(res->details);
    memset(res, 0, sizeof(*res));
}

json_t *check_result_to_json(struct check_result *res, enum check_type type)
{
    json_t *o = json_object();
    json_t *errors = json_null();

    if (res->nerrors > 0) {
        errors = json_array();
        for (int i = 0; i < res->nerrors; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "error_type", json_string(res->errors[i].type));
            /* messages may quote hostile bytes: keep only valid UTF-8 */
            json_t *m = json_string(res->errors[i].message);
            json_object_set_new(e, "error_message", m ? m : json_string("(unprintable)"));
            json_array_append_new(errors, e);
        }
    }
    json_object_set_new(o, "check_completed", json_boolean(res->completed));
    json_object_set_new(o, "check_passed", json_boolean(res->completed && res->passed));
    json_object_set_new(o, "errors", errors);
    json_object_set_new(o, "timestamp_ns",
                        json_integer(res->timestamp_ns ? res->timestamp_ns : clock_real_ns()));
    json_object_set_new(o, "check_type", json_string(check_type_name(type)));
    json_object_set_new(o, "details", res->details ? res->details : json_object());
    res->details = NULL;
    return o;
}

void check_deadline_arm(struct check_deadline *d, struct event_base *base, int64_t deadline_ms,
                        event_callback_fn cb, void *arg)
{
    int64_t left;
    struct timeval tv;

    if (deadline_ms <= 0) return;
    left = deadline_ms - clock_now_ms();
    tv = util_ms_timeval(left); /* a passed deadline fires now */
    evtimer_assign(&d->ev, base, cb, arg);
    d->armed = evtimer_add(&d->ev, &tv) == 0;
}

void check_deadline_cancel(struct check_deadline *d)
{
    if (d->armed) {
        event_del(&d->ev);
        d->armed = false;
    }
}

/* called by libevent one loop turn after check_finish_later() */
static void check_deferred_fire(evutil_socket_t fd, short what, void *p)
{
    struct check_deferred *d = p;
    d->cb(d->arg, &d->res);
    free(d);
}

void check_finish_later(struct event_base *base, check_done_cb cb, void *arg,
                        struct check_result *res)
{
    struct check_deferred *d = util_xcalloc(1, sizeof(*d));
    struct timeval tv = {0, 0};
    d->cb = cb;
    d->arg = arg;
    d->res = *res;
    memset(res, 0, sizeof(*res));
    if (event_base_once(base, -1, EV_TIMEOUT, check_deferred_fire, d, &tv) != 0) abort();
}

static void check_fail_unsupported(const struct check_env *env, const char *what,
                                   check_done_cb cb, void *arg)
{
    struct check_result res;
    memset(&res, 0, sizeof(res));
    res.completed = false;
    res.details = json_object();
    check_result_add_error(&res, "mpic_error:dcv_checker:parameter",
                           "perspective %s cannot run %s", env->perspective, what);
    res.timestamp_ns = clock_real_ns();
    check_finish_later(env->base, cb, arg, &res);
}

/* A method's entry point: called by check_start() with the job's validation_method. */
typedef void check_method_start(const struct check_env *env, const struct check_request *req,
                                check_done_cb cb, void *arg);

struct check_method {
    const char *name;
    check_method_start *start;
};

/* validation_method → check module (DCV only; CAA has one check). */
static const struct check_method check_methods[] = {
    {"acme-http-01", http01_check_start},
    {"acme-dns-01", dns01_check_start},
    {"dns-change", dns_method_check_start},
    {"dns-persistent", dns_method_check_start},
    {"dns-account-01", dns_method_check_start},
    {"contact-email-txt", dns_method_check_start},
    {"contact-phone-txt", dns_method_check_start},
    {"contact-email-caa", dns_method_check_start},
    {"contact-phone-caa", dns_method_check_start},
    {"ip-address", dns_method_check_start},
    {"reverse-address-lookup", dns_method_check_start},
    {"website-change", website_check_start},
    {"acme-tls-alpn-01", tls_alpn_check_start},
};

void check_start(const struct check_env *env, const struct check_request *req, check_done_cb cb,
                 void *arg)
{
    const char *method;
    char what[128];

    if (req->check_type == CHECK_TYPE_CAA) {
        caa_check_start(env, req, cb, arg);
        return;
    }
    method = json_string_value(json_object_get(req->params, "validation_method"));
    for (size_t i = 0; method != NULL && i < MPIC_ARRAY_LEN(check_methods); i++) {
        if (strcmp(method, check_methods[i].name) == 0) {
            check_methods[i].start(env, req, cb, arg);
            return;
        }
    }
    snprintf(what, sizeof(what), "validation method \"%s\"", method ? method : "(none)");
    check_fail_unsupported(env, what, cb, arg);
}
