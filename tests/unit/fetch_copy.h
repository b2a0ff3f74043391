/*
 * A copy of one worker HTTP fetch result (struct http_fetch_result is valid during its
 * callback only), for the HTTP client unit tests: fetch_copy_take from the callback, then
 * assert on the fields. Header-only (static functions); include after <cmocka.h>.
 */
#ifndef MPIC_TEST_FETCH_COPY_H
#define MPIC_TEST_FETCH_COPY_H

#include <stdio.h>
#include <string.h>

#include "http_client.h"

struct fetch_copy {
    int calls; /* results taken */
    CURLcode code;
    char error[CURL_ERROR_SIZE + 128];
    long status;
    char location[512];
    bool has_location;
    char body[32768];
    size_t body_len;
    bool too_large;
    bool connected;
    bool vetoed;
    char ip[HTTP_CLIENT_IP_MAX];
};

static void fetch_copy_take(struct fetch_copy *c, const struct http_fetch_result *r)
{
    c->calls++;
    c->code = r->code;
    snprintf(c->error, sizeof(c->error), "%s", r->error);
    c->status = r->status;
    c->has_location = r->location != NULL;
    snprintf(c->location, sizeof(c->location), "%s", r->location ? r->location : "");
    assert_non_null(r->body);
    assert_true(r->body_len <= sizeof(c->body));
    memcpy(c->body, r->body, r->body_len);
    c->body_len = r->body_len;
    c->too_large = r->body_too_large;
    c->connected = r->connected;
    c->vetoed = r->vetoed;
    snprintf(c->ip, sizeof(c->ip), "%s", r->primary_ip);
    assert_true(r->elapsed_ms >= 0);
}

#endif
