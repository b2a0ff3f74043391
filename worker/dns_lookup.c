/*
 * One DNS lookup with CNAME chasing: send a query through the resolver, walk the answer from
 * the current name with our own parser (dns_msg), follow CNAMEs present in the answer, and send
 * a new query for a chain end that has no records in this answer. The result is delivered from
 * the event loop (event_base_once), never from inside dns_lookup().
 */
#include "dns_lookup.h"

#include <ares.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"
#include "log.h"
#include "util.h"

/** Lifecycle of one lookup. */
enum dns_lookup_state {
    DNS_LOOKUP_STATE_QUERYING = 0, /* a resolver query is outstanding */
    DNS_LOOKUP_STATE_PROVING,      /* answer without AD: an insecurity proof is outstanding */
    DNS_LOOKUP_STATE_DELIVERING,   /* result complete, delivery scheduled on the event loop */
};

struct dns_lookup_ctx {
    struct event_base *base;
    struct resolver *resolver;
    uint16_t qtype;
    enum dns_lookup_state state;
    char *current; /* name asked in the outstanding query when it is not res.qname (a CNAME
                    * target that left the previous answer; malloc'ed), else NULL */
    int nqueries;
    bool in_start;     /* inside dns_lookup(): delivery must be deferred */
    bool deliver_now;  /* the resolver is being destroyed: the event loop may never run again */
    int proof_next;    /* next chain index to prove Insecure (nchain-1 .. -1 = qname) */
    dns_lookup_cb cb;
    void *arg;
    struct dns_lookup_result res;
};

/* The name the outstanding query asks. */
static const char *dns_lookup_current(const struct dns_lookup_ctx *lk)
{
    return lk->current != NULL ? lk->current : lk->res.qname;
}

static void dns_lookup_free_result(struct dns_lookup_result *res)
{
    for (int i = 0; i < res->nchain; i++) free(res->cname_chain[i]);
    for (int i = 0; i < res->nrecords; i++) {
        free(res->records[i].rdata);
        free(res->records[i].target);
    }
    free(res->records);
}

/* Called by libevent one loop turn after the lookup completed. */
static void dns_lookup_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns_lookup_ctx *lk = arg;

    lk->cb(lk->arg, &lk->res);
    dns_lookup_free_result(&lk->res);
    free(lk->current);
    free(lk);
}

static void dns_lookup_deliver(struct dns_lookup_ctx *lk);
static void dns_lookup_fail(struct dns_lookup_ctx *lk, const char *reason);
static void dns_lookup_prove_next(struct dns_lookup_ctx *lk);

/* Applies the resolver's DNSSEC policy to a complete answer, then delivers it. */
static void dns_lookup_finish(struct dns_lookup_ctx *lk)
{
    bool answered = lk->res.status == DNS_LOOKUP_OK || lk->res.status == DNS_LOOKUP_NODATA ||
                    lk->res.status == DNS_LOOKUP_NXDOMAIN;

    if (!answered || lk->deliver_now || !resolver_dnssec_required(lk->resolver)) {
        dns_lookup_deliver(lk);
        return;
    }
    if (lk->res.ad) {
        lk->res.dnssec = DNSSEC_SECURE;
        dns_lookup_deliver(lk);
        return;
    }
    /* Any name of the chain may be the insecure one: try the chain end first. */
    lk->state = DNS_LOOKUP_STATE_PROVING;
    lk->proof_next = lk->res.nchain - 1;
    dns_lookup_prove_next(lk);
}

/* Called by dnssec_prove_insecure (from the event loop, or from resolver_free). */
static void dns_lookup_proof_cb(void *arg, bool insecure, const char *detail)
{
    struct dns_lookup_ctx *lk = arg;

    if (insecure) {
        lk->res.dnssec = DNSSEC_INSECURE;
        log_debug("dns_lookup %s: %s", lk->res.qname, detail);
        dns_lookup_deliver(lk);
        return;
    }
    if (strcmp(detail, DNSSEC_SHUTDOWN) == 0) lk->deliver_now = true;
    if (lk->proof_next >= -1 && !lk->deliver_now) {
        dns_lookup_prove_next(lk);
        return;
    }
    lk->res.dnssec = DNSSEC_UNPROVEN;
    dns_lookup_fail(lk, detail);
}

