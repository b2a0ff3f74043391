/*
 * Process-local metrics rendered in the Prometheus text exposition format (version 0.0.4):
 * counters, gauges and histograms with fixed buckets, each family with a small fixed set of
 * label names and a bounded number of series (label combinations beyond the cap are dropped and
 * counted). Single-threaded (one libevent loop per process): no locks.
 */
#ifndef MPIC_METRICS_H
#define MPIC_METRICS_H

#include <event2/http.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 16
#define METRICS_MAX_SERIES 512     /* per family */
#define METRICS_LABEL_VALUE_MAX 64 /* longer label values are truncated */

enum metrics_type {
    METRICS_COUNTER = 0,   /* monotonically increasing; name should end in _total */
    METRICS_GAUGE = 1,     /* set or moved up and down */
    METRICS_HISTOGRAM = 2, /* observations counted into cumulative buckets (le) + sum + count */
};

struct metrics_registry;
struct metrics_family;

/** Called by metrics_render() before rendering, to refresh gauges that are sampled lazily. */
typedef void (*metrics_collect_cb)(void *arg);

struct metrics_registry *metrics_registry_new(void);
void metrics_registry_free(struct metrics_registry *r);
void metrics_registry_set_collect(struct metrics_registry *r, metrics_collect_cb cb, void *arg);

/**
 * Registers a family. labels: NULL or a NULL-terminated list of at most METRICS_MAX_LABELS
 * label names. buckets (histograms only): strictly increasing finite upper bounds in base
 * units; the +Inf bucket is implicit. Returns NULL (and logs) for an invalid name, label
 * name, bucket list, or a duplicate name; every operation on a NULL family is a no-op.
 */
struct metrics_family *metrics_family_new(struct metrics_registry *r, enum metrics_type type,
                                          const char *name, const char *help,
                                          const char *const *labels, const double *buckets,
                                          int nbuckets);

/*
 * Operations on one series, selected by its label values (as many as the family has label
 * names; NULL for a family without labels). The series is created on first use.
 */
/** Counter or gauge: adds v (counters ignore v < 0). */
void metrics_add(struct metrics_family *f, const char *const *values, double v);
/**
 * Counter fed from a running total kept elsewhere (a module's own event count): adds what
 * total gained since *seen, the total the previous call passed, and stores total in *seen.
 */
void metrics_add_since(struct metrics_family *f, const char *const *values, unsigned long total,
                       unsigned long *seen);
/** Gauge: sets v. */
void metrics_set(struct metrics_family *f, const char *const *values, double v);
/** Histogram: records one observation. */
void metrics_observe(struct metrics_family *f, const char *const *values, double v);
/** Creates the series with value 0 so that it is exported before its first event. */
void metrics_touch(struct metrics_family *f, const char *const *values);
/** Value of a counter/gauge series, or the observation count of a histogram (tests). */
double metrics_value(struct metrics_family *f, const char *const *values);

/** Label combinations refused because a family reached METRICS_MAX_SERIES. */
uint64_t metrics_dropped(const struct metrics_registry *r);

/** Renders every family (after the collect callback); returns a malloc'ed NUL-terminated
 * text and its length. */
char *metrics_render(struct metrics_registry *r, size_t *len);

/** Answers an evhttp request with the rendered text (GET/HEAD; anything else gets 405). */
void metrics_http_reply(struct metrics_registry *r, struct evhttp_request *req);

#endif
