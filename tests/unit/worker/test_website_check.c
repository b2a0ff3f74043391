/*
 * Unit tests for worker/website_check.c and the shared worker/http_walk.c: the matcher (strip,
 * substring, case folding, POSIX ERE with NUL bytes), URL building with IPv4/IPv6 literals, and
 * the whole asynchronous check through real libcurl against an evhttp server in this process
 * on 127.0.0.1 and [::1] (2xx rule, body prefix, 12-hop redirects, headers, special-purpose
 * refusal of IP literals, transport errors).
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
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "http_client.h"
#include "http_walk.h"
#include "util.h"
#include "website_check.h"

#define RV "rv-Secret-42"

/* ------------------------------------------------------------------ pure functions ---- */

static enum website_verdict match(const char *b, size_t len, const char *cv, bool exact,
                                  const char *re_text)
{
    regex_t re;
    enum website_verdict v;

    if (re_text != NULL) assert_int_equal(regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB), 0);
    v = website_body_match((const unsigned char *)b, len, cv, strlen(cv), exact,
                           re_text != NULL ? &re : NULL);
    if (re_text != NULL) regfree(&re);
    return v;
}

#define M(b, cv, exact, re) match((b), strlen(b), (cv), (exact), (re))

static void test_body_match(void **state)
{
    assert_int_equal(M(RV, RV, true, NULL), WEBSITE_MATCH);
    assert_int_equal(M("<p>" RV "</p>\n", RV, true, NULL), WEBSITE_MATCH);
    assert_int_equal(M("  \r\n" RV " \t\n", RV, true, NULL), WEBSITE_MATCH);
    assert_int_equal(M("rv-secret-42", RV, true, NULL), WEBSITE_NO_VALUE);
    assert_int_equal(M("RV-SECRET-42", RV, false, NULL), WEBSITE_MATCH);
    assert_int_equal(M("x rv-secret-42 y", RV, false, NULL), WEBSITE_MATCH);
    assert_int_equal(M("rv-Secret-4", RV, true, NULL), WEBSITE_NO_VALUE);
    assert_int_equal(M("", RV, true, NULL), WEBSITE_NO_VALUE);
    /* leading/trailing spaces of the value are not found in a stripped body */
    assert_int_equal(M(" " RV " ", " " RV, true, NULL), WEBSITE_NO_VALUE);
    /* non-ASCII bytes are compared as bytes, never folded */
    assert_int_equal(M("\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9", false, NULL), WEBSITE_NO_VALUE);
    assert_int_equal(M("caf\xc3\xa9", "CAF\xc3\xa9", false, NULL), WEBSITE_MATCH);
    /* regex: must match as well, case-sensitive, anchors apply to the stripped body */
    assert_int_equal(M(RV, RV, true, "^rv-[A-Za-z]+-[0-9]+$"), WEBSITE_MATCH);
    assert_int_equal(M("\n" RV "\n", RV, true, "^rv-[A-Za-z]+-[0-9]+$"), WEBSITE_MATCH);
    assert_int_equal(M(RV, RV, true, "^RV"), WEBSITE_NO_REGEX);
    assert_int_equal(M(RV, "", true, "Secret-(41|42)"), WEBSITE_MATCH);
    assert_int_equal(M("nothing", "", true, "Secret"), WEBSITE_NO_REGEX);
    assert_int_equal(M("token=abc123", "", true, "token=[a-z]+[0-9]{3}$"), WEBSITE_MATCH);
    /* NUL bytes inside the body: both the substring and the regex see past them */
    assert_int_equal(match("a\0" RV, strlen(RV) + 2, RV, true, NULL), WEBSITE_MATCH);
    assert_int_equal(match("a\0" RV, strlen(RV) + 2, "", true, "42$"), WEBSITE_MATCH);
    /* the body is not NUL-terminated: bytes past len are not seen */
    assert_int_equal(match(RV "tail", strlen(RV), "", true, "tail"), WEBSITE_NO_REGEX);
}

