/*
 * Tests for common/seal.c and common/sealmsg.c: round trip, every associated-data field
 * bound (a changed header byte never opens), a flipped byte at every position, unknown key
 * ids, rotation with two keys, expiry, truncated/oversized envelopes, jobs' compact request
 * id (version 2) beside version 1, key file permissions,
 * and the job/result wrappers (inner fields must repeat the header; unsealed input rejected).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seal.h"
#include "sealmsg.h"

#define NOW 1800000000000LL
#define RID "0123456789abcdef0123456789abcdef"

static const unsigned char KEY_A1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const unsigned char KEY_A2[32] = {42, 43, 44};
static const unsigned char KEY_B1[32] = {99, 98, 97};

static struct seal_keyring *ring(void)
{
    struct seal_keyring *kr = calloc(1, sizeof(*kr));
    assert_int_equal(seal_keyring_add(kr, "pa", 1, KEY_A1, false), 0);
    assert_int_equal(seal_keyring_add(kr, "pb", 1, KEY_B1, false), 0);
    return kr;
}

static void ad_init(struct seal_ad *ad, enum seal_dir dir, const char *persp)
{
    memset(ad, 0, sizeof(*ad));
    ad->dir = dir;
    ad->expiry_ms = NOW + 5000;
    ad->attempt = 1;
    ad->check_type = CHECK_TYPE_DCV;
    snprintf(ad->rid, sizeof(ad->rid), "%s", RID);
    snprintf(ad->perspective, sizeof(ad->perspective), "%s", persp);
}

static void seal_or_die(const struct seal_keyring *kr, struct seal_ad *ad, const char *pt,
                        char **env, size_t *len)
{
    assert_int_equal(seal_seal(kr, ad, pt, strlen(pt), env, len), 0);
}

static enum seal_status try_open(const struct seal_keyring *kr, const char *env, size_t len,
                                 enum seal_dir dir, const char *expect, int64_t now)
{
    struct seal_ad ad;
    char *pt = NULL;
    size_t ptlen = 0;
    enum seal_status st = seal_open(kr, env, len, dir, expect, now, &ad, &pt, &ptlen);
    if (st == SEAL_OK) assert_non_null(pt);
    else assert_null(pt);
    free(pt);
    return st;
}

/* The header fields of an envelope sealed from ad_init(dir, persp), as opened. */
static void assert_opened_header(const struct seal_ad *got, const char *persp)
{
    assert_string_equal(got->rid, RID);
    assert_string_equal(got->perspective, persp);
    assert_int_equal(got->attempt, 1);
    assert_int_equal(got->expiry_ms, NOW + 5000);
    assert_int_equal(got->check_type, CHECK_TYPE_DCV);
}

static void test_round_trip(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad, got;
    char *env, *pt;
    size_t len, ptlen;
    (void)state;

    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(kr, &ad, "hello perspective", &env, &len);
    assert_int_equal(ad.key_id, 1);
    assert_memory_equal(env, SEAL_MAGIC, SEAL_MAGIC_LEN);
    assert_null(memmem(env, len, "hello", 5)); /* encrypted, not only authenticated */
    assert_int_equal(seal_open(kr, env, len, SEAL_DIR_RESULT, "pa", NOW, &got, &pt, &ptlen),
                     SEAL_OK);
    assert_int_equal(ptlen, 17);
    assert_memory_equal(pt, "hello perspective", 17);
    assert_opened_header(&got, "pa");
    free(pt);
    /* two seals of the same input differ (random nonce) */
    char *env2;
    size_t len2;
    seal_or_die(kr, &ad, "hello perspective", &env2, &len2);
    assert_int_equal(len, len2);
    assert_true(memcmp(env, env2, len) != 0);
    free(env2);
    free(env);
    free(kr);
}

/*
 * Rewrites one header field after sealing (what a forger with Redis access can do): the
 * envelope must no longer open, whichever field it is.
 */
