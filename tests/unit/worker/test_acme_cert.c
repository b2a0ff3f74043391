/*
 * Unit tests for worker/acme_cert: certificates are built here with the OpenSSL API (chosen
 * SAN entries, raw acmeIdentifier values, criticality, duplicates, issuer and signing key),
 * and every rule of RFC 8737 / RFC 8738 is checked for its pass and fail cases, plus the DER
 * entry point, the hex digest parser and the details CN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acme_cert.h"

#define NAME "a.example.com"
#define HASH_HEX "7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79de23cbe2da9a"

/* One SAN entry to put in the certificate. */
struct san_entry {
    int type;          /* GEN_DNS, GEN_IPADD, GEN_EMAIL, GEN_URI */
    const char *value; /* text; for GEN_IPADD an IP literal */
    size_t len;        /* 0: strlen(value) (lets a test embed a NUL) */
};

/* What build_cert() puts in a certificate. */
struct cert_spec {
    const char *cn;                 /* subject CN, NULL for none */
    const char *issuer_cn;          /* NULL: same as subject (self-issued) */
    const struct san_entry *san;    /* NULL with nsan 0: no SAN extension */
    int nsan;
    bool empty_san;                 /* a SAN extension holding an empty sequence */
    const unsigned char *san_raw;   /* raw SAN extnValue instead of san/nsan */
    size_t san_raw_len;
    bool dup_san;
    bool no_id;                     /* no acmeIdentifier extension */
    const unsigned char *id_raw;    /* raw acmeIdentifier extnValue; NULL: 04 20 <hash> */
    size_t id_raw_len;
    bool id_noncritical;
    bool dup_id;
    bool foreign_key;               /* signed with another key than the certified one */
};

static unsigned char g_hash[ACME_CERT_HASH_LEN];
static EVP_PKEY *g_key;
static EVP_PKEY *g_other_key;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(acme_cert_parse_hash(HASH_HEX, g_hash), 0);
    g_key = EVP_EC_gen("P-256");
    g_other_key = EVP_EC_gen("P-256");
    assert_non_null(g_key);
    assert_non_null(g_other_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(g_key);
    EVP_PKEY_free(g_other_key);
    return 0;
}

static void add_raw_ext(X509 *x, int nid_or_zero, const char *oid, bool critical,
                        const unsigned char *der, size_t len)
{
    ASN1_OBJECT *obj = nid_or_zero ? OBJ_nid2obj(nid_or_zero) : OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext;

    assert_non_null(obj);
    assert_int_equal(ASN1_OCTET_STRING_set(os, der, (int)len), 1);
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical ? 1 : 0, os);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    if (!nid_or_zero) ASN1_OBJECT_free(obj);
}

/* DER of GeneralNames built from entries; caller frees with OPENSSL_free. */
static unsigned char *san_der(const struct san_entry *san, int nsan, int *len)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    unsigned char *der = NULL;

    for (int i = 0; i < nsan; i++) {
        GENERAL_NAME *gn = GENERAL_NAME_new();
        size_t n = san[i].len ? san[i].len : strlen(san[i].value);
        if (san[i].type == GEN_IPADD) {
            unsigned char raw[16];
            ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
            int rawlen = inet_pton(AF_INET, san[i].value, raw) == 1 ? 4 : 16;
            if (rawlen == 16) assert_int_equal(inet_pton(AF_INET6, san[i].value, raw), 1);
            ASN1_OCTET_STRING_set(os, raw, rawlen);
            GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
        } else {
            ASN1_IA5STRING *s = ASN1_IA5STRING_new();
            ASN1_STRING_set(s, san[i].value, (int)n);
            GENERAL_NAME_set0_value(gn, san[i].type, s);
        }
        sk_GENERAL_NAME_push(names, gn);
    }
    *len = i2d_GENERAL_NAMES(names, &der);
    assert_true(*len > 0);
    GENERAL_NAMES_free(names);
    return der;
}

