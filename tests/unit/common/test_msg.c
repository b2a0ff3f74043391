/*
 * Tests for common/msg.c: job and result round trips with every field and nested parameters,
 * and rejection of hostile blobs — every truncation, trailing bytes, random garbage and
 * mutations (must never crash), wrong versions, missing or ill-typed fields built by hand,
 * oversized input, non-map top levels and check_responses without the two booleans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/*
 * Under -DMPIC_SANITIZE=ON, make any single allocation above 512 MiB fatal: msgpack-c allocates
 * arrays and maps up front from their declared count, so a hostile 6-byte header used to ask
 * for gigabytes (test_huge_declared_counts_rejected guards msg.c's pre-scan). Unused otherwise.
 */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=512";
}

/* Deterministic xorshift64 so failures reproduce. */
static uint64_t prng_state = 0x9e3779b97f4a7c15ull;

static uint64_t prng(void)
{
    prng_state ^= prng_state << 13;
    prng_state ^= prng_state >> 7;
    prng_state ^= prng_state << 17;
    return prng_state;
}

static json_t *sample_params(void)
{
    json_error_t jerr;
    json_t *p = json_loads("{\"certificate_type\":\"tls-server\","
                           "\"caa_domains\":[\"example-ca.test\",\"other.test\"],"
                           "\"allow_lookup_failure\":false,\"flag\":true,\"account_uri\":null,"
                           "\"n\":-9223372036854775807,\"big\":9223372036854775807,\"r\":1.5,"
                           "\"utf8\":\"Z\\u00fcrich \\u2603 \\ud834\\udd1e\","
                           "\"nested\":{\"a\":[1,[2,{\"b\":null}],{}],\"e\":[]}}",
                           0, &jerr);
    assert_non_null(p);
    return p;
}

/*
 * What a job's parameters decode to: the sample without its top-level nulls (a job leaves
 * them out; nested nulls and false values stay).
 */
static void assert_params_decoded(const json_t *got, const json_t *sent)
{
    json_t *want = json_deep_copy(sent);

    assert_true(json_is_null(json_object_get(sent, "account_uri")));
    json_object_del(want, "account_uri");
    assert_true(json_equal(got, want));
    assert_null(json_object_get(got, "account_uri"));
    assert_true(json_is_false(json_object_get(got, "allow_lookup_failure")));
    assert_true(json_is_null(json_object_get(
        json_array_get(json_array_get(json_object_get(json_object_get(got, "nested"), "a"), 1),
                       1),
        "b")));
    json_decref(want);
}

static void sample_job(struct msg_job *job)
{
    memset(job, 0, sizeof(*job));
    job->rid = strdup("0123456789abcdef0123456789abcdef");
    job->attempt = 3;
    job->perspective = strdup("us-east-1");
    job->check_type = CHECK_TYPE_DCV;
    job->target = strdup("xn--bcher-kva.example");
    job->wildcard = true;
    job->deadline_ms = 1767225600123;
    job->trace_id = strdup("trace-\xc3\xa9-1");
    job->params = sample_params();
}

static void sample_result(struct msg_result *res)
{
    json_error_t jerr;
    memset(res, 0, sizeof(*res));
    res->rid = strdup("fedcba9876543210fedcba9876543210");
    res->attempt = 1;
    res->perspective = strdup("eu-west-2");
    res->check_type = CHECK_TYPE_CAA;
    res->check_response = json_loads(
        "{\"check_completed\":true,\"check_passed\":false,\"errors\":[{\"error_type\":\"x\","
        "\"error_message\":\"caf\\u00e9\"}],\"details\":{\"caa_record_present\":true,"
        "\"found_at\":\"example.com\",\"records_seen\":[\"0 issue \\\"ca.test\\\"\"]},"
        "\"timestamp_ns\":1700000000000000000}",
        0, &jerr);
    assert_non_null(res->check_response);
}

static void encode_sample_job(char **buf, size_t *len)
{
    struct msg_job job;
    sample_job(&job);
    assert_int_equal(msg_job_encode(&job, buf, len), 0);
    msg_job_free(&job);
}