static void test_each_ad_field_is_bound(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad, changed;
    char *env, *forged, *dummy;
    size_t len, flen, dlen;
    (void)state;

    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(kr, &ad, "payload", &env, &len);
    for (int field = 0; field < 6; field++) {
        changed = ad;
        switch (field) {
        case 0: changed.attempt = 2; break;
        case 1: changed.expiry_ms = NOW + 999999; break;
        case 2: snprintf(changed.rid, sizeof(changed.rid), "%s", "ffff6789abcdef01"); break;
        case 3: changed.check_type = CHECK_TYPE_CAA; break;
        case 4: changed.dir = SEAL_DIR_JOB; break;
        case 5: snprintf(changed.perspective, sizeof(changed.perspective), "%s", "pb"); break;
        }
        /* build the forged header with the same key and splice the original body in */
        seal_or_die(kr, &changed, "payload", &dummy, &dlen); /* a job: version 2 header */
        size_t hl_new = dlen - SEAL_NONCE_BYTES - 7 - SEAL_TAG_BYTES;
        size_t hl_old = len - SEAL_NONCE_BYTES - 7 - SEAL_TAG_BYTES;
        flen = hl_new + (len - hl_old);
        forged = malloc(flen);
        memcpy(forged, dummy, hl_new);
        memcpy(forged + hl_new, env + hl_old, len - hl_old);
        enum seal_dir dir = field == 4 ? SEAL_DIR_JOB : SEAL_DIR_RESULT;
        /* for field 5 the opener uses pb's key, which does not open pa's envelope either */
        assert_int_equal(try_open(kr, forged, flen, dir, NULL, NOW), SEAL_ERR_AUTH);
        free(forged);
        free(dummy);
    }
    /* the opener's expectations are checked too */
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_JOB, NULL, NOW), SEAL_ERR_MISMATCH);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, "pb", NOW), SEAL_ERR_MISMATCH);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, "pa", NOW), SEAL_OK);
    free(env);
    free(kr);
}

/* A worker of perspective pa cannot seal as pb: with only pa's key it fails to seal, and an
 * envelope sealed with pa's key but claiming pb never opens. */
static void test_cannot_claim_another_perspective(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_keyring *worker_a = calloc(1, sizeof(*worker_a));
    struct seal_ad ad;
    char *env;
    size_t len;
    (void)state;

    assert_int_equal(seal_keyring_add(worker_a, "pa", 1, KEY_A1, false), 0);
    ad_init(&ad, SEAL_DIR_RESULT, "pb");
    assert_int_equal(seal_seal(worker_a, &ad, "x", 1, &env, &len), -1);
    /* a keyring where "pb" holds pa's key material: the coordinator's pb key rejects it */
    struct seal_keyring *evil = calloc(1, sizeof(*evil));
    assert_int_equal(seal_keyring_add(evil, "pb", 1, KEY_A1, false), 0);
    seal_or_die(evil, &ad, "passed", &env, &len);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, NULL, NOW), SEAL_ERR_AUTH);
    free(env);
    free(evil);
    free(worker_a);
    free(kr);
}

static void test_tampered_byte_at_every_position(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad;
    char *env;
    size_t len;
    (void)state;

    ad_init(&ad, SEAL_DIR_JOB, "pb");
    seal_or_die(kr, &ad, "{\"target\":\"example.com\"}", &env, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            env[i] ^= (char)(1 << bit);
            assert_int_not_equal(try_open(kr, env, len, SEAL_DIR_JOB, "pb", NOW), SEAL_OK);
            env[i] ^= (char)(1 << bit);
        }
    }
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_JOB, "pb", NOW), SEAL_OK);
    free(env);
    free(kr);
}

/*
 * Jobs carry a 32-lowercase-hex-digit request id as its 16 bytes (version 2, 17 bytes less
 * per job in Redis); results, and jobs with any other id, stay version 1. Both open.
 */
