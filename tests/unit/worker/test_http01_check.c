/*
 * Unit tests for worker/http01_check.c: the pure rules (challenge URL, redirect validation,
 * body comparison) and the whole asynchronous check through real libcurl against an evhttp
 * server started inside the test process on 127.0.0.1 (IP-literal targets, so no DNS).
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
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "http01_check.h"
#include "http_walk.h"
#include "http_client.h"
#include "util.h"

#define KA "tok123.thumbprint-XYZ"

/* ------------------------------------------------------------------ pure functions ---- */

static int redirect(const char *cur, long status, const char *loc, char *next, size_t len)
{
    char err[256];
    int rc = http_walk_redirect_check(cur, status, loc, next, len, err, sizeof(err));
    if (rc != 0) assert_true(err[0] != '\0');
    return rc;
}

static void expect_next(long status, const char *loc, const char *want)
{
    char next[HTTP_WALK_MAX_URL];
    int rc = redirect("http://example.com/.well-known/acme-challenge/tok", status, loc, next,
                      sizeof(next));
    if (rc != 0) fail_msg("redirect %ld to %s rejected", status, loc);
    assert_string_equal(next, want);
}

static void expect_invalid(long status, const char *loc)
{
    char next[HTTP_WALK_MAX_URL];
    if (redirect("http://example.com/.well-known/acme-challenge/tok", status, loc, next,
                 sizeof(next)) == 0) {
        fail_msg("redirect %ld to %s accepted as %s", status, loc ? loc : "(null)", next);
    }
}

static void test_redirect_status(void **state)
{
    expect_next(301, "http://other.example/x", "http://other.example/x");
    expect_next(302, "http://other.example/x", "http://other.example/x");
    expect_next(307, "http://other.example/x", "http://other.example/x");
    expect_next(308, "http://other.example/x", "http://other.example/x");
    expect_invalid(303, "http://other.example/x");
    expect_invalid(300, "http://other.example/x");
    expect_invalid(304, "http://other.example/x");
    expect_invalid(305, "http://other.example/x");
    expect_invalid(200, "http://other.example/x");
    expect_invalid(404, "http://other.example/x");
}

static void test_redirect_schemes(void **state)
{
    expect_next(302, "https://other.example/x", "https://other.example/x");
    expect_next(302, "HTTPS://other.example/x", "https://other.example/x");
    expect_invalid(302, "ftp://other.example/x");
    expect_invalid(302, "file:///etc/passwd");
    expect_invalid(302, "gopher://other.example/x");
    expect_invalid(302, "javascript:alert(1)");
    expect_invalid(302, "data:text/plain,hello");
}

static void test_redirect_ports(void **state)
{
    expect_next(302, "http://other.example:80/x", "http://other.example:80/x");
    expect_next(302, "https://other.example:443/x", "https://other.example:443/x");
    expect_next(302, "https://other.example:80/x", "https://other.example:80/x");
    expect_next(302, "http://other.example:443/x", "http://other.example:443/x");
    expect_invalid(302, "http://other.example:8080/x");
    expect_invalid(302, "https://other.example:8443/x");
    expect_invalid(302, "http://other.example:22/x");
    expect_invalid(302, "http://other.example:0/x");
    expect_invalid(302, "http://other.example:65536/x");
    expect_invalid(302, "http://other.example:80x/x");
}

static void test_redirect_relative(void **state)
{
    expect_next(302, "/foo", "http://example.com/foo");
    expect_next(302, "bar", "http://example.com/.well-known/acme-challenge/bar");
    expect_next(302, "../x", "http://example.com/.well-known/x");
    expect_next(302, "//other.example/y", "http://other.example/y");
    expect_next(302, "?q=1", "http://example.com/.well-known/acme-challenge/tok?q=1");
    expect_next(302, "/p?a=b&c=d", "http://example.com/p?a=b&c=d");
    expect_next(302, "/x#frag", "http://example.com/x");
    expect_next(302, "http://other.example/x#frag", "http://other.example/x");
}

