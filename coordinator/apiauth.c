/*
 * API key checks (see apiauth.h). The presented key is hashed once; the hash is compared
 * with every configured hash without an early exit, so timing does not tell which key (or
 * how much of one) matched.
 */
#include "apiauth.h"

#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "log.h"
#include "response.h"

#define APIAUTH_KEY_MAX 512 /* longest key accepted from a header */

static bool apiauth_route_protected(const struct secconf *sc, enum secconf_route route)
{
    if (sc->napi_keys == 0) return false;
    if (route == SECCONF_ROUTE_HEALTHZ) return sc->auth_healthz;
    if (route == SECCONF_ROUTE_METRICS) return sc->auth_metrics;
    return true;
}

enum apiauth_verdict apiauth_judge(const struct secconf *sc, enum secconf_route route,
                                   const char *authorization, const char *x_api_key,
                                   const char **name)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const char *key = NULL;
    int match = -1;

    *name = NULL;
    if (!apiauth_route_protected(sc, route)) return APIAUTH_OPEN;
    if (authorization != NULL) {
        if (strncasecmp(authorization, "Bearer ", 7) != 0) return APIAUTH_INVALID;
        key = authorization + 7;
        while (*key == ' ') key++;
    } else if (x_api_key != NULL) {
        key = x_api_key;
    } else {
        return APIAUTH_MISSING;
    }
    if (*key == '\0' || strlen(key) > APIAUTH_KEY_MAX) return APIAUTH_INVALID;
    SHA256((const unsigned char *)key, strlen(key), digest);
    for (int i = 0; i < sc->napi_keys; i++) {
        bool same = CRYPTO_memcmp(digest, sc->api_keys[i].sha256, sizeof(digest)) == 0;
        if (same && match < 0) match = i;
    }
    OPENSSL_cleanse(digest, sizeof(digest));
    if (match < 0) return APIAUTH_INVALID;
    *name = sc->api_keys[match].name;
    return (sc->api_keys[match].routes & (unsigned)route) ? APIAUTH_ALLOWED : APIAUTH_FORBIDDEN;
}

bool apiauth_check(const struct secconf *sc, struct evhttp_request *req,
                   enum secconf_route route)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *name = NULL;
    enum apiauth_verdict v = apiauth_judge(sc, route, evhttp_find_header(in, "Authorization"),
                                           evhttp_find_header(in, "x-api-key"), &name);

    switch (v) {
    case APIAUTH_OPEN:
    case APIAUTH_ALLOWED:
        return true;
    case APIAUTH_MISSING:
        evhttp_add_header(out, "WWW-Authenticate", "Bearer realm=\"mpic\"");
        httpd_send_json(req, 401, response_error("unauthorized",
                                                 "an API key is required: send "
                                                 "\"Authorization: Bearer <key>\" or "
                                                 "\"x-api-key: <key>\""));
        return false;
    case APIAUTH_INVALID:
        log_info("api: rejected an invalid API key for %s", evhttp_request_get_uri(req));
        evhttp_add_header(out, "WWW-Authenticate",
                          "Bearer realm=\"mpic\", error=\"invalid_token\"");
        httpd_send_json(req, 401, response_error("unauthorized", "the API key is not valid"));
        return false;
    case APIAUTH_FORBIDDEN:
        httpd_send_json(req, 403, response_error("forbidden",
                                                 "this API key may not use this route"));
        return false;
    }
    return false;
}
