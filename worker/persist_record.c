/*
 * dns-persistent record rules on top of the RFC 8659 issue-value parser: a trailing ";" or an
 * empty parameter is malformed (Boulder, Open MPIC), parameter tags are case-insensitive,
 * accounturi / persistUntil / policy may appear at most once, unknown parameters are ignored.
 */
#include "persist_record.h"

#include <string.h>
#include <strings.h>

#include "caa_value.h"
#include "util.h"

#define PERSIST_RECORD_MAX_LEN 4096 /* longer values are not issue-values we accept */

const char *persist_record_verdict_name(enum persist_record_verdict v)
{
    switch (v) {
    case PERSIST_RECORD_MATCH: return "match";
    case PERSIST_RECORD_MALFORMED: return "malformed";
    case PERSIST_RECORD_OTHER_ISSUER: return "issuer not accepted";
    case PERSIST_RECORD_NO_ACCOUNT: return "no accounturi";
    case PERSIST_RECORD_ACCOUNT_MISMATCH: return "accounturi mismatch";
    case PERSIST_RECORD_EXPIRED: return "persistUntil passed";
    case PERSIST_RECORD_NO_WILDCARD_POLICY: return "no policy=wildcard for a wildcard name";
    }
    return "unknown";
}

static bool tag_is(const struct caa_value_param *p, const char *name)
{
    return p->taglen == strlen(name) && strncasecmp(p->tag, name, p->taglen) == 0;
}

static bool issuer_accepted(const struct caa_value *v, const struct persist_record_expect *exp)
{
    if (v->issuerlen == 0) return false;
    for (size_t i = 0; i < exp->nissuers; i++) {
        const char *want = exp->issuers[i];
        if (strlen(want) == v->issuerlen && strncasecmp(want, v->issuer, v->issuerlen) == 0)
            return true;
    }
    return false;
}

/* Parses persistUntil's base-10 UNIX seconds; false when it is not a plain integer. */
static bool parse_until(const struct caa_value_param *p, int64_t *out)
{
    char buf[32];

    if (p->valuelen == 0 || p->valuelen >= sizeof(buf)) return false;
    for (size_t i = 0; i < p->valuelen; i++) {
        if (p->value[i] < '0' || p->value[i] > '9') return false;
    }
    memcpy(buf, p->value, p->valuelen);
    buf[p->valuelen] = '\0';
    return util_parse_int64(buf, 0, INT64_MAX, out) == 0;
}

enum persist_record_verdict persist_record_check(const unsigned char *txt, size_t len,
                                                 const struct persist_record_expect *exp)
{
    struct caa_value v;
    const struct caa_value_param *account = NULL, *until = NULL, *policy = NULL;
    size_t end = len;
    int64_t until_s = 0;

    if (txt == NULL || len > PERSIST_RECORD_MAX_LEN || memchr(txt, '\0', len) != NULL)
        return PERSIST_RECORD_MALFORMED;
    if (caa_value_parse((const char *)txt, len, &v) != 0) return PERSIST_RECORD_MALFORMED;
    /* An issue-value may end in ";" (RFC 8659); a persistent record may not (empty param). */
    while (end > 0 && (txt[end - 1] == ' ' || txt[end - 1] == '\t')) end--;
    if (end > 0 && txt[end - 1] == ';') return PERSIST_RECORD_MALFORMED;
    for (size_t i = 0; i < v.nparams; i++) {
        const struct caa_value_param *p = &v.params[i];
        const struct caa_value_param **slot = NULL;
        if (tag_is(p, "accounturi")) slot = &account;
        if (tag_is(p, "persistUntil")) slot = &until;
        if (tag_is(p, "policy")) slot = &policy;
        if (slot == NULL) continue; /* unknown parameters are ignored */
        if (*slot != NULL) return PERSIST_RECORD_MALFORMED;
        *slot = p;
    }
    if (until != NULL && !parse_until(until, &until_s)) return PERSIST_RECORD_MALFORMED;
    if (!issuer_accepted(&v, exp)) return PERSIST_RECORD_OTHER_ISSUER;
    if (account == NULL) return PERSIST_RECORD_NO_ACCOUNT;
    if (exp->account_uri == NULL || account->valuelen != strlen(exp->account_uri) ||
        memcmp(account->value, exp->account_uri, account->valuelen) != 0)
        return PERSIST_RECORD_ACCOUNT_MISMATCH;
    if (until != NULL && exp->now_s > until_s) return PERSIST_RECORD_EXPIRED;
    if (exp->wildcard &&
        (policy == NULL || policy->valuelen != 8 || strncasecmp(policy->value, "wildcard", 8) != 0))
        return PERSIST_RECORD_NO_WILDCARD_POLICY;
    return PERSIST_RECORD_MATCH;
}