static void test_redirect_hosts(void **state)
{
    expect_next(302, "http://10.0.0.1/x", "http://10.0.0.1/x"); /* filtered at connect time */
    expect_next(302, "http://[2001:db8::1]/x", "http://[2001:db8::1]/x");
    expect_next(302, "http://Other.Example/x", "http://Other.Example/x");
    /* judged and reported in the form the hop really uses: curl decodes a percent-encoded
     * host on one parse and normalizes an IPv4 shorthand on the next (found by fuzz_redirect) */
    expect_next(302, "//1.%332", "http://1.0.0.32/");
    expect_next(302, "http://%31%32%37.0.0.1/", "http://127.0.0.1/");
    expect_next(302, "http://ex%61mple.org/x", "http://example.org/x");
    expect_next(302, "http://0x7f.1/x", "http://127.0.0.1/x");
    expect_invalid(302, "http:///x");
    expect_invalid(302, "http://:80/x");
    expect_invalid(302, "http://");
    expect_invalid(302, "http://[]/x");
    expect_invalid(302, "http://user@other.example/x");
    expect_invalid(302, "http://user:pw@other.example/x");
    expect_invalid(302, "http://:pw@other.example/x");
    expect_invalid(302, "http://other.example.well-known/acme-challenge/x");
    expect_invalid(302, "http://[fe80::1%25eth0]/x");
    expect_invalid(302, "http://localhost/x");
    expect_invalid(302, "http://exa_mple..com/x");
    expect_invalid(302, "http://b\xc3\xbc" "cher.example/x");
    expect_invalid(302, "http://other.example/a b");
    expect_invalid(302, "http://other.example/a\r\nX-Injected: 1");
    expect_invalid(302, "");
    expect_invalid(302, NULL);
}

static void test_redirect_lengths(void **state)
{
    char loc[HTTP_WALK_MAX_URL + 64];
    char next[HTTP_WALK_MAX_URL];
    size_t base = strlen("http://other.example/");

    memcpy(loc, "http://other.example/", base);
    memset(loc + base, 'a', HTTP_WALK_MAX_PATH - 1); /* path "/" + 1999 = 2000 bytes: fine */
    loc[base + HTTP_WALK_MAX_PATH - 1] = '\0';
    expect_next(302, loc, loc);
    memset(loc + base, 'a', HTTP_WALK_MAX_PATH); /* 2001 bytes */
    loc[base + HTTP_WALK_MAX_PATH] = '\0';
    expect_invalid(302, loc);
    /* a Location longer than the URL cap, even with a short path (long query) */
    memcpy(loc, "http://other.example/?", base + 1);
    memset(loc + base + 1, 'q', sizeof(loc) - base - 2);
    loc[sizeof(loc) - 1] = '\0';
    expect_invalid(302, loc);
    /* the caller's buffer too small */
    assert_int_equal(redirect("http://example.com/", 302, "http://other.example/abcdef", next,
                              10),
                     -1);
}

static void test_build_url(void **state)
{
    char url[256], err[128];

    assert_int_equal(http01_build_url("example.com", "tok_-9", url, sizeof(url), err,
                                      sizeof(err)),
                     0);
    assert_string_equal(url, "http://example.com/.well-known/acme-challenge/tok_-9");
    assert_int_equal(http01_build_url("2001:db8::1", "t", url, sizeof(url), err, sizeof(err)),
                     0);
    assert_string_equal(url, "http://[2001:db8::1]/.well-known/acme-challenge/t");
    assert_int_equal(http01_build_url("192.0.2.1", "t", url, sizeof(url), err, sizeof(err)), 0);
    assert_string_equal(url, "http://192.0.2.1/.well-known/acme-challenge/t");
    assert_int_equal(http01_build_url("example.com", "a/b", url, sizeof(url), err, sizeof(err)),
                     -1);
    assert_int_equal(http01_build_url("example.com", "a.b", url, sizeof(url), err, sizeof(err)),
                     -1);
    assert_int_equal(http01_build_url("example.com", "", url, sizeof(url), err, sizeof(err)), -1);
    assert_int_equal(http01_build_url("exa mple.com", "t", url, sizeof(url), err, sizeof(err)),
                     -1);
    assert_int_equal(http01_build_url("", "t", url, sizeof(url), err, sizeof(err)), -1);
    assert_int_equal(http01_build_url("a/b.com", "t", url, sizeof(url), err, sizeof(err)), -1);
    assert_int_equal(http01_build_url("example.com", "t", url, 20, err, sizeof(err)), -1);
}

static enum http01_body_verdict body(const char *b, size_t len)
{
    return http01_body_check((const unsigned char *)b, len, false, KA, strlen(KA));
}

