/*
 * Unit tests for worker/ipfilter.c: the first and last address of every IPv4 block and the
 * addresses just outside it, IPv6 block boundaries, embedded-IPv4 forms, the sockaddr and
 * text entry points, and fail-closed handling of unparseable input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "ipfilter.h"

/* The IPv4 blocks the filter must refuse (IANA registry + multicast), as "a.b.c.d/len". */
static const char *const v4_blocks[] = {
    "0.0.0.0/8",       "10.0.0.0/8",       "100.64.0.0/10",   "127.0.0.0/8",
    "169.254.0.0/16",  "172.16.0.0/12",    "192.0.0.0/24",    "192.0.2.0/24",
    "192.31.196.0/24", "192.52.193.0/24",  "192.88.99.0/24",  "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15",    "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4",     "240.0.0.0/4",      "255.255.255.255/32",
};

static void parse_block(const char *cidr, uint32_t *net, unsigned *bits)
{
    char buf[32];
    const char *slash = strchr(cidr, '/');
    struct in_addr a;

    assert_non_null(slash);
    memcpy(buf, cidr, (size_t)(slash - cidr));
    buf[slash - cidr] = '\0';
    assert_int_equal(inet_pton(AF_INET, buf, &a), 1);
    *net = ntohl(a.s_addr);
    *bits = (unsigned)(slash[1] - '0');
    if (slash[2] != '\0') *bits = *bits * 10 + (unsigned)(slash[2] - '0');
}

/* Independent oracle: is the address inside any block of the test's own table? */
static bool in_test_table(uint32_t ip)
{
    for (size_t i = 0; i < sizeof(v4_blocks) / sizeof(v4_blocks[0]); i++) {
        uint32_t net;
        unsigned bits;
        parse_block(v4_blocks[i], &net, &bits);
        uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
        if ((ip & mask) == net) return true;
    }
    return false;
}

static bool special4(uint32_t ip)
{
    unsigned char raw[4] = {(unsigned char)(ip >> 24), (unsigned char)(ip >> 16),
                            (unsigned char)(ip >> 8), (unsigned char)ip};
    struct sockaddr_in sin;
    char text[INET_ADDRSTRLEN];
    bool by_raw = ipfilter_classify4(raw) != NULL;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    memcpy(&sin.sin_addr, raw, 4);
    inet_ntop(AF_INET, raw, text, sizeof(text));
    /* all three entry points must agree */
    assert_int_equal(by_raw, ipfilter_is_special((const struct sockaddr *)&sin));
    assert_int_equal(by_raw, ipfilter_is_special_text(text));
    return by_raw;
}

static void test_v4_block_boundaries(void **state)
{
    for (size_t i = 0; i < sizeof(v4_blocks) / sizeof(v4_blocks[0]); i++) {
        uint32_t net;
        unsigned bits;
        parse_block(v4_blocks[i], &net, &bits);
        uint32_t size = bits == 32 ? 1 : (uint32_t)1 << (32 - bits);
        uint32_t last = net + (size - 1);

        assert_true(special4(net));
        assert_true(special4(last));
        assert_true(special4(net + (size - 1) / 2));
        if (net > 0) assert_int_equal(special4(net - 1), in_test_table(net - 1));
        if (last < 0xffffffffu) assert_int_equal(special4(last + 1), in_test_table(last + 1));
    }
}

static void test_v4_known_points(void **state)
{
    assert_false(ipfilter_is_special_text("8.8.8.8"));
    assert_false(ipfilter_is_special_text("1.1.1.1"));
    assert_false(ipfilter_is_special_text("9.255.255.255"));
    assert_false(ipfilter_is_special_text("11.0.0.0"));
    assert_false(ipfilter_is_special_text("172.32.0.0"));
    assert_false(ipfilter_is_special_text("223.255.255.255"));
    assert_true(ipfilter_is_special_text("127.0.0.1"));
    assert_true(ipfilter_is_special_text("169.254.169.254")); /* cloud metadata */
    assert_true(ipfilter_is_special_text("192.0.0.9"));
    assert_true(ipfilter_is_special_text("239.255.255.250"));
    assert_true(ipfilter_is_special_text("255.255.255.255"));
    assert_string_equal(ipfilter_classify4((const unsigned char[]){10, 1, 2, 3}), "Private-Use");
    assert_string_equal(ipfilter_classify4((const unsigned char[]){127, 0, 0, 1}), "Loopback");
}

