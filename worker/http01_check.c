/*
 * acme-http-01 check. One struct http01 per check walks hops: resolve AAAA and A with the
 * perspective's resolver, drop special-purpose addresses, fetch the hop (IPv6 first, IPv4 on
 * a connect failure) pinned with CONNECT_TO, then either follow a valid redirect (a new hop)
 * or judge the final response. A deadline timer bounds the whole check; lookups and fetches
 * cannot be cancelled, so the struct lives until the last of them has called back.
 */
#include "http01_check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dns_lookup.h"
#include "http_client.h"
#include "ipfilter.h"
#include "log.h"
#include "util.h"

#define HTTP01_METHOD "acme-http-01"
#define HTTP01_IP_MAX 64
#define HTTP01_HOST_MAX 256
#define HTTP01_MAX_TOKEN 256
#define HTTP01_MAX_KEYAUTH 2048
#define HTTP01_MSG_MAX 1024

#define HTTP01_ERR_HTTP "mpic_error:http"
#define HTTP01_ERR_REDIRECT "mpic_error:redirect:invalid"
#define HTTP01_ERR_MISMATCH "mpic_error:dcv_checker:mismatch"
#define HTTP01_ERR_LOOKUP "mpic_error:dcv_checker:lookup"
#define HTTP01_ERR_PARAM "mpic_error:dcv_checker:parameter"

enum http01_state {
    HTTP01_RESOLVING = 0, /* AAAA and A lookups of the current hop's host are outstanding */
    HTTP01_FETCHING = 1,  /* one HTTP request to the chosen address is in flight */
    HTTP01_DONE = 2,      /* callback called; waiting for outstanding operations to return */
};

/* What one family's lookup produced for the current hop. */
struct http01_family {
    enum dns_lookup_status status;
    char error[128];             /* resolver error text for DNS_LOOKUP_ERROR */
    char ip[HTTP01_IP_MAX];      /* first usable address, "" when none */
    char special[HTTP01_IP_MAX]; /* first dropped special-purpose address, "" when none */
    const char *special_why;
};

struct http01 {
    const struct check_env *env;
    check_done_cb cb;
    void *arg;
    enum http01_state state;
    int outstanding; /* lookups + fetches that have not called back yet */
    bool in_start;   /* inside http01_check_start(): completion must be deferred */

    char *key_auth;
    size_t key_auth_len;
    size_t body_limit;
    char **headers; /* NULL-terminated "Name: value" lines from params.http_headers */

    char original_url[HTTP01_MAX_URL];
    char url[HTTP01_MAX_URL]; /* current hop */
    char host[HTTP01_HOST_MAX]; /* current hop host, IPv6 without brackets */
    bool host_is_ip;
    bool https;
    int url_port; /* effective port of the URL (80/443); mapped to the lab ports */
    char *visited[HTTP01_MAX_REDIRECTS + 1];
    int nvisited;
    int redirects;

    int dns_pending;
    struct http01_family fam6;
    struct http01_family fam4;
    bool on_v6;            /* the fetch in flight goes to fam6.ip */
    char ip[HTTP01_IP_MAX]; /* address of the fetch in flight / last contacted */

    json_t *history;     /* response_history entries */
    bool got_response;   /* at least one HTTP response arrived (history is meaningful) */
    bool have_status;    /* the current (last) hop produced a response */
    long status;         /* that response's status */
    char *page;          /* base64 of that response's body (NULL when none) */

    int64_t end_mono;
    struct event *deadline_ev;
    struct check_result res;
};

static void http01_start_hop(struct http01 *h);

/* ---------------------------------------------------------------- pure rule functions ---- */

static bool http01_is_token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* Host names we are willing to resolve: ASCII letters, digits, '-', '_' and dots. */
static bool http01_is_hostname(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253 || s[0] == '.' || strstr(s, "..") != NULL) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(http01_is_token_char(ch) || ch == '.')) return false;
    }
    return true;
}

