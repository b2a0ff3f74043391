/*
 * Audit records: built from the same stored record and results the response is rendered
 * from (reqview, record_render), so the audit shows exactly what the client was told. The
 * stream is trimmed by age (MINID, audit_retention_s); Redis AOF makes it durable.
 */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "due.h"
#include "jsonout.h"
#include "keys.h"
#include "log.h"
#include "perspective.h"
#include "record_echo.h"
#include "record_render.h"
#include "reqview.h"
#include "util.h"

#define AUDIT_BR_VERSION "TLS BR 2.2.6"
#define AUDIT_SBR_VERSION "S/MIME BR 1.0.10"

static unsigned long audit_nwritten, audit_nfailed;

struct audit_method {
    const char *method;
    const char *section;
};

static const struct audit_method audit_methods[] = {
    {"website-change", "3.2.2.4.18"},      {"acme-http-01", "3.2.2.4.19"},
    {"acme-tls-alpn-01", "3.2.2.4.20"},    {"acme-dns-01", "3.2.2.4.7"},
    {"dns-change", "3.2.2.4.7"},           {"dns-persistent", "3.2.2.4.22"},
    {"dns-account-01", "3.2.2.4.21"},      {"contact-email-txt", "3.2.2.4.14"},
    {"contact-phone-txt", "3.2.2.4.16"},   {"contact-email-caa", "3.2.2.4.13"},
    {"contact-phone-caa", "3.2.2.4.17"},   {"ip-address", "3.2.2.4.8"},
    {"reverse-address-lookup", "3.2.2.5.3"},
};

unsigned long audit_written(void)
{
    return audit_nwritten;
}

unsigned long audit_failed(void)
{
    return audit_nfailed;
}

const char *audit_br_section(const char *check_type, const char *method)
{
    if (check_type != NULL && strcmp(check_type, "caa") == 0) return "3.2.2.8";
    for (size_t i = 0; method != NULL && i < MPIC_ARRAY_LEN(audit_methods); i++) {
        if (strcmp(method, audit_methods[i].method) == 0) return audit_methods[i].section;
    }
    return NULL;
}

static const char *field(const json_t *req, const char *name)
{
    return json_string_value(json_object_get(req, name));
}

static json_t *int_field(const json_t *req, const char *name)
{
    int64_t v;
    const char *s = field(req, name);

    if (s == NULL || util_parse_int64(s, INT64_MIN, INT64_MAX, &v) != 0) return json_null();
    return json_integer((json_int_t)v);
}

static json_t *str_or_null(const char *s)
{
    return s != NULL && *s ? json_string(s) : json_null();
}

#define AUDIT_NO_INDEX ((size_t)-1) /* the primary: not in the cohort's RIR list */

/* The i-th comma-separated RIR number of the record's "rirs" field, as a name. */
static json_t *rir_at(const json_t *req, size_t i)
{
    const char *p = i == AUDIT_NO_INDEX ? NULL : field(req, "rirs");
    int64_t rir;
    char buf[8];
    size_t len;

    for (; p != NULL && i > 0; i--) {
        p = strchr(p, ',');
        if (p) p++;
    }
    if (p == NULL) return json_null();
    len = strcspn(p, ",");
    if (len == 0 || len >= sizeof(buf)) return json_null();
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (util_parse_int64(buf, 0, RIR_COUNT - 1, &rir) != 0) return json_null();
    return json_string(perspective_rir_name((enum rir)rir));
}

/*
 * The value at key of obj with one more reference (NULL when absent, which leaves the key out
 * as json_object_set_new(o, k, NULL) did with the deep copies before): the record is only
 * serialized and released, so its values are shared with the view, not copied.
 */
static json_t *share(const json_t *obj, const char *key)
{
    return json_incref(json_object_get(obj, key));
}

/* One perspective entry: code, RIR, outcome, errors, what it saw (details), timing. */
static json_t *audit_perspective(const json_t *req, const json_t *item, size_t i,
                                 int64_t created_ms)
{
    const json_t *cr = json_object_get(item, "check_response");
    json_t *o = json_object();
    json_t *ts = json_object_get(cr, "timestamp_ns");

    json_object_set_new(o, "perspective_code", share(item, "perspective_code"));
    json_object_set_new(o, "rir", rir_at(req, i));
    json_object_set(o, "check_completed", json_object_get(cr, "check_completed"));
    json_object_set(o, "check_passed", json_object_get(cr, "check_passed"));
    json_object_set_new(o, "errors", share(cr, "errors"));
    json_object_set_new(o, "seen", share(cr, "details"));
    json_object_set_new(o, "timestamp_ns", json_is_integer(ts) ? json_incref(ts) : json_null());
    if (json_is_integer(ts) && created_ms > 0)
        json_object_set_new(o, "elapsed_ms",
                            json_integer(json_integer_value(ts) / 1000000 - created_ms));
    else
        json_object_set_new(o, "elapsed_ms", json_null());
    return o;
}

