/*
 * CAA RRset decision. First pass: any unknown tag with flag bit 128 (critical) or bit 1
 * (Boulder's alias) denies. Then the relevant tag is chosen (issuewild for wildcards when one
 * exists, else issue; issuemail for S/MIME) and the set permits when any record with that tag
 * names an accepted issuer and its RFC 8657 parameters are satisfiable for this request.
 */
#include "caa_policy.h"

#include <string.h>

#include "caa_value.h"

#define CAA_POLICY_CRITICAL_BITS 0x81 /* 128 = Issuer Critical; 1 = Boulder's safer reading */

static const char *const caa_policy_known_tags[] = {
    "issue", "issuewild", "issuemail", "iodef", "contactemail", "contactphone",
};

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive equality of a length-delimited string with a NUL-terminated one. */
static bool span_ieq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);

    if (n != l) return false;
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)s[i]) != lower((unsigned char)lit[i])) return false;
    }
    return true;
}

static bool span_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool tag_known(const struct caa_policy_record *r)
{
    for (size_t i = 0; i < sizeof(caa_policy_known_tags) / sizeof(caa_policy_known_tags[0]);
         i++) {
        if (span_ieq(r->tag, r->taglen, caa_policy_known_tags[i])) return true;
    }
    return false;
}

/*
 * RFC 8657 §4: value = [*(label ",") label], label = 1*(ALPHA / DIGIT / "-").
 * Returns -1 when malformed, 1 when `method` is listed, 0 otherwise.
 */
static int methods_contain(const char *v, size_t n, const char *method)
{
    size_t p = 0;
    int found = 0;

    if (n == 0) return 0;
    for (;;) {
        size_t start = p;
        while (p < n) {
            unsigned char c = (unsigned char)v[p];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-';
            if (!ok) break;
            p++;
        }
        if (p == start) return -1;
        if (method != NULL && span_eq(v + start, p - start, method)) found = 1;
        if (p == n) return found;
        if (v[p] != ',') return -1;
        p++;
        if (p == n) return -1; /* trailing comma */
    }
}

/* Whether one well-formed value's parameters are satisfiable for this request. */
static bool params_satisfied(const struct caa_value *v, const struct caa_policy_request *req)
{
    const struct caa_value_param *acct = NULL, *methods = NULL;
    size_t nacct = 0, nmethods = 0;

    for (size_t i = 0; i < v->nparams; i++) {
        const struct caa_value_param *p = &v->params[i];
        if (span_ieq(p->tag, p->taglen, "accounturi")) {
            acct = p;
            nacct++;
        } else if (span_ieq(p->tag, p->taglen, "validationmethods")) {
            methods = p;
            nmethods++;
        }
    }
    if (nacct > 1 || nmethods > 1) return false; /* RFC 8657 §3; Boulder for methods */
    if (methods != NULL) {
        int m = methods_contain(methods->value, methods->valuelen, req->validation_method);
        if (m < 0) return false;
        if (req->validation_method != NULL && m == 0) return false;
    }
    if (acct != NULL && req->account_uri != NULL) {
        if (!span_eq(acct->value, acct->valuelen, req->account_uri)) return false;
    }
    return true;
}

static bool issuer_accepted(const struct caa_value *v, const struct caa_policy_request *req)
{
    if (v->issuerlen == 0) return false;
    for (size_t i = 0; i < req->nissuers; i++) {
        if (req->issuers[i] != NULL && span_ieq(v->issuer, v->issuerlen, req->issuers[i]))
            return true;
    }
    return false;
}

void caa_policy_decide(const struct caa_policy_record *recs, size_t nrecs,
                       const struct caa_policy_request *req, struct caa_policy_decision *out)
{
    const char *relevant;
    bool any_issuewild = false;
    bool permitted = false;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nrecs; i++) {
        if (!tag_known(&recs[i]) && (recs[i].flags & CAA_POLICY_CRITICAL_BITS) != 0) {
            out->permitted = false;
            out->reason = CAA_POLICY_CRITICAL_UNKNOWN;
            return;
        }
        if (span_ieq(recs[i].tag, recs[i].taglen, "issuewild")) any_issuewild = true;
    }
    if (req->cert_type == CAA_POLICY_SMIME) {
        relevant = "issuemail";
    } else if (req->wildcard && any_issuewild) {
        relevant = "issuewild";
    } else {
        relevant = "issue";
    }
    for (size_t i = 0; i < nrecs; i++) {
        struct caa_value v;
        if (!span_ieq(recs[i].tag, recs[i].taglen, relevant)) continue;
        out->nrelevant++;
        if (caa_value_parse(recs[i].value, recs[i].valuelen, &v) != 0) {
            out->nmalformed++;
            continue;
        }
        if (!issuer_accepted(&v, req)) continue;
        if (!params_satisfied(&v, req)) {
            out->nmismatch++;
            continue;
        }
        permitted = true;
    }
    if (out->nrelevant == 0) {
        out->permitted = true;
        out->reason = CAA_POLICY_NO_RELEVANT;
        return;
    }
    out->relevant_tag = relevant;
    out->permitted = permitted;
    out->reason = permitted ? CAA_POLICY_AUTHORIZED : CAA_POLICY_UNAUTHORIZED;
}

const char *caa_policy_reason_name(enum caa_policy_reason reason)
{
    switch (reason) {
    case CAA_POLICY_NO_RELEVANT: return "no relevant records";
    case CAA_POLICY_AUTHORIZED: return "authorized";
    case CAA_POLICY_UNAUTHORIZED: return "unauthorized";
    case CAA_POLICY_CRITICAL_UNKNOWN: return "critical unknown property";
    }
    return "unknown";
}
