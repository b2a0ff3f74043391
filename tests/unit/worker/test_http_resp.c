/*
 * Tests for worker/http_resp.c: status lines, interim responses, header fields the client
 * keeps (Location, Content-Length, Transfer-Encoding), the three body framings, the caps and
 * the end of the connection. Every input is also fed one byte at a time and in 3-byte runs,
 * which must give the same answer as feeding it whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

struct parsed {
    int result; /* enum http_resp_result after the last feed (and eof when asked) */
    long status;
    char location[HTTP_RESP_MAX_LOCATION + 1];
    bool has_location;
    char body[4096];
    size_t body_len;
    size_t body_cap; /* the callback refuses more than this */
    char error[128];
};

/* called by the parser with body bytes: keeps what fits under the cap (as the client does) */
static bool body_cb(void *arg, const unsigned char *p, size_t n)
{
    struct parsed *out = arg;
    size_t take = n > out->body_cap - out->body_len ? out->body_cap - out->body_len : n;
    memcpy(out->body + out->body_len, p, take);
    out->body_len += take;
    return take == n;
}

/* Feeds in runs of `step` bytes (0: whole), stopping at the first final answer. */
static void parse_step(const char *in, size_t len, size_t step, bool eof, size_t body_cap,
                       struct parsed *out)
{
    struct http_resp r;
    int res = HTTP_RESP_MORE;

    memset(out, 0, sizeof(*out));
    out->body_cap = body_cap;
    http_resp_init(&r, body_cb, out);
    for (size_t off = 0; off < len && res == HTTP_RESP_MORE;) {
        size_t n = step == 0 || len - off < step ? len - off : step;
        res = http_resp_feed(&r, (const unsigned char *)in + off, n);
        off += n;
    }
    if (eof && res == HTTP_RESP_MORE) res = http_resp_eof(&r);
    out->result = res;
    out->status = r.status;
    out->has_location = r.location != NULL;
    if (r.location != NULL) snprintf(out->location, sizeof(out->location), "%s", r.location);
    if (r.error != NULL) snprintf(out->error, sizeof(out->error), "%s", r.error);
    http_resp_free(&r);
}

/* Parses whole, byte by byte and in 3-byte runs; all three must agree. */
static struct parsed *parse_cap(const char *in, bool eof, size_t body_cap)
{
    static struct parsed whole, one, three;

    parse_step(in, strlen(in), 0, eof, body_cap, &whole);
    parse_step(in, strlen(in), 1, eof, body_cap, &one);
    parse_step(in, strlen(in), 3, eof, body_cap, &three);
    assert_int_equal(one.result, whole.result);
    assert_int_equal(three.result, whole.result);
    assert_int_equal(one.status, whole.status);
    assert_int_equal(one.body_len, whole.body_len);
    assert_memory_equal(one.body, whole.body, whole.body_len);
    assert_int_equal(three.body_len, whole.body_len);
    assert_memory_equal(three.body, whole.body, whole.body_len);
    assert_int_equal(one.has_location, whole.has_location);
    assert_string_equal(one.location, whole.location);
    return &whole;
}

static struct parsed *parse(const char *in, bool eof)
{
    return parse_cap(in, eof, 4096);
}

static void assert_body(const struct parsed *p, const char *body)
{
    assert_int_equal(p->body_len, strlen(body));
    assert_memory_equal(p->body, body, p->body_len);
}

static void test_content_length(void **state)
{
    struct parsed *p;
    (void)state;
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloEXTRA", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_int_equal(p->status, 200);
    assert_body(p, "hello"); /* bytes after the body are not the body */
    /* bare LF line ends, HTTP/1.0, no reason phrase, a repeated equal length */
    p = parse("HTTP/1.0 200\nContent-Length: 2\nContent-Length: 2\n\nok", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_body(p, "ok");
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_int_equal(p->body_len, 0);
    /* cut short */
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", true);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "connection closed before the end of the response body");
    /* malformed and conflicting lengths */
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "conflicting Content-Length values");
}

static void test_close_delimited_and_no_body(void **state)
{
    struct parsed *p;
    (void)state;
    p = parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", false);
    assert_int_equal(p->result, HTTP_RESP_MORE);
    p = parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", true);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_body(p, "until the end");
    /* 204 and 304 end with their header section */
    p = parse("HTTP/1.1 204 No Content\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    p = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_int_equal(p->body_len, 0);
    /* a Transfer-Encoding that does not end with chunked: the body ends with the connection */
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 1\r\n"
              "\r\n5\r\nhello\r\n0\r\n\r\n", true);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_body(p, "5\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked(void **state)
{
    struct parsed *p;
    (void)state;
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n1;ext=1\r\n \r\nA  \r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT",
              false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_body(p, "hello 0123456789");
    /* chunked wins over Content-Length; codings before chunked are kept as they are */
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, Chunked\r\n"
              "\r\n2\nab\n0\n\n", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_body(p, "ab");
    /* malformed */
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "malformed chunk size");
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "chunk data longer than its size");
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
              false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "chunk size too large");
    /* cut short */
    p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
}

