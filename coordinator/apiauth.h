/*
 * API authentication of the coordinator's HTTP routes: API keys sent as
 * `Authorization: Bearer <key>` or `x-api-key: <key>`, compared by SHA-256 against the
 * configured hashes in constant time (CRYPTO_memcmp over every configured key). No keys
 * configured: every route is open. /healthz and /metrics need a key only when configured so.
 */
#ifndef MPIC_APIAUTH_H
#define MPIC_APIAUTH_H

#include <event2/http.h>
#include <stdbool.h>

#include "secconf.h"

enum apiauth_verdict {
    APIAUTH_OPEN = 0,      /* the route needs no key */
    APIAUTH_ALLOWED = 1,   /* a valid key that may use the route */
    APIAUTH_MISSING = 2,   /* 401: no credentials */
    APIAUTH_INVALID = 3,   /* 401: unknown key or malformed header */
    APIAUTH_FORBIDDEN = 4, /* 403: valid key, route not allowed for it */
};

/** Judges credentials (either header may be NULL) for route; *name gets the key's name. */
enum apiauth_verdict apiauth_judge(const struct secconf *sc, enum secconf_route route,
                                   const char *authorization, const char *x_api_key,
                                   const char **name);

/**
 * Checks req for route. Returns true when the handler may proceed; otherwise it has already
 * answered 401 (with WWW-Authenticate) or 403 with a JSON problem body.
 */
bool apiauth_check(const struct secconf *sc, struct evhttp_request *req,
                   enum secconf_route route);

#endif
