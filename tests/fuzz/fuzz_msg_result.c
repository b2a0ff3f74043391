/*
 * libFuzzer target for msg_result_decode (common/msg.c): arbitrary bytes must never crash or
 * leak; a decoded result always carries boolean check_completed/check_passed and round-trips.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_result res, again;
    char err[128];
    char *buf = NULL;
    size_t len = 0;

    if (msg_result_decode((const char *)data, size, &res, err, sizeof(err)) != 0) {
        if (res.rid != NULL || res.check_response != NULL) abort();
        return 0;
    }
    if (!json_is_boolean(json_object_get(res.check_response, "check_completed")) ||
        !json_is_boolean(json_object_get(res.check_response, "check_passed")))
        abort();
    if (msg_result_encode(&res, &buf, &len) != 0) abort();
    if (msg_result_decode(buf, len, &again, err, sizeof(err)) != 0) abort();
    if (strcmp(res.rid, again.rid) != 0 || res.attempt != again.attempt ||
        !json_equal(res.check_response, again.check_response))
        abort();
    msg_result_free(&again);
    msg_result_free(&res);
    free(buf);
    return 0;
}