static void test_job_compact_rid(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad, got;
    char *job, *res, *pt;
    size_t jlen, rlen, ptlen;
    (void)state;

    ad_init(&ad, SEAL_DIR_JOB, "pa");
    seal_or_die(kr, &ad, "job body", &job, &jlen);
    assert_int_equal(ad.version, SEAL_VERSION_COMPACT_RID);
    assert_int_equal((unsigned char)job[SEAL_MAGIC_LEN], SEAL_VERSION_COMPACT_RID);
    assert_null(memmem(job, jlen, RID, strlen(RID)));
    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(kr, &ad, "job body", &res, &rlen);
    assert_int_equal((unsigned char)res[SEAL_MAGIC_LEN], SEAL_VERSION);
    assert_int_equal(rlen - jlen, 1 + strlen(RID) - SEAL_RID_RAW_BYTES);
    assert_int_equal(seal_open(kr, job, jlen, SEAL_DIR_JOB, "pa", NOW, &got, &pt, &ptlen),
                     SEAL_OK);
    assert_int_equal(got.version, SEAL_VERSION_COMPACT_RID);
    assert_opened_header(&got, "pa");
    assert_memory_equal(pt, "job body", ptlen);
    free(pt);
    /* every truncation of a version 2 job is refused */
    for (size_t n = 0; n < jlen; n++)
        assert_int_not_equal(try_open(kr, job, n, SEAL_DIR_JOB, "pa", NOW), SEAL_OK);
    /* its header read as version 1 (or the reverse) does not open */
    job[SEAL_MAGIC_LEN] = SEAL_VERSION;
    assert_int_not_equal(try_open(kr, job, jlen, SEAL_DIR_JOB, "pa", NOW), SEAL_OK);
    res[SEAL_MAGIC_LEN] = SEAL_VERSION_COMPACT_RID;
    assert_int_not_equal(try_open(kr, res, rlen, SEAL_DIR_RESULT, "pa", NOW), SEAL_OK);
    free(job);
    free(res);
    /* ids version 2 cannot carry as they are: uppercase digits, other characters, lengths */
    const char *other[] = {"0123456789ABCDEF0123456789abcdef", "rid-1",
                           "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdefa",
                           "0123456789abcdef0123456789abcdeg"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        ad_init(&ad, SEAL_DIR_JOB, "pa");
        snprintf(ad.rid, sizeof(ad.rid), "%s", other[i]);
        seal_or_die(kr, &ad, "x", &job, &jlen);
        assert_int_equal((unsigned char)job[SEAL_MAGIC_LEN], SEAL_VERSION);
        assert_int_equal(seal_open(kr, job, jlen, SEAL_DIR_JOB, "pa", NOW, &got, &pt, &ptlen),
                         SEAL_OK);
        assert_string_equal(got.rid, other[i]);
        free(pt);
        free(job);
    }
    free(kr);
}