/* One attempt's record: cohort is that attempt's codes, res its results, echo the record's
 * parsed echo (or NULL). */
static json_t *audit_build_attempt(const char *rid, const json_t *req, const json_t *echo,
                                   json_t *attempt, const char *cohort, const json_t *res,
                                   const char *verdict, const char *reason)
{
    json_t *rec = json_object(), *perspectives, *list = json_array();
    const char *ct = field(req, "check_type"), *method = NULL, *cert_type = NULL;
    const json_t *params = NULL;
    int64_t created = 0;
    int passed = 0, n = 0;
    char quorum[32];
    size_t i;
    json_t *item;

    if (echo != NULL) {
        params = json_object_get(echo, ct && strcmp(ct, "caa") == 0 ? "caa_check_parameters"
                                                                    : "dcv_check_parameters");
        method = json_string_value(json_object_get(params, "validation_method"));
        cert_type = json_string_value(json_object_get(params, "certificate_type"));
    }
    if (field(req, "created") == NULL ||
        util_parse_int64(field(req, "created"), 0, INT64_MAX, &created) != 0)
        created = 0;
    json_object_set_new(rec, "request_id", json_string(rid));
    json_object_set_new(rec, "trace_identifier", str_or_null(field(req, "trace")));
    json_object_set_new(rec, "attempt", attempt);
    json_object_set_new(rec, "created_ms", int_field(req, "created"));
    json_object_set_new(rec, "decided_ms", int_field(req, "decided_at"));
    json_object_set_new(rec, "check_type", str_or_null(ct));
    json_object_set_new(rec, "domain_or_ip_target", str_or_null(field(req, "target")));
    json_object_set_new(rec, "validation_method",
                        str_or_null(ct && strcmp(ct, "caa") == 0 ? "caa" : method));
    json_object_set_new(rec, "br_section", str_or_null(audit_br_section(ct, method)));
    json_object_set_new(rec, "br_version",
                        json_string(cert_type && strcmp(cert_type, "s-mime") == 0
                                        ? AUDIT_SBR_VERSION
                                        : AUDIT_BR_VERSION));
    json_object_set_new(rec, "parameters",
                        params ? json_incref((json_t *)params) : json_null());
    perspectives = record_render_cohort(req, echo, cohort, res);
    json_array_foreach(perspectives, i, item) {
        const json_t *cr = json_object_get(item, "check_response");
        n++;
        if (json_is_true(json_object_get(cr, "check_passed"))) passed++;
        json_array_append_new(list, audit_perspective(req, item, i, created));
    }
    json_decref(perspectives);
    snprintf(quorum, sizeof(quorum), "%d/%d", passed, n);
    json_object_set_new(rec, "cohort", list);
    json_object_set_new(rec, "quorum", json_string(quorum));
    if (field(req, "primary") != NULL && field(req, "primary")[0] != '\0') {
        json_t *pl = record_render_cohort(req, echo, field(req, "primary"), res);
        json_object_set_new(rec, "primary", json_array_size(pl) == 1
                                                ? audit_perspective(req, json_array_get(pl, 0),
                                                                    AUDIT_NO_INDEX, created)
                                                : json_null());
        json_decref(pl);
    } else {
        json_object_set_new(rec, "primary", json_null());
    }
    json_object_set_new(rec, "quorum_required", int_field(req, "q"));
    json_object_set_new(rec, "anomalous", json_boolean(passed > 0 && passed < n));
    json_object_set_new(rec, "verdict", str_or_null(verdict));
    json_object_set_new(rec, "reason", str_or_null(reason));
    return rec;
}

json_t *audit_build(const char *rid, const json_t *req, const json_t *res)
{
    json_t *echo = record_echo_load(req);
    json_t *rec = audit_build_echo(rid, req, echo, res);

    json_decref(echo);
    return rec;
}

json_t *audit_build_echo(const char *rid, const json_t *req, const json_t *echo,
                         const json_t *res)
{
    return audit_build_attempt(rid, req, echo, int_field(req, "attempt"), field(req, "cohort"),
                               res, field(req, "verdict"), field(req, "reason"));
}

/* audit_build_retried with the echo parsed by the caller. */
static json_t *audit_build_retried_echo(const char *rid, const json_t *req, const json_t *echo,
                                        int attempt, const json_t *prev)
{
    char key[16];
    const json_t *e;

    snprintf(key, sizeof(key), "%d", attempt);
    e = json_object_get(prev, key);
    return audit_build_attempt(rid, req, echo, json_integer(attempt),
                               e ? json_string_value(json_object_get(e, "cohort")) : NULL,
                               e ? json_object_get(e, "results") : NULL, "retried",
                               e && json_is_true(json_object_get(e, "anomalous"))
                                   ? "the perspectives disagreed; retried with a new cohort"
                                   : "no valid quorum; retried with a new cohort");
}