int http01_build_url(const char *target, const char *token, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    unsigned char raw[16];
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
    if (inet_pton(AF_INET6, target, raw) == 1) {
        n = snprintf(out, outlen, "http://[%s]/.well-known/acme-challenge/%s", target, token);
    } else if (inet_pton(AF_INET, target, raw) == 1 || http01_is_hostname(target)) {
        n = snprintf(out, outlen, "http://%s/.well-known/acme-challenge/%s", target, token);
    } else {
        snprintf(err, errlen, "target is neither a host name nor an IP address");
        return -1;
    }
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "challenge URL too long");
        return -1;
    }
    return 0;
}

static bool http01_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int http01_redirect_check(const char *current_url, long status, const char *location,
                          char *next_url, size_t len, char *err, size_t errlen)
{
    CURLU *u = NULL;
    CURLUcode uc;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
    char *zone = NULL, *path = NULL, *full = NULL;
    int ret = -1;

    if (status != 301 && status != 302 && status != 307 && status != 308) {
        snprintf(err, errlen, "redirect status %ld is not one of 301, 302, 307, 308", status);
        goto done;
    }
    if (location == NULL || location[0] == '\0') {
        snprintf(err, errlen, "empty Location header");
        goto done;
    }
    if (strlen(location) >= HTTP01_MAX_URL) {
        snprintf(err, errlen, "Location longer than %d bytes", HTTP01_MAX_URL - 1);
        goto done;
    }
    u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, current_url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "current URL does not parse");
        goto done;
    }
    uc = curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "Location does not parse as a URL (%s)", curl_url_strerror(uc));
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "scheme %s is not http or https", scheme != NULL ? scheme : "?");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(err, errlen, "userinfo is not allowed in a redirect");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0' ||
        strcmp(host, "[]") == 0) {
        snprintf(err, errlen, "empty host");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK && zone != NULL) {
        snprintf(err, errlen, "IPv6 zone identifiers are not allowed");
        goto done;
    }
    if (host[0] != '[') {
        unsigned char raw[4];
        if (http01_ends_with_ci(host, ".well-known")) {
            snprintf(err, errlen, "host %.200s ends in .well-known (missing '/' after the host?)",
                     host);
            goto done;
        }
        if (inet_pton(AF_INET, host, raw) != 1) {
            if (!http01_is_hostname(host)) {
                snprintf(err, errlen, "invalid host name");
                goto done;
            }
            if (strchr(host, '.') == NULL) {
                snprintf(err, errlen, "host %.200s is not a fully qualified domain name", host);
                goto done;
            }
        }
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port != NULL &&
        strcmp(port, "80") != 0 && strcmp(port, "443") != 0) {
        snprintf(err, errlen, "port %.16s is not 80 or 443", port);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path != NULL &&
        strlen(path) > HTTP01_MAX_PATH) {
        snprintf(err, errlen, "path longer than %d bytes", HTTP01_MAX_PATH);
        goto done;
    }
    if (curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        snprintf(err, errlen, "cannot rebuild the redirect URL");
        goto done;
    }
    if (strlen(full) >= HTTP01_MAX_URL || strlen(full) >= len) {
        snprintf(err, errlen, "redirect URL too long");
        goto done;
    }
    util_strlcpy(next_url, full, len);
    ret = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(zone);
    curl_free(path);
    curl_free(full);
    if (u != NULL) curl_url_cleanup(u);
    return ret;
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
    if (h->deadline_ev != NULL) event_free(h->deadline_ev);
    for (int i = 0; h->headers != NULL && h->headers[i] != NULL; i++) free(h->headers[i]);
    free(h->headers);
    for (int i = 0; i < h->nvisited; i++) free(h->visited[i]);
    free(h->key_auth);
    free(h->page);
    json_decref(h->history);
    check_result_clear(&h->res);
    free(h);
}

static void http01_maybe_free(struct http01 *h)
{
    if (h->state == HTTP01_DONE && h->outstanding == 0) http01_free(h);
}

