/*
 * CAA check: all levels of the tree climb (target ... TLD) are queried in parallel; the
 * decision walks them from the target upwards and settles as soon as every level up to the
 * first non-empty RRset has answered (an error at a lower level fails the check, errors above
 * the relevant set are ignored). Late answers after the decision only release the context.
 * allow_lookup_failure is honoured only as BR §3.2.2.8 allows: the failed level is retried
 * once and the failure counts as permission only when the zone is proven Insecure (dnssec.h).
 */
#include "caa_check.h"

#include <arpa/inet.h>
#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caa_policy.h"
#include "clock.h"
#include "dns_lookup.h"
#include "dns_msg.h"
#include "dnssec.h"
#include "log.h"
#include "util.h"

#define CAA_CHECK_MAX_LEVELS 128 /* a 253-byte name has at most 127 labels */
#define CAA_CHECK_RECORD_TEXT_MAX 2048 /* cap of one records_seen entry before escaping */

#define CAA_ERR_LOOKUP "mpic_error:caa_checker:lookup"
#define CAA_ERR_MALFORMED "mpic_error:caa_checker:malformed"
#define CAA_ERR_NOT_PERMITTED "mpic_error:caa_checker:not_permitted"
#define CAA_ERR_PARAMETER "mpic_error:caa_checker:parameter"

/** State of one tree-climb level. */
enum caa_level_state {
    CAA_LEVEL_PENDING = 0, /* the lookup (or its retry, or the insecurity proof) is running */
    CAA_LEVEL_DONE,        /* status, error and records are filled */
};

/** Insecurity proof of a failed level (allow_lookup_failure only). */
enum caa_proof_state {
    CAA_PROOF_NONE = 0,
    CAA_PROOF_INSECURE, /* proven Insecure: the failure may count as permission */
    CAA_PROOF_FAILED,   /* not proven: never permission */
};

#define CAA_DETAIL_MAX 299 /* bytes kept of a lookup error or proof detail */

struct caa_raw_record {
    unsigned char *rdata;
    size_t rdlen;
};

struct caa_level {
    struct caa_check_ctx *ctx;
    enum caa_level_state state;
    const char *name; /* a suffix of ctx->target */
    enum dns_lookup_status status;
    char *error; /* the lookup's error text when status is DNS_LOOKUP_ERROR (malloc'ed) */
    struct caa_raw_record *records;
    int nrecords;
    bool ad;       /* AD bit of the answer */
    bool retried;  /* allow_lookup_failure: the failed lookup was sent a second time */
    enum caa_proof_state proof;
    char *proof_detail; /* the insecurity proof's outcome, once known (malloc'ed) */
};

struct caa_check_ctx {
    struct event_base *base;
    struct resolver *resolver;
    bool allow_failure; /* caa_check_parameters.allow_lookup_failure */
    char perspective[64];
    char target[DNS_NAME_MAX];
    bool wildcard;
    enum caa_policy_cert_type cert_type;
    char **issuers;
    size_t nissuers;
    char *account_uri;
    char *validation_method;
    struct caa_level *levels;
    int nlevels;
    int outstanding; /* lookups not yet answered (the context lives until this is 0) */
    bool finished;   /* cb has been called */
    struct check_deadline deadline;
    check_done_cb cb;
    void *arg;
};

/* A level's optional text ("" when absent). */
static const char *caa_text(const char *s)
{
    return s != NULL ? s : "";
}

static void caa_ctx_free(struct caa_check_ctx *ctx)
{
    for (int i = 0; i < ctx->nlevels; i++) {
        for (int j = 0; j < ctx->levels[i].nrecords; j++) free(ctx->levels[i].records[j].rdata);
        free(ctx->levels[i].records);
        free(ctx->levels[i].error);
        free(ctx->levels[i].proof_detail);
    }
    free(ctx->levels);
    for (size_t i = 0; i < ctx->nissuers; i++) free(ctx->issuers[i]);
    free(ctx->issuers);
    free(ctx->account_uri);
    free(ctx->validation_method);
    free(ctx);
}

/*
 * Presentation text of one CAA record: flags tag "value", with '"' and '\' escaped and bytes
 * outside 0x20-0x7e as \DDD (RFC 1035 §5.1). Always ASCII, so always a valid JSON string.
 */
