/*
 * libFuzzer target for the sealed-envelope opener (common/seal.c, common/sealmsg.c):
 * arbitrary bytes never crash or leak; a rejection yields no plaintext; an envelope that
 * opens re-seals and opens to the same plaintext. The keys are fixed so the seeds
 * (make_corpus.py seals them with the same keys) reach the AEAD and message decoding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "sealmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal_keyring fuzz_ring;

static void fuzz_keys(void)
{
    unsigned char k[SEAL_KEY_BYTES];
    if (fuzz_ring.n > 0) return;
    for (int i = 0; i < SEAL_KEY_BYTES; i++) k[i] = (unsigned char)i;
    seal_keyring_add(&fuzz_ring, "us-east-1", 1, k, false);
    for (int i = 0; i < SEAL_KEY_BYTES; i++) k[i] = (unsigned char)(32 + i);
    seal_keyring_add(&fuzz_ring, "us-east-1", 2, k, true);
    memset(k, 0xaa, sizeof(k));
    seal_keyring_add(&fuzz_ring, "eu-west-1", 1, k, false);
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now = 1767225500000LL; /* before the seeds' expiry */
    struct seal_ad ad, ad2;
    struct msg_result res;
    struct msg_job job;
    char *pt = NULL, *env = NULL, *pt2 = NULL, *plain = NULL, err[128];
    size_t ptlen = 0, envlen = 0, pt2len = 0, plainlen = 0;
    enum seal_status st;

    fuzz_keys();
    for (int dir = SEAL_DIR_JOB; dir <= SEAL_DIR_RESULT; dir++) {
        st = seal_open(&fuzz_ring, data, size, (enum seal_dir)dir, NULL, now, &ad, &pt, &ptlen);
        if (st != SEAL_OK) {
            if (pt != NULL || ptlen != 0) abort();
            continue;
        }
        if (ptlen + SEAL_NONCE_BYTES + SEAL_TAG_BYTES >= size) abort();
        if (seal_keyring_can_seal(&fuzz_ring, ad.perspective)) {
            if (seal_seal(&fuzz_ring, &ad, pt, ptlen, &env, &envlen) != 0) abort();
            if (seal_open(&fuzz_ring, env, envlen, (enum seal_dir)dir, ad.perspective, now, &ad2,
                          &pt2, &pt2len) != SEAL_OK ||
                pt2len != ptlen || memcmp(pt, pt2, ptlen) != 0)
                abort();
            free(env);
            free(pt2);
        }
        free(pt);
        pt = NULL;
    }
    st = sealmsg_result_open(&fuzz_ring, (const char *)data, size, now, &res, &plain, &plainlen,
                             &ad, err, sizeof(err));
    if (st == SEAL_OK) {
        if (plain == NULL || strcmp(res.rid, ad.rid) != 0) abort();
        msg_result_free(&res);
        free(plain);
    } else if (plain != NULL || res.rid != NULL) {
        abort();
    }
    st = sealmsg_job_open(&fuzz_ring, (const char *)data, size, "us-east-1", now, &job, err,
                          sizeof(err));
    if (st == SEAL_OK) {
        if (strcmp(job.perspective, "us-east-1") != 0) abort();
        msg_job_free(&job);
    } else if (job.rid != NULL) {
        abort();
    }
    return 0;
}
