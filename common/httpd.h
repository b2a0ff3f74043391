/*
 * Small evhttp helpers shared by the coordinator API and the worker's health endpoint:
 * binding a listener with limits and timeouts, and sending JSON bodies.
 */
#ifndef MPIC_HTTPD_H
#define MPIC_HTTPD_H

#include <event2/http.h>
#include <jansson.h>

struct acceptguard;

/**
 * Creates an evhttp bound to host:port with body/header size limits and a read/write
 * timeout, its listener under an accept-error guard (*guard; acceptguard_free it before
 * evhttp_free). Returns NULL (and logs) when the address cannot be bound.
 */
struct evhttp *httpd_new(struct event_base *base, const char *host, int port, size_t max_body,
                         int timeout_ms, struct acceptguard **guard);
/** Sends `body` (stolen) with Content-Type application/json and the given status. */
void httpd_send_json(struct evhttp_request *req, int code, json_t *body);
/** Standard reason phrase for the codes we send. */
const char *httpd_reason(int code);

#endif