static void test_status_lines_and_interim_responses(void **state)
{
    struct parsed *p;
    (void)state;
    p = parse("\r\nHTTP/1.1 100 Continue\r\nX: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
              "Location: /early\r\n\r\nHTTP/1.1 302 Found\r\nLocation:   /next  \r\n"
              "Location: /second\r\nContent-Length: 0\r\n\r\n", false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_int_equal(p->status, 302);
    assert_true(p->has_location);
    assert_string_equal(p->location, "/next"); /* the final response's first, trimmed */
    static const char *const bad[] = {
        "HTTP/2 200\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n", "http/1.1 200 OK\r\n\r\n", "HTTP/1.2 200 OK\r\n\r\n",
        "<html>hello</html>\r\n", "HTTP/1.1  200 OK\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = parse(bad[i], true);
        assert_int_equal(p->result, HTTP_RESP_ERROR);
        assert_int_equal(p->status, 0);
    }
    p = parse("", true);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "empty reply from server");
    p = parse("HTTP/1.1 200 OK\r\nX: 1\r\n", true);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "connection closed in the response header section");
}

static void test_header_lines(void **state)
{
    struct parsed *p;
    (void)state;
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nX: 1\r\n  folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad\x01Name: 1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = parse(bad[i], true);
        assert_int_equal(p->result, HTTP_RESP_ERROR);
    }
    /* no Location; an empty one is kept as empty */
    p = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
    assert_false(p->has_location);
    p = parse("HTTP/1.1 301 Moved\r\nLocation:\r\nContent-Length: 0\r\n\r\n", false);
    assert_true(p->has_location);
    assert_string_equal(p->location, "");
}

static void test_caps(void **state)
{
    struct parsed *p;
    char *in = malloc(HTTP_RESP_MAX_HEAD + 1024);
    size_t len;
    (void)state;
    /* a Location longer than the cap is dropped, the response still parses */
    len = (size_t)snprintf(in, 64, "HTTP/1.1 302 Found\r\nLocation: /");
    memset(in + len, 'a', HTTP_RESP_MAX_LOCATION);
    len += HTTP_RESP_MAX_LOCATION;
    memcpy(in + len, "\r\nContent-Length: 0\r\n\r\n", 24);
    p = parse(in, false);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
    assert_false(p->has_location);
    /* one line longer than the line cap */
    len = (size_t)snprintf(in, 64, "HTTP/1.1 200 OK\r\nX: ");
    memset(in + len, 'b', HTTP_RESP_MAX_LINE);
    memcpy(in + len + HTTP_RESP_MAX_LINE, "\r\n\r\n", 5);
    p = parse(in, false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "line too long");
    /* a header section larger than its cap, in short lines */
    len = (size_t)snprintf(in, 64, "HTTP/1.1 200 OK\r\n");
    while (len < HTTP_RESP_MAX_HEAD + 100) {
        memcpy(in + len, "X-Junk: 0123456789\r\n", 20);
        len += 20;
    }
    in[len] = '\0';
    p = parse(in, false);
    assert_int_equal(p->result, HTTP_RESP_ERROR);
    assert_string_equal(p->error, "response header section too large");
    free(in);
    /* the body callback stops the parse */
    p = parse_cap("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", false, 4);
    assert_int_equal(p->result, HTTP_RESP_STOPPED);
    assert_int_equal(p->status, 200);
    assert_body(p, "0123");
    p = parse_cap("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n0123", false, 4);
    assert_int_equal(p->result, HTTP_RESP_COMPLETE);
}

static void test_feed_after_the_end(void **state)
{
    struct http_resp r;
    const char *in = "HTTP/1.1 204 No Content\r\n\r\n";
    (void)state;
    http_resp_init(&r, NULL, NULL);
    assert_int_equal(http_resp_feed(&r, (const unsigned char *)in, strlen(in)),
                     HTTP_RESP_COMPLETE);
    assert_int_equal(http_resp_feed(&r, (const unsigned char *)"junk", 4), HTTP_RESP_COMPLETE);
    assert_int_equal(http_resp_eof(&r), HTTP_RESP_COMPLETE);
    http_resp_free(&r);
    http_resp_init(&r, NULL, NULL);
    assert_int_equal(http_resp_feed(&r, (const unsigned char *)"junk\n", 5), HTTP_RESP_ERROR);
    assert_int_equal(http_resp_feed(&r, (const unsigned char *)in, strlen(in)),
                     HTTP_RESP_ERROR);
    assert_int_equal(http_resp_eof(&r), HTTP_RESP_ERROR);
    http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_close_delimited_and_no_body),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_status_lines_and_interim_responses),
        cmocka_unit_test(test_header_lines),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_feed_after_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