static void encode_sample_result(char **buf, size_t *len)
{
    struct msg_result res;
    sample_result(&res);
    assert_int_equal(msg_result_encode(&res, buf, len), 0);
    msg_result_free(&res);
}

/* A sealed job's body: the header fields come from the (authenticated) header. */
static void test_job_body_takes_header_fields(void **state)
{
    struct msg_job job, got;
    struct msg_job_header h;
    char *body, *full, err[128];
    size_t bodylen, fulllen;
    (void)state;

    sample_job(&job);
    assert_int_equal(msg_job_encode_body(&job, &body, &bodylen), 0);
    assert_int_equal(msg_job_encode(&job, &full, &fulllen), 0);
    /* rid, att, p, ct and dl with their keys: about 70 bytes fewer */
    assert_true(bodylen + 60 < fulllen);
    h.rid = "0123456789abcdef0123456789abcdef";
    h.attempt = 3;
    h.perspective = "us-east-1";
    h.check_type = CHECK_TYPE_DCV;
    h.deadline_ms = 1767225600123;
    assert_int_equal(msg_job_decode_body(body, bodylen, &h, &got, err, sizeof(err)), 0);
    assert_string_equal(got.rid, job.rid);
    assert_int_equal(got.attempt, 3);
    assert_string_equal(got.perspective, "us-east-1");
    assert_int_equal(got.check_type, CHECK_TYPE_DCV);
    assert_int_equal(got.deadline_ms, 1767225600123);
    assert_string_equal(got.target, job.target);
    assert_true(got.wildcard);
    assert_string_equal(got.trace_id, job.trace_id);
    assert_params_decoded(got.params, job.params);
    msg_job_free(&got);
    /* without a header the body is incomplete */
    assert_int_equal(msg_job_decode(body, bodylen, &got, err, sizeof(err)), -1);
    /* an older coordinator's full job still decodes when it agrees with the header ... */
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), 0);
    assert_string_equal(got.rid, job.rid);
    msg_job_free(&got);
    /* ... and is refused when any of its header fields disagrees */
    h.attempt = 4;
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), -1);
    h.attempt = 3;
    h.perspective = "eu-west-1";
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), -1);
    h.perspective = "us-east-1";
    h.deadline_ms = 1;
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), -1);
    h.deadline_ms = 1767225600123;
    h.check_type = CHECK_TYPE_CAA;
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), -1);
    h.check_type = CHECK_TYPE_DCV;
    h.rid = "ffffffffffffffffffffffffffffffff";
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), -1);
    /* every truncation of the body is rejected, never a crash */
    h.rid = "0123456789abcdef0123456789abcdef";
    for (size_t n = 0; n < bodylen; n++)
        assert_int_equal(msg_job_decode_body(body, n, &h, &got, err, sizeof(err)), -1);
    free(full);
    /* no trace id and no wildcard: the body leaves both out, and they decode as absent */
    job.wildcard = false;
    free(job.trace_id);
    job.trace_id = NULL;
    assert_int_equal(msg_job_encode_body(&job, &full, &fulllen), 0);
    assert_true(fulllen + 9 <= bodylen - strlen("trace-\xc3\xa9-1"));
    assert_int_equal(msg_job_decode_body(full, fulllen, &h, &got, err, sizeof(err)), 0);
    assert_false(got.wildcard);
    assert_null(got.trace_id);
    msg_job_free(&got);
    free(body);
    free(full);
    msg_job_free(&job);
}

static void test_check_type_names(void **state)
{
    enum check_type t;
    (void)state;
    assert_string_equal(check_type_name(CHECK_TYPE_CAA), "caa");
    assert_string_equal(check_type_name(CHECK_TYPE_DCV), "dcv");
    assert_int_equal(check_type_parse("caa", &t), 0);
    assert_int_equal(t, CHECK_TYPE_CAA);
    assert_int_equal(check_type_parse("dcv", &t), 0);
    assert_int_equal(t, CHECK_TYPE_DCV);
    assert_int_equal(check_type_parse("CAA", &t), -1);
    assert_int_equal(check_type_parse("", &t), -1);
    assert_int_equal(check_type_parse(NULL, &t), -1);
}

