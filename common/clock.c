/*
 * Time sources with an injectable policy clock (see clock.h). The override keeps running from
 * the injected instant; real time (deadlines) is never overridden.
 */
#include "clock.h"

#include <time.h>

static int64_t clock_override_base_ms = -1; /* injected wall time, or -1 */
static int64_t clock_override_mono_ms;      /* monotonic time when it was injected */

static int64_t clock_read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    return clock_read_ms(CLOCK_MONOTONIC);
}

int64_t clock_now_ms(void)
{
    return clock_read_ms(CLOCK_REALTIME);
}

int64_t clock_policy_now_ms(void)
{
    if (clock_override_base_ms >= 0)
        return clock_override_base_ms + (clock_mono_ms() - clock_override_mono_ms);
    return clock_now_ms();
}

int64_t clock_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void clock_set_override(int64_t epoch_ms)
{
    clock_override_base_ms = epoch_ms;
    clock_override_mono_ms = clock_mono_ms();
}
