/*
 * ACME http-01 validation (BR §3.2.2.4.19, RFC 8555 §8.3) from one perspective: fetch
 * http://<target>/.well-known/acme-challenge/<token> (a name, or an IPv4/IPv6 literal per
 * RFC 8738) through http_walk (the perspective's own resolver, redirects followed by hand under
 * Boulder's rules, each hop re-resolved and address-filtered), require status 200 and compare
 * the trimmed body with the key authorization. The pure rule functions used by
 * the check are exposed for unit tests.
 */
#ifndef MPIC_HTTP01_CHECK_H
#define MPIC_HTTP01_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "check.h"

#define HTTP01_MAX_REDIRECTS 10  /* redirects followed at most (Boulder maxRedirect) */
#define HTTP01_MIN_BODY_LIMIT 256

/** Starts an acme-http-01 check; cb runs exactly once, never from inside this call. */
void http01_check_start(const struct check_env *env, const struct check_request *req,
                        check_done_cb cb, void *arg);

/**
 * Builds the challenge URL for a target (a host name, or an IPv4/IPv6 literal which gets
 * brackets) and a token (base64url alphabet only). Returns 0, or -1 with a reason in err.
 */
int http01_build_url(const char *target, const char *token, char *out, size_t outlen,
                     char *err, size_t errlen);

/** Body bytes kept: max(HTTP01_MIN_BODY_LIMIT, key_authorization_len + 64). */
size_t http01_body_limit(size_t key_authorization_len);

enum http01_body_verdict {
    HTTP01_BODY_MATCH = 0,     /* trimmed body equals the key authorization */
    HTTP01_BODY_MISMATCH = 1,  /* it does not */
    HTTP01_BODY_TOO_LARGE = 2, /* more than http01_body_limit() bytes were sent */
};

/**
 * Compares a response body with the key authorization: trailing ASCII whitespace of the body
 * is ignored, nothing else; comparison is exact (case-sensitive, byte-wise). too_large means
 * the transfer was cut at the limit.
 */
enum http01_body_verdict http01_body_check(const unsigned char *body, size_t body_len,
                                           bool too_large, const char *key_authorization,
                                           size_t key_authorization_len);

#endif
