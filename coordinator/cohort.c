/*
 * Cohort selection: perspectives are ranked by HMAC-SHA256(secret, target "\n" attempt "\n"
 * code), then a bounded depth-first search takes the lexicographically first combination (in
 * that ranking) whose members are pairwise >= 500 km apart and span >= 2 RIRs.
 */
#include "cohort.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define COHORT_MAX_STEPS 200000L /* backtracking nodes visited before giving up */
#define COHORT_MAX_CONFIGURED 4096
#define COHORT_MSG_MAX 1400      /* target "\n" attempt "\n" code */
#define COHORT_SECRET_CACHE 256  /* longest secret whose keyed HMAC context is kept */

struct ranked {
    int idx;                  /* index into the configured array */
    unsigned char mac[32];    /* HMAC-SHA256 rank key */
};

/* State of one backtracking search. */
struct search {
    const struct perspective *all;
    const struct ranked *order; /* perspectives in rank order */
    int nall;
    int n;                      /* wanted cohort size */
    const unsigned char *far;   /* far[i * nall + j]: rank positions i, j are >= 500 km apart */
    int chosen[COHORT_MAX];     /* rank positions chosen so far */
    long steps;
    bool limit_hit;
};


/* Called by qsort: orders by HMAC bytes, then by configured index for a stable tie-break. */
static int ranked_cmp(const void *a, const void *b)
{
    const struct ranked *x = a;
    const struct ranked *y = b;
    int c = memcmp(x->mac, y->mac, sizeof(x->mac));

    if (c != 0) return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * The keyed HMAC-SHA256 context for secret, kept per thread: every ranking uses the same
 * configured secret, and keying a fresh HMAC (fetching SHA-256, hashing the padded key) costs
 * several times the MAC of a short message. Re-keyed when a different secret comes (tests).
 * NULL when OpenSSL fails or the secret is longer than the cache holds.
 */
static EVP_MAC_CTX *rank_mac(const unsigned char *secret, size_t secretlen)
{
    static _Thread_local EVP_MAC_CTX *ctx;
    static _Thread_local unsigned char cached[COHORT_SECRET_CACHE];
    static _Thread_local size_t cachedlen;
    static _Thread_local bool keyed; /* ctx holds the key in cached */
    static const unsigned char empty_key[1] = {0};
    OSSL_PARAM params[2];

    if (secretlen > sizeof(cached)) return NULL;
    if (keyed && cachedlen == secretlen && CRYPTO_memcmp(cached, secret, secretlen) == 0)
        return ctx;
    if (ctx == NULL) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac); /* the context holds its own reference */
        if (ctx == NULL) return NULL;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    OPENSSL_cleanse(cached, sizeof(cached));
    keyed = false;
    if (EVP_MAC_init(ctx, secretlen > 0 ? secret : empty_key, secretlen, params) != 1)
        return NULL;
    memcpy(cached, secret, secretlen);
    cachedlen = secretlen;
    keyed = true;
    return ctx;
}

static int rank_key(const unsigned char *secret, size_t secretlen, const char *target, int attempt,
                    const char *code, unsigned char mac[32])
{
    static const unsigned char empty_key[1] = {0};
    char msg[COHORT_MSG_MAX];
    unsigned int maclen = 0;
    size_t outlen = 0;
    EVP_MAC_CTX *ctx;
    int len;

    len = snprintf(msg, sizeof(msg), "%s\n%d\n%s", target, attempt, code);
    if (len < 0 || (size_t)len >= sizeof(msg)) return -1;
    if (secret == NULL || secretlen == 0) {
        secret = empty_key;
        secretlen = 0;
    }
    ctx = rank_mac(secret, secretlen);
    if (ctx != NULL) {
        /* init without a key restarts the MAC with the key already set */
        if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
            EVP_MAC_update(ctx, (const unsigned char *)msg, (size_t)len) != 1 ||
            EVP_MAC_final(ctx, mac, &outlen, 32) != 1 || outlen != 32)
            return -1;
        return 0;
    }
    if (HMAC(EVP_sha256(), secret, (int)secretlen, (const unsigned char *)msg, (size_t)len, mac,
             &maclen) == NULL || maclen != 32) {
        return -1;
    }
    return 0;
}

/* Depth-first search in rank order; returns true when s->chosen holds a valid cohort. */
static bool search_from(struct search *s, int depth, int start)
{
    if (depth == s->n) {
        enum rir first = s->all[s->order[s->chosen[0]].idx].rir;
        for (int i = 1; i < s->n; i++) {
            if (s->all[s->order[s->chosen[i]].idx].rir != first) return true;
        }
        return false;
    }
    for (int pos = start; pos <= s->nall - (s->n - depth); pos++) {
        bool ok = true;

        if (++s->steps > COHORT_MAX_STEPS) {
            s->limit_hit = true;
            return false;
        }
        for (int i = 0; i < depth && ok; i++) {
            if (!s->far[(size_t)s->chosen[i] * (size_t)s->nall + (size_t)pos]) ok = false;
        }
        if (!ok) continue;
        s->chosen[depth] = pos;
        if (search_from(s, depth + 1, pos + 1)) return true;
        if (s->limit_hit) return false;
    }
    return false;
}

