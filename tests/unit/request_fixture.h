/*
 * A parsed POST /mpic request for unit tests of what the coordinator builds from one (the
 * response echo, the request record): request_parse with fixed limits that must accept the
 * body. Header-only (static functions); include after <cmocka.h>.
 */
#ifndef MPIC_TEST_REQUEST_FIXTURE_H
#define MPIC_TEST_REQUEST_FIXTURE_H

#include <string.h>

#include "request.h"

static const char *const fixture_caa_domains[] = {"example-ca.test"};

/* Parses body into req (request_free it); fails the test when it does not validate. */
static void fixture_parse(const char *body, struct api_request *req)
{
    struct request_limits l = {
        .nperspectives = 9, .default_perspective_count = 6, .min_perspective_count = 2,
        .absolute_max_attempts = 1, .default_deadline_ms = 10000, .min_deadline_ms = 500,
        .max_deadline_ms = 60000, .caa_domains = fixture_caa_domains, .ncaa_domains = 1,
    };
    json_t *issues = NULL;

    assert_int_equal(request_parse(body, strlen(body), &l, req, &issues), 0);
    assert_null(issues);
}

#endif
