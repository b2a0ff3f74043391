/*
 * acme-dns-01 check: one TXT lookup at _acme-challenge.<target> through dns_lookup (CNAMEs
 * followed), each record's character-strings concatenated without trimming, and a byte-for-byte
 * comparison with key_authorization_hash. NXDOMAIN / no TXT / mismatch complete the check as
 * failed; resolver errors leave it incomplete.
 */
#include "dns01_check.h"

#include <event2/event_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dns_lookup.h"
#include "dns_msg.h"
#include "dns_text.h"
#include "log.h"
#include "util.h"

#define DNS01_PREFIX "_acme-challenge"
#define DNS01_SHOWN_MAX 100 /* bytes of the first wrong value quoted in the mismatch message */

#define DNS01_ERR_LOOKUP "mpic_error:dcv_checker:lookup"
#define DNS01_ERR_MISMATCH "mpic_error:dcv_checker:mismatch"
#define DNS01_ERR_PARAMETER "mpic_error:dcv_checker:parameter"

/** Lifecycle of one dns-01 check. */
enum dns01_state {
    DNS01_STATE_LOOKING_UP = 0, /* the TXT lookup is outstanding */
    DNS01_STATE_FINISHED,       /* cb has been called; waiting only for a late lookup answer */
};

struct dns01_ctx {
    enum dns01_state state;
    bool lookup_pending;
    char perspective[64];
    char name[DNS_NAME_MAX + sizeof(DNS01_PREFIX)];
    char *expected;
    size_t expectedlen;
    struct check_deadline deadline;
    check_done_cb cb;
    void *arg;
};

static void dns01_ctx_free(struct dns01_ctx *ctx)
{
    free(ctx->expected);
    free(ctx);
}

static json_t *dns01_details(const char *found_at, json_t *records, int rcode, json_t *ad,
                             json_t *chain)
{
    json_t *d = json_object();

    json_object_set_new(d, "validation_method", json_string("acme-dns-01"));
    json_object_set_new(d, "records_seen", records ? records : json_null());
    json_object_set_new(d, "response_code", rcode >= 0 ? json_integer(rcode) : json_null());
    json_object_set_new(d, "ad_flag", ad ? ad : json_null());
    json_object_set_new(d, "found_at", json_string(found_at));
    json_object_set_new(d, "cname_chain", chain ? chain : json_null());
    return d;
}

static void dns01_deliver(struct dns01_ctx *ctx, struct check_result *res)
{
    ctx->state = DNS01_STATE_FINISHED;
    check_deadline_cancel(&ctx->deadline);
    res->timestamp_ns = clock_real_ns();
    ctx->cb(ctx->arg, res);
    if (!ctx->lookup_pending) dns01_ctx_free(ctx);
}

/* Called by dns_lookup with the TXT answer (from the event loop). */
static void dns01_lookup_cb(void *arg, const struct dns_lookup_result *r)
{
    struct dns01_ctx *ctx = arg;
    struct check_result res;
    json_t *records = NULL, *chain = NULL;
    unsigned char *val = NULL;
    size_t vallen = 0;
    bool matched = false;
    int nvalues = 0;
    unsigned char *first = NULL; /* private copy of the first value, for the message */
    size_t firstlen = 0;
    size_t maxrd = 1;

    ctx->lookup_pending = false;
    if (ctx->state == DNS01_STATE_FINISHED) {
        dns01_ctx_free(ctx);
        return;
    }
    memset(&res, 0, sizeof(res));
    if (r->status == DNS_LOOKUP_ERROR) {
        res.completed = false;
        res.details = dns01_details(ctx->name, NULL, r->rcode, NULL, NULL);
        check_result_add_error(&res, DNS01_ERR_LOOKUP,
                               "There was an error looking up the DCV record. Error type: %s, "
                               "Error message: lookup of TXT %s failed from perspective %s",
                               r->error, ctx->name, ctx->perspective);
        dns01_deliver(ctx, &res);
        return;
    }
    chain = json_array();
    for (int i = 0; i < r->nchain; i++) {
        json_array_append_new(chain, json_string(r->cname_chain[i])); /* escaped ASCII */
    }
    if (r->status == DNS_LOOKUP_NXDOMAIN || r->status == DNS_LOOKUP_NODATA) {
        const char *type = r->status == DNS_LOOKUP_NXDOMAIN ? "NXDOMAIN" : "NODATA";
        res.completed = true;
        res.passed = false;
        res.details = dns01_details(ctx->name, r->status == DNS_LOOKUP_NODATA ? json_array() : NULL,
                                    r->rcode, json_boolean(r->ad), chain);
        check_result_add_error(&res, DNS01_ERR_LOOKUP,
                               "There was an error looking up the DCV record. Error type: %s, "
                               "Error message: No TXT record found at %s (perspective %s)",
                               type, ctx->name, ctx->perspective);
        dns01_deliver(ctx, &res);
        return;
    }
    records = json_array();
    for (int i = 0; i < r->nrecords; i++) {
        if (r->records[i].rdlen > maxrd) maxrd = r->records[i].rdlen;
    }
    val = util_xmalloc(maxrd);
    for (int i = 0; i < r->nrecords; i++) {
        if (dns_msg_txt_concat(r->records[i].rdata, r->records[i].rdlen, val, maxrd, &vallen) !=
            0) {
            log_debug("dns01: skipping malformed TXT RDATA at %s", ctx->name);
            continue;
        }
        nvalues++;
        json_array_append_new(records, dns_text_json(val, vallen));
        if (vallen == ctx->expectedlen && memcmp(val, ctx->expected, vallen) == 0) matched = true;
        if (first == NULL) {
            first = util_xmalloc(vallen + 1);
            memcpy(first, val, vallen);
            firstlen = vallen;
        }
    }
    res.completed = true;
    res.passed = matched;
    res.details = dns01_details(ctx->name, records, r->rcode, json_boolean(r->ad), chain);
    if (!matched) {
        char shown[4 * DNS01_SHOWN_MAX + 1];
        if (first != NULL) {
            dns_text_escape(first, firstlen, DNS01_SHOWN_MAX, shown, sizeof(shown));
            check_result_add_error(&res, DNS01_ERR_MISMATCH,
                                   "Incorrect TXT record \"%s\"%s (and %d more) found at %s "
                                   "(perspective %s)",
                                   shown, firstlen > DNS01_SHOWN_MAX ? "..." : "", nvalues - 1,
                                   ctx->name, ctx->perspective);
        } else {
            check_result_add_error(&res, DNS01_ERR_MISMATCH,
                                   "No well-formed TXT record found at %s (perspective %s)",
                                   ctx->name, ctx->perspective);
        }
    }
    free(first);
    free(val);
    dns01_deliver(ctx, &res);
}