static X509 *build_cert(const struct cert_spec *s)
{
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new();
    X509_NAME *iss = X509_NAME_new();
    unsigned char id[2 + ACME_CERT_HASH_LEN];

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1729);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    if (s->cn != NULL) {
        X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)s->cn, -1, -1, 0);
    }
    if (s->issuer_cn != NULL) {
        X509_NAME_add_entry_by_NID(iss, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)s->issuer_cn, -1, -1, 0);
    } else {
        X509_NAME_free(iss);
        iss = X509_NAME_dup(subj);
    }
    X509_set_subject_name(x, subj);
    X509_set_issuer_name(x, iss);
    X509_NAME_free(subj);
    X509_NAME_free(iss);
    X509_set_pubkey(x, g_key);

    for (int copy = 0; copy < (s->dup_san ? 2 : 1); copy++) {
        if (s->san_raw != NULL) {
            add_raw_ext(x, NID_subject_alt_name, NULL, true, s->san_raw, s->san_raw_len);
        } else if (s->nsan > 0 || s->empty_san) {
            int len;
            unsigned char *der = san_der(s->san, s->nsan, &len);
            add_raw_ext(x, NID_subject_alt_name, NULL, true, der, (size_t)len);
            OPENSSL_free(der);
        }
    }
    id[0] = 0x04;
    id[1] = ACME_CERT_HASH_LEN;
    memcpy(id + 2, g_hash, ACME_CERT_HASH_LEN);
    for (int copy = 0; !s->no_id && copy < (s->dup_id ? 2 : 1); copy++) {
        add_raw_ext(x, 0, ACME_CERT_OID, !s->id_noncritical, s->id_raw ? s->id_raw : id,
                    s->id_raw ? s->id_raw_len : sizeof(id));
    }
    assert_true(X509_sign(x, s->foreign_key ? g_other_key : g_key, EVP_sha256()) > 0);
    return x;
}

static struct acme_cert_expect expect_name(const char *name)
{
    struct acme_cert_expect e;

    memset(&e, 0, sizeof(e));
    e.name = name;
    memcpy(e.hash, g_hash, sizeof(e.hash));
    return e;
}

static struct acme_cert_expect expect_ip(const char *ip)
{
    struct acme_cert_expect e;

    memset(&e, 0, sizeof(e));
    e.af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(e.af, ip, e.ip), 1);
    memcpy(e.hash, g_hash, sizeof(e.hash));
    return e;
}

/* Builds the cert from spec, checks it against e, and expects verdict v. */
static void run(const struct cert_spec *spec, const struct acme_cert_expect *e,
                enum acme_cert_verdict v)
{
    X509 *x = build_cert(spec);
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    enum acme_cert_verdict got = acme_cert_check(x, e, cn, sizeof(cn), why, sizeof(why));

    if (got != v) print_error("verdict %d (%s: %s), want %d\n", got, acme_cert_error_type(got),
                              why, v);
    assert_int_equal(got, v);
    if (v != ACME_CERT_OK) assert_true(why[0] != '\0');
    X509_free(x);
}

static const struct san_entry san_name[] = {{GEN_DNS, NAME, 0}};