static void test_body_check(void **state)
{
    assert_int_equal(body(KA, strlen(KA)), HTTP01_BODY_MATCH);
    assert_int_equal(body(KA "\n", strlen(KA) + 1), HTTP01_BODY_MATCH);
    assert_int_equal(body(KA "\r\n", strlen(KA) + 2), HTTP01_BODY_MATCH);
    assert_int_equal(body(KA " \t\r\n\v\f ", strlen(KA) + 7), HTTP01_BODY_MATCH);
    assert_int_equal(body(" " KA, strlen(KA) + 1), HTTP01_BODY_MISMATCH);
    assert_int_equal(body("\n" KA, strlen(KA) + 1), HTTP01_BODY_MISMATCH);
    assert_int_equal(body("TOK123.thumbprint-XYZ", strlen(KA)), HTTP01_BODY_MISMATCH);
    assert_int_equal(body("tok123.thumbprint-xyz", strlen(KA)), HTTP01_BODY_MISMATCH);
    assert_int_equal(body(KA, strlen(KA) - 1), HTTP01_BODY_MISMATCH);
    assert_int_equal(body(KA "x", strlen(KA) + 1), HTTP01_BODY_MISMATCH);
    assert_int_equal(body(KA "\0", strlen(KA) + 1), HTTP01_BODY_MISMATCH);
    assert_int_equal(body("", 0), HTTP01_BODY_MISMATCH);
    assert_int_equal(body("\n", 1), HTTP01_BODY_MISMATCH);
    /* the cap: flagged by the client, or longer than the limit */
    assert_int_equal(http01_body_check((const unsigned char *)KA, strlen(KA), true, KA,
                                       strlen(KA)),
                     HTTP01_BODY_TOO_LARGE);
    {
        unsigned char big[300];
        memset(big, ' ', sizeof(big));
        memcpy(big, KA, strlen(KA));
        assert_int_equal(http01_body_check(big, 256, false, KA, strlen(KA)), HTTP01_BODY_MATCH);
        assert_int_equal(http01_body_check(big, 257, false, KA, strlen(KA)),
                         HTTP01_BODY_TOO_LARGE);
    }
    assert_int_equal(http01_body_limit(10), 256);
    assert_int_equal(http01_body_limit(192), 256);
    assert_int_equal(http01_body_limit(193), 257);
    assert_int_equal(http01_body_limit(300), 364);
}

/* ------------------------------------------------- the whole check, real libcurl ---- */

struct fixture {
    struct event_base *base;
    struct evhttp *srv;
    int port;
    int closed_port; /* a port nothing listens on */
    struct http_client *http;
    struct check_env env;
    int hits;             /* requests the server saw */
    char host_hdr[128];   /* Host header of the last request */
    char ua_hdr[128];     /* User-Agent of the last request */
    char x_hdr[128];      /* X-Test of the last request */
    bool done;
    int calls;
    struct check_result res;
};

static void reply(struct evhttp_request *req, int code, const char *location, const char *text,
                  size_t len)
{
    struct evbuffer *b = evbuffer_new();
    if (location != NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    }
    evbuffer_add(b, text, len);
    evhttp_send_reply(req, code, "X", b);
    evbuffer_free(b);
}

static void copy_hdr(struct evhttp_request *req, const char *name, char *out, size_t len)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, len, "%s", v != NULL ? v : "");
}

