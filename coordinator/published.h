/*
 * What follows a published verdict, run by the coordinator that won lua/publish (exactly
 * once per verdict): the audit record, the target's cooldown, the request's metrics and any
 * security alert, all from one read of the stored request.
 */
#ifndef MPIC_PUBLISHED_H
#define MPIC_PUBLISHED_H

#include "coord.h"
#include "reqview.h"

#include <stdbool.h>

/**
 * Loads request rid once and does the post-publication work; with local_holder, also answers
 * the HTTP request this process holds from that same read (api_render_view).
 */
void published_handle(struct coord *co, const char *rid, bool local_holder);
/**
 * The same work from a view the caller loaded after winning (v == NULL: the load failed with
 * err; the follow-up work is then left to a sweeper's takeover).
 */
void published_handle_view(struct coord *co, const char *rid, const struct reqview *v,
                           const char *err, bool local_holder);

#endif
