/*
 * Tests for common/jsonout: its text equals json_dumps(v, JSON_COMPACT) byte for byte, on
 * hand-picked edge cases (escapes, control characters, UTF-8, integers at the limits, reals,
 * empty containers, key order) and on thousands of random trees; and it refuses what jansson
 * refuses (scalars at the top, invalid UTF-8 in strings and keys, cycles).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

/* jsonout_dumps(v) equals json_dumps(v, JSON_COMPACT), NULL included. */
static void assert_same_text(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT);
    size_t len = 0;
    char *got = jsonout_dumps(v, &len);

    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(got);
}

static void test_edge_cases(void **state)
{
    static const char nul_inside[] = {'a', '\0', 'b'};
    json_t *o = json_object(), *a = json_array(), *nested = json_object();
    char ctl[40];
    (void)state;

    for (int i = 0; i < 32; i++) ctl[i] = (char)(i + 1); /* 0x01..0x20 */
    ctl[32] = '"';
    ctl[33] = '\\';
    ctl[34] = '/';
    ctl[35] = 0x7f;
    ctl[36] = '\0';
    json_object_set_new(o, "plain", json_string("hello"));
    json_object_set_new(o, "escapes", json_string(ctl));
    json_object_set_new(o, "nul", json_stringn(nul_inside, sizeof(nul_inside)));
    json_object_set_new(o, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                                               "\xe2\x80\xa8"));
    json_object_set_new(o, "k\xc3\xa9y \"quoted\"\n", json_true());
    json_object_set_new(o, "", json_string(""));
    json_object_set_new(o, "false", json_false());
    json_object_set_new(o, "null", json_null());
    json_object_set_new(o, "zero", json_integer(0));
    json_object_set_new(o, "neg", json_integer(-42));
    json_object_set_new(o, "max", json_integer(INT64_MAX));
    json_object_set_new(o, "min", json_integer(INT64_MIN));
    json_object_set_new(o, "reals", json_pack("[f,f,f,f,f,f]", 0.0, 1.5, -2.0, 1e300, 1e-7,
                                              0.1));
    json_object_set_new(o, "empty_object", json_object());
    json_object_set_new(o, "empty_array", json_array());
    json_object_set_new(nested, "z", json_integer(1));
    json_object_set_new(nested, "a", json_integer(2)); /* insertion order, not sorted */
    json_array_append_new(a, nested);
    json_array_append_new(a, json_pack("[[[]],{}]"));
    json_object_set_new(o, "nested", a);
    json_object_del(o, "plain"); /* deletion keeps the order of the rest */
    json_object_set_new(o, "plain", json_string("again"));
    assert_same_text(o);
    assert_same_text(json_object_get(o, "nested"));
    json_decref(o);
}

static void test_refusals(void **state)
{
    json_t *o = json_object(), *a = json_array(), *b = json_array(), *s = json_string("x");
    (void)state;

    assert_null(jsonout_dumps(s, NULL)); /* json_dumps refuses scalars without ENCODE_ANY */
    assert_same_text(s);
    json_object_set_new(o, "bad", json_stringn_nocheck("\xff\xfe", 2));
    assert_same_text(o);
    json_object_del(o, "bad");
    json_object_set_new(o, "overlong", json_stringn_nocheck("\xc0\xaf", 2));
    assert_same_text(o);
    json_object_del(o, "overlong");
    json_object_set_new(o, "surrogate", json_stringn_nocheck("\xed\xa0\x80", 3));
    assert_same_text(o);
    json_object_del(o, "surrogate");
    json_object_set_new(o, "truncated", json_stringn_nocheck("ab\xe2\x82", 4));
    assert_same_text(o);
    json_object_del(o, "truncated");
    json_object_set_new_nocheck(o, "bad\xff key", json_true());
    assert_null(jsonout_dumps(o, NULL));
    json_object_clear(o);
    /* a cycle (a holds b holds a): jansson detects it, jsonout stops at its depth cap */
    json_array_append(a, b);
    json_array_append(b, a);
    assert_null(json_dumps(a, JSON_COMPACT));
    assert_null(jsonout_dumps(a, NULL));
    json_array_clear(b);
    json_decref(b);
    json_decref(a);
    json_decref(o);
    json_decref(s);
}

static unsigned rnd_next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}

/* A random string: ASCII, control characters, quotes and multi-byte UTF-8. */
static json_t *rnd_string(unsigned *seed)
{
    static const char *const pieces[] = {"a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01",
                                         "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "mpic", "_"};
    char buf[128];
    size_t len = 0, n = rnd_next(seed) % 12;

    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[rnd_next(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t pl = strlen(p);
        memcpy(buf + len, p, pl);
        len += pl;
    }
    return json_stringn(buf, len);
}

static json_t *rnd_value(unsigned *seed, int depth)
{
    unsigned kind = rnd_next(seed) % (depth > 4 ? 6 : 8);
    json_t *v;

    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(rnd_next(seed) & 1);
    case 2: return json_integer((json_int_t)rnd_next(seed) * rnd_next(seed) - 500000000);
    case 3: return json_real((double)rnd_next(seed) / 7.0);
    case 4:
    case 5: return rnd_string(seed);
    case 6:
        v = json_array();
        for (unsigned i = rnd_next(seed) % 5; i > 0; i--)
            json_array_append_new(v, rnd_value(seed, depth + 1));
        return v;
    default:
        v = json_object();
        for (unsigned i = rnd_next(seed) % 6; i > 0; i--) {
            json_t *k = rnd_string(seed);
            json_object_set_new(v, json_string_value(k), rnd_value(seed, depth + 1));
            json_decref(k);
        }
        return v;
    }
}

static void test_random_trees(void **state)
{
    unsigned seed = 20261123;
    (void)state;

    for (int i = 0; i < 3000; i++) {
        json_t *v = json_array();
        json_array_append_new(v, rnd_value(&seed, 0));
        json_array_append_new(v, rnd_value(&seed, 0));
        assert_same_text(v);
        assert_same_text(json_array_get(v, 0));
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_random_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
