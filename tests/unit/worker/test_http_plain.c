/*
 * Tests for worker/http_plain.c against a raw TCP server in the test's event loop: which
 * fetches it takes, the exact request bytes, the three body framings, answers cut short or
 * empty, the body cap (status and Location still reported), the special-purpose veto, the
 * transfer timeout, teardown with fetches in flight; and https (SNI, request, answer, a
 * handshake against a server that does not speak TLS, a held handshake's timeout).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "fetch_copy.h"
#include "http_plain.h"
#include "raw_http_server.h"

struct fixture {
    struct event_base *base;
    struct raw_server srv;
    struct http_plain *plain;
    struct fetch_copy r; /* the last result */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->base = event_base_new();
    raw_server_start(&f->srv, f->base);
    f->plain = http_plain_new(f->base);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    http_plain_free(f->plain);
    raw_server_stop(&f->srv);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* called by the client when a fetch ends */
static void done_cb(void *arg, const struct http_fetch_result *r)
{
    fetch_copy_take(&((struct fixture *)arg)->r, r);
}

static void opts_for(struct fixture *f, struct http_fetch_opts *o, char *pin, size_t pinlen,
                     const char *url)
{
    snprintf(pin, pinlen, "::127.0.0.1:%d", f->srv.port);
    memset(o, 0, sizeof(*o));
    o->url = url;
    o->connect_to = pin;
    o->connect_timeout_ms = 2000;
    o->timeout_ms = 3000;
    o->max_body = 64;
    o->allow_private = true;
}

/* Runs one fetch to its end. */
static void run(struct fixture *f, const struct http_fetch_opts *o)
{
    f->r.calls = 0;
    assert_int_equal(http_plain_fetch(f->plain, o, done_cb, f), 0);
    assert_int_equal(f->r.calls, 0); /* never inline */
    assert_int_equal(http_plain_pending(f->plain), 1);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.calls, 1);
    assert_int_equal(http_plain_pending(f->plain), 0);
}

/* Fetches http://name.test/x answered with `answer`. */
static void answer_run(struct fixture *f, const char *answer)
{
    struct http_fetch_opts o;
    char pin[64];

    opts_for(f, &o, pin, sizeof(pin), "http://name.test/x");
    raw_server_answer(&f->srv, answer);
    run(f, &o);
}

static void test_takes_only_pinned_http(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char pin[64];
    static const char *const pins[] = {NULL, "name:80:127.0.0.1:80", "::127.0.0.1",
                                       "::127.0.0.1:0", "::127.0.0.1:99999", "::[::1:80",
                                       "::not-an-ip:80", "::127.0.0.1:80x"};

    opts_for(f, &o, pin, sizeof(pin), "ftp://name.test/x");
    assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), -1);
    o.url = NULL;
    assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), -1);
    o.url = "http://name.test/x";
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        o.connect_to = pins[i];
        assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), -1);
    }
    assert_int_equal(http_plain_pending(f->plain), 0);
    assert_int_equal(f->r.calls, 0);
    assert_int_equal(http_plain_fetch(NULL, &o, done_cb, f), -1);
}

