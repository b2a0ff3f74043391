/*
 * evhttp helpers: listener setup with limits, JSON replies with a correct reason phrase.
 */
#include "httpd.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acceptguard.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"

#define HTTPD_BACKLOG 4096

struct evhttp *httpd_new(struct event_base *base, const char *host, int port, size_t max_body,
                         int timeout_ms, struct acceptguard **guard)
{
    char what[80];
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *bound;
    struct timeval tv;

    *guard = NULL;
    if (http == NULL) return NULL;
    evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
    evhttp_set_max_headers_size(http, 16 * 1024);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_OPTIONS);
    tv = util_ms_timeval(timeout_ms);
    evhttp_set_timeout_tv(http, &tv);
    bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (bound == NULL) {
        log_error("cannot listen on %s:%d", host, port);
        evhttp_free(http);
        return NULL;
    }
    /* libevent listens with a backlog of 128: a burst of new connections (a load balancer
     * reconnecting, many clients at once) would overflow it and wait for SYN retransmits.
     * listen() again raises it (the kernel caps it at net.core.somaxconn). */
    if (listen(evhttp_bound_socket_get_fd(bound), HTTPD_BACKLOG) != 0)
        log_warn("listen backlog %d on %s:%d not applied: %s", HTTPD_BACKLOG, host, port,
                 strerror(errno));
    snprintf(what, sizeof(what), "listener %s:%d", host, port);
    *guard = acceptguard_new(base, evhttp_bound_socket_get_listener(bound), what);
    if (*guard == NULL) {
        log_error("cannot guard the listener on %s:%d", host, port);
        evhttp_free(http);
        return NULL;
    }
    return http;
}

const char *httpd_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void httpd_send_json(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *buf = evbuffer_new();
    size_t len = 0;
    char *text = jsonout_dumps(body, &len);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    if (text != NULL) {
        text[len] = '\n'; /* replaces the NUL: one add instead of two */
        evbuffer_add(buf, text, len + 1);
        free(text);
    }
    evhttp_send_reply(req, code, httpd_reason(code), buf);
    evbuffer_free(buf);
    json_decref(body);
}
