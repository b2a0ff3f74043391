/*
 * jansson <-> msgpack conversion (see mpjson.h). Unpacking is recursive with an explicit
 * depth cap, and every count and length is checked against the caps before allocating.
 */
#include "mpjson.h"

#include <string.h>

int mpjson_pack(msgpack_packer *pk, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        if (msgpack_pack_map(pk, json_object_size(v)) != 0) return -1;
        json_object_foreach((json_t *)v, key, val) {
            size_t klen = strlen(key);
            if (msgpack_pack_str(pk, klen) != 0 || msgpack_pack_str_body(pk, key, klen) != 0)
                return -1;
            if (mpjson_pack(pk, val) != 0) return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        if (msgpack_pack_array(pk, json_array_size(v)) != 0) return -1;
        json_array_foreach(v, i, val) {
            if (mpjson_pack(pk, val) != 0) return -1;
        }
        return 0;
    }
    case JSON_STRING: {
        size_t len = json_string_length(v);
        if (msgpack_pack_str(pk, len) != 0) return -1;
        return msgpack_pack_str_body(pk, json_string_value(v), len);
    }
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(pk);
    case JSON_FALSE:
        return msgpack_pack_false(pk);
    case JSON_NULL:
        return msgpack_pack_nil(pk);
    }
    return -1;
}

static json_t *mpjson_unpack_depth(const msgpack_object *o, int depth)
{
    json_t *out = NULL;

    if (depth > MPJSON_MAX_DEPTH) return NULL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX) return NULL;
        return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        if (o->via.str.size > MPJSON_MAX_STRING) return NULL;
        return json_stringn(o->via.str.ptr, o->via.str.size); /* NULL unless valid UTF-8 */
    case MSGPACK_OBJECT_ARRAY:
        if (o->via.array.size > MPJSON_MAX_ITEMS) return NULL;
        out = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_t *item = mpjson_unpack_depth(&o->via.array.ptr[i], depth + 1);
            if (item == NULL || json_array_append_new(out, item) != 0) goto fail;
        }
        return out;
    case MSGPACK_OBJECT_MAP:
        if (o->via.map.size > MPJSON_MAX_ITEMS) return NULL;
        out = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            char key[256];
            json_t *val;
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size >= sizeof(key) ||
                memchr(kv->key.via.str.ptr, '\0', kv->key.via.str.size) != NULL)
                goto fail;
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            val = mpjson_unpack_depth(&kv->val, depth + 1);
            /* json_object_set_new checks the key is UTF-8 (and consumes val on failure) */
            if (val == NULL || json_object_set_new(out, key, val) != 0) goto fail;
        }
        return out;
    default:
        return NULL; /* BIN, EXT */
    }
fail:
    json_decref(out);
    return NULL;
}

json_t *mpjson_unpack(const msgpack_object *o)
{
    return mpjson_unpack_depth(o, 0);
}

json_t *mpjson_text(const char *s)
{
    char buf[1024];
    size_t i = 0;
    json_t *v;

    if (s == NULL) s = "";
    v = json_string(s);
    if (v != NULL) return v;
    for (; s[i] != '\0' && i + 1 < sizeof(buf); i++)
        buf[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    buf[i] = '\0';
    return json_string(buf);
}
