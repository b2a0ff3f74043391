/*
 * Time sources. Wall-clock time goes through one injectable function so that rules that change
 * with the date (the BR phase-in of minimum perspective counts) are testable without depending
 * on today's date; monotonic time is used for every timeout.
 */
#ifndef MPIC_CLOCK_H
#define MPIC_CLOCK_H

#include <stdint.h>

/** Wall-clock milliseconds since the Unix epoch (real time: deadlines, retention). */
int64_t clock_now_ms(void);
/**
 * Wall-clock milliseconds for date-dependent *policy* only (the BR phase-in), which honours
 * the override set with clock_set_override(); equals clock_now_ms() when none is set.
 */
int64_t clock_policy_now_ms(void);
/** Wall-clock nanoseconds since the Unix epoch (not overridden: used for result timestamps). */
int64_t clock_real_ns(void);
/** Monotonic milliseconds, for timeouts and durations. */
int64_t clock_mono_ms(void);
/**
 * Moves the policy clock to at `epoch_ms` + the time elapsed since this call (so it still moves),
 * or removes the override when epoch_ms < 0. Lab and tests only (config key clock_override).
 */
void clock_set_override(int64_t epoch_ms);

#endif
