/*
 * Tests for worker/dnssec.c: the decision of the insecurity proof for each kind of DS answer
 * (authenticated or not, DS present, NODATA, NXDOMAIN, SERVFAIL, truncated, no answer) and
 * the label walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dns_msg.h"
#include "dnssec.h"

static enum dnssec_step step(int rcode, bool ad, bool tc, bool has_ds)
{
    struct dnssec_ds_answer a = {rcode, ad, tc, has_ds};
    return dnssec_ds_step(&a);
}

static void test_ds_step(void **state)
{
    (void)state;
    /* authenticated denial of DS: Insecure if this is a zone cut */
    assert_int_equal(step(DNS_MSG_RCODE_NOERROR, true, false, false), DNSSEC_STEP_CUT);
    /* authenticated DS: a signed zone, never Insecure */
    assert_int_equal(step(DNS_MSG_RCODE_NOERROR, true, false, true), DNSSEC_STEP_FAIL);
    /* authenticated NXDOMAIN: the name lies inside a signed zone */
    assert_int_equal(step(DNS_MSG_RCODE_NXDOMAIN, true, false, false), DNSSEC_STEP_FAIL);
    /* unauthenticated answers (from an unsigned zone) say nothing: one label up */
    assert_int_equal(step(DNS_MSG_RCODE_NOERROR, false, false, false), DNSSEC_STEP_PARENT);
    assert_int_equal(step(DNS_MSG_RCODE_NOERROR, false, false, true), DNSSEC_STEP_PARENT);
    assert_int_equal(step(DNS_MSG_RCODE_NXDOMAIN, false, false, false), DNSSEC_STEP_PARENT);
    /* failures (bogus or broken below): never a proof, decided higher up */
    assert_int_equal(step(DNS_MSG_RCODE_SERVFAIL, true, false, false), DNSSEC_STEP_PARENT);
    assert_int_equal(step(DNS_MSG_RCODE_REFUSED, false, false, false), DNSSEC_STEP_PARENT);
    assert_int_equal(step(-1, false, false, false), DNSSEC_STEP_PARENT);
    assert_int_equal(step(DNS_MSG_RCODE_NOERROR, true, true, false), DNSSEC_STEP_PARENT);
}

static void test_parent(void **state)
{
    (void)state;
    assert_string_equal(dnssec_parent("www.example.test"), "example.test");
    assert_string_equal(dnssec_parent("example.test"), "test");
    assert_null(dnssec_parent("test"));
    assert_null(dnssec_parent("test."));
    assert_null(dnssec_parent(""));
    assert_null(dnssec_parent(NULL));
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(dnssec_status_name(DNSSEC_SECURE), "secure");
    assert_string_equal(dnssec_status_name(DNSSEC_INSECURE), "insecure");
    assert_string_equal(dnssec_status_name(DNSSEC_UNPROVEN), "unproven");
    assert_string_equal(dnssec_status_name(DNSSEC_UNCHECKED), "unchecked");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ds_step),
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