json_t *audit_build_retried(const char *rid, const json_t *req, int attempt,
                            const json_t *prev)
{
    json_t *echo = record_echo_load(req);
    json_t *rec = audit_build_retried_echo(rid, req, echo, attempt, prev);

    json_decref(echo);
    return rec;
}

/* One audit XADD in flight. */
struct audit_write_op {
    struct coord *co;
    bool published; /* the published verdict's record: mark the follow-up work done */
    char rid[48];
};

/*
 * The published verdict's record is written: mark the request's follow-up work done
 * (lua/publish hands it to another coordinator until then) and drop its due entry. When
 * the write failed, the due entry is put back so that a sweeper takes the work over.
 */
static void audit_published_written(struct audit_write_op *op, bool ok, const char *id)
{
    struct coord *co = op->co;
    char key[KEYS_MAX];

    if (ok) {
        const char *hset[] = {"HSET", key, "post_done", id};
        const char *zrem[] = {"ZREM", co->due_key, op->rid};
        keys_req(key, sizeof(key), co->cfg->key_prefix, op->rid);
        redis_client_commandargv(co->cmd, redis_client_ignore_reply, NULL, 0, 4, hset, NULL);
        redis_client_commandargv(co->cmd, redis_client_ignore_reply, NULL, 0, 3, zrem, NULL);
    } else {
        due_reschedule(co, op->rid, clock_now_ms(), "audit record not written");
    }
}

/* called by redis_client with the audit XADD reply */
static void audit_xadd_cb(void *arg, redisReply *reply, const char *errstr)
{
    struct audit_write_op *op = arg;
    bool ok = reply != NULL && reply->type == REDIS_REPLY_STRING;

    if (!ok) {
        audit_nfailed++;
        log_error("request %s: writing the audit record failed: %s", op->rid,
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                           : (errstr ? errstr : "bad reply"));
    } else {
        audit_nwritten++;
    }
    if (op->published) audit_published_written(op, ok, ok ? reply->str : NULL);
    free(op);
}

struct audit_job {
    struct coord *co;
    int attempt; /* 0: the published verdict; else a retried attempt */
};

static void audit_write(struct coord *co, const char *rid, json_t *rec, bool published)
{
    char key[KEYS_MAX], minid[32];
    size_t linelen = 0;
    char *line = jsonout_dumps(rec, &linelen);
    struct audit_write_op *op;

    json_decref(rec);
    if (line == NULL) {
        audit_nfailed++;
        return;
    }
    keys_audit(key, sizeof(key), co->cfg->key_prefix);
    snprintf(minid, sizeof(minid), "%lld",
             (long long)(clock_now_ms() - (int64_t)co->cfg->audit_retention_s * 1000));
    op = util_xcalloc(1, sizeof(*op));
    op->co = co;
    op->published = published;
    util_strlcpy(op->rid, rid, sizeof(op->rid));
    {
        const char *argv[] = {"XADD", key, "MINID", "~", minid, "*", "rid", rid, "a", line};
        size_t lens[] = {4, strlen(key), 5, 1, strlen(minid), 1, 3, strlen(rid), 1, linelen};
        redis_client_commandargv(co->cmd, audit_xadd_cb, op, 0, 10, argv, lens);
    }
    free(line);
}

/* called by reqview_load with the request to audit */
static void audit_view_cb(void *arg, const struct reqview *v, const char *err)
{
    struct audit_job *job = arg;

    if (v == NULL) {
        audit_nfailed++;
        log_error("audit: reading a request failed: %s", err);
    } else if (record_render_state(v->req) == RECORD_MISSING) {
        audit_nfailed++;
        log_error("request %s: audit: the record is gone", v->rid);
    } else if (job->attempt > 0) {
        audit_write(job->co, v->rid,
                    audit_build_retried_echo(v->rid, v->req, v->echo, job->attempt, v->prev),
                    false);
    } else {
        audit_write(job->co, v->rid, audit_build_echo(v->rid, v->req, v->echo, v->res), false);
    }
    free(job);
}

void audit_write_published(struct coord *co, const struct reqview *v)
{
    audit_write(co, v->rid, audit_build_echo(v->rid, v->req, v->echo, v->res), true);
}

void audit_note_failure(void)
{
    audit_nfailed++;
}

void audit_record_attempt(struct coord *co, const char *rid, int attempt)
{
    struct audit_job *job = util_xcalloc(1, sizeof(*job));

    job->co = co;
    job->attempt = attempt;
    reqview_load(co, rid, audit_view_cb, job);
}
