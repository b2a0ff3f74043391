/*
 * A sliding-window pair of counters ("hits out of total" over the last N milliseconds), kept
 * in SLIDEWIN_SLOTS time slots so that memory and cost are constant: e.g. how many of one
 * perspective's results in the last 10 minutes disagreed with the verdict.
 */
#ifndef MPIC_SLIDEWIN_H
#define MPIC_SLIDEWIN_H

#include <stdint.h>

#define SLIDEWIN_SLOTS 60

struct slidewin {
    int64_t slot_ms;                 /* window / SLIDEWIN_SLOTS, at least 1 */
    int64_t tag[SLIDEWIN_SLOTS];     /* now_ms / slot_ms of the slot's data; -1 empty */
    uint64_t total[SLIDEWIN_SLOTS];
    uint64_t hits[SLIDEWIN_SLOTS];
};

/** Empties the window; window_ms is its length (at least SLIDEWIN_SLOTS ms is used). */
void slidewin_init(struct slidewin *w, int64_t window_ms);
/** Records total events of which hits were "hits" at time now_ms (monotonic clock). */
void slidewin_add(struct slidewin *w, int64_t now_ms, uint64_t total, uint64_t hits);
/** Sums the slots within the window ending at now_ms (the oldest slot may be partial). */
void slidewin_sum(const struct slidewin *w, int64_t now_ms, uint64_t *total, uint64_t *hits);
/** hits / total within the window, 0 when the window holds no events. */
double slidewin_ratio(const struct slidewin *w, int64_t now_ms);

#endif
