/*
 * Unit tests for worker/dns_msg.c: hand-built packets with compression, pointer loops, forward
 * pointers, over-long names, truncation at every byte offset, lying section counts, RDATA
 * helpers (CNAME target, TXT, A/AAAA, CAA) and a seeded random-input smoke run (ASan finds reads
 * outside the exact-size heap copies every test parses).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"

struct pkt {
    unsigned char b[4096];
    size_t n;
};

static void put(struct pkt *p, const void *data, size_t n)
{
    assert_true(p->n + n <= sizeof(p->b));
    memcpy(p->b + p->n, data, n);
    p->n += n;
}

static void put8(struct pkt *p, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(p, &c, 1);
}

static void put16(struct pkt *p, unsigned v)
{
    put8(p, v >> 8);
    put8(p, v & 0xff);
}

static void put32(struct pkt *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p, v & 0xffff);
}

/* Writes "www.example.com" style names as uncompressed labels. */
static void put_name(struct pkt *p, const char *name)
{
    const char *s = name;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        put8(p, (unsigned)l);
        put(p, s, l);
        s += l;
        if (*s == '.') s++;
    }
    put8(p, 0);
}

static void header(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
    p->n = 0;
    put16(p, id);
    put16(p, flags);
    put16(p, qd);
    put16(p, an);
    put16(p, 0);
    put16(p, 0);
}

/* Exact-size heap copy so that ASan reports any read past the end. */
static unsigned char *dup_exact(const unsigned char *b, size_t n)
{
    unsigned char *c = malloc(n > 0 ? n : 1);
    assert_non_null(c);
    if (n > 0) memcpy(c, b, n);
    return c;
}

/*
 * Query www.example.com CAA; answers: www CNAME alias.example.com (compressed),
 * alias.example.com CAA 0 issue "ca.example", alias A 192.0.2.1.
 */
static void build_sample(struct pkt *p)
{
    header(p, 0x1234, 0x81a0 | 0x0000, 1, 3); /* QR RD RA AD */
    put_name(p, "www.example.com");           /* at offset 12; "example" at 16 */
    put16(p, 257);
    put16(p, 1);
    /* RR 1: owner ptr to 12, CNAME -> "alias" + ptr to 16 */
    put16(p, 0xC000 | 12);
    put16(p, 5);
    put16(p, 1);
    put32(p, 300);
    put16(p, 1 + 5 + 2);
    size_t alias_off = p->n;
    put8(p, 5);
    put(p, "alias", 5);
    put16(p, 0xC000 | 16);
    /* RR 2: owner ptr to alias, CAA */
    put16(p, 0xC000 | (unsigned)alias_off);
    put16(p, 257);
    put16(p, 1);
    put32(p, 60);
    put16(p, 2 + 5 + 10);
    put8(p, 0);
    put8(p, 5);
    put(p, "issue", 5);
    put(p, "ca.example", 10);
    /* RR 3: A */
    put16(p, 0xC000 | (unsigned)alias_off);
    put16(p, 1);
    put16(p, 1);
    put32(p, 60);
    put16(p, 4);
    put8(p, 192);
    put8(p, 0);
    put8(p, 2);
    put8(p, 1);
}

static void test_sample_packet(void **state)
{
    struct pkt p;
    struct dns_msg m;
    struct dns_msg_iter it;
    struct dns_msg_rr rr;
    struct dns_msg_caa caa;
    char name[DNS_MSG_NAME_MAX];
    char addr[64];

    build_sample(&p);
    unsigned char *b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), 0);
    assert_int_equal(m.id, 0x1234);
    assert_true(dns_msg_qr(&m));
    assert_true(dns_msg_ad(&m));
    assert_false(dns_msg_tc(&m));
    assert_int_equal(dns_msg_rcode(&m), 0);
    assert_int_equal(m.ancount, 3);

    dns_msg_answers(&m, &it);
    assert_int_equal(dns_msg_next(&it, &rr), 1);
    assert_string_equal(rr.owner, "www.example.com");
    assert_int_equal(rr.type, DNS_MSG_TYPE_CNAME);
    assert_int_equal(rr.ttl, 300);
    assert_int_equal(dns_msg_rr_target(&m, &rr, name, sizeof(name)), 0);
    assert_string_equal(name, "alias.example.com");

    assert_int_equal(dns_msg_next(&it, &rr), 1);
    assert_string_equal(rr.owner, "alias.example.com");
    assert_int_equal(rr.type, DNS_MSG_TYPE_CAA);
    assert_int_equal(dns_msg_caa_parse(rr.rdata, rr.rdlen, &caa), 0);
    assert_int_equal(caa.flags, 0);
    assert_int_equal(caa.taglen, 5);
    assert_memory_equal(caa.tag, "issue", 5);
    assert_int_equal(caa.valuelen, 10);
    assert_memory_equal(caa.value, "ca.example", 10);

    assert_int_equal(dns_msg_next(&it, &rr), 1);
    assert_int_equal(rr.type, DNS_MSG_TYPE_A);
    assert_int_equal(dns_msg_addr_text(rr.type, rr.rdata, rr.rdlen, addr, sizeof(addr)), 0);
    assert_string_equal(addr, "192.0.2.1");
    /* the A record is not a name: target extraction must refuse trailing bytes */
    assert_int_equal(dns_msg_rr_target(&m, &rr, name, sizeof(name)), -1);

    assert_int_equal(dns_msg_next(&it, &rr), 0);
    free(b);
}

