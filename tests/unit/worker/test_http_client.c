/*
 * Unit tests for worker/http_client.c against an evhttp server inside the test process, each
 * run twice: with plain http:// fetches on our own client (http_plain.c) and with every fetch
 * on libcurl. CONNECT_TO pinning (Host stays the name, no DNS), no redirect following, the
 * raw Location, the body cap, the special-purpose veto (no packet sent), transport errors,
 * deferred setup failures, teardown with fetches in flight; and the two engines side by side
 * against a raw server: the same request bytes and the same result for the same answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_client.h"
#include "fetch_copy.h"
#include "raw_http_server.h"

struct fixture {
    struct event_base *base;
    struct evhttp *srv;
    int port;
    struct http_client *http;
    int hits;
    char host_hdr[128];
    char accept_hdr[64];
    char cookie_hdr[64];
    struct fetch_copy r; /* the last result */
};

/* called by evhttp for each request */
static void server_cb(struct evhttp_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();
    const char *v;

    f->hits++;
    v = evhttp_find_header(in, "Host");
    snprintf(f->host_hdr, sizeof(f->host_hdr), "%s", v ? v : "");
    v = evhttp_find_header(in, "Accept");
    snprintf(f->accept_hdr, sizeof(f->accept_hdr), "%s", v ? v : "");
    v = evhttp_find_header(in, "Cookie");
    snprintf(f->cookie_hdr, sizeof(f->cookie_hdr), "%s", v ? v : "");
    if (strcmp(path, "/redirect") == 0) {
        evhttp_add_header(out, "Location", "  /next?a=b  ");
        evhttp_add_header(out, "Set-Cookie", "s=1");
        evbuffer_add_printf(b, "moved");
        evhttp_send_reply(req, 302, "Found", b);
    } else if (strcmp(path, "/big") == 0) {
        char big[10000];
        memset(big, 'z', sizeof(big));
        evbuffer_add(b, big, sizeof(big));
        evhttp_send_reply(req, 200, "OK", b);
    } else if (strcmp(path, "/hang") == 0) {
        evbuffer_free(b);
        return;
    } else {
        evbuffer_add_printf(b, "hello");
        evhttp_send_reply(req, 200, "OK", b);
    }
    evbuffer_free(b);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    f->base = event_base_new();
    f->srv = evhttp_new(f->base);
    evhttp_set_gencb(f->srv, server_cb, f);
    bs = evhttp_bind_socket_with_handle(f->srv, "127.0.0.1", 0);
    assert_non_null(bs);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen);
    f->port = ntohs(sin.sin_port);
    f->http = http_client_new(f->base);
    assert_non_null(f->http);
    *state = f;
    return 0;
}

static int setup_curl(void **state)
{
    setup(state);
    http_client_set_curl_only(((struct fixture *)*state)->http, true);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    http_client_free(f->http);
    evhttp_free(f->srv);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* called by the client when a fetch ends */
static void fetch_done(void *arg, const struct http_fetch_result *r)
{
    fetch_copy_take(&((struct fixture *)arg)->r, r);
}

static void fetch(struct fixture *f, const char *path, bool pin, bool allow_private,
                  size_t max_body)
{
    char url[256], connect_to[64];
    const char *const headers[] = {"X-Extra: 1", NULL};
    struct http_fetch_opts o;

    snprintf(url, sizeof(url), "http://name.invalid%s", path);
    snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", f->port);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.connect_to = pin ? connect_to : NULL;
    o.connect_timeout_ms = 2000;
    o.timeout_ms = 3000;
    o.max_body = max_body;
    o.headers = headers;
    o.user_agent = "ua/1";
    o.allow_private = allow_private;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    assert_int_equal(f->r.calls, 0); /* never synchronous */
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.calls, 1);
    assert_int_equal(http_client_pending(f->http), 0);
}