static void test_build_url(void **state)
{
    char url[256], err[200];

    assert_int_equal(website_build_url("http", "example.com", "f.txt", url, sizeof(url), err,
                                       sizeof(err)),
                     0);
    assert_string_equal(url, "http://example.com/.well-known/pki-validation/f.txt");
    assert_int_equal(website_build_url("https", "2001:db8::1", "a/b", url, sizeof(url), err,
                                       sizeof(err)),
                     0);
    assert_string_equal(url, "https://[2001:db8::1]/.well-known/pki-validation/a/b");
    assert_int_equal(website_build_url("http", "192.0.2.1", "f", url, sizeof(url), err,
                                       sizeof(err)),
                     0);
    assert_string_equal(url, "http://192.0.2.1/.well-known/pki-validation/f");
    assert_int_equal(website_build_url("ftp", "example.com", "f", url, sizeof(url), err,
                                       sizeof(err)),
                     -1);
    assert_int_equal(website_build_url("http", "example.com", "../f", url, sizeof(url), err,
                                       sizeof(err)),
                     -1);
    assert_int_equal(website_build_url("http", "example.com", "f?x", url, sizeof(url), err,
                                       sizeof(err)),
                     -1);
    assert_int_equal(website_build_url("http", "exa mple.com", "f", url, sizeof(url), err,
                                       sizeof(err)),
                     -1);
    assert_int_equal(website_build_url("http", "example.com", "f", url, 20, err, sizeof(err)),
                     -1);
    assert_int_equal(website_body_prefix(10, 0), WEBSITE_MIN_BODY_PREFIX);
    assert_int_equal(website_body_prefix(1024, 512), 1024 + 512 + 256);
}

/* ------------------------------------------------- the whole check, real libcurl ---- */

struct fixture {
    struct event_base *base;
    struct evhttp *srv;
    int port;        /* the server, on 127.0.0.1 and ::1 */
    int closed_port; /* a port nothing listens on */
    bool have_v6;
    struct http_client *http;
    struct check_env env;
    int hits;
    char host_hdr[128];
    char x_hdr[128];
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

/* called by evhttp for every request a check sends */
static void server_cb(struct evhttp_request *req, void *arg)
{
    struct fixture *f = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    static const char prefix[] = "/.well-known/pki-validation/";
    char loc[256];
    const char *p;

    f->hits++;
    copy_hdr(req, "Host", f->host_hdr, sizeof(f->host_hdr));
    copy_hdr(req, "X-Test", f->x_hdr, sizeof(f->x_hdr));
    if (path == NULL || strncmp(path, prefix, strlen(prefix)) != 0) {
        reply(req, 404, NULL, "no", 2);
        return;
    }
    p = path + strlen(prefix);
    if (strcmp(p, "good.txt") == 0) {
        reply(req, 200, NULL, "<html>\n" RV "\n</html>\n", strlen(RV) + 16);
    } else if (strcmp(p, "created") == 0) {
        reply(req, 201, NULL, RV, strlen(RV));
    } else if (strcmp(p, "gone") == 0) {
        reply(req, 410, NULL, RV, strlen(RV)); /* the value, but not 2xx */
    } else if (strcmp(p, "late") == 0 || strcmp(p, "early") == 0) {
        /* 5000 bytes of filler with the value at the start or past the read prefix */
        static char big[5000];
        memset(big, 'x', sizeof(big));
        memcpy(strcmp(p, "early") == 0 ? big : big + 3000, RV, strlen(RV));
        reply(req, 200, NULL, big, sizeof(big));
    } else if (strncmp(p, "hops", 4) == 0) {
        int64_t k = 0;
        if (util_parse_int64(p + 4, 0, 100, &k) != 0 || k == 0) {
            reply(req, 200, NULL, RV, strlen(RV));
        } else {
            snprintf(loc, sizeof(loc), "hops%d", (int)(k - 1));
            reply(req, 302, loc, "", 0);
        }
    } else if (strcmp(p, "to-https") == 0) {
        reply(req, 301, "https://127.0.0.1/.well-known/pki-validation/good.txt", "", 0);
    } else {
        reply(req, 404, NULL, "not found", 9);
    }
}

static int closed_port(void)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sin, sizeof(sin));
    getsockname(fd, (struct sockaddr *)&sin, &slen);
    close(fd);
    return ntohs(sin.sin_port);
}