static void test_truncation_every_offset(void **state)
{
    struct pkt p;

    build_sample(&p);
    for (size_t len = 0; len < p.n; len++) {
        unsigned char *b = dup_exact(p.b, len);
        struct dns_msg m;
        struct dns_msg_iter it;
        struct dns_msg_rr rr;
        int rc = dns_msg_parse(&m, b, len);
        bool failed = rc != 0;
        if (!failed) {
            int n = 0, r;
            dns_msg_answers(&m, &it);
            while ((r = dns_msg_next(&it, &rr)) == 1) {
                char t[DNS_MSG_NAME_MAX];
                (void)dns_msg_rr_target(&m, &rr, t, sizeof(t));
                n++;
            }
            failed = r < 0;
            assert_true(n < 3);
        }
        assert_true(failed); /* every strict prefix is missing something */
        free(b);
    }
}

static void test_pointer_loops(void **state)
{
    struct pkt p;
    struct dns_msg m;
    char name[DNS_MSG_NAME_MAX];
    size_t end;

    /* question name is a pointer to itself */
    header(&p, 1, 0x8000, 1, 0);
    put16(&p, 0xC000 | 12);
    put16(&p, 1);
    put16(&p, 1);
    unsigned char *b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), -1);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    free(b);

    /* label then pointer back to the label start: a loop through a backward pointer */
    header(&p, 1, 0x8000, 1, 0);
    put8(&p, 1);
    put8(&p, 'a');
    put16(&p, 0xC000 | 12);
    put16(&p, 1);
    put16(&p, 1);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    free(b);

    /* forward pointer */
    header(&p, 1, 0x8000, 1, 0);
    put16(&p, 0xC000 | 14);
    put8(&p, 1);
    put8(&p, 'a');
    put8(&p, 0);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    free(b);

    /* two pointers pointing at each other (A at 12 -> 14, B at 14 -> 12) */
    header(&p, 1, 0x8000, 0, 0);
    put16(&p, 0xC000 | 14);
    put16(&p, 0xC000 | 12);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 14, name, sizeof(name), &end), -1);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    free(b);

    /* pointer past the end, and a truncated pointer */
    header(&p, 1, 0x8000, 0, 0);
    put16(&p, 0xC000 | 200);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    assert_int_equal(dns_msg_read_name(b, p.n - 1, 12, name, sizeof(name), &end), -1);
    free(b);

    /* a legitimate chain of backward pointers works and reports the end after the first */
    header(&p, 1, 0x8000, 0, 0);
    put_name(&p, "com");                 /* 12 */
    put8(&p, 7);                         /* 17 */
    put(&p, "example", 7);
    put16(&p, 0xC000 | 12);
    put8(&p, 3);                         /* 27 */
    put(&p, "www", 3);
    put16(&p, 0xC000 | 17);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 27, name, sizeof(name), &end), 0);
    assert_string_equal(name, "www.example.com");
    assert_int_equal(end, 33);
    free(b);
}

