/*
 * Sealed envelopes for the perspective channel (BR 3.2.2.9: authenticated and encrypted):
 * ChaCha20-Poly1305 with a per-perspective 256-bit key, a random 96-bit nonce and a clear
 * header (direction, key id, expiry, attempt, request id, perspective, check type) that is
 * the associated data. A keyring holds every key a process may use; the newest key of a
 * perspective seals, every listed key opens (rotation). docs/security.md has the format.
 */
#ifndef MPIC_SEAL_H
#define MPIC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "perspective.h"

#define SEAL_VERSION 1             /* request id as length + characters */
#define SEAL_VERSION_COMPACT_RID 2 /* request id as the 16 bytes of its 32 hex digits (jobs) */
#define SEAL_RID_RAW_BYTES 16
#define SEAL_KEY_BYTES 32
#define SEAL_NONCE_BYTES 12
#define SEAL_TAG_BYTES 16
#define SEAL_MAGIC "MPSL"
#define SEAL_MAGIC_LEN 4
#define SEAL_MAX_KEYS 128 /* two per perspective at CONFIG_MAX_PERSPECTIVES */
/* largest envelope: the biggest message plus the largest header, nonce and tag */
#define SEAL_MAX_BYTES (MSG_MAX_BYTES + 256)

enum seal_dir {
    SEAL_DIR_JOB = 1,    /* coordinator -> worker */
    SEAL_DIR_RESULT = 2, /* worker -> reducer */
};

/* Outcome of opening an envelope; everything but SEAL_OK is a rejection. */
enum seal_status {
    SEAL_OK = 0,
    SEAL_ERR_MALFORMED = 1,   /* truncated, oversized, bad magic/version/header fields */
    SEAL_ERR_UNSEALED = 2,    /* a plain message where an envelope is required */
    SEAL_ERR_UNKNOWN_KEY = 3, /* no key for (perspective, key id) */
    SEAL_ERR_AUTH = 4,        /* does not open: tampered, wrong key or associated data */
    SEAL_ERR_MISMATCH = 5,    /* opens, but direction/perspective/inner fields disagree */
    SEAL_ERR_EXPIRED = 6,     /* opens, but its expiry has passed */
    SEAL_ERR_REPLAY = 7,      /* opens, but names no open request/attempt (reducer) */
    SEAL_STATUS_COUNT = 8,
};

/* The header fields, carried in clear and authenticated as associated data. */
struct seal_ad {
    uint8_t version;   /* set by seal_seal (jobs with a 32-hex-digit id: 2, else 1) and parsing */
    enum seal_dir dir;
    uint32_t key_id;
    int64_t expiry_ms; /* epoch ms; the envelope is rejected from then on */
    uint32_t attempt;
    enum check_type check_type;
    char rid[MSG_RID_MAX + 1];
    char perspective[PERSPECTIVE_CODE_MAX];
};

struct seal_key {
    char perspective[PERSPECTIVE_CODE_MAX];
    uint32_t id;
    bool open_only; /* rotation stage: opens but never seals */
    unsigned char key[SEAL_KEY_BYTES];
};

struct seal_keyring {
    struct seal_key keys[SEAL_MAX_KEYS];
    int n;
};

/** "ok", "malformed", "unsealed", "unknown-key", "auth", "mismatch", "expired", "replay". */
const char *seal_status_name(enum seal_status st);

/**
 * Reads a key file: 64 hex digits (optionally followed by a newline). Refuses files that are
 * not regular, are group/other accessible (anything beyond 0600/0400), or are owned by
 * another user than the process or root. Returns 0, or -1 with a reason in err.
 */
int seal_key_load_file(const char *path, unsigned char key[SEAL_KEY_BYTES], char *err,
                       size_t errlen);
/** Adds a key; -1 when full or when (perspective, id) is already present. */
int seal_keyring_add(struct seal_keyring *kr, const char *perspective, uint32_t id,
                     const unsigned char key[SEAL_KEY_BYTES], bool open_only);
/** True when the keyring can seal for this perspective (has a key that is not open-only). */
bool seal_keyring_can_seal(const struct seal_keyring *kr, const char *perspective);
/** Wipes every key. */
void seal_keyring_clear(struct seal_keyring *kr);

/**
 * Seals pt for ad->perspective with its newest sealing key (ad->key_id is ignored and set).
 * Returns 0 with a malloc'ed envelope in *out, or -1 (no key, bad field, too large).
 */
int seal_seal(const struct seal_keyring *kr, struct seal_ad *ad, const void *pt, size_t ptlen,
              char **out, size_t *outlen);

/**
 * Parses the clear header only (never trust it before seal_open succeeds). Returns SEAL_OK,
 * SEAL_ERR_UNSEALED (no magic) or SEAL_ERR_MALFORMED.
 */
enum seal_status seal_peek(const void *env, size_t len, struct seal_ad *ad);

/**
 * Opens an envelope: it must be well-formed, of direction dir, for perspective `expect`
 * (NULL: any), sealed with a known key, authentic, and not expired at now_ms. On SEAL_OK the
 * plaintext is malloc'ed into *pt. *ad holds the header whenever it parsed (also on most
 * rejections, so a rejection can be attributed), else ad->rid is empty.
 */
enum seal_status seal_open(const struct seal_keyring *kr, const void *env, size_t len,
                           enum seal_dir dir, const char *expect, int64_t now_ms,
                           struct seal_ad *ad, char **pt, size_t *ptlen);

/** Process-wide rejection counters (read by /metrics and logs). */
void seal_count_reject(enum seal_status st);
uint64_t seal_reject_count(enum seal_status st);

#endif
