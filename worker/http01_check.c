/*
 * acme-http-01 check: builds the challenge URL, hands the fetch (resolution, address filter,
 * redirects, deadline) to http_walk, and judges the final response: status exactly 200 (as
 * Boulder; stricter than the BR's 2xx) and the body, trailing whitespace ignored, equal to the
 * key authorization byte for byte.
 */
#include "http01_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_walk.h"
#include "log.h"
#include "util.h"

#define HTTP01_METHOD "acme-http-01"
#define HTTP01_MAX_TOKEN 256
#define HTTP01_MAX_KEYAUTH 2048

#define HTTP01_ERR_MISMATCH "mpic_error:dcv_checker:mismatch"
#define HTTP01_ERR_PARAM "mpic_error:dcv_checker:parameter"

/* One check: lives from http01_check_start() until the walk has called back. */
struct http01 {
    const struct check_env *env;
    check_done_cb cb;
    void *arg;
    char *key_auth;
    size_t key_auth_len;
    size_t body_limit;
};

/* ---------------------------------------------------------------- pure rule functions ---- */

static bool http01_is_token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

int http01_build_url(const char *target, const char *token, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    char origin[300];
    size_t tlen;
    int n;

    if (target == NULL || token == NULL) {
        snprintf(err, errlen, "missing target or token");
        return -1;
    }
    tlen = strlen(token);
    if (tlen == 0 || tlen > HTTP01_MAX_TOKEN) {
        snprintf(err, errlen, "token must be 1 to %d characters", HTTP01_MAX_TOKEN);
        return -1;
    }
    for (size_t i = 0; i < tlen; i++) {
        if (!http01_is_token_char(token[i])) {
            snprintf(err, errlen, "token contains a character outside the base64url alphabet");
            return -1;
        }
    }
    if (http_walk_origin("http", target, origin, sizeof(origin), err, errlen) != 0) return -1;
    n = snprintf(out, outlen, "%s/.well-known/acme-challenge/%s", origin, token);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "challenge URL too long");
        return -1;
    }
    return 0;
}

size_t http01_body_limit(size_t key_authorization_len)
{
    size_t want = key_authorization_len + 64;

    return want > HTTP01_MIN_BODY_LIMIT ? want : HTTP01_MIN_BODY_LIMIT;
}

enum http01_body_verdict http01_body_check(const unsigned char *body, size_t body_len,
                                           bool too_large, const char *key_authorization,
                                           size_t key_authorization_len)
{
    if (too_large || body_len > http01_body_limit(key_authorization_len)) {
        return HTTP01_BODY_TOO_LARGE;
    }
    while (body_len > 0) {
        unsigned char ch = body[body_len - 1];
        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n' && ch != '\v' && ch != '\f') {
            break;
        }
        body_len--;
    }
    if (body_len != key_authorization_len) return HTTP01_BODY_MISMATCH;
    if (body_len > 0 && memcmp(body, key_authorization, body_len) != 0) {
        return HTTP01_BODY_MISMATCH;
    }
    return HTTP01_BODY_MATCH;
}

/* ----------------------------------------------------------------------- the check ---- */

static void http01_free(struct http01 *h)
{
    free(h->key_auth);
    free(h);
}

/* called by http_walk once with the final response or the failure */
static void http01_walk_done(void *arg, const struct http_walk_result *r)
{
    struct http01 *h = arg;
    struct check_result res;

    memset(&res, 0, sizeof(res));
    res.details = r->details;
    res.completed = true;
    if (r->outcome == HTTP_WALK_FAILED) {
        res.completed = r->completed;
        check_result_add_error(&res, r->error_type, "%s", r->message);
    } else if (r->status != 200) {
        check_result_add_error_at(&res, h->env, HTTP_WALK_ERR_HTTP,
                                  "An HTTP error occurred: Response status %ld from %s (%s)",
                                  r->status, r->url, r->ip);
    } else {
        enum http01_body_verdict v = http01_body_check(r->body, r->body_len, r->body_too_large,
                                                       h->key_auth, h->key_auth_len);
        if (v == HTTP01_BODY_TOO_LARGE) {
            check_result_add_error_at(
                &res, h->env, HTTP01_ERR_MISMATCH,
                "The challenge response body is too large (more than %zu bytes) at %s "
                "(%s)",
                h->body_limit, r->url, r->ip);
        } else if (v == HTTP01_BODY_MISMATCH) {
            check_result_add_error_at(
                &res, h->env, HTTP01_ERR_MISMATCH,
                "The challenge response at %s (%s) does not match the expected key "
                "authorization",
                r->url, r->ip);
        } else {
            res.passed = true;
        }
    }
    res.timestamp_ns = clock_real_ns();
    h->cb(h->arg, &res);
    http01_free(h);
}

void http01_check_start(const struct check_env *env, const struct check_request *req,
                        check_done_cb cb, void *arg)
{
    struct http01 *h = util_xcalloc(1, sizeof(*h));
    struct http_walk_opts o;
    char url[HTTP_WALK_MAX_URL];
    char **headers = NULL;
    const json_t *ka, *tok;
    char err[256];

    h->env = env;
    h->cb = cb;
    h->arg = arg;
    tok = json_object_get(req->params, "token");
    ka = json_object_get(req->params, "key_authorization");
    if (!json_is_string(tok) || !json_is_string(ka)) {
        snprintf(err, sizeof(err), "token and key_authorization must be strings");
        goto param_fail;
    }
    h->key_auth_len = json_string_length(ka);
    if (h->key_auth_len == 0 || h->key_auth_len > HTTP01_MAX_KEYAUTH) {
        snprintf(err, sizeof(err), "key_authorization must be 1 to %d bytes",
                 HTTP01_MAX_KEYAUTH);
        goto param_fail;
    }
    h->key_auth = util_xmalloc(h->key_auth_len + 1);
    memcpy(h->key_auth, json_string_value(ka), h->key_auth_len + 1);
    h->body_limit = http01_body_limit(h->key_auth_len);
    if (http01_build_url(req->target, json_string_value(tok), url, sizeof(url), err,
                         sizeof(err)) != 0 ||
        http_walk_headers(json_object_get(req->params, "http_headers"), &headers, err,
                          sizeof(err)) != 0) {
        goto param_fail;
    }
    memset(&o, 0, sizeof(o));
    o.method = HTTP01_METHOD;
    o.url = url;
    o.headers = (const char *const *)headers;
    o.max_body = h->body_limit;
    o.max_redirects = HTTP01_MAX_REDIRECTS;
    o.budget_ms = http_walk_budget_ms(env, req->deadline_ms);
    http_walk_start(env, &o, http01_walk_done, h);
    http_walk_headers_free(headers);
    return;

param_fail:
    http_walk_param_fail(env, req, HTTP01_METHOD, HTTP01_ERR_PARAM, err, cb, arg);
    http01_free(h);
}