static void test_job_round_trip(void **state)
{
    struct msg_job in, out;
    char *buf;
    size_t len;
    char err[128] = "";
    (void)state;

    sample_job(&in);
    assert_int_equal(msg_job_encode(&in, &buf, &len), 0);
    assert_true(len > 0 && len <= MSG_MAX_BYTES);
    assert_int_equal(msg_job_decode(buf, len, &out, err, sizeof(err)), 0);
    assert_string_equal(out.rid, in.rid);
    assert_int_equal(out.attempt, 3);
    assert_string_equal(out.perspective, "us-east-1");
    assert_int_equal(out.check_type, CHECK_TYPE_DCV);
    assert_string_equal(out.target, "xn--bcher-kva.example");
    assert_true(out.wildcard);
    assert_int_equal(out.deadline_ms, 1767225600123);
    assert_string_equal(out.trace_id, "trace-\xc3\xa9-1");
    assert_params_decoded(out.params, in.params);
    assert_string_equal(json_string_value(json_object_get(out.params, "utf8")),
                        "Z\xc3\xbcrich \xe2\x98\x83 \xf0\x9d\x84\x9e");
    assert_true(json_is_integer(json_object_get(out.params, "big")));
    assert_true(json_is_real(json_object_get(out.params, "r")));
    msg_job_free(&out);
    free(buf);

    /* the other values of each variant field: no trace id, no wildcard, CAA */
    free(in.trace_id);
    in.trace_id = NULL;
    in.wildcard = false;
    in.check_type = CHECK_TYPE_CAA;
    in.attempt = 1;
    assert_int_equal(msg_job_encode(&in, &buf, &len), 0);
    assert_int_equal(msg_job_decode(buf, len, &out, err, sizeof(err)), 0);
    assert_null(out.trace_id);
    assert_false(out.wildcard);
    assert_int_equal(out.check_type, CHECK_TYPE_CAA);
    assert_int_equal(out.attempt, 1);
    msg_job_free(&out);
    assert_null(out.rid); /* free leaves the struct empty */
    free(buf);
    msg_job_free(&in);
}

static void test_result_round_trip(void **state)
{
    struct msg_result in, out;
    char *buf;
    size_t len;
    char err[128] = "";
    (void)state;

    sample_result(&in);
    assert_int_equal(msg_result_encode(&in, &buf, &len), 0);
    assert_int_equal(msg_result_decode(buf, len, &out, err, sizeof(err)), 0);
    assert_string_equal(out.rid, in.rid);
    assert_int_equal(out.attempt, 1);
    assert_string_equal(out.perspective, "eu-west-2");
    assert_int_equal(out.check_type, CHECK_TYPE_CAA);
    assert_true(json_equal(out.check_response, in.check_response));
    msg_result_free(&out);
    free(buf);
    msg_result_free(&in);
}

static void test_encode_rejects_missing_params(void **state)
{
    struct msg_job job;
    struct msg_result res;
    char *buf = NULL;
    size_t len = 0;
    (void)state;

    sample_job(&job);
    json_decref(job.params);
    job.params = NULL;
    assert_int_equal(msg_job_encode(&job, &buf, &len), -1);
    msg_job_free(&job);

    sample_result(&res);
    json_decref(res.check_response);
    res.check_response = NULL;
    assert_int_equal(msg_result_encode(&res, &buf, &len), -1);
    msg_result_free(&res);
}

static void test_encode_rejects_oversized(void **state)
{
    struct msg_job job;
    char *buf = NULL, *big;
    size_t len = 0;
    (void)state;

    sample_job(&job);
    big = malloc(MSG_MAX_BYTES + 1);
    memset(big, 'a', MSG_MAX_BYTES);
    big[MSG_MAX_BYTES] = '\0';
    json_object_set_new(job.params, "huge", json_string(big));
    assert_int_equal(msg_job_encode(&job, &buf, &len), -1);
    free(big);
    msg_job_free(&job);
}