static void test_pinned_fetch(void **state)
{
    struct fixture *f = *state;

    fetch(f, "/hello", true, true, 1024);
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.status, 200);
    assert_int_equal(f->r.body_len, 5);
    assert_memory_equal(f->r.body, "hello", 5);
    assert_false(f->r.too_large);
    assert_true(f->r.connected);
    assert_false(f->r.has_location);
    assert_string_equal(f->r.ip, "127.0.0.1");
    assert_string_equal(f->host_hdr, "name.invalid"); /* the name, not the pinned IP:port */
    assert_string_equal(f->accept_hdr, "*/*");
    assert_string_equal(f->r.error, "");
}

static void test_no_redirect_following(void **state)
{
    struct fixture *f = *state;
    int before;

    fetch(f, "/redirect", true, true, 1024);
    before = f->hits;
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.status, 302);
    assert_true(f->r.has_location);
    assert_string_equal(f->r.location, "/next?a=b"); /* value as sent, minus header padding */
    assert_memory_equal(f->r.body, "moved", 5);
    /* a second fetch sends no cookie from the first response */
    fetch(f, "/hello", true, true, 1024);
    assert_int_equal(f->hits, before + 1);
    assert_string_equal(f->cookie_hdr, "");
}

static void test_body_cap(void **state)
{
    struct fixture *f = *state;

    fetch(f, "/big", true, true, 100);
    assert_int_equal(f->r.status, 200);
    assert_true(f->r.too_large);
    assert_int_equal(f->r.code, CURLE_WRITE_ERROR);
    assert_int_equal(f->r.body_len, 100);
    assert_non_null(strstr(f->r.error, "100 bytes"));
    fetch(f, "/big", true, true, 10000); /* exactly the size: not too large */
    assert_false(f->r.too_large);
    assert_int_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.body_len, 10000);
}

static void test_veto_special(void **state)
{
    struct fixture *f = *state;
    int before = f->hits;

    fetch(f, "/hello", true, false, 1024);
    assert_true(f->r.vetoed);
    assert_false(f->r.connected);
    assert_int_equal(f->r.code, CURLE_COULDNT_CONNECT);
    assert_int_equal(f->r.status, 0);
    assert_string_equal(f->r.ip, "127.0.0.1");
    assert_non_null(strstr(f->r.error, "special-purpose"));
    assert_int_equal(f->hits, before); /* no request reached the server */
}

static void test_transport_errors(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char connect_to[64];
    int fd;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    /* connection refused on a closed port */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(fd, (struct sockaddr *)&sin, &slen);
    close(fd);
    snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", ntohs(sin.sin_port));
    memset(&o, 0, sizeof(o));
    o.url = "http://name.invalid/x";
    o.connect_to = connect_to;
    o.timeout_ms = 2000;
    o.max_body = 10;
    o.allow_private = true;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.code, CURLE_COULDNT_CONNECT);
    assert_false(f->r.connected);
    assert_false(f->r.vetoed);

    /* TLS to a plain HTTP server fails the handshake */
    snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", f->port);
    o.url = "https://name.invalid/x";
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_not_equal(f->r.code, CURLE_OK);
    assert_int_equal(f->r.status, 0);

    /* total timeout */
    o.url = "http://name.invalid/hang";
    o.timeout_ms = 200;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.code, CURLE_OPERATION_TIMEDOUT);
    assert_true(f->r.connected);
}

static void test_setup_failures_deferred(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;

    memset(&o, 0, sizeof(o));
    o.url = "ftp://name.invalid/x";
    o.connect_to = "::127.0.0.1:21";
    o.timeout_ms = 1000;
    o.allow_private = true;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    assert_int_equal(f->r.calls, 0);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.code, CURLE_UNSUPPORTED_PROTOCOL);

    o.url = NULL;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    assert_int_equal(f->r.calls, 0);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->r.code, CURLE_URL_MALFORMAT);
}