static void test_v6_boundaries(void **state)
{
    static const char *const special[] = {
        "::", "::1", "::ffff:0.0.0.0", "::ffff:255.255.255.255", "::ffff:8.8.8.8",
        "64:ff9b::", "64:ff9b::ffff:ffff", "64:ff9b::8.8.8.8", "64:ff9b:1::",
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "100::", "100::ffff:ffff:ffff:ffff",
        "100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff", "2001::",
        "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2002::", "2002:808:808::",
        "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2620:4f:8000::",
        "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
        "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::",
        "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::",
        "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    };
    static const char *const global[] = {
        "64:ff9b::1:0:0", "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "64:ff9b:2::",
        "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "100:0:0:2::", "2001:200::",
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
        "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::",
        "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", "2620:4f:8001::",
        "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::",
        "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f01::",
        "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::",
        "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2606:4700::1111", "2a00:1450::1",
        "::ffff:0:808:808", /* SIIT form ::ffff:0:0:0/96 is not IPv4-mapped */
    };
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        if (!ipfilter_is_special_text(special[i])) fail_msg("%s should be special", special[i]);
    }
    for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
        if (ipfilter_is_special_text(global[i])) fail_msg("%s should be global", global[i]);
    }
}

static void test_v6_embedded_v4(void **state)
{
    unsigned char raw[16];

    /* IPv4-compatible (deprecated ::a.b.c.d): decided by the embedded address */
    assert_true(ipfilter_is_special_text("::127.0.0.1"));
    assert_true(ipfilter_is_special_text("::10.0.0.1"));
    assert_true(ipfilter_is_special_text("::192.168.1.1"));
    assert_false(ipfilter_is_special_text("::8.8.8.8"));
    inet_pton(AF_INET6, "::169.254.169.254", raw);
    assert_non_null(ipfilter_classify6(raw));
    /* IPv4-mapped, 6to4 and NAT64 with special embedded addresses */
    assert_true(ipfilter_is_special_text("::ffff:127.0.0.1"));
    assert_true(ipfilter_is_special_text("::ffff:169.254.169.254"));
    assert_true(ipfilter_is_special_text("2002:7f00:1::"));
    assert_true(ipfilter_is_special_text("2002:a00:1::1"));
    assert_true(ipfilter_is_special_text("64:ff9b::127.0.0.1"));
    assert_true(ipfilter_is_special_text("64:ff9b::a00:1"));
    inet_pton(AF_INET6, "::ffff:10.0.0.1", raw);
    assert_string_equal(ipfilter_classify6(raw), "IPv4-mapped Address");
}

static void test_sockaddr(void **state)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr_un sun;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, "93.184.216.34", &sin.sin_addr);
    assert_false(ipfilter_is_special((struct sockaddr *)&sin));
    inet_pton(AF_INET, "100.100.100.100", &sin.sin_addr);
    assert_true(ipfilter_is_special((struct sockaddr *)&sin));

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2606:4700::1111", &sin6.sin6_addr);
    assert_false(ipfilter_is_special((struct sockaddr *)&sin6));
    inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    assert_true(ipfilter_is_special((struct sockaddr *)&sin6));

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_true(ipfilter_is_special((struct sockaddr *)&sun));
    assert_true(ipfilter_is_special(NULL));
}

static void test_text_fail_closed(void **state)
{
    assert_false(ipfilter_is_special_text("[2606:4700::1111]"));
    assert_true(ipfilter_is_special_text("[::1]"));
    assert_true(ipfilter_is_special_text(NULL));
    assert_true(ipfilter_is_special_text(""));
    assert_true(ipfilter_is_special_text("[]"));
    assert_true(ipfilter_is_special_text("example.com"));
    assert_true(ipfilter_is_special_text("fe80::1%eth0"));
    assert_true(ipfilter_is_special_text("2606:4700::1111%1"));
    assert_true(ipfilter_is_special_text("8.8.8.8 "));
    assert_true(ipfilter_is_special_text("8.8.8"));
    assert_true(ipfilter_is_special_text("[8.8.8.8"));
    assert_true(ipfilter_is_special_text(
        "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_block_boundaries), cmocka_unit_test(test_v4_known_points),
        cmocka_unit_test(test_v6_boundaries),       cmocka_unit_test(test_v6_embedded_v4),
        cmocka_unit_test(test_sockaddr),            cmocka_unit_test(test_text_fail_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
