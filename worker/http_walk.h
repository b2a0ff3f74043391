/*
 * One HTTP DCV fetch with redirects followed by hand under the BR 3.2.2.4.18/.19 rules, shared
 * by acme-http-01 and website-change: every hop is resolved with the perspective's own
 * resolver (or is an IP literal), special-purpose addresses are refused, the hop is fetched
 * pinned to one IP (IPv6 first, IPv4 on a connect failure), and a valid 3xx starts the next
 * hop. The caller gets the final non-redirect response, or a failure already typed and worded
 * in the Open MPIC style (URL, IP contacted and perspective named).
 */
#ifndef MPIC_HTTP_WALK_H
#define MPIC_HTTP_WALK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

#define HTTP_WALK_MAX_URL 4096        /* longest URL (and raw Location value) accepted */
#define HTTP_WALK_MAX_PATH 2000       /* longest redirect path (Boulder maxPathSize) */
#define HTTP_WALK_REDIRECT_CAP 20     /* largest max_redirects a caller may ask for */
#define HTTP_WALK_MAX_HEADERS 32      /* params.http_headers entries */
#define HTTP_WALK_MAX_HEADER_BYTES 8192 /* params.http_headers total "Name: value" bytes */

#define HTTP_WALK_ERR_HTTP "mpic_error:http"
#define HTTP_WALK_ERR_REDIRECT "mpic_error:redirect:invalid"
#define HTTP_WALK_ERR_LOOKUP "mpic_error:dcv_checker:lookup"

struct http_walk_opts {
    const char *method;          /* validation_method written into the details object */
    const char *url;             /* absolute http:// or https:// URL of the first hop */
    const char *const *headers;  /* NULL or NULL-terminated "Name: value" lines (copied) */
    size_t max_body;             /* body bytes kept per hop (more: body_too_large) */
    int max_redirects;           /* 0..HTTP_WALK_REDIRECT_CAP */
    int64_t budget_ms;           /* time for the whole walk (> 0) */
};

enum http_walk_outcome {
    HTTP_WALK_RESPONSE = 0, /* a final (non-redirect) response arrived */
    HTTP_WALK_FAILED = 1,   /* resolver, transport, address or redirect failure */
};

struct http_walk_result {
    enum http_walk_outcome outcome;
    /* HTTP_WALK_FAILED */
    bool completed;         /* the failure is a definitive answer (bad redirect, NXDOMAIN) */
    const char *error_type; /* HTTP_WALK_ERR_* */
    const char *message;    /* names the URL, the IP contacted and the perspective */
    /* HTTP_WALK_RESPONSE */
    long status;
    const unsigned char *body; /* at most max_body bytes, never NULL */
    size_t body_len;
    bool body_too_large;    /* more than max_body bytes were sent (body is the prefix) */
    /* both */
    const char *url;        /* URL of the last hop */
    const char *ip;         /* address of the last hop's fetch, "" when none was made */
    json_t *details;        /* HTTP details object {validation_method, response_history,
                               response_url, response_status_code, response_page}; a new
                               reference the callback owns */
};

/** The time a walk may take: until the job deadline, capped by env->http_timeout_ms. */
int64_t http_walk_budget_ms(const struct check_env *env, int64_t deadline_ms);

/**
 * Finishes a check whose job parameters are unusable, one loop turn later (check contract):
 * check_completed false, error_type "Invalid <method> parameters for <target>: <err>" with
 * the perspective, and the HTTP details object of method with null values.
 */
void http_walk_param_fail(const struct check_env *env, const struct check_request *req,
                          const char *method, const char *error_type, const char *err,
                          check_done_cb cb, void *arg);

/** Called exactly once per http_walk_start(), never from inside it; *r (but not r->details,
 * which the callee owns) is valid during the call only. */
typedef void (*http_walk_cb)(void *arg, const struct http_walk_result *r);

/** Starts a walk; it frees itself after the callback once its last operation returned. */
void http_walk_start(const struct check_env *env, const struct http_walk_opts *opts,
                     http_walk_cb cb, void *arg);

/**
 * Applies the redirect rules to one 3xx response: status in {301, 302, 307, 308}; Location
 * resolved against current_url (relative forms allowed); scheme http or https; non-empty
 * host without userinfo or IPv6 zone; host not ending in ".well-known"; explicit port only
 * 80 or 443; path at most HTTP_WALK_MAX_PATH bytes; whole URL shorter than HTTP_WALK_MAX_URL.
 * The fragment is dropped. On success writes the absolute next URL and returns 0; otherwise
 * returns -1 with the reason in err. (Redirect count and loop checks are the walk's.)
 */
int http_walk_redirect_check(const char *current_url, long status, const char *location,
                             char *next_url, size_t len, char *err, size_t errlen);

/** Writes "http://host" / "http://[v6]" for a normalized target (name, IPv4 or IPv6 literal)
 * and scheme ("http" or "https"). Returns 0, or -1 with a reason in err. */
int http_walk_origin(const char *scheme, const char *target, char *out, size_t outlen,
                     char *err, size_t errlen);

/**
 * Turns params.http_headers (absent, null, or an object of strings) into a NULL-terminated
 * array of "Name: value" lines in *out (NULL when there are none). Names must be HTTP tokens
 * other than Host, Content-Length and Transfer-Encoding; values without CR/LF; at most
 * HTTP_WALK_MAX_HEADERS entries and HTTP_WALK_MAX_HEADER_BYTES bytes. Returns 0 or -1 with
 * err (and *out NULL).
 */
int http_walk_headers(const json_t *obj, char ***out, char *err, size_t errlen);
/** Frees what http_walk_headers() returned. */
void http_walk_headers_free(char **lines);

#endif
