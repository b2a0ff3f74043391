/*
 * Generic DNS method check: a table row says how the query name is built, which record type is
 * fetched, whether the lookup climbs to parents (contact-*-caa, RFC 8659 style) and which
 * matcher decides. One lookup at a time goes through dns_lookup (CNAMEs followed); NXDOMAIN /
 * NODATA / a wrong value complete the check as failed, resolver errors leave it incomplete.
 */
#include "dns_method_check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dns_lookup.h"
#include "dns_match.h"
#include "dns_msg.h"
#include "dns_text.h"
#include "dns_names.h"
#include "dnsname.h"
#include "log.h"
#include "persist_record.h"
#include "util.h"

#define DNS_METHOD_SHOWN_MAX 100    /* bytes of the first wrong value quoted in a message */
#define DNS_METHOD_MAX_SEEN 256     /* records_seen entries kept (the rest are counted only) */
#define DNS_METHOD_MAX_ISSUERS 64

#define DNS_METHOD_ERR_LOOKUP "mpic_error:dcv_checker:lookup"
#define DNS_METHOD_ERR_MISMATCH "mpic_error:dcv_checker:mismatch"
#define DNS_METHOD_ERR_PARAMETER "mpic_error:dcv_checker:parameter"

/** How the query name is built from the target. */
enum dns_method_name_rule {
    DNS_METHOD_NAME_PREFIX_PARAM = 0, /* [dns_name_prefix.]target */
    DNS_METHOD_NAME_FIXED,            /* <fixed prefix>.target */
    DNS_METHOD_NAME_ACCOUNT,          /* _<base32 label>._acme-challenge.target */
    DNS_METHOD_NAME_REVERSE,          /* [dns_name_prefix.]<arpa name of the target> */
};

/** How a record value is judged. */
enum dns_method_matcher {
    DNS_METHOD_MATCH_CHANGE = 0, /* substring / exact per require_exact_match and _case */
    DNS_METHOD_MATCH_BYTES,      /* whole value, byte for byte */
    DNS_METHOD_MATCH_NOCASE,     /* whole value, ASCII case-insensitive */
    DNS_METHOD_MATCH_NAME,       /* PTR target equals the expected name (trailing dot ignored) */
    DNS_METHOD_MATCH_IP,         /* A / AAAA equals the parsed expected address */
    DNS_METHOD_MATCH_PERSIST,    /* dns-persistent record rules (persist_record) */
};

struct dns_method {
    const char *name;
    enum dns_method_name_rule name_rule;
    const char *fixed_prefix;      /* DNS_METHOD_NAME_FIXED */
    uint16_t qtype;                /* 0: from dns_record_type */
    bool climb;                    /* climb to parents until an RRset exists */
    const char *caa_tag;           /* CAA: only values of this tag count (NULL: any tag) */
    enum dns_method_matcher matcher;
    const char *expected_key;      /* params key of the expected value (NULL: none) */
};

static const struct dns_method dns_methods[] = {
    {"dns-change", DNS_METHOD_NAME_PREFIX_PARAM, NULL, 0, false, NULL, DNS_METHOD_MATCH_CHANGE,
     "challenge_value"},
    {"dns-persistent", DNS_METHOD_NAME_FIXED, "_validation-persist", DNS_MSG_TYPE_TXT, false,
     NULL, DNS_METHOD_MATCH_PERSIST, NULL},
    {"dns-account-01", DNS_METHOD_NAME_ACCOUNT, NULL, DNS_MSG_TYPE_TXT, false, NULL,
     DNS_METHOD_MATCH_BYTES, "key_authorization_hash"},
    {"contact-email-txt", DNS_METHOD_NAME_FIXED, "_validation-contactemail", DNS_MSG_TYPE_TXT,
     false, NULL, DNS_METHOD_MATCH_NOCASE, "challenge_value"},
    {"contact-phone-txt", DNS_METHOD_NAME_FIXED, "_validation-contactphone", DNS_MSG_TYPE_TXT,
     false, NULL, DNS_METHOD_MATCH_NOCASE, "challenge_value"},
    {"contact-email-caa", DNS_METHOD_NAME_PREFIX_PARAM, NULL, DNS_MSG_TYPE_CAA, true,
     "contactemail", DNS_METHOD_MATCH_NOCASE, "challenge_value"},
    {"contact-phone-caa", DNS_METHOD_NAME_PREFIX_PARAM, NULL, DNS_MSG_TYPE_CAA, true,
     "contactphone", DNS_METHOD_MATCH_NOCASE, "challenge_value"},
    {"ip-address", DNS_METHOD_NAME_PREFIX_PARAM, NULL, 0, false, NULL, DNS_METHOD_MATCH_IP,
     "challenge_value"},
    {"reverse-address-lookup", DNS_METHOD_NAME_REVERSE, NULL, DNS_MSG_TYPE_PTR, false, NULL,
     DNS_METHOD_MATCH_NAME, "challenge_value"},
};

