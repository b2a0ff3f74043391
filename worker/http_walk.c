/*
 * The redirect walk. One struct http_walk per walk goes through hops: resolve AAAA and A with
 * the perspective's resolver, drop special-purpose addresses, fetch the hop (IPv6 first, IPv4
 * on a connect failure) pinned with CONNECT_TO, then either follow a valid redirect (a new
 * hop) or hand the final response to the caller. A deadline timer bounds the whole walk;
 * lookups and fetches cannot be cancelled, so the struct lives until the last of them has
 * called back.
 */
#include "http_walk.h"

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
#include "addr_pick.h"
#include "ipfilter.h"
#include "log.h"
#include "util.h"

#define HTTP_WALK_IP_MAX 64
#define HTTP_WALK_HOST_MAX 256
#define HTTP_WALK_MSG_MAX 1024
#define HTTP_WALK_CANON_ROUNDS 3 /* parses of a redirect URL until curl keeps its form */

enum http_walk_state {
    HTTP_WALK_RESOLVING = 0, /* AAAA and A lookups of the current hop's host are outstanding */
    HTTP_WALK_FETCHING = 1,  /* one HTTP request to the chosen address is in flight */
    HTTP_WALK_DONE = 2,      /* result delivered or scheduled; waiting for stragglers */
};

struct http_walk {
    const struct check_env *env;
    http_walk_cb cb;
    void *arg;
    enum http_walk_state state;
    int outstanding; /* lookups + fetches that have not called back yet */
    bool in_start;   /* inside http_walk_start(): a failure must be delivered later */

    char method[64];
    char **headers; /* NULL-terminated copies of opts->headers */
    size_t max_body;
    int max_redirects;

    /* every URL fetched so far, each malloc'ed to its length (a walk waits on the network for
     * seconds, so its state stays small): visited[0] is the original URL and
     * visited[nvisited - 1] the current hop (w->url); nvisited is 0 only when the original
     * URL was missing or too long */
    char *visited[HTTP_WALK_REDIRECT_CAP + 1];
    int nvisited;
    const char *url;                /* current hop: visited[nvisited - 1], or "" */
    char host[HTTP_WALK_HOST_MAX];  /* current hop host, IPv6 without brackets */
    bool host_is_ip;
    int url_port; /* effective port of the URL (80/443); mapped to the lab ports */
    int redirects;

    int dns_pending;
    struct http_walk_lookup *lookup; /* while the hop's lookups run, else NULL */
    char fallback4[HTTP_WALK_IP_MAX]; /* IPv4 address to try when the IPv6 connect fails */
    bool on_v6;                 /* the fetch in flight goes to an IPv6 address */
    char ip[HTTP_WALK_IP_MAX];  /* address of the fetch in flight / last contacted */

    json_t *history;   /* response_history entries */
    bool got_response; /* at least one HTTP response arrived (history is meaningful) */
    bool have_status;  /* the current (last) hop produced a response */
    long status;       /* that response's status */
    char *page;        /* base64 of that response's body (NULL when none) */

    int64_t end_mono;
    struct event *deadline_ev;
    struct event *defer_ev; /* delivers a failure that happened inside http_walk_start() */
    bool fail_completed;
    const char *fail_type;
    char *fail_msg; /* malloc'ed when the walk fails */
};

/* What the AAAA and A lookups of one hop found (about 800 bytes: allocated only while
 * they run, not for the seconds a fetch waits). */
struct http_walk_lookup {
    struct addr_pick_family fam6;
    struct addr_pick_family fam4;
};

static void http_walk_start_hop(struct http_walk *w);

/* ---------------------------------------------------------------- pure rule functions ---- */

static bool http_walk_is_ldh_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* Host names we are willing to resolve: ASCII letters, digits, '-', '_' and dots. */
static bool http_walk_is_hostname(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253 || s[0] == '.' || strstr(s, "..") != NULL) return false;
    for (size_t i = 0; i < n; i++) {
        if (!(http_walk_is_ldh_char(s[i]) || s[i] == '.')) return false;
    }
    return true;
}

