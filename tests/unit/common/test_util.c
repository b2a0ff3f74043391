/*
 * Tests for the small common modules: util (number and address parsing, bounded copies, hex),
 * perspective (RIR names, code syntax, great-circle distances against known city pairs),
 * keys (Redis key names and their Cluster hash tags), clock (the policy-clock override) and
 * the buffered random bytes (never the same bytes twice, not even in a forked child).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "keys.h"
#include "perspective.h"
#include "util.h"

static void test_parse_int64(void **state)
{
    static const char *const junk[] = {
        "",     " 1",  "1 ",  "+1",   "1a",  "a1",   "0x10", "1.0", "--1",  "- 1",
        "1e3",  "\t7", "7\n", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999999", "-",
    };
    int64_t v = 0;
    (void)state;

    assert_int_equal(util_parse_int64("0", 0, 10, &v), 0);
    assert_true(v == 0);
    assert_int_equal(util_parse_int64("-42", -100, 100, &v), 0);
    assert_true(v == -42);
    assert_int_equal(util_parse_int64("007", 0, 10, &v), 0); /* base 10, not octal */
    assert_true(v == 7);
    assert_int_equal(util_parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(util_parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    /* bounds are inclusive */
    assert_int_equal(util_parse_int64("5", 5, 5, &v), 0);
    v = 99;
    assert_int_equal(util_parse_int64("4", 5, 10, &v), -1);
    assert_int_equal(util_parse_int64("11", 5, 10, &v), -1);
    assert_true(v == 99); /* untouched on failure */
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (util_parse_int64(junk[i], INT64_MIN, INT64_MAX, &v) != -1)
            fail_msg("accepted \"%s\"", junk[i]);
    assert_int_equal(util_parse_int64(NULL, 0, 1, &v), -1);
}

static void test_parse_double(void **state)
{
    static const char *const junk[] = {"", "abc", "1.5x", "nan", "NaN", "inf", "-inf",
                                       "1e999", " 1.5", "1.5 ", "1,5", "."};
    double v = 0;
    (void)state;

    assert_int_equal(util_parse_double("1.5", &v), 0);
    assert_true(v == 1.5);
    assert_int_equal(util_parse_double("-77.49", &v), 0);
    assert_true(v == -77.49);
    assert_int_equal(util_parse_double("1e3", &v), 0);
    assert_true(v == 1000.0);
    assert_int_equal(util_parse_double("0", &v), 0);
    assert_true(v == 0.0);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (util_parse_double(junk[i], &v) != -1) fail_msg("accepted \"%s\"", junk[i]);
    assert_int_equal(util_parse_double(NULL, &v), -1);
}

static void expect_hostport(const char *s, int defport, const char *host, int port)
{
    char h[64];
    int p = -1;
    if (util_parse_hostport(s, defport, h, sizeof(h), &p) != 0) fail_msg("rejected \"%s\"", s);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void test_parse_hostport(void **state)
{
    static const char *const bad[] = {
        "",           "localhost:80", "example.com",  "1.2.3.4:0",   "1.2.3.4:65536",
        "1.2.3.4:",   "1.2.3.4:x",    "1.2.3.4:-1",   "1.2.3:80",    "[::1",
        "[::1]:",     "[::1]x",       "[::1]:0",      "[::1]:70000", "[]:80",
        "[host]:80",  "256.1.1.1:80", ":80",          "1.2.3.4:80:90", "::1:80:x",
        "1.2.3.4: 80", "1.2.3.4:+80", "[fe80::1%eth0]:80",
    };
    char h[64];
    char small[8];
    int p;
    (void)state;

    expect_hostport("127.0.0.1:6379", 0, "127.0.0.1", 6379);
    expect_hostport("10.1.2.3", 53, "10.1.2.3", 53);
    expect_hostport("10.1.2.3:5353", 53, "10.1.2.3", 5353);
    expect_hostport("[::1]:8080", 0, "::1", 8080);
    expect_hostport("[2001:db8::1]", 53, "2001:db8::1", 53);
    expect_hostport("2001:db8::1", 53, "2001:db8::1", 53); /* bare IPv6: default port */
    expect_hostport("::", 9, "::", 9);
    expect_hostport("0.0.0.0:65535", 0, "0.0.0.0", 65535);
    expect_hostport("1.1.1.1:1", 0, "1.1.1.1", 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (util_parse_hostport(bad[i], 53, h, sizeof(h), &p) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    /* without a default port, a port is required */
    assert_int_equal(util_parse_hostport("127.0.0.1", 0, h, sizeof(h), &p), -1);
    assert_int_equal(util_parse_hostport("[::1]", 0, h, sizeof(h), &p), -1);
    assert_int_equal(util_parse_hostport("::1", 0, h, sizeof(h), &p), -1);
    assert_int_equal(util_parse_hostport(NULL, 53, h, sizeof(h), &p), -1);
    /* a host buffer too small is an error, not a truncation */
    assert_int_equal(util_parse_hostport("192.168.100.200:1", 0, small, sizeof(small), &p), -1);
}

static void test_strlcpy(void **state)
{
    char buf[6];
    (void)state;

    memset(buf, 'x', sizeof(buf));
    assert_true(util_strlcpy(buf, "abc", sizeof(buf)));
    assert_string_equal(buf, "abc");
    assert_true(util_strlcpy(buf, "abcde", sizeof(buf))); /* exactly fits */
    assert_string_equal(buf, "abcde");
    assert_false(util_strlcpy(buf, "abcdef", sizeof(buf)));
    assert_string_equal(buf, "abcde");
    assert_false(util_strlcpy(buf, "a much longer string", sizeof(buf)));
    assert_string_equal(buf, "a muc");
    assert_true(util_strlcpy(buf, "", sizeof(buf)));
    assert_string_equal(buf, "");
    buf[0] = 'q';
    assert_false(util_strlcpy(buf, "abc", 0)); /* nothing written */
    assert_int_equal(buf[0], 'q');
    assert_false(util_strlcpy(buf, "abc", 1));
    assert_string_equal(buf, "");
}

static void test_hex_encode(void **state)
{
    static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];
    (void)state;

    memset(out, 'x', sizeof(out));
    util_hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "00017f80abff");
    util_hex_encode(in, 0, out);
    assert_string_equal(out, "");
}

static void test_ms_timeval(void **state)
{
    struct timeval tv;

    (void)state;
    tv = util_ms_timeval(0);
    assert_int_equal(tv.tv_sec, 0);
    assert_int_equal(tv.tv_usec, 0);
    tv = util_ms_timeval(1999);
    assert_int_equal(tv.tv_sec, 1);
    assert_int_equal(tv.tv_usec, 999000);
    tv = util_ms_timeval(INT64_C(86400000) * 365);
    assert_int_equal(tv.tv_sec, 86400 * 365);
    assert_int_equal(tv.tv_usec, 0);
    tv = util_ms_timeval(-5); /* a deadline already passed: fire now */
    assert_int_equal(tv.tv_sec, 0);
    assert_int_equal(tv.tv_usec, 0);
}

static void test_alloc_helpers(void **state)
{
    char *s = util_xstrndup("abcdef", 3);
    char *d = util_xstrdup("xyz");
    unsigned char *z = util_xcalloc(4, 4);
    unsigned char r1[32] = {0}, r2[32] = {0};
    (void)state;

    assert_string_equal(s, "abc");
    assert_string_equal(d, "xyz");
    for (int i = 0; i < 16; i++) assert_int_equal(z[i], 0);
    util_random_bytes(r1, sizeof(r1));
    util_random_bytes(r2, sizeof(r2));
    assert_memory_not_equal(r1, r2, sizeof(r1));
    free(s);
    free(d);
    free(z);
    free(util_xmalloc(0));
}

/* Many small draws across several pool refills: no 16-byte draw repeats, none is all zero. */
static void test_random_pool_distinct(void **state)
{
    enum { N = 2000 };
    unsigned char (*draws)[16] = calloc(N, 16);
    unsigned char big[600], zero[16] = {0};
    (void)state;

    assert_non_null(draws);
    for (int i = 0; i < N; i++) {
        util_random_bytes(draws[i], 16);
        assert_memory_not_equal(draws[i], zero, sizeof(zero));
        if (i % 97 == 0) util_random_bytes(big, sizeof(big)); /* the direct path, interleaved */
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) assert_memory_not_equal(draws[i], draws[j], 16);
    util_random_bytes(big, 0); /* nothing asked, nothing handed out */
    free(draws);
}

/* A forked child must not hand out the bytes its parent hands out next. */
static void test_random_pool_fork(void **state)
{
    unsigned char first[12], parent[32], child[32];
    int fds[2];
    pid_t pid;
    int status = 0;
    (void)state;

    util_random_bytes(first, sizeof(first)); /* the pool holds unused bytes now */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        util_random_bytes(child, sizeof(child));
        _exit(write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
    }
    close(fds[1]);
    util_random_bytes(parent, sizeof(parent));
    assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_not_equal(parent, child, sizeof(parent));
}

static struct perspective at(double lat, double lon)
{
    struct perspective p;
    memset(&p, 0, sizeof(p));
    p.lat = lat;
    p.lon = lon;
    return p;
}

static void assert_km(double got, double want)
{
    if (got < want * 0.99 || got > want * 1.01) fail_msg("%.1f km, expected %.1f km", got, want);
}

static void test_distance(void **state)
{
    struct perspective london = at(51.5074, -0.1278), paris = at(48.8566, 2.3522);
    struct perspective nyc = at(40.7128, -74.0060), la = at(34.0522, -118.2437);
    struct perspective sydney = at(-33.8688, 151.2093), tokyo = at(35.6762, 139.6503);
    struct perspective a = at(0, 0), b = at(0, 180), n = at(90, 0), s = at(-90, 0);
    struct perspective w = at(10, 179.5), e = at(10, -179.5);
    (void)state;

    assert_km(perspective_distance_km(&london, &paris), 344);
    assert_km(perspective_distance_km(&paris, &london), 344);
    assert_km(perspective_distance_km(&nyc, &la), 3936);
    assert_km(perspective_distance_km(&sydney, &tokyo), 7826);
    assert_km(perspective_distance_km(&a, &b), 20015); /* half the circumference */
    assert_km(perspective_distance_km(&n, &s), 20015);
    assert_km(perspective_distance_km(&w, &e), 109.5); /* across the antimeridian */
    assert_true(perspective_distance_km(&london, &london) == 0.0);
}

static void test_rir(void **state)
{
    static const char *const bad[] = {"", "ARIN ", "RIPENCC", "RIPE  NCC", "IANA", "APNIC1"};
    enum rir r;
    (void)state;

    assert_int_equal(perspective_rir_parse("ARIN", &r), 0);
    assert_int_equal(r, RIR_ARIN);
    assert_int_equal(perspective_rir_parse("RIPE NCC", &r), 0);
    assert_int_equal(r, RIR_RIPE_NCC);
    assert_int_equal(perspective_rir_parse("ripe", &r), 0);
    assert_int_equal(r, RIR_RIPE_NCC);
    assert_int_equal(perspective_rir_parse("Ripe_Ncc", &r), 0);
    assert_int_equal(r, RIR_RIPE_NCC);
    assert_int_equal(perspective_rir_parse("apnic", &r), 0);
    assert_int_equal(r, RIR_APNIC);
    assert_int_equal(perspective_rir_parse("LACNIC", &r), 0);
    assert_int_equal(r, RIR_LACNIC);
    assert_int_equal(perspective_rir_parse("AfriNIC", &r), 0);
    assert_int_equal(r, RIR_AFRINIC);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (perspective_rir_parse(bad[i], &r) != -1) fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(perspective_rir_parse(NULL, &r), -1);
    for (int i = 0; i < RIR_COUNT; i++) {
        assert_int_equal(perspective_rir_parse(perspective_rir_name((enum rir)i), &r), 0);
        assert_int_equal(r, i);
    }
    assert_string_equal(perspective_rir_name(RIR_RIPE_NCC), "RIPE NCC");
    assert_string_equal(perspective_rir_name(RIR_COUNT), "unknown");
}

static void test_name_valid(void **state)
{
    char name[80];
    (void)state;
    assert_true(perspective_name_valid("us-east-1"));
    assert_true(perspective_name_valid("a"));
    assert_true(perspective_name_valid("0.x-y"));
    assert_false(perspective_name_valid(""));
    assert_false(perspective_name_valid(NULL));
    assert_false(perspective_name_valid("-a"));
    assert_false(perspective_name_valid(".a"));
    assert_false(perspective_name_valid("US"));
    assert_false(perspective_name_valid("a b"));
    assert_false(perspective_name_valid("a{b}"));
    assert_false(perspective_name_valid("a,b"));
    assert_false(perspective_name_valid("a:b"));
    memset(name, 'a', 63);
    name[63] = '\0';
    assert_true(perspective_name_valid(name));
    name[63] = 'a';
    name[64] = '\0';
    assert_false(perspective_name_valid(name));
}

static void test_keys(void **state)
{
    char k[KEYS_MAX];
    char tiny[12];
    (void)state;

    keys_jobs(k, sizeof(k), "mpic", "us-east-1");
    assert_string_equal(k, "mpic:jobs:{us-east-1}");
    keys_results(k, sizeof(k), "mpic");
    assert_string_equal(k, "mpic:results");
    keys_req(k, sizeof(k), "lab", "0123abcd");
    assert_string_equal(k, "lab:{0123abcd}:req");
    keys_res(k, sizeof(k), "lab", "0123abcd");
    assert_string_equal(k, "lab:{0123abcd}:res");
    keys_st(k, sizeof(k), "lab", "0123abcd");
    assert_string_equal(k, "lab:{0123abcd}:st");
    keys_due(k, sizeof(k), "mpic");
    assert_string_equal(k, "mpic:due");
    keys_replies(k, sizeof(k), "mpic", "coord-7");
    assert_string_equal(k, "mpic:replies:{coord-7}");
    /* truncation stays terminated */
    keys_req(tiny, sizeof(tiny), "mpic", "0123456789abcdef");
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_string_equal(tiny, "mpic:{01234");
    keys_audit(k, sizeof(k), "mpic");
    assert_string_equal(k, "mpic:audit");
    keys_prev(k, sizeof(k), "lab", "0123abcd");
    assert_string_equal(k, "lab:{0123abcd}:prev");
    keys_cooldown(k, sizeof(k), "lab", "example.com");
    assert_string_equal(k, "lab:cooldown:{example.com}");
    keys_alerts(k, sizeof(k), "lab");
    assert_string_equal(k, "lab:alerts");
    keys_req(tiny, 1, "mpic", "x"); /* room for the NUL only */
    assert_string_equal(tiny, "");
    tiny[0] = 'z';
    keys_req(tiny, 0, "mpic", "x"); /* no room at all: untouched */
    assert_int_equal(tiny[0], 'z');
    assert_string_equal(KEYS_GROUP_WORKERS, "workers");
    assert_string_equal(KEYS_GROUP_REDUCERS, "reducers");
}

static void test_clock(void **state)
{
    int64_t real = clock_now_ms(), pol, m1, m2, ns;
    (void)state;

    clock_set_override(-1);
    pol = clock_policy_now_ms();
    assert_true(pol >= real && pol - real < 5000);
    assert_true(real > 1700000000000); /* after 2023-11 */

    clock_set_override(1773532800000); /* 2026-03-15 */
    pol = clock_policy_now_ms();
    assert_true(pol >= 1773532800000 && pol < 1773532800000 + 5000);
    /* the override keeps running with monotonic time */
    assert_true(clock_policy_now_ms() >= pol);
    /* real time is never overridden */
    assert_true(clock_now_ms() - real < 5000);
    ns = clock_real_ns();
    assert_true(ns / 1000000 - real < 5000 && ns / 1000000 >= real);

    clock_set_override(0); /* the epoch itself is a valid override */
    assert_true(clock_policy_now_ms() < 5000);
    clock_set_override(-1);
    assert_true(clock_policy_now_ms() >= real);

    m1 = clock_mono_ms();
    m2 = clock_mono_ms();
    assert_true(m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_int64),  cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_parse_hostport), cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_hex_encode),   cmocka_unit_test(test_alloc_helpers),
        cmocka_unit_test(test_distance),     cmocka_unit_test(test_rir),
        cmocka_unit_test(test_name_valid),   cmocka_unit_test(test_keys),
        cmocka_unit_test(test_clock),        cmocka_unit_test(test_ms_timeval),
        cmocka_unit_test(test_random_pool_distinct), cmocka_unit_test(test_random_pool_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