/** Lifecycle of one check. */
enum dns_method_state {
    DNS_METHOD_STATE_LOOKING_UP = 0, /* a lookup (of the name or of a parent) is outstanding */
    DNS_METHOD_STATE_FINISHED,       /* cb has been called; waiting only for a late answer */
};

struct dns_method_ctx {
    enum dns_method_state state;
    const struct dns_method *m;
    bool lookup_pending;
    struct event_base *base;
    struct resolver *resolver;
    char perspective[64];
    char name[DNS_NAME_MAX];  /* the name asked first */
    char level[DNS_NAME_MAX]; /* the name of the outstanding lookup (differs when climbing) */
    uint16_t qtype;
    char *expected;
    size_t expectedlen;
    bool exact;
    bool exact_case;
    unsigned char ip[16];
    char **issuers;
    size_t nissuers;
    char *account_uri;
    bool wildcard;
    struct check_deadline deadline;
    check_done_cb cb;
    void *arg;
};

static void dns_method_ctx_free(struct dns_method_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nissuers; i++) free(ctx->issuers[i]);
    free(ctx->issuers);
    free(ctx->account_uri);
    free(ctx->expected);
    free(ctx);
}

static const char *dns_method_type_name(uint16_t t)
{
    switch (t) {
    case DNS_MSG_TYPE_A: return "A";
    case DNS_MSG_TYPE_AAAA: return "AAAA";
    case DNS_MSG_TYPE_CNAME: return "CNAME";
    case DNS_MSG_TYPE_PTR: return "PTR";
    case DNS_MSG_TYPE_TXT: return "TXT";
    case DNS_MSG_TYPE_CAA: return "CAA";
    }
    return "?";
}

static uint16_t dns_method_type_from_name(const char *s)
{
    static const uint16_t types[] = {DNS_MSG_TYPE_A,   DNS_MSG_TYPE_AAAA, DNS_MSG_TYPE_CNAME,
                                     DNS_MSG_TYPE_TXT, DNS_MSG_TYPE_CAA};
    for (size_t i = 0; s != NULL && i < MPIC_ARRAY_LEN(types); i++) {
        if (strcmp(s, dns_method_type_name(types[i])) == 0) return types[i];
    }
    return 0;
}

static json_t *dns_method_details(const struct dns_method_ctx *ctx, const char *found_at,
                                  json_t *records, int rcode, json_t *ad, json_t *chain)
{
    json_t *d = json_object();

    json_object_set_new(d, "validation_method", json_string(ctx->m->name));
    json_object_set_new(d, "records_seen", records ? records : json_null());
    json_object_set_new(d, "response_code", rcode >= 0 ? json_integer(rcode) : json_null());
    json_object_set_new(d, "ad_flag", ad ? ad : json_null());
    json_object_set_new(d, "found_at", found_at ? json_string(found_at) : json_null());
    json_object_set_new(d, "cname_chain", chain ? chain : json_null());
    return d;
}

static void dns_method_deliver(struct dns_method_ctx *ctx, struct check_result *res)
{
    ctx->state = DNS_METHOD_STATE_FINISHED;
    check_deadline_cancel(&ctx->deadline);
    res->timestamp_ns = clock_real_ns();
    ctx->cb(ctx->arg, res);
    if (!ctx->lookup_pending) dns_method_ctx_free(ctx);
}