static void test_pass_domain(void **state)
{
    struct cert_spec s = {.cn = NAME, .san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    static const struct san_entry upper[] = {{GEN_DNS, "A.Example.COM", 0}};
    X509 *x;
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    (void)state;

    x = build_cert(&s);
    assert_int_equal(acme_cert_check(x, &e, cn, sizeof(cn), why, sizeof(why)), ACME_CERT_OK);
    assert_string_equal(cn, NAME);
    X509_free(x);
    /* dNSName comparison is case-insensitive (RFC 4343) */
    s.san = upper;
    run(&s, &e, ACME_CERT_OK);
    /* no CN at all is fine (challtestsrv sends an empty subject) */
    s.cn = NULL;
    run(&s, &e, ACME_CERT_OK);
}

static void test_pass_ip(void **state)
{
    static const struct san_entry v4[] = {{GEN_IPADD, "192.0.2.7", 0}};
    static const struct san_entry v6[] = {{GEN_IPADD, "2001:db8::7", 0}};
    struct cert_spec s = {.san = v4, .nsan = 1};
    struct acme_cert_expect e4 = expect_ip("192.0.2.7");
    struct acme_cert_expect e6 = expect_ip("2001:db8::7");
    (void)state;

    run(&s, &e4, ACME_CERT_OK);
    s.san = v6;
    run(&s, &e6, ACME_CERT_OK);
    /* an IPv4 SAN for an IPv6 target (and the other way round) names something else */
    run(&s, &e4, ACME_CERT_SAN_NOT_HOSTNAME);
    s.san = v4;
    run(&s, &e6, ACME_CERT_SAN_NOT_HOSTNAME);
    /* a different address */
    e4 = expect_ip("192.0.2.8");
    run(&s, &e4, ACME_CERT_SAN_NOT_HOSTNAME);
}

static void test_extension_missing(void **state)
{
    struct cert_spec s = {.cn = NAME, .san = san_name, .nsan = 1, .no_id = true};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_EXTENSION_MISSING);
    memset(&s, 0, sizeof(s));
    s.cn = NAME; /* CN alone is not a SAN */
    run(&s, &e, ACME_CERT_EXTENSION_MISSING);
    assert_string_equal(acme_cert_error_type(ACME_CERT_EXTENSION_MISSING),
                        "mpic_error:dcv_checker:tls_alpn:certificate:extension_missing");
}

static void test_duplicates(void **state)
{
    struct cert_spec s = {.san = san_name, .nsan = 1, .dup_id = true};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_DUPLICATE_EXTENSION);
    s.dup_id = false;
    s.dup_san = true;
    run(&s, &e, ACME_CERT_DUPLICATE_EXTENSION);
}

static void test_san_count(void **state)
{
    static const struct san_entry two[] = {{GEN_DNS, NAME, 0}, {GEN_DNS, "b.example.com", 0}};
    static const struct san_entry name_and_ip[] = {{GEN_DNS, NAME, 0},
                                                   {GEN_IPADD, "192.0.2.7", 0}};
    static const struct san_entry same_twice[] = {{GEN_DNS, NAME, 0}, {GEN_DNS, NAME, 0}};
    struct cert_spec s = {.san = two, .nsan = 2};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_NO_SINGLE_SAN);
    s.san = name_and_ip;
    run(&s, &e, ACME_CERT_NO_SINGLE_SAN);
    s.san = same_twice;
    run(&s, &e, ACME_CERT_NO_SINGLE_SAN);
    s.nsan = 0;
    s.empty_san = true;
    run(&s, &e, ACME_CERT_NO_SINGLE_SAN);
    assert_string_equal(acme_cert_error_type(ACME_CERT_NO_SINGLE_SAN),
                        "mpic_error:dcv_checker:tls_alpn:certificate:no_single_san");
}