/* called by evhttp for every request the check sends */
static void server_cb(struct evhttp_request *req, void *arg)
{
    struct fixture *f = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *p;
    static const char prefix[] = "/.well-known/acme-challenge/";
    char loc[256];

    f->hits++;
    copy_hdr(req, "Host", f->host_hdr, sizeof(f->host_hdr));
    copy_hdr(req, "User-Agent", f->ua_hdr, sizeof(f->ua_hdr));
    copy_hdr(req, "X-Test", f->x_hdr, sizeof(f->x_hdr));
    if (path == NULL || strncmp(path, prefix, strlen(prefix)) != 0) {
        reply(req, 404, NULL, "no", 2);
        return;
    }
    p = path + strlen(prefix);
    if (strcmp(p, "good") == 0) {
        reply(req, 200, NULL, KA "\r\n", strlen(KA) + 2);
    } else if (strcmp(p, "wrong") == 0) {
        reply(req, 200, NULL, "TOK123.THUMBPRINT-XYZ", strlen(KA));
    } else if (strcmp(p, "big") == 0) {
        char big[2000];
        memset(big, 'a', sizeof(big));
        reply(req, 200, NULL, big, sizeof(big));
    } else if (strcmp(p, "redir") == 0) {
        reply(req, 302, "/.well-known/acme-challenge/good", "", 0);
    } else if (strcmp(p, "r303") == 0) {
        reply(req, 303, "/.well-known/acme-challenge/good", "", 0);
    } else if (strcmp(p, "loop") == 0) {
        reply(req, 301, "http://127.0.0.1/.well-known/acme-challenge/loop", "", 0);
    } else if (strcmp(p, "badport") == 0) {
        reply(req, 302, "http://127.0.0.1:8080/.well-known/acme-challenge/good", "", 0);
    } else if (strncmp(p, "hops", 4) == 0) {
        /* "hops<k>": k more 307 redirects (relative Location), then the key authorization */
        int64_t k = 0;
        if (util_parse_int64(p + 4, 0, 100, &k) != 0 || k == 0) {
            reply(req, 200, NULL, KA, strlen(KA));
        } else {
            snprintf(loc, sizeof(loc), "hops%d", (int)(k - 1));
            reply(req, 307, loc, "", 0);
        }
    } else if (strcmp(p, "nolocation") == 0) {
        reply(req, 302, NULL, "moved", 5); /* a 3xx without Location is a final answer */
    } else if (strcmp(p, "atcap") == 0 || strcmp(p, "overcap") == 0) {
        /* the key authorization padded with spaces to exactly the body limit (or one more) */
        char buf[HTTP01_MIN_BODY_LIMIT + 1];
        size_t n = strcmp(p, "atcap") == 0 ? HTTP01_MIN_BODY_LIMIT : HTTP01_MIN_BODY_LIMIT + 1;
        memset(buf, ' ', sizeof(buf));
        memcpy(buf, KA, strlen(KA));
        reply(req, 200, NULL, buf, n);
    } else if (strcmp(p, "chunked") == 0) {
        struct evbuffer *b = evbuffer_new();
        evhttp_send_reply_start(req, 200, "OK"); /* HTTP/1.1 chunked transfer coding */
        evbuffer_add(b, "tok123.", 7);
        evhttp_send_reply_chunk(req, b);
        evbuffer_add(b, "thumbprint-XYZ\n", 15);
        evhttp_send_reply_chunk(req, b);
        evhttp_send_reply_end(req);
        evbuffer_free(b);
    } else if (strcmp(p, "userinfo") == 0) {
        reply(req, 302, "http://user:pw@127.0.0.1/.well-known/acme-challenge/good", "", 0);
    } else if (strcmp(p, "dotdot") == 0) {
        reply(req, 302, "../acme-challenge/./x/../good#frag", "", 0);
    } else if (strcmp(p, "slow") == 0) {
        return; /* never answers: the deadline must fire */
    } else {
        reply(req, 404, NULL, "not found", 9);
    }
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    int fd;

    f->base = event_base_new();
    f->srv = evhttp_new(f->base);
    evhttp_set_gencb(f->srv, server_cb, f);
    bs = evhttp_bind_socket_with_handle(f->srv, "127.0.0.1", 0);
    assert_non_null(bs);
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen);
    f->port = ntohs(sin.sin_port);
    /* a port that refuses connections: bind, read the port, close */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    slen = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &slen);
    f->closed_port = ntohs(sin.sin_port);
    close(fd);

    f->http = http_client_new(f->base);
    assert_non_null(f->http);
    f->env.base = f->base;
    f->env.resolver = NULL; /* IP-literal targets only */
    f->env.http = f->http;
    f->env.perspective = "test-1";
    f->env.http_port = f->port;
    f->env.https_port = f->closed_port;
    f->env.allow_private_targets = true;
    f->env.http_connect_timeout_ms = 2000;
    f->env.http_timeout_ms = 5000;
    f->env.user_agent = "mpic-test/1";
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    check_result_clear(&f->res);
    http_client_free(f->http);
    evhttp_free(f->srv);
    event_base_free(f->base);
    free(f);
    return 0;
}