/* The value of one record as bytes in buf (TXT strings joined, CAA value, name, address). */
static int dns_method_record_value(const struct dns_method_ctx *ctx, const struct dns_record *rec,
                                   unsigned char *buf, size_t cap, size_t *len, bool *relevant)
{
    struct dns_msg_caa caa;
    char text[INET6_ADDRSTRLEN];

    *relevant = true;
    switch (rec->type) {
    case DNS_MSG_TYPE_TXT: return dns_msg_txt_concat(rec->rdata, rec->rdlen, buf, cap, len);
    case DNS_MSG_TYPE_CAA:
        if (dns_msg_caa_parse(rec->rdata, rec->rdlen, &caa) != 0 || caa.valuelen > cap) return -1;
        if (ctx->m->caa_tag != NULL)
            *relevant = dns_match_tag(caa.tag, caa.taglen, ctx->m->caa_tag);
        memcpy(buf, caa.value, caa.valuelen);
        *len = caa.valuelen;
        return 0;
    case DNS_MSG_TYPE_CNAME:
    case DNS_MSG_TYPE_PTR:
        if (rec->target == NULL) return -1;
        *len = (size_t)snprintf((char *)buf, cap, "%s%s", rec->target,
                                strcmp(rec->target, ".") == 0 ? "" : ".");
        return *len < cap ? 0 : -1;
    case DNS_MSG_TYPE_A:
    case DNS_MSG_TYPE_AAAA:
        if (dns_msg_addr_text(rec->type, rec->rdata, rec->rdlen, text, sizeof(text)) != 0)
            return -1;
        *len = strlen(text);
        if (*len >= cap) return -1;
        memcpy(buf, text, *len);
        return 0;
    }
    return -1;
}

/* Judges one record; for dns-persistent *verdict gets the record's persist verdict. */
static bool dns_method_matches(const struct dns_method_ctx *ctx, const struct dns_record *rec,
                               const unsigned char *val, size_t len, int *verdict)
{
    struct persist_record_expect pe;
    size_t el = ctx->expectedlen;

    switch (ctx->m->matcher) {
    case DNS_METHOD_MATCH_CHANGE:
        return dns_match_text(val, len, ctx->expected, el, ctx->exact, ctx->exact_case);
    case DNS_METHOD_MATCH_BYTES: return dns_match_text(val, len, ctx->expected, el, true, true);
    case DNS_METHOD_MATCH_NOCASE: return dns_match_text(val, len, ctx->expected, el, true, false);
    case DNS_METHOD_MATCH_NAME:
        /* both sides compared without one trailing dot */
        if (len > 1 && val[len - 1] == '.') len--;
        if (el > 1 && ctx->expected[el - 1] == '.') el--;
        return dns_match_text(val, len, ctx->expected, el, true, false);
    case DNS_METHOD_MATCH_IP: return dns_match_ip(rec->type, rec->rdata, rec->rdlen, ctx->ip);
    case DNS_METHOD_MATCH_PERSIST:
        pe.issuers = (const char *const *)ctx->issuers;
        pe.nissuers = ctx->nissuers;
        pe.account_uri = ctx->account_uri;
        pe.wildcard = ctx->wildcard;
        pe.now_s = clock_policy_now_ms() / 1000;
        *verdict = (int)persist_record_check(val, len, &pe);
        return *verdict == PERSIST_RECORD_MATCH;
    }
    return false;
}

/* Adds the mismatch error; persist lists how many records failed for which reason. */
static void dns_method_mismatch_error(const struct dns_method_ctx *ctx, struct check_result *res,
                                      const char *found_at, const unsigned char *first,
                                      size_t firstlen, int nvalues, const int *verdicts)
{
    char shown[4 * DNS_METHOD_SHOWN_MAX + 1];
    char reasons[512];
    size_t used = 0;

    if (ctx->m->matcher == DNS_METHOD_MATCH_PERSIST) {
        reasons[0] = '\0';
        for (int v = 1; v <= PERSIST_RECORD_NO_WILDCARD_POLICY; v++) {
            int n;
            if (verdicts[v] == 0) continue;
            n = snprintf(reasons + used, sizeof(reasons) - used, "%s%d %s", used ? ", " : "",
                         verdicts[v], persist_record_verdict_name((enum persist_record_verdict)v));
            if (n < 0 || (size_t)n >= sizeof(reasons) - used) break;
            used += (size_t)n;
        }
        check_result_add_error(res, DNS_METHOD_ERR_MISMATCH,
                               "No usable persistent DCV record at %s (%s; perspective %s)",
                               found_at, used ? reasons : "no TXT record", ctx->perspective);
        return;
    }
    if (first == NULL) {
        check_result_add_error(res, DNS_METHOD_ERR_MISMATCH,
                               "No %s%s%s record found at %s (perspective %s)",
                               ctx->m->caa_tag ? "CAA " : dns_method_type_name(ctx->qtype),
                               ctx->m->caa_tag ? ctx->m->caa_tag : "",
                               ctx->m->caa_tag ? " property" : "", found_at, ctx->perspective);
        return;
    }
    dns_text_escape(first, firstlen, DNS_METHOD_SHOWN_MAX, shown, sizeof(shown));
    check_result_add_error(res, DNS_METHOD_ERR_MISMATCH,
                           "Incorrect %s record \"%s\"%s (and %d more) found at %s "
                           "(perspective %s)",
                           dns_method_type_name(ctx->qtype), shown,
                           firstlen > DNS_METHOD_SHOWN_MAX ? "..." : "", nvalues - 1, found_at,
                           ctx->perspective);
}

