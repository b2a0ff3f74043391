/*
 * The coordinator's HTTP API on evhttp: POST /mpic (Open MPIC v3), GET /healthz, JSON errors
 * for everything else. A POST is validated, given a cohort, admitted into Redis (request
 * record, deadline entry, one job per perspective, pipelined) and held until its verdict is
 * published, its deadline passes, or Redis fails — then answered exactly once.
 */
#ifndef MPIC_API_H
#define MPIC_API_H

#include <event2/http.h>

#include "coord.h"

/** Registers the routes on http. */
void api_register(struct coord *co, struct evhttp *http);
struct reqview;

/** Answers the held request v->rid (if this process holds it) from an already loaded view. */
void api_render_view(struct coord *co, const struct reqview *v);
/** Called when request rid was published (locally or via our replies stream). */
void api_notify_replied(struct coord *co, const char *rid);

#endif