int cohort_select(const struct perspective *all, int nall, int n, const unsigned char *secret,
                  size_t secretlen, const char *target, int attempt, struct cohort *out,
                  char *err, size_t errlen)
{
    struct ranked *order = NULL;
    unsigned char *far = NULL;
    struct search s;
    unsigned rirs = 0;
    int nrirs = 0;
    int rc = -1;

    if (out != NULL) memset(out, 0, sizeof(*out));
    if (all == NULL || out == NULL || target == NULL || nall < 0) {
        util_set_err(err, errlen, "cohort selection called with invalid arguments");
        goto done;
    }
    if (n < 2 || n > COHORT_MAX) {
        util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: the size must be "
                "between 2 and %d", n, COHORT_MAX);
        goto done;
    }
    if (nall < n) {
        util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: only %d configured",
                n, nall);
        goto done;
    }
    if (nall > COHORT_MAX_CONFIGURED) {
        util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: more than %d "
                "configured", n, COHORT_MAX_CONFIGURED);
        goto done;
    }
    for (int i = 0; i < nall; i++) {
        if ((int)all[i].rir >= 0 && all[i].rir < RIR_COUNT) rirs |= 1u << (unsigned)all[i].rir;
    }
    for (int i = 0; i < RIR_COUNT; i++) {
        if (rirs & (1u << i)) nrirs++;
    }
    if (nrirs < 2) {
        util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: perspectives span "
                "only one RIR", n);
        goto done;
    }

    order = util_xcalloc((size_t)nall, sizeof(*order));
    for (int i = 0; i < nall; i++) {
        order[i].idx = i;
        if (rank_key(secret, secretlen, target, attempt, all[i].code, order[i].mac) != 0) {
            util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: HMAC failed", n);
            goto done;
        }
    }
    qsort(order, (size_t)nall, sizeof(*order), ranked_cmp);

    far = util_xcalloc((size_t)nall * (size_t)nall, 1);
    for (int i = 0; i < nall; i++) {
        for (int j = i + 1; j < nall; j++) {
            double d = perspective_distance_km(&all[order[i].idx], &all[order[j].idx]);
            unsigned char v = d >= COHORT_MIN_DISTANCE_KM ? 1 : 0;
            far[(size_t)i * (size_t)nall + (size_t)j] = v;
            far[(size_t)j * (size_t)nall + (size_t)i] = v;
        }
    }

    memset(&s, 0, sizeof(s));
    s.all = all;
    s.order = order;
    s.nall = nall;
    s.n = n;
    s.far = far;
    if (!search_from(&s, 0, 0)) {
        if (s.limit_hit) {
            util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: search limit "
                    "reached", n);
        } else {
            util_set_err(err, errlen, "cannot construct a cohort of %d perspectives: no %d "
                    "perspectives are pairwise at least 500 km apart with 2 RIRs", n, n);
        }
        goto done;
    }
    out->n = n;
    for (int i = 0; i < n; i++) out->idx[i] = order[s.chosen[i]].idx;
    rc = 0;
done:
    free(order);
    free(far);
    return rc;
}

int cohort_remote_pool(const struct perspective *all, int nall, int primary, int *idx)
{
    int count = 0;

    for (int i = 0; i < nall; i++) {
        if (primary >= 0 && primary < nall &&
            (i == primary ||
             perspective_distance_km(&all[i], &all[primary]) < COHORT_MIN_DISTANCE_KM)) {
            continue;
        }
        idx[count++] = i;
    }
    return count;
}

int cohort_select_remote(const struct perspective *all, int nall, int primary, int n,
                         const unsigned char *secret, size_t secretlen, const char *target,
                         int attempt, struct cohort *out, char *err, size_t errlen)
{
    struct perspective *pool;
    int *idx;
    int npool, rc;

    if (primary < 0 || all == NULL || nall <= 0 || nall > COHORT_MAX_CONFIGURED)
        return cohort_select(all, nall, n, secret, secretlen, target, attempt, out, err, errlen);
    idx = util_xcalloc((size_t)nall, sizeof(*idx));
    pool = util_xcalloc((size_t)nall, sizeof(*pool));
    npool = cohort_remote_pool(all, nall, primary, idx);
    for (int i = 0; i < npool; i++) pool[i] = all[idx[i]];
    rc = cohort_select(pool, npool, n, secret, secretlen, target, attempt, out, err, errlen);
    if (rc == 0) {
        for (int i = 0; i < out->n; i++) out->idx[i] = idx[out->idx[i]];
    }
    free(pool);
    free(idx);
    return rc;
}
