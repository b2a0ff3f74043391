/*
 * GET /mpic/<id>: the state of an asynchronous (or any) request read from Redis, so any
 * coordinator can answer it: 200 with the same body as the synchronous answer once the
 * verdict is published, 202 with progress while it runs, 404 when unknown or expired.
 */
#ifndef MPIC_STATUS_API_H
#define MPIC_STATUS_API_H

#include <event2/http.h>
#include <jansson.h>

#include "coord.h"

/** Answers req for request id rid (the path segment after "/mpic/"). */
void status_api_get(struct coord *co, struct evhttp_request *req, const char *rid);

/** The 202 progress body for a running request record (new object). */
json_t *status_api_progress(const char *rid, const json_t *record, const json_t *results);

#endif