/* Called by libevent when the job deadline passes before the lookup answered. */
static void dns01_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns01_ctx *ctx = arg;
    struct check_result res;

    ctx->deadline.armed = false;
    if (ctx->state == DNS01_STATE_FINISHED) return;
    memset(&res, 0, sizeof(res));
    res.completed = false;
    res.details = dns01_details(ctx->name, NULL, -1, NULL, NULL);
    check_result_add_error(&res, DNS01_ERR_LOOKUP,
                           "There was an error looking up the DCV record. Error type: timeout, "
                           "Error message: deadline exceeded looking up TXT %s from perspective %s",
                           ctx->name, ctx->perspective);
    dns01_deliver(ctx, &res);
}

void dns01_check_start(const struct check_env *env, const struct check_request *req,
                       check_done_cb cb, void *arg)
{
    struct dns01_ctx *ctx = util_xcalloc(1, sizeof(*ctx));
    struct check_result res;
    const char *expected;
    const char *target = req->target != NULL ? req->target : "";
    size_t tl = strlen(target);

    memset(&res, 0, sizeof(res));
    ctx->cb = cb;
    ctx->arg = arg;
    ctx->state = DNS01_STATE_LOOKING_UP;
    util_strlcpy(ctx->perspective, env->perspective ? env->perspective : "?",
                 sizeof(ctx->perspective));
    if (tl > 0 && target[tl - 1] == '.') tl--;
    snprintf(ctx->name, sizeof(ctx->name), "%s.%.*s", DNS01_PREFIX, (int)tl, target);
    expected = json_string_value(json_object_get(req->params, "key_authorization_hash"));
    if (tl == 0 || tl >= DNS_NAME_MAX || expected == NULL) {
        res.completed = false;
        res.details = dns01_details(ctx->name, NULL, -1, NULL, NULL);
        check_result_add_error(&res, DNS01_ERR_PARAMETER,
                               "acme-dns-01 at perspective %s: %s", ctx->perspective,
                               expected == NULL ? "key_authorization_hash missing"
                                                : "invalid target name");
        res.timestamp_ns = clock_real_ns();
        dns01_ctx_free(ctx);
        check_finish_later(env->base, cb, arg, &res);
        return;
    }
    ctx->expectedlen = json_string_length(json_object_get(req->params, "key_authorization_hash"));
    ctx->expected = util_xmalloc(ctx->expectedlen + 1);
    memcpy(ctx->expected, expected, ctx->expectedlen + 1);
    check_deadline_arm(&ctx->deadline, env->base, req->deadline_ms, dns01_deadline_cb, ctx);
    ctx->lookup_pending = true;
    dns_lookup(env->base, env->resolver, ctx->name, DNS_MSG_TYPE_TXT, dns01_lookup_cb, ctx);
}