static void test_name_limits_and_escapes(void **state)
{
    struct pkt p;
    char name[DNS_MSG_NAME_MAX];
    size_t end;
    unsigned char *b;

    /* 4 labels of 63 = 256 wire bytes with the root: over the 255 cap */
    header(&p, 1, 0, 0, 0);
    for (int i = 0; i < 4; i++) {
        put8(&p, 63);
        for (int j = 0; j < 63; j++) put8(&p, 'a');
    }
    put8(&p, 0);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), -1);
    free(b);

    /* 3x63 + 61 = 255 exactly: accepted */
    header(&p, 1, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        put8(&p, 63);
        for (int j = 0; j < 63; j++) put8(&p, 'b');
    }
    put8(&p, 61);
    for (int j = 0; j < 61; j++) put8(&p, 'c');
    put8(&p, 0);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), 0);
    assert_int_equal(strlen(name), 253);
    /* too small an output buffer is an error, not an overflow */
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, 100, &end), -1);
    free(b);

    /* escapes: '.', '\\', control byte, space, high byte */
    header(&p, 1, 0, 0, 0);
    put8(&p, 7);
    put(&p, "a.b\\\x01 \xff", 7);
    put8(&p, 0);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), 0);
    assert_string_equal(name, "a\\.b\\\\\\001\\032\\255");
    free(b);

    /* root name and obsolete label types */
    header(&p, 1, 0, 0, 0);
    put8(&p, 0);
    put8(&p, 0x40);
    put8(&p, 0x80);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_read_name(b, p.n, 12, name, sizeof(name), &end), 0);
    assert_string_equal(name, ".");
    assert_int_equal(end, 13);
    assert_int_equal(dns_msg_read_name(b, p.n, 13, name, sizeof(name), &end), -1);
    assert_int_equal(dns_msg_read_name(b, p.n, 14, name, sizeof(name), &end), -1);
    free(b);
}

static void test_bad_counts(void **state)
{
    struct pkt p;
    struct dns_msg m;
    struct dns_msg_iter it;
    struct dns_msg_rr rr;
    unsigned char *b;

    /* short header */
    b = dup_exact((const unsigned char *)"\x00\x01\x81\x80", 4);
    assert_int_equal(dns_msg_parse(&m, b, 4), -1);
    free(b);

    /* qdcount larger than the questions present */
    header(&p, 1, 0x8180, 3, 0);
    put_name(&p, "a.example");
    put16(&p, 1);
    put16(&p, 1);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), -1);
    free(b);

    /* ancount 65535 with one record present */
    header(&p, 1, 0x8180, 1, 0xffff);
    put_name(&p, "a.example");
    put16(&p, 1);
    put16(&p, 1);
    put16(&p, 0xC000 | 12);
    put16(&p, 1);
    put16(&p, 1);
    put32(&p, 1);
    put16(&p, 4);
    put32(&p, 0x7f000001);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), 0);
    dns_msg_answers(&m, &it);
    assert_int_equal(dns_msg_next(&it, &rr), 1);
    assert_int_equal(dns_msg_next(&it, &rr), -1);
    assert_int_equal(dns_msg_next(&it, &rr), 0); /* stays finished after an error */
    free(b);

    /* rdlength beyond the message */
    header(&p, 1, 0x8180, 0, 1);
    put8(&p, 0);
    put16(&p, 16);
    put16(&p, 1);
    put32(&p, 1);
    put16(&p, 50);
    put8(&p, 3);
    put(&p, "abc", 3);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), 0);
    dns_msg_answers(&m, &it);
    assert_int_equal(dns_msg_next(&it, &rr), -1);
    free(b);

    /* flags: TC and RCODE */
    header(&p, 1, 0x8383, 0, 0);
    b = dup_exact(p.b, p.n);
    assert_int_equal(dns_msg_parse(&m, b, p.n), 0);
    assert_true(dns_msg_tc(&m));
    assert_false(dns_msg_ad(&m));
    assert_int_equal(dns_msg_rcode(&m), DNS_MSG_RCODE_NXDOMAIN);
    assert_string_equal(dns_msg_rcode_name(DNS_MSG_RCODE_NXDOMAIN), "NXDOMAIN");
    free(b);
}

