/*
 * Post-publication work (see published.h): one reqview load, then the audit record, the
 * cooldown key, the request's metrics and any security alert. Failures are logged and counted by the modules; the verdict stands either way.
 */
#include "published.h"

#include "audit.h"
#include "cooldown.h"
#include "log.h"
#include "record_render.h"
#include "reqview.h"
#include "verdict_watch.h"

/* called by reqview_load with the published request */
static void published_view_cb(void *arg, const struct reqview *v, const char *err)
{
    struct coord *co = arg;

    if (v == NULL || record_render_state(v->req) == RECORD_MISSING) {
        log_error("after publishing: reading the request failed: %s",
                  v == NULL ? err : "the record is gone");
        audit_note_failure();
        return;
    }
    audit_write_published(co, v);
    cooldown_note(co, v->req);
    verdict_watch_report(co, v->rid, v->req, v->res);
}

void published_handle(struct coord *co, const char *rid)
{
    reqview_load(co, rid, published_view_cb, co);
}
