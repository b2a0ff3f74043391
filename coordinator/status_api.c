/*
 * GET /mpic/<id>: validates the id, loads the record and results (reqview) and answers from
 * them. Each answer carries X-Mpic-Request-Id; 202 and 503 carry Retry-After so pollers back
 * off. The HTTP request is answered exactly once, from the reqview callback.
 */
#include "status_api.h"

#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>

#include "cooldown.h"
#include "httpd.h"
#include "log.h"
#include "record_render.h"
#include "reqview.h"
#include "response.h"
#include "util.h"

#define STATUS_RID_LEN 32 /* request ids are 16 random bytes in hex */

struct status_op {
    struct coord *co;
    struct evhttp_request *req;
};

static bool status_rid_valid(const char *rid)
{
    size_t n = strlen(rid);

    if (n != STATUS_RID_LEN) return false;
    for (size_t i = 0; i < n; i++) {
        if (!((rid[i] >= '0' && rid[i] <= '9') || (rid[i] >= 'a' && rid[i] <= 'f')))
            return false;
    }
    return true;
}

static void status_send(struct evhttp_request *req, const char *rid, int code, json_t *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (rid != NULL) evhttp_add_header(h, "X-Mpic-Request-Id", rid);
    if (code == 202 || code == 503) evhttp_add_header(h, "Retry-After", "1");
    httpd_send_json(req, code, body);
}

json_t *status_api_progress(const char *rid, const json_t *record, const json_t *results)
{
    const char *trace = json_string_value(json_object_get(record, "trace"));
    const char *n_s = json_string_value(json_object_get(record, "n"));
    const char *target = json_string_value(json_object_get(record, "target"));
    const char *ct = json_string_value(json_object_get(record, "check_type"));
    int64_t n = 0;
    json_t *o = json_object();

    if (n_s == NULL || util_parse_int64(n_s, 0, 1000, &n) != 0) n = 0;
    json_object_set_new(o, "request_id", json_string(rid));
    json_object_set_new(o, "status", json_string("running"));
    json_object_set_new(o, "check_type", ct ? json_string(ct) : json_null());
    json_object_set_new(o, "domain_or_ip_target", target ? json_string(target) : json_null());
    json_object_set_new(o, "perspectives_reported",
                        json_integer((json_int_t)json_object_size(results)));
    json_object_set_new(o, "perspective_count", json_integer(n));
    json_object_set_new(o, "trace_identifier",
                        trace && *trace ? json_string(trace) : json_null());
    return o;
}

/* called by reqview_load with the record of the polled request */
static void status_view_cb(void *arg, const struct reqview *v, const char *err)
{
    struct status_op *op = arg;
    char why[160];
    json_t *body;

    if (v == NULL) {
        log_warn("GET /mpic: Redis failed: %s", err);
        status_send(op->req, NULL, 503, response_error("service-unavailable", err));
        free(op);
        return;
    }
    switch (record_render_state(v->req)) {
    case RECORD_MISSING:
        status_send(op->req, v->rid, 404,
                    response_error("not-found", "unknown or expired request id"));
        break;
    case RECORD_OPEN:
    case RECORD_RETRYING:
    case RECORD_DECIDED:
        status_send(op->req, v->rid, 202, status_api_progress(v->rid, v->req, v->res));
        break;
    case RECORD_REPLIED:
        body = record_render_response_echo(v->req, v->echo, v->res, v->prev, why,
                                           sizeof(why));
        if (body != NULL) {
            cooldown_add_header(op->co, v->req, op->req);
            status_send(op->req, v->rid, 200, body);
        }
        else
            status_send(op->req, v->rid, 500, response_error("internal-error", why));
        break;
    case RECORD_CORRUPT:
        status_send(op->req, v->rid, 500,
                    response_error("internal-error", "the stored request record is unusable"));
        break;
    }
    free(op);
}

void status_api_get(struct coord *co, struct evhttp_request *req, const char *rid)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct status_op *op;

    if (!status_rid_valid(rid)) {
        status_send(req, NULL, 404,
                    response_error("not-found", "a request id is 32 lower-case hex digits"));
        return;
    }
    if (m != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        httpd_send_json(req, 405, response_error("method-not-allowed", "use GET /mpic/<id>"));
        return;
    }
    if (!redis_client_is_ready(co->cmd)) {
        status_send(req, NULL, 503, response_error("service-unavailable",
                                                   "Redis is not reachable from this coordinator"));
        return;
    }
    op = util_xcalloc(1, sizeof(*op));
    op->co = co;
    op->req = req;
    reqview_load(co, rid, status_view_cb, op);
}