static json_t *http01_details(struct http01 *h)
{
    json_t *d = json_object();

    json_object_set_new(d, "validation_method", json_string(HTTP01_METHOD));
    if (h->got_response && h->history != NULL) {
        json_object_set(d, "response_history", h->history);
    } else {
        json_object_set_new(d, "response_history", json_null());
    }
    json_object_set_new(d, "response_url", h->original_url[0] != '\0'
                                               ? json_string(h->original_url)
                                               : json_null());
    json_object_set_new(d, "response_status_code",
                        h->have_status ? json_integer((json_int_t)h->status) : json_null());
    json_object_set_new(d, "response_page",
                        h->page != NULL ? json_string(h->page) : json_null());
    return d;
}

/* The single completion path: calls the user back once, then frees when nothing is left. */
static void http01_finish(struct http01 *h)
{
    struct check_result out;

    if (h->state == HTTP01_DONE) return;
    h->state = HTTP01_DONE;
    if (h->deadline_ev != NULL) evtimer_del(h->deadline_ev);
    json_decref(h->res.details);
    h->res.details = http01_details(h);
    h->res.timestamp_ns = clock_real_ns();
    out = h->res;
    memset(&h->res, 0, sizeof(h->res));
    if (h->in_start) check_finish_later(h->env->base, h->cb, h->arg, &out);
    else h->cb(h->arg, &out);
    http01_maybe_free(h);
}