int http_walk_origin(const char *scheme, const char *target, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    unsigned char raw[16];
    int n;

    if (scheme == NULL || target == NULL ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "missing target or scheme not http/https");
        return -1;
    }
    if (inet_pton(AF_INET6, target, raw) == 1) {
        n = snprintf(out, outlen, "%s://[%s]", scheme, target);
    } else if (inet_pton(AF_INET, target, raw) == 1 || http_walk_is_hostname(target)) {
        n = snprintf(out, outlen, "%s://%s", scheme, target);
    } else {
        snprintf(err, errlen, "target is neither a host name nor an IP address");
        return -1;
    }
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    return 0;
}

static bool http_walk_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/*
 * Parses location against current_url, without its fragment, into the form curl keeps when it
 * parses its own output again: an http(s) URL whose host was percent-encoded is decoded on the
 * first parse and normalized only on the next (1.%332 -> 1.32 -> 1.0.0.32), so the rules must
 * judge, and the walk must report, the URL the hop will really use. Returns the parsed URL
 * and, for http(s), that form in *url (curl_free it; NULL for other schemes), or NULL with err.
 */
static CURLU *http_walk_resolve(const char *current_url, const char *location, char **url_out,
                                char *err, size_t errlen)
{
    CURLU *u = curl_url();
    CURLUcode uc;
    char *scheme = NULL, *url = NULL, *again = NULL;

    *url_out = NULL;
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (curl_url_set(u, CURLUPART_URL, current_url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "current URL does not parse");
        goto fail;
    }
    uc = curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "Location does not parse as a URL (%s)", curl_url_strerror(uc));
        goto fail;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        curl_free(scheme);
        return u; /* the caller refuses the scheme */
    }
    curl_free(scheme);
    for (int round = 0; round < HTTP_WALK_CANON_ROUNDS; round++) {
        bool stable;
        if (curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &again, 0) != CURLUE_OK) {
            snprintf(err, errlen, "cannot rebuild the redirect URL");
            goto fail;
        }
        stable = strcmp(url, again) == 0;
        curl_free(url);
        url = NULL;
        if (stable) {
            *url_out = again;
            return u;
        }
        curl_free(again);
        again = NULL;
    }
    snprintf(err, errlen, "the redirect URL has no stable form");
fail:
    curl_free(url);
    curl_free(again);
    curl_url_cleanup(u);
    return NULL;
}

int http_walk_redirect_check(const char *current_url, long status, const char *location,
                             char *next_url, size_t len, char *err, size_t errlen)
{
    CURLU *u = NULL;
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
    if (strlen(location) >= HTTP_WALK_MAX_URL) {
        snprintf(err, errlen, "Location longer than %d bytes", HTTP_WALK_MAX_URL - 1);
        goto done;
    }
    u = http_walk_resolve(current_url, location, &full, err, errlen);
    if (u == NULL) goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "scheme %s is not http or https", scheme != NULL ? scheme : "?");
        goto done;
    }
    if (full == NULL) { /* http(s), yet resolving gave no URL: a failed read in curl */
        snprintf(err, errlen, "cannot rebuild the redirect URL");
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
        if (http_walk_ends_with_ci(host, ".well-known")) {
            snprintf(err, errlen, "host %.200s ends in .well-known (missing '/' after the host?)",
                     host);
            goto done;
        }
        if (inet_pton(AF_INET, host, raw) != 1) {
            if (!http_walk_is_hostname(host)) {
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
        strlen(path) > HTTP_WALK_MAX_PATH) {
        snprintf(err, errlen, "path longer than %d bytes", HTTP_WALK_MAX_PATH);
        goto done;
    }
    if (strlen(full) >= HTTP_WALK_MAX_URL || strlen(full) >= len) {
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

static bool http_walk_header_name_ok(const char *name)
{
    static const char *const forbidden[] = {"host", "content-length", "transfer-encoding"};
    size_t n = strlen(name);

    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!(http_walk_is_ldh_char(ch) || strchr("!#$%&'*+.^`|~", ch) != NULL)) return false;
    }
    for (size_t i = 0; i < MPIC_ARRAY_LEN(forbidden); i++) {
        if (strcasecmp(name, forbidden[i]) == 0) return false;
    }
    return true;
}

void http_walk_headers_free(char **lines)
{
    for (int i = 0; lines != NULL && lines[i] != NULL; i++) free(lines[i]);
    free(lines);
}

int http_walk_headers(const json_t *obj, char ***out, char *err, size_t errlen)
{
    const char *name;
    json_t *val;
    size_t total = 0;
    char **lines;
    int i = 0;

    *out = NULL;
    if (obj == NULL || json_is_null(obj)) return 0;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "http_headers must be an object");
        return -1;
    }
    if (json_object_size(obj) > HTTP_WALK_MAX_HEADERS) {
        snprintf(err, errlen, "http_headers has more than %d entries", HTTP_WALK_MAX_HEADERS);
        return -1;
    }
    lines = util_xcalloc(json_object_size(obj) + 1, sizeof(char *));
    json_object_foreach((json_t *)obj, name, val) {
        const char *v;
        size_t vlen;
        char *line;

        if (!http_walk_header_name_ok(name)) {
            snprintf(err, errlen, "http_headers name %.64s is not allowed", name);
            goto fail;
        }
        if (!json_is_string(val)) {
            snprintf(err, errlen, "http_headers value of %.64s must be a string", name);
            goto fail;
        }
        v = json_string_value(val);
        vlen = json_string_length(val);
        if (vlen != strlen(v) || strpbrk(v, "\r\n") != NULL) {
            snprintf(err, errlen, "http_headers value of %.64s has control characters", name);
            goto fail;
        }
        total += strlen(name) + vlen + 2;
        if (total > HTTP_WALK_MAX_HEADER_BYTES) {
            snprintf(err, errlen, "http_headers larger than %d bytes",
                     HTTP_WALK_MAX_HEADER_BYTES);
            goto fail;
        }
        line = util_xmalloc(strlen(name) + vlen + 3);
        /* "Name;" is curl's way to send an empty value ("Name:" would remove the header) */
        if (vlen == 0) snprintf(line, strlen(name) + 3, "%s;", name);
        else snprintf(line, strlen(name) + vlen + 3, "%s: %s", name, v);
        lines[i++] = line;
    }
    *out = lines;
    return 0;
