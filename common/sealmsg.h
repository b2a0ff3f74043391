/*
 * Jobs and results as they travel through Redis: the msgpack message (msg.h) inside a sealed
 * envelope (seal.h) whose header repeats and binds request id, attempt, perspective, check
 * type and expiry. With an empty keyring (no keys configured: local development only) the
 * plain message travels instead; with keys, anything unsealed is rejected.
 */
#ifndef MPIC_SEALMSG_H
#define MPIC_SEALMSG_H

#include "msg.h"
#include "seal.h"

/** True when sealing is in force (the keyring holds at least one key). */
bool sealmsg_enabled(const struct seal_keyring *kr);

/** Encodes job and seals it for job->perspective (expiry = its deadline). 0 or -1. */
int sealmsg_job_encode(const struct seal_keyring *kr, const struct msg_job *job, char **out,
                       size_t *outlen);
/**
 * Opens and decodes a job meant for perspective self. SEAL_OK fills *job; any other status
 * leaves it empty with a reason in err.
 */
enum seal_status sealmsg_job_open(const struct seal_keyring *kr, const char *blob, size_t len,
                                  const char *self, int64_t now_ms, struct msg_job *job,
                                  char *err, size_t errlen);

/** Encodes res and seals it with res->perspective's key, valid until expiry_ms. 0 or -1. */
int sealmsg_result_encode(const struct seal_keyring *kr, const struct msg_result *res,
                          int64_t expiry_ms, char **out, size_t *outlen);
/**
 * Opens and decodes a result. SEAL_OK fills *res and sets *plain (length *plainlen) to the inner
 * msgpack message (malloc'ed; what the request record stores). On a rejection, *claimed
 * names the request, attempt and perspective the result claims when that can be told
 * (claimed->rid non-empty), so the perspective can be counted as failed.
 */
enum seal_status sealmsg_result_open(const struct seal_keyring *kr, const char *blob,
                                     size_t len, int64_t now_ms, struct msg_result *res,
                                     char **plain, size_t *plainlen, struct seal_ad *claimed,
                                     char *err, size_t errlen);

#endif
