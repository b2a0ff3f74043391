/*
 * msgpack encoding of jobs and results (see msg.h). A message is a map with short string
 * keys and a version field; decoding unpacks into a zone with a size cap, requires exactly
 * one top-level object with no trailing bytes, checks every field's type and length, and
 * ignores unknown keys (forward compatibility within one version).
 */
#include "msg.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpjson.h"
#include "util.h"

#define MSG_STR_MAX 4096 /* any single scalar string field */

const char *check_type_name(enum check_type t)
{
    return t == CHECK_TYPE_DCV ? "dcv" : "caa";
}

int check_type_parse(const char *s, enum check_type *out)
{
    if (s == NULL) return -1;
    if (strcmp(s, "caa") == 0) {
        *out = CHECK_TYPE_CAA;
        return 0;
    }
    if (strcmp(s, "dcv") == 0) {
        *out = CHECK_TYPE_DCV;
        return 0;
    }
    return -1;
}

static void msg_pack_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
}

static void msg_pack_str(msgpack_packer *pk, const char *key, const char *val)
{
    msg_pack_key(pk, key);
    if (val == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(val);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, val, n);
}

static void msg_pack_int(msgpack_packer *pk, const char *key, int64_t val)
{
    msg_pack_key(pk, key);
    msgpack_pack_int64(pk, val);
}

static int msg_finish(msgpack_sbuffer *sb, char **out, size_t *outlen)
{
    if (sb->size > MSG_MAX_BYTES) {
        msgpack_sbuffer_destroy(sb);
        return -1;
    }
    *out = sb->data; /* ownership moves to the caller (malloc'ed by sbuffer) */
    *outlen = sb->size;
    return 0;
}

/*
 * A job's check parameters: an object's keys whose value is null are left out (every check
 * reads an absent key as null), which is 15-25 bytes per null in each of a validation's jobs.
 */
static int msg_pack_params(msgpack_packer *pk, const json_t *params)
{
    const char *key;
    json_t *val;
    size_t n = 0;

    if (!json_is_object(params)) return mpjson_pack(pk, params);
    json_object_foreach((json_t *)params, key, val) n += json_is_null(val) ? 0 : 1;
    msgpack_pack_map(pk, n);
    json_object_foreach((json_t *)params, key, val) {
        if (json_is_null(val)) continue;
        msg_pack_key(pk, key);
        if (mpjson_pack(pk, val) != 0) return -1;
    }
    return 0;
}