static json_t *caa_record_text(const unsigned char *rdata, size_t rdlen)
{
    struct dns_msg_caa caa;
    char *buf, *p;
    size_t cap, n;
    json_t *out;

    if (dns_msg_caa_parse(rdata, rdlen, &caa) != 0) {
        /* RFC 3597 generic form for RDATA that is not CAA-shaped. */
        n = rdlen > CAA_CHECK_RECORD_TEXT_MAX ? CAA_CHECK_RECORD_TEXT_MAX : rdlen;
        buf = util_xmalloc(16 + 2 * n + 1);
        int k = snprintf(buf, 16, "\\# %zu ", rdlen);
        util_hex_encode(rdata, n, buf + k);
        out = json_string(buf);
        free(buf);
        return out;
    }
    n = caa.valuelen > CAA_CHECK_RECORD_TEXT_MAX ? CAA_CHECK_RECORD_TEXT_MAX : caa.valuelen;
    cap = 8 + 4 * caa.taglen + 4 * n + 8;
    buf = util_xmalloc(cap);
    p = buf + snprintf(buf, cap, "%u ", (unsigned)caa.flags);
    for (size_t i = 0; i < caa.taglen + 1 + n; i++) {
        /* tag bytes, then the opening quote, then the value bytes */
        unsigned char c;
        if (i < caa.taglen) {
            c = caa.tag[i];
        } else if (i == caa.taglen) {
            *p++ = ' ';
            *p++ = '"';
            continue;
        } else {
            c = caa.value[i - caa.taglen - 1];
        }
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20 || c > 0x7e || (c == ' ' && i < caa.taglen)) {
            p += snprintf(p, 5, "\\%03u", (unsigned)c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    out = json_string(buf);
    free(buf);
    return out;
}

static json_t *caa_details(json_t *present, const char *found_at, json_t *records, json_t *ad)
{
    json_t *d = json_object();

    json_object_set_new(d, "caa_record_present", present);
    json_object_set_new(d, "found_at", found_at ? json_string(found_at) : json_null());
    json_object_set_new(d, "records_seen", records ? records : json_null());
    json_object_set_new(d, "ad_flag", ad ? ad : json_null());
    return d;
}

/* AD of every level consulted for the decision (levels 0..last). */
static json_t *caa_ad(const struct caa_check_ctx *ctx, int last)
{
    for (int i = 0; i <= last && i < ctx->nlevels; i++)
        if (!ctx->levels[i].ad) return json_false();
    return json_true();
}

/* Delivers the result once; frees the context when no lookup is outstanding. */
static void caa_deliver(struct caa_check_ctx *ctx, struct check_result *res)
{
    ctx->finished = true;
    check_deadline_cancel(&ctx->deadline);
    res->timestamp_ns = clock_real_ns();
    ctx->cb(ctx->arg, res);
    if (ctx->outstanding == 0) caa_ctx_free(ctx);
}

static void caa_finish_lookup_error(struct caa_check_ctx *ctx, const char *name,
                                    const char *reason)
{
    struct check_result res;

    memset(&res, 0, sizeof(res));
    res.completed = false;
    res.passed = false;
    res.details = caa_details(json_null(), NULL, NULL, NULL);
    check_result_add_error(&res, CAA_ERR_LOOKUP,
                           "CAA lookup for %s failed at %s from perspective %s: %s", ctx->target,
                           name, ctx->perspective, reason);
    caa_deliver(ctx, &res);
}

/* A failed level with the allow_lookup_failure decision: permitted only when proven Insecure. */
static void caa_finish_allowed_failure(struct caa_check_ctx *ctx, const struct caa_level *lv)
{
    struct check_result res;

    if (lv->proof != CAA_PROOF_INSECURE) {
        char reason[700];
        snprintf(reason, sizeof(reason),
                 "%.250s (retried; allow_lookup_failure not honoured: %.300s)",
                 caa_text(lv->error), caa_text(lv->proof_detail));
        caa_finish_lookup_error(ctx, lv->name, reason);
        return;
    }
    memset(&res, 0, sizeof(res));
    res.completed = true;
    res.passed = true;
    res.details = caa_details(json_null(), NULL, NULL, json_false());
    check_result_add_error(&res, CAA_ERR_LOOKUP,
                           "CAA lookup for %s failed at %s from perspective %s: %s (retried); "
                           "treated as permission (allow_lookup_failure) because the zone is "
                           "Insecure: %s",
                           ctx->target, lv->name, ctx->perspective, caa_text(lv->error),
                           caa_text(lv->proof_detail));
    caa_deliver(ctx, &res);
}

static void caa_finish_no_records(struct caa_check_ctx *ctx)
{
    struct check_result res;

    memset(&res, 0, sizeof(res));
    res.completed = true;
    res.passed = true;
    res.details = caa_details(json_false(), NULL, NULL, caa_ad(ctx, ctx->nlevels - 1));
    caa_deliver(ctx, &res);
}

static void caa_finish_set(struct caa_check_ctx *ctx, const struct caa_level *lv)
{
    struct check_result res;
    struct caa_policy_record *recs;
    struct caa_policy_request preq;
    struct caa_policy_decision dec;
    json_t *seen = json_array();
    int nbad = 0;

    memset(&res, 0, sizeof(res));
    recs = util_xcalloc((size_t)lv->nrecords, sizeof(*recs));
    for (int i = 0; i < lv->nrecords; i++) {
        struct dns_msg_caa caa;
        json_array_append_new(seen, caa_record_text(lv->records[i].rdata, lv->records[i].rdlen));
        if (dns_msg_caa_parse(lv->records[i].rdata, lv->records[i].rdlen, &caa) != 0) {
            nbad++;
            continue;
        }
        recs[i].flags = caa.flags;
        recs[i].tag = (const char *)caa.tag;
        recs[i].taglen = caa.taglen;
        recs[i].value = (const char *)caa.value;
        recs[i].valuelen = caa.valuelen;
    }
    res.details = caa_details(json_true(), lv->name, seen, caa_ad(ctx, (int)(lv - ctx->levels)));
    res.completed = true;
    if (nbad > 0) {
        res.passed = false;
        check_result_add_error(&res, CAA_ERR_MALFORMED,
                               "%d malformed CAA record(s) at %s (perspective %s); issuance is "
                               "not permitted",
                               nbad, lv->name, ctx->perspective);
        goto done;
    }
    memset(&preq, 0, sizeof(preq));
    preq.cert_type = ctx->cert_type;
    preq.wildcard = ctx->wildcard;
    preq.issuers = (const char *const *)ctx->issuers;
    preq.nissuers = ctx->nissuers;
    preq.account_uri = ctx->account_uri;
    preq.validation_method = ctx->validation_method;
    caa_policy_decide(recs, (size_t)lv->nrecords, &preq, &dec);
    res.passed = dec.permitted;
    log_debug("caa %s%s: set at %s: %s", ctx->wildcard ? "*." : "", ctx->target, lv->name,
              caa_policy_reason_name(dec.reason));
    if (dec.permitted) goto done;
    if (dec.reason == CAA_POLICY_CRITICAL_UNKNOWN) {
        check_result_add_error(&res, CAA_ERR_NOT_PERMITTED,
                               "The CAA record set at %s has a property with an unknown tag "
                               "marked critical; issuance is not permitted (perspective %s)",
                               lv->name, ctx->perspective);
    } else {
        check_result_add_error(&res, CAA_ERR_NOT_PERMITTED,
                               "No %s property at %s names an accepted issuer with satisfiable "
                               "parameters (%zu %s record(s), %zu malformed, %zu with "
                               "unsatisfiable parameters; perspective %s)",
                               dec.relevant_tag, lv->name, dec.nrelevant, dec.relevant_tag,
                               dec.nmalformed, dec.nmismatch, ctx->perspective);
    }

done:
    free(recs);
    caa_deliver(ctx, &res);
}

static void caa_level_cb(void *arg, const struct dns_lookup_result *r);
static void caa_evaluate(struct caa_check_ctx *ctx);

/* Called by dnssec_prove_insecure with the proof for a failed level. */
static void caa_proof_cb(void *arg, bool insecure, const char *detail)
{
    struct caa_level *lv = arg;
    struct caa_check_ctx *ctx = lv->ctx;

    ctx->outstanding--;
    lv->state = CAA_LEVEL_DONE;
    lv->proof = insecure ? CAA_PROOF_INSECURE : CAA_PROOF_FAILED;
    free(lv->proof_detail);
    lv->proof_detail = util_xstrndup(detail, CAA_DETAIL_MAX);
    if (!ctx->finished) {
        caa_evaluate(ctx);
        return;
    }
    if (ctx->outstanding == 0) caa_ctx_free(ctx);
}

/* Runs the retry, then the proof, of a failed level; 1 when an operation was started. */
static int caa_retry_or_prove(struct caa_check_ctx *ctx, struct caa_level *lv)
{
    if (!lv->retried) {
        lv->retried = true;
        lv->state = CAA_LEVEL_PENDING;
        ctx->outstanding++;
        dns_lookup(ctx->base, ctx->resolver, lv->name, DNS_MSG_TYPE_CAA, caa_level_cb, lv);
        return 1;
    }
    if (lv->proof == CAA_PROOF_NONE) {
        lv->state = CAA_LEVEL_PENDING;
        ctx->outstanding++;
        dnssec_prove_insecure(ctx->base, ctx->resolver, lv->name, caa_proof_cb, lv);
        return 1;
    }
    return 0;
}

/* Decides when every level up to the first non-empty set has answered. */
static void caa_evaluate(struct caa_check_ctx *ctx)
{
    for (int i = 0; i < ctx->nlevels; i++) {
        struct caa_level *lv = &ctx->levels[i];
        if (lv->state == CAA_LEVEL_PENDING) return;
        if (lv->status == DNS_LOOKUP_ERROR) {
            if (ctx->allow_failure) {
                if (caa_retry_or_prove(ctx, lv)) return;
                caa_finish_allowed_failure(ctx, lv);
                return;
            }
            caa_finish_lookup_error(ctx, lv->name, caa_text(lv->error));
            return;
        }
        if (lv->status == DNS_LOOKUP_OK && lv->nrecords > 0) {
            caa_finish_set(ctx, lv);
            return;
        }
        /* NXDOMAIN below the TLD is an empty set; for the TLD itself it is an error (as
         * Boulder: never issue under a TLD that does not exist). */
        if (lv->status == DNS_LOOKUP_NXDOMAIN && i == ctx->nlevels - 1) {
            caa_finish_lookup_error(ctx, lv->name, "NXDOMAIN for the top-level domain");
            return;
        }
    }
    caa_finish_no_records(ctx);
}

/* Called by dns_lookup once per level (from the event loop). */
static void caa_level_cb(void *arg, const struct dns_lookup_result *r)
{
    struct caa_level *lv = arg;
    struct caa_check_ctx *ctx = lv->ctx;

    ctx->outstanding--;
    lv->state = CAA_LEVEL_DONE;
    lv->status = r->status;
    lv->ad = r->ad;
    free(lv->error);
    lv->error = r->status == DNS_LOOKUP_ERROR
                    ? util_xstrndup(r->error[0] ? r->error : "lookup failed", CAA_DETAIL_MAX)
                    : NULL;
    if (r->status == DNS_LOOKUP_OK && r->nrecords > 0 && !ctx->finished) {
        lv->records = util_xcalloc((size_t)r->nrecords, sizeof(*lv->records));
        for (int i = 0; i < r->nrecords; i++) {
            lv->records[i].rdlen = r->records[i].rdlen;
            lv->records[i].rdata = util_xmalloc(r->records[i].rdlen + 1u);
            memcpy(lv->records[i].rdata, r->records[i].rdata, r->records[i].rdlen);
        }
        lv->nrecords = r->nrecords;
    }
    if (!ctx->finished) {
        caa_evaluate(ctx);
        return; /* caa_deliver freed ctx if this was the last lookup */
    }
    if (ctx->outstanding == 0) caa_ctx_free(ctx);
}

/* Called by libevent when the job deadline passes before a decision. */
static void caa_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct caa_check_ctx *ctx = arg;

    ctx->deadline.armed = false;
    if (ctx->finished) return;
    for (int i = 0; i < ctx->nlevels; i++) {
        if (ctx->levels[i].state == CAA_LEVEL_PENDING) {
            caa_finish_lookup_error(ctx, ctx->levels[i].name, "no answer before the deadline");
            return;
        }
    }
    caa_finish_lookup_error(ctx, ctx->target, "no answer before the deadline");
}

/* Immediate results (IP target, bad parameters) go through check_finish_later. */
static void caa_finish_now(const struct check_env *env, check_done_cb cb, void *arg,
                           struct check_result *res)
{
    res->timestamp_ns = clock_real_ns();
    check_finish_later(env->base, cb, arg, res);
}

static bool caa_is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Reads the job parameters into ctx; returns 0 or -1 with a message. */
static int caa_read_params(struct caa_check_ctx *ctx, const json_t *params, char *err,
                           size_t errlen)
{
    const json_t *v;

    v = json_object_get(params, "certificate_type");
    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && strcmp(json_string_value(v), "tls-server") == 0)) {
        ctx->cert_type = CAA_POLICY_TLS_SERVER;
    } else if (json_is_string(v) && strcmp(json_string_value(v), "s-mime") == 0) {
        ctx->cert_type = CAA_POLICY_SMIME;
    } else {
        snprintf(err, errlen, "unsupported certificate_type");
        return -1;
    }
    v = json_object_get(params, "caa_domains");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_array(v)) {
            snprintf(err, errlen, "caa_domains must be a list");
            return -1;
        }
        ctx->issuers = util_xcalloc(json_array_size(v) + 1, sizeof(char *));
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *s = json_string_value(json_array_get(v, i));
            if (s == NULL) {
                snprintf(err, errlen, "caa_domains entries must be strings");
                return -1;
            }
            ctx->issuers[ctx->nissuers++] = util_xstrdup(s);
        }
    }
    ctx->allow_failure = json_is_true(json_object_get(params, "allow_lookup_failure"));
    v = json_object_get(params, "account_uri");
    if (json_is_string(v)) ctx->account_uri = util_xstrdup(json_string_value(v));
    v = json_object_get(params, "validation_method");
    if (json_is_string(v)) ctx->validation_method = util_xstrdup(json_string_value(v));
    return 0;
}

