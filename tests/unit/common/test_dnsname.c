/*
 * Unit tests for common/dnsname: target normalization (case, trailing dot, wildcard, IDNA2008
 * U-labels and A-label validation, IPv4/IPv6 literals with brackets), rejection of bad
 * characters, lengths and misplaced wildcards, and the parent walk / label helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dnsname.h"

/* Normalizes `in` and asserts success with the expected output, kind and wildcard flag. */
static void expect_ok(const char *in, const char *want, enum dnsname_kind want_kind,
                      bool want_wild)
{
    char out[DNSNAME_MAX];
    char err[256] = "";
    enum dnsname_kind kind = DNSNAME_DOMAIN;
    bool wild = !want_wild;
    int rc = dnsname_normalize_target(in, out, sizeof(out), &kind, &wild, err, sizeof(err));

    if (rc != 0) print_error("unexpected failure for \"%s\": %s\n", in, err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, want);
    assert_int_equal(kind, want_kind);
    assert_int_equal(wild, want_wild);
}

/* Asserts that `in` is rejected with a message containing `needle`. */
static void expect_bad(const char *in, const char *needle)
{
    char out[DNSNAME_MAX];
    char err[256] = "";
    enum dnsname_kind kind;
    bool wild;
    int rc = dnsname_normalize_target(in, out, sizeof(out), &kind, &wild, err, sizeof(err));

    if (rc == 0) print_error("unexpected success for \"%s\": %s\n", in, out);
    assert_int_equal(rc, -1);
    assert_true(err[0] != '\0');
    if (needle != NULL && strstr(err, needle) == NULL) {
        print_error("message for \"%s\" is \"%s\", wanted \"%s\"\n", in, err, needle);
        fail();
    }
}

static void test_plain_domains(void **state)
{
    (void)state;
    expect_ok("example.com", "example.com", DNSNAME_DOMAIN, false);
    expect_ok("WWW.Example.COM", "www.example.com", DNSNAME_DOMAIN, false);
    expect_ok("example.com.", "example.com", DNSNAME_DOMAIN, false);
    expect_ok("a-b.c0.example", "a-b.c0.example", DNSNAME_DOMAIN, false);
    expect_ok("123.example.com", "123.example.com", DNSNAME_DOMAIN, false);
}

static void test_wildcard(void **state)
{
    (void)state;
    expect_ok("*.example.com", "example.com", DNSNAME_DOMAIN, true);
    expect_ok("*.Sub.Example.com.", "sub.example.com", DNSNAME_DOMAIN, true);
    expect_bad("*", "*");
    expect_bad("*.*.example.com", "wildcard");
    expect_bad("a.*.example.com", "wildcard");
    expect_bad("*a.example.com", "wildcard");
    expect_bad("*.com.", "two labels");
    expect_bad("*.1.2.3.4", "IP");
    expect_bad("*.::1", "IP");
    expect_bad("*.[2001:db8::1]", NULL);
}

static void test_idn(void **state)
{
    (void)state;
    expect_ok("bücher.de", "xn--bcher-kva.de", DNSNAME_DOMAIN, false);
    expect_ok("BÜCHER.de", "xn--bcher-kva.de", DNSNAME_DOMAIN, false);
    expect_ok("*.bücher.de", "xn--bcher-kva.de", DNSNAME_DOMAIN, true);
    /* IDNA2008 non-transitional: sharp s is kept, not mapped to "ss". */
    expect_ok("faß.de", "xn--fa-hia.de", DNSNAME_DOMAIN, false);
    expect_ok("例え.テスト", "xn--r8jz45g.xn--zckzah", DNSNAME_DOMAIN, false);
    expect_bad("☃.com", "internationalized");
    expect_bad("a\xff" "b.com", "internationalized");
}

static void test_alabels(void **state)
{
    (void)state;
    expect_ok("xn--bcher-kva.de", "xn--bcher-kva.de", DNSNAME_DOMAIN, false);
    expect_ok("XN--BCHER-KVA.DE", "xn--bcher-kva.de", DNSNAME_DOMAIN, false);
    expect_ok("xn--zca.de", "xn--zca.de", DNSNAME_DOMAIN, false);
    expect_bad("xn--ab-c.com", "A-label");  /* invalid punycode */
    expect_bad("xn--9999999999a.com", "A-label"); /* punycode overflow */
    expect_bad("xn--abc-.com", NULL);
    expect_bad("xn--.com", NULL);
    expect_bad("xn--abc.de", "A-label");    /* decodes to a disallowed code point */
    expect_bad("xn--n3h.com", "A-label");   /* snowman: IDNA2003 only */
    expect_bad("ab--cd.com", "third and fourth");
}