/* The job as a msgpack map; with_header adds the fields a sealed header carries. */
static int msg_job_pack(const struct msg_job *job, bool with_header, char **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    /* a body also leaves out an absent trace id and a false wildcard flag */
    bool wc = with_header || job->wildcard, tid = with_header || job->trace_id != NULL;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (with_header ? 8 : 3) + (wc ? 1 : 0) + (tid ? 1 : 0));
    msg_pack_int(&pk, "v", MSG_VERSION);
    if (with_header) {
        msg_pack_str(&pk, "rid", job->rid);
        msg_pack_int(&pk, "att", job->attempt);
        msg_pack_str(&pk, "p", job->perspective);
        msg_pack_str(&pk, "ct", check_type_name(job->check_type));
        msg_pack_int(&pk, "dl", job->deadline_ms);
    }
    msg_pack_str(&pk, "tgt", job->target);
    if (wc) {
        msg_pack_key(&pk, "wc");
        job->wildcard ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    if (tid) msg_pack_str(&pk, "tid", job->trace_id);
    msg_pack_key(&pk, "prm");
    if (job->params == NULL || msg_pack_params(&pk, job->params) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    return msg_finish(&sb, out, outlen);
}

int msg_job_encode(const struct msg_job *job, char **out, size_t *outlen)
{
    return msg_job_pack(job, true, out, outlen);
}

int msg_job_encode_body(const struct msg_job *job, char **out, size_t *outlen)
{
    return msg_job_pack(job, false, out, outlen);
}

int msg_result_encode(const struct msg_result *res, char **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msg_pack_int(&pk, "v", MSG_VERSION);
    msg_pack_str(&pk, "rid", res->rid);
    msg_pack_int(&pk, "att", res->attempt);
    msg_pack_str(&pk, "p", res->perspective);
    msg_pack_str(&pk, "ct", check_type_name(res->check_type));
    msg_pack_key(&pk, "cr");
    if (res->check_response == NULL || mpjson_pack(&pk, res->check_response) != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    return msg_finish(&sb, out, outlen);
}

/* Field accessors over a decoded top-level map; each returns -1 on a type mismatch. */
static const msgpack_object *msg_get(const msgpack_object *map, const char *key)
{
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    }
    return NULL;
}

static int msg_get_str(const msgpack_object *map, const char *key, bool nullable, size_t max,
                       char **out)
{
    const msgpack_object *o = msg_get(map, key);
    *out = NULL;
    if (o == NULL || o->type == MSGPACK_OBJECT_NIL) return nullable ? 0 : -1;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > max ||
        memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
        return -1;
    *out = util_xstrndup(o->via.str.ptr, o->via.str.size);
    return 0;
}

static int msg_get_int(const msgpack_object *map, const char *key, int64_t min, int64_t max,
                       int64_t *out)
{
    const msgpack_object *o = msg_get(map, key);
    int64_t v;
    if (o == NULL) return -1;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX) return -1;
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return -1;
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

#define MSG_SCAN_DEPTH 32 /* msgpack-c's own unpacker nesting limit */

/* Reads a big-endian unsigned integer of n (1, 2, 4 or 8) bytes. */
static uint64_t msg_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/*
 * Walks the first msgpack object in buf without allocating and returns its encoded size, or 0
 * when buf holds no complete, well-formed object nested at most MSG_SCAN_DEPTH deep. Runs before
 * msgpack_unpack, which allocates every array and map up front from its declared count (a
 * 5-byte array32 header would otherwise make it allocate gigabytes); after a successful scan
 * every declared element exists, so allocations stay proportional to len.
 */
static size_t msg_scan(const unsigned char *p, size_t len)
{
    uint64_t pending[MSG_SCAN_DEPTH + 1]; /* elements still expected at each nesting level */
    int depth = 0;
    size_t off = 0;

    pending[0] = 1;
    while (depth >= 0) {
        uint64_t count = 0, skip = 0;
        size_t lenbytes = 0, extra = 0; /* size-field bytes; type byte of ext */
        int container = 0;              /* 1: array of count, 2: map of count pairs */
        unsigned char b;

        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (off >= len) return 0;
        b = p[off++];
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            skip = 0; /* fixint, nil, false, true */
        } else if (b <= 0x8f) {
            container = 2;
            count = b & 0x0f;
        } else if (b <= 0x9f) {
            container = 1;
            count = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break; /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break; /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break; /* bin32, str32 */
            case 0xc7: lenbytes = 1; extra = 1; break; /* ext8 */
            case 0xc8: lenbytes = 2; extra = 1; break; /* ext16 */
            case 0xc9: lenbytes = 4; extra = 1; break; /* ext32 */
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xca: case 0xce: case 0xd2: skip = 4; break;
            case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break; /* fixext 1..16: type byte + data */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: container = 1; lenbytes = 2; break;
            case 0xdd: container = 1; lenbytes = 4; break;
            case 0xde: container = 2; lenbytes = 2; break;
            case 0xdf: container = 2; lenbytes = 4; break;
            default: return 0; /* 0xc1 is never used */
            }
            if (lenbytes > len - off) return 0;
            if (container) count = msg_be(p + off, lenbytes);
            else if (lenbytes) skip = msg_be(p + off, lenbytes) + extra;
            off += lenbytes;
        }
        if (container) {
            uint64_t items = container == 2 ? 2 * count : count;
            if (depth == MSG_SCAN_DEPTH || items > len - off) return 0; /* >= 1 byte each */
            pending[++depth] = items;
        } else {
            if (skip > len - off) return 0;
            off += (size_t)skip;
        }
    }
    return off;
}