fail:
    http_walk_headers_free(lines);
    return -1;
}

/* ----------------------------------------------------------------------- the walk ---- */

static void http_walk_free(struct http_walk *w)
{
    if (w->deadline_ev != NULL) event_free(w->deadline_ev);
    if (w->defer_ev != NULL) event_free(w->defer_ev);
    http_walk_headers_free(w->headers);
    for (int i = 0; i < w->nvisited; i++) free(w->visited[i]);
    free(w->fail_msg);
    free(w->lookup);
    free(w->page);
    json_decref(w->history);
    free(w);
}

static void http_walk_maybe_free(struct http_walk *w)
{
    if (w->state == HTTP_WALK_DONE && w->outstanding == 0 && w->defer_ev == NULL) {
        http_walk_free(w);
    }
}

static json_t *http_walk_details(const struct http_walk *w)
{
    json_t *d = json_object();

    json_object_set_new(d, "validation_method", json_string(w->method));
    if (w->got_response && w->history != NULL) {
        json_object_set(d, "response_history", w->history);
    } else {
        json_object_set_new(d, "response_history", json_null());
    }
    json_object_set_new(d, "response_url",
                        w->nvisited > 0 ? json_string(w->visited[0]) : json_null());
    json_object_set_new(d, "response_status_code",
                        w->have_status ? json_integer((json_int_t)w->status) : json_null());
    json_object_set_new(d, "response_page",
                        w->page != NULL ? json_string(w->page) : json_null());
    return d;
}

/* Delivers a result: r->details is filled in here. */
static void http_walk_deliver(struct http_walk *w, struct http_walk_result *r)
{
    r->url = w->url;
    r->ip = w->ip;
    r->details = http_walk_details(w);
    w->cb(w->arg, r);
}

/* called by libevent one loop turn after a failure inside http_walk_start() */
static void http_walk_defer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_walk *w = arg;
    struct http_walk_result r;
    static const unsigned char empty[1] = {0};

    event_free(w->defer_ev);
    w->defer_ev = NULL;
    memset(&r, 0, sizeof(r));
    r.outcome = HTTP_WALK_FAILED;
    r.completed = w->fail_completed;
    r.error_type = w->fail_type;
    r.message = w->fail_msg;
    r.body = empty;
    http_walk_deliver(w, &r);
    http_walk_maybe_free(w);
}

/* The failure path: records the error (message suffixed with the perspective) and delivers
 * it now, or on the next loop turn when still inside http_walk_start(). */
