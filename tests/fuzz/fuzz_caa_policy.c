/*
 * libFuzzer target for the CAA RRset decision (worker/caa_policy.c) on records a DNS server
 * chose: input = one options byte, then records as <u8 rdlen><CAA RDATA>, parsed with
 * dns_msg_caa_parse as the CAA check does. Checks the decision's invariants and that it does
 * not depend on the order of the records or on an added non-critical iodef record.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caa_policy.h"
#include "dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CAA_MAX_RECS 64

static const char *const fuzz_issuers[] = {"ca.test", "Other.Example"};

static void same_or_abort(const struct caa_policy_decision *a,
                          const struct caa_policy_decision *b)
{
    if (a->permitted != b->permitted || a->reason != b->reason || a->nrelevant != b->nrelevant ||
        a->nmalformed != b->nmalformed || a->nmismatch != b->nmismatch ||
        (a->relevant_tag == NULL) != (b->relevant_tag == NULL) ||
        (a->relevant_tag != NULL && strcmp(a->relevant_tag, b->relevant_tag) != 0))
        abort();
}

static void check_invariants(const struct caa_policy_decision *d, size_t nrecs)
{
    bool allows = d->reason == CAA_POLICY_NO_RELEVANT || d->reason == CAA_POLICY_AUTHORIZED;

    if (d->permitted != allows || d->nrelevant > nrecs ||
        d->nmalformed + d->nmismatch > d->nrelevant)
        abort();
    if (d->reason == CAA_POLICY_NO_RELEVANT && (d->nrelevant != 0 || d->relevant_tag != NULL))
        abort();
    if ((d->reason == CAA_POLICY_AUTHORIZED || d->reason == CAA_POLICY_UNAUTHORIZED) &&
        (d->nrelevant == 0 || d->relevant_tag == NULL))
        abort();
    if (d->reason == CAA_POLICY_AUTHORIZED && d->nmalformed + d->nmismatch >= d->nrelevant)
        abort(); /* some relevant record authorized, so it was neither */
    if (strcmp(caa_policy_reason_name(d->reason), "unknown") == 0) abort();
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct caa_policy_record recs[FUZZ_CAA_MAX_RECS + 1], rev[FUZZ_CAA_MAX_RECS];
    struct caa_policy_request req;
    struct caa_policy_decision d, d2;
    static const unsigned char iodef[] = "\x00\x05iodefmailto:x@example.net";
    struct dns_msg_caa caa;
    size_t n = 0, p = 1;

    if (size < 1) return 0;
    while (p < size && n < FUZZ_CAA_MAX_RECS) {
        size_t rdlen = data[p++];
        if (rdlen > size - p) rdlen = size - p;
        if (dns_msg_caa_parse(data + p, rdlen, &caa) == 0) {
            if (caa.tag < data + p || caa.tag + caa.taglen > data + p + rdlen ||
                caa.value + caa.valuelen != data + p + rdlen)
                abort();
            recs[n].flags = caa.flags;
            recs[n].tag = (const char *)caa.tag;
            recs[n].taglen = caa.taglen;
            recs[n].value = (const char *)caa.value;
            recs[n].valuelen = caa.valuelen;
            n++;
        }
        p += rdlen;
    }
    memset(&req, 0, sizeof(req));
    req.cert_type = (data[0] & 1) ? CAA_POLICY_SMIME : CAA_POLICY_TLS_SERVER;
    req.wildcard = (data[0] & 2) != 0;
    req.issuers = fuzz_issuers;
    req.nissuers = (data[0] & 4) ? 2 : 1;
    req.account_uri = (data[0] & 8) ? "https://acme.example/acct/1" : NULL;
    req.validation_method = (data[0] & 16) ? "dns-01" : NULL;

    caa_policy_decide(recs, n, &req, &d);
    check_invariants(&d, n);

    for (size_t i = 0; i < n; i++) rev[i] = recs[n - 1 - i];
    caa_policy_decide(rev, n, &req, &d2);
    same_or_abort(&d, &d2);

    if (dns_msg_caa_parse(iodef, sizeof(iodef) - 1, &caa) != 0) abort();
    recs[n].flags = caa.flags;
    recs[n].tag = (const char *)caa.tag;
    recs[n].taglen = caa.taglen;
    recs[n].value = (const char *)caa.value;
    recs[n].valuelen = caa.valuelen;
    caa_policy_decide(recs, n + 1, &req, &d2);
    same_or_abort(&d, &d2);
    return 0;
}