static void test_free_with_pending(void **state)
{
    struct fixture *f = *state;
    struct http_fetch_opts o;
    char connect_to[64];

    snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", f->port);
    memset(&o, 0, sizeof(o));
    o.url = "http://name.invalid/hang";
    o.connect_to = connect_to;
    o.timeout_ms = 5000;
    o.max_body = 10;
    o.allow_private = true;
    f->r.calls = 0;
    http_client_fetch(f->http, &o, fetch_done, f);
    http_client_fetch(f->http, &o, fetch_done, f);
    for (int i = 0; i < 50 && f->hits < 2; i++) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(f->hits, 2); /* both requests are at the server, which never answers */
    o.url = NULL; /* one still waiting for its deferred failure */
    http_client_fetch(f->http, &o, fetch_done, f);
    assert_int_equal(f->r.calls, 0);
    assert_int_equal(http_client_pending(f->http), 3);
    http_client_free(f->http);
    f->http = NULL;
    assert_int_equal(f->r.calls, 3);
    /* the loop must not hold stale events of the freed client */
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(f->r.calls, 3);
}

/* One fetch of <scheme>://name.test/p?q=1 to the raw server, by the client given. */
static void raw_fetch(struct fixture *f, struct http_client *c, int port, bool tls)
{
    const char *const headers[] = {"X-Extra: 1", "Empty;", "Removed:", NULL};
    char connect_to[64];
    struct http_fetch_opts o;

    snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", port);
    memset(&o, 0, sizeof(o));
    o.url = tls ? "https://name.test/p?q=1" : "http://name.test/p?q=1";
    o.connect_to = connect_to;
    o.connect_timeout_ms = 2000;
    o.timeout_ms = 3000;
    o.max_body = 16;
    o.headers = headers;
    o.user_agent = "ua/1";
    o.allow_private = true;
    f->r.calls = 0;
    http_client_fetch(c, &o, fetch_done, f);
    while (f->r.calls == 0) event_base_loop(f->base, EVLOOP_ONCE);
}

/*
 * libcurl and our client, side by side, over plain TCP and over TLS: the same request bytes,
 * and for each answer the same code, status, Location, body and cap flag.
 */
static void test_same_as_curl(void **state)
{
    struct fixture *f = *state;
    struct http_client *curl = http_client_new(f->base);
    struct raw_server srv, tls;
    char curl_req[sizeof(srv.request)];
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\nuntil close",
        "HTTP/1.1 302 Found\r\nLocation:   /next?a=b  \r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc",
        "HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\n01234567890123456789",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
        NULL,
    };

    http_client_set_curl_only(curl, true);
    raw_server_start(&srv, f->base);
    raw_server_start_tls(&tls, f->base);
    for (size_t i = 0; i < 2 * sizeof(answers) / sizeof(answers[0]); i++) {
        size_t k = i % (sizeof(answers) / sizeof(answers[0]));
        bool over_tls = i >= sizeof(answers) / sizeof(answers[0]);
        struct raw_server *to = over_tls ? &tls : &srv;
        struct fixture by_curl;
        raw_server_answer(to, answers[k]);
        raw_fetch(f, curl, to->port, over_tls);
        memcpy(curl_req, to->request, sizeof(curl_req));
        by_curl = *f;
        raw_fetch(f, f->http, to->port, over_tls);
        assert_string_equal(to->request, curl_req);
        assert_int_equal(f->r.code, by_curl.r.code);
        assert_int_equal(f->r.status, by_curl.r.status);
        assert_int_equal(f->r.has_location, by_curl.r.has_location);
        assert_string_equal(f->r.location, by_curl.r.location);
        assert_int_equal(f->r.body_len, by_curl.r.body_len);
        assert_memory_equal(f->r.body, by_curl.r.body, f->r.body_len);
        assert_int_equal(f->r.too_large, by_curl.r.too_large);
        assert_int_equal(f->r.connected, by_curl.r.connected);
    }
    assert_int_equal(srv.requests, 2 * (int)(sizeof(answers) / sizeof(answers[0])));
    assert_int_equal(tls.requests, 2 * (int)(sizeof(answers) / sizeof(answers[0])));
    assert_string_equal(tls.sni, "name.test");
    http_client_free(curl);
    raw_server_stop(&srv);
    raw_server_stop(&tls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pinned_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_redirect_following, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_veto_special, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_failures_deferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_fetch, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_no_redirect_following, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_veto_special, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_transport_errors, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_setup_failures_deferred, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup_curl, teardown),
        cmocka_unit_test_setup_teardown(test_same_as_curl, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
