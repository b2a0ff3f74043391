/*
 * A log-linear latency histogram (HdrHistogram-like, own code): values are unsigned integers
 * (the benchmarks record microseconds); below 256 every value has its own bucket, above that
 * each power of two is split into 128 linear sub-buckets, so a reported percentile is never
 * more than 1/128 (< 0.8 %) above the true value and never below it.
 */
#ifndef MPIC_BENCH_HIST_H
#define MPIC_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)                 /* 128 sub-buckets per octave */
#define HIST_BUCKETS (HIST_SUB_COUNT * (64 - HIST_SUB_BITS + 1)) /* covers all of uint64_t */

struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t min;
    uint64_t max;
    double sum;
};

/** Empties h. */
void hist_reset(struct hist *h);
/** Records one value. */
void hist_record(struct hist *h, uint64_t value);
/** Adds every count of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/**
 * The smallest recorded-bucket upper bound v such that at least pct % of the values are
 * <= v (pct in 0..100; 100 gives the exact maximum); 0 when h is empty.
 */
uint64_t hist_percentile(const struct hist *h, double pct);
/** Arithmetic mean of the recorded values (0 when empty). */
double hist_mean(const struct hist *h);

/** The bucket index of value and the inclusive value range [lo, hi] of a bucket (for tests). */
unsigned hist_index(uint64_t value);
void hist_bucket_range(unsigned index, uint64_t *lo, uint64_t *hi);

#endif
