/*
 * website-change check: reads and re-checks its parameters (the coordinator already did; the
 * worker never trusts a job blindly), builds the URL, lets http_walk fetch it, and judges the
 * final response (2xx, substring, optional regex).
 */
#include "website_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_walk.h"
#include "pkipath.h"
#include "util.h"

#define WEBSITE_METHOD "website-change"
#define WEBSITE_ERR_MISMATCH "mpic_error:dcv_checker:mismatch"
#define WEBSITE_ERR_PARAM "mpic_error:dcv_checker:parameter"

/* One check: lives from website_check_start() until the walk has called back. */
struct website {
    const struct check_env *env;
    check_done_cb cb;
    void *arg;
    char *challenge;
    size_t challenge_len;
    bool exact_case;
    bool have_regex;
    regex_t re;
};

/* ---------------------------------------------------------------- pure rule functions ---- */

int website_build_url(const char *scheme, const char *target, const char *path, char *out,
                      size_t outlen, char *err, size_t errlen)
{
    char origin[300];
    char why[200];
    int n;

    if (path == NULL || pkipath_check_path(path, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "http_token_path %s", path == NULL ? "is missing" : why);
        return -1;
    }
    if (http_walk_origin(scheme, target, origin, sizeof(origin), err, errlen) != 0) return -1;
    n = snprintf(out, outlen, "%s/.well-known/pki-validation/%s", origin, path);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    return 0;
}

size_t website_body_prefix(size_t challenge_len, size_t regex_len)
{
    size_t want = challenge_len + regex_len + 256;

    return want > WEBSITE_MIN_BODY_PREFIX ? want : WEBSITE_MIN_BODY_PREFIX;
}

static bool website_is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

static unsigned char website_fold(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static bool website_contains(const unsigned char *hay, size_t n, const char *needle, size_t m,
                             bool exact_case)
{
    const unsigned char *nd = (const unsigned char *)needle;

    if (m == 0) return true;
    if (m > n) return false;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        if (exact_case) {
            if (memcmp(hay + i, nd, m) == 0) return true;
            continue;
        }
        while (j < m && website_fold(hay[i + j]) == website_fold(nd[j])) j++;
        if (j == m) return true;
    }
    return false;
}

enum website_verdict website_body_match(const unsigned char *body, size_t len,
                                        const char *challenge, size_t clen, bool exact_case,
                                        const regex_t *re)
{
    regmatch_t m;
    char *copy;
    int rc;

    while (len > 0 && website_is_space(body[0])) {
        body++;
        len--;
    }
    while (len > 0 && website_is_space(body[len - 1])) len--;
    if (!website_contains(body, len, challenge, clen, exact_case)) return WEBSITE_NO_VALUE;
    if (re == NULL) return WEBSITE_MATCH;
    /* REG_STARTEND bounds the match to [0, len) (embedded NUL bytes included); the copy adds
     * a terminator anyway, for regexec implementations and interceptors that call strlen */
    copy = util_xmalloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    m.rm_so = 0;
    m.rm_eo = (regoff_t)len;
    rc = regexec(re, copy, 1, &m, REG_STARTEND);
    free(copy);
    return rc == 0 ? WEBSITE_MATCH : WEBSITE_NO_REGEX;
}

/* ----------------------------------------------------------------------- the check ---- */

static void website_free(struct website *w)
{
    if (w->have_regex) regfree(&w->re);
    free(w->challenge);
    free(w);
}

/* called by http_walk once with the final response or the failure */
static void website_walk_done(void *arg, const struct http_walk_result *r)
{
    struct website *w = arg;
    struct check_result res;

    memset(&res, 0, sizeof(res));
    res.details = r->details;
    res.completed = true;
    if (r->outcome == HTTP_WALK_FAILED) {
        res.completed = r->completed;
        check_result_add_error(&res, r->error_type, "%s", r->message);
    } else if (r->status < 200 || r->status > 299) {
        check_result_add_error_at(&res, w->env, HTTP_WALK_ERR_HTTP,
                                  "An HTTP error occurred: Response status %ld from %s (%s)",
                                  r->status, r->url, r->ip);
    } else {
        enum website_verdict v =
            website_body_match(r->body, r->body_len, w->challenge, w->challenge_len, w->exact_case,
                               w->have_regex ? &w->re : NULL);
        if (v == WEBSITE_NO_VALUE) {
            check_result_add_error_at(
                &res, w->env, WEBSITE_ERR_MISMATCH,
                "The challenge value was not found in the first %zu bytes of the "
                "page at %s (%s)%s",
                r->body_len, r->url, r->ip, w->exact_case ? "" : " (case-insensitive)");
        } else if (v == WEBSITE_NO_REGEX) {
            check_result_add_error_at(
                &res, w->env, WEBSITE_ERR_MISMATCH,
                "The page at %s (%s) holds the challenge value but does not match "
                "match_regex",
                r->url, r->ip);
        } else {
            res.passed = true;
        }
    }
    res.timestamp_ns = clock_real_ns();
    w->cb(w->arg, &res);
    website_free(w);
}