static void dns_lookup_prove_next(struct dns_lookup_ctx *lk)
{
    char name[DNS_MSG_NAME_MAX];
    int i = lk->proof_next--;

    util_strlcpy(name, i >= 0 ? lk->res.cname_chain[i] : lk->res.qname, sizeof(name));
    dnssec_prove_insecure(lk->base, lk->resolver, name, dns_lookup_proof_cb, lk);
}

static void dns_lookup_deliver(struct dns_lookup_ctx *lk)
{
    struct timeval zero = {0, 0};

    lk->state = DNS_LOOKUP_STATE_DELIVERING;
    if (lk->deliver_now) {
        dns_lookup_deliver_cb(-1, 0, lk);
        return;
    }
    if (lk->res.status == DNS_LOOKUP_OK || lk->res.status == DNS_LOOKUP_NODATA ||
        lk->res.status == DNS_LOOKUP_NXDOMAIN) {
        lk->res.error[0] = '\0';
    }
    if (event_base_once(lk->base, -1, EV_TIMEOUT, dns_lookup_deliver_cb, lk, &zero) != 0) {
        log_error("dns_lookup: event_base_once failed, delivering directly");
        dns_lookup_deliver_cb(-1, 0, lk);
    }
}

static void dns_lookup_fail(struct dns_lookup_ctx *lk, const char *reason)
{
    lk->res.status = DNS_LOOKUP_ERROR;
    if (lk->res.dnssec == DNSSEC_UNPROVEN) {
        snprintf(lk->res.error, sizeof(lk->res.error),
                 "DNSSEC: answer not validated (AD=0) and the zone is not proven Insecure: %s",
                 reason);
    } else {
        snprintf(lk->res.error, sizeof(lk->res.error), "%s", reason);
    }
    /* Never hand out a partial record set with an error. */
    for (int i = 0; i < lk->res.nrecords; i++) {
        free(lk->res.records[i].rdata);
        free(lk->res.records[i].target);
    }
    free(lk->res.records);
    lk->res.records = NULL;
    lk->res.nrecords = 0;
    dns_lookup_finish(lk);
}

/* Maps a c-ares failure status to a short reason and, when it mirrors one, an RCODE. */
static const char *dns_lookup_status_reason(int status, int *rcode)
{
    switch (status) {
    case ARES_ESERVFAIL: *rcode = DNS_MSG_RCODE_SERVFAIL; return "SERVFAIL";
    case ARES_EREFUSED: *rcode = DNS_MSG_RCODE_REFUSED; return "REFUSED";
    case ARES_ENOTIMP: *rcode = DNS_MSG_RCODE_NOTIMP; return "NOTIMP";
    case ARES_EFORMERR: *rcode = DNS_MSG_RCODE_FORMERR; return "FORMERR";
    case ARES_ETIMEOUT: return "timeout";
    case ARES_ECONNREFUSED: return "could not contact DNS servers (connection refused)";
    case ARES_EBADRESP: return "malformed response";
    case ARES_EBADNAME: return "bad query name";
    case ARES_EDESTRUCTION: return "resolver shut down";
    case ARES_ECANCELLED: return "cancelled";
    case ARES_ENOMEM: return "out of memory";
    default: return ares_strerror(status);
    }
}

static bool dns_lookup_seen(const struct dns_lookup_ctx *lk, const char *name)
{
    if (dns_msg_name_equal(lk->res.qname, name)) return true;
    for (int i = 0; i < lk->res.nchain; i++) {
        if (dns_msg_name_equal(lk->res.cname_chain[i], name)) return true;
    }
    return false;
}

