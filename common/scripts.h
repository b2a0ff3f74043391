/*
 * The atomic Redis scripts in lua/ (embedded at build time): EVALSHA with the SHA1 computed
 * locally, and on NOSCRIPT (restart, failover, SCRIPT FLUSH) one retry with EVAL, which also
 * re-caches the script. See docs/architecture.md for each script's contract.
 */
#ifndef MPIC_SCRIPTS_H
#define MPIC_SCRIPTS_H

#include <stddef.h>

#include "redis_client.h"

enum script_id {
    SCRIPT_RECORD = 0,   /* lua/record.lua */
    SCRIPT_TALLY = 1,    /* lua/tally.lua */
    SCRIPT_FINALIZE = 2, /* lua/finalize.lua */
    SCRIPT_PUBLISH = 3,  /* lua/publish.lua */
    SCRIPT_RETRY = 4,    /* lua/retry.lua */
    SCRIPT_ADVANCE = 5,  /* lua/advance.lua */
    SCRIPT_LEASE = 6,    /* lua/lease.lua */
    SCRIPT_COUNT = 7,
};

/** Loads the embedded sources and computes their SHA1s; returns -1 if one is missing. */
int scripts_init(void);
/** The script text (for tests). */
const char *scripts_source(enum script_id id);
/**
 * Runs a script: args holds nkeys keys followed by the ARGV values (binary safe, lens[i]
 * bytes each). cb is called exactly once, like redis_client_commandargv.
 */
void scripts_eval(struct redis_client *rc, enum script_id id, int nkeys, int nargs,
                  const char *const *args, const size_t *lens, redis_client_reply_cb cb,
                  void *arg);

#endif