static void test_txt(void **state)
{
    unsigned char out[64];
    size_t n;

    const unsigned char two[] = {6, 'p', 'a', 'r', 't', '1', '-', 5, 'p', 'a', 'r', 't', '2'};
    assert_int_equal(dns_msg_txt_concat(two, sizeof(two), out, sizeof(out), &n), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "part1-part2", 11);

    const unsigned char empties[] = {0, 0, 2, ' ', 'x', 0};
    assert_int_equal(dns_msg_txt_concat(empties, sizeof(empties), out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, " x", 2);

    const unsigned char nul[] = {3, 0, 'v', 0};
    assert_int_equal(dns_msg_txt_concat(nul, sizeof(nul), out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "\0v\0", 3);

    const unsigned char overrun[] = {5, 'a', 'b'};
    assert_int_equal(dns_msg_txt_concat(overrun, sizeof(overrun), out, sizeof(out), &n), -1);
    assert_int_equal(dns_msg_txt_concat(two, 0, out, sizeof(out), &n), -1);
    assert_int_equal(dns_msg_txt_concat(two, sizeof(two), out, 5, &n), -1);
}

static void test_addr_and_caa(void **state)
{
    char txt[64];
    struct dns_msg_caa caa;
    const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

    assert_int_equal(dns_msg_addr_text(DNS_MSG_TYPE_AAAA, v6, 16, txt, sizeof(txt)), 0);
    assert_string_equal(txt, "2001:db8::1");
    assert_int_equal(dns_msg_addr_text(DNS_MSG_TYPE_AAAA, v6, 4, txt, sizeof(txt)), -1);
    assert_int_equal(dns_msg_addr_text(DNS_MSG_TYPE_A, v6, 5, txt, sizeof(txt)), -1);
    assert_int_equal(dns_msg_addr_text(DNS_MSG_TYPE_TXT, v6, 4, txt, sizeof(txt)), -1);

    const unsigned char empty_value[] = {0, 5, 'i', 's', 's', 'u', 'e'};
    assert_int_equal(dns_msg_caa_parse(empty_value, sizeof(empty_value), &caa), 0);
    assert_int_equal(caa.valuelen, 0);
    assert_int_equal(caa.taglen, 5);

    const unsigned char crit[] = {128, 3, 't', 'b', 's', 'x'};
    assert_int_equal(dns_msg_caa_parse(crit, sizeof(crit), &caa), 0);
    assert_int_equal(caa.flags, 128);
    assert_int_equal(caa.valuelen, 1);

    const unsigned char notag[] = {0, 0, 'x'};
    assert_int_equal(dns_msg_caa_parse(notag, sizeof(notag), &caa), -1);
    const unsigned char longtag[] = {0, 9, 'i', 's'};
    assert_int_equal(dns_msg_caa_parse(longtag, sizeof(longtag), &caa), -1);
    assert_int_equal(dns_msg_caa_parse(crit, 1, &caa), -1);
}

static void test_name_equal(void **state)
{
    assert_true(dns_msg_name_equal("WWW.Example.COM", "www.example.com."));
    assert_true(dns_msg_name_equal("a.", "A"));
    assert_false(dns_msg_name_equal("a.b", "a.c"));
    assert_false(dns_msg_name_equal("a\\.", "a"));
    assert_false(dns_msg_name_equal("ab", "a"));
    assert_false(dns_msg_name_equal(NULL, "a"));
}

static void test_random_inputs(void **state)
{
    uint32_t seed = 12345;
    unsigned char buf[300];

    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        seed = seed * 1103515245u + 12345u;
        len = 12 + (seed >> 8) % 200;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (unsigned char)(seed >> 16);
        }
        /* keep counts small and plausible so iteration gets exercised */
        buf[4] = 0;
        buf[5] = (unsigned char)(iter % 2);
        buf[6] = 0;
        buf[7] = (unsigned char)(iter % 5);
        unsigned char *b = dup_exact(buf, len);
        struct dns_msg m;
        if (dns_msg_parse(&m, b, len) == 0) {
            struct dns_msg_iter it;
            struct dns_msg_rr rr;
            dns_msg_answers(&m, &it);
            while (dns_msg_next(&it, &rr) == 1) {
                char t[DNS_MSG_NAME_MAX];
                unsigned char txt[70000];
                size_t n;
                struct dns_msg_caa caa;
                (void)dns_msg_rr_target(&m, &rr, t, sizeof(t));
                (void)dns_msg_txt_concat(rr.rdata, rr.rdlen, txt, sizeof(txt), &n);
                (void)dns_msg_addr_text(rr.type, rr.rdata, rr.rdlen, t, sizeof(t));
                (void)dns_msg_caa_parse(rr.rdata, rr.rdlen, &caa);
            }
        }
        free(b);
    }
    assert_true(seed != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_packet),
        cmocka_unit_test(test_truncation_every_offset),
        cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_name_limits_and_escapes),
        cmocka_unit_test(test_bad_counts),
        cmocka_unit_test(test_txt),
        cmocka_unit_test(test_addr_and_caa),
        cmocka_unit_test(test_name_equal),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
