/*
 * Unit tests for worker/caa_value.c: the RFC 8659 issue-value ABNF. Valid forms (empty value,
 * lone ";", surrounding WSP, parameters with empty values, hyphenated labels) and malformed ones
 * (trailing dot, edge hyphens, stray bytes, trailing ";" after parameters, missing "=", bytes
 * outside the value charset, the caatestsuite xss value), plus the property tag check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "caa_value.h"

static int parse(const char *s, struct caa_value *v)
{
    return caa_value_parse(s, strlen(s), v);
}

static void assert_issuer(const struct caa_value *v, const char *want)
{
    assert_int_equal(v->issuerlen, strlen(want));
    assert_memory_equal(v->issuer, want, strlen(want));
}

static void assert_param(const struct caa_value *v, size_t i, const char *tag, const char *val)
{
    assert_true(i < v->nparams);
    assert_int_equal(v->params[i].taglen, strlen(tag));
    assert_memory_equal(v->params[i].tag, tag, strlen(tag));
    assert_int_equal(v->params[i].valuelen, strlen(val));
    if (strlen(val) > 0) assert_memory_equal(v->params[i].value, val, strlen(val));
}

static void test_valid_issuers(void **state)
{
    struct caa_value v;

    assert_int_equal(parse("ca.example", &v), 0);
    assert_issuer(&v, "ca.example");
    assert_int_equal(v.nparams, 0);

    assert_int_equal(parse("", &v), 0);
    assert_issuer(&v, "");

    assert_int_equal(parse(";", &v), 0);
    assert_issuer(&v, "");

    assert_int_equal(parse("  \tca.example \t ", &v), 0);
    assert_issuer(&v, "ca.example");

    assert_int_equal(parse("ca.example;", &v), 0);
    assert_issuer(&v, "ca.example");
    assert_int_equal(parse("ca.example ;  ", &v), 0);
    assert_issuer(&v, "ca.example");

    assert_int_equal(parse("a--b.x1-2.example", &v), 0);
    assert_issuer(&v, "a--b.x1-2.example");

    assert_int_equal(parse("CA.Example", &v), 0);
    assert_issuer(&v, "CA.Example");

    assert_int_equal(parse("localhost", &v), 0);
    assert_issuer(&v, "localhost");

    assert_int_equal(caa_value_parse(NULL, 0, &v), 0);
    assert_int_equal(v.issuerlen, 0);
}

static void test_valid_params(void **state)
{
    struct caa_value v;

    assert_int_equal(parse("ca.example; accounturi=https://acme.example/acct/1234", &v), 0);
    assert_issuer(&v, "ca.example");
    assert_int_equal(v.nparams, 1);
    assert_param(&v, 0, "accounturi", "https://acme.example/acct/1234");

    assert_int_equal(
        parse("ca.example ; a = b ;\tvalidationmethods=dns-01,http-01 ; c= ; x-y=1=2", &v), 0);
    assert_int_equal(v.nparams, 4);
    assert_param(&v, 0, "a", "b");
    assert_param(&v, 1, "validationmethods", "dns-01,http-01");
    assert_param(&v, 2, "c", "");
    assert_param(&v, 3, "x-y", "1=2");

    /* parameters with an empty issuer */
    assert_int_equal(parse("; policy=ev", &v), 0);
    assert_issuer(&v, "");
    assert_param(&v, 0, "policy", "ev");

    /* value charset edges: 0x21 and 0x7e, '"' is allowed */
    assert_int_equal(parse("ca; k=!~\"<>", &v), 0);
    assert_param(&v, 0, "k", "!~\"<>");

    /* trailing WSP after the last parameter */
    assert_int_equal(parse("ca; k=v  ", &v), 0);
    assert_param(&v, 0, "k", "v");
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "ca.example.",          /* trailing dot */
        ".ca.example",          /* leading dot */
        "ca..example",          /* empty label */
        "-ca.example",          /* leading hyphen */
        "ca-.example",          /* trailing hyphen */
        "ca_example.com",       /* underscore */
        "ca.example a=b",       /* parameters need ';' */
        "ca.example; a",        /* missing '=' */
        "ca.example; =b",       /* missing tag */
        "ca.example; a=b;",     /* parameters cannot end with ';' */
        "ca.example; a=b ; ",   /* ... even with WSP after it */
        "ca.example;;",         /* empty parameter */
        "ca.example; a=b c=d",  /* missing ';' between parameters */
        "ca.example; -a=b",     /* tag starting with '-' */
        "ca.example; a-=b",     /* tag ending with '-' */
        "ca.example; a_b=c",    /* tag charset */
        "ca.example; a=b\x7f",  /* DEL outside the value charset */
        "ca.example; a=\xc3\xa9", /* non-ASCII value */
        "ca.ex\xc3\xa4mple",    /* non-ASCII issuer */
        "ca.example\r\n",       /* CR LF is not WSP */
        "<script>alert(1)</script>", /* caatestsuite xss */
        "\"ca.example\"",       /* quotes */
        "ca.example;a=b;;c=d",
        ";;",
    };
    struct caa_value v;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &v) != -1) fail_msg("accepted malformed value \"%s\"", bad[i]);
    }
    /* an embedded NUL byte is outside every charset */
    assert_int_equal(caa_value_parse("ca\0.example", 11, &v), -1);
    assert_int_equal(caa_value_parse("ca.example; a=b\0", 16, &v), -1);
    assert_int_equal(caa_value_parse(NULL, 3, &v), -1);
}

static void test_param_cap(void **state)
{
    char buf[1024];
    size_t o = 0;
    struct caa_value v;

    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "ca");
    for (int i = 0; i < CAA_VALUE_MAX_PARAMS; i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "; p%d=v", i);
    }
    assert_int_equal(parse(buf, &v), 0);
    assert_int_equal(v.nparams, CAA_VALUE_MAX_PARAMS);
    snprintf(buf + o, sizeof(buf) - o, "; extra=1");
    assert_int_equal(parse(buf, &v), -1);
}

static void test_tag_valid(void **state)
{
    assert_true(caa_value_tag_valid("issue", 5));
    assert_true(caa_value_tag_valid("ISSUE1", 6));
    assert_true(caa_value_tag_valid("x", 1));
    assert_false(caa_value_tag_valid("", 0));
    assert_false(caa_value_tag_valid(NULL, 0));
    assert_false(caa_value_tag_valid("is-sue", 6));
    assert_false(caa_value_tag_valid("a b", 3));
    assert_false(caa_value_tag_valid("a\0b", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_issuers),
        cmocka_unit_test(test_valid_params),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_param_cap),
        cmocka_unit_test(test_tag_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
