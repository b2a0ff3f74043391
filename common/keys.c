/*
 * Redis key names (see keys.h for the layout). Built by concatenation rather than snprintf:
 * several are built for every result and every request, and a printf call costs more than
 * the copy. Truncation is snprintf's: at most len - 1 bytes and a NUL.
 */
#include "keys.h"

#include <string.h>

#include "util.h"

/* Concatenates parts into out (len bytes), truncating like snprintf. */
static void keys_join(char *out, size_t len, const char *const *parts, size_t n)
{
    size_t off = 0;

    if (len == 0) return;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(parts[i]);
        if (pl > len - 1 - off) pl = len - 1 - off;
        memcpy(out + off, parts[i], pl);
        off += pl;
    }
    out[off] = '\0';
}

void keys_jobs(char *out, size_t len, const char *prefix, const char *region)
{
    const char *const parts[] = {prefix, ":jobs:{", region, "}"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_results(char *out, size_t len, const char *prefix)
{
    const char *const parts[] = {prefix, ":results"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_req(char *out, size_t len, const char *prefix, const char *rid)
{
    const char *const parts[] = {prefix, ":{", rid, "}:req"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_res(char *out, size_t len, const char *prefix, const char *rid)
{
    const char *const parts[] = {prefix, ":{", rid, "}:res"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_st(char *out, size_t len, const char *prefix, const char *rid)
{
    const char *const parts[] = {prefix, ":{", rid, "}:st"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_due(char *out, size_t len, const char *prefix)
{
    const char *const parts[] = {prefix, ":due"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_replies(char *out, size_t len, const char *prefix, const char *coordinator_id)
{
    const char *const parts[] = {prefix, ":replies:{", coordinator_id, "}"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_audit(char *out, size_t len, const char *prefix)
{
    const char *const parts[] = {prefix, ":audit"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_prev(char *out, size_t len, const char *prefix, const char *rid)
{
    const char *const parts[] = {prefix, ":{", rid, "}:prev"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_cooldown(char *out, size_t len, const char *prefix, const char *target)
{
    const char *const parts[] = {prefix, ":cooldown:{", target, "}"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}

void keys_alerts(char *out, size_t len, const char *prefix)
{
    const char *const parts[] = {prefix, ":alerts"};
    keys_join(out, len, parts, MPIC_ARRAY_LEN(parts));
}