/* called by the check when it completes */
static void check_done(void *arg, struct check_result *res)
{
    struct fixture *f = arg;

    f->calls++;
    f->done = true;
    f->res = *res;
    event_base_loopbreak(f->base);
}

static void run_check(struct fixture *f, const char *target, const char *token,
                      const char *headers_json, int64_t deadline_in_ms)
{
    struct check_request req;
    json_t *params = json_pack("{s:s,s:s,s:s}", "validation_method", "acme-http-01", "token",
                               token, "key_authorization", KA);

    if (headers_json != NULL) {
        json_object_set_new(params, "http_headers", json_loads(headers_json, 0, NULL));
    } else {
        json_object_set_new(params, "http_headers", json_null());
    }
    memset(&req, 0, sizeof(req));
    req.check_type = CHECK_TYPE_DCV;
    req.target = target;
    req.params = params;
    req.deadline_ms = clock_now_ms() + deadline_in_ms;
    f->done = false;
    f->calls = 0;
    check_result_clear(&f->res);
    http01_check_start(&f->env, &req, check_done, f);
    assert_false(f->done); /* never synchronous */
    json_decref(params);  /* the check must not keep borrowed params */
    while (!f->done) event_base_loop(f->base, EVLOOP_ONCE);
    /* let stragglers (a late fetch after a deadline) finish: there must be no second call */
    while (http_client_pending(f->http) > 0) event_base_loop(f->base, EVLOOP_ONCE);
    event_base_loop(f->base, EVLOOP_NONBLOCK);
    assert_int_equal(f->calls, 1);
}

static const char *err_type(struct fixture *f)
{
    assert_int_equal(f->res.nerrors, 1);
    return f->res.errors[0].type;
}

static bool msg_has(struct fixture *f, const char *needle)
{
    return f->res.nerrors > 0 && strstr(f->res.errors[0].message, needle) != NULL;
}

static const char *detail_str(struct fixture *f, const char *key)
{
    return json_string_value(json_object_get(f->res.details, key));
}

static void test_check_pass(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "good", "{\"X-Test\":\"hello\"}", 5000);
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    assert_int_equal(f->res.nerrors, 0);
    assert_string_equal(detail_str(f, "validation_method"), "acme-http-01");
    assert_string_equal(detail_str(f, "response_url"),
                        "http://127.0.0.1/.well-known/acme-challenge/good");
    assert_int_equal(json_integer_value(json_object_get(f->res.details, "response_status_code")),
                     200);
    assert_true(json_is_array(json_object_get(f->res.details, "response_history")));
    assert_int_equal(json_array_size(json_object_get(f->res.details, "response_history")), 0);
    /* base64("tok123.thumbprint-XYZ\r\n") */
    assert_string_equal(detail_str(f, "response_page"), "dG9rMTIzLnRodW1icHJpbnQtWFlaDQo=");
    assert_string_equal(f->host_hdr, "127.0.0.1"); /* the URL's host, not the lab port */
    assert_string_equal(f->ua_hdr, "mpic-test/1");
    assert_string_equal(f->x_hdr, "hello");
    assert_true(f->res.timestamp_ns > 0);
}

static void test_check_user_agent_override(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "good", "{\"User-Agent\":\"custom/2\"}", 5000);
    assert_true(f->res.passed);
    assert_string_equal(f->ua_hdr, "custom/2");
}

static void test_check_redirect(void **state)
{
    struct fixture *f = *state;
    json_t *hist;

    run_check(f, "127.0.0.1", "redir", NULL, 5000);
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    hist = json_object_get(f->res.details, "response_history");
    assert_int_equal(json_array_size(hist), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(hist, 0), "status_code")),
                     302);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "url")),
                        "http://127.0.0.1/.well-known/acme-challenge/good");
    assert_string_equal(detail_str(f, "response_url"),
                        "http://127.0.0.1/.well-known/acme-challenge/redir");
}

static void test_check_redirect_count(void **state)
{
    struct fixture *f = *state;
    int before = f->hits;

    run_check(f, "127.0.0.1", "hops10", NULL, 5000); /* exactly 10 redirects: fine */
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    assert_int_equal(json_array_size(json_object_get(f->res.details, "response_history")), 10);
    assert_int_equal(f->hits - before, 11);

    run_check(f, "127.0.0.1", "hops11", NULL, 5000); /* the 11th redirect is refused */
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "more than 10 redirects"));

    run_check(f, "127.0.0.1", "bad?x", NULL, 5000); /* tokens are base64url only */
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");
}

