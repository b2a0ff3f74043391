/*
 * Unit tests for the pure part of worker/tls_alpn_check: the RFC 8738 §6 SNI name of IP
 * targets (in-addr.arpa / ip6.arpa), including short buffers and non-literals. The check
 * itself is tested end to end in tests/integration/test_tls_alpn.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tls_alpn_check.h"

static void test_reverse_v4(void **state)
{
    char out[128];
    (void)state;

    assert_int_equal(tls_alpn_reverse_name("192.0.2.1", out, sizeof(out)), 0);
    assert_string_equal(out, "1.2.0.192.in-addr.arpa");
    assert_int_equal(tls_alpn_reverse_name("127.0.0.3", out, sizeof(out)), 0);
    assert_string_equal(out, "3.0.0.127.in-addr.arpa");
    /* exactly fits: 22 bytes + NUL */
    assert_int_equal(tls_alpn_reverse_name("192.0.2.1", out, 23), 0);
    assert_int_equal(tls_alpn_reverse_name("192.0.2.1", out, 22), -1);
}

static void test_reverse_v6(void **state)
{
    char out[128];
    (void)state;

    assert_int_equal(tls_alpn_reverse_name("2001:db8::567:89ab", out, sizeof(out)), 0);
    /* the RFC 8738 §6 example */
    assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
                             "ip6.arpa");
    assert_int_equal(tls_alpn_reverse_name("::1", out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 64 + strlen("ip6.arpa"));
    assert_int_equal(tls_alpn_reverse_name("::1", out, 72), -1);
    assert_int_equal(tls_alpn_reverse_name("::1", out, 73), 0);
}

static void test_reverse_not_ip(void **state)
{
    char out[128];
    (void)state;

    assert_int_equal(tls_alpn_reverse_name("example.com", out, sizeof(out)), -1);
    assert_int_equal(tls_alpn_reverse_name("[2001:db8::1]", out, sizeof(out)), -1);
    assert_int_equal(tls_alpn_reverse_name("", out, sizeof(out)), -1);
    assert_int_equal(tls_alpn_reverse_name(NULL, out, sizeof(out)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reverse_v4),
        cmocka_unit_test(test_reverse_v6),
        cmocka_unit_test(test_reverse_not_ip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