/*
 * The zone messages are unpacked into, kept per thread and cleared after each message
 * (msgpack_zone_clear keeps its first chunk): a fresh zone per message costs a 4 KiB malloc,
 * the allocation that most often made glibc consolidate its free lists. NULL: out of memory.
 */
static msgpack_zone *msg_zone(void)
{
    static _Thread_local msgpack_zone *zone;

    if (zone == NULL) zone = msgpack_zone_new(4096);
    return zone;
}

/* Unpacks exactly one map from buf into zone; -1 on garbage, truncation or trailing bytes. */
static int msg_unpack_map(const char *buf, size_t len, msgpack_zone *zone, msgpack_object *obj,
                          char *err, size_t errlen)
{
    size_t off = 0;
    msgpack_unpack_return ret;
    int64_t version;

    if (buf == NULL || len == 0 || len > MSG_MAX_BYTES) {
        snprintf(err, errlen, "message size %zu outside 1..%d", len, MSG_MAX_BYTES);
        return -1;
    }
    off = msg_scan((const unsigned char *)buf, len);
    if (off == 0) {
        snprintf(err, errlen, "truncated or malformed message");
        return -1;
    }
    if (off != len) {
        snprintf(err, errlen, "trailing bytes");
        return -1;
    }
    off = 0;
    ret = msgpack_unpack(buf, len, &off, zone, obj);
    if (ret != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "%s", ret == MSGPACK_UNPACK_EXTRA_BYTES ? "trailing bytes"
                                    : ret == MSGPACK_UNPACK_CONTINUE  ? "truncated message"
                                                                      : "malformed msgpack");
        return -1;
    }
    if (obj->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "message is not a map");
        return -1;
    }
    if (msg_get_int(obj, "v", 0, 1000, &version) != 0 || version != MSG_VERSION) {
        snprintf(err, errlen, "unsupported message version");
        return -1;
    }
    return 0;
}

/*
 * The header fields of a job: from the body, or (h != NULL) from the sealed header, in which
 * case a body field that is present anyway must agree with it.
 */
static int msg_job_header_fields(const msgpack_object *obj, const struct msg_job_header *h,
                                 struct msg_job *job)
{
    int64_t attempt, deadline;
    char *ct = NULL;
    int rc = -1;

    if (h == NULL || msg_get(obj, "rid") != NULL) {
        if (msg_get_str(obj, "rid", false, MSG_RID_MAX, &job->rid) != 0) goto done;
        if (h != NULL && strcmp(job->rid, h->rid) != 0) goto done;
    } else {
        job->rid = util_xstrdup(h->rid);
    }
    if (h == NULL || msg_get(obj, "p") != NULL) {
        if (msg_get_str(obj, "p", false, 64, &job->perspective) != 0) goto done;
        if (h != NULL && strcmp(job->perspective, h->perspective) != 0) goto done;
    } else {
        job->perspective = util_xstrdup(h->perspective);
    }
    if (h == NULL || msg_get(obj, "ct") != NULL) {
        if (msg_get_str(obj, "ct", false, 8, &ct) != 0 ||
            check_type_parse(ct, &job->check_type) != 0)
            goto done;
        if (h != NULL && job->check_type != h->check_type) goto done;
    } else {
        job->check_type = h->check_type;
    }
    if (h == NULL || msg_get(obj, "att") != NULL) {
        if (msg_get_int(obj, "att", 1, 1000, &attempt) != 0) goto done;
        if (h != NULL && (uint32_t)attempt != h->attempt) goto done;
        job->attempt = (uint32_t)attempt;
    } else {
        if (h->attempt < 1 || h->attempt > 1000) goto done;
        job->attempt = h->attempt;
    }
    if (h == NULL || msg_get(obj, "dl") != NULL) {
        if (msg_get_int(obj, "dl", 0, INT64_MAX, &deadline) != 0) goto done;
        if (h != NULL && deadline != h->deadline_ms) goto done;
        job->deadline_ms = deadline;
    } else {
        if (h->deadline_ms < 0) goto done;
        job->deadline_ms = h->deadline_ms;
    }
    rc = 0;
done:
    free(ct);
    return rc;
}

