/*
 * Post-publication work (see published.h): one reqview load, then the audit record, the
 * cooldown key, the request's metrics and any security alert, and, when this process holds
 * the HTTP request, its answer. Failures are logged and counted by the modules; the verdict
 * stands either way.
 */
#include "published.h"

#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "audit.h"
#include "clock.h"
#include "cooldown.h"
#include "due.h"
#include "log.h"
#include "record_render.h"
#include "reqview.h"
#include "util.h"
#include "verdict_watch.h"

struct published_op {
    struct coord *co;
    char rid[48];
    bool local_holder; /* this process holds the HTTP request: answer it from the same read */
};

void published_handle_view(struct coord *co, const char *rid, const struct reqview *v,
                           const char *err, bool local_holder)
{
    if (v == NULL || record_render_state(v->req) == RECORD_MISSING) {
        log_error("request %s: after publishing: reading the request failed: %s", rid,
                  v == NULL ? err : "the record is gone");
        audit_note_failure();
        if (v == NULL) /* the follow-up work is taken over by a sweeper (lua/publish) */
            due_reschedule(co, rid, clock_now_ms(), "request not read after publishing");
        if (local_holder) api_notify_replied(co, rid); /* renders from its own read */
        return;
    }
    audit_write_published(co, v);
    cooldown_note(co, v->req);
    verdict_watch_report(co, v->rid, v->req, v->echo, v->res);
    if (local_holder) api_render_view(co, v);
}

/* called by reqview_load with the published request */
static void published_view_cb(void *arg, const struct reqview *v, const char *err)
{
    struct published_op *op = arg;
    published_handle_view(op->co, op->rid, v, err, op->local_holder);
    free(op);
}

void published_handle(struct coord *co, const char *rid, bool local_holder)
{
    struct published_op *op = util_xcalloc(1, sizeof(*op));

    op->co = co;
    util_strlcpy(op->rid, rid, sizeof(op->rid));
    op->local_holder = local_holder;
    reqview_load(co, rid, published_view_cb, op);
}