void caa_check_start(const struct check_env *env, const struct check_request *req,
                     check_done_cb cb, void *arg)
{
    struct caa_check_ctx *ctx = NULL;
    struct check_result res;
    char err[128];
    int nlabels = 0;
    const char *p;

    memset(&res, 0, sizeof(res));
    if (req->target != NULL && caa_is_ip(req->target)) {
        /* RFC 8659 applies to domain names; an IP address has no CAA to consult. */
        res.completed = true;
        res.passed = true;
        res.details = caa_details(json_false(), NULL, NULL, NULL);
        caa_finish_now(env, cb, arg, &res);
        return;
    }
    ctx = util_xcalloc(1, sizeof(*ctx));
    ctx->base = env->base;
    ctx->resolver = env->resolver;
    ctx->cb = cb;
    ctx->arg = arg;
    ctx->wildcard = req->wildcard;
    util_strlcpy(ctx->perspective, env->perspective ? env->perspective : "?",
                 sizeof(ctx->perspective));
    if (req->target == NULL || req->target[0] == '\0' || req->target[0] == '.' ||
        !util_strlcpy(ctx->target, req->target, sizeof(ctx->target))) {
        snprintf(err, sizeof(err), "invalid target name");
        goto fail;
    }
    size_t tl = strlen(ctx->target);
    if (ctx->target[tl - 1] == '.') ctx->target[tl - 1] = '\0';
    if (caa_read_params(ctx, req->params, err, sizeof(err)) != 0) goto fail;

    for (p = ctx->target; p != NULL; p = strchr(p, '.')) {
        if (*p == '.') p++;
        if (*p == '\0') break;
        nlabels++;
    }
    if (nlabels == 0 || nlabels > CAA_CHECK_MAX_LEVELS) {
        snprintf(err, sizeof(err), "invalid target name");
        goto fail;
    }
    ctx->levels = util_xcalloc((size_t)nlabels, sizeof(*ctx->levels));
    p = ctx->target;
    for (int i = 0; i < nlabels; i++) {
        ctx->levels[i].ctx = ctx;
        ctx->levels[i].state = CAA_LEVEL_PENDING;
        ctx->levels[i].name = p;
        const char *dot = strchr(p, '.');
        p = dot != NULL ? dot + 1 : p;
    }
    ctx->nlevels = nlabels;
    check_deadline_arm(&ctx->deadline, env->base, req->deadline_ms, caa_deadline_cb, ctx);
    ctx->outstanding = nlabels;
    for (int i = 0; i < nlabels; i++) {
        dns_lookup(env->base, env->resolver, ctx->levels[i].name, DNS_MSG_TYPE_CAA, caa_level_cb,
                   &ctx->levels[i]);
    }
    return;

fail:
    res.completed = false;
    res.passed = false;
    res.details = caa_details(json_null(), NULL, NULL, NULL);
    check_result_add_error(&res, CAA_ERR_PARAMETER, "CAA check at perspective %s: %s",
                           env->perspective ? env->perspective : "?", err);
    caa_ctx_free(ctx);
    caa_finish_now(env, cb, arg, &res);
}