/* Reads the job's parameters into w and builds the URL; -1 with err on a bad job. */
static int website_take_params(struct website *w, const struct check_request *req, char *url,
                               size_t urllen, size_t *regex_len, char *err, size_t errlen)
{
    const json_t *p = req->params;
    const json_t *cv = json_object_get(p, "challenge_value");
    const json_t *path = json_object_get(p, "http_token_path");
    const json_t *scheme = json_object_get(p, "url_scheme");
    const json_t *re = json_object_get(p, "match_regex");
    const json_t *exact = json_object_get(p, "require_exact_case");
    char why[200];

    if (!json_is_string(cv) || json_string_length(cv) > WEBSITE_MAX_CHALLENGE ||
        json_string_length(cv) != strlen(json_string_value(cv))) {
        snprintf(err, errlen, "challenge_value must be a string of at most %d bytes",
                 WEBSITE_MAX_CHALLENGE);
        return -1;
    }
    if (!json_is_string(path)) {
        snprintf(err, errlen, "http_token_path must be a string");
        return -1;
    }
    if (scheme != NULL && !json_is_null(scheme) && !json_is_string(scheme)) {
        snprintf(err, errlen, "url_scheme must be \"http\" or \"https\"");
        return -1;
    }
    if (exact != NULL && !json_is_null(exact) && !json_is_boolean(exact)) {
        snprintf(err, errlen, "require_exact_case must be a boolean");
        return -1;
    }
    w->exact_case = exact == NULL || json_is_null(exact) || json_is_true(exact);
    w->challenge_len = json_string_length(cv);
    w->challenge = util_xstrdup(json_string_value(cv));
    *regex_len = 0;
    if (re != NULL && !json_is_null(re)) {
        if (!json_is_string(re) || pkipath_check_regex(json_string_value(re), why,
                                                       sizeof(why)) != 0) {
            snprintf(err, errlen, "match_regex %s",
                     json_is_string(re) ? why : "must be a string");
            return -1;
        }
        if (regcomp(&w->re, json_string_value(re), REG_EXTENDED | REG_NOSUB) != 0) {
            snprintf(err, errlen, "match_regex does not compile");
            return -1;
        }
        w->have_regex = true;
        *regex_len = json_string_length(re);
    }
    if (w->challenge_len == 0 && !w->have_regex) {
        snprintf(err, errlen, "challenge_value may be empty only with match_regex");
        return -1;
    }
    return website_build_url(json_is_string(scheme) ? json_string_value(scheme) : "http",
                             req->target, json_string_value(path), url, urllen, err, errlen);
}

void website_check_start(const struct check_env *env, const struct check_request *req,
                         check_done_cb cb, void *arg)
{
    struct website *w = util_xcalloc(1, sizeof(*w));
    struct http_walk_opts o;
    char url[HTTP_WALK_MAX_URL];
    char **headers = NULL;
    size_t regex_len = 0;
    char err[300];

    w->env = env;
    w->cb = cb;
    w->arg = arg;
    if (website_take_params(w, req, url, sizeof(url), &regex_len, err, sizeof(err)) != 0 ||
        http_walk_headers(json_object_get(req->params, "http_headers"), &headers, err,
                          sizeof(err)) != 0) {
        goto param_fail;
    }
    memset(&o, 0, sizeof(o));
    o.method = WEBSITE_METHOD;
    o.url = url;
    o.headers = (const char *const *)headers;
    o.max_body = website_body_prefix(w->challenge_len, regex_len);
    o.max_redirects = WEBSITE_MAX_REDIRECTS;
    o.budget_ms = http_walk_budget_ms(env, req->deadline_ms);
    http_walk_start(env, &o, website_walk_done, w);
    http_walk_headers_free(headers);
    return;

param_fail:
    http_walk_param_fail(env, req, WEBSITE_METHOD, WEBSITE_ERR_PARAM, err, cb, arg);
    website_free(w);
}
