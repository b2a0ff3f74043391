/*
 * The worker's HTTP client: pinned http:// and https:// fetches go to our own HTTP/1.1 client
 * (http_plain.c, far smaller per fetch), the rest to one libcurl multi handle driven by
 * libevent (socket callback with one embedded event per socket, one timer). Each fetch is ONE
 * request: redirects are never followed, the connection goes to a caller-pinned IP
 * (CURLOPT_CONNECT_TO, so curl never resolves names), the body is capped, and special-purpose
 * addresses are vetoed before any packet is sent unless the caller allows them.
 */
#ifndef MPIC_HTTP_CLIENT_H
#define MPIC_HTTP_CLIENT_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CLIENT_MAX_LOCATION 8192 /* longer Location values are dropped (location NULL) */
#define HTTP_CLIENT_IP_MAX 64         /* textual IPv4/IPv6 address plus NUL */

struct http_client;

struct http_fetch_opts {
    const char *url;            /* http:// or https:// URL (other schemes fail) */
    const char *connect_to;     /* NULL, or "HOST:PORT:IP:PORT" for CURLOPT_CONNECT_TO; empty
                                   HOST/PORT match anything, IPv6 as "[::1]" */
    long connect_timeout_ms;    /* <= 0: curl default */
    long timeout_ms;            /* whole transfer; <= 0: none (avoid) */
    size_t max_body;            /* body bytes kept; more aborts the transfer (body_too_large) */
    const char *const *headers; /* NULL or NULL-terminated "Name: value" lines */
    const char *user_agent;     /* NULL: no User-Agent header */
    bool allow_private;         /* permit connections to special-purpose addresses */
};

struct http_fetch_result {
    CURLcode code;                     /* CURLE_OK when a complete response was read */
    const char *error;                 /* human-readable error ("" when code == CURLE_OK) */
    long status;                       /* HTTP status of the response, 0 when none */
    const char *location;              /* raw Location header value, NULL when absent */
    const unsigned char *body;         /* bytes read (at most max_body), never NULL */
    size_t body_len;
    bool body_too_large;               /* more than max_body bytes arrived (code is then
                                          CURLE_WRITE_ERROR but status/location are valid) */
    bool connected;                    /* a TCP connection was established */
    bool vetoed;                       /* refused a special-purpose address (no packet sent) */
    char primary_ip[HTTP_CLIENT_IP_MAX]; /* IP connected to (or tried), "" when unknown */
    int64_t elapsed_ms;
};

/** Called exactly once per http_client_fetch(), never from inside http_client_fetch();
 * *res and everything it points to is valid during the call only. */
typedef void (*http_fetch_cb)(void *arg, const struct http_fetch_result *res);

/** Creates the client (calls curl_global_init once per process). NULL on failure. */
struct http_client *http_client_new(struct event_base *base);
/** Completes every pending fetch with CURLE_ABORTED_BY_CALLBACK (callbacks run from inside
 * this call), then frees. Must not be called from a fetch callback. NULL is a no-op. */
void http_client_free(struct http_client *c);
/** Starts one request. The options and every string they point to are copied. */
void http_client_fetch(struct http_client *c, const struct http_fetch_opts *opts,
                       http_fetch_cb cb, void *arg);
/** Number of fetches in flight (tests and metrics). */
int http_client_pending(const struct http_client *c);
/**
 * Appends up to n bytes to a body capped at max bytes (*body grows by doubling from 1 KiB,
 * never past max): the one body store of both HTTP clients. Returns the bytes taken; fewer
 * than n means the cap was reached (*len == max) or memory ran out.
 */
size_t http_client_body_append(unsigned char **body, size_t *len, size_t *alloc, size_t max,
                               const unsigned char *p, size_t n);
/** Sends every fetch through libcurl (tests and benchmarks compare the two clients). */
void http_client_set_curl_only(struct http_client *c, bool on);

#endif