/* Records one error (message suffixed with the perspective) and finishes. */
static void http01_fail(struct http01 *h, bool completed, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static void http01_fail(struct http01 *h, bool completed, const char *type, const char *fmt,
                        ...)
{
    char msg[HTTP01_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    h->res.completed = completed;
    h->res.passed = false;
    check_result_add_error(&h->res, type, "%s (perspective %s)", msg,
                           h->env->perspective != NULL ? h->env->perspective : "?");
    log_debug("http01: %s: %s", type, msg);
    http01_finish(h);
}

static int64_t http01_remaining_ms(const struct http01 *h)
{
    return h->end_mono - clock_mono_ms();
}

/* called by libevent when the whole check's time budget is spent */
static void http01_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http01 *h = arg;

    if (h->state == HTTP01_RESOLVING) {
        http01_fail(h, false, HTTP01_ERR_LOOKUP,
                    "Timeout looking up %s for %s: no DNS answer before the deadline", h->host,
                    h->url);
    } else {
        http01_fail(h, false, HTTP01_ERR_HTTP,
                    "An HTTP error occurred fetching %s from %s: no complete response before "
                    "the check deadline",
                    h->url, h->ip[0] != '\0' ? h->ip : "(no address)");
    }
}

static void http01_fetch_addr(struct http01 *h, const char *ip);

/* Judges a 200 response body. */
static void http01_judge_body(struct http01 *h, const struct http_fetch_result *r)
{
    enum http01_body_verdict v =
        http01_body_check(r->body, r->body_len, r->body_too_large, h->key_auth, h->key_auth_len);

    if (v == HTTP01_BODY_TOO_LARGE) {
        http01_fail(h, true, HTTP01_ERR_MISMATCH,
                    "The challenge response body is too large (more than %zu bytes) at %s (%s)",
                    h->body_limit, h->url, h->ip);
    } else if (v == HTTP01_BODY_MISMATCH) {
        http01_fail(h, true, HTTP01_ERR_MISMATCH,
                    "The challenge response at %s (%s) does not match the expected key "
                    "authorization",
                    h->url, h->ip);
    } else {
        h->res.completed = true;
        h->res.passed = true;
        http01_finish(h);
    }
}

/* Handles a 3xx response carrying a Location. */
static void http01_follow(struct http01 *h, const struct http_fetch_result *r)
{
    char next[HTTP01_MAX_URL];
    char why[256];
    json_t *entry;

    if (http01_redirect_check(h->url, r->status, r->location, next, sizeof(next), why,
                              sizeof(why)) != 0) {
        char shown[512];
        util_strlcpy(shown, r->location, sizeof(shown));
        json_array_append_new(h->history, json_pack("{s:I,s:s}", "status_code",
                                                    (json_int_t)r->status, "url", shown));
        http01_fail(h, true, HTTP01_ERR_REDIRECT,
                    "Invalid redirect. Redirect code: %ld, target: %s: %s; from %s (%s)",
                    r->status, shown, why, h->url, h->ip);
        return;
    }
    entry = json_pack("{s:I,s:s}", "status_code", (json_int_t)r->status, "url", next);
    json_array_append_new(h->history, entry);
    if (h->redirects >= HTTP01_MAX_REDIRECTS) {
        http01_fail(h, true, HTTP01_ERR_REDIRECT,
                    "Invalid redirect. Redirect code: %ld, target: %s: more than %d redirects; "
                    "from %s (%s)",
                    r->status, next, HTTP01_MAX_REDIRECTS, h->url, h->ip);
        return;
    }
    for (int i = 0; i < h->nvisited; i++) {
        if (strcmp(h->visited[i], next) == 0) {
            http01_fail(h, true, HTTP01_ERR_REDIRECT,
                        "Invalid redirect. Redirect code: %ld, target: %s: redirect loop; "
                        "from %s (%s)",
                        r->status, next, h->url, h->ip);
            return;
        }
    }
    h->redirects++;
    h->visited[h->nvisited++] = util_xstrdup(next);
    util_strlcpy(h->url, next, sizeof(h->url));
    http01_start_hop(h);
}

static void http01_set_page(struct http01 *h, const unsigned char *body, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;

    free(h->page);
    h->page = util_xmalloc(outlen);
    EVP_EncodeBlock((unsigned char *)h->page, body, (int)len);
}

/* called by the HTTP client when the fetch of the current hop ends */
static void http01_fetch_cb(void *arg, const struct http_fetch_result *r)
{
    struct http01 *h = arg;
    bool redirect;

    h->outstanding--;
    if (h->state == HTTP01_DONE) {
        http01_maybe_free(h);
        return;
    }
    redirect = r->status >= 300 && r->status < 400 && r->location != NULL;
    if (r->status <= 0 || (!redirect && r->code != CURLE_OK && !r->body_too_large)) {
        bool connect_failed = !r->connected && (r->code == CURLE_COULDNT_CONNECT ||
                                                r->code == CURLE_OPERATION_TIMEDOUT);
        if (connect_failed && h->on_v6 && h->fam4.ip[0] != '\0' && http01_remaining_ms(h) > 0) {
            log_debug("http01: %s via %s failed (%s), trying %s", h->url, h->ip, r->error,
                      h->fam4.ip);
            http01_fetch_addr(h, h->fam4.ip);
            return;
        }
        http01_fail(h, false, HTTP01_ERR_HTTP, "An HTTP error occurred fetching %s from %s: %s",
                    h->url, r->primary_ip[0] != '\0' ? r->primary_ip : h->ip, r->error);
        return;
    }
    h->got_response = true;
    h->have_status = true;
    h->status = r->status;
    http01_set_page(h, r->body, r->body_len);
    if (redirect) {
        http01_follow(h, r);
    } else if (r->status != 200) {
        http01_fail(h, true, HTTP01_ERR_HTTP,
                    "An HTTP error occurred: Response status %ld from %s (%s)", r->status,
                    h->url, h->ip);
    } else {
        http01_judge_body(h, r);
    }
}

/* Fetches the current hop from one address. */
static void http01_fetch_addr(struct http01 *h, const char *ip)
{
    struct http_fetch_opts o;
    char connect_to[HTTP01_IP_MAX + 32];
    int port = h->url_port == 443 ? h->env->https_port : h->env->http_port;
    int64_t left = http01_remaining_ms(h);
    bool v6 = strchr(ip, ':') != NULL;

    h->on_v6 = v6;
    util_strlcpy(h->ip, ip, sizeof(h->ip));
    snprintf(connect_to, sizeof(connect_to), v6 ? "::[%s]:%d" : "::%s:%d", ip, port);
    memset(&o, 0, sizeof(o));
    o.url = h->url;
    o.connect_to = connect_to;
    o.timeout_ms = left > 1 ? (long)left : 1;
    o.connect_timeout_ms = h->env->http_connect_timeout_ms > 0 &&
                                   h->env->http_connect_timeout_ms < o.timeout_ms
                               ? h->env->http_connect_timeout_ms
                               : o.timeout_ms;
    o.max_body = h->body_limit;
    o.headers = (const char *const *)h->headers;
    o.user_agent = h->env->user_agent;
    o.allow_private = h->env->allow_private_targets;
    h->state = HTTP01_FETCHING;
    h->outstanding++;
    http_client_fetch(h->env->http, &o, http01_fetch_cb, h);
}

/* Records one family's lookup result for the current hop. */
static void http01_take_answer(struct http01 *h, struct http01_family *fam, int af,
                               const struct dns_lookup_result *res)
{
    size_t want = af == AF_INET6 ? 16 : 4;
    uint16_t type = af == AF_INET6 ? 28 : 1;

    fam->status = res->status;
    util_strlcpy(fam->error, res->error, sizeof(fam->error));
    if (res->status != DNS_LOOKUP_OK) return;
    for (int i = 0; i < res->nrecords; i++) {
        const struct dns_record *rec = &res->records[i];
        const char *why;
        char text[HTTP01_IP_MAX];

        if (rec->type != type || rec->rdlen != want || rec->rdata == NULL) continue;
        why = af == AF_INET6 ? ipfilter_classify6(rec->rdata) : ipfilter_classify4(rec->rdata);
        if (inet_ntop(af, rec->rdata, text, sizeof(text)) == NULL) continue;
        if (why != NULL && !h->env->allow_private_targets) {
            if (fam->special[0] == '\0') {
                util_strlcpy(fam->special, text, sizeof(fam->special));
                fam->special_why = why;
            }
            continue;
        }
        util_strlcpy(fam->ip, text, sizeof(fam->ip));
        return; /* only the first usable address per family is tried (as Boulder does) */
    }
}

static const char *http01_status_name(enum dns_lookup_status s)
{
    switch (s) {
    case DNS_LOOKUP_OK: return "NOERROR";
    case DNS_LOOKUP_NODATA: return "NODATA";
    case DNS_LOOKUP_NXDOMAIN: return "NXDOMAIN";
    case DNS_LOOKUP_ERROR: return "ERROR";
    }
    return "?";
}

/* Both lookups are back: pick an address or fail. */
static void http01_resolved(struct http01 *h)
{
    const struct http01_family *f6 = &h->fam6, *f4 = &h->fam4;

    if (f6->ip[0] != '\0') {
        http01_fetch_addr(h, f6->ip);
    } else if (f4->ip[0] != '\0') {
        http01_fetch_addr(h, f4->ip);
    } else if (f6->status == DNS_LOOKUP_NXDOMAIN || f4->status == DNS_LOOKUP_NXDOMAIN) {
        http01_fail(h, true, HTTP01_ERR_LOOKUP,
                    "There was an error looking up the DCV record. Error type: NXDOMAIN, Error "
                    "message: %s does not exist (resolving %s)",
                    h->host, h->url);
    } else if (f6->status == DNS_LOOKUP_ERROR || f4->status == DNS_LOOKUP_ERROR) {
        const struct http01_family *fe = f4->status == DNS_LOOKUP_ERROR ? f4 : f6;
        http01_fail(h, false, HTTP01_ERR_LOOKUP,
                    "There was an error looking up the DCV record. Error type: %s, Error "
                    "message: AAAA %s%s%s, A %s%s%s (resolving %s for %s)",
                    fe->error[0] != '\0' ? fe->error : "ERROR", http01_status_name(f6->status),
                    f6->error[0] != '\0' ? " " : "", f6->error, http01_status_name(f4->status),
                    f4->error[0] != '\0' ? " " : "", f4->error, h->host, h->url);
    } else if (f6->special[0] != '\0' || f4->special[0] != '\0') {
        const struct http01_family *f = f6->special[0] != '\0' ? f6 : f4;
        http01_fail(h, false, HTTP01_ERR_LOOKUP,
                    "No valid IP addresses found for %s: only special-purpose addresses such as "
                    "%s (%s) (resolving for %s)",
                    h->host, f->special, f->special_why, h->url);
    } else {
        http01_fail(h, true, HTTP01_ERR_LOOKUP,
                    "There was an error looking up the DCV record. Error type: NoAnswer, Error "
                    "message: no A or AAAA records for %s (resolving for %s)",
                    h->host, h->url);
    }
}

/* called by dns_lookup when the AAAA lookup of the current hop ends */
static void http01_dns6_cb(void *arg, const struct dns_lookup_result *res)
{
    struct http01 *h = arg;

    h->outstanding--;
    if (h->state == HTTP01_DONE) {
        http01_maybe_free(h);
        return;
    }
    http01_take_answer(h, &h->fam6, AF_INET6, res);
    if (--h->dns_pending == 0) http01_resolved(h);
}

/* called by dns_lookup when the A lookup of the current hop ends */
static void http01_dns4_cb(void *arg, const struct dns_lookup_result *res)
{
    struct http01 *h = arg;

    h->outstanding--;
    if (h->state == HTTP01_DONE) {
        http01_maybe_free(h);
        return;
    }
    http01_take_answer(h, &h->fam4, AF_INET, res);
    if (--h->dns_pending == 0) http01_resolved(h);
}

/* Parses the current URL into host / scheme / port. Returns 0 or -1. */
static int http01_parse_hop(struct http01 *h)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int64_t p = 0;
    int ret = -1;

    if (u == NULL || curl_url_set(u, CURLUPART_URL, h->url, 0) != CURLUE_OK) goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        goto done;
    }
    if (util_parse_int64(port, 1, 65535, &p) != 0) goto done;
    h->https = strcmp(scheme, "https") == 0;
    h->url_port = (int)p;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(h->host)) goto done;
        memcpy(h->host, host + 1, n - 2);
        h->host[n - 2] = '\0';
        h->host_is_ip = true;
    } else {
        unsigned char raw[4];
        if (!util_strlcpy(h->host, host, sizeof(h->host))) goto done;
        h->host_is_ip = inet_pton(AF_INET, h->host, raw) == 1;
    }
    ret = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    if (u != NULL) curl_url_cleanup(u);
    return ret;
}