static void test_request_bytes(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char pin[64];
    const char *const headers[] = {"X-Extra: 1", "Empty;", "Accept: text/plain", "Removed:",
                                   NULL};

    opts_for(f, &o, pin, sizeof(pin), "http://name.test/.well-known/a%20b?q=1&r#frag");
    o.user_agent = "ua/1";
    o.headers = headers;
    raw_server_answer(&f->srv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    run(f, &o);
    assert_string_equal(f->srv.request, "GET /.well-known/a%20b?q=1&r HTTP/1.1\r\n"
                                        "Host: name.test\r\n"
                                        "User-Agent: ua/1\r\n"
                                        "X-Extra: 1\r\n"
                                        "Empty:\r\n"
                                        "Accept: text/plain\r\n"
                                        "\r\n");
    assert_int_equal(f->r.code, CURLE_OK);
    assert_string_equal(f->r.error, "");
    assert_int_equal(f->r.status, 200);
    assert_true(f->r.connected);
    assert_string_equal(f->r.ip, "127.0.0.1");
    /* a port other than 80 is named in Host; no path is "/"; no user agent */
    opts_for(f, &o, pin, sizeof(pin), "http://name.test:8080");
    run(f, &o);
    assert_string_equal(f->srv.request, "GET / HTTP/1.1\r\n"
                                        "Host: name.test:8080\r\n"
                                        "Accept: */*\r\n"
                                        "\r\n");
}

static void test_framings(void **state)
{
    struct fixture *f = *state;

    answer_run(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.body_len, 5);
    assert_memory_equal(f->r.body, "abcde", 5);
    answer_run(f, "HTTP/1.0 200 OK\r\n\r\nuntil close");
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.body_len, 11);
    assert_memory_equal(f->r.body, "until close", 11);
    answer_run(f, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n"
                  "\r\nx");
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.status, 404);
}

static void test_cut_short_and_malformed(void **state)
{
    struct fixture *f = *state;

    answer_run(f, NULL); /* closed without a byte */
    assert_int_equal(f->r.code, CURLE_GOT_NOTHING);
    assert_int_equal(f->r.status, 0);
    assert_true(f->r.connected);
    answer_run(f, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc");
    assert_int_equal(f->r.code, CURLE_PARTIAL_FILE);
    assert_int_equal(f->r.status, 200);
    assert_non_null(strstr(f->r.error, "before the end of the response body"));
    answer_run(f, "HTTP/1.1 200 OK\r\nX-Half: 1\r\n");
    assert_int_equal(f->r.code, CURLE_WEIRD_SERVER_REPLY);
    answer_run(f, "SSH-2.0-OpenSSH_9.2\r\n");
    assert_int_equal(f->r.code, CURLE_WEIRD_SERVER_REPLY);
    assert_int_equal(f->r.status, 0);
    assert_non_null(strstr(f->r.error, "malformed HTTP/1.x status line"));
    answer_run(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n");
    assert_int_equal(f->r.code, CURLE_RECV_ERROR);
    assert_int_equal(f->r.status, 200);
}

static void test_body_cap_keeps_status_and_location(void **state)
{
    struct fixture *f = *state;
    static char answer[512];

    snprintf(answer, sizeof(answer),
             "HTTP/1.1 302 Found\r\nLocation:  /next?a=b \r\nContent-Length: 100\r\n\r\n%0100d",
             0);
    answer_run(f, answer);
    assert_int_equal(f->r.code, CURLE_WRITE_ERROR);
    assert_true(f->r.too_large);
    assert_int_equal(f->r.status, 302);
    assert_true(f->r.has_location);
    assert_string_equal(f->r.location, "/next?a=b");
    assert_int_equal(f->r.body_len, 64);
    assert_string_equal(f->r.error, "response body larger than 64 bytes");
}

static void test_veto_and_refused(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char pin[64];
    int requests = f->srv.requests;

    opts_for(f, &o, pin, sizeof(pin), "http://name.test/x");
    o.allow_private = false; /* 127.0.0.1 is special-purpose */
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_COULDNT_CONNECT);
    assert_true(f->r.vetoed);
    assert_false(f->r.connected);
    assert_string_equal(f->r.ip, "127.0.0.1");
    assert_non_null(strstr(f->r.error, "special-purpose"));
    assert_int_equal(f->srv.requests, requests); /* no packet sent */
    /* the same over IPv6 */
    o.connect_to = "::[::1]:80";
    run(f, &o);
    assert_true(f->r.vetoed);
    assert_string_equal(f->r.ip, "::1");
    /* a closed port */
    o.allow_private = true;
    o.connect_to = "::127.0.0.1:1";
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_COULDNT_CONNECT);
    assert_false(f->r.vetoed);
    assert_false(f->r.connected);
    assert_non_null(strstr(f->r.error, "Failed to connect to 127.0.0.1 port 1"));
}