static void http_walk_fail(struct http_walk *w, bool completed, const char *type,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void http_walk_fail(struct http_walk *w, bool completed, const char *type,
                           const char *fmt, ...)
{
    char msg[HTTP_WALK_MSG_MAX - 64];
    char full[HTTP_WALK_MSG_MAX];
    struct timeval now = {0, 0};
    va_list ap;

    if (w->state == HTTP_WALK_DONE) return;
    w->state = HTTP_WALK_DONE;
    if (w->deadline_ev != NULL) evtimer_del(w->deadline_ev);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s (perspective %s)", msg,
             w->env->perspective != NULL ? w->env->perspective : "?");
    w->fail_msg = util_xstrdup(full);
    w->fail_completed = completed;
    w->fail_type = type;
    log_debug("http_walk: %s: %s", type, w->fail_msg);
    if (w->in_start) {
        w->defer_ev = evtimer_new(w->env->base, http_walk_defer_cb, w);
        if (w->defer_ev == NULL || evtimer_add(w->defer_ev, &now) != 0) abort();
        return;
    }
    {
        struct http_walk_result r;
        static const unsigned char empty[1] = {0};
        memset(&r, 0, sizeof(r));
        r.outcome = HTTP_WALK_FAILED;
        r.completed = completed;
        r.error_type = type;
        r.message = w->fail_msg;
        r.body = empty;
        http_walk_deliver(w, &r);
    }
}

static int64_t http_walk_remaining_ms(const struct http_walk *w)
{
    return w->end_mono - clock_mono_ms();
}

/* called by libevent when the whole walk's time budget is spent */
static void http_walk_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_walk *w = arg;

    if (w->state == HTTP_WALK_RESOLVING) {
        http_walk_fail(w, false, HTTP_WALK_ERR_LOOKUP,
                       "Timeout looking up %s for %s: no DNS answer before the deadline",
                       w->host, w->url);
    } else {
        http_walk_fail(w, false, HTTP_WALK_ERR_HTTP,
                       "An HTTP error occurred fetching %s from %s: no complete response before "
                       "the check deadline",
                       w->url, w->ip[0] != '\0' ? w->ip : "(no address)");
    }
    http_walk_maybe_free(w);
}

static void http_walk_fetch_addr(struct http_walk *w, const char *ip);

/* Handles a 3xx response carrying a Location. */
static void http_walk_follow(struct http_walk *w, const struct http_fetch_result *r)
{
    char next[HTTP_WALK_MAX_URL];
    char why[256];

    if (http_walk_redirect_check(w->url, r->status, r->location, next, sizeof(next), why,
                                 sizeof(why)) != 0) {
        char shown[512];
        util_strlcpy(shown, r->location, sizeof(shown));
        json_array_append_new(w->history, json_pack("{s:I,s:s}", "status_code",
                                                    (json_int_t)r->status, "url", shown));
        http_walk_fail(w, true, HTTP_WALK_ERR_REDIRECT,
                       "Invalid redirect. Redirect code: %ld, target: %s: %s; from %s (%s)",
                       r->status, shown, why, w->url, w->ip);
        return;
    }
    json_array_append_new(w->history, json_pack("{s:I,s:s}", "status_code",
                                                (json_int_t)r->status, "url", next));
    if (w->redirects >= w->max_redirects) {
        http_walk_fail(w, true, HTTP_WALK_ERR_REDIRECT,
                       "Invalid redirect. Redirect code: %ld, target: %s: more than %d "
                       "redirects; from %s (%s)",
                       r->status, next, w->max_redirects, w->url, w->ip);
        return;
    }
    for (int i = 0; i < w->nvisited; i++) {
        if (strcmp(w->visited[i], next) == 0) {
            http_walk_fail(w, true, HTTP_WALK_ERR_REDIRECT,
                           "Invalid redirect. Redirect code: %ld, target: %s: redirect loop; "
                           "from %s (%s)",
                           r->status, next, w->url, w->ip);
            return;
        }
    }
    w->redirects++;
    w->visited[w->nvisited++] = util_xstrdup(next);
    w->url = w->visited[w->nvisited - 1];
    http_walk_start_hop(w);
}

static void http_walk_set_page(struct http_walk *w, const unsigned char *body, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;

    free(w->page);
    w->page = util_xmalloc(outlen);
    EVP_EncodeBlock((unsigned char *)w->page, body, (int)len);
}

