/*
 * Insecurity proof (see dnssec.h): a chain of raw DS queries up the name, then one SOA query
 * at the first authenticated DS denial to confirm it is a zone cut. Every resolver answer is
 * parsed with dns_msg; the result is delivered from the event loop.
 */
#include "dnssec.h"

#include <ares.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"
#include "log.h"
#include "resolver.h"
#include "util.h"

/** Lifecycle of one proof. */
enum dnssec_proof_state {
    DNSSEC_PROOF_DS = 0,  /* a DS query for `current` is outstanding */
    DNSSEC_PROOF_SOA,     /* the SOA query confirming the cut at `current` is outstanding */
    DNSSEC_PROOF_DONE,    /* delivery scheduled */
};

struct dnssec_proof {
    struct event_base *base;
    struct resolver *resolver;
    enum dnssec_proof_state state;
    char current[DNS_MSG_NAME_MAX];
    int nqueries;
    bool insecure;
    char detail[300];
    dnssec_proof_cb cb;
    void *arg;
};

enum dnssec_step dnssec_ds_step(const struct dnssec_ds_answer *a)
{
    if (a->rcode < 0 || a->tc) return DNSSEC_STEP_PARENT;
    if (a->rcode != DNS_MSG_RCODE_NOERROR && a->rcode != DNS_MSG_RCODE_NXDOMAIN)
        return DNSSEC_STEP_PARENT; /* SERVFAIL below a broken or bogus cut: decide higher up */
    if (!a->ad) return DNSSEC_STEP_PARENT; /* answered from an unsigned zone */
    if (a->has_ds) return DNSSEC_STEP_FAIL; /* signed delegation: the zone is not Insecure */
    if (a->rcode == DNS_MSG_RCODE_NXDOMAIN) return DNSSEC_STEP_FAIL; /* in a signed zone */
    return DNSSEC_STEP_CUT;
}

const char *dnssec_parent(const char *name)
{
    const char *dot = name != NULL ? strchr(name, '.') : NULL;

    if (dot == NULL || dot[1] == '\0') return NULL;
    return dot + 1;
}

const char *dnssec_status_name(enum dnssec_status s)
{
    switch (s) {
    case DNSSEC_UNCHECKED: return "unchecked";
    case DNSSEC_SECURE: return "secure";
    case DNSSEC_INSECURE: return "insecure";
    case DNSSEC_UNPROVEN: return "unproven";
    }
    return "unknown";
}

/* Called by libevent one loop turn after the proof ended. */
static void dnssec_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dnssec_proof *p = arg;

    p->cb(p->arg, p->insecure, p->detail);
    free(p);
}