static void test_san_type(void **state)
{
    static const struct san_entry ip[] = {{GEN_IPADD, "192.0.2.7", 0}};
    static const struct san_entry email[] = {{GEN_EMAIL, "a@" NAME, 0}};
    static const struct san_entry uri[] = {{GEN_URI, "https://" NAME "/", 0}};
    static const struct san_entry reverse[] = {{GEN_DNS, "7.2.0.192.in-addr.arpa", 0}};
    struct cert_spec s = {.san = ip, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    struct acme_cert_expect e4 = expect_ip("192.0.2.7");
    (void)state;

    run(&s, &e, ACME_CERT_SAN_NOT_DNSNAME);
    s.san = email;
    run(&s, &e, ACME_CERT_SAN_NOT_DNSNAME);
    s.san = uri;
    run(&s, &e, ACME_CERT_SAN_NOT_DNSNAME);
    /* IP target: a dNSName (even the reverse name, as challtestsrv sends) does not match */
    s.san = reverse;
    run(&s, &e4, ACME_CERT_SAN_TYPE_NOT_MATCH);
    s.san = san_name;
    run(&s, &e4, ACME_CERT_SAN_TYPE_NOT_MATCH);
    assert_string_equal(acme_cert_error_type(ACME_CERT_SAN_NOT_DNSNAME),
                        "mpic_error:dcv_checker:tls_alpn:certificate:san_not_dnsname");
    assert_string_equal(acme_cert_error_type(ACME_CERT_SAN_TYPE_NOT_MATCH),
                        "mpic_error:dcv_checker:tls_alpn:certificate:san_type_not_match");
}

static void test_san_value(void **state)
{
    static const struct san_entry other[] = {{GEN_DNS, "b.example.com", 0}};
    static const struct san_entry dot[] = {{GEN_DNS, NAME ".", 0}};
    static const struct san_entry star[] = {{GEN_DNS, "*.example.com", 0}};
    static const struct san_entry parent[] = {{GEN_DNS, "example.com", 0}};
    static const struct san_entry nul[] = {{GEN_DNS, NAME "\0.evil.test", sizeof(NAME) + 10}};
    static const struct san_entry prefix[] = {{GEN_DNS, "a.example.co", 0}};
    struct cert_spec s = {.san = other, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    s.san = dot;
    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    s.san = star;
    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    s.san = parent;
    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    s.san = nul;
    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    {
        /* the message shows the SAN's bytes escaped */
        X509 *x = build_cert(&s);
        char cn[ACME_CERT_CN_MAX];
        char why[256];
        acme_cert_check(x, &e, cn, sizeof(cn), why, sizeof(why));
        assert_non_null(strstr(why, "\"a.example.com\\x00.evil.test\""));
        X509_free(x);
    }
    s.san = prefix;
    run(&s, &e, ACME_CERT_SAN_NOT_HOSTNAME);
    assert_string_equal(acme_cert_error_type(ACME_CERT_SAN_NOT_HOSTNAME),
                        "mpic_error:dcv_checker:tls_alpn:certificate:san_not_hostname");
}

static void test_san_malformed(void **state)
{
    /* SEQUENCE { [2] "a.example.com" } followed by one stray byte */
    unsigned char raw[2 + 2 + sizeof(NAME) - 1 + 1];
    struct cert_spec s = {.san_raw = raw, .san_raw_len = sizeof(raw)};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    raw[0] = 0x30;
    raw[1] = (unsigned char)(2 + sizeof(NAME) - 1);
    raw[2] = 0x82;
    raw[3] = (unsigned char)(sizeof(NAME) - 1);
    memcpy(raw + 4, NAME, sizeof(NAME) - 1);
    raw[sizeof(raw) - 1] = 0x00;
    run(&s, &e, ACME_CERT_SAN_MALFORMED);
    /* the same without the stray byte passes (the builder is right) */
    s.san_raw_len = sizeof(raw) - 1;
    run(&s, &e, ACME_CERT_OK);
    /* not a SEQUENCE at all */
    raw[0] = 0x04;
    run(&s, &e, ACME_CERT_SAN_MALFORMED);
}

static void test_noncritical(void **state)
{
    struct cert_spec s = {.san = san_name, .nsan = 1, .id_noncritical = true};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_NONCRITICAL);
    assert_string_equal(acme_cert_error_type(ACME_CERT_NONCRITICAL),
                        "mpic_error:dcv_checker:tls_alpn:certificate:noncritical_alpn_extension");
}

static void test_identifier_value(void **state)
{
    unsigned char v[64];
    struct cert_spec s = {.san = san_name, .nsan = 1, .id_raw = v};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    /* 31 bytes */
    v[0] = 0x04;
    v[1] = 31;
    memcpy(v + 2, g_hash, 31);
    s.id_raw_len = 33;
    run(&s, &e, ACME_CERT_ID_WRONG_LENGTH);
    /* 33 bytes */
    v[1] = 33;
    memcpy(v + 2, g_hash, 32);
    v[34] = 0;
    s.id_raw_len = 35;
    run(&s, &e, ACME_CERT_ID_WRONG_LENGTH);
    /* empty OCTET STRING */
    v[1] = 0;
    s.id_raw_len = 2;
    run(&s, &e, ACME_CERT_ID_WRONG_LENGTH);
    /* the right length, one bit off */
    v[1] = 32;
    memcpy(v + 2, g_hash, 32);
    v[33] ^= 0x01;
    s.id_raw_len = 34;
    run(&s, &e, ACME_CERT_ID_MISMATCH);
    /* the digest bytes without the OCTET STRING wrapper (hash starts with 0x7f) */
    memcpy(v, g_hash, 32);
    s.id_raw_len = 32;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    /* trailing byte after a correct OCTET STRING */
    v[0] = 0x04;
    v[1] = 32;
    memcpy(v + 2, g_hash, 32);
    v[34] = 0x00;
    s.id_raw_len = 35;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    /* non-minimal length form 81 20 (BER, not DER) */
    v[0] = 0x04;
    v[1] = 0x81;
    v[2] = 32;
    memcpy(v + 3, g_hash, 32);
    s.id_raw_len = 35;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    /* constructed OCTET STRING (BER) */
    v[0] = 0x24;
    v[1] = 34;
    v[2] = 0x04;
    v[3] = 32;
    memcpy(v + 4, g_hash, 32);
    s.id_raw_len = 36;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    /* a UTF8String with the hex digest (a different encoding of "the same") */
    v[0] = 0x0c;
    v[1] = 32;
    s.id_raw_len = 34;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    /* truncated: declared 32, carries 10 */
    v[0] = 0x04;
    v[1] = 32;
    s.id_raw_len = 12;
    run(&s, &e, ACME_CERT_ID_MALFORMED);
    assert_string_equal(acme_cert_error_type(ACME_CERT_ID_WRONG_LENGTH),
                        "mpic_error:dcv_checker:tls_alpn:certificate:"
                        "acme_identifier_wrong_length");
    assert_string_equal(acme_cert_error_type(ACME_CERT_ID_MISMATCH),
                        "mpic_error:dcv_checker:tls_alpn:certificate:acme_identifier_mismatch");
}

static void test_wrong_hash_expected(void **state)
{
    struct cert_spec s = {.san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    e.hash[0] ^= 0x80;
    run(&s, &e, ACME_CERT_ID_MISMATCH);
}

/* The mismatch message shows the digest the certificate carries (what a hijacked one saw). */
static void test_mismatch_names_seen_digest(void **state)
{
    struct cert_spec s = {.san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    char seen[2 * ACME_CERT_HASH_LEN + 1];
    X509 *x = build_cert(&s);
    (void)state;

    for (size_t i = 0; i < ACME_CERT_HASH_LEN; i++) {
        snprintf(seen + 2 * i, 3, "%02x", g_hash[i]);
    }
    e.hash[7] ^= 0x10;
    assert_int_equal(acme_cert_check(x, &e, cn, sizeof(cn), why, sizeof(why)),
                     ACME_CERT_ID_MISMATCH);
    assert_non_null(strstr(why, seen));
    X509_free(x);
}

static void test_self_signed(void **state)
{
    struct cert_spec s = {.cn = NAME, .issuer_cn = "Some CA", .san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    (void)state;

    run(&s, &e, ACME_CERT_NOT_SELF_SIGNED);
    s.issuer_cn = NULL;
    s.foreign_key = true;
    run(&s, &e, ACME_CERT_NOT_SELF_SIGNED);
}

static void test_common_name(void **state)
{
    struct cert_spec s = {.cn = "h\xc3\xa9llo CN", .san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    X509 *x;
    (void)state;

    x = build_cert(&s);
    /* the CN is reported even when a rule fails */
    e.hash[5] ^= 1;
    assert_int_equal(acme_cert_check(x, &e, cn, sizeof(cn), why, sizeof(why)),
                     ACME_CERT_ID_MISMATCH);
    assert_string_equal(cn, "h\xc3\xa9llo CN");
    X509_free(x);
    /* control characters: not reported */
    s.cn = "bad\ncn";
    x = build_cert(&s);
    acme_cert_check(x, &e, cn, sizeof(cn), why, sizeof(why));
    assert_string_equal(cn, "");
    X509_free(x);
    /* longer than the buffer: not reported, never truncated mid-character */
    s.cn = "0123456789012345678901234567890123456789";
    x = build_cert(&s);
    acme_cert_check(x, &e, cn, 16, why, sizeof(why));
    assert_string_equal(cn, "");
    X509_free(x);
    /* NULL certificate */
    assert_int_equal(acme_cert_check(NULL, &e, cn, sizeof(cn), why, sizeof(why)),
                     ACME_CERT_UNPARSEABLE);
}

static void test_der(void **state)
{
    struct cert_spec s = {.cn = NAME, .san = san_name, .nsan = 1};
    struct acme_cert_expect e = expect_name(NAME);
    X509 *x = build_cert(&s);
    unsigned char *der = NULL;
    unsigned char *longer;
    int len = i2d_X509(x, &der);
    char cn[ACME_CERT_CN_MAX];
    char why[256];
    (void)state;

    assert_true(len > 0);
    assert_int_equal(acme_cert_check_der(der, (size_t)len, &e, cn, sizeof(cn), why, sizeof(why)),
                     ACME_CERT_OK);
    assert_string_equal(cn, NAME);
    longer = malloc((size_t)len + 1);
    memcpy(longer, der, (size_t)len);
    longer[len] = 0;
    assert_int_equal(acme_cert_check_der(longer, (size_t)len + 1, &e, cn, sizeof(cn), why,
                                         sizeof(why)),
                     ACME_CERT_UNPARSEABLE);
    assert_int_equal(acme_cert_check_der(der, (size_t)len - 1, &e, cn, sizeof(cn), why,
                                         sizeof(why)),
                     ACME_CERT_UNPARSEABLE);
    assert_int_equal(acme_cert_check_der(der, 0, &e, cn, sizeof(cn), why, sizeof(why)),
                     ACME_CERT_UNPARSEABLE);
    free(longer);
    OPENSSL_free(der);
    X509_free(x);
}

static void test_parse_hash(void **state)
{
    unsigned char out[ACME_CERT_HASH_LEN];
    (void)state;

    assert_int_equal(acme_cert_parse_hash(HASH_HEX, out), 0);
    assert_int_equal(out[0], 0x7f);
    assert_int_equal(out[31], 0x9a);
    assert_int_equal(acme_cert_parse_hash("7F0924FB0A7FE4C7E78C2EE1E2088140"
                                          "DE7873361A7AFB0BEF79DE23CBE2DA9A", out),
                     0);
    assert_int_equal(out[31], 0x9a);
    assert_int_equal(acme_cert_parse_hash(HASH_HEX "0", out), -1);
    assert_int_equal(acme_cert_parse_hash("7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79"
                                          "de23cbe2da9", out),
                     -1);
    assert_int_equal(acme_cert_parse_hash("7f0924fb0a7fe4c7e78c2ee1e2088140de7873361a7afb0bef79"
                                          "de23cbe2da9z", out),
                     -1);
    assert_int_equal(acme_cert_parse_hash("", out), -1);
    assert_int_equal(acme_cert_parse_hash(NULL, out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_domain),
        cmocka_unit_test(test_pass_ip),
        cmocka_unit_test(test_extension_missing),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_san_count),
        cmocka_unit_test(test_san_type),
        cmocka_unit_test(test_san_value),
        cmocka_unit_test(test_san_malformed),
        cmocka_unit_test(test_noncritical),
        cmocka_unit_test(test_identifier_value),
        cmocka_unit_test(test_wrong_hash_expected),
        cmocka_unit_test(test_mismatch_names_seen_digest),
        cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_common_name),
        cmocka_unit_test(test_der),
        cmocka_unit_test(test_parse_hash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
