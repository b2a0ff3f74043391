/*
 * Redis key names, built in one place so docs/architecture.md has one source of truth.
 * Per-request keys share the hash tag {R} (one Cluster slot per request); each region's job
 * stream carries its own tag {region}; no script touches keys of two requests or regions.
 */
#ifndef MPIC_KEYS_H
#define MPIC_KEYS_H

#include <stddef.h>

#define KEYS_MAX 160
#define KEYS_GROUP_WORKERS "workers"   /* consumer group on every job stream */
#define KEYS_GROUP_REDUCERS "reducers" /* consumer group on the results stream */

/** <prefix>:jobs:{<region>} — stream of jobs for one region (perspective). */
void keys_jobs(char *out, size_t len, const char *prefix, const char *region);
/** <prefix>:results — stream of results from every worker. */
void keys_results(char *out, size_t len, const char *prefix);
/** <prefix>:{<R>}:req / :res / :st — request record, result blobs, outcomes. */
void keys_req(char *out, size_t len, const char *prefix, const char *rid);
void keys_res(char *out, size_t len, const char *prefix, const char *rid);
void keys_st(char *out, size_t len, const char *prefix, const char *rid);
/** <prefix>:{<R>}:prev — results of R's earlier (failed) attempts: "<A>:<code>" -> blob. */
void keys_prev(char *out, size_t len, const char *prefix, const char *rid);
/** <prefix>:cooldown:{<target>} — a target whose corroboration failed, until it expires. */
void keys_cooldown(char *out, size_t len, const char *prefix, const char *target);
/** <prefix>:due — sorted set of request ids by the time they need attention (epoch ms). */
void keys_due(char *out, size_t len, const char *prefix);
/** <prefix>:replies:{<coordinator id>} — notification stream of one coordinator. */
void keys_replies(char *out, size_t len, const char *prefix, const char *coordinator_id);
/** <prefix>:audit — stream of audit records, one per decided attempt (JSON). */
void keys_audit(char *out, size_t len, const char *prefix);
/** <prefix>:alerts — stream of security alerts (failed corroborations with disagreement). */
void keys_alerts(char *out, size_t len, const char *prefix);

#endif
