/*
 * Tests for common/mpjson.c: jansson -> msgpack -> jansson round trips of every JSON type, and
 * rejection by mpjson_unpack of input that violates the caps (depth, items, string size) or
 * the JSON data model (non-string or NUL-carrying or non-UTF-8 keys, BIN, EXT, invalid UTF-8
 * strings, integers beyond int64).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpjson.h"

/* Unpacks one msgpack object from sb and converts it; NULL when mpjson rejects it. */
static json_t *convert(const msgpack_sbuffer *sb)
{
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    json_t *out;

    msgpack_zone_init(&zone, 4096);
    assert_int_equal(msgpack_unpack(sb->data, sb->size, &off, &zone, &obj),
                     MSGPACK_UNPACK_SUCCESS);
    out = mpjson_unpack(&obj);
    msgpack_zone_destroy(&zone);
    return out;
}

static json_t *round_trip(const json_t *in)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(mpjson_pack(&pk, in), 0);
    out = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void pack_s(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void test_round_trip_all_types(void **state)
{
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"a\":1,\"b\":-1,\"c\":0,\"d\":true,\"e\":false,\"f\":null,\"g\":\"x\",\"h\":2.25}",
        "[9223372036854775807,-9223372036854775808,4294967296,-4294967297,127,-32,255]",
        "{\"\\u00e9t\\u00e9\":\"\\u65e5\\u672c\\ud83d\\ude00\",\"\":\"empty key\"}",
        "{\"deep\":[[{\"x\":[[[]]]}]],\"mixed\":[1,\"two\",3.5,null,{\"k\":[true]}]}",
        "\"bare string\"",
        "42",
        "null",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_error_t jerr;
        json_t *in = json_loads(docs[i], JSON_DECODE_ANY, &jerr);
        json_t *out;
        assert_non_null(in);
        out = round_trip(in);
        assert_non_null(out);
        assert_true(json_equal(in, out));
        assert_int_equal(json_typeof(in), json_typeof(out));
        json_decref(in);
        json_decref(out);
    }
}

static void test_string_with_nul_round_trips(void **state)
{
    json_t *in = json_stringn("a\0b", 3), *out;
    (void)state;
    out = round_trip(in);
    assert_non_null(out);
    assert_int_equal(json_string_length(out), 3);
    assert_memory_equal(json_string_value(out), "a\0b", 3);
    json_decref(in);
    json_decref(out);
}

/* `levels` nested one-element arrays (or maps) around the integer 7. */
static json_t *nested(int levels, bool maps)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (int i = 0; i < levels; i++) {
        if (maps) {
            msgpack_pack_map(&pk, 1);
            pack_s(&pk, "k", 1);
        } else {
            msgpack_pack_array(&pk, 1);
        }
    }
    msgpack_pack_int(&pk, 7);
    out = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void test_depth_cap(void **state)
{
    (void)state;
    for (int maps = 0; maps < 2; maps++) {
        json_t *ok = nested(MPJSON_MAX_DEPTH, maps);
        json_t *v = ok;
        assert_non_null(ok);
        for (int i = 0; i < MPJSON_MAX_DEPTH; i++)
            v = maps ? json_object_get(v, "k") : json_array_get(v, 0);
        assert_int_equal(json_integer_value(v), 7);
        json_decref(ok);
        assert_null(nested(MPJSON_MAX_DEPTH + 1, maps));
        assert_null(nested(MPJSON_MAX_DEPTH + 10, maps));
    }
}

static json_t *array_of(uint32_t n, bool map)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (map) msgpack_pack_map(&pk, n);
    else msgpack_pack_array(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        if (map) {
            char key[16];
            int len = snprintf(key, sizeof(key), "k%u", i);
            pack_s(&pk, key, (size_t)len);
        }
        msgpack_pack_uint32(&pk, i);
    }
    out = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void test_item_caps(void **state)
{
    json_t *v;
    (void)state;

    v = array_of(MPJSON_MAX_ITEMS, false);
    assert_non_null(v);
    assert_int_equal(json_array_size(v), MPJSON_MAX_ITEMS);
    assert_int_equal(json_integer_value(json_array_get(v, MPJSON_MAX_ITEMS - 1)),
                     MPJSON_MAX_ITEMS - 1);
    json_decref(v);
    assert_null(array_of(MPJSON_MAX_ITEMS + 1, false));

    v = array_of(MPJSON_MAX_ITEMS, true);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), MPJSON_MAX_ITEMS);
    json_decref(v);
    assert_null(array_of(MPJSON_MAX_ITEMS + 1, true));
}

static json_t *string_of(size_t n)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char *s = malloc(n + 1);
    json_t *out;

    memset(s, 'z', n);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_s(&pk, s, n);
    out = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    free(s);
    return out;
}

static void test_string_cap(void **state)
{
    json_t *v;
    (void)state;
    v = string_of(MPJSON_MAX_STRING);
    assert_non_null(v);
    assert_int_equal(json_string_length(v), MPJSON_MAX_STRING);
    json_decref(v);
    assert_null(string_of(MPJSON_MAX_STRING + 1));
}

