/*
 * The CAA decision on one relevant RRset (RFC 8659 §4, RFC 8657, RFC 9495, Boulder's choices):
 * critical unknown tags deny, issuewild governs wildcards when present, issuemail governs
 * S/MIME, malformed values and issue ";" permit nothing, and records are additive.
 */
#ifndef MPIC_CAA_POLICY_H
#define MPIC_CAA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One CAA record of the set; tag and value point into caller-owned memory. */
struct caa_policy_record {
    uint8_t flags;
    const char *tag;
    size_t taglen;
    const char *value; /* may contain any byte; not NUL-terminated */
    size_t valuelen;
};

enum caa_policy_cert_type {
    CAA_POLICY_TLS_SERVER = 0, /* issue / issuewild */
    CAA_POLICY_SMIME = 1,      /* issuemail (RFC 9495) */
};

/** What is being issued and by whom. */
struct caa_policy_request {
    enum caa_policy_cert_type cert_type;
    bool wildcard;                 /* the name started with "*." (tls-server only) */
    const char *const *issuers;    /* the CA's issuer domain names, lower-case, no trailing dot */
    size_t nissuers;
    const char *account_uri;       /* NULL: accounturi parameters do not restrict */
    const char *validation_method; /* NULL: validationmethods parameters do not restrict */
};

enum caa_policy_reason {
    CAA_POLICY_NO_RELEVANT = 0,      /* no record restricts this certificate type: permitted */
    CAA_POLICY_AUTHORIZED = 1,       /* a relevant record names an accepted issuer: permitted */
    CAA_POLICY_UNAUTHORIZED = 2,     /* relevant records exist, none authorizes: denied */
    CAA_POLICY_CRITICAL_UNKNOWN = 3, /* an unknown tag carries flag 128 or 1: denied */
};

struct caa_policy_decision {
    bool permitted;
    enum caa_policy_reason reason;
    const char *relevant_tag; /* "issue", "issuewild" or "issuemail" (NULL: none relevant) */
    size_t nrelevant;         /* records with the relevant tag */
    size_t nmalformed;        /* of those, values that do not match the ABNF */
    size_t nmismatch;         /* of those, well-formed values whose parameters do not match */
};

/** Decides on one RRset. Never fails; decision is fully written. */
void caa_policy_decide(const struct caa_policy_record *recs, size_t nrecs,
                       const struct caa_policy_request *req, struct caa_policy_decision *out);

/** "no relevant records", "authorized", "unauthorized", "critical unknown property". */
const char *caa_policy_reason_name(enum caa_policy_reason reason);

#endif