static void test_unknown_key_id_and_rotation(void **state)
{
    struct seal_keyring *old = calloc(1, sizeof(*old));
    struct seal_keyring *both = calloc(1, sizeof(*both));
    struct seal_keyring *staged = calloc(1, sizeof(*staged));
    struct seal_keyring *newonly = calloc(1, sizeof(*newonly));
    struct seal_ad ad;
    char *e_old, *e_new, *e_staged;
    size_t l_old, l_new, l_staged;
    (void)state;

    assert_int_equal(seal_keyring_add(old, "pa", 1, KEY_A1, false), 0);
    assert_int_equal(seal_keyring_add(both, "pa", 1, KEY_A1, false), 0);
    assert_int_equal(seal_keyring_add(both, "pa", 2, KEY_A2, false), 0);
    assert_int_equal(seal_keyring_add(both, "pa", 2, KEY_A2, false), -1); /* duplicate */
    assert_int_equal(seal_keyring_add(staged, "pa", 1, KEY_A1, false), 0);
    assert_int_equal(seal_keyring_add(staged, "pa", 2, KEY_A2, true), 0); /* open only */
    assert_int_equal(seal_keyring_add(newonly, "pa", 2, KEY_A2, false), 0);

    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(old, &ad, "m", &e_old, &l_old);
    assert_int_equal(ad.key_id, 1);
    seal_or_die(both, &ad, "m", &e_new, &l_new);
    assert_int_equal(ad.key_id, 2); /* the newest key seals */
    seal_or_die(staged, &ad, "m", &e_staged, &l_staged);
    assert_int_equal(ad.key_id, 1); /* an open-only key never seals */

    assert_int_equal(try_open(both, e_old, l_old, SEAL_DIR_RESULT, NULL, NOW), SEAL_OK);
    assert_int_equal(try_open(both, e_new, l_new, SEAL_DIR_RESULT, NULL, NOW), SEAL_OK);
    assert_int_equal(try_open(staged, e_new, l_new, SEAL_DIR_RESULT, NULL, NOW), SEAL_OK);
    assert_int_equal(try_open(old, e_new, l_new, SEAL_DIR_RESULT, NULL, NOW),
                     SEAL_ERR_UNKNOWN_KEY);
    assert_int_equal(try_open(newonly, e_old, l_old, SEAL_DIR_RESULT, NULL, NOW),
                     SEAL_ERR_UNKNOWN_KEY);
    /* a key id rewritten to one the opener knows: wrong key, does not open */
    e_old[6 + 3] = 2;
    assert_int_equal(try_open(both, e_old, l_old, SEAL_DIR_RESULT, NULL, NOW), SEAL_ERR_AUTH);
    free(e_old);
    free(e_new);
    free(e_staged);
    free(old);
    free(both);
    free(staged);
    free(newonly);
}

static void test_expired(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad;
    char *env;
    size_t len;
    (void)state;

    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(kr, &ad, "late", &env, &len);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, NULL, NOW + 4999), SEAL_OK);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, NULL, NOW + 5000),
                     SEAL_ERR_EXPIRED);
    assert_int_equal(try_open(kr, env, len, SEAL_DIR_RESULT, NULL, NOW + 86400000),
                     SEAL_ERR_EXPIRED);
    free(env);
    free(kr);
}

static void test_truncated_and_oversized(void **state)
{
    struct seal_keyring *kr = ring();
    struct seal_ad ad, peek;
    char *env, *big;
    size_t len;
    (void)state;

    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    seal_or_die(kr, &ad, "truncate me", &env, &len);
    for (size_t n = 0; n < len; n++) {
        enum seal_status st = try_open(kr, env, n, SEAL_DIR_RESULT, NULL, NOW);
        assert_int_not_equal(st, SEAL_OK);
        if (n < SEAL_MAGIC_LEN) assert_int_equal(st, SEAL_ERR_UNSEALED);
    }
    assert_int_equal(try_open(kr, NULL, 0, SEAL_DIR_RESULT, NULL, NOW), SEAL_ERR_UNSEALED);
    big = calloc(1, SEAL_MAX_BYTES + 2);
    memcpy(big, env, len);
    assert_int_equal(try_open(kr, big, SEAL_MAX_BYTES + 1, SEAL_DIR_RESULT, NULL, NOW),
                     SEAL_ERR_MALFORMED);
    assert_int_equal(seal_seal(kr, &ad, big, MSG_MAX_BYTES + 1, &env, &len), -1);
    assert_int_equal(seal_peek("\x81\xa1v\x01", 4, &peek), SEAL_ERR_UNSEALED); /* msgpack */
    free(big);
    free(env);
    free(kr);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_key_file_permissions(void **state)
{
    char dir[] = "/tmp/mpic-seal-XXXXXX", path[128], err[256];
    unsigned char key[SEAL_KEY_BYTES];
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/k", dir);
    write_file(path, hex, 0600);
    assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), 0);
    assert_int_equal(key[0], 0);
    assert_int_equal(key[31], 0x1f);
    write_file(path, hex, 0400);
    assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), 0);
    static const mode_t bad_modes[] = {0640, 0604, 0660, 0644, 0610, 0601};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        write_file(path, hex, bad_modes[i]);
        assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "chmod 600"));
    }
    write_file(path, "0001", 0600);
    assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), -1);
    write_file(path, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
    assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), -1);
    unlink(path);
    assert_int_equal(seal_key_load_file(path, key, err, sizeof(err)), -1);
    assert_int_equal(seal_key_load_file(dir, key, err, sizeof(err)), -1); /* a directory */
    rmdir(dir);
}

