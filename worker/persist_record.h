/*
 * dns-persistent (BR 3.2.2.4.22) record evaluation: one TXT value at _validation-persist.<name>
 * parsed as an RFC 8659 issue-value (worker/caa_value) plus the BR / Boulder rules: issuer in
 * the CA's list, exactly one accounturi equal to the expected one, persistUntil honoured,
 * policy=wildcard for wildcard names, and malformed records rejected.
 */
#ifndef MPIC_PERSIST_RECORD_H
#define MPIC_PERSIST_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What one record says about the request (only PERSIST_RECORD_MATCH authorizes). */
enum persist_record_verdict {
    PERSIST_RECORD_MATCH = 0,         /* usable for this issuer, account and name */
    PERSIST_RECORD_MALFORMED,         /* not an issue-value, or a bad / duplicate parameter */
    PERSIST_RECORD_OTHER_ISSUER,      /* issuer-domain-name not in the CA's list */
    PERSIST_RECORD_NO_ACCOUNT,        /* no accounturi parameter */
    PERSIST_RECORD_ACCOUNT_MISMATCH,  /* accounturi differs from the expected one */
    PERSIST_RECORD_EXPIRED,           /* persistUntil is in the past */
    PERSIST_RECORD_NO_WILDCARD_POLICY,/* wildcard name without policy=wildcard */
};

/** What the record is checked against. */
struct persist_record_expect {
    const char *const *issuers; /* lower-case issuer domain names, no trailing dot */
    size_t nissuers;
    const char *account_uri;    /* compared byte for byte */
    bool wildcard;              /* the validated name is a wildcard */
    int64_t now_s;              /* UNIX seconds (clock_policy_now_ms() / 1000 in the check) */
};

/** Evaluates one TXT value of len bytes (may contain any byte). */
enum persist_record_verdict persist_record_check(const unsigned char *txt, size_t len,
                                                 const struct persist_record_expect *exp);
/** "match", "malformed", ... for messages. */
const char *persist_record_verdict_name(enum persist_record_verdict v);

#endif