enum bad_kind {
    BAD_INT_KEY,
    BAD_NIL_KEY,
    BAD_ARRAY_KEY,
    BAD_BIN_KEY,
    BAD_NUL_KEY,
    BAD_UTF8_KEY,
    BAD_BIN_VALUE,
    BAD_EXT_VALUE,
    BAD_FIXEXT_VALUE,
    BAD_UTF8_VALUE,
    BAD_OVERLONG_UTF8,
    BAD_SURROGATE_UTF8,
    BAD_U64,
    BAD_COUNT
};

/* {"ok": 1, <bad entry>} nested inside an array, so rejection must propagate. */
static json_t *bad_doc(enum bad_kind kind)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_true(&pk);
    msgpack_pack_map(&pk, 2);
    pack_s(&pk, "ok", 2);
    msgpack_pack_int(&pk, 1);
    switch (kind) {
    case BAD_INT_KEY: msgpack_pack_int(&pk, 5); msgpack_pack_int(&pk, 1); break;
    case BAD_NIL_KEY: msgpack_pack_nil(&pk); msgpack_pack_int(&pk, 1); break;
    case BAD_ARRAY_KEY: msgpack_pack_array(&pk, 0); msgpack_pack_int(&pk, 1); break;
    case BAD_BIN_KEY:
        msgpack_pack_bin(&pk, 1);
        msgpack_pack_bin_body(&pk, "k", 1);
        msgpack_pack_int(&pk, 1);
        break;
    case BAD_NUL_KEY: pack_s(&pk, "a\0b", 3); msgpack_pack_int(&pk, 1); break;
    case BAD_UTF8_KEY: pack_s(&pk, "k\xff", 2); msgpack_pack_int(&pk, 1); break;
    case BAD_BIN_VALUE:
        pack_s(&pk, "v", 1);
        msgpack_pack_bin(&pk, 3);
        msgpack_pack_bin_body(&pk, "abc", 3);
        break;
    case BAD_EXT_VALUE:
        pack_s(&pk, "v", 1);
        msgpack_pack_ext(&pk, 3, 1);
        msgpack_pack_ext_body(&pk, "abc", 3);
        break;
    case BAD_FIXEXT_VALUE:
        pack_s(&pk, "v", 1);
        msgpack_pack_ext(&pk, 4, -1); /* timestamp ext type */
        msgpack_pack_ext_body(&pk, "\0\0\0\1", 4);
        break;
    case BAD_UTF8_VALUE: pack_s(&pk, "v", 1); pack_s(&pk, "ab\xc3", 3); break;
    case BAD_OVERLONG_UTF8: pack_s(&pk, "v", 1); pack_s(&pk, "\xc0\xaf", 2); break;
    case BAD_SURROGATE_UTF8: pack_s(&pk, "v", 1); pack_s(&pk, "\xed\xa0\x80", 3); break;
    case BAD_U64: pack_s(&pk, "v", 1); msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1); break;
    case BAD_COUNT: break;
    }
    out = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void test_rejections(void **state)
{
    (void)state;
    for (int k = 0; k < BAD_COUNT; k++) {
        json_t *v = bad_doc((enum bad_kind)k);
        if (v != NULL) fail_msg("bad kind %d was accepted", k);
    }
}

static void test_huge_integers(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *v;
    (void)state;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_float(&pk, 0.5f);
    msgpack_pack_double(&pk, -1e300);
    v = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    assert_non_null(v);
    assert_true(json_integer_value(json_array_get(v, 0)) == INT64_MAX);
    assert_true(json_integer_value(json_array_get(v, 1)) == INT64_MIN);
    assert_true(json_real_value(json_array_get(v, 2)) == 0.5);
    assert_true(json_real_value(json_array_get(v, 3)) == -1e300);
    json_decref(v);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    assert_null(convert(&sb));
    msgpack_sbuffer_destroy(&sb);
}

static void test_duplicate_keys_last_wins_without_leak(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *v;
    (void)state;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_s(&pk, "k", 1);
    pack_s(&pk, "first", 5);
    pack_s(&pk, "k", 1);
    pack_s(&pk, "second", 6);
    v = convert(&sb);
    msgpack_sbuffer_destroy(&sb);
    assert_non_null(v);
    assert_int_equal(json_object_size(v), 1);
    assert_string_equal(json_string_value(json_object_get(v, "k")), "second");
    json_decref(v);
}

static void test_pack_scalars_encoding(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    json_t *v = json_pack("[bnis]", 1, 5, "hi");
    (void)state;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(mpjson_pack(&pk, v), 0);
    /* fixarray(4), true, nil, fixint 5, fixstr "hi" */
    assert_int_equal(sb.size, 7);
    assert_memory_equal(sb.data, "\x94\xc3\xc0\x05\xa2hi", 7);
    msgpack_sbuffer_destroy(&sb);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_types),
        cmocka_unit_test(test_string_with_nul_round_trips),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_item_caps),
        cmocka_unit_test(test_string_cap),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_huge_integers),
        cmocka_unit_test(test_duplicate_keys_last_wins_without_leak),
        cmocka_unit_test(test_pack_scalars_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