static int fixture_setup(void **state)
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
    f->have_v6 = evhttp_bind_socket(f->srv, "::1", (uint16_t)f->port) == 0;
    f->closed_port = closed_port();
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

/* Runs one check; extra is a JSON object merged into the parameters (may be NULL). */
static void run_check(struct fixture *f, const char *target, const char *path, const char *cv,
                      const char *extra)
{
    struct check_request req;
    json_t *params = json_pack("{s:s,s:b,s:s,s:s,s:s,s:n,s:n}", "validation_method",
                               "website-change", "require_exact_case", 1, "challenge_value", cv,
                               "http_token_path", path, "url_scheme", "http", "http_headers",
                               "match_regex");

    if (extra != NULL) {
        json_t *e = json_loads(extra, 0, NULL);
        assert_non_null(e);
        json_object_update(params, e);
        json_decref(e);
    }
    memset(&req, 0, sizeof(req));
    req.check_type = CHECK_TYPE_DCV;
    req.target = target;
    req.params = params;
    req.deadline_ms = clock_now_ms() + 5000;
    f->done = false;
    f->calls = 0;
    check_result_clear(&f->res);
    check_start(&f->env, &req, check_done, f); /* through the dispatch table */
    assert_false(f->done);                     /* never synchronous */
    json_decref(params);
    while (!f->done) event_base_loop(f->base, EVLOOP_ONCE);
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

static json_int_t detail_int(struct fixture *f, const char *key)
{
    return json_integer_value(json_object_get(f->res.details, key));
}

static void test_check_pass_and_details(void **state)
{
    struct fixture *f = *state;
    static const char *const keys[] = {"validation_method", "response_history", "response_url",
                                       "response_status_code", "response_page"};
    const char *k;
    json_t *v;
    size_t i = 0;

    run_check(f, "127.0.0.1", "good.txt", RV, "{\"http_headers\":{\"X-Test\":\"hi\"}}");
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    assert_int_equal(f->res.nerrors, 0);
    json_object_foreach(f->res.details, k, v) assert_string_equal(k, keys[i++]);
    assert_int_equal(i, 5);
    assert_string_equal(detail_str(f, "validation_method"), "website-change");
    assert_string_equal(detail_str(f, "response_url"),
                        "http://127.0.0.1/.well-known/pki-validation/good.txt");
    assert_int_equal(detail_int(f, "response_status_code"), 200);
    assert_non_null(detail_str(f, "response_page"));
    assert_string_equal(f->host_hdr, "127.0.0.1");
    assert_string_equal(f->x_hdr, "hi");

    run_check(f, "127.0.0.1", "created", RV, NULL); /* any 2xx (BR), not only 200 */
    assert_true(f->res.passed);
    assert_int_equal(detail_int(f, "response_status_code"), 201);
}

static void test_check_case_and_regex(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "good.txt", "RV-SECRET-42", NULL);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:mismatch");
    assert_true(msg_has(f, "127.0.0.1"));
    assert_true(msg_has(f, "test-1"));

    run_check(f, "127.0.0.1", "good.txt", "RV-SECRET-42", "{\"require_exact_case\":false}");
    assert_true(f->res.passed);

    run_check(f, "127.0.0.1", "good.txt", "", "{\"match_regex\":\"rv-[A-Z][a-z]+-[0-9]{2}\"}");
    assert_true(f->res.passed);

    run_check(f, "127.0.0.1", "good.txt", RV, "{\"match_regex\":\"^rv-\"}"); /* body <html> */
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_true(msg_has(f, "match_regex"));
}

