/*
 * libFuzzer target for worker/http_resp.c (HTTP/1.x responses read from challenge servers):
 * the first input byte picks a split point, the rest is fed whole to one parser and in two
 * pieces to another, each followed by the end of the connection. Any bytes must parse or fail
 * without crashing, both parsers must agree, and the body never grows past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
    size_t len;
    uint64_t sum; /* a position-weighted checksum of the body bytes */
};

/* called by the parser with body bytes */
static bool sink_cb(void *arg, const unsigned char *p, size_t n)
{
    struct sink *s = arg;
    for (size_t i = 0; i < n; i++) s->sum = s->sum * 31 + p[i] + (uint64_t)(s->len + i);
    s->len += n;
    return s->len <= 1 << 20;
}

static int run(const uint8_t *data, size_t size, size_t split, struct sink *s,
               struct http_resp *r)
{
    int res;

    memset(s, 0, sizeof(*s));
    http_resp_init(r, sink_cb, s);
    res = http_resp_feed(r, data, split);
    if (res == HTTP_RESP_MORE) res = http_resp_feed(r, data + split, size - split);
    if (res == HTTP_RESP_MORE) res = http_resp_eof(r);
    return res;
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_resp whole, split;
    struct sink a, b;
    size_t at;
    int ra, rb;

    if (size < 1) return 0;
    at = data[0] * (size - 1) / 255;
    data++;
    size--;
    ra = run(data, size, 0, &a, &whole);
    rb = run(data, size, at, &b, &split);
    if (ra != rb || a.len != b.len || a.sum != b.sum || whole.status != split.status)
        abort();
    if ((whole.location == NULL) != (split.location == NULL) ||
        (whole.location != NULL && strcmp(whole.location, split.location) != 0))
        abort();
    if (a.len > size) abort();
    if (whole.location != NULL && strlen(whole.location) > HTTP_RESP_MAX_LOCATION) abort();
    http_resp_free(&whole);
    http_resp_free(&split);
    return 0;
}