/* Matches the records of a successful lookup and delivers the result. */
static void dns_method_evaluate(struct dns_method_ctx *ctx, const struct dns_lookup_result *r,
                                json_t *chain)
{
    struct check_result res;
    json_t *records = json_array();
    int verdicts[PERSIST_RECORD_NO_WILDCARD_POLICY + 1] = {0};
    size_t cap = DNS_MSG_NAME_MAX + 2;
    unsigned char *val, *first = NULL;
    size_t vallen = 0, firstlen = 0;
    bool matched = false;
    int nvalues = 0;

    for (int i = 0; i < r->nrecords; i++) {
        if ((size_t)r->records[i].rdlen + 1 > cap) cap = (size_t)r->records[i].rdlen + 1;
    }
    val = util_xmalloc(cap);
    memset(&res, 0, sizeof(res));
    for (int i = 0; i < r->nrecords; i++) {
        bool relevant;
        int verdict = PERSIST_RECORD_MALFORMED;
        if (dns_method_record_value(ctx, &r->records[i], val, cap, &vallen, &relevant) != 0) {
            log_debug("%s: skipping malformed %s RDATA at %s", ctx->m->name,
                      dns_method_type_name(ctx->qtype), ctx->level);
            verdicts[PERSIST_RECORD_MALFORMED]++;
            continue;
        }
        if (!relevant) continue;
        nvalues++;
        if (json_array_size(records) < DNS_METHOD_MAX_SEEN)
            json_array_append_new(records, dns_text_json(val, vallen));
        if (dns_method_matches(ctx, &r->records[i], val, vallen, &verdict)) matched = true;
        if (ctx->m->matcher == DNS_METHOD_MATCH_PERSIST) verdicts[verdict]++;
        if (first == NULL) {
            first = util_xmalloc(vallen + 1);
            memcpy(first, val, vallen);
            firstlen = vallen;
        }
    }
    res.completed = true;
    res.passed = matched;
    res.details = dns_method_details(ctx, ctx->level, records, r->rcode, json_boolean(r->ad),
                                     chain);
    if (!matched)
        dns_method_mismatch_error(ctx, &res, ctx->level, first, firstlen, nvalues, verdicts);
    free(first);
    free(val);
    dns_method_deliver(ctx, &res);
}

/* Called by dns_lookup with the answer for ctx->level (from the event loop). */
static void dns_method_lookup_cb(void *arg, const struct dns_lookup_result *r)
{
    struct dns_method_ctx *ctx = arg;
    struct check_result res;
    char parent[DNS_NAME_MAX];
    json_t *chain;

    ctx->lookup_pending = false;
    if (ctx->state == DNS_METHOD_STATE_FINISHED) {
        dns_method_ctx_free(ctx);
        return;
    }
    memset(&res, 0, sizeof(res));
    if (r->status == DNS_LOOKUP_ERROR) {
        res.completed = false;
        res.details = dns_method_details(ctx, ctx->level, NULL, r->rcode, NULL, NULL);
        check_result_add_error(&res, DNS_METHOD_ERR_LOOKUP,
                               "There was an error looking up the DCV record. Error type: %s, "
                               "Error message: lookup of %s %s failed from perspective %s",
                               r->error[0] ? r->error : "lookup failed",
                               dns_method_type_name(ctx->qtype), ctx->level, ctx->perspective);
        dns_method_deliver(ctx, &res);
        return;
    }
    if (r->status != DNS_LOOKUP_OK && ctx->m->climb &&
        dnsname_parent(ctx->level, parent, sizeof(parent))) {
        /* RFC 8659-style climb: no RRset here, ask the parent (never the root). */
        util_strlcpy(ctx->level, parent, sizeof(ctx->level));
        ctx->lookup_pending = true;
        dns_lookup(ctx->base, ctx->resolver, ctx->level, ctx->qtype, dns_method_lookup_cb, ctx);
        return;
    }
    chain = json_array();
    for (int i = 0; i < r->nchain; i++) {
        json_array_append_new(chain, json_string(r->cname_chain[i]));
    }
    if (r->status == DNS_LOOKUP_OK) {
        dns_method_evaluate(ctx, r, chain);
        return;
    }
    res.completed = true;
    res.passed = false;
    res.details = dns_method_details(ctx, ctx->level,
                                     r->status == DNS_LOOKUP_NODATA ? json_array() : NULL,
                                     r->rcode, json_boolean(r->ad), chain);
    check_result_add_error(&res, DNS_METHOD_ERR_LOOKUP,
                           "There was an error looking up the DCV record. Error type: %s, "
                           "Error message: No %s record found at %s%s (perspective %s)",
                           r->status == DNS_LOOKUP_NXDOMAIN ? "NXDOMAIN" : "NODATA",
                           dns_method_type_name(ctx->qtype), ctx->name,
                           ctx->m->climb ? " or any parent" : "", ctx->perspective);
    dns_method_deliver(ctx, &res);
}