/* Copies every RR of the asked type owned by `owner` into the result. Returns 0 or -1. */
static int dns_lookup_collect(struct dns_lookup_ctx *lk, const struct dns_msg *msg,
                              const char *owner)
{
    struct dns_msg_iter it;
    struct dns_msg_rr rr;
    int n = 0, rc;

    dns_msg_answers(msg, &it);
    while ((rc = dns_msg_next(&it, &rr)) == 1) {
        if (rr.type == lk->qtype && rr.rclass == 1 && dns_msg_name_equal(rr.owner, owner)) n++;
    }
    if (rc < 0) return -1;
    if (n == 0) return 0;
    lk->res.records = util_xcalloc((size_t)n, sizeof(*lk->res.records));
    dns_msg_answers(msg, &it);
    while (dns_msg_next(&it, &rr) == 1 && lk->res.nrecords < n) {
        if (rr.type != lk->qtype || rr.rclass != 1 || !dns_msg_name_equal(rr.owner, owner))
            continue;
        struct dns_record *d = &lk->res.records[lk->res.nrecords++];
        d->type = rr.type;
        d->ttl = rr.ttl;
        d->rdlen = rr.rdlen;
        d->rdata = util_xmalloc(rr.rdlen > 0 ? rr.rdlen : 1);
        if (rr.rdlen > 0) memcpy(d->rdata, rr.rdata, rr.rdlen);
        if (rr.type == DNS_MSG_TYPE_CNAME || rr.type == DNS_MSG_TYPE_NS ||
            rr.type == DNS_MSG_TYPE_PTR) {
            char target[DNS_MSG_NAME_MAX];
            if (dns_msg_rr_target(msg, &rr, target, sizeof(target)) != 0) return -1;
            d->target = util_xstrdup(target);
        }
    }
    return 0;
}

/*
 * Finds the CNAME owned by `owner` in the answer. Returns 1 with the target in out, 0 when
 * there is none, -1 when malformed (bad RDATA or several CNAMEs for one owner).
 */
static int dns_lookup_find_cname(const struct dns_msg *msg, const char *owner, char *out,
                                 size_t outlen)
{
    struct dns_msg_iter it;
    struct dns_msg_rr rr;
    int found = 0, rc;

    dns_msg_answers(msg, &it);
    while ((rc = dns_msg_next(&it, &rr)) == 1) {
        if (rr.type != DNS_MSG_TYPE_CNAME || rr.rclass != 1 || !dns_msg_name_equal(rr.owner, owner))
            continue;
        if (found) return -1;
        if (dns_msg_rr_target(msg, &rr, out, outlen) != 0) return -1;
        found = 1;
    }
    return rc < 0 ? -1 : found;
}

static void dns_lookup_send(struct dns_lookup_ctx *lk);

