/*
 * Security configuration: the `seal` section (per-perspective sealing key files, rotation)
 * and `coordinator.api_auth` (hashed API keys, which routes need them). Parsed by config.c
 * into struct secconf; secconf_load() then checks permissions, reads the key files a process
 * needs into its keyring and refuses half-configured sealing.
 */
#ifndef MPIC_SECCONF_H
#define MPIC_SECCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perspective.h"
#include "seal.h"

#define SECCONF_MAX_API_KEYS 32
#define SECCONF_PATH_MAX 256

enum secconf_route {
    SECCONF_ROUTE_MPIC = 1 << 0,    /* /mpic and everything below it */
    SECCONF_ROUTE_HEALTHZ = 1 << 1, /* /healthz */
    SECCONF_ROUTE_METRICS = 1 << 2, /* /metrics */
    SECCONF_ROUTE_ALL = 7,
};

struct secconf_seal_key {
    char perspective[PERSPECTIVE_CODE_MAX];
    uint32_t id;
    char file[SECCONF_PATH_MAX];
    bool open_only;
};

struct secconf_api_key {
    char name[64];
    unsigned char sha256[32]; /* SHA-256 of the key as the client sends it */
    unsigned routes;          /* enum secconf_route bits this key may use */
};

struct secconf {
    bool seal_required; /* refuse to start without keys */
    struct secconf_seal_key seal_keys[SEAL_MAX_KEYS];
    int nseal_keys;
    struct seal_keyring keyring; /* filled by secconf_load */

    struct secconf_api_key api_keys[SECCONF_MAX_API_KEYS];
    int napi_keys;
    bool auth_healthz; /* /healthz needs a key (when api keys are configured) */
    bool auth_metrics; /* /metrics needs a key (when api keys are configured) */

    char redis_password_file[SECCONF_PATH_MAX]; /* read into redis.password by secconf_load */
};

/** Parses the top-level "seal" object. 0, or -1 with a message naming the key. */
int secconf_parse_seal(struct secconf *sc, const json_t *v, char *err, size_t errlen);
/** Parses "coordinator.api_auth". */
int secconf_parse_api_auth(struct secconf *sc, const json_t *v, char *err, size_t errlen);
/** "mpic" / "healthz" / "metrics" -> route bit, 0 when unknown. */
unsigned secconf_route_parse(const char *s);

/**
 * Checks the seal keys against the perspectives and loads the ones this process needs: every
 * key for a coordinator (self == NULL), only self's keys for a worker. With keys configured,
 * every perspective (coordinator) or self (worker) needs a key that seals. Also reads
 * redis_password_file (same permission rules) into password (passlen bytes).
 */
int secconf_load(struct secconf *sc, const struct perspective *ps, int nps, const char *self,
                 char *password, size_t passlen, char *err, size_t errlen);

#endif
