/*
 * Sealed jobs and results (see sealmsg.h). The header is what was authenticated as associated
 * data: a result's inner message must repeat its request id, attempt, perspective and check
 * type; a job's body leaves them (and the deadline) out and takes them from the header.
 */
#include "sealmsg.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

bool sealmsg_enabled(const struct seal_keyring *kr)
{
    return kr != NULL && kr->n > 0;
}

static void sealmsg_ad_fill(struct seal_ad *ad, enum seal_dir dir, const char *rid,
                            uint32_t attempt, const char *perspective, enum check_type ct,
                            int64_t expiry_ms)
{
    memset(ad, 0, sizeof(*ad));
    ad->dir = dir;
    ad->attempt = attempt;
    ad->check_type = ct;
    ad->expiry_ms = expiry_ms;
    util_strlcpy(ad->rid, rid ? rid : "", sizeof(ad->rid));
    util_strlcpy(ad->perspective, perspective ? perspective : "", sizeof(ad->perspective));
}

/* True when the inner message repeats the authenticated header. */
static bool sealmsg_same(const struct seal_ad *ad, const char *rid, uint32_t attempt,
                         const char *perspective, enum check_type ct)
{
    return strcmp(ad->rid, rid) == 0 && ad->attempt == attempt &&
           strcmp(ad->perspective, perspective) == 0 && ad->check_type == ct;
}

/* Seals an encoded message in place of *out (frees the plain one). */
static int sealmsg_wrap(const struct seal_keyring *kr, struct seal_ad *ad, char **out,
                        size_t *outlen)
{
    char *env = NULL;
    size_t envlen = 0;
    int rc = seal_seal(kr, ad, *out, *outlen, &env, &envlen);
    free(*out);
    *out = NULL;
    if (rc != 0) return -1;
    *out = env;
    *outlen = envlen;
    return 0;
}

int sealmsg_job_encode(const struct seal_keyring *kr, const struct msg_job *job, char **out,
                       size_t *outlen)
{
    struct seal_ad ad;
    if (!sealmsg_enabled(kr)) return msg_job_encode(job, out, outlen);
    /* the header authenticates request id, attempt, perspective, check type and deadline:
     * the body does not repeat them */
    if (msg_job_encode_body(job, out, outlen) != 0) return -1;
    sealmsg_ad_fill(&ad, SEAL_DIR_JOB, job->rid, job->attempt, job->perspective,
                    job->check_type, job->deadline_ms);
    return sealmsg_wrap(kr, &ad, out, outlen);
}

enum seal_status sealmsg_job_open(const struct seal_keyring *kr, const char *blob, size_t len,
                                  const char *self, int64_t now_ms, struct msg_job *job,
                                  char *err, size_t errlen)
{
    struct seal_ad ad;
    struct msg_job_header hdr;
    enum seal_status st;
    char *pt = NULL;
    size_t ptlen = 0;

    memset(job, 0, sizeof(*job));
    if (!sealmsg_enabled(kr)) {
        if (msg_job_decode(blob, len, job, err, errlen) != 0) return SEAL_ERR_MALFORMED;
        return SEAL_OK;
    }
    st = seal_open(kr, blob, len, SEAL_DIR_JOB, self, now_ms, &ad, &pt, &ptlen);
    if (st != SEAL_OK) {
        util_set_err(err, errlen, "envelope rejected: %s", seal_status_name(st));
        return st;
    }
    hdr.rid = ad.rid;
    hdr.attempt = ad.attempt;
    hdr.perspective = ad.perspective;
    hdr.check_type = ad.check_type;
    hdr.deadline_ms = ad.expiry_ms;
    if (msg_job_decode_body(pt, ptlen, &hdr, job, err, errlen) != 0) {
        free(pt);
        return SEAL_ERR_MISMATCH;
    }
    free(pt);
    if (!sealmsg_same(&ad, job->rid, job->attempt, job->perspective, job->check_type) ||
        job->deadline_ms != ad.expiry_ms) {
        util_set_err(err, errlen, "inner job disagrees with its sealed header");
        msg_job_free(job);
        return SEAL_ERR_MISMATCH;
    }
    return SEAL_OK;
}

int sealmsg_result_encode(const struct seal_keyring *kr, const struct msg_result *res,
                          int64_t expiry_ms, char **out, size_t *outlen)
{
    struct seal_ad ad;
    if (msg_result_encode(res, out, outlen) != 0) return -1;
    if (!sealmsg_enabled(kr)) return 0;
    sealmsg_ad_fill(&ad, SEAL_DIR_RESULT, res->rid, res->attempt, res->perspective,
                    res->check_type, expiry_ms);
    return sealmsg_wrap(kr, &ad, out, outlen);
}

enum seal_status sealmsg_result_open(const struct seal_keyring *kr, const char *blob,
                                     size_t len, int64_t now_ms, struct msg_result *res,
                                     char **plain, size_t *plainlen, struct seal_ad *claimed,
                                     char *err, size_t errlen)
{
    enum seal_status st;

    memset(res, 0, sizeof(*res));
    memset(claimed, 0, sizeof(*claimed));
    *plain = NULL;
    *plainlen = 0;
    if (!sealmsg_enabled(kr)) {
        if (msg_result_decode(blob, len, res, err, errlen) != 0) return SEAL_ERR_MALFORMED;
        *plain = util_xmalloc(len ? len : 1);
        memcpy(*plain, blob, len);
        *plainlen = len;
        return SEAL_OK;
    }
    st = seal_open(kr, blob, len, SEAL_DIR_RESULT, NULL, now_ms, claimed, plain, plainlen);
    if (st == SEAL_ERR_UNSEALED) {
        /* a plain result where a sealed one is required: attribute it, never trust it */
        struct msg_result forged;
        char e2[64];
        if (msg_result_decode(blob, len, &forged, e2, sizeof(e2)) == 0) {
            sealmsg_ad_fill(claimed, SEAL_DIR_RESULT, forged.rid, forged.attempt,
                            forged.perspective, forged.check_type, 0);
            msg_result_free(&forged);
        }
    }
    if (st != SEAL_OK) {
        util_set_err(err, errlen, "envelope rejected: %s", seal_status_name(st));
        return st;
    }
    if (msg_result_decode(*plain, *plainlen, res, err, errlen) != 0 ||
        !sealmsg_same(claimed, res->rid, res->attempt, res->perspective, res->check_type)) {
        if (res->rid != NULL) util_set_err(err, errlen, "inner result disagrees with its header");
        msg_result_free(res);
        free(*plain);
        *plain = NULL;
        *plainlen = 0;
        return SEAL_ERR_MISMATCH;
    }
    return SEAL_OK;
}