static void test_timeout(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char pin[64];

    f->srv.hold = 1;
    opts_for(f, &o, pin, sizeof(pin), "http://name.test/x");
    o.timeout_ms = 150;
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_OPERATION_TIMEDOUT);
    assert_true(f->r.connected);
    assert_non_null(strstr(f->r.error, "Operation timed out after"));
}

static void test_free_with_pending(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char pin[64];

    f->srv.hold = 1;
    opts_for(f, &o, pin, sizeof(pin), "http://name.test/x");
    f->r.calls = 0;
    assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), 0);
    assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), 0);
    while (f->srv.requests < 2) event_base_loop(f->base, EVLOOP_ONCE);
    o.allow_private = false; /* one still waiting for its deferred veto */
    assert_int_equal(http_plain_fetch(f->plain, &o, done_cb, f), 0);
    assert_int_equal(http_plain_pending(f->plain), 3);
    http_plain_free(f->plain);
    f->plain = NULL;
    assert_int_equal(f->r.calls, 3);
    event_base_loop(f->base, EVLOOP_NONBLOCK); /* no stale events of the freed client */
    assert_int_equal(f->r.calls, 3);
}

/* https: SNI is the name (none for an IP literal), the request as for http, Host without
 * the default port 443; the answer is read through TLS. */
static void test_https(void **state)
{
    struct fixture *f = *state;
    struct raw_server tls;
    struct http_fetch_opts o;
    char pin[64];
    static char big[20000 + 64];

    raw_server_start_tls(&tls, f->base);
    snprintf(pin, sizeof(pin), "::127.0.0.1:%d", tls.port);
    memset(&o, 0, sizeof(o));
    o.url = "https://name.test/p?q=1";
    o.connect_to = pin;
    o.connect_timeout_ms = 2000;
    o.timeout_ms = 3000;
    o.max_body = 64;
    o.allow_private = true;
    raw_server_answer(&tls, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.status, 200);
    assert_int_equal(f->r.body_len, 5);
    assert_memory_equal(f->r.body, "hello", 5);
    assert_true(f->r.connected);
    assert_string_equal(tls.sni, "name.test");
    assert_string_equal(tls.request, "GET /p?q=1 HTTP/1.1\r\nHost: name.test\r\n"
                                     "Accept: */*\r\n\r\n");
    /* an IP literal sends no SNI; a body larger than one TLS record, until close */
    o.url = "https://192.0.2.7:8443/";
    o.max_body = sizeof(big);
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\n\r\n");
    memset(big + strlen(big), 'z', 20000);
    raw_server_answer(&tls, big);
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.body_len, 20000);
    assert_string_equal(tls.sni, "");
    assert_non_null(strstr(tls.request, "Host: 192.0.2.7:8443\r\n"));
    /* a handshake with a server that answers in plain HTTP */
    snprintf(pin, sizeof(pin), "::127.0.0.1:%d", f->srv.port);
    raw_server_answer(&f->srv, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    f->srv.at_once = 1;
    o.url = "https://name.test/x";
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_SSL_CONNECT_ERROR);
    assert_int_equal(f->r.status, 0);
    assert_false(f->r.connected);
    assert_non_null(strstr(f->r.error, "TLS handshake failed"));
    /* a server that never answers the handshake: the connect timeout */
    f->srv.at_once = 0; /* it waits for a request that never comes */
    o.connect_timeout_ms = 150;
    run(f, &o);
    assert_int_equal(f->r.code, CURLE_OPERATION_TIMEDOUT);
    assert_false(f->r.connected);
    assert_non_null(strstr(f->r.error, "Connection timed out after"));
    raw_server_stop(&tls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_takes_only_pinned_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_short_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap_keeps_status_and_location, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_veto_and_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