static void dnssec_finish(struct dnssec_proof *p, bool insecure, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dnssec_finish(struct dnssec_proof *p, bool insecure, const char *fmt, ...)
{
    struct timeval zero = {0, 0};
    va_list ap;

    p->state = DNSSEC_PROOF_DONE;
    p->insecure = insecure;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
    if (event_base_once(p->base, -1, EV_TIMEOUT, dnssec_deliver_cb, p, &zero) != 0) {
        log_error("dnssec: event_base_once failed, delivering directly");
        dnssec_deliver_cb(-1, 0, p);
    }
}

static void dnssec_send(struct dnssec_proof *p, uint16_t qtype);

/* True when the answer section holds an RR of `type` owned by `owner`. */
static bool dnssec_has_rr(const struct dns_msg *msg, const char *owner, uint16_t type)
{
    struct dns_msg_iter it;
    struct dns_msg_rr rr;

    dns_msg_answers(msg, &it);
    while (dns_msg_next(&it, &rr) == 1) {
        if (rr.type == type && rr.rclass == 1 && dns_msg_name_equal(rr.owner, owner)) return true;
    }
    return false;
}

static void dnssec_on_ds(struct dnssec_proof *p, int status, const struct dns_msg *msg)
{
    struct dnssec_ds_answer a;
    const char *parent;

    memset(&a, 0, sizeof(a));
    a.rcode = msg != NULL && status == 0 ? dns_msg_rcode(msg) : -1;
    if (msg != NULL) {
        a.ad = dns_msg_ad(msg);
        a.tc = dns_msg_tc(msg);
        a.has_ds = dnssec_has_rr(msg, p->current, DNSSEC_TYPE_DS);
    }
    switch (dnssec_ds_step(&a)) {
    case DNSSEC_STEP_FAIL:
        dnssec_finish(p, false, "%s has an authenticated %s, so its zone is signed",
                      p->current, a.has_ds ? "DS record" : "NXDOMAIN");
        return;
    case DNSSEC_STEP_CUT:
        dnssec_send(p, DNSSEC_TYPE_SOA);
        return;
    case DNSSEC_STEP_PARENT:
        break;
    }
    parent = dnssec_parent(p->current);
    if (parent == NULL) {
        dnssec_finish(p, false, "no authenticated DS answer up to %s (is the resolver "
                      "validating?)", p->current);
        return;
    }
    memmove(p->current, parent, strlen(parent) + 1);
    dnssec_send(p, DNSSEC_TYPE_DS);
}

/* Called by the resolver with each DS / SOA answer (possibly synchronously). */
static void dnssec_answer_cb(void *arg, int status, const unsigned char *abuf, int alen)
{
    struct dnssec_proof *p = arg;
    struct dns_msg msg;
    bool parsed = status == ARES_SUCCESS && abuf != NULL && alen > 0 &&
                  dns_msg_parse(&msg, abuf, (size_t)alen) == 0 && dns_msg_qr(&msg);

    if (status == ARES_EDESTRUCTION) { /* resolver_free(): the loop may not turn again */
        p->state = DNSSEC_PROOF_DONE;
        util_strlcpy(p->detail, DNSSEC_SHUTDOWN, sizeof(p->detail));
        dnssec_deliver_cb(-1, 0, p);
        return;
    }

    if (p->state == DNSSEC_PROOF_DS) {
        dnssec_on_ds(p, parsed ? 0 : -1, parsed ? &msg : NULL);
        return;
    }
    if (p->state != DNSSEC_PROOF_SOA) return;
    if (parsed && dns_msg_rcode(&msg) == DNS_MSG_RCODE_NOERROR &&
        dnssec_has_rr(&msg, p->current, DNSSEC_TYPE_SOA)) {
        dnssec_finish(p, true, "insecure delegation at %s (authenticated denial of DS)",
                      p->current);
        return;
    }
    dnssec_finish(p, false, "%s has an authenticated denial of DS but is not a zone cut "
                  "(no SOA)", p->current);
}

static void dnssec_send(struct dnssec_proof *p, uint16_t qtype)
{
    if (++p->nqueries > DNSSEC_MAX_QUERIES) {
        dnssec_finish(p, false, "proof needs more than %d queries (stopped at %s)",
                      DNSSEC_MAX_QUERIES, p->current);
        return;
    }
    p->state = qtype == DNSSEC_TYPE_DS ? DNSSEC_PROOF_DS : DNSSEC_PROOF_SOA;
    resolver_query(p->resolver, p->current, qtype, dnssec_answer_cb, p);
}

void dnssec_prove_insecure(struct event_base *base, struct resolver *r, const char *name,
                           dnssec_proof_cb cb, void *arg)
{
    struct dnssec_proof *p = util_xcalloc(1, sizeof(*p));
    size_t n;

    p->base = base;
    p->resolver = r;
    p->cb = cb;
    p->arg = arg;
    if (name == NULL || name[0] == '\0' || !util_strlcpy(p->current, name, sizeof(p->current))) {
        dnssec_finish(p, false, "invalid name");
        return;
    }
    n = strlen(p->current);
    if (n > 1 && p->current[n - 1] == '.') p->current[n - 1] = '\0';
    dnssec_send(p, DNSSEC_TYPE_DS);
}