static void dns_lookup_process(struct dns_lookup_ctx *lk, const unsigned char *abuf, int alen)
{
    struct dns_msg msg;
    char cur[DNS_MSG_NAME_MAX];
    char target[DNS_MSG_NAME_MAX];
    int rcode;

    if (dns_msg_parse(&msg, abuf, (size_t)alen) != 0 || !dns_msg_qr(&msg)) {
        dns_lookup_fail(lk, "malformed response");
        return;
    }
    rcode = dns_msg_rcode(&msg);
    lk->res.rcode = rcode;
    lk->res.ad = (lk->nqueries == 1 ? true : lk->res.ad) && dns_msg_ad(&msg);
    if (dns_msg_tc(&msg)) {
        dns_lookup_fail(lk, "truncated response");
        return;
    }
    if (rcode == DNS_MSG_RCODE_NXDOMAIN) {
        lk->res.status = DNS_LOOKUP_NXDOMAIN;
        dns_lookup_finish(lk);
        return;
    }
    if (rcode != DNS_MSG_RCODE_NOERROR) {
        if (rcode <= DNS_MSG_RCODE_REFUSED) {
            dns_lookup_fail(lk, dns_msg_rcode_name(rcode));
        } else {
            char reason[32];
            snprintf(reason, sizeof(reason), "RCODE %d", rcode);
            dns_lookup_fail(lk, reason);
        }
        return;
    }
    util_strlcpy(cur, dns_lookup_current(lk), sizeof(cur));
    for (;;) {
        if (dns_lookup_collect(lk, &msg, cur) != 0) {
            dns_lookup_fail(lk, "malformed response");
            return;
        }
        if (lk->res.nrecords > 0) {
            lk->res.status = DNS_LOOKUP_OK;
            dns_lookup_finish(lk);
            return;
        }
        if (lk->qtype == DNS_MSG_TYPE_CNAME) break;
        int found = dns_lookup_find_cname(&msg, cur, target, sizeof(target));
        if (found < 0) {
            dns_lookup_fail(lk, "malformed response");
            return;
        }
        if (found == 0) break;
        if (dns_lookup_seen(lk, target)) {
            dns_lookup_fail(lk, "CNAME loop");
            return;
        }
        if (lk->res.nchain >= DNS_LOOKUP_MAX_CHAIN) {
            dns_lookup_fail(lk, "CNAME chain too long");
            return;
        }
        size_t tl = strlen(target);
        char *entry = util_xmalloc(tl + 2);
        memcpy(entry, target, tl + 1);
        if (strcmp(target, ".") != 0) {
            entry[tl] = '.';
            entry[tl + 1] = '\0';
        }
        lk->res.cname_chain[lk->res.nchain++] = entry;
        util_strlcpy(cur, target, sizeof(cur));
    }
    if (dns_msg_name_equal(cur, dns_lookup_current(lk))) {
        lk->res.status = DNS_LOOKUP_NODATA;
        dns_lookup_finish(lk);
        return;
    }
    /* The chain left this answer (e.g. an authoritative server out of its zone): ask again. */
    free(lk->current);
    lk->current = util_xstrdup(cur);
    dns_lookup_send(lk);
}

/* Called by the resolver once per query (possibly synchronously from resolver_query). */
static void dns_lookup_answer_cb(void *arg, int status, const unsigned char *abuf, int alen)
{
    struct dns_lookup_ctx *lk = arg;
    int rcode = -1;

    if (lk->state != DNS_LOOKUP_STATE_QUERYING) return;
    if (status != ARES_SUCCESS || abuf == NULL) {
        const char *reason = dns_lookup_status_reason(status, &rcode);
        /* resolver_free() runs ares_destroy: deliver now, the loop may not turn again. */
        if (status == ARES_EDESTRUCTION && !lk->in_start) lk->deliver_now = true;
        lk->res.rcode = rcode;
        lk->res.ad = false;
        dns_lookup_fail(lk, reason);
        return;
    }
    dns_lookup_process(lk, abuf, alen);
}

static void dns_lookup_send(struct dns_lookup_ctx *lk)
{
    lk->nqueries++;
    resolver_query(lk->resolver, dns_lookup_current(lk), lk->qtype, dns_lookup_answer_cb, lk);
}

void dns_lookup(struct event_base *base, struct resolver *r, const char *name, uint16_t qtype,
                dns_lookup_cb cb, void *arg)
{
    struct dns_lookup_ctx *lk = util_xcalloc(1, sizeof(*lk));

    lk->base = base;
    lk->resolver = r;
    lk->qtype = qtype;
    lk->state = DNS_LOOKUP_STATE_QUERYING;
    lk->cb = cb;
    lk->arg = arg;
    lk->res.rcode = -1;
    lk->res.status = DNS_LOOKUP_ERROR;
    if (name == NULL || !util_strlcpy(lk->res.qname, name, sizeof(lk->res.qname))) {
        dns_lookup_fail(lk, "query name too long");
        return;
    }
    /* Keep the stored name without a trailing dot, as the header promises. */
    size_t n = strlen(lk->res.qname);
    if (n > 1 && lk->res.qname[n - 1] == '.') lk->res.qname[n - 1] = '\0';
    lk->in_start = true;
    dns_lookup_send(lk);
    lk->in_start = false;
}