/* Starts the current hop (h->url): resolve, or fetch directly for an IP literal. */
static void http01_start_hop(struct http01 *h)
{
    memset(&h->fam6, 0, sizeof(h->fam6));
    memset(&h->fam4, 0, sizeof(h->fam4));
    h->ip[0] = '\0';
    h->have_status = false; /* status and page describe the final hop only */
    free(h->page);
    h->page = NULL;
    if (http01_parse_hop(h) != 0) {
        http01_fail(h, true, HTTP01_ERR_REDIRECT, "Invalid redirect target: cannot parse %s",
                    h->url);
        return;
    }
    if (h->host_is_ip) {
        const char *why = NULL;
        unsigned char raw[16];
        if (inet_pton(AF_INET6, h->host, raw) == 1) why = ipfilter_classify6(raw);
        else if (inet_pton(AF_INET, h->host, raw) == 1) why = ipfilter_classify4(raw);
        else why = "unparseable address";
        if (why != NULL && !h->env->allow_private_targets) {
            http01_fail(h, false, HTTP01_ERR_HTTP,
                        "An HTTP error occurred: refusing to connect to special-purpose address "
                        "%s (%s) for %s",
                        h->host, why, h->url);
            return;
        }
        http01_fetch_addr(h, h->host);
        return;
    }
    h->state = HTTP01_RESOLVING;
    h->dns_pending = 2;
    h->outstanding += 2;
    dns_lookup(h->env->base, h->env->resolver, h->host, 28, http01_dns6_cb, h);
    dns_lookup(h->env->base, h->env->resolver, h->host, 1, http01_dns4_cb, h);
}