/* Every proper prefix of a valid encoding is rejected and leaves the output empty. */
static void test_every_truncation_rejected(void **state)
{
    char *buf;
    size_t len;
    char err[128];
    (void)state;

    encode_sample_job(&buf, &len);
    for (size_t n = 0; n < len; n++) {
        struct msg_job job;
        err[0] = '\0';
        assert_int_equal(msg_job_decode(buf, n, &job, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        assert_null(job.rid);
        assert_null(job.params);
    }
    free(buf);

    encode_sample_result(&buf, &len);
    for (size_t n = 0; n < len; n++) {
        struct msg_result res;
        err[0] = '\0';
        assert_int_equal(msg_result_decode(buf, n, &res, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        assert_null(res.rid);
        assert_null(res.check_response);
    }
    free(buf);
}

static void test_trailing_bytes_rejected(void **state)
{
    char *buf, *longer;
    size_t len;
    char err[128] = "";
    struct msg_job job;
    struct msg_result res;
    (void)state;

    encode_sample_job(&buf, &len);
    longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = (char)0xc0; /* a complete nil after the map */
    assert_int_equal(msg_job_decode(longer, len + 1, &job, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "trailing"));
    /* and a second copy of the whole message */
    free(longer);
    longer = malloc(2 * len);
    memcpy(longer, buf, len);
    memcpy(longer + len, buf, len);
    assert_int_equal(msg_job_decode(longer, 2 * len, &job, err, sizeof(err)), -1);
    free(longer);
    free(buf);

    encode_sample_result(&buf, &len);
    longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0x01;
    assert_int_equal(msg_result_decode(longer, len + 1, &res, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "trailing"));
    free(longer);
    free(buf);
}

static void decode_any(const char *buf, size_t len)
{
    struct msg_job job;
    struct msg_result res;
    char err[128];

    if (msg_job_decode(buf, len, &job, err, sizeof(err)) == 0) {
        /* whatever decodes must satisfy the documented invariants */
        assert_non_null(job.rid);
        assert_non_null(job.perspective);
        assert_non_null(job.target);
        assert_true(json_is_object(job.params));
        assert_true(job.attempt >= 1);
        msg_job_free(&job);
    } else {
        assert_null(job.rid);
        assert_null(job.params);
    }
    if (msg_result_decode(buf, len, &res, err, sizeof(err)) == 0) {
        assert_true(json_is_boolean(json_object_get(res.check_response, "check_completed")));
        assert_true(json_is_boolean(json_object_get(res.check_response, "check_passed")));
        msg_result_free(&res);
    } else {
        assert_null(res.check_response);
    }
}

static void test_random_garbage_never_crashes(void **state)
{
    char buf[512];
    (void)state;

    for (int i = 0; i < 5000; i++) {
        size_t len = (size_t)(prng() % sizeof(buf));
        for (size_t k = 0; k < len; k++) buf[k] = (char)prng();
        /* bias some inputs towards a map header so field parsing is reached */
        if (i % 3 == 0 && len > 0) buf[0] = (char)(0x80 | (prng() % 16));
        decode_any(buf, len);
    }
}

/* Hostile container headers must be rejected without allocating their declared size. */
static void test_huge_declared_counts_rejected(void **state)
{
    static const char *const inputs[] = {
        "\xdd\xff\xff\xff\xff",         /* array32 of 4G elements, no body */
        "\xdf\xff\xff\xff\xff\xc0\xc0", /* map32 of 4G pairs */
        "\x81\xa1v\xdd\x0f\xff\xff\xff\x01",
        "\xdc\xff\xff\x01\x02",
        "\xdb\xff\xff\xff\xff" "abc", /* str32 longer than the input */
        "\xc6\x7f\xff\xff\xff",       /* bin32 */
        "\xc1",                       /* never-used byte */
    };
    static const size_t lens[] = {5, 7, 9, 5, 8, 5, 1};
    (void)state;

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) decode_any(inputs[i], lens[i]);

    /* 40 nested arrays: deeper than any legitimate message */
    char deep[64];
    memset(deep, 0x91, 40);
    deep[40] = (char)0xc0;
    decode_any(deep, 41);
}

static void test_mutated_encodings_never_crash(void **state)
{
    char *job, *res, *m;
    size_t jlen, rlen;
    (void)state;

    encode_sample_job(&job, &jlen);
    encode_sample_result(&res, &rlen);
    m = malloc(jlen > rlen ? jlen : rlen);
    for (int i = 0; i < 4000; i++) {
        const char *src = (i & 1) ? res : job;
        size_t len = (i & 1) ? rlen : jlen;
        int flips = 1 + (int)(prng() % 4);
        memcpy(m, src, len);
        for (int f = 0; f < flips; f++) m[prng() % len] ^= (char)(1u << (prng() % 8));
        decode_any(m, len);
        decode_any(m, (size_t)(prng() % (len + 1)));
    }
    free(m);
    free(job);
    free(res);
}

static void test_oversized_and_empty_rejected(void **state)
{
    char err[128] = "";
    struct msg_job job;
    struct msg_result res;
    char *big = calloc(1, MSG_MAX_BYTES + 1);
    (void)state;

    /* a str32 header followed by a body that makes the blob exactly MSG_MAX_BYTES + 1 */
    memcpy(big, "\xdb\x00\x03\xff\xfc", 5); /* str32 of 0x3fffc = MSG_MAX_BYTES - 4 bytes */
    assert_int_equal(msg_job_decode(big, MSG_MAX_BYTES + 1, &job, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "size"));
    assert_int_equal(msg_result_decode(big, MSG_MAX_BYTES + 1, &res, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "size"));
    assert_int_equal(msg_job_decode(big, 0, &job, err, sizeof(err)), -1);
    assert_int_equal(msg_job_decode(NULL, 10, &job, err, sizeof(err)), -1);
    free(big);
}

static void pack_s(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

enum { F_V, F_RID, F_ATT, F_P, F_CT, F_TGT, F_WC, F_DL, F_TID, F_PRM, F_COUNT };
static const char *const job_keys[F_COUNT] = {"v", "rid", "att", "p", "ct",
                                              "tgt", "wc", "dl", "tid", "prm"};

/* Packs a job map by hand; field `omit` is left out, field `bad` gets an ill-typed value. */
static void pack_job(msgpack_sbuffer *sb, int omit, int bad, int64_t version)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, omit >= 0 ? F_COUNT - 1 : F_COUNT);
    for (int f = 0; f < F_COUNT; f++) {
        if (f == omit) continue;
        pack_s(&pk, job_keys[f]);
        if (f == bad) {
            /* strings get an integer, everything else a string (tid: an array) */
            if (f == F_V || f == F_ATT || f == F_DL || f == F_WC || f == F_PRM)
                pack_s(&pk, "1");
            else if (f == F_TID)
                msgpack_pack_array(&pk, 0);
            else
                msgpack_pack_int(&pk, 7);
            continue;
        }
        switch (f) {
        case F_V: msgpack_pack_int64(&pk, version); break;
        case F_RID: pack_s(&pk, "abc123"); break;
        case F_ATT: msgpack_pack_int(&pk, 2); break;
        case F_P: pack_s(&pk, "ap-south-1"); break;
        case F_CT: pack_s(&pk, "caa"); break;
        case F_TGT: pack_s(&pk, "example.com"); break;
        case F_WC: msgpack_pack_false(&pk); break;
        case F_DL: msgpack_pack_int64(&pk, 1000); break;
        case F_TID: msgpack_pack_nil(&pk); break;
        case F_PRM:
            msgpack_pack_map(&pk, 1);
            pack_s(&pk, "k");
            msgpack_pack_true(&pk);
            break;
        }
    }
}

static int decode_sb_job(msgpack_sbuffer *sb, char *err, size_t errlen)
{
    struct msg_job job;
    int rc = msg_job_decode(sb->data, sb->size, &job, err, errlen);
    if (rc == 0) msg_job_free(&job);
    else assert_null(job.rid);
    return rc;
}

static void test_hand_built_job(void **state)
{
    msgpack_sbuffer sb;
    char err[128];
    struct msg_job job;
    (void)state;

    /* the hand-built reference map itself is accepted */
    msgpack_sbuffer_init(&sb);
    pack_job(&sb, -1, -1, MSG_VERSION);
    assert_int_equal(msg_job_decode(sb.data, sb.size, &job, err, sizeof(err)), 0);
    assert_string_equal(job.rid, "abc123");
    assert_string_equal(job.perspective, "ap-south-1");
    assert_null(job.trace_id);
    assert_true(json_is_true(json_object_get(job.params, "k")));
    msg_job_free(&job);
    msgpack_sbuffer_destroy(&sb);

    for (int f = 0; f < F_COUNT; f++) {
        /* missing: only the trace id is optional */
        msgpack_sbuffer_init(&sb);
        pack_job(&sb, f, -1, MSG_VERSION);
        err[0] = '\0';
        if (f == F_TID) {
            assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), 0);
        } else {
            assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), -1);
            assert_true(err[0] != '\0');
        }
        msgpack_sbuffer_destroy(&sb);
        /* ill-typed: always rejected */
        msgpack_sbuffer_init(&sb);
        pack_job(&sb, -1, f, MSG_VERSION);
        assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), -1);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_wrong_version(void **state)
{
    static const int64_t versions[] = {0, MSG_VERSION + 1, -1, 1000000};
    msgpack_sbuffer sb;
    char err[128];
    (void)state;

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        msgpack_sbuffer_init(&sb);
        pack_job(&sb, -1, -1, versions[i]);
        err[0] = '\0';
        assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "version"));
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Field value edge cases: empty strings, NULs inside, out-of-range attempt and deadline. */
static void test_field_values_rejected(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char err[128];
    char longrid[MSG_RID_MAX + 2];
    (void)state;

    memset(longrid, 'a', sizeof(longrid) - 1);
    longrid[sizeof(longrid) - 1] = '\0';
    for (int c = 0; c < 8; c++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 9);
        pack_s(&pk, "v");
        msgpack_pack_int(&pk, MSG_VERSION);
        pack_s(&pk, "rid");
        if (c == 0) pack_s(&pk, "");
        else if (c == 1) pack_s(&pk, longrid);
        else if (c == 2) {
            msgpack_pack_str(&pk, 3);
            msgpack_pack_str_body(&pk, "a\0b", 3);
        } else pack_s(&pk, "rid");
        pack_s(&pk, "att");
        if (c == 3) msgpack_pack_int(&pk, 0);
        else if (c == 4) msgpack_pack_int(&pk, 1001);
        else msgpack_pack_int(&pk, 1);
        pack_s(&pk, "p");
        pack_s(&pk, "x");
        pack_s(&pk, "ct");
        pack_s(&pk, c == 5 ? "xyz" : "dcv");
        pack_s(&pk, "tgt");
        pack_s(&pk, "t.test");
        pack_s(&pk, "wc");
        msgpack_pack_true(&pk);
        pack_s(&pk, "dl");
        if (c == 6) msgpack_pack_int64(&pk, -5);
        else if (c == 7) msgpack_pack_uint64(&pk, UINT64_MAX);
        else msgpack_pack_int64(&pk, 5);
        pack_s(&pk, "prm");
        msgpack_pack_map(&pk, 0);
        assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), -1);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_non_map_top_level(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char err[128];
    struct msg_result res;
    (void)state;

    for (int c = 0; c < 4; c++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (c == 0) {
            msgpack_pack_array(&pk, 2);
            pack_s(&pk, "v");
            msgpack_pack_int(&pk, 1);
        } else if (c == 1) {
            msgpack_pack_int(&pk, 1);
        } else if (c == 2) {
            pack_s(&pk, "v");
        } else {
            msgpack_pack_nil(&pk);
        }
        err[0] = '\0';
        assert_int_equal(decode_sb_job(&sb, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "not a map"));
        assert_int_equal(msg_result_decode(sb.data, sb.size, &res, err, sizeof(err)), -1);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Result map with a check_response built by hand: `which` selects the variant. */
static int decode_result_variant(int which)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char err[128];
    struct msg_result res;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pack_s(&pk, "v");
    msgpack_pack_int(&pk, MSG_VERSION);
    pack_s(&pk, "rid");
    pack_s(&pk, "r1");
    pack_s(&pk, "att");
    msgpack_pack_int(&pk, 1);
    pack_s(&pk, "p");
    pack_s(&pk, "us-west-2");
    pack_s(&pk, "ct");
    pack_s(&pk, "caa");
    pack_s(&pk, "cr");
    switch (which) {
    case 0: /* valid */
        msgpack_pack_map(&pk, 2);
        pack_s(&pk, "check_completed");
        msgpack_pack_true(&pk);
        pack_s(&pk, "check_passed");
        msgpack_pack_false(&pk);
        break;
    case 1: /* check_passed missing */
        msgpack_pack_map(&pk, 1);
        pack_s(&pk, "check_completed");
        msgpack_pack_true(&pk);
        break;
    case 2: /* check_completed missing */
        msgpack_pack_map(&pk, 1);
        pack_s(&pk, "check_passed");
        msgpack_pack_true(&pk);
        break;
    case 3: /* integers instead of booleans */
        msgpack_pack_map(&pk, 2);
        pack_s(&pk, "check_completed");
        msgpack_pack_int(&pk, 1);
        pack_s(&pk, "check_passed");
        msgpack_pack_int(&pk, 1);
        break;
    case 4: /* strings */
        msgpack_pack_map(&pk, 2);
        pack_s(&pk, "check_completed");
        pack_s(&pk, "true");
        pack_s(&pk, "check_passed");
        msgpack_pack_nil(&pk);
        break;
    case 5: /* not a map */
        msgpack_pack_array(&pk, 2);
        msgpack_pack_true(&pk);
        msgpack_pack_true(&pk);
        break;
    default: /* binary inside the check response */
        msgpack_pack_map(&pk, 3);
        pack_s(&pk, "check_completed");
        msgpack_pack_true(&pk);
        pack_s(&pk, "check_passed");
        msgpack_pack_true(&pk);
        pack_s(&pk, "blob");
        msgpack_pack_bin(&pk, 2);
        msgpack_pack_bin_body(&pk, "\x00\x01", 2);
        break;
    }
    rc = msg_result_decode(sb.data, sb.size, &res, err, sizeof(err));
    if (rc == 0) {
        assert_string_equal(res.perspective, "us-west-2");
        assert_true(json_is_true(json_object_get(res.check_response, "check_completed")));
        msg_result_free(&res);
    } else {
        assert_null(res.check_response);
        assert_null(res.rid);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_check_response_booleans_required(void **state)
{
    (void)state;
    assert_int_equal(decode_result_variant(0), 0);
    for (int v = 1; v <= 6; v++) assert_int_equal(decode_result_variant(v), -1);
}

/* Unknown keys are ignored within one version (forward compatibility, see msg.c). */
static void test_unknown_keys_ignored(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char err[128];
    struct msg_job job;
    (void)state;

    msgpack_sbuffer_init(&sb);
    pack_job(&sb, -1, -1, MSG_VERSION);
    /* rebuild with a map header of one more entry and an extra key appended */
    sb.data[0] = (char)(0x80 | (F_COUNT + 1));
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_s(&pk, "future");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int(&pk, 42);
    assert_int_equal(msg_job_decode(sb.data, sb.size, &job, err, sizeof(err)), 0);
    assert_string_equal(job.target, "example.com");
    msg_job_free(&job);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_type_names),
        cmocka_unit_test(test_job_round_trip),
        cmocka_unit_test(test_job_body_takes_header_fields),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_encode_rejects_missing_params),
        cmocka_unit_test(test_encode_rejects_oversized),
        cmocka_unit_test(test_every_truncation_rejected),
        cmocka_unit_test(test_trailing_bytes_rejected),
        cmocka_unit_test(test_random_garbage_never_crashes),
        cmocka_unit_test(test_huge_declared_counts_rejected),
        cmocka_unit_test(test_mutated_encodings_never_crash),
        cmocka_unit_test(test_oversized_and_empty_rejected),
        cmocka_unit_test(test_hand_built_job),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_field_values_rejected),
        cmocka_unit_test(test_non_map_top_level),
        cmocka_unit_test(test_check_response_booleans_required),
        cmocka_unit_test(test_unknown_keys_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