static void test_ips(void **state)
{
    (void)state;
    expect_ok("192.0.2.1", "192.0.2.1", DNSNAME_IPV4, false);
    expect_ok("2001:db8::1", "2001:db8::1", DNSNAME_IPV6, false);
    expect_ok("[2001:db8::1]", "2001:db8::1", DNSNAME_IPV6, false);
    expect_ok("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", DNSNAME_IPV6, false);
    expect_ok("[::FFFF:192.0.2.1]", "::ffff:192.0.2.1", DNSNAME_IPV6, false);
    expect_bad("[192.0.2.1]", "IPv6");
    expect_bad("[2001:db8::1", "IPv6");
    expect_bad("2001:db8::1]", "IPv6");
    expect_bad("2001:db8:::1", "IPv6");
    expect_bad("[]", "IPv6");
    expect_bad("fe80::1%eth0", "IPv6");
    expect_bad("1.2.3.4.", "numeric");
    expect_bad("1.2.3", "numeric");
    expect_bad("256.1.1.1", "numeric");
}

static void test_bad_chars_and_labels(void **state)
{
    (void)state;
    expect_bad("", "empty");
    expect_bad(NULL, "empty");
    expect_bad(".", NULL);
    expect_bad("example", "two labels");
    expect_bad("a..com", "empty label");
    expect_bad(".example.com", "empty label");
    expect_bad("example.com..", "empty label");
    expect_bad("exa_mple.com", "invalid character");
    expect_bad("exa mple.com", "whitespace");
    expect_bad("example.com\t", "whitespace");
    expect_bad("-example.com", NULL);
    expect_bad("example-.com", NULL);
    expect_bad("ex!ample.com", "invalid character");
    expect_bad("http://example.com", NULL);
    expect_bad("example.com/path", "invalid character");
}

static void test_lengths(void **state)
{
    char name[600];
    char want[300];
    char label[70];
    char out[DNSNAME_MAX];
    char small[8];
    char err[128];
    enum dnsname_kind kind;
    bool wild;
    (void)state;

    memset(label, 'a', 63);
    label[63] = '\0';
    snprintf(name, sizeof(name), "%s.com", label);
    expect_ok(name, name, DNSNAME_DOMAIN, false);
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(name, sizeof(name), "%s.com", label);
    expect_bad(name, "63");

    /* 3 labels of 63 + a label of 59 + ".a" = 253 bytes exactly; one more is too long. */
    memset(label, 'b', 63);
    label[63] = '\0';
    snprintf(name, sizeof(name), "%s.%s.%s.%.59s.a", label, label, label, label);
    assert_int_equal(strlen(name), 253);
    expect_ok(name, name, DNSNAME_DOMAIN, false);
    snprintf(name, sizeof(name), "%s.%s.%s.%.60s.a", label, label, label, label);
    assert_int_equal(strlen(name), 254);
    expect_bad(name, "253");
    /* With a trailing dot the 253-byte name is still accepted. */
    snprintf(want, sizeof(want), "%s.%s.%s.%.59s.a", label, label, label, label);
    snprintf(name, sizeof(name), "%s.", want);
    assert_int_equal(strlen(name), 254);
    expect_ok(name, want, DNSNAME_DOMAIN, false);

    memset(name, 'c', 599);
    name[599] = '\0';
    expect_bad(name, NULL);

    assert_int_equal(dnsname_normalize_target("example.com", small, sizeof(small), &kind, &wild,
                                              err, sizeof(err)), -1);
    assert_int_equal(dnsname_normalize_target("example.com", out, sizeof(out), NULL, NULL, NULL,
                                              0), 0);
    assert_string_equal(out, "example.com");
}

static void test_parent_walk(void **state)
{
    char buf[DNSNAME_MAX];
    char small[4];
    const char *walk[] = {"a.b.example.com", "b.example.com", "example.com", "com"};
    (void)state;

    for (size_t i = 0; i + 1 < sizeof(walk) / sizeof(walk[0]); i++) {
        assert_true(dnsname_parent(walk[i], buf, sizeof(buf)));
        assert_string_equal(buf, walk[i + 1]);
    }
    assert_false(dnsname_parent("com", buf, sizeof(buf)));
    assert_false(dnsname_parent("com.", buf, sizeof(buf)));
    assert_false(dnsname_parent("", buf, sizeof(buf)));
    assert_false(dnsname_parent(NULL, buf, sizeof(buf)));
    assert_false(dnsname_parent("a.example.com", small, sizeof(small)));
}

static void test_label_count_and_equal(void **state)
{
    (void)state;
    assert_int_equal(dnsname_label_count(""), 0);
    assert_int_equal(dnsname_label_count("."), 0);
    assert_int_equal(dnsname_label_count("com"), 1);
    assert_int_equal(dnsname_label_count("a.b"), 2);
    assert_int_equal(dnsname_label_count("a.b."), 2);
    assert_int_equal(dnsname_label_count("x.y.example.com"), 4);
    assert_true(dnsname_equal("Example.COM", "example.com."));
    assert_true(dnsname_equal("example.com.", "EXAMPLE.com"));
    assert_false(dnsname_equal("example.com", "example.co"));
    assert_false(dnsname_equal("a.example.com", "example.com"));
    assert_false(dnsname_equal(NULL, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_domains),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_idn),
        cmocka_unit_test(test_alabels),
        cmocka_unit_test(test_ips),
        cmocka_unit_test(test_bad_chars_and_labels),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_parent_walk),
        cmocka_unit_test(test_label_count_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
