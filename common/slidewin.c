/*
 * Sliding-window counters (see slidewin.h): slot i holds the events of time slot tag[i]; a slot
 * is reused (and cleared) when time moves past it, and sums only count slots whose tag lies
 * within the last SLIDEWIN_SLOTS slots.
 */
#include "slidewin.h"

#include <string.h>

void slidewin_init(struct slidewin *w, int64_t window_ms)
{
    memset(w, 0, sizeof(*w));
    w->slot_ms = window_ms / SLIDEWIN_SLOTS;
    if (w->slot_ms < 1) w->slot_ms = 1;
    for (int i = 0; i < SLIDEWIN_SLOTS; i++) w->tag[i] = -1;
}

void slidewin_add(struct slidewin *w, int64_t now_ms, uint64_t total, uint64_t hits)
{
    int64_t tag = now_ms / w->slot_ms;
    int i = (int)(tag % SLIDEWIN_SLOTS);
    if (now_ms < 0) return;
    if (w->tag[i] != tag) {
        w->tag[i] = tag;
        w->total[i] = 0;
        w->hits[i] = 0;
    }
    w->total[i] += total;
    w->hits[i] += hits;
}

void slidewin_sum(const struct slidewin *w, int64_t now_ms, uint64_t *total, uint64_t *hits)
{
    int64_t tag = now_ms / w->slot_ms;
    *total = 0;
    *hits = 0;
    for (int i = 0; i < SLIDEWIN_SLOTS; i++) {
        if (w->tag[i] < 0 || w->tag[i] > tag || w->tag[i] <= tag - SLIDEWIN_SLOTS) continue;
        *total += w->total[i];
        *hits += w->hits[i];
    }
}

double slidewin_ratio(const struct slidewin *w, int64_t now_ms)
{
    uint64_t total, hits;
    slidewin_sum(w, now_ms, &total, &hits);
    return total ? (double)hits / (double)total : 0.0;
}
