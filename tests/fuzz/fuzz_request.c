/*
 * libFuzzer target for request_parse (coordinator/request.c) with fixed server limits: any
 * body must yield either a request whose resolved values respect the limits, or a non-empty
 * array of validation issues — never a crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_caa_domains[] = {"ca.test", "other-ca.test"};

static const struct request_limits fuzz_limits = {
    .nperspectives = 6,
    .default_perspective_count = 6,
    .min_perspective_count = 2,
    .absolute_max_attempts = 3,
    .default_deadline_ms = 10000,
    .min_deadline_ms = 500,
    .max_deadline_ms = 60000,
    .caa_domains = fuzz_caa_domains,
    .ncaa_domains = 2,
};

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_request req;
    json_t *issues = NULL;

    if (request_parse((const char *)data, size, &fuzz_limits, &req, &issues) == 0) {
        if (issues != NULL) abort();
        if (req.perspective_count < 2 || req.perspective_count > fuzz_limits.nperspectives ||
            req.quorum_count < 1 || req.quorum_count > req.perspective_count ||
            req.max_attempts < 1 || req.max_attempts > fuzz_limits.absolute_max_attempts ||
            req.deadline_ms < fuzz_limits.min_deadline_ms ||
            req.deadline_ms > fuzz_limits.max_deadline_ms || !json_is_object(req.check_params))
            abort();
        request_free(&req);
    } else {
        if (!json_is_array(issues) || json_array_size(issues) == 0) abort();
        json_decref(issues);
    }
    return 0;
}
