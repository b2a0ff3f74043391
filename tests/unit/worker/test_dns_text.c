/*
 * Unit tests for worker/dns_text.c: escaping of quotes, backslashes, control and non-ASCII
 * bytes, the cap and the output-size limit, and JSON strings for valid / invalid UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns_text.h"

static void test_escape(void **state)
{
    static const unsigned char v[] = {'a', '"', '\\', 0, 0xc3, 'z'};
    char out[64];

    dns_text_escape(v, sizeof(v), sizeof(v), out, sizeof(out));
    assert_string_equal(out, "a\\\"\\\\\\000\\195z");
    dns_text_escape(v, sizeof(v), 2, out, sizeof(out));
    assert_string_equal(out, "a\\\"");
    dns_text_escape(v, sizeof(v), sizeof(v), out, 4); /* "a" + 2-byte escape fits, then stop */
    assert_string_equal(out, "a\\\"");
    dns_text_escape(v, sizeof(v), sizeof(v), out, 1);
    assert_string_equal(out, "");
}

static void test_json(void **state)
{
    json_t *j = dns_text_json((const unsigned char *)"caf\xc3\xa9", 5);
    assert_string_equal(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
    j = dns_text_json((const unsigned char *)"a\xff", 2);
    assert_string_equal(json_string_value(j), "a\\255");
    json_decref(j);
    j = dns_text_json((const unsigned char *)"a\0b", 3);
    assert_int_equal(json_string_length(j), 3);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