/* called by the HTTP client when the fetch of the current hop ends */
static void http_walk_fetch_cb(void *arg, const struct http_fetch_result *r)
{
    struct http_walk *w = arg;
    struct http_walk_result out;
    bool redirect;

    w->outstanding--;
    if (w->state == HTTP_WALK_DONE) {
        http_walk_maybe_free(w);
        return;
    }
    redirect = r->status >= 300 && r->status < 400 && r->location != NULL;
    if (r->status <= 0 || (!redirect && r->code != CURLE_OK && !r->body_too_large)) {
        bool connect_failed = !r->connected && (r->code == CURLE_COULDNT_CONNECT ||
                                                r->code == CURLE_OPERATION_TIMEDOUT);
        if (connect_failed && w->on_v6 && w->fallback4[0] != '\0' &&
            http_walk_remaining_ms(w) > 0) {
            log_debug("http_walk: %s via %s failed (%s), trying %s", w->url, w->ip, r->error,
                      w->fallback4);
            http_walk_fetch_addr(w, w->fallback4);
            return;
        }
        http_walk_fail(w, false, HTTP_WALK_ERR_HTTP,
                       "An HTTP error occurred fetching %s from %s: %s", w->url,
                       r->primary_ip[0] != '\0' ? r->primary_ip : w->ip, r->error);
        http_walk_maybe_free(w);
        return;
    }
    w->got_response = true;
    w->have_status = true;
    w->status = r->status;
    http_walk_set_page(w, r->body, r->body_len);
    if (redirect) {
        http_walk_follow(w, r);
        http_walk_maybe_free(w);
        return;
    }
    w->state = HTTP_WALK_DONE;
    if (w->deadline_ev != NULL) evtimer_del(w->deadline_ev);
    memset(&out, 0, sizeof(out));
    out.outcome = HTTP_WALK_RESPONSE;
    out.completed = true;
    out.status = r->status;
    out.body = r->body;
    out.body_len = r->body_len;
    out.body_too_large = r->body_too_large;
    http_walk_deliver(w, &out);
    http_walk_maybe_free(w);
}

/* Fetches the current hop from one address. */
static void http_walk_fetch_addr(struct http_walk *w, const char *ip)
{
    struct http_fetch_opts o;
    char connect_to[HTTP_WALK_IP_MAX + 32];
    int port = w->url_port == 443 ? w->env->https_port : w->env->http_port;
    int64_t left = http_walk_remaining_ms(w);
    bool v6 = strchr(ip, ':') != NULL;

    w->on_v6 = v6;
    util_strlcpy(w->ip, ip, sizeof(w->ip));
    snprintf(connect_to, sizeof(connect_to), v6 ? "::[%s]:%d" : "::%s:%d", ip, port);
    memset(&o, 0, sizeof(o));
    o.url = w->url;
    o.connect_to = connect_to;
    o.timeout_ms = left > 1 ? (long)left : 1;
    o.connect_timeout_ms = w->env->http_connect_timeout_ms > 0 &&
                                   w->env->http_connect_timeout_ms < o.timeout_ms
                               ? w->env->http_connect_timeout_ms
                               : o.timeout_ms;
    o.max_body = w->max_body;
    o.headers = (const char *const *)w->headers;
    o.user_agent = w->env->user_agent;
    o.allow_private = w->env->allow_private_targets;
    w->state = HTTP_WALK_FETCHING;
    w->outstanding++;
    http_client_fetch(w->env->http, &o, http_walk_fetch_cb, w);
}

