/*
 * Public Suffix List lookups through libpsl. The list is loaded once per process (the newest
 * of the system DAFSA file and libpsl's built-in list) and kept for the process lifetime;
 * only the ICANN DOMAINS section counts, with the implicit "*" rule for unknown TLDs.
 */
#include "pubsuffix.h"

#include <libpsl.h>
#include <stddef.h>

static const psl_ctx_t *pubsuffix_ctx(void)
{
    static const psl_ctx_t *ctx;
    static bool loaded;

    if (!loaded) {
        loaded = true;
        ctx = psl_latest(NULL); /* system list when newer than the built-in one */
        if (ctx == NULL) ctx = psl_builtin();
    }
    return ctx;
}

bool pubsuffix_is_icann_suffix(const char *name)
{
    const psl_ctx_t *ctx = pubsuffix_ctx();

    /* without any list, treat every name as a suffix: a wildcard is then refused (fail safe) */
    if (ctx == NULL) return true;
    return psl_is_public_suffix2(ctx, name, PSL_TYPE_ICANN) != 0;
}