static void test_sealmsg_job_and_result(void **state)
{
    struct seal_keyring *coord = ring();
    struct seal_keyring *worker = calloc(1, sizeof(*worker));
    struct seal_keyring none;
    struct msg_job job, got;
    struct msg_result res, rgot;
    struct seal_ad claimed;
    char *blob, *plain, err[128];
    size_t len, plainlen;
    (void)state;

    memset(&none, 0, sizeof(none));
    assert_int_equal(seal_keyring_add(worker, "pa", 1, KEY_A1, false), 0);
    memset(&job, 0, sizeof(job));
    job.rid = RID;
    job.attempt = 1;
    job.perspective = "pa";
    job.check_type = CHECK_TYPE_CAA;
    job.target = "example.com";
    job.deadline_ms = NOW + 1000;
    job.params = json_object();
    assert_int_equal(sealmsg_job_encode(coord, &job, &blob, &len), 0);
    assert_int_equal(sealmsg_job_open(worker, blob, len, "pa", NOW, &got, err, sizeof(err)),
                     SEAL_OK);
    assert_string_equal(got.target, "example.com");
    /* the body leaves these out: they come from the authenticated header */
    assert_string_equal(got.rid, RID);
    assert_int_equal(got.attempt, 1);
    assert_string_equal(got.perspective, "pa");
    assert_int_equal(got.check_type, CHECK_TYPE_CAA);
    assert_int_equal(got.deadline_ms, NOW + 1000);
    msg_job_free(&got);
    free(blob);
    /* an older coordinator's envelope (full job inside) still opens */
    {
        struct seal_ad ad;
        char *full;
        size_t fulllen;
        memset(&ad, 0, sizeof(ad));
        ad.dir = SEAL_DIR_JOB;
        ad.attempt = 1;
        ad.check_type = CHECK_TYPE_CAA;
        ad.expiry_ms = NOW + 1000;
        snprintf(ad.rid, sizeof(ad.rid), "%s", RID);
        snprintf(ad.perspective, sizeof(ad.perspective), "pa");
        assert_int_equal(msg_job_encode(&job, &full, &fulllen), 0);
        assert_int_equal(seal_seal(coord, &ad, full, fulllen, &blob, &len), 0);
        free(full);
        assert_int_equal(
            sealmsg_job_open(worker, blob, len, "pa", NOW, &got, err, sizeof(err)), SEAL_OK);
        assert_string_equal(got.target, "example.com");
        msg_job_free(&got);
        free(blob);
    }
    assert_int_equal(sealmsg_job_encode(coord, &job, &blob, &len), 0);
    assert_int_equal(sealmsg_job_open(worker, blob, len, "pb", NOW, &got, err, sizeof(err)),
                     SEAL_ERR_MISMATCH);
    assert_int_equal(sealmsg_job_open(worker, blob, len, "pa", NOW + 1000, &got, err,
                                      sizeof(err)), SEAL_ERR_EXPIRED);
    free(blob);
    /* a plain job where sealing is on: rejected; without keys: accepted */
    assert_int_equal(sealmsg_job_encode(&none, &job, &blob, &len), 0);
    assert_int_equal(sealmsg_job_open(worker, blob, len, "pa", NOW, &got, err, sizeof(err)),
                     SEAL_ERR_UNSEALED);
    assert_int_equal(sealmsg_job_open(&none, blob, len, "pa", NOW, &got, err, sizeof(err)),
                     SEAL_OK);
    msg_job_free(&got);
    free(blob);
    json_decref(job.params);

    memset(&res, 0, sizeof(res));
    res.rid = RID;
    res.attempt = 1;
    res.perspective = "pa";
    res.check_type = CHECK_TYPE_CAA;
    res.check_response = json_pack("{s:b, s:b}", "check_passed", 1, "check_completed", 1);
    assert_int_equal(sealmsg_result_encode(worker, &res, NOW + 1000, &blob, &len), 0);
    assert_int_equal(sealmsg_result_open(coord, blob, len, NOW, &rgot, &plain, &plainlen,
                                         &claimed, err, sizeof(err)), SEAL_OK);
    assert_string_equal(rgot.perspective, "pa");
    assert_true(json_is_true(json_object_get(rgot.check_response, "check_passed")));
    msg_result_free(&rgot);
    free(plain);
    /* tampered: rejected but attributed to the request and perspective it claims */
    blob[len - 1] ^= 1;
    assert_int_equal(sealmsg_result_open(coord, blob, len, NOW, &rgot, &plain, &plainlen,
                                         &claimed, err, sizeof(err)), SEAL_ERR_AUTH);
    assert_null(plain);
    assert_string_equal(claimed.rid, RID);
    assert_string_equal(claimed.perspective, "pa");
    free(blob);
    /* an unsealed result is rejected and attributed from its plain fields */
    assert_int_equal(sealmsg_result_encode(&none, &res, NOW + 1000, &blob, &len), 0);
    assert_int_equal(sealmsg_result_open(coord, blob, len, NOW, &rgot, &plain, &plainlen,
                                         &claimed, err, sizeof(err)), SEAL_ERR_UNSEALED);
    assert_string_equal(claimed.perspective, "pa");
    free(blob);
    /* the inner message must repeat the header: seal a result for rid X inside a header
     * naming rid Y with a genuine key (only a key holder could) -> mismatch */
    char *inner;
    size_t innerlen;
    struct seal_ad ad;
    assert_int_equal(msg_result_encode(&res, &inner, &innerlen), 0);
    ad_init(&ad, SEAL_DIR_RESULT, "pa");
    ad.check_type = CHECK_TYPE_CAA;
    ad.attempt = 2;
    assert_int_equal(seal_seal(worker, &ad, inner, innerlen, &blob, &len), 0);
    assert_int_equal(sealmsg_result_open(coord, blob, len, NOW, &rgot, &plain, &plainlen,
                                         &claimed, err, sizeof(err)), SEAL_ERR_MISMATCH);
    free(blob);
    free(inner);
    json_decref(res.check_response);
    free(worker);
    free(coord);
}

static void test_reject_counters(void **state)
{
    uint64_t before = seal_reject_count(SEAL_ERR_AUTH);
    (void)state;
    seal_count_reject(SEAL_ERR_AUTH);
    seal_count_reject(SEAL_OK); /* not a rejection */
    assert_int_equal(seal_reject_count(SEAL_ERR_AUTH), before + 1);
    assert_int_equal(seal_reject_count(SEAL_OK), 0);
    assert_string_equal(seal_status_name(SEAL_ERR_EXPIRED), "expired");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_each_ad_field_is_bound),
        cmocka_unit_test(test_cannot_claim_another_perspective),
        cmocka_unit_test(test_tampered_byte_at_every_position),
        cmocka_unit_test(test_job_compact_rid),
        cmocka_unit_test(test_unknown_key_id_and_rotation),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_truncated_and_oversized),
        cmocka_unit_test(test_key_file_permissions),
        cmocka_unit_test(test_sealmsg_job_and_result),
        cmocka_unit_test(test_reject_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