static bool http01_header_name_ok(const char *name)
{
    static const char *const forbidden[] = {"host", "content-length", "transfer-encoding"};
    size_t n = strlen(name);

    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!(http01_is_token_char(ch) || strchr("!#$%&'*+.^`|~", ch) != NULL)) return false;
    }
    for (size_t i = 0; i < MPIC_ARRAY_LEN(forbidden); i++) {
        if (strcasecmp(name, forbidden[i]) == 0) return false;
    }
    return true;
}

/* Copies params.http_headers into "Name: value" lines. Returns 0 or -1 with err. */
static int http01_take_headers(struct http01 *h, const json_t *obj, char *err, size_t errlen)
{
    const char *name;
    json_t *val;
    size_t total = 0;
    int i = 0;

    if (obj == NULL || json_is_null(obj)) return 0;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "http_headers must be an object");
        return -1;
    }
    if (json_object_size(obj) > HTTP01_MAX_HEADERS) {
        snprintf(err, errlen, "http_headers has more than %d entries", HTTP01_MAX_HEADERS);
        return -1;
    }
    h->headers = util_xcalloc(json_object_size(obj) + 1, sizeof(char *));
    json_object_foreach((json_t *)obj, name, val) {
        const char *v;
        size_t vlen;
        char *line;

        if (!http01_header_name_ok(name)) {
            snprintf(err, errlen, "http_headers name %.64s is not allowed", name);
            return -1;
        }
        if (!json_is_string(val)) {
            snprintf(err, errlen, "http_headers value of %.64s must be a string", name);
            return -1;
        }
        v = json_string_value(val);
        vlen = json_string_length(val);
        if (vlen != strlen(v) || strpbrk(v, "\r\n") != NULL) {
            snprintf(err, errlen, "http_headers value of %.64s has control characters", name);
            return -1;
        }
        total += strlen(name) + vlen + 2;
        if (total > HTTP01_MAX_HEADER_BYTES) {
            snprintf(err, errlen, "http_headers larger than %d bytes", HTTP01_MAX_HEADER_BYTES);
            return -1;
        }
        line = util_xmalloc(strlen(name) + vlen + 3);
        /* "Name;" is curl's way to send an empty value ("Name:" would remove the header) */
        if (vlen == 0) snprintf(line, strlen(name) + 3, "%s;", name);
        else snprintf(line, strlen(name) + vlen + 3, "%s: %s", name, v);
        h->headers[i++] = line;
    }
    return 0;
}