/* Both lookups are back: pick an address or fail; frees w->lookup. */
static void http_walk_resolved(struct http_walk *w)
{
    struct http_walk_lookup *l = w->lookup;
    const struct addr_pick_family *f6 = &l->fam6, *f4 = &l->fam4;

    w->lookup = NULL;
    if (f6->ip[0] != '\0') {
        util_strlcpy(w->fallback4, f4->ip, sizeof(w->fallback4));
        http_walk_fetch_addr(w, f6->ip);
    } else if (f4->ip[0] != '\0') {
        http_walk_fetch_addr(w, f4->ip);
    } else if (f6->status == DNS_LOOKUP_NXDOMAIN || f4->status == DNS_LOOKUP_NXDOMAIN) {
        http_walk_fail(w, true, HTTP_WALK_ERR_LOOKUP,
                       "There was an error looking up the DCV record. Error type: NXDOMAIN, "
                       "Error message: %s does not exist (resolving %s)",
                       w->host, w->url);
    } else if (f6->status == DNS_LOOKUP_ERROR || f4->status == DNS_LOOKUP_ERROR) {
        const struct addr_pick_family *fe = f4->status == DNS_LOOKUP_ERROR ? f4 : f6;
        http_walk_fail(w, false, HTTP_WALK_ERR_LOOKUP,
                       "There was an error looking up the DCV record. Error type: %s, Error "
                       "message: AAAA %s%s%s, A %s%s%s (resolving %s for %s)",
                       fe->error[0] != '\0' ? fe->error : "ERROR",
                       addr_pick_status_name(f6->status), f6->error[0] != '\0' ? " " : "",
                       f6->error, addr_pick_status_name(f4->status),
                       f4->error[0] != '\0' ? " " : "", f4->error, w->host, w->url);
    } else if (f6->special[0] != '\0' || f4->special[0] != '\0') {
        const struct addr_pick_family *f = f6->special[0] != '\0' ? f6 : f4;
        http_walk_fail(w, false, HTTP_WALK_ERR_LOOKUP,
                       "No valid IP addresses found for %s: only special-purpose addresses "
                       "such as %s (%s) (resolving for %s)",
                       w->host, f->special, f->special_why, w->url);
    } else {
        http_walk_fail(w, true, HTTP_WALK_ERR_LOOKUP,
                       "There was an error looking up the DCV record. Error type: NoAnswer, "
                       "Error message: no A or AAAA records for %s (resolving for %s)",
                       w->host, w->url);
    }
    free(l);
}

/* called by dns_lookup when the AAAA lookup of the current hop ends */
static void http_walk_dns6_cb(void *arg, const struct dns_lookup_result *res)
{
    struct http_walk *w = arg;

    w->outstanding--;
    if (w->state != HTTP_WALK_DONE) {
        addr_pick_take(&w->lookup->fam6, AF_INET6, res, w->env->allow_private_targets);
        if (--w->dns_pending == 0) http_walk_resolved(w);
    }
    http_walk_maybe_free(w);
}

/* called by dns_lookup when the A lookup of the current hop ends */
static void http_walk_dns4_cb(void *arg, const struct dns_lookup_result *res)
{
    struct http_walk *w = arg;

    w->outstanding--;
    if (w->state != HTTP_WALK_DONE) {
        addr_pick_take(&w->lookup->fam4, AF_INET, res, w->env->allow_private_targets);
        if (--w->dns_pending == 0) http_walk_resolved(w);
    }
    http_walk_maybe_free(w);
}

/* Parses the current URL into host / port. Returns 0 or -1. */
static int http_walk_parse_hop(struct http_walk *w)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int64_t p = 0;
    int ret = -1;

    if (u == NULL || curl_url_set(u, CURLUPART_URL, w->url, 0) != CURLUE_OK) goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        goto done;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) goto done;
    if (util_parse_int64(port, 1, 65535, &p) != 0) goto done;
    w->url_port = (int)p;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(w->host)) goto done;
        memcpy(w->host, host + 1, n - 2);
        w->host[n - 2] = '\0';
        w->host_is_ip = true;
    } else {
        unsigned char raw[4];
        if (!util_strlcpy(w->host, host, sizeof(w->host))) goto done;
        w->host_is_ip = inet_pton(AF_INET, w->host, raw) == 1;
    }
    ret = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    if (u != NULL) curl_url_cleanup(u);
    return ret;
}

/* Starts the current hop (w->url): resolve, or fetch directly for an IP literal. */
static void http_walk_start_hop(struct http_walk *w)
{
    free(w->lookup);
    w->lookup = NULL;
    w->fallback4[0] = '\0';
    w->ip[0] = '\0';
    w->have_status = false; /* status and page describe the final hop only */
    free(w->page);
    w->page = NULL;
    if (http_walk_parse_hop(w) != 0) {
        http_walk_fail(w, true, HTTP_WALK_ERR_REDIRECT,
                       "Invalid redirect target: cannot parse %s", w->url);
        return;
    }
    if (w->host_is_ip) {
        const char *why = NULL;
        unsigned char raw[16];
        if (inet_pton(AF_INET6, w->host, raw) == 1) why = ipfilter_classify6(raw);
        else if (inet_pton(AF_INET, w->host, raw) == 1) why = ipfilter_classify4(raw);
        else why = "unparseable address";
        if (why != NULL && !w->env->allow_private_targets) {
            http_walk_fail(w, false, HTTP_WALK_ERR_HTTP,
                           "An HTTP error occurred: refusing to connect to special-purpose "
                           "address %s (%s) for %s",
                           w->host, why, w->url);
            return;
        }
        http_walk_fetch_addr(w, w->host);
        return;
    }
    if (w->env->resolver == NULL) {
        http_walk_fail(w, false, HTTP_WALK_ERR_LOOKUP,
                       "No resolver configured to look up %s for %s", w->host, w->url);
        return;
    }
    w->state = HTTP_WALK_RESOLVING;
    w->lookup = util_xcalloc(1, sizeof(*w->lookup));
    w->dns_pending = 2;
    w->outstanding += 2;
    dns_lookup(w->env->base, w->env->resolver, w->host, 28, http_walk_dns6_cb, w);
    dns_lookup(w->env->base, w->env->resolver, w->host, 1, http_walk_dns4_cb, w);
}

