/*
 * website-change validation (BR 3.2.2.4.18, Agreed-Upon Change to Website v2) from one
 * perspective: fetch {http|https}://<target>/.well-known/pki-validation/<http_token_path>
 * through http_walk, require a 2xx final status, and look for challenge_value in the stripped
 * body prefix (optionally case-insensitive) and, if given, a POSIX ERE match_regex. The pure
 * rule functions are exposed for unit tests.
 */
#ifndef MPIC_WEBSITE_CHECK_H
#define MPIC_WEBSITE_CHECK_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "check.h"

#define WEBSITE_MAX_REDIRECTS 20     /* as Open MPIC (aiohttp max_redirects=20) */
#define WEBSITE_MIN_BODY_PREFIX 1024 /* body bytes read at least */
#define WEBSITE_MAX_CHALLENGE 1024   /* challenge_value bytes */

/** Starts a website-change check; cb runs exactly once, never from inside this call. */
void website_check_start(const struct check_env *env, const struct check_request *req,
                         check_done_cb cb, void *arg);

/** Builds "<scheme>://<host>/.well-known/pki-validation/<path>" (IPv6 bracketed); the path
 * must pass pkipath_check_path(). Returns 0, or -1 with the reason in err. */
int website_build_url(const char *scheme, const char *target, const char *path, char *out,
                      size_t outlen, char *err, size_t errlen);

/** Body bytes read: max(WEBSITE_MIN_BODY_PREFIX, challenge_len + regex_len + 256). */
size_t website_body_prefix(size_t challenge_len, size_t regex_len);

enum website_verdict {
    WEBSITE_MATCH = 0,       /* challenge_value found (and the regex matched, if any) */
    WEBSITE_NO_VALUE = 1,    /* challenge_value is not in the body */
    WEBSITE_NO_REGEX = 2,    /* challenge_value found, but the regex does not match */
};

/**
 * Judges a body prefix: leading and trailing ASCII whitespace is stripped, then challenge
 * (clen bytes; "" matches anything) must be a substring, compared byte-wise, or with ASCII
 * case folding when !exact_case; then re (NULL: none, compiled REG_EXTENDED) must match
 * somewhere in the stripped body (case-sensitive, embedded NUL bytes allowed).
 */
enum website_verdict website_body_match(const unsigned char *body, size_t len,
                                        const char *challenge, size_t clen, bool exact_case,
                                        const regex_t *re);

#endif
