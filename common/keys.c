/*
 * Redis key names (see keys.h for the layout).
 */
#include "keys.h"

#include <stdio.h>

void keys_jobs(char *out, size_t len, const char *prefix, const char *region)
{
    snprintf(out, len, "%s:jobs:{%s}", prefix, region);
}

void keys_results(char *out, size_t len, const char *prefix)
{
    snprintf(out, len, "%s:results", prefix);
}

void keys_req(char *out, size_t len, const char *prefix, const char *rid)
{
    snprintf(out, len, "%s:{%s}:req", prefix, rid);
}

void keys_res(char *out, size_t len, const char *prefix, const char *rid)
{
    snprintf(out, len, "%s:{%s}:res", prefix, rid);
}

void keys_st(char *out, size_t len, const char *prefix, const char *rid)
{
    snprintf(out, len, "%s:{%s}:st", prefix, rid);
}

void keys_due(char *out, size_t len, const char *prefix)
{
    snprintf(out, len, "%s:due", prefix);
}

void keys_replies(char *out, size_t len, const char *prefix, const char *coordinator_id)
{
    snprintf(out, len, "%s:replies:{%s}", prefix, coordinator_id);
}

void keys_audit(char *out, size_t len, const char *prefix)
{
    snprintf(out, len, "%s:audit", prefix);
}

void keys_prev(char *out, size_t len, const char *prefix, const char *rid)
{
    snprintf(out, len, "%s:{%s}:prev", prefix, rid);
}

void keys_cooldown(char *out, size_t len, const char *prefix, const char *target)
{
    snprintf(out, len, "%s:cooldown:{%s}", prefix, target);
}

void keys_alerts(char *out, size_t len, const char *prefix)
{
    snprintf(out, len, "%s:alerts", prefix);
}