static void test_check_bad_redirects(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "r303", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "Redirect code: 303"));
    assert_true(msg_has(f, "test-1"));

    run_check(f, "127.0.0.1", "loop", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "loop"));

    run_check(f, "127.0.0.1", "badport", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "8080"));
}

static void test_check_mismatch_and_size(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "wrong", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:mismatch");
    assert_true(msg_has(f, "127.0.0.1"));

    run_check(f, "127.0.0.1", "big", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:mismatch");
    assert_true(msg_has(f, "too large"));
    /* only the capped prefix is reported: 256 bytes -> 344 base64 characters */
    assert_int_equal(strlen(detail_str(f, "response_page")), 344);
}

static void test_check_response_shapes(void **state)
{
    struct fixture *f = *state;
    json_t *hist;

    run_check(f, "127.0.0.1", "nolocation", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "Response status 302"));
    assert_int_equal(json_integer_value(json_object_get(f->res.details, "response_status_code")),
                     302);

    run_check(f, "127.0.0.1", "atcap", NULL, 5000); /* exactly the limit: read whole, trimmed */
    assert_true(f->res.completed);
    assert_true(f->res.passed);

    run_check(f, "127.0.0.1", "overcap", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_true(msg_has(f, "too large"));

    run_check(f, "127.0.0.1", "chunked", NULL, 5000);
    assert_true(f->res.completed);
    assert_true(f->res.passed);

    run_check(f, "127.0.0.1", "userinfo", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "userinfo"));

    run_check(f, "127.0.0.1", "dotdot", NULL, 5000); /* dot segments resolved, fragment gone */
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    hist = json_object_get(f->res.details, "response_history");
    assert_int_equal(json_array_size(hist), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "url")),
                        "http://127.0.0.1/.well-known/acme-challenge/good");
}

static void test_check_http_errors(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "missing", NULL, 5000);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "Response status 404"));
    assert_true(msg_has(f, "http://127.0.0.1/.well-known/acme-challenge/missing"));
    assert_int_equal(json_integer_value(json_object_get(f->res.details, "response_status_code")),
                     404);

    f->env.http_port = f->closed_port;
    run_check(f, "127.0.0.1", "good", NULL, 5000);
    f->env.http_port = f->port;
    assert_false(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "127.0.0.1"));
    assert_true(json_is_null(json_object_get(f->res.details, "response_status_code")));
    assert_true(json_is_null(json_object_get(f->res.details, "response_page")));
}

static void test_check_deadline(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = clock_mono_ms();

    run_check(f, "127.0.0.1", "slow", NULL, 300);
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(clock_mono_ms() - t0 < 3000);
}

static void test_check_special_refused(void **state)
{
    struct fixture *f = *state;
    int before = f->hits;

    f->env.allow_private_targets = false;
    run_check(f, "127.0.0.1", "good", NULL, 5000);
    f->env.allow_private_targets = true;
    assert_false(f->res.completed);
    assert_false(f->res.passed);
    assert_true(msg_has(f, "special-purpose"));
    assert_int_equal(f->hits, before); /* nothing reached the server */
}

static void test_check_bad_params(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "good", "{\"Host\":\"evil.example\"}", 5000);
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");

    run_check(f, "127.0.0.1", "good", "{\"X-A\":\"a\\r\\nX-B: b\"}", 5000);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");

    run_check(f, "127.0.0.1", "good", "{\"X-A\":1}", 5000);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");

    run_check(f, "127.0.0.1", "good", NULL, -5); /* deadline already passed */
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_string_equal(detail_str(f, "validation_method"), "acme-http-01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_status),
        cmocka_unit_test(test_redirect_schemes),
        cmocka_unit_test(test_redirect_ports),
        cmocka_unit_test(test_redirect_relative),
        cmocka_unit_test(test_redirect_hosts),
        cmocka_unit_test(test_redirect_lengths),
        cmocka_unit_test(test_build_url),
        cmocka_unit_test(test_body_check),
        cmocka_unit_test_setup_teardown(test_check_pass, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_user_agent_override, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_redirect, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_redirect_count, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_bad_redirects, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_mismatch_and_size, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_response_shapes, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_http_errors, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_deadline, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_special_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_bad_params, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
