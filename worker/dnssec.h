/*
 * DNSSEC policy of a perspective that must validate (the primary, or "dnssec": "required"):
 * an answer counts only when the validating resolver set AD, or when the zone is proven
 * Insecure (RFC 4035 §4.3): walking up from the name, the first DS answer the resolver
 * authenticated (AD=1) is a denial (NODATA) at a zone cut (the name has its own SOA).
 * Bogus data reaches us as SERVFAIL and is never permission.
 */
#ifndef MPIC_DNSSEC_H
#define MPIC_DNSSEC_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

struct resolver;

#define DNSSEC_TYPE_SOA 6
#define DNSSEC_TYPE_DS 43
#define DNSSEC_MAX_QUERIES 24 /* DS and SOA queries one proof may send */
#define DNSSEC_SHUTDOWN "resolver shut down" /* detail when delivered from resolver_free() */

enum dnssec_status {
    DNSSEC_UNCHECKED = 0, /* nobody required validation (AD reported only) */
    DNSSEC_SECURE = 1,    /* AD set on every answer */
    DNSSEC_INSECURE = 2,  /* AD clear, the zone proven Insecure */
    DNSSEC_UNPROVEN = 3,  /* AD clear and no proof: the answer must not be used */
};

/** One DS answer as the proof sees it (rcode -1: no answer at all). */
struct dnssec_ds_answer {
    int rcode;
    bool ad;
    bool tc;
    bool has_ds; /* a DS RR owned by the asked name is in the answer section */
};

enum dnssec_step {
    DNSSEC_STEP_PARENT = 0, /* not authenticated (or failed): ask one label up */
    DNSSEC_STEP_CUT = 1,    /* authenticated denial: Insecure if the name is a zone cut */
    DNSSEC_STEP_FAIL = 2,   /* authenticated DS (signed zone) or authenticated NXDOMAIN */
};

/** Decides what one DS answer means for the proof walk (pure; unit-tested). */
enum dnssec_step dnssec_ds_step(const struct dnssec_ds_answer *a);
/** The parent of name ("a.b.c" -> "b.c"); NULL for a single label or the root. */
const char *dnssec_parent(const char *name);
const char *dnssec_status_name(enum dnssec_status s);

/**
 * Called exactly once per dnssec_prove_insecure(), never synchronously except from inside
 * resolver_free() (detail DNSSEC_SHUTDOWN). insecure is true when the proof holds; detail
 * names the delegation point or why the proof failed.
 */
typedef void (*dnssec_proof_cb)(void *arg, bool insecure, const char *detail);

/** Proves `name` Insecure through the (validating) resolver r; see the file comment. */
void dnssec_prove_insecure(struct event_base *base, struct resolver *r, const char *name,
                           dnssec_proof_cb cb, void *arg);

#endif