/* Called by libevent when the job deadline passes before the lookups answered. */
static void dns_method_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns_method_ctx *ctx = arg;
    struct check_result res;

    ctx->deadline.armed = false;
    if (ctx->state == DNS_METHOD_STATE_FINISHED) return;
    memset(&res, 0, sizeof(res));
    res.completed = false;
    res.details = dns_method_details(ctx, ctx->level, NULL, -1, NULL, NULL);
    check_result_add_error(&res, DNS_METHOD_ERR_LOOKUP,
                           "There was an error looking up the DCV record. Error type: timeout, "
                           "Error message: deadline exceeded looking up %s %s from perspective %s",
                           dns_method_type_name(ctx->qtype), ctx->level, ctx->perspective);
    dns_method_deliver(ctx, &res);
}

/* Builds ctx->name from the target and the method's rule. Returns 0 or -1 with err. */
static int dns_method_build_name(struct dns_method_ctx *ctx, const struct check_request *req,
                                 char *err, size_t errlen)
{
    const char *target = req->target != NULL ? req->target : "";
    const char *prefix = json_string_value(json_object_get(req->params, "dns_name_prefix"));
    char base[DNS_NAME_MAX];
    char label[DNS_NAMES_ACCOUNT_LABEL_LEN + 1];
    int n;

    if (!util_strlcpy(base, target, sizeof(base)) || base[0] == '\0') {
        snprintf(err, errlen, "invalid target name");
        return -1;
    }
    if (ctx->m->name_rule == DNS_METHOD_NAME_FIXED) prefix = ctx->m->fixed_prefix;
    if (ctx->m->name_rule == DNS_METHOD_NAME_REVERSE && !dns_names_is_arpa(base) &&
        dns_names_reverse(target, base, sizeof(base)) != 0) {
        snprintf(err, errlen, "the target is neither an IP address nor a reverse-lookup name");
        return -1;
    }
    if (ctx->m->name_rule == DNS_METHOD_NAME_ACCOUNT) {
        if (dns_names_account_label(ctx->account_uri, label, sizeof(label)) != 0) {
            snprintf(err, errlen, "account_uri missing");
            return -1;
        }
        n = snprintf(ctx->name, sizeof(ctx->name), "%s._acme-challenge.%s", label, base);
    } else if (prefix != NULL && prefix[0] != '\0') {
        n = snprintf(ctx->name, sizeof(ctx->name), "%s.%s", prefix, base);
    } else {
        n = snprintf(ctx->name, sizeof(ctx->name), "%s", base);
    }
    if (n < 0 || (size_t)n >= sizeof(ctx->name) || n > 253) {
        snprintf(err, errlen, "the query name is too long");
        return -1;
    }
    util_strlcpy(ctx->level, ctx->name, sizeof(ctx->level));
    return 0;
}