void http01_check_start(const struct check_env *env, const struct check_request *req,
                        check_done_cb cb, void *arg)
{
    struct http01 *h = util_xcalloc(1, sizeof(*h));
    const json_t *ka, *tok;
    char err[256];
    int64_t budget;
    struct timeval tv;

    h->env = env;
    h->cb = cb;
    h->arg = arg;
    h->state = HTTP01_RESOLVING;
    h->in_start = true;
    h->history = json_array();

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
    if (http01_build_url(req->target, json_string_value(tok), h->original_url,
                         sizeof(h->original_url), err, sizeof(err)) != 0) {
        goto param_fail;
    }
    if (http01_take_headers(h, json_object_get(req->params, "http_headers"), err,
                            sizeof(err)) != 0) {
        goto param_fail;
    }
    util_strlcpy(h->url, h->original_url, sizeof(h->url));
    h->visited[h->nvisited++] = util_xstrdup(h->url);

    budget = req->deadline_ms - clock_now_ms();
    if (env->http_timeout_ms > 0 && env->http_timeout_ms < budget) budget = env->http_timeout_ms;
    if (budget <= 0 || env->http == NULL) {
        http01_fail(h, false, HTTP01_ERR_HTTP, "An HTTP error occurred: %s before fetching %s",
                    env->http == NULL ? "no HTTP client" : "deadline passed", h->original_url);
        return;
    }
    h->end_mono = clock_mono_ms() + budget;
    h->deadline_ev = evtimer_new(env->base, http01_deadline_cb, h);
    if (h->deadline_ev == NULL) abort(); /* out of memory for a control structure */
    tv.tv_sec = (time_t)(budget / 1000);
    tv.tv_usec = (suseconds_t)((budget % 1000) * 1000);
    evtimer_add(h->deadline_ev, &tv);
    h->outstanding++; /* holds h across the synchronous part of the first hop */
    http01_start_hop(h); /* failures inside are deferred through in_start */
    h->outstanding--;
    h->in_start = false;
    http01_maybe_free(h);
    return;

param_fail:
    http01_fail(h, false, HTTP01_ERR_PARAM, "Invalid acme-http-01 parameters for %s: %s",
                req->target != NULL ? req->target : "?", err);
}