static void test_check_status_and_prefix(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "gone", RV, NULL);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "Response status 410"));
    assert_int_equal(detail_int(f, "response_status_code"), 410);

    run_check(f, "127.0.0.1", "missing", RV, NULL);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "http://127.0.0.1/.well-known/pki-validation/missing"));

    run_check(f, "127.0.0.1", "early", RV, NULL); /* a big page: only the prefix is read */
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    /* base64 of the 1024-byte prefix */
    assert_int_equal(strlen(detail_str(f, "response_page")), 4 * ((1024 + 2) / 3));

    run_check(f, "127.0.0.1", "late", RV, NULL); /* the value lies past the prefix */
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_true(msg_has(f, "first 1024 bytes"));
}

static void test_check_redirects(void **state)
{
    struct fixture *f = *state;
    int before = f->hits;

    run_check(f, "127.0.0.1", "hops12", RV, NULL); /* Open MPIC's long-redirect case */
    assert_true(f->res.passed);
    assert_int_equal(json_array_size(json_object_get(f->res.details, "response_history")), 12);
    assert_int_equal(f->hits - before, 13);

    run_check(f, "127.0.0.1", "hops21", RV, NULL);
    assert_true(f->res.completed);
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:redirect:invalid");
    assert_true(msg_has(f, "more than 20 redirects"));

    /* http -> https goes to the (lab) https port; nothing listens there: transport error */
    run_check(f, "127.0.0.1", "to-https", RV, NULL);
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "https://127.0.0.1/.well-known/pki-validation/good.txt"));
    assert_int_equal(json_array_size(json_object_get(f->res.details, "response_history")), 1);
}

static void test_check_ipv6_literal(void **state)
{
    struct fixture *f = *state;

    if (!f->have_v6) {
        fail_msg("this host has no ::1; the IPv6 literal cases cannot run");
    }
    run_check(f, "::1", "good.txt", RV, NULL);
    assert_true(f->res.completed);
    assert_true(f->res.passed);
    assert_string_equal(f->host_hdr, "[::1]"); /* bracketed in URL and Host (RFC 8738) */
    assert_string_equal(detail_str(f, "response_url"),
                        "http://[::1]/.well-known/pki-validation/good.txt");

    f->env.allow_private_targets = false; /* the IANA filter applies to literals too */
    {
        int before = f->hits;
        run_check(f, "::1", "good.txt", RV, NULL);
        assert_false(f->res.completed);
        assert_true(msg_has(f, "special-purpose"));
        assert_true(msg_has(f, "::1"));
        run_check(f, "127.0.0.1", "good.txt", RV, NULL);
        assert_false(f->res.completed);
        assert_true(msg_has(f, "special-purpose"));
        assert_int_equal(f->hits, before);
    }
    f->env.allow_private_targets = true;
}

static void test_check_transport_and_params(void **state)
{
    struct fixture *f = *state;

    run_check(f, "127.0.0.1", "good.txt", RV, "{\"url_scheme\":\"https\"}");
    assert_false(f->res.completed); /* connection refused on the https port */
    assert_false(f->res.passed);
    assert_string_equal(err_type(f), "mpic_error:http");
    assert_true(msg_has(f, "127.0.0.1"));
    assert_true(json_is_null(json_object_get(f->res.details, "response_status_code")));

    run_check(f, "127.0.0.1", "../x", RV, NULL);
    assert_false(f->res.completed);
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");
    assert_string_equal(detail_str(f, "validation_method"), "website-change");

    run_check(f, "127.0.0.1", "good.txt", "", NULL); /* empty value without a regex */
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");

    run_check(f, "127.0.0.1", "good.txt", RV, "{\"match_regex\":\"(a)\\\\1\"}");
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");

    run_check(f, "127.0.0.1", "good.txt", RV, "{\"http_headers\":{\"Host\":\"x.example\"}}");
    assert_string_equal(err_type(f), "mpic_error:dcv_checker:parameter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_match),
        cmocka_unit_test(test_build_url),
        cmocka_unit_test_setup_teardown(test_check_pass_and_details, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_case_and_regex, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_status_and_prefix, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_redirects, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_ipv6_literal, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_transport_and_params, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