static int msg_job_unpack(const char *buf, size_t len, const struct msg_job_header *h,
                          struct msg_job *job, char *err, size_t errlen)
{
    msgpack_zone *zone = msg_zone();
    msgpack_object obj;
    const msgpack_object *o;
    int rc = -1;

    memset(job, 0, sizeof(*job));
    if (zone == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (msg_unpack_map(buf, len, zone, &obj, err, errlen) != 0) goto done;
    if (msg_job_header_fields(&obj, h, job) != 0 ||
        msg_get_str(&obj, "tgt", false, 255, &job->target) != 0 ||
        msg_get_str(&obj, "tid", true, MSG_STR_MAX, &job->trace_id) != 0) {
        snprintf(err, errlen, "job: missing, ill-typed or disagreeing field");
        goto done;
    }
    o = msg_get(&obj, "wc");
    if (o == NULL && h != NULL) {
        job->wildcard = false; /* a sealed body leaves out a false flag */
    } else if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN) {
        snprintf(err, errlen, "job: missing or ill-typed field wc");
        goto done;
    } else {
        job->wildcard = o->via.boolean;
    }
    o = msg_get(&obj, "prm");
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP || (job->params = mpjson_unpack(o)) == NULL) {
        snprintf(err, errlen, "job: missing or invalid params");
        goto done;
    }
    rc = 0;
done:
    msgpack_zone_clear(zone);
    if (rc != 0) msg_job_free(job);
    return rc;
}

int msg_job_decode(const char *buf, size_t len, struct msg_job *job, char *err, size_t errlen)
{
    return msg_job_unpack(buf, len, NULL, job, err, errlen);
}

int msg_job_decode_body(const char *buf, size_t len, const struct msg_job_header *h,
                        struct msg_job *job, char *err, size_t errlen)
{
    return msg_job_unpack(buf, len, h, job, err, errlen);
}

int msg_result_decode(const char *buf, size_t len, struct msg_result *res, char *err,
                      size_t errlen)
{
    msgpack_zone *zone = msg_zone();
    msgpack_object obj;
    const msgpack_object *o;
    int64_t attempt;
    char *ct = NULL;
    int rc = -1;

    memset(res, 0, sizeof(*res));
    if (zone == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (msg_unpack_map(buf, len, zone, &obj, err, errlen) != 0) goto done;
    if (msg_get_str(&obj, "rid", false, MSG_RID_MAX, &res->rid) != 0 ||
        msg_get_str(&obj, "p", false, 64, &res->perspective) != 0 ||
        msg_get_str(&obj, "ct", false, 8, &ct) != 0 || check_type_parse(ct, &res->check_type) ||
        msg_get_int(&obj, "att", 1, 1000, &attempt) != 0) {
        snprintf(err, errlen, "result: missing or ill-typed field");
        goto done;
    }
    o = msg_get(&obj, "cr");
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP ||
        (res->check_response = mpjson_unpack(o)) == NULL ||
        !json_is_boolean(json_object_get(res->check_response, "check_completed")) ||
        !json_is_boolean(json_object_get(res->check_response, "check_passed"))) {
        snprintf(err, errlen, "result: missing or invalid check_response");
        goto done;
    }
    res->attempt = (uint32_t)attempt;
    rc = 0;
done:
    free(ct);
    msgpack_zone_clear(zone);
    if (rc != 0) msg_result_free(res);
    return rc;
}

void msg_job_free(struct msg_job *job)
{
    free(job->rid);
    free(job->perspective);
    free(job->target);
    free(job->trace_id);
    json_decref(job->params);
    memset(job, 0, sizeof(*job));
}

void msg_result_free(struct msg_result *res)
{
    free(res->rid);
    free(res->perspective);
    json_decref(res->check_response);
    memset(res, 0, sizeof(*res));
}
