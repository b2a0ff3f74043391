/*
 * Log-linear histogram for the benchmark tools: exact below 2 * HIST_SUB_COUNT, then
 * HIST_SUB_COUNT linear buckets per power of two. Percentiles report the upper bound of the
 * bucket that holds the wanted rank, so the relative error is at most 1 / HIST_SUB_COUNT.
 */
#include "hist.h"

#include <math.h>
#include <string.h>

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned hist_index(uint64_t value)
{
    if (value < 2 * HIST_SUB_COUNT) return (unsigned)value;
    unsigned msb = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = msb - HIST_SUB_BITS; /* >= 1 */
    unsigned sub = (unsigned)(value >> shift); /* in [HIST_SUB_COUNT, 2 * HIST_SUB_COUNT) */
    return HIST_SUB_COUNT * (shift + 1) + (sub - HIST_SUB_COUNT);
}

void hist_bucket_range(unsigned index, uint64_t *lo, uint64_t *hi)
{
    if (index < 2 * HIST_SUB_COUNT) {
        *lo = *hi = index;
        return;
    }
    unsigned shift = index / HIST_SUB_COUNT - 1;
    uint64_t sub = HIST_SUB_COUNT + index % HIST_SUB_COUNT;
    *lo = sub << shift;
    *hi = *lo + ((UINT64_C(1) << shift) - 1);
}

void hist_record(struct hist *h, uint64_t value)
{
    h->counts[hist_index(value)]++;
    h->total++;
    h->sum += (double)value;
    if (value < h->min) h->min = value;
    if (value > h->max) h->max = value;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->total > 0) {
        if (src->min < dst->min) dst->min = src->min;
        if (src->max > dst->max) dst->max = src->max;
    }
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
    if (h->total == 0) return 0;
    if (pct >= 100.0) return h->max;
    if (pct < 0.0) pct = 0.0;
    uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->total);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(i, &lo, &hi);
            return hi < h->max ? hi : h->max; /* never report more than was seen */
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->total ? h->sum / (double)h->total : 0.0;
}