void http_walk_start(const struct check_env *env, const struct http_walk_opts *opts,
                     http_walk_cb cb, void *arg)
{
    struct http_walk *w = util_xcalloc(1, sizeof(*w));
    int nheaders = 0;
    struct timeval tv;

    w->env = env;
    w->cb = cb;
    w->arg = arg;
    w->state = HTTP_WALK_RESOLVING;
    w->in_start = true;
    w->history = json_array();
    util_strlcpy(w->method, opts->method != NULL ? opts->method : "", sizeof(w->method));
    w->max_body = opts->max_body;
    w->max_redirects = opts->max_redirects < 0 ? 0
                       : opts->max_redirects > HTTP_WALK_REDIRECT_CAP ? HTTP_WALK_REDIRECT_CAP
                                                                      : opts->max_redirects;
    while (opts->headers != NULL && opts->headers[nheaders] != NULL) nheaders++;
    if (nheaders > 0) {
        w->headers = util_xcalloc((size_t)nheaders + 1, sizeof(char *));
        for (int i = 0; i < nheaders; i++) w->headers[i] = util_xstrdup(opts->headers[i]);
    }
    w->outstanding++; /* holds w across the synchronous part of the first hop */
    w->url = "";
    if (opts->url == NULL || strlen(opts->url) >= HTTP_WALK_MAX_URL) {
        http_walk_fail(w, false, HTTP_WALK_ERR_HTTP, "An HTTP error occurred: URL too long");
        goto out;
    }
    w->visited[w->nvisited++] = util_xstrdup(opts->url);
    w->url = w->visited[0];
    if (opts->budget_ms <= 0 || env->http == NULL) {
        http_walk_fail(w, false, HTTP_WALK_ERR_HTTP,
                       "An HTTP error occurred: %s before fetching %s",
                       env->http == NULL ? "no HTTP client" : "deadline passed", w->url);
        goto out;
    }
    w->end_mono = clock_mono_ms() + opts->budget_ms;
    w->deadline_ev = evtimer_new(env->base, http_walk_deadline_cb, w);
    if (w->deadline_ev == NULL) abort(); /* out of memory for a control structure */
    tv = util_ms_timeval(opts->budget_ms);
    evtimer_add(w->deadline_ev, &tv);
    http_walk_start_hop(w); /* failures inside are deferred through in_start */
out:
    w->outstanding--;
    w->in_start = false;
    http_walk_maybe_free(w);
}

int64_t http_walk_budget_ms(const struct check_env *env, int64_t deadline_ms)
{
    int64_t budget = deadline_ms - clock_now_ms();

    if (env->http_timeout_ms > 0 && env->http_timeout_ms < budget) budget = env->http_timeout_ms;
    return budget;
}

void http_walk_param_fail(const struct check_env *env, const struct check_request *req,
                          const char *method, const char *error_type, const char *err,
                          check_done_cb cb, void *arg)
{
    struct check_result res;

    memset(&res, 0, sizeof(res));
    res.completed = false;
    res.details = json_pack("{s:s,s:n,s:n,s:n,s:n}", "validation_method", method,
                            "response_history", "response_url", "response_status_code",
                            "response_page");
    check_result_add_error_at(&res, env, error_type, "Invalid %s parameters for %s: %s", method,
                              req->target != NULL ? req->target : "?", err);
    res.timestamp_ns = clock_real_ns();
    check_finish_later(env->base, cb, arg, &res);
}
