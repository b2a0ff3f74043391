/*
 * libFuzzer target for msg_job_decode and msg_job_decode_body (common/msg.c): arbitrary bytes
 * must never crash, leak or allocate without bound; whatever decodes must re-encode and
 * decode to the same job, full and as a sealed body (its parameters without their top-level
 * nulls, which encoding leaves out).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when again is decoded, the parameters as encoding sends them: without top-level nulls. */
static bool params_same(const json_t *decoded, const json_t *again)
{
    json_t *want = json_deep_copy(decoded);
    const char *key;
    json_t *val;
    void *tmp;
    bool same;

    if (json_is_object(want)) {
        json_object_foreach_safe(want, tmp, key, val) {
            if (json_is_null(val)) json_object_del(want, key);
        }
    }
    same = json_equal(want, again);
    json_decref(want);
    return same;
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_job job, again;
    char err[128];
    char *buf = NULL;
    size_t len = 0;

    struct msg_job_header h = {"0123456789abcdef0123456789abcdef", 2, "us-east-1",
                                CHECK_TYPE_DCV, 1767225600123};

    /* as a sealed body: the header fills in or must agree with the fields it carries */
    if (msg_job_decode_body((const char *)data, size, &h, &job, err, sizeof(err)) == 0) {
        if (strcmp(job.rid, h.rid) != 0 || strcmp(job.perspective, h.perspective) != 0 ||
            job.attempt != h.attempt || job.deadline_ms != h.deadline_ms ||
            job.check_type != h.check_type)
            abort();
        if (msg_job_encode_body(&job, &buf, &len) != 0) abort();
        if (msg_job_decode_body(buf, len, &h, &again, err, sizeof(err)) != 0) abort();
        if (strcmp(job.target, again.target) != 0 || !params_same(job.params, again.params))
            abort();
        msg_job_free(&again);
        msg_job_free(&job);
        free(buf);
        buf = NULL;
    } else if (job.rid != NULL || job.params != NULL) {
        abort(); /* failure leaves it empty */
    }
    if (msg_job_decode((const char *)data, size, &job, err, sizeof(err)) != 0) {
        if (job.rid != NULL || job.params != NULL) abort(); /* failure leaves it empty */
        return 0;
    }
    if (msg_job_encode(&job, &buf, &len) != 0) abort();
    if (msg_job_decode(buf, len, &again, err, sizeof(err)) != 0) abort();
    if (strcmp(job.rid, again.rid) != 0 || strcmp(job.perspective, again.perspective) != 0 ||
        strcmp(job.target, again.target) != 0 || job.attempt != again.attempt ||
        job.deadline_ms != again.deadline_ms || job.wildcard != again.wildcard ||
        job.check_type != again.check_type || (job.trace_id == NULL) != (again.trace_id == NULL) ||
        !params_same(job.params, again.params))
        abort();
    msg_job_free(&again);
    msg_job_free(&job);
    free(buf);
    return 0;
}