/* Reads the method's job parameters into ctx. Returns 0 or -1 with err. */
static int dns_method_read_params(struct dns_method_ctx *ctx, const json_t *params, char *err,
                                  size_t errlen)
{
    const json_t *v;

    ctx->qtype = ctx->m->qtype;
    if (ctx->qtype == 0) {
        ctx->qtype = dns_method_type_from_name(
            json_string_value(json_object_get(params, "dns_record_type")));
        if (ctx->qtype == 0) {
            snprintf(err, errlen, "unsupported dns_record_type");
            return -1;
        }
    }
    if (ctx->m->expected_key != NULL) {
        v = json_object_get(params, ctx->m->expected_key);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(err, errlen, "%s missing", ctx->m->expected_key);
            return -1;
        }
        ctx->expectedlen = json_string_length(v);
        ctx->expected = util_xstrndup(json_string_value(v), ctx->expectedlen);
    }
    ctx->exact = json_is_true(json_object_get(params, "require_exact_match"));
    ctx->exact_case = json_is_true(json_object_get(params, "require_exact_case"));
    if (ctx->m->matcher == DNS_METHOD_MATCH_IP &&
        !dns_match_parse_ip(ctx->expected, ctx->qtype == DNS_MSG_TYPE_A ? AF_INET : AF_INET6,
                            ctx->ip)) {
        snprintf(err, errlen, "challenge_value is not an address of the record type");
        return -1;
    }
    v = json_object_get(params, ctx->m->name_rule == DNS_METHOD_NAME_ACCOUNT
                                    ? "account_uri"
                                    : "expected_account_uri");
    if (json_is_string(v)) ctx->account_uri = util_xstrdup(json_string_value(v));
    if (ctx->m->matcher != DNS_METHOD_MATCH_PERSIST) return 0;
    v = json_object_get(params, "issuer_domain_names");
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > DNS_METHOD_MAX_ISSUERS || ctx->account_uri == NULL) {
        snprintf(err, errlen, "issuer_domain_names / expected_account_uri missing");
        return -1;
    }
    ctx->issuers = util_xcalloc(json_array_size(v), sizeof(char *));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (s == NULL) {
            snprintf(err, errlen, "issuer_domain_names entries must be strings");
            return -1;
        }
        ctx->issuers[ctx->nissuers++] = util_xstrdup(s);
    }
    return 0;
}

void dns_method_check_start(const struct check_env *env, const struct check_request *req,
                            check_done_cb cb, void *arg)
{
    struct dns_method_ctx *ctx = util_xcalloc(1, sizeof(*ctx));
    const char *method = json_string_value(json_object_get(req->params, "validation_method"));
    struct check_result res;
    char err[160];

    memset(&res, 0, sizeof(res));
    ctx->cb = cb;
    ctx->arg = arg;
    ctx->base = env->base;
    ctx->resolver = env->resolver;
    ctx->wildcard = req->wildcard;
    ctx->state = DNS_METHOD_STATE_LOOKING_UP;
    util_strlcpy(ctx->perspective, env->perspective ? env->perspective : "?",
                 sizeof(ctx->perspective));
    for (size_t i = 0; method != NULL && i < MPIC_ARRAY_LEN(dns_methods); i++) {
        if (strcmp(method, dns_methods[i].name) == 0) ctx->m = &dns_methods[i];
    }
    if (ctx->m == NULL) {
        static const struct dns_method unknown = {"unknown", DNS_METHOD_NAME_PREFIX_PARAM, NULL,
                                                  0, false, NULL, DNS_METHOD_MATCH_BYTES, NULL};
        ctx->m = &unknown;
        snprintf(err, sizeof(err), "not a DNS validation method");
        goto fail;
    }
    if (dns_method_read_params(ctx, req->params, err, sizeof(err)) != 0) goto fail;
    if (dns_method_build_name(ctx, req, err, sizeof(err)) != 0) goto fail;
    check_deadline_arm(&ctx->deadline, env->base, req->deadline_ms, dns_method_deadline_cb, ctx);
    ctx->lookup_pending = true;
    dns_lookup(env->base, env->resolver, ctx->name, ctx->qtype, dns_method_lookup_cb, ctx);
    return;

fail:
    res.completed = false;
    res.details = dns_method_details(ctx, ctx->name[0] ? ctx->name : NULL, NULL, -1, NULL, NULL);
    check_result_add_error(&res, DNS_METHOD_ERR_PARAMETER, "%s at perspective %s: %s",
                           ctx->m->name, ctx->perspective, err);
    res.timestamp_ns = clock_real_ns();
    dns_method_ctx_free(ctx);
    check_finish_later(env->base, cb, arg, &res);
}
