/*
 * The messages that cross Redis between the coordinator and the workers, msgpack-encoded:
 * a job (one check for one perspective) and a result (that perspective's check_response).
 * Check parameters and the check_response travel as schemaless maps converted from/to
 * jansson values (mpjson.h), so new validation methods need no message change. Decoding is
 * size-capped and rejects truncated, trailing or ill-typed input.
 */
#ifndef MPIC_MSG_H
#define MPIC_MSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_VERSION 1
#define MSG_MAX_BYTES (256 * 1024) /* largest blob accepted by msg_*_decode */
#define MSG_RID_MAX 64             /* request ids are 32 hex chars */

enum check_type {
    CHECK_TYPE_CAA = 0,
    CHECK_TYPE_DCV = 1,
};

/** "caa" / "dcv". */
const char *check_type_name(enum check_type t);
int check_type_parse(const char *s, enum check_type *out);

struct msg_job {
    char *rid;           /* request id */
    uint32_t attempt;    /* 1-based attempt number */
    char *perspective;   /* perspective code that must run it */
    enum check_type check_type;
    char *target;        /* normalized: lower-case A-labels without "*." and trailing dot, or an IP */
    bool wildcard;       /* the request target started with "*." */
    int64_t deadline_ms; /* epoch ms; a result after this is useless */
    char *trace_id;      /* NULL when absent */
    json_t *params;      /* caa_check_parameters or dcv_check_parameters (defaults filled in);
                            encoding leaves out its top-level keys whose value is null */
};

struct msg_result {
    char *rid;
    uint32_t attempt;
    char *perspective;
    enum check_type check_type;
    json_t *check_response; /* Open MPIC CheckResponse object */
};

/**
 * The job fields a sealed envelope's authenticated header already carries. A sealed job's
 * body leaves them out (about 75 of ~315 bytes per job in Redis); see common/sealmsg.c.
 */
struct msg_job_header {
    const char *rid;
    uint32_t attempt;
    const char *perspective;
    enum check_type check_type;
    int64_t deadline_ms;
};

/** Encodes into a malloc'ed buffer; returns 0 or -1. */
int msg_job_encode(const struct msg_job *job, char **out, size_t *outlen);
/** The same without the header fields (for a sealed envelope's body). */
int msg_job_encode_body(const struct msg_job *job, char **out, size_t *outlen);
/** Decodes; on failure returns -1 with a reason in err and leaves *job empty. */
int msg_job_decode(const char *buf, size_t len, struct msg_job *job, char *err, size_t errlen);
/**
 * Decodes a sealed job's body: the header fields come from h; a body that carries any of them
 * anyway (an older coordinator's full job) must agree with h.
 */
int msg_job_decode_body(const char *buf, size_t len, const struct msg_job_header *h,
                        struct msg_job *job, char *err, size_t errlen);
void msg_job_free(struct msg_job *job);

int msg_result_encode(const struct msg_result *res, char **out, size_t *outlen);
int msg_result_decode(const char *buf, size_t len, struct msg_result *res, char *err,
                      size_t errlen);
void msg_result_free(struct msg_result *res);

#endif
